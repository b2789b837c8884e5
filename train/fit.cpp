#include "train/fit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "autograd/ops/shape.hpp"
#include "autograd/tape.hpp"
#include "optim/clip.hpp"
#include "train/distributed.hpp"

namespace tapegrad {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Puts a module in train or eval mode for a scope and restores the mode it had.
class ModeScope {
public:
    ModeScope(Module& model, bool training) : model_(model), was_training_(model.is_training()) {
        model_.train(training);
    }
    ~ModeScope() { model_.train(was_training_); }
    ModeScope(const ModeScope&) = delete;
    ModeScope& operator=(const ModeScope&) = delete;

private:
    Module& model_;
    bool was_training_;
};

void expect_option(bool ok, std::string_view op, std::string_view name, double value,
                   std::string_view rule) {
    if (!ok) throw ValueError(fmt::format("{}: {} must be {} (got {})", op, name, rule, value));
}

void check_options(const FitOptions& o) {
    expect_option(o.batch_size > 0, "fit", "batch_size", o.batch_size, "positive");
    expect_option(o.epochs >= 0, "fit", "epochs", o.epochs, ">= 0");
    expect_option(o.steps >= 0, "fit", "steps", o.steps, ">= 0");
    expect_option(o.initial_step >= 0, "fit", "initial_step", o.initial_step, ">= 0");
    expect_option(o.validation_every >= 0, "fit", "validation_every", o.validation_every, ">= 0");
    expect_option(o.validation_batches >= 0, "fit", "validation_batches", o.validation_batches,
                  ">= 0");
    expect_option(o.validation_batch_size >= 0, "fit", "validation_batch_size",
                  o.validation_batch_size, ">= 0");
    expect_option(o.grad_clip >= 0, "fit", "grad_clip", o.grad_clip, ">= 0");
    expect_option(o.time_limit >= 0, "fit", "time_limit", o.time_limit, ">= 0");
    expect_option(o.shards >= 1, "fit", "shards", o.shards, ">= 1");
}

std::int64_t validation_batch_size(const FitOptions& o) {
    return o.validation_batch_size > 0 ? o.validation_batch_size : o.batch_size;
}

// This rank's share of a source in a data-parallel run; null otherwise (the source is used whole).
std::unique_ptr<RankShare> share_of(const DataSource* data, const DataParallel* parallel) {
    if (!data || !parallel) return nullptr;
    return std::make_unique<RankShare>(*data, parallel->rank(), parallel->size());
}

// Before a data-parallel run: the ranks agree on the run and start from rank 0's weights.
void start_data_parallel(DataParallel& parallel, Module& model, const FitOptions& o,
                         std::int64_t end_step) {
    parallel.expect_divisible("the batch", o.batch_size);
    if (o.validation_data)
        parallel.expect_divisible("the validation batch", validation_batch_size(o));
    parallel.expect_same("the parameter count",
                         static_cast<std::uint64_t>(model.parameter_count()));
    parallel.expect_same("the first step", static_cast<std::uint64_t>(o.initial_step));
    parallel.expect_same("the last step", static_cast<std::uint64_t>(end_step));
    parallel.broadcast_state(model);
}

// A step's logs for the whole run: the ranks' mean loss (the global batch's, shares being equal),
// their throughput together, and the slowest rank's clock (so all decide on the time limit alike).
void combine_ranks(StepLogs& logs, DataParallel& parallel) {
    const auto ranks = static_cast<double>(parallel.size());
    logs.loss = parallel.mean(logs.loss);
    logs.samples_per_s *= ranks;
    logs.tokens_per_s *= ranks;
    logs.elapsed = parallel.max(logs.elapsed);
}

// One fit() call: the loop's state, so each part of a step is a short method.
class Trainer {
public:
    Trainer(FitRun& run, const BatchLoss& loss, const DataSource& data, const Callbacks& callbacks)
        : run_(run),
          o_(run.options()),
          loss_(loss),
          data_(data),
          callbacks_(callbacks),
          params_(run.model().parameters()),
          per_epoch_(data.batches_per_epoch(o_.batch_size)),
          parallel_(o_.data_parallel),
          train_share_(share_of(&data, parallel_)),
          val_share_(share_of(o_.validation_data, parallel_)) {}

    FitResult run() {
        FitResult result{.end_step = o_.initial_step};
        for (Callback& c : callbacks_) c.on_train_begin(run_);
        run_.model().train();
        for (std::int64_t step = o_.initial_step; step < run_.end_step(); ++step) {
            StepLogs logs = train_step(step);
            if (logs.finite()) train_sum_ += logs.loss, ++train_count_;
            const bool last =
                step + 1 == run_.end_step() || (o_.time_limit > 0 && logs.elapsed >= o_.time_limit);
            const bool due =
                last || (o_.validation_every > 0 && (step + 1) % o_.validation_every == 0);
            if (due && o_.validation_data && logs.finite()) validate(logs, result);
            for (Callback& c : callbacks_) c.on_step_end(run_, logs);
            ++result.steps;
            result.end_step = step + 1;
            result.last_loss = logs.loss;
            const bool stop = run_.stop_requested();  // any rank's callback stops every rank
            if (last || (parallel_ ? parallel_->any(stop) : stop)) break;
        }
        result.seconds = seconds_since(start_);
        result.stop_reason = run_.stop_reason();
        for (Callback& c : callbacks_) c.on_train_end(run_, result);
        return result;
    }

private:
    StepLogs train_step(std::int64_t step) {
        const auto step_start = Clock::now();
        for (Callback& c : callbacks_) c.on_step_begin(run_, step);
        const Batch batch = (train_share_ ? *train_share_ : data_).batch(step, o_.batch_size);
        if (parallel_) parallel_->split_generators(run_.model());
        Optimizer& optimizer = run_.optimizer();
        optimizer.zero_grad();
        const Tensor loss = sharded_backward(run_.model(), loss_, batch, o_.shards);
        if (parallel_) parallel_->average_gradients(params_);
        const double max_norm =
            o_.grad_clip > 0 ? o_.grad_clip : std::numeric_limits<double>::infinity();
        const double grad_norm = clip_grad_norm(params_, max_norm);
        optimizer.step();
        StepLogs logs{.step = step,
                      .epoch = step / per_epoch_,
                      .loss = loss.item(),
                      .lr = optimizer.lr(),
                      .grad_norm = grad_norm};
        const double seconds = std::max(seconds_since(step_start), 1e-9);
        const auto rows = static_cast<double>(batch.rows());
        logs.samples_per_s = rows / seconds;
        logs.tokens_per_s = rows * static_cast<double>(data_.tokens_per_row()) / seconds;
        logs.elapsed = seconds_since(start_);
        if (parallel_) combine_ranks(logs, *parallel_);
        return logs;
    }

    void validate(StepLogs& logs, FitResult& result) {
        const Evaluation e = evaluate_counted(
            run_.model(), loss_, val_share_ ? *val_share_ : *o_.validation_data,
            {.batch_size = validation_batch_size(o_), .batches = o_.validation_batches});
        logs.val_loss = parallel_ ? parallel_->mean(e.loss) : e.loss;
        logs.val_tokens = e.tokens * (parallel_ ? parallel_->size() : 1);
        logs.train_loss = train_sum_ / static_cast<double>(train_count_);
        train_sum_ = 0.0;
        train_count_ = 0;
        result.val_loss = logs.val_loss;
        result.val_curve.emplace_back(logs.step + 1, *logs.val_loss);
        for (Callback& c : callbacks_) c.on_validation_end(run_, logs);
    }

    FitRun& run_;
    const FitOptions& o_;
    const BatchLoss& loss_;
    const DataSource& data_;
    const Callbacks& callbacks_;
    std::vector<Tensor> params_;
    std::int64_t per_epoch_;
    DataParallel* parallel_;                              // null: this process alone
    std::unique_ptr<RankShare> train_share_, val_share_;  // this rank's rows, when parallel
    Clock::time_point start_ = Clock::now();
    double train_sum_ = 0.0;  // finite losses since the last validation, for StepLogs::train_loss
    std::int64_t train_count_ = 0;
};

}  // namespace

void FitRun::request_stop(std::string reason) {
    if (!stop_requested_) stop_reason_ = std::move(reason);
    stop_requested_ = true;
}

FitResult fit(Module& model, const BatchLoss& loss, Optimizer& optimizer, const DataSource& data,
              const FitOptions& options, const Callbacks& callbacks) {
    check_options(options);
    // Both sources fail here, before any step, when they are too short for one batch.
    const std::int64_t per_epoch = data.batches_per_epoch(options.batch_size);
    if (options.validation_data)
        options.validation_data->batches_per_epoch(validation_batch_size(options));
    FitRun run(model, optimizer, options,
               options.steps > 0 ? options.steps : options.epochs * per_epoch);
    if (options.data_parallel)
        start_data_parallel(*options.data_parallel, model, options, run.end_step());
    const PrecisionScope precision(options.precision);
    return Trainer(run, loss, data, callbacks).run();
}

BatchLoss layer_loss(Layer& model, const LossFn& loss) {
    return [&model, loss](const Batch& b) { return loss(model(b.x), b.y); };
}

FitResult fit(Layer& model, const LossFn& loss, Optimizer& optimizer, const DataSource& data,
              const FitOptions& options, const Callbacks& callbacks) {
    return fit(static_cast<Module&>(model), layer_loss(model, loss), optimizer, data, options,
               callbacks);
}

Evaluation evaluate_counted(Module& model, const BatchLoss& loss, const DataSource& data,
                            const EvaluateOptions& options) {
    expect_option(options.batches >= 0, "evaluate", "batches", options.batches, ">= 0");
    const std::int64_t per_epoch = data.batches_per_epoch(options.batch_size);
    const std::int64_t n = options.batches > 0 ? std::min(options.batches, per_epoch) : per_epoch;
    ModeScope eval_mode(model, false);
    NoGrad no_grad;
    double total = 0.0;
    std::int64_t rows = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const Batch b = data.batch(i * per_epoch / n, options.batch_size);
        total += loss(b).item() * static_cast<double>(b.rows());
        rows += b.rows();
    }
    return {.loss = total / static_cast<double>(rows),
            .rows = rows,
            .tokens = rows * data.tokens_per_row()};
}

double evaluate(Module& model, const BatchLoss& loss, const DataSource& data,
                const EvaluateOptions& options) {
    return evaluate_counted(model, loss, data, options).loss;
}

double evaluate(Layer& model, const LossFn& loss, const DataSource& data,
                const EvaluateOptions& options) {
    return evaluate(static_cast<Module&>(model), layer_loss(model, loss), data, options);
}

Tensor predict(Module& model, const ForwardFn& forward, const Tensor& inputs,
               std::int64_t batch_size) {
    expect_option(batch_size > 0, "predict", "batch_size", static_cast<double>(batch_size),
                  "positive");
    if (!inputs.defined() || inputs.rank() == 0 || inputs.dim(0) == 0)
        throw ValueError("predict: inputs need at least one sample along axis 0");
    ModeScope eval_mode(model, false);
    NoGrad no_grad;
    std::vector<Tensor> outputs;
    for (std::int64_t first = 0; first < inputs.dim(0); first += batch_size) {
        std::vector<std::int64_t> rows(
            static_cast<std::size_t>(std::min(batch_size, inputs.dim(0) - first)));
        std::iota(rows.begin(), rows.end(), first);
        outputs.push_back(forward(gather_rows(inputs, rows)));
    }
    return outputs.size() == 1 ? outputs[0] : concat(outputs, 0);
}

Tensor predict(Layer& model, const Tensor& inputs, std::int64_t batch_size) {
    return predict(
        model, [&model](const Tensor& x) { return model(x); }, inputs, batch_size);
}

}  // namespace tapegrad
