// The logit lens (train/lens.hpp, viz/lens.hpp): read-outs, residual norms and the heads' direct
// contributions, checked on a float64 GPT where the final residual stream is exactly the
// embeddings plus the heads' outputs.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.hpp"
#include "layers/gpt.hpp"
#include "support.hpp"
#include "train/lens.hpp"
#include "viz/lens.hpp"

using namespace tapegrad;

namespace {

constexpr std::int64_t C = 4, V = 6;

// One block whose MLP adds nothing (c_proj weight and bias 0) and whose attention output has no
// bias: the last residual stream is wte[x] + wpe[t] + Σ_h (head h's output @ its c_proj rows).
std::unique_ptr<Gpt> heads_only_gpt() {
    auto model = std::make_unique<Gpt>(GptConfig{.vocab_size = V,
                                                 .n_positions = 8,
                                                 .n_embd = C,
                                                 .n_layer = 1,
                                                 .n_head = 2,
                                                 .seed = 11,
                                                 .dtype = f64});
    test::randomize_parameters(*model, 0.8, 5);
    for (auto& [name, t] : model->named_parameters())
        if (name == "h.0.mlp.c_proj.weight" || name == "h.0.mlp.c_proj.bias" ||
            name == "h.0.attn.c_proj.bias")
            std::fill(t.data<double>(), t.data<double>() + t.numel(), 0.0);
    return model;
}

std::string label(std::int32_t id) { return "t" + std::to_string(id); }

}  // namespace

TEST_CASE("logit lens: the heads' direct contributions add up to the logit with the embeddings'") {
    std::unique_ptr<Gpt> model = heads_only_gpt();
    const std::vector<std::int32_t> prompt = {2, 5};  // one position with a next token: 5
    const LogitLens lens = logit_lens(*model, prompt, label, {.top_k = 3});
    REQUIRE(lens.head_logit.size() == 1);
    REQUIRE(lens.head_logit[0].size() == 2);

    model->record_next_forward();
    const Tensor logits = (*model)(ids(prompt, {1, 2}));
    const GptActivations pass = model->take_activations();
    std::map<std::string, std::vector<double>> w;
    for (auto& [name, t] : model->named_parameters()) w[name] = t.to_vector();
    const std::vector<double> r = pass.residual.back().to_vector(),
                              e = pass.residual[0].to_vector();
    double mean_r = 0, var_r = 0, mean_e = 0;
    for (std::int64_t c = 0; c < C; ++c) mean_r += r[c] / C, mean_e += e[c] / C;
    for (std::int64_t c = 0; c < C; ++c) var_r += (r[c] - mean_r) * (r[c] - mean_r) / C;
    const double rstd = 1 / std::sqrt(var_r + 1e-5);
    // logit of token 5 at position 0 = Σ_h head_h + γ·(e − mean e)·rstd·wte[5] + β·wte[5]
    double rest = 0;
    for (std::int64_t c = 0; c < C; ++c)
        rest += (w["ln_f.weight"][c] * (e[c] - mean_e) * rstd + w["ln_f.bias"][c]) *
                w["wte.weight"][5 * C + c];
    CHECK(lens.head_logit[0][0] + lens.head_logit[0][1] + rest ==
          doctest::Approx(logits.at({0, 0, 5})).epsilon(1e-10));
    CHECK(std::abs(lens.head_logit[0][0]) > 1e-3);  // the heads do contribute

    // The last read-out is the model's own prediction; the first reads the embeddings.
    REQUIRE(lens.layers == std::vector<std::string>{"embeddings", "block 0"});
    REQUIRE(lens.top[1].size() == 2);
    for (std::int64_t t = 0; t < 2; ++t) {
        const Tensor p = softmax(slice(logits, 1, t, t + 1), -1);  // [1,1,V]
        std::int64_t best = 0;
        for (std::int64_t v = 1; v < V; ++v)
            if (p.at({0, 0, v}) > p.at({0, 0, best})) best = v;
        CHECK(lens.top[1][t][0].token == label(static_cast<std::int32_t>(best)));
        CHECK(lens.top[1][t][0].probability == doctest::Approx(p.at({0, 0, best})));
        CHECK(lens.top[1][t].size() == 3);
        CHECK(lens.top[1][t][1].probability <= lens.top[1][t][0].probability);
    }
    double norm0 = 0, norm1 = 0;
    for (std::int64_t c = 0; c < C; ++c) norm0 += e[c] * e[c], norm1 += e[C + c] * e[C + c];
    CHECK(lens.residual_norms[0] == doctest::Approx((std::sqrt(norm0) + std::sqrt(norm1)) / 2));
    CHECK(lens.tokens == std::vector<std::string>{"t2", "t5"});
}

TEST_CASE("logit lens: table and SVG show every read-out, and bad prompts are errors") {
    std::unique_ptr<Gpt> model = heads_only_gpt();
    LogitLens lens = logit_lens(*model, {1, 2, 3}, label);
    lens.title = "lens of a test model";
    const std::string table = lens_table(lens);
    CHECK(table.find("lens of a test model") != std::string::npos);
    CHECK(table.find("embeddings") != std::string::npos);
    CHECK(table.find("block 0") != std::string::npos);
    CHECK(table.find("head 1") != std::string::npos);
    const std::string svg = lens_svg(lens);
    std::size_t cells = 0;
    for (std::size_t at = 0; (at = svg.find("class=\"cell\"", at)) != std::string::npos; ++at)
        ++cells;
    CHECK(cells == 2 * 3 + 1 * 2);  // read-outs × positions, then blocks × heads
    CHECK(logit_lens(*model, {4}, label).head_logit.empty());  // no next token to explain
    test::check_throws_with<ValueError>([&] { logit_lens(*model, {}, label); },
                                        {"logit_lens", "no tokens"});
    test::check_throws_with<ValueError>([&] { logit_lens(*model, {1}, label, {.top_k = 0}); },
                                        {"logit_lens", "top_k"});
    CHECK(model->is_training());  // the mode it had
}
