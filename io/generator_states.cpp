#include "io/generator_states.hpp"

#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace tapegrad {
namespace {

constexpr const char* global_name = "(global)";

}  // namespace

nlohmann::json training_generator_states(Module& model) {
    nlohmann::json out = model.generator_states();
    out[global_name] = global_generator().state_hex();
    return out;
}

void load_training_generator_states(Module& model, const nlohmann::json& saved,
                                    const std::string& file) {
    try {
        auto states = saved.get<std::map<std::string, std::string>>();
        const auto global = states.find(global_name);
        if (global == states.end()) throw ValueError("no state for the global generator");
        global_generator().set_state_hex(global->second, "(global)");
        states.erase(global);
        model.load_generator_states(states);
    } catch (const nlohmann::json::exception&) {
        throw_io_error(file, "generators must map names to 64-hex-digit states");
    } catch (const ValueError& e) {
        throw_io_error(file, e.what());
    }
}

}  // namespace tapegrad
