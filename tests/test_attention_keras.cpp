// The attention layers against torch: tests/fixtures/attention/*.json, written by
// tests/fixtures/make_attention_fixtures.py from Keras' formulas (committed, so no torch here).
// Each fixture's weights are loaded with load_state_dict; outputs, attention scores and the
// gradients of sum(projection·output) w.r.t. every input and weight must match, in float64 to
// 1e-10 and in float32 to 1e-5 (relative to 1 + |value|).
#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "layer_fixtures.hpp"
#include "layers/additive_attention.hpp"
#include "layers/attention.hpp"
#include "layers/multi_head_attention.hpp"
#include "support.hpp"

using namespace tapegrad;
using nlohmann::json;
using test::check_matches;

namespace {

// {"shape": [...], "data": [...]} -> a tensor of `dtype` (b8 for masks).
Tensor fixture_tensor(const json& j, DType dtype = f64) {
    const Shape shape(j.at("shape").get<std::vector<std::int64_t>>());
    const auto data = j.at("data").get<std::vector<double>>();
    const Tensor t =
        from(std::span<const double>(data), shape, {.dtype = dtype == b8 ? f64 : dtype});
    return dtype == b8 ? t.to(b8) : t;
}

json load_attention_fixture(const std::string& name) {
    const auto path = test::source_dir() / "tests" / "fixtures" / "attention" / (name + ".json");
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "missing fixture ", path.string());
    return json::parse(in);
}

std::unique_ptr<Module> make_layer(const json& fx) {
    const std::string type = fx.at("layer");
    const json& o = fx.at("options");
    if (type == "Attention")
        return std::make_unique<Attention>(AttentionOptions{
            .use_scale = o.at("use_scale"),
            .score_mode = o.at("score_mode") == "dot" ? ScoreMode::dot : ScoreMode::concat});
    if (type == "AdditiveAttention")
        return std::make_unique<AdditiveAttention>(
            o.at("dim"), AdditiveAttentionOptions{.use_scale = o.at("use_scale")});
    REQUIRE(type == "MultiHeadAttention");
    return std::make_unique<MultiHeadAttention>(
        o.at("query_dim"), MultiHeadAttentionOptions{.num_heads = o.at("num_heads"),
                                                     .key_dim = o.at("key_dim"),
                                                     .value_dim = o.at("value_dim"),
                                                     .use_bias = o.at("use_bias"),
                                                     .output_shape = o.at("output_shape"),
                                                     .value_input_dim = o.at("value_input_dim"),
                                                     .key_input_dim = o.at("key_input_dim")});
}

AttentionResult call_layer(Module& layer, const Tensor& q, const Tensor& v, const Tensor& k,
                           const AttentionCall& call) {
    if (auto* luong = dynamic_cast<AttentionBase*>(&layer)) return (*luong)(q, v, k, call);
    return dynamic_cast<MultiHeadAttention&>(layer)(q, v, k, call);
}

Tensor fixture_mask(const json& masks, const char* name) {
    return masks.contains(name) ? fixture_tensor(masks.at(name), b8) : Tensor();
}

StateDict fixture_state(const json& params) {
    StateDict state;
    for (const auto& [name, value] : params.items()) state[name] = fixture_tensor(value);
    return state;
}

void check_fixture(const std::string& name, DType dtype, double tol) {
    INFO("fixture: ", name, ", dtype: ", dtype_name(dtype));
    const json fx = load_attention_fixture(name);
    std::unique_ptr<Module> layer = make_layer(fx);
    layer->to(dtype);
    layer->load_state_dict(fixture_state(fx.at("params")));
    const json& in = fx.at("inputs");
    std::map<std::string, Tensor> inputs;  // query, and value/key when the case has them
    for (const auto& [key, value] : in.items())
        inputs[key] = fixture_tensor(value, dtype).requires_grad(true);
    const json& m = fx.at("masks");
    const AttentionCall call{.query_mask = fixture_mask(m, "query_mask"),
                             .value_mask = fixture_mask(m, "value_mask"),
                             .attention_mask = fixture_mask(m, "attention_mask"),
                             .use_causal_mask = fx.at("call").at("use_causal_mask"),
                             .return_attention_scores = true};
    const Tensor& q = inputs.at("query");
    const Tensor v = inputs.contains("value") ? inputs.at("value") : q;
    const Tensor k = inputs.contains("key") ? inputs.at("key") : Tensor();
    const AttentionResult r = call_layer(*layer, q, v, k, call);
    check_matches("output", r.output, fixture_tensor(fx.at("output")), tol);
    check_matches("scores", r.scores, fixture_tensor(fx.at("scores")), tol);
    r.output.backward(fixture_tensor(fx.at("projection"), dtype));
    const json& grads = fx.at("grads");
    for (const auto& [key, x] : inputs)
        check_matches("grad " + key, x.grad(), fixture_tensor(grads.at(key)), tol);
    CHECK(layer->named_parameters().size() == fx.at("params").size());
    for (const auto& [pname, p] : layer->named_parameters())
        check_matches("grad " + pname, p.grad(), fixture_tensor(grads.at(pname)), tol);
}

const char* const fixtures[] = {
    "attention_dot",
    "attention_dot_scale_masks",
    "attention_dot_causal_self",
    "attention_concat_causal",
    "attention_concat_scale",
    "additive_scale_masks",
    "additive_noscale_causal",
    "mha_cross_mask",
    "mha_self_causal_padding",
    "mha_nobias_causal_query_mask",
};

}  // namespace

TEST_CASE(
    "attention fixtures: Attention, AdditiveAttention, MultiHeadAttention match torch in float64") {
    for (const char* name : fixtures) check_fixture(name, f64, 1e-10);
}

TEST_CASE("attention fixtures: the same layers match torch in float32") {
    for (const char* name : fixtures) check_fixture(name, f32, 1e-5);
}
