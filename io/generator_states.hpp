// The random state a training checkpoint keeps so a resumed run draws exactly what an
// uninterrupted one would: every generator registered in the model (dropout masks) by name, and
// the global generator as "(global)". Stored as JSON {name: 64 hex digits}.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "layers/module.hpp"

namespace tapegrad {

nlohmann::json training_generator_states(Module& model);
// IoError "<file>: ..." when `saved` is not such an object or its names differ from the model's.
void load_training_generator_states(Module& model, const nlohmann::json& saved,
                                    const std::string& file);

}  // namespace tapegrad
