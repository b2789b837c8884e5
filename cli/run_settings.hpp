// The settings of a `tapegrad train` run, kept in a checkpoint's trainer.json so `--resume`
// continues the same run: settings not given on the resuming command line come from the
// checkpoint, and those that would change the run's arithmetic must agree with it.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace tapegrad::cli {

struct RunSettings {
    // Fixed for a run (a resume must agree).
    std::string optimizer = "adamw";  // adamw | adam | sgd
    std::int64_t batch = 16;
    std::int64_t block_size = 0;      // 0: the model's n_positions
    double lr = 1e-3;
    double min_lr = -1.0;             // < 0: lr / 10
    std::int64_t warmup = 100;
    double weight_decay = 0.1;
    double beta1 = 0.9, beta2 = 0.999, momentum = 0.9;
    double grad_clip = 1.0;
    double val_fraction = 0.1;
    std::uint64_t seed = 1337;
    std::string sampling = "random";  // train/data.hpp's batch rule: random | sequential
    std::string precision = "fp32";   // matrix products: fp32 | bf16 (core/precision.hpp)
    int shards = 1;                   // parts of each batch run side by side (sharded_step.hpp)
    // May change between the parts of a run.
    std::int64_t steps = 1000;        // where the schedule ends; a resume may extend it
    std::int64_t eval_every = 100;
    std::int64_t eval_batches = 16;   // 0 ("all"): the whole validation split
};

// Registers every setting as an option of `command` (--optimizer, --batch, ...).
void add_run_options(CLI::App& command, RunSettings& settings);
std::string to_json(const RunSettings& settings);
// Takes each fixed setting the user did not give from `saved_json`; one given with a different
// value is a ValueError naming the option and both values.
void merge_saved_settings(const CLI::App& command, RunSettings& settings, const std::string& saved_json);

}  // namespace tapegrad::cli
