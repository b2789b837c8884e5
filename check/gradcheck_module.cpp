#include "check/gradcheck_module.hpp"

#include <fmt/format.h>

#include "autograd/tape.hpp"
#include "core/random.hpp"
#include "io/pretrained.hpp"

namespace tapegrad {
namespace {

// i32 [batch, seq_len] uniform over [0, vocab).
Tensor random_tokens(Generator& gen, std::int64_t batch, std::int64_t seq_len, std::int64_t vocab) {
    std::vector<std::int32_t> values(static_cast<std::size_t>(batch * seq_len));
    for (std::int32_t& v : values) v = static_cast<std::int32_t>(gen.below(std::uint64_t(vocab)));
    return ids(values, {batch, seq_len});
}

void expect_f64(const std::vector<std::pair<std::string, Tensor>>& params) {
    for (const auto& [name, p] : params)
        if (p.dtype() != f64)
            throw ValueError(
                fmt::format("gradcheck_parameters: parameter '{}' {} is {}; convert the "
                            "model with to(f64) first",
                            name, p.shape(), dtype_name(p.dtype())));
}

}  // namespace

std::vector<ParameterCheck> gradcheck_parameters(Module& model, const std::function<Tensor()>& loss,
                                                 const GradcheckOptions& options) {
    const auto params = model.named_parameters();
    expect_f64(params);
    const GradcheckFn f = [&loss](const std::vector<Tensor>&) { return loss(); };
    std::vector<ParameterCheck> out;
    for (const auto& [name, p] : params) {
        const GradcheckReport r = gradcheck(f, {p}, options);
        out.push_back({name, p.shape(), r.checked, r.max_abs_error, r.max_rel_error, r.ok});
    }
    model.zero_grad();  // backward also reached the parameters not being checked
    return out;
}

namespace {

// A saved GPT in f64 with dropout off and a random batch of tokens and targets.
struct CheckedGpt {
    PretrainedGpt loaded;
    Tensor tokens, targets;
    Tensor loss() const { return loaded.model->loss(tokens, targets); }
};

CheckedGpt load_for_check(const std::filesystem::path& dir, std::int64_t batch,
                          std::int64_t seq_len, std::uint64_t seed) {
    if (batch < 1 || seq_len < 1)
        throw ValueError(fmt::format(
            "gradcheck_gpt: batch and seq_len must be positive (got {} and {})", batch, seq_len));
    CheckedGpt out{load_pretrained(dir, f64), {}, {}};
    Gpt& model = *out.loaded.model;
    const GptConfig& config = model.config();
    if (seq_len > config.n_positions)
        throw ValueError(
            fmt::format("gradcheck_gpt: {}: seq_len {} exceeds the model's n_positions ({})",
                        dir.string(), seq_len, config.n_positions));
    model.eval();  // dropout would draw a new mask for every evaluation
    Generator gen(seed);
    out.tokens = random_tokens(gen, batch, seq_len, config.vocab_size);
    out.targets = random_tokens(gen, batch, seq_len, config.vocab_size);
    return out;
}

}  // namespace

std::vector<ParameterCheck> gradcheck_gpt(const std::filesystem::path& dir, std::int64_t batch,
                                          std::int64_t seq_len, std::size_t elements_per_tensor,
                                          std::uint64_t seed, const GradcheckOptions& tolerances) {
    const CheckedGpt gpt = load_for_check(dir, batch, seq_len, seed);
    GradcheckOptions options = tolerances;
    options.max_elements = elements_per_tensor;
    options.seed = seed;
    options.projections = 1;  // the loss is a scalar: every projection is the same up to a factor
    return gradcheck_parameters(
        *gpt.loaded.model, [&] { return gpt.loss(); }, options);
}

std::optional<LocatedNode> locate_in_gpt(const std::filesystem::path& dir, std::int64_t batch,
                                         std::int64_t seq_len, std::uint64_t seed,
                                         const GradcheckOptions& tolerances) {
    const CheckedGpt gpt = load_for_check(dir, batch, seq_len, seed);
    GradcheckOptions options = tolerances;
    options.seed = seed;
    return locate_wrong_node([&](const std::vector<Tensor>&) { return gpt.loss(); },
                             gpt.loaded.model->parameters(), options);
}

void randomize_parameters(Module& module, double bound, std::uint64_t first_seed) {
    module.to(f64);
    NoGrad no_grad;
    std::uint64_t seed = first_seed;
    for (const Tensor& p : module.parameters()) {
        Generator gen(seed++);
        gen.fill_uniform(p.span<double>(), -bound, bound);
    }
}

}  // namespace tapegrad
