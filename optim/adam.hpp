// Adam and AdamW: one update, with L2 weight decay folded into the gradient (Adam) or decoupled
// from it (AdamW, Loshchilov & Hutter 2019), as torch.optim.Adam and torch.optim.AdamW.
#pragma once

#include <optional>

#include "optim/optimizer.hpp"

namespace tapegrad {

// torch's arguments (betas split in two); AdamW opt(params, {.lr = 3e-4, .weight_decay = 0.1}).
struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    std::optional<double> weight_decay;  // unset: 0 for Adam, 1e-2 for AdamW (torch's defaults)
    bool amsgrad = false;
};

// t counts this parameter's updates; wd = weight_decay.
// Adam:  g ← grad + wd·p        AdamW: p ← (1 − lr·wd)·p, g ← grad
// m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²,  v̂ ← max(v̂, v) with amsgrad else v
// p ← p − lr/(1 − β1ᵗ) · m / (√v̂ / √(1 − β2ᵗ) + eps)
class Adam : public Optimizer {
public:
    Adam(std::vector<Tensor> params, AdamOptions options = {});
    Adam(std::vector<ParamGroup> groups, AdamOptions options = {});
    const AdamOptions& options() const { return opt_; }

protected:
    Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled);
    void update(const Tensor& param, const Tensor& grad, ParamState& state, double lr,
                double weight_decay) override;

private:
    AdamOptions opt_;
    bool decoupled_;  // AdamW
};

class AdamW : public Adam {
public:
    AdamW(std::vector<Tensor> params, AdamOptions options = {});
    AdamW(std::vector<ParamGroup> groups, AdamOptions options = {});
};

}  // namespace tapegrad
