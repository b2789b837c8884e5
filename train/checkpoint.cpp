#include "train/checkpoint.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_directory.hpp"
#include "core/atomic_file.hpp"
#include "core/json_strict.hpp"
#include "core/safetensors.hpp"
#include "train/pretrained.hpp"

namespace tapegrad {
namespace fs = std::filesystem;
namespace {

using json = nlohmann::json;

constexpr const char* trainer_file = "trainer.json";
constexpr const char* optimizer_file = "optimizer.safetensors";

void restore_generator(const json& value, Generator& gen, std::string_view file, std::string_view name) {
    try {
        gen.set_state_hex(value.is_string() ? value.get<std::string>() : "", fmt::format("generator '{}'", name));
    } catch (const ValueError& e) {
        throw_io_error(file, e.what());
    }
}

std::string trainer_json(Gpt& model, const Optimizer& optimizer, const TrainerState& state) {
    json run = json::parse(state.run_json);
    if (!run.is_object()) throw ValueError("save_checkpoint: run settings must be a JSON object");
    const json j = {{"format", 1},
                    {"step", state.step},
                    {"optimizer", optimizer.name()},
                    {"generators", model.generator_states()},
                    {"global_generator", global_generator().state_hex()},
                    {"run", run}};
    return j.dump(2) + "\n";
}

json read_trainer_json(const fs::path& path) {
    const std::vector<std::byte> bytes = read_file(path);
    const json j = parse_json_strict({reinterpret_cast<const char*>(bytes.data()), bytes.size()},
                                     {.file = path.string(), .what = "trainer state", .max_depth = 8});
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number_unsigned() || !j.contains("optimizer") ||
        !j["optimizer"].is_string() || !j.contains("generators") || !j["generators"].is_object() ||
        !j.contains("run") || !j["run"].is_object() || !j.contains("global_generator"))
        throw_io_error(path.string(), "not a tapegrad trainer state (step, optimizer, generators, run expected)");
    return j;
}

}  // namespace

void save_checkpoint(const fs::path& dir, Gpt& model, const CharTokenizer* tokenizer, const Optimizer& optimizer,
                     const TrainerState& state) {
    const std::string trainer = trainer_json(model, optimizer, state);
    write_directory_atomic(dir, [&](const fs::path& staging) {
        write_pretrained_files(staging, model, tokenizer);
        save_safetensors(staging / optimizer_file, {.tensors = optimizer.state_dict(), .metadata = {}});
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
    try {
        model.load_generator_states(j["generators"].get<std::map<std::string, std::string>>());
    } catch (const json::exception&) {
        throw_io_error(path.string(), "generators must map names to 64-hex-digit states");
    }
    restore_generator(j["global_generator"], global_generator(), path.string(), "global");
    return {.step = j["step"].get<std::int64_t>(), .run_json = j["run"].dump()};
}

}  // namespace tapegrad
