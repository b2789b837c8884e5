// Training health (train/health.hpp): each number against a hand computation on a tiny float64
// GPT whose weights are set so the forward pass is known in closed form.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "layers/gpt.hpp"
#include "optim/sgd.hpp"
#include "support.hpp"
#include "train/callbacks.hpp"
#include "train/data_source.hpp"
#include "train/fit.hpp"
#include "train/health.hpp"

using namespace tapegrad;

namespace {

constexpr std::int64_t B = 2, T = 4, C = 4, V = 5;

// c_fc's bias: GELU's inputs when its weight is 0; 5 of 16 are below −3.
const std::vector<double> fc_bias = {-4,    -3.5,  -1,  0,  1,  2, -5, 3,
                                     -3.01, -2.99, 0.5, -3, -6, 1, 2,  0};

// A 1-block, 2-head GPT whose block passes the embeddings through unchanged: q = k = v = 0 (so
// every query spreads its weight evenly over the keys it may see), both c_proj outputs 0, and
// the GELU reads c_fc's bias alone.
std::unique_ptr<Gpt> known_gpt() {
    auto model = std::make_unique<Gpt>(GptConfig{.vocab_size = V,
                                                 .n_positions = T,
                                                 .n_embd = C,
                                                 .n_layer = 1,
                                                 .n_head = 2,
                                                 .seed = 3,
                                                 .dtype = f64});
    for (auto& [name, t] : model->named_parameters()) {
        double* v = t.data<double>();
        if (name.find("c_attn") != std::string::npos || name.find("c_proj") != std::string::npos ||
            name == "h.0.mlp.c_fc.weight")
            std::fill(v, v + t.numel(), 0.0);
        if (name == "h.0.mlp.c_fc.bias") std::copy(fc_bias.begin(), fc_bias.end(), v);
    }
    return model;
}

const std::vector<std::int32_t> x_ids = {0, 1, 2, 3, 4, 4, 1, 0}, y_ids = {1, 2, 3, 4, 0, 1, 2, 3};

double norm_of(const std::vector<double>& v) {
    double s = 0;
    for (double a : v) s += a * a;
    return std::sqrt(s);
}

}  // namespace

TEST_CASE("health: every number of a measured step matches a hand computation") {
    std::unique_ptr<Gpt> model = known_gpt();
    std::map<std::string, std::vector<double>> before;
    for (auto& [name, t] : model->named_parameters()) before[name] = t.to_vector();
    const TensorDataset data(ids(x_ids, {B, T}), ids(y_ids, {B, T}));
    SGD sgd(model->parameters(), {.lr = 0.1});
    HealthMonitor health({.every = 1}, model.get());
    fit(*model, [&](const Batch& b) { return model->loss(b.x, b.y); }, sgd, data,
        {.batch_size = B, .steps = 1}, {health});
    REQUIRE(health.latest());
    const HealthStats& h = *health.latest();
    CHECK(h.step == 0);

    // Parameters: ‖g‖ is the gradient fit left; SGD moved w by lr·g, so ‖Δw‖/‖w‖ = lr·‖g‖/‖w‖.
    const auto params = model->named_parameters();
    REQUIRE(h.parameters.size() == params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& [name, t] = params[i];
        INFO(name);
        CHECK(h.parameters[i].name == name);
        const double g = norm_of(t.grad().to_vector()), w = norm_of(before[name]);
        CHECK(h.parameters[i].grad_norm == doctest::Approx(g).epsilon(1e-12));
        CHECK(h.parameters[i].weight_norm == doctest::Approx(w).epsilon(1e-12));
        CHECK(h.parameters[i].update_ratio ==
              doctest::Approx(w > 0 ? 0.1 * g / w : 0.0).epsilon(1e-9));
    }

    // The block's output is the embedding wte[x] + wpe[t]: its mean and population std.
    std::vector<double> e;
    for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t t = 0; t < T; ++t)
            for (std::int64_t c = 0; c < C; ++c)
                e.push_back(before["wte.weight"][x_ids[b * T + t] * C + c] +
                            before["wpe.weight"][t * C + c]);
    double mean = 0, var = 0;
    for (double v : e) mean += v / double(e.size());
    for (double v : e) var += (v - mean) * (v - mean) / double(e.size());
    REQUIRE(h.layers.size() == 1);
    CHECK(h.layers[0].mean.value() == doctest::Approx(mean).epsilon(1e-12));
    CHECK(h.layers[0].std.value() == doctest::Approx(std::sqrt(var)).epsilon(1e-12));
    CHECK(h.layers[0].gelu_below_minus3.value() == doctest::Approx(5.0 / 16));
    // Uniform over the t + 1 visible keys: entropy ln(t + 1), averaged over the 4 queries.
    const double entropy = (std::log(1.0) + std::log(2.0) + std::log(3.0) + std::log(4.0)) / 4;
    REQUIRE(h.layers[0].attention_entropy.size() == 2);
    for (double got : h.layers[0].attention_entropy) CHECK(got == doctest::Approx(entropy));
    // Logits: layer_norm(e) (weight 1, bias 0, eps 1e-5) @ wteᵀ; the largest magnitude.
    double biggest = 0;
    for (std::int64_t r = 0; r < B * T; ++r) {
        double m = 0, s = 0;
        for (std::int64_t c = 0; c < C; ++c) m += e[r * C + c] / C;
        for (std::int64_t c = 0; c < C; ++c) s += (e[r * C + c] - m) * (e[r * C + c] - m) / C;
        for (std::int64_t v = 0; v < V; ++v) {
            double z = 0;
            for (std::int64_t c = 0; c < C; ++c)
                z += (e[r * C + c] - m) / std::sqrt(s + 1e-5) * before["wte.weight"][v * C + c];
            biggest = std::max(biggest, std::abs(z));
        }
    }
    REQUIRE(h.logit_max);
    CHECK(*h.logit_max == doctest::Approx(biggest).epsilon(1e-10));
}

TEST_CASE("health: measured every K steps into the metrics log, and nothing recorded when off") {
    const std::filesystem::path dir = test::scratch_dir("health_metrics");
    const std::string path = (dir / "m.jsonl").string();
    std::unique_ptr<Gpt> model = known_gpt();
    const TensorDataset data(ids(x_ids, {B, T}), ids(y_ids, {B, T}));
    SGD sgd(model->parameters(), {.lr = 0.1});
    HealthMonitor health({.every = 2}, model.get());
    MetricsLogger metrics(path, &health);
    const BatchLoss loss = [&](const Batch& b) { return model->loss(b.x, b.y); };
    fit(*model, loss, sgd, data, {.batch_size = B, .steps = 5}, {health, metrics});
    // A recorded pass hands its tensors over: the blocks keep none of them afterwards.
    CHECK(!model->blocks()[0].attention().attention_weights().defined());
    CHECK(!model->blocks()[0].attention().head_outputs().defined());
    CHECK(!model->blocks()[0].mlp().gelu_input().defined());
    std::ifstream in(path);
    std::vector<std::int64_t> measured;
    for (std::string line; std::getline(in, line);) {
        const nlohmann::ordered_json j = nlohmann::ordered_json::parse(line);
        if (j.contains("health")) {
            measured.push_back(j["step"].get<std::int64_t>());
            CHECK(j["health"]["params"].size() == model->named_parameters().size());
            CHECK(j["health"]["layers"][0]["attn_entropy"].size() == 2);
            const HealthStats back = parse_health_json(j["health"].dump(), j["step"]);
            CHECK(back.parameters[0].name == "wte.weight");
        }
    }
    CHECK(measured == std::vector<std::int64_t>{0, 2, 4});

    // Off: a plain forward keeps nothing, and the sublayers hold no extra tensor.
    (*model)(ids(x_ids, {B, T}));
    const GptActivations none = model->take_activations();
    CHECK(!none.logits.defined());
    CHECK(none.residual.empty());
    CHECK(!model->blocks()[0].attention().attention_weights().defined());
    CHECK(!model->blocks()[0].mlp().gelu_input().defined());
    test::check_throws_with<ValueError>([] { HealthMonitor bad({.every = 0}); },
                                        {"HealthMonitor", "every", "0"});
}

TEST_CASE("parameter_health: norms read in place, and a saved copy of another shape is an error") {
    const Tensor w = from({3.0, 4.0}, {2}, {.dtype = f32});
    const Tensor before = from({0.0, 4.0}, {2}, {.dtype = f32});
    const std::vector<ParameterHealth> h = parameter_health({{"w", w}}, {before});
    REQUIRE(h.size() == 1);
    CHECK(h[0].weight_norm == doctest::Approx(4.0));    // of the values before the update
    CHECK(h[0].update_ratio == doctest::Approx(0.75));  // ‖(3, 0)‖ / 4
    CHECK(h[0].grad_norm == 0.0);                       // no gradient
    CHECK_THROWS_WITH_AS(parameter_health({{"w", w}}, {from({1.0}, {1}, {.dtype = f32})}),
                         doctest::Contains("parameter_health"), ShapeError);
}
