#include "layers/module.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "autograd/tape.hpp"

namespace tapegrad {
namespace {

std::string join_name(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "." + name;
}

// Copies src's values into dst's existing storage, converting dtype; shapes must agree.
void copy_into(const std::string& name, const Tensor& dst, const Tensor& src) {
    if (!(dst.shape() == src.shape()))
        throw ShapeError(fmt::format("load_state_dict: '{}': module has {}, state has {}", name, dst.shape(),
                                     src.shape()));
    const Tensor converted = src.dtype() == dst.dtype() ? src : src.to(dst.dtype());
    std::memcpy(dst.raw_data(), converted.raw_data(), static_cast<std::size_t>(dst.numel()) * dtype_size(dst.dtype()));
}

// Replaces the storage behind every handle of t with a converted copy.
void convert_in_place(const Tensor& t, DType dtype) {
    if (t.dtype() == dtype) return;
    const Tensor converted = t.to(dtype);
    t.impl().storage = converted.impl().storage;
    t.impl().dtype = dtype;
    t.impl().grad.reset();
}

std::string format_count(std::int64_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

}  // namespace

std::string Module::describe() const {
    return path_.empty() ? type_name_ : fmt::format("{} '{}'", type_name_, path_);
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
    value.requires_grad(true);
    params_.emplace_back(name, value);
    return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
    buffers_.emplace_back(name, value);
    return value;
}

void Module::register_module(const std::string& name, Module& child) {
    children_.emplace_back(name, &child);
    child.set_path(join_name(path_, name));
}

void Module::register_generator(const std::string& name, Generator& gen) {
    generators_.emplace_back(name, &gen);
}

std::vector<std::pair<std::string, Generator*>> Module::named_generators() {
    std::vector<std::pair<std::string, Generator*>> out;
    for (auto& [name, gen] : generators_) out.emplace_back(join_name(path_, name), gen);
    for (auto& [name, child] : children_)
        for (auto& entry : child->named_generators()) out.push_back(entry);
    return out;
}

std::map<std::string, std::string> Module::generator_states() {
    std::map<std::string, std::string> out;
    for (const auto& [name, gen] : named_generators()) out[name] = gen->state_hex();
    return out;
}

void Module::load_generator_states(const std::map<std::string, std::string>& states) {
    const auto generators = named_generators();
    for (const auto& [name, gen] : generators) {
        const auto it = states.find(name);
        if (it == states.end())
            throw ValueError(fmt::format("load_generator_states: {}: no state for generator '{}'", describe(), name));
        gen->set_state_hex(it->second, fmt::format("load_generator_states: '{}'", name));
    }
    if (states.size() != generators.size())
        for (const auto& [name, state] : states)
            if (std::none_of(generators.begin(), generators.end(), [&](const auto& g) { return g.first == name; }))
                throw ValueError(fmt::format("load_generator_states: {}: unexpected generator '{}'", describe(), name));
}

void Module::set_path(const std::string& path) {
    path_ = path;
    for (auto& [name, child] : children_) child->set_path(join_name(path_, name));
}

Tensor Module::remember_output(Tensor y) {
    if (current_shard() <= 0) last_output_shape_ = y.shape();
    return y;
}

void Module::collect(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out, bool buffers) const {
    for (const auto& [name, t] : params_) out.emplace_back(join_name(prefix, name), t);
    if (buffers)
        for (const auto& [name, t] : buffers_) out.emplace_back(join_name(prefix, name), t);
    for (const auto& [name, child] : children_) child->collect(join_name(prefix, name), out, buffers);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
    std::vector<std::pair<std::string, Tensor>> out;
    collect("", out, false);
    return out;
}

std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> out;
    for (auto& [name, t] : named_parameters()) out.push_back(t);
    return out;
}

std::vector<std::pair<std::string, const Module*>> Module::named_modules() const {
    std::vector<std::pair<std::string, const Module*>> out{{path_, this}};
    for (const auto& [name, child] : children_)
        for (auto& entry : child->named_modules()) out.push_back(entry);
    return out;
}

std::int64_t Module::parameter_count() const {
    std::int64_t n = 0;
    for (const Tensor& t : parameters()) n += t.numel();
    return n;
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
    for (const Tensor& t : parameters()) t.zero_grad();
}

StateDict Module::state_dict() const {
    std::vector<std::pair<std::string, Tensor>> all;
    collect("", all, true);
    return StateDict(all.begin(), all.end());
}

void Module::load_state_dict(const StateDict& state, bool strict) {
    const StateDict own = state_dict();
    for (const auto& [name, t] : own) {
        const auto it = state.find(name);
        if (it == state.end()) {
            if (strict) throw ValueError(fmt::format("load_state_dict: {}: '{}' is missing from the state", describe(), name));
            continue;
        }
        copy_into(name, t, it->second);
    }
    if (strict)
        for (const auto& [name, t] : state)
            if (!own.contains(name))
                throw ValueError(fmt::format("load_state_dict: {}: unexpected entry '{}' {}", describe(), name, t.shape()));
}

void Module::to(DType dtype) {
    for (const auto& [name, t] : state_dict()) convert_in_place(t, dtype);
}

std::string Module::summary() const {
    std::string out = fmt::format("Model: \"{}\"\n", type_name_);
    const std::string rule(78, '-');
    out += fmt::format("{}\n{:<44}{:<22}{:>12}\n{}\n", rule, "Layer (type)", "Output Shape", "Param #", rule);
    for (const auto& [path, m] : named_modules()) {
        const int depth = path.empty() ? 0 : 1 + static_cast<int>(std::count(path.begin(), path.end(), '.'));
        if (depth == 0) continue;
        const std::string label = fmt::format("{:{}}{} ({})", "", 2 * (depth - 1), path, m->type_name_);
        const std::string shape = m->last_output_shape_ ? fmt::format("{}", *m->last_output_shape_) : "?";
        out += fmt::format("{:<44}{:<22}{:>12}\n", label, shape, format_count(m->parameter_count()));
    }
    const std::int64_t total = parameter_count();
    std::int64_t trainable = 0;  // a frozen parameter (requires_grad off) is Keras' non-trainable
    for (const Tensor& t : parameters())
        if (t.requires_grad()) trainable += t.numel();
    out += fmt::format("{}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: {}\n",
                       rule, format_count(total), format_count(trainable),
                       format_count(total - trainable));
    return out;
}

}  // namespace tapegrad
