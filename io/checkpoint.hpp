// A training checkpoint: a pretrained directory (see pretrained.hpp) plus what an exact resume
// needs, written and replaced as one unit (write_directory_atomic):
//   DIR/config.json, DIR/model.safetensors   the model, loadable by load_pretrained alone
//   DIR/optimizer.safetensors                Optimizer::state_dict()
//   DIR/master_weights.safetensors           only when model.safetensors is F16 or BF16
//                                            (--save-dtype): the float32 weights, which a resume
//                                            loads, so it stays exact
//   DIR/trainer.json                         step, optimizer name, every random generator's state
//                                            (dropout masks, the global generator), run settings
// Resuming from it continues bit for bit: the data rule and the schedule depend on the step only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "io/safetensors.hpp"
#include "io/text_tokenizer.hpp"
#include "layers/gpt.hpp"
#include "optim/optimizer.hpp"

namespace tapegrad {

struct TrainerState {
    std::int64_t step = 0;  // optimizer steps completed
    std::string run_json =
        "{}";  // the run's settings as a JSON object, kept for the caller's checks
};

// `weights` f16 or bf16 writes model.safetensors narrowed (for sharing: half the size) and the
// float32 weights beside it as master_weights.safetensors.
void save_checkpoint(const std::filesystem::path& dir, Gpt& model, const TextTokenizer* tokenizer,
                     const Optimizer& optimizer, const TrainerState& state,
                     FloatFormat weights = FloatFormat::as_is);

// True when `dir` holds a training checkpoint (not only a pretrained model).
bool is_checkpoint(const std::filesystem::path& dir);

// The step and run settings saved with the checkpoint, read before building anything.
TrainerState read_trainer_state(const std::filesystem::path& dir);

// For a model loaded with load_pretrained(dir) and an optimizer built over its parameters the way
// the saved one was: restores the optimizer state and every generator, returns the step and
// settings; where the checkpoint has master weights, loads them into the model (load_pretrained
// read the narrowed ones). IoError when files are missing or corrupt; ValueError when the
// optimizer type, parameter groups or the model's generators differ from the saved ones.
TrainerState load_training_state(const std::filesystem::path& dir, Gpt& model,
                                 Optimizer& optimizer);

}  // namespace tapegrad
