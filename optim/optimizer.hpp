// Optimizer: the base every update rule shares. It owns parameter groups (each with its lr and
// weight decay), per-parameter state buffers allocated on a parameter's first update, stepping,
// zero_grad, and the state dict. A subclass supplies only the update of one parameter.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

// Parameters sharing hyperparameters, as torch's param_groups. An unset lr or weight_decay takes
// the optimizer's option; after construction both are always set.
struct ParamGroup {
    std::vector<Tensor> params;
    std::optional<double> lr;
    std::optional<double> weight_decay;
};

// GPT convention (nanoGPT, minGPT): matrices (rank >= 2) decay, biases, gains and other rank < 2
// parameters do not. Gives {rank>=2 with weight_decay, rank<2 with 0}, dropping an empty group.
std::vector<ParamGroup> param_groups_for_weight_decay(const std::vector<Tensor>& params,
                                                      double weight_decay);
std::vector<ParamGroup> param_groups_for_weight_decay(
    const std::vector<std::pair<std::string, Tensor>>& named_params, double weight_decay);

// What an update rule keeps for one parameter. `buffers` follow the optimizer's buffer names.
struct ParamState {
    std::int64_t step = 0;  // updates applied to this parameter (a step without grad skips it)
    std::vector<Tensor> buffers;
};

class Optimizer {
public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // Updates, in place, every parameter that has a gradient; the others keep value and state.
    void step();
    void zero_grad();        // drops every parameter's gradient (torch's set_to_none)
    void set_lr(double lr);  // every group; what a schedule calls before step()
    double lr() const;       // the first group's
    std::int64_t steps() const { return steps_; }  // step() calls so far
    const std::vector<ParamGroup>& param_groups() const { return groups_; }
    const std::string& name() const { return name_; }

    // Keys: "step", "group.<g>.lr", "group.<g>.weight_decay", and for each parameter updated at
    // least once (numbered across groups in order) "state.<i>.step" and "state.<i>.<buffer>".
    // Values are copies; loading checks keys, shapes and the group count and throws ValueError.
    std::map<std::string, Tensor> state_dict() const;
    void load_state_dict(const std::map<std::string, Tensor>& state);

protected:
    // `buffer_names`: the per-parameter state, e.g. {"exp_avg", "exp_avg_sq"}.
    Optimizer(std::string name, std::vector<ParamGroup> groups, double lr, double weight_decay,
              std::vector<std::string> buffer_names);
    // One parameter's update; state.step already counts this update, buffers are allocated.
    virtual void update(const Tensor& param, const Tensor& grad, ParamState& state, double lr,
                        double weight_decay) = 0;
    // The value buffer b starts at (Adagrad's initial accumulator); zero by default.
    virtual double initial_value(std::size_t /*buffer*/) const { return 0.0; }

private:
    void check_grad(std::size_t index, const Tensor& param, const Tensor& grad) const;
    void allocate(const Tensor& param, ParamState& state) const;

    std::string name_;
    std::vector<ParamGroup> groups_;
    std::vector<std::string> buffer_names_;
    std::vector<ParamState> states_;  // one per parameter, in group order
    std::int64_t steps_ = 0;
};

// A flat parameter list as the single group of the optimizers' flat-list constructors.
std::vector<ParamGroup> one_group(std::vector<Tensor> params);

}  // namespace tapegrad
