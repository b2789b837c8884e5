#include "io/checkpoint.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "io/atomic_directory.hpp"
#include "io/atomic_file.hpp"
#include "io/generator_states.hpp"
#include "io/json_strict.hpp"
#include "io/pretrained.hpp"
#include "io/safetensors.hpp"

namespace tapegrad {
namespace fs = std::filesystem;
namespace {

using json = nlohmann::json;

constexpr const char* trainer_file = "trainer.json";
constexpr const char* optimizer_file = "optimizer.safetensors";
constexpr const char* master_file = "master_weights.safetensors";

std::string trainer_json(Gpt& model, const Optimizer& optimizer, const TrainerState& state) {
    json run = json::parse(state.run_json);
    if (!run.is_object()) throw ValueError("save_checkpoint: run settings must be a JSON object");
    const json j = {{"format", 1},
                    {"step", state.step},
                    {"optimizer", optimizer.name()},
                    {"generators", training_generator_states(model)},
                    {"run", run}};
    return j.dump(2) + "\n";
}

json read_trainer_json(const fs::path& path) {
    const std::vector<std::byte> bytes = read_file(path);
    const json j =
        parse_json_strict({reinterpret_cast<const char*>(bytes.data()), bytes.size()},
                          {.file = path.string(), .what = "trainer state", .max_depth = 8});
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number_unsigned() ||
        !j.contains("optimizer") || !j["optimizer"].is_string() || !j.contains("generators") ||
        !j["generators"].is_object() || !j.contains("run") || !j["run"].is_object())
        throw_io_error(path.string(),
                       "not a tapegrad trainer state (step, optimizer, generators, run expected)");
    return j;
}

}  // namespace

void save_checkpoint(const fs::path& dir, Gpt& model, const TextTokenizer* tokenizer,
                     const Optimizer& optimizer, const TrainerState& state, FloatFormat weights) {
    const std::string trainer = trainer_json(model, optimizer, state);
    write_directory_atomic(dir, [&](const fs::path& staging) {
        write_pretrained_files(staging, model, tokenizer, weights);
        if (weights != FloatFormat::as_is)
            save_safetensors(staging / master_file,
                             {.tensors = model.state_dict(), .metadata = {}});
        detail::pause_inside_save();
        save_safetensors(staging / optimizer_file,
                         {.tensors = optimizer.state_dict(), .metadata = {}});
        detail::pause_inside_save();
        write_file_atomic(staging / trainer_file, std::as_bytes(std::span(trainer)));
    });
}

bool is_checkpoint(const fs::path& dir) {
    return fs::is_regular_file(dir / trainer_file) && fs::is_regular_file(dir / optimizer_file);
}

TrainerState read_trainer_state(const fs::path& dir) {
    const json j = read_trainer_json(dir / trainer_file);
    return {.step = j["step"].get<std::int64_t>(), .run_json = j["run"].dump()};
}

TrainerState load_training_state(const fs::path& dir, Gpt& model, Optimizer& optimizer) {
    const fs::path path = dir / trainer_file;
    const json j = read_trainer_json(path);
    if (j["optimizer"] != optimizer.name())
        throw ValueError(fmt::format("resume: {} was trained with {}, not {}", dir.string(),
                                     j["optimizer"].get<std::string>(), optimizer.name()));
    optimizer.load_state_dict(load_safetensors(dir / optimizer_file).tensors);
    if (fs::exists(dir / master_file)) load_pretrained_weights(dir, model, master_file);
    load_training_generator_states(model, j["generators"], path.string());
    return {.step = j["step"].get<std::int64_t>(), .run_json = j["run"].dump()};
}

}  // namespace tapegrad
