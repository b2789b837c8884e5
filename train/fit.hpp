// fit(): the training loop (Keras' model.fit), with evaluate() and predict() beside it. One step:
//   on_step_begin → batch = data.batch(step) → zero_grad → loss(batch) → backward (both in
//   `shards` parts side by side when asked: train/sharded_step.hpp)
//   → average the gradients over the ranks (data-parallel only) → clip the global gradient norm
//   (optional) → optimizer.step() → validation when due (mean loss over validation batches) →
//   on_validation_end → on_step_end → stop if a callback asked to.
// Steps are numbered from 0; data and callbacks see the step index, so `initial_step` resumes a
// run exactly. Validation runs every `validation_every` steps and after the last step (the one
// ending the run or crossing the time limit); not after a step whose loss or gradient norm is
// NaN or Inf (StepLogs::finite). A callback's stop request ends the run after the current step,
// without another validation.
//   Sequential model{layers::input(3), layers::dense(16, "tanh"), layers::dense(1)};
//   Adam optimizer(model.parameters(), {.lr = 1e-2});
//   TensorDataset data(x, y, {.shuffle = true});
//   ProgressLogger progress;  EarlyStopping stop({.patience = 3});
//   FitResult r = fit(model, mse_loss, optimizer, data,
//                     {.batch_size = 32, .epochs = 20, .validation_data = &val}, {progress, stop});
// The hand-written loop stays supported: fit uses only public calls (docs/training.md).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/precision.hpp"
#include "layers/layer.hpp"
#include "optim/optimizer.hpp"
#include "train/data_source.hpp"
#include "train/sharded_step.hpp"

namespace tapegrad {

class DataParallel;  // train/distributed.hpp

// loss(prediction, target) for a single-input Layer: mse_loss, or a lambda calling cross_entropy.
using LossFn = std::function<Tensor(const Tensor& prediction, const Tensor& target)>;
// A model's forward pass for predict(): x -> prediction.
using ForwardFn = std::function<Tensor(const Tensor& x)>;

// What callbacks learn about a step.
struct StepLogs {
    std::int64_t step = 0;           // the step just run (0-based); step + 1 steps are done
    std::int64_t epoch = 0;          // step / batches per epoch
    double loss = 0.0;               // the batch's loss (before the update)
    std::optional<double> val_loss;  // on validation steps
    // On validation steps: the mean batch loss of the steps since the previous validation (of
    // this call), the train side of the train/val gap, and the tokens the validation covered (0
    // unless the validation data is token sequences).
    std::optional<double> train_loss;
    std::int64_t val_tokens = 0;
    double lr = 0.0;                 // the first parameter group's, as used by this step
    double grad_norm = 0.0;          // global gradient norm before clipping
    double samples_per_s = 0.0;      // rows of the batch / the step's time
    double tokens_per_s = 0.0;       // 0 unless the data is token sequences
    double elapsed = 0.0;            // seconds since fit started
    // Loss and gradient norm are numbers: the update left the weights usable.
    bool finite() const { return std::isfinite(loss) && std::isfinite(grad_norm); }
};

struct FitOptions {
    std::int64_t batch_size = 32;
    std::int64_t epochs = 1;        // used when steps is 0: steps = epochs · batches/epoch
    std::int64_t steps = 0;         // the run's length in steps, counted from step 0
    std::int64_t initial_step = 0;  // resume: run steps [initial_step, steps)
    const DataSource* validation_data = nullptr;  // not owned
    std::int64_t validation_every = 0;            // steps; 0 = only after the last step
    std::int64_t validation_batches = 0;          // 0 = one epoch of validation_data (evaluate)
    std::int64_t validation_batch_size = 0;       // 0 = batch_size
    double grad_clip = 0.0;   // max global gradient norm (optim/clip.hpp); 0 = off
    double time_limit = 0.0;  // seconds; the step crossing it is the last; 0 = none
    // Data-parallel (train/distributed.hpp; not owned): this rank trains and validates on its
    // share of every batch (batch sizes count all ranks' rows), rank 0's weights are broadcast
    // first, gradients are averaged before clipping; logs carry the global loss and throughput.
    // Callbacks run on every rank: give the ones that print or write files to rank 0 only.
    DataParallel* data_parallel = nullptr;
    // Matrix products in fp32, or bf16 mixed precision (core/precision.hpp) for this call's steps
    // and validations; weights, gradients and optimizer state stay float32.
    Precision precision = Precision::fp32;
    // Each step's batch in this many equal parts, run side by side on a team of threads
    // (train/sharded_step.hpp): faster for small models, whose ops are too small to split
    // across threads; the batch size must be a multiple (of the ranks' share, data-parallel).
    int shards = 1;
};

struct FitResult {
    std::int64_t steps = 0;     // steps run by this call
    std::int64_t end_step = 0;  // the next step to run: where a resume starts
    double seconds = 0.0;
    double last_loss = 0.0;
    std::optional<double> val_loss;                          // the last validation's
    std::vector<std::pair<std::int64_t, double>> val_curve;  // (steps done, validation loss)
    std::string stop_reason;  // why a callback stopped the run early; else empty
};

// The running fit() as callbacks see it: the model and optimizer, the step range, stopping.
class FitRun {
public:
    FitRun(Module& model, Optimizer& optimizer, const FitOptions& options, std::int64_t end_step)
        : model_(model), optimizer_(optimizer), options_(options), end_step_(end_step) {}
    Module& model() const { return model_; }
    Optimizer& optimizer() const { return optimizer_; }
    const FitOptions& options() const { return options_; }
    std::int64_t first_step() const { return options_.initial_step; }
    std::int64_t end_step() const { return end_step_; }  // steps [first_step, end_step) run
    // Ends the run after the current step; the first reason given is kept.
    void request_stop(std::string reason);
    bool stop_requested() const { return stop_requested_; }
    const std::string& stop_reason() const { return stop_reason_; }

private:
    Module& model_;
    Optimizer& optimizer_;
    const FitOptions& options_;
    std::int64_t end_step_;
    bool stop_requested_ = false;
    std::string stop_reason_;
};

// Derive and override what you need; every hook does nothing by default. Callbacks run in list
// order. A step whose loss or gradient norm is NaN or Inf still reaches on_step_end (NanGuard
// must see it): a callback that saves state should skip it (!logs.finite()), as Checkpoint does.
class Callback {
public:
    virtual ~Callback() = default;
    virtual void on_train_begin(FitRun& /*run*/) {}
    virtual void on_step_begin(FitRun& /*run*/, std::int64_t /*step*/) {}
    virtual void on_validation_end(FitRun& /*run*/, const StepLogs& /*logs*/) {}
    virtual void on_step_end(FitRun& /*run*/, const StepLogs& /*logs*/) {}
    virtual void on_train_end(FitRun& /*run*/, const FitResult& /*result*/) {}
};

// fit(..., {progress, checkpoint, nan_guard}): callbacks are held by reference.
using Callbacks = std::vector<std::reference_wrapper<Callback>>;

FitResult fit(Module& model, const BatchLoss& loss, Optimizer& optimizer, const DataSource& data,
              const FitOptions& options = {}, const Callbacks& callbacks = {});
// For a single-input Layer (a Sequential): the batch loss is loss(model(x), y).
FitResult fit(Layer& model, const LossFn& loss, Optimizer& optimizer, const DataSource& data,
              const FitOptions& options = {}, const Callbacks& callbacks = {});

struct EvaluateOptions {
    std::int64_t batch_size = 32;
    // K batches of the first epoch spread evenly over it: batch ⌊i·E/K⌋ for i < K of its E
    // batches (all of them when K >= E); 0 = the whole epoch. The same batches every call, so two
    // evaluations of the same weights agree exactly.
    std::int64_t batches = 0;
};

struct Evaluation {
    double loss = 0.0;      // mean per row
    std::int64_t rows = 0;  // rows evaluated
    std::int64_t tokens = 0;  // rows · tokens per row (0 unless the data is token sequences)
};

// Mean loss per row over the data's batches (batch means weighted by their rows), in eval mode
// without gradients; the model's training mode is restored.
double evaluate(Module& model, const BatchLoss& loss, const DataSource& data,
                const EvaluateOptions& options = {});
// The same, with how much data the mean covers.
Evaluation evaluate_counted(Module& model, const BatchLoss& loss, const DataSource& data,
                            const EvaluateOptions& options = {});
double evaluate(Layer& model, const LossFn& loss, const DataSource& data,
                const EvaluateOptions& options = {});

// forward(inputs) in batches of rows along axis 0, in eval mode without gradients, concatenated.
Tensor predict(Module& model, const ForwardFn& forward, const Tensor& inputs,
               std::int64_t batch_size = 32);
Tensor predict(Layer& model, const Tensor& inputs, std::int64_t batch_size = 32);

BatchLoss layer_loss(Layer& model, const LossFn& loss);  // [&](b) { return loss(model(b.x), b.y); }

}  // namespace tapegrad
