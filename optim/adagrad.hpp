// Adagrad (Duchi et al. 2011) with torch.optim.Adagrad's learning-rate decay.
#pragma once

#include "optim/optimizer.hpp"

namespace tapegrad {

// torch's argument names and defaults.
struct AdagradOptions {
    double lr = 1e-2;
    double lr_decay = 0.0;
    double weight_decay = 0.0;
    double initial_accumulator_value = 0.0;
    double eps = 1e-10;
};

// t counts this parameter's updates.
// g ← grad + weight_decay·p,  s ← s + g²  (s starts at initial_accumulator_value)
// p ← p − lr/(1 + (t − 1)·lr_decay) · g/(√s + eps)
class Adagrad : public Optimizer {
public:
    Adagrad(std::vector<Tensor> params, AdagradOptions options = {});
    Adagrad(std::vector<ParamGroup> groups, AdagradOptions options = {});
    const AdagradOptions& options() const { return opt_; }

protected:
    void update(const Tensor& param, const Tensor& grad, ParamState& state, double lr,
                double weight_decay) override;
    double initial_value(std::size_t buffer) const override;

private:
    AdagradOptions opt_;
};

}  // namespace tapegrad
