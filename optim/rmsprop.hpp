// RMSprop (Hinton's lecture 6e), optionally centered (Graves 2013) and with momentum, as
// torch.optim.RMSprop.
#pragma once

#include "optim/optimizer.hpp"

namespace tapegrad {

// torch's argument names and defaults; alpha is the smoothing constant (Keras' rho).
struct RMSpropOptions {
    double lr = 1e-2;
    double alpha = 0.99;
    double eps = 1e-8;
    double weight_decay = 0.0;
    double momentum = 0.0;
    bool centered = false;
};

// g ← grad + weight_decay·p,  s ← α·s + (1 − α)·g²
// centered: ḡ ← α·ḡ + (1 − α)·g, d ← √(s − ḡ²) + eps;  else d ← √s + eps
// momentum: b ← momentum·b + g/d, p ← p − lr·b;  else p ← p − lr·g/d
class RMSprop : public Optimizer {
public:
    RMSprop(std::vector<Tensor> params, RMSpropOptions options = {});
    RMSprop(std::vector<ParamGroup> groups, RMSpropOptions options = {});
    const RMSpropOptions& options() const { return opt_; }

protected:
    void update(const Tensor& param, const Tensor& grad, ParamState& state, double lr,
                double weight_decay) override;

private:
    RMSpropOptions opt_;
    int grad_avg_ = -1, momentum_buffer_ = -1;  // buffer positions, -1 when unused
};

}  // namespace tapegrad
