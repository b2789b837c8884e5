// Module: the base of every layer and model. A module registers its parameters and children once,
// by name, in its constructor; everything else (named_parameters, state dict, train/eval, dtype
// conversion, summary) walks that registry. Names are hierarchical: "h.0.attn.c_attn.weight".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace tapegrad {

using StateDict = std::map<std::string, Tensor>;

class Module {
public:
    explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    Module(Module&&) = delete;
    Module& operator=(Module&&) = delete;

    const std::string& type_name() const { return type_name_; }
    // Dotted path from the root module, for error messages ("" for the root).
    const std::string& path() const { return path_; }
    // "Dense 'h.0.mlp.c_fc'" or "Dense" at the root: how errors name a layer.
    std::string describe() const;

    std::vector<Tensor> parameters() const;
    std::vector<std::pair<std::string, Tensor>> named_parameters() const;  // registration order
    std::vector<std::pair<std::string, const Module*>> named_modules() const;  // depth first, root first
    std::int64_t parameter_count() const;

    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void zero_grad();

    // Parameters and buffers by name. The tensors share storage with the module (like PyTorch).
    StateDict state_dict() const;
    // Copies values in (converting dtype); strict: every name must match both ways, shapes equal.
    void load_state_dict(const StateDict& state, bool strict = true);
    // Converts every parameter and buffer in place: module.to(f64) before a gradcheck.
    void to(DType dtype);

    // Every random generator registered below this module (dropout masks), by hierarchical name:
    // what a training checkpoint saves so a resumed run draws the masks it would have drawn.
    std::vector<std::pair<std::string, Generator*>> named_generators();
    // Those generators' states (Generator::state_hex) by name, and their restoration: strict, every
    // name must match both ways (ValueError naming the first that does not).
    std::map<std::string, std::string> generator_states();
    void load_generator_states(const std::map<std::string, std::string>& states);

    // Keras-like table: layer path (type), output shape of the last call, parameter count.
    std::string summary() const;
    // Shape of this module's most recent output, if it has been called.
    const std::optional<Shape>& last_output_shape() const { return last_output_shape_; }

protected:
    // Registers a trainable tensor; the returned handle shares the registry's storage.
    Tensor register_parameter(const std::string& name, Tensor value);
    // Registers non-trainable state that belongs in the state dict (e.g. a position table).
    Tensor register_buffer(const std::string& name, Tensor value);
    void register_module(const std::string& name, Module& child);
    // Registers a generator the module draws from after construction (not the initialiser's).
    void register_generator(const std::string& name, Generator& gen);
    // Layers pass their result through here so summary() can show output shapes (in a sharded
    // step, shard 0's: the threads share the module).
    Tensor remember_output(Tensor y);

private:
    void set_path(const std::string& path);
    void collect(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out, bool buffers) const;

    std::string type_name_;
    std::string path_;
    bool training_ = true;
    std::vector<std::pair<std::string, Tensor>> params_;
    std::vector<std::pair<std::string, Tensor>> buffers_;
    std::vector<std::pair<std::string, Module*>> children_;
    std::vector<std::pair<std::string, Generator*>> generators_;
    std::optional<Shape> last_output_shape_;
};

// Repeated blocks: children named "0", "1", ... (HF GPT-2's "h.0", "h.1").
template <class Block>
class ModuleList : public Module {
public:
    ModuleList() : Module("ModuleList") {}
    template <class... Args>
    Block& emplace_back(Args&&... args) {
        blocks_.push_back(std::make_unique<Block>(std::forward<Args>(args)...));
        register_module(std::to_string(blocks_.size() - 1), *blocks_.back());
        return *blocks_.back();
    }
    std::size_t size() const { return blocks_.size(); }
    Block& operator[](std::size_t i) { return *blocks_[i]; }
    const Block& operator[](std::size_t i) const { return *blocks_[i]; }
    auto begin() { return blocks_.begin(); }
    auto end() { return blocks_.end(); }

private:
    std::vector<std::unique_ptr<Block>> blocks_;
};

}  // namespace tapegrad
