#include "train/fit_checkpoint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <span>

#include "io/atomic_directory.hpp"
#include "io/atomic_file.hpp"
#include "io/generator_states.hpp"
#include "io/json_strict.hpp"
#include "io/safetensors.hpp"

namespace tapegrad {
namespace fs = std::filesystem;
namespace {

using json = nlohmann::json;

constexpr const char* model_file = "model.safetensors";
constexpr const char* optimizer_file = "optimizer.safetensors";
constexpr const char* state_file = "fit_state.json";
constexpr std::string_view dir_prefix = "step-";

std::string fit_state_json(Module& model, const Optimizer& optimizer, std::int64_t step) {
    const json j = {{"format", 1},
                    {"step", step},
                    {"optimizer", optimizer.name()},
                    {"generators", training_generator_states(model)}};
    return j.dump(2) + "\n";
}

json read_fit_state(const fs::path& path) {
    const std::vector<std::byte> bytes = read_file(path);
    json j = parse_json_strict({reinterpret_cast<const char*>(bytes.data()), bytes.size()},
                               {.file = path.string(), .what = "fit state", .max_depth = 1});
    const bool ok = j.is_object() && j.value("step", json()).is_number_unsigned() &&
                    j.value("optimizer", json()).is_string() &&
                    j.value("generators", json()).is_object();
    if (!ok) throw_io_error(path.string(), "expected a fit state: step, optimizer, generators");
    return j;
}

// N for a directory named step-N (digits only), else nothing.
std::optional<std::int64_t> step_of(const std::string& name) {
    if (!name.starts_with(dir_prefix) || name.size() == dir_prefix.size()) return std::nullopt;
    std::int64_t step = 0;
    const char* end = name.data() + name.size();
    const auto [stop, error] = std::from_chars(name.data() + dir_prefix.size(), end, step);
    if (error != std::errc() || stop != end || step < 0) return std::nullopt;
    return step;
}

}  // namespace

fs::path checkpoint_path(const fs::path& root, std::int64_t step) {
    return root / fmt::format("{}{:06}", dir_prefix, step);
}

std::vector<std::pair<std::int64_t, fs::path>> list_checkpoints(const fs::path& root) {
    std::vector<std::pair<std::int64_t, fs::path>> out;
    if (!fs::is_directory(root)) return out;
    for (const fs::directory_entry& entry : fs::directory_iterator(root))
        if (const auto step = step_of(entry.path().filename().string());
            step && entry.is_directory())
            out.emplace_back(*step, entry.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<fs::path> latest_checkpoint(const fs::path& root) {
    const auto all = list_checkpoints(root);
    if (all.empty()) return std::nullopt;
    return all.back().second;
}

Checkpoint::Checkpoint(CheckpointSaver saver, CheckpointOptions options)
    : saver_(std::move(saver)), opt_(std::move(options)) {
    if (!saver_) throw ValueError("Checkpoint: the saver is empty");
    if (opt_.root.empty()) throw ValueError("Checkpoint: the root directory is empty");
    if (opt_.every < 0 || opt_.keep < 0)
        throw ValueError(fmt::format("Checkpoint: every ({}) and keep ({}) must be >= 0",
                                     opt_.every, opt_.keep));
}

void Checkpoint::on_step_end(FitRun& /*run*/, const StepLogs& logs) {
    last_step_finite_ = logs.finite();
    if (last_step_finite_ && opt_.every > 0 && (logs.step + 1) % opt_.every == 0)
        save(logs.step + 1);
}

void Checkpoint::on_train_end(FitRun& /*run*/, const FitResult& result) {
    if (opt_.at_end && result.steps > 0 && last_step_finite_ && result.end_step != last_saved_step_)
        save(result.end_step);
}

void Checkpoint::save(std::int64_t step) {
    fs::create_directories(opt_.root);
    const fs::path dir = checkpoint_path(opt_.root, step);
    saver_(dir, step);
    last_saved_ = dir;
    last_saved_step_ = step;
    if (opt_.keep == 0) return;
    std::vector<std::pair<std::int64_t, fs::path>> older;
    for (auto& entry : list_checkpoints(opt_.root))
        if (entry.first <= step) older.push_back(std::move(entry));
    const auto excess = static_cast<std::int64_t>(older.size()) - opt_.keep;
    for (std::int64_t i = 0; i < excess; ++i)
        fs::remove_all(older[static_cast<std::size_t>(i)].second);
}

CheckpointSaver module_saver(Module& model, const Optimizer& optimizer) {
    return [&model, &optimizer](const fs::path& dir, std::int64_t step) {
        const std::string state = fit_state_json(model, optimizer, step);
        write_directory_atomic(dir, [&](const fs::path& staging) {
            save_safetensors(staging / model_file, {.tensors = model.state_dict(), .metadata = {}});
            save_safetensors(staging / optimizer_file,
                             {.tensors = optimizer.state_dict(), .metadata = {}});
            write_file_atomic(staging / state_file, std::as_bytes(std::span(state)));
        });
    };
}

std::int64_t load_module_checkpoint(const fs::path& dir, Module& model, Optimizer* optimizer) {
    const fs::path state_path = dir / state_file;
    const json j = read_fit_state(state_path);
    if (optimizer && j["optimizer"] != optimizer->name())
        throw ValueError(fmt::format("load_module_checkpoint: {} was saved with {}, not {}",
                                     dir.string(), j["optimizer"].get<std::string>(),
                                     optimizer->name()));
    model.load_state_dict(load_safetensors(dir / model_file).tensors);
    if (optimizer) {
        optimizer->load_state_dict(load_safetensors(dir / optimizer_file).tensors);
        load_training_generator_states(model, j["generators"], state_path.string());
    }
    return j["step"].get<std::int64_t>();
}

}  // namespace tapegrad
