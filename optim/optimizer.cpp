#include "optim/optimizer.hpp"

#include <fmt/format.h>

#include <set>

#include "core/kernels/thread_tuner.hpp"

namespace tapegrad {
namespace {

Tensor scalar(double value) { return full({}, value, {.dtype = f64}); }

std::string state_key(std::size_t index, std::string_view what) {
    return fmt::format("state.{}.{}", index, what);
}

std::string group_key(std::size_t group, std::string_view what) {
    return fmt::format("group.{}.{}", group, what);
}

void expect_non_negative(std::string_view op, std::size_t group, std::string_view what,
                         double value) {
    if (!(value >= 0.0))
        throw ValueError(fmt::format("{}: group {}: {} must be >= 0 ({})", op, group, what, value));
}

// Every parameter once, floating point; torch rejects the same misuses.
void check_params(std::string_view op, const std::vector<ParamGroup>& groups) {
    std::set<const TensorImpl*> seen;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        for (const Tensor& p : groups[g].params) {
            if (!is_floating(p.dtype()))
                throw ValueError(
                    fmt::format("{}: group {}: parameter {} has dtype {}, not f32 or f64", op, g,
                                p.shape(), dtype_name(p.dtype())));
            if (!seen.insert(p.impl_ptr().get()).second)
                throw ValueError(fmt::format("{}: group {}: parameter {} appears more than once",
                                             op, g, p.shape()));
        }
    }
    if (seen.empty()) throw ValueError(fmt::format("{}: empty parameter list", op));
}

// Looks keys up in a state dict being loaded and remembers which it used, so that a key this
// optimizer would not write can be reported instead of silently ignored.
class StateReader {
public:
    StateReader(std::string_view op, const std::map<std::string, Tensor>& state)
        : op_(op), state_(state) {}

    const Tensor* find(const std::string& key) {
        const auto it = state_.find(key);
        if (it == state_.end()) return nullptr;
        used_.insert(key);
        return &it->second;
    }
    const Tensor& get(const std::string& key) {
        const Tensor* t = find(key);
        if (!t) throw ValueError(fmt::format("{}: load_state_dict: missing key '{}'", op_, key));
        return *t;
    }
    double number(const std::string& key) {
        const Tensor& t = get(key);
        if (t.numel() != 1)
            throw ValueError(fmt::format("{}: load_state_dict: {} {}: expected one element ({})",
                                         op_, key, t.shape(), t.numel()));
        return t.item();
    }
    void expect_all_used(std::size_t groups, std::size_t params) const {
        for (const auto& [key, value] : state_)
            if (!used_.contains(key))
                throw ValueError(fmt::format(
                    "{}: load_state_dict: unexpected key '{}' ({} groups, {} parameters)", op_, key,
                    groups, params));
    }
    std::string_view op() const { return op_; }

private:
    std::string_view op_;
    const std::map<std::string, Tensor>& state_;
    std::set<std::string> used_;
};

// Parameter `index`'s state: absent (never updated) or a step count and every buffer.
ParamState read_param_state(StateReader& in, std::size_t index, const Tensor& param,
                            const std::vector<std::string>& buffer_names) {
    ParamState s;
    const std::string step_key = state_key(index, "step");
    if (!in.find(step_key)) return s;
    const double step = in.number(step_key);
    if (!(step >= 1))
        throw ValueError(
            fmt::format("{}: load_state_dict: {} must be >= 1 ({})", in.op(), step_key, step));
    s.step = static_cast<std::int64_t>(step);
    for (const std::string& name : buffer_names) {
        const std::string key = state_key(index, name);
        const Tensor& t = in.get(key);
        if (!(t.shape() == param.shape()))
            throw ValueError(
                fmt::format("{}: load_state_dict: {} {} vs parameter {} {}: shapes differ", in.op(),
                            key, t.shape(), index, param.shape()));
        s.buffers.push_back(t.to(param.dtype()));
    }
    return s;
}

}  // namespace

std::vector<ParamGroup> one_group(std::vector<Tensor> params) { return {{std::move(params)}}; }

std::vector<ParamGroup> param_groups_for_weight_decay(const std::vector<Tensor>& params,
                                                      double weight_decay) {
    ParamGroup decay{.weight_decay = weight_decay}, no_decay{.weight_decay = 0.0};
    for (const Tensor& p : params) (p.rank() >= 2 ? decay : no_decay).params.push_back(p);
    std::vector<ParamGroup> groups;
    for (ParamGroup* g : {&decay, &no_decay})
        if (!g->params.empty()) groups.push_back(std::move(*g));
    return groups;
}

std::vector<ParamGroup> param_groups_for_weight_decay(
    const std::vector<std::pair<std::string, Tensor>>& named_params, double weight_decay) {
    std::vector<Tensor> params;
    params.reserve(named_params.size());
    for (const auto& [name, p] : named_params) params.push_back(p);
    return param_groups_for_weight_decay(params, weight_decay);
}

Optimizer::Optimizer(std::string name, std::vector<ParamGroup> groups, double lr,
                     double weight_decay, std::vector<std::string> buffer_names)
    : name_(std::move(name)), groups_(std::move(groups)), buffer_names_(std::move(buffer_names)) {
    check_params(name_, groups_);
    std::size_t count = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        ParamGroup& group = groups_[g];
        if (!group.lr) group.lr = lr;
        if (!group.weight_decay) group.weight_decay = weight_decay;
        expect_non_negative(name_, g, "lr", *group.lr);
        expect_non_negative(name_, g, "weight_decay", *group.weight_decay);
        count += group.params.size();
    }
    states_.resize(count);
}

void Optimizer::step() {
    std::size_t index = 0;
    for (const ParamGroup& group : groups_) {
        for (const Tensor& param : group.params) {
            ParamState& state = states_[index];
            const Tensor grad = param.grad();
            if (grad.defined()) {
                check_grad(index, param, grad);
                if (state.step == 0) allocate(param, state);
                ++state.step;
                update(param, grad, state, *group.lr, *group.weight_decay);
            }
            ++index;
        }
    }
    ++steps_;
    kernels::training_step_finished();
}

void Optimizer::check_grad(std::size_t index, const Tensor& param, const Tensor& grad) const {
    if (!(grad.shape() == param.shape()) || grad.dtype() != param.dtype())
        throw ValueError(fmt::format("{}: parameter {} {} {}: gradient {} {} does not match", name_,
                                     index, param.shape(), dtype_name(param.dtype()), grad.shape(),
                                     dtype_name(grad.dtype())));
}

// The only allocation of a parameter's state: later steps update these buffers in place.
void Optimizer::allocate(const Tensor& param, ParamState& state) const {
    state.buffers.clear();
    for (std::size_t b = 0; b < buffer_names_.size(); ++b)
        state.buffers.push_back(full(param.shape(), initial_value(b), {.dtype = param.dtype()}));
}

void Optimizer::zero_grad() {
    for (const ParamGroup& group : groups_)
        for (const Tensor& p : group.params) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        expect_non_negative(name_, g, "lr", lr);
        groups_[g].lr = lr;
    }
}

double Optimizer::lr() const { return *groups_.front().lr; }

std::map<std::string, Tensor> Optimizer::state_dict() const {
    std::map<std::string, Tensor> out;
    out["step"] = scalar(static_cast<double>(steps_));
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        out[group_key(g, "lr")] = scalar(*groups_[g].lr);
        out[group_key(g, "weight_decay")] = scalar(*groups_[g].weight_decay);
    }
    for (std::size_t i = 0; i < states_.size(); ++i) {
        const ParamState& s = states_[i];
        if (s.step == 0) continue;
        out[state_key(i, "step")] = scalar(static_cast<double>(s.step));
        for (std::size_t b = 0; b < buffer_names_.size(); ++b)
            out[state_key(i, buffer_names_[b])] = s.buffers[b].clone();
    }
    return out;
}

// Reads everything first and changes nothing until the whole dict has been checked.
void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state) {
    StateReader in(name_, state);
    const double steps = in.number("step");
    std::vector<std::pair<double, double>> hyper;
    for (std::size_t g = 0; g < groups_.size(); ++g)
        hyper.emplace_back(in.number(group_key(g, "lr")), in.number(group_key(g, "weight_decay")));
    std::vector<ParamState> states;
    for (const ParamGroup& group : groups_)
        for (const Tensor& p : group.params)
            states.push_back(read_param_state(in, states.size(), p, buffer_names_));
    in.expect_all_used(groups_.size(), states_.size());
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        expect_non_negative(name_, g, "lr", hyper[g].first);
        expect_non_negative(name_, g, "weight_decay", hyper[g].second);
    }
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        groups_[g].lr = hyper[g].first;
        groups_[g].weight_decay = hyper[g].second;
    }
    states_ = std::move(states);
    steps_ = static_cast<std::int64_t>(steps);
}

}  // namespace tapegrad
