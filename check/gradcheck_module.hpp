// Whole-model gradcheck: every parameter tensor of a float64 model checked on its own against
// central differences of a scalar loss, on a seeded random sample of its elements, so a model of
// any size is checked in seconds and a wrong backward anywhere shows up in the row of the tensor
// it reaches.
//   model.to(f64);  model.eval();
//   for (const ParameterCheck& c : gradcheck_parameters(model, [&] { return model.loss(x, y); },
//                                                       {.max_elements = 20}))
//       fmt::print("{} {} {}\n", c.name, c.max_abs_error, c.ok);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "autograd/gradcheck.hpp"
#include "layers/module.hpp"

namespace tapegrad {

struct ParameterCheck {
    std::string name;  // "h.0.attn.c_attn.weight"
    Shape shape;
    std::size_t checked;  // elements compared
    double max_abs_error, max_rel_error;
    bool ok;
};

// One row per parameter, in registration order. The model must already be f64 (ValueError naming
// the first parameter that is not); `loss` recomputes the loss from the model's current values.
// options.max_elements is the sample size per tensor (0 = every element). Gradients are cleared
// afterwards.
std::vector<ParameterCheck> gradcheck_parameters(Module& model, const std::function<Tensor()>& loss,
                                                 const GradcheckOptions& options);

// The GPT saved in `dir` (io/pretrained.hpp), loaded in float64 with dropout off, checked with
// the mean cross-entropy of a random batch [batch, seq_len] of tokens and targets drawn from
// `seed`; `elements_per_tensor` elements of each parameter (0 = all). eps, atol and rtol come
// from `tolerances`. seq_len above the model's n_positions is a ValueError.
std::vector<ParameterCheck> gradcheck_gpt(const std::filesystem::path& dir, std::int64_t batch,
                                          std::int64_t seq_len, std::size_t elements_per_tensor,
                                          std::uint64_t seed,
                                          const GradcheckOptions& tolerances = {});

// The fault locator (autograd/gradcheck.hpp) on the same loss of the same saved GPT: the first
// node whose backward disagrees with its forward, or nullopt.
std::optional<LocatedNode> locate_in_gpt(const std::filesystem::path& dir, std::int64_t batch,
                                         std::int64_t seq_len, std::uint64_t seed,
                                         const GradcheckOptions& tolerances = {});

// Moves `module` to f64 and gives every parameter uniform(−bound, bound) values, seeds
// first_seed, first_seed + 1, ... in registration order: larger than a model's initial weights
// and with non-zero biases, so every term of every gradient contributes visibly.
void randomize_parameters(Module& module, double bound, std::uint64_t first_seed);

}  // namespace tapegrad
