// Checkpoints during fit(): the Checkpoint callback names, rotates and triggers them; a saver
// function writes one. The default saver works for any Module and Optimizer:
//   Checkpoint checkpoint(module_saver(model, optimizer), {.root = "runs/a", .every = 500, .keep =
//   3}); fit(..., {checkpoint});                  // runs/a/step-000500, step-001000, ...
//   std::int64_t step = load_module_checkpoint(*latest_checkpoint("runs/a"), model, &optimizer);
//   fit(..., {.steps = 5000, .initial_step = step, ...}, {checkpoint});  // resumes bit for bit
// A module_saver directory, written as one unit (io/atomic_directory.hpp):
//   model.safetensors       Module::state_dict()
//   optimizer.safetensors   Optimizer::state_dict()
//   fit_state.json          {"step": N, "optimizer": name, "generators": {name: 64 hex digits}}:
//                           the steps done and every random generator (dropout masks, and the
//                           global one as "(global)"), so a resumed run draws what the
//                           uninterrupted one would.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "train/fit.hpp"

namespace tapegrad {

// Writes a checkpoint of `step` steps done into `dir` (which it must create or replace whole).
using CheckpointSaver = std::function<void(const std::filesystem::path& dir, std::int64_t step)>;

struct CheckpointOptions {
    std::filesystem::path root;  // checkpoints are root/step-000123 (steps done, 6+ digits)
    std::int64_t every = 1000;   // steps; 0 = only at the end
    std::int64_t keep = 3;       // the newest K are kept; 0 keeps all
    bool at_end = true;          // also after the run's last step
};

// Saves after every `every` steps and at the end, never after a step whose loss or gradient norm
// is NaN or Inf (so after NanGuard stops a run the previous checkpoint is the newest). After each
// save, removes the oldest step-N directories under root beyond `keep`; directories of later steps
// (left by another run) are not touched.
class Checkpoint : public Callback {
public:
    Checkpoint(CheckpointSaver saver, CheckpointOptions options);
    void on_step_end(FitRun& run, const StepLogs& logs) override;
    void on_train_end(FitRun& run, const FitResult& result) override;
    const std::optional<std::filesystem::path>& last_saved() const { return last_saved_; }

private:
    void save(std::int64_t step);

    CheckpointSaver saver_;
    CheckpointOptions opt_;
    std::optional<std::filesystem::path> last_saved_;
    std::int64_t last_saved_step_ = -1;
    bool last_step_finite_ = false;
};

// root/step-000123 for 123 steps done.
std::filesystem::path checkpoint_path(const std::filesystem::path& root, std::int64_t step);
// The step-N directories under root, oldest first (none when root does not exist).
std::vector<std::pair<std::int64_t, std::filesystem::path>> list_checkpoints(
    const std::filesystem::path& root);
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& root);

// The default saver: the directory described at the top. Keeps references to both.
CheckpointSaver module_saver(Module& model, const Optimizer& optimizer);
// Loads a module_saver directory into `model` (strictly: the same names and shapes) and, when an
// optimizer is given (resuming training), its state and every generator; returns the steps done.
// IoError for missing or corrupt files, ValueError when the model, optimizer type or generators
// differ from the saved ones.
std::int64_t load_module_checkpoint(const std::filesystem::path& dir, Module& model,
                                    Optimizer* optimizer = nullptr);

}  // namespace tapegrad
