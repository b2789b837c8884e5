#include "check/gradcheck_suite.hpp"

#include <fmt/format.h>

#include "check/gradcheck_module.hpp"
#include "check/gradcheck_suite_cases.hpp"

namespace tapegrad {
namespace detail {
namespace {

std::string shapes_of(const std::vector<Tensor>& inputs) {
    std::string out;
    for (const Tensor& x : inputs) {
        if (!out.empty()) out += ' ';
        out += fmt::format("{}", x.shape());
    }
    return out;
}

}  // namespace

void SuiteBuilder::add(std::string name, GradcheckFn f, std::vector<Tensor> inputs) {
    std::string shapes = shapes_of(inputs);
    const auto run = [f, inputs, options = options] { return gradcheck(f, inputs, options); };
    const auto run_order2 = [f = std::move(f), inputs = std::move(inputs), options = options] {
        return gradgradcheck(f, inputs, options);
    };
    cases.push_back({std::move(name), std::move(shapes), run, run_order2});
}

void SuiteBuilder::add_module(std::string name, Module& module, double bound, GradcheckFn f,
                              std::vector<Tensor> inputs) {
    module.to(f64);
    if (bound > 0) randomize_parameters(module, bound, cases.size() * 100);
    const std::string input_shapes = shapes_of(inputs);
    const std::vector<Tensor> params = module.parameters();
    std::int64_t values = 0;
    for (const Tensor& p : params) values += p.numel();
    inputs.insert(inputs.end(), params.begin(), params.end());
    add(std::move(name), std::move(f), std::move(inputs));
    if (!params.empty())
        cases.back().shapes = fmt::format("{}{}{} param{} ({} values)", input_shapes,
                                          input_shapes.empty() ? "" : " + ", params.size(),
                                          params.size() == 1 ? "" : "s", values);
}

Tensor grad_input(const Shape& shape, std::uint64_t seed, double lo, double hi) {
    return uniform(shape, lo, hi, {.dtype = f64, .seed = seed, .requires_grad = true});
}

std::vector<AttentionMaskCase> attention_mask_cases() {
    static const std::uint8_t real_values[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};           // [2,5]
    static const std::uint8_t real_queries[] = {1, 1, 1, 1, 0, 1};                      // [2,3]
    static const std::uint8_t pairs[] = {1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1};  // [3,5]
    const Tensor value_mask = mask(real_values, {2, 5});
    const Tensor query_mask = mask(real_queries, {2, 3});
    return {
        {"no mask", {}},
        {"value_mask", {.value_mask = value_mask}},
        {"query+value masks", {.query_mask = query_mask, .value_mask = value_mask}},
        {"causal", {.use_causal_mask = true}},
        {"causal+value_mask", {.value_mask = value_mask, .use_causal_mask = true}},
        {"attention_mask", {.attention_mask = mask(pairs, {3, 5})}},
    };
}

}  // namespace detail

std::vector<GradcheckCase> gradcheck_suite(const GradcheckOptions& options) {
    detail::SuiteBuilder suite{.options = options};
    detail::add_elementwise_cases(suite);
    detail::add_reduce_matmul_cases(suite);
    detail::add_shape_cases(suite);
    detail::add_nn_op_cases(suite);
    detail::add_basic_layer_cases(suite);
    detail::add_attention_cases(suite);
    detail::add_transformer_cases(suite);
    detail::add_gpt_cases(suite);
    return std::move(suite.cases);
}

}  // namespace tapegrad
