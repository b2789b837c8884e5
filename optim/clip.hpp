// Gradient clipping by global norm, torch.nn.utils.clip_grad_norm_.
#pragma once

#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

// The L2 norm of all gradients together (parameters without a gradient are skipped). When it
// exceeds max_norm, every gradient is scaled in place by max_norm/(norm + 1e-6). Returns the norm
// before clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace tapegrad
