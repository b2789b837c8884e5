// SGD with momentum, dampening, Nesterov and L2 weight decay: torch.optim.SGD's update.
#pragma once

#include "optim/optimizer.hpp"

namespace tapegrad {

// torch's argument names; lr has Keras' default 0.01 (torch requires one).
struct SGDOptions {
    double lr = 1e-2;
    double momentum = 0.0;
    double dampening = 0.0;
    bool nesterov = false;  // needs momentum > 0 and dampening 0
    double weight_decay = 0.0;
};

// g ← grad + weight_decay·p
// momentum: b ← g on the first update, else b ← momentum·b + (1 − dampening)·g;
//           g ← g + momentum·b (Nesterov) or g ← b
// p ← p − lr·g
class SGD : public Optimizer {
public:
    SGD(std::vector<Tensor> params, SGDOptions options = {});
    SGD(std::vector<ParamGroup> groups, SGDOptions options = {});
    const SGDOptions& options() const { return opt_; }

protected:
    void update(const Tensor& param, const Tensor& grad, ParamState& state, double lr,
                double weight_decay) override;

private:
    SGDOptions opt_;
};

}  // namespace tapegrad
