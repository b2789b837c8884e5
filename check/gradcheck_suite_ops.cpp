// The suite's cases for the elementwise, reduction, matrix-product and shape ops.
#include <fmt/format.h>

#include "autograd/ops.hpp"
#include "check/gradcheck_suite_cases.hpp"

namespace tapegrad::detail {
namespace {

using Unary = Tensor (*)(const Tensor&);
using Binary = Tensor (*)(const Tensor&, const Tensor&);
using Axes = std::vector<std::int64_t>;

GradcheckFn of_one(Unary f) {
    return [f](const std::vector<Tensor>& x) { return f(x[0]); };
}

GradcheckFn of_two(Binary f) {
    return [f](const std::vector<Tensor>& x) { return f(x[0], x[1]); };
}

}  // namespace

void add_elementwise_cases(SuiteBuilder& suite) {
    struct UnaryRow {
        const char* name;
        Unary fn;
        double lo, hi;  // inside the domain, away from kinks
    };
    const UnaryRow unary_rows[] = {
        {"neg", neg, -2, 2},    {"exp", exp, -2, 2},        {"log", log, 0.1, 3},
        {"sqrt", sqrt, 0.1, 3}, {"tanh", tanh, -2, 2},      {"sigmoid", sigmoid, -4, 4},
        {"gelu", gelu, -3, 3},  {"relu x>0", relu, 0.1, 2}, {"relu x<0", relu, -2, -0.1},
    };
    for (const UnaryRow& r : unary_rows)
        suite.add(fmt::format("unary/{}", r.name), of_one(r.fn),
                  {grad_input({3, 4}, 7, r.lo, r.hi)});
    const Tensor positive = grad_input({5}, 3, 0.5, 2);
    suite.add("unary/pow x^2.5", [](const std::vector<Tensor>& x) { return pow(x[0], 2.5); },
              {positive});
    suite.add("unary/add_scalar, mul_scalar",
              [](const std::vector<Tensor>& x) { return add_scalar(mul_scalar(x[0], -1.5), 0.25); },
              {positive});
    suite.add(
        "unary/scalar operators",
        [](const std::vector<Tensor>& x) { return 1.0 - (2.0 * x[0] + 1.0) / 4.0 * 3.0 - x[0]; },
        {positive});

    const std::pair<const char*, Binary> binary_ops[] = {
        {"add", add}, {"sub", sub}, {"mul", mul}, {"div", div}, {"pow", pow}};
    const Shape pairs[][2] = {{{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{4, 1, 3}, {2, 1}}, {{}, {2, 2}}};
    for (const auto& [name, fn] : binary_ops)
        for (const auto& pair : pairs)  // positive operands: pow differentiates by its base's log
            suite.add(fmt::format("binary/{}", name), of_two(fn),
                      {grad_input(pair[0], 1, 0.5, 2), grad_input(pair[1], 2, 0.5, 2)});
}

void add_reduce_matmul_cases(SuiteBuilder& suite) {
    using Reduce = Tensor (*)(const Tensor&, const Axes&, bool);
    const std::pair<const char*, Reduce> reductions[] = {
        {"sum", sum}, {"mean", mean}, {"max", max}};
    const Axes axis_sets[] = {{}, {0}, {-1}, {1}, {0, 2}, {-1, -3}, {0, 1, 2}};
    for (const auto& [name, fn] : reductions)
        for (const Axes& axes : axis_sets)
            for (const bool keepdims : {false, true})
                suite.add(fmt::format("reduce/{} axes [{}]{}", name, fmt::join(axes, ","),
                                      keepdims ? " keepdims" : ""),
                          [fn, axes, keepdims](const std::vector<Tensor>& x) {
                              return fn(x[0], axes, keepdims);
                          },
                          {grad_input({2, 3, 4}, 31)});

    for (const bool ta : {false, true}) {
        for (const bool tb : {false, true}) {
            const std::string flags = fmt::format("{}{}", ta ? "T" : "N", tb ? "T" : "N");
            const GradcheckFn f = [ta, tb](const std::vector<Tensor>& x) {
                return matmul(x[0], x[1], ta, tb);
            };
            suite.add("matmul/matmul " + flags, f,
                      {grad_input(ta ? Shape{4, 3} : Shape{3, 4}, 41),
                       grad_input(tb ? Shape{2, 4} : Shape{4, 2}, 42)});
            suite.add("matmul/matmul " + flags + " batch broadcast", f,
                      {grad_input(ta ? Shape{2, 1, 4, 3} : Shape{2, 1, 3, 4}, 43),
                       grad_input(tb ? Shape{5, 2, 4} : Shape{5, 4, 2}, 44)});
        }
    }
    suite.add("matmul/matmul batched @ matrix",
              [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); },
              {grad_input({2, 3, 4}, 45), grad_input({4, 2}, 46)});
    suite.add("matmul/matmul matrix @ batched, TT",
              [](const std::vector<Tensor>& x) { return matmul(x[0], x[1], true, true); },
              {grad_input({4, 2}, 46), grad_input({2, 3, 4}, 45)});
    // causal products: one block (5), several with a ragged last one (40 -> blocks of 16), and
    // more queries than keys and the reverse
    const std::int64_t causal_sizes[][2] = {{5, 5}, {40, 40}, {37, 21}, {21, 37}};
    for (const auto& [tq, tk] : causal_sizes) {
        suite.add(fmt::format("causal_matmul/causal_scores Tq {} Tk {}", tq, tk),
                  of_two(causal_scores), {grad_input({2, tq, 3}, 47), grad_input({2, tk, 3}, 48)});
        suite.add(fmt::format("causal_matmul/causal_mix Tq {} Tk {}", tq, tk), of_two(causal_mix),
                  {grad_input({2, tq, tk}, 49), grad_input({2, tk, 3}, 50)});
    }
    suite.add("matmul/linear with bias",
              [](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); },
              {grad_input({2, 3, 4}, 51), grad_input({4, 5}, 52), grad_input({5}, 53)});
    suite.add("matmul/linear without bias",
              [](const std::vector<Tensor>& x) { return linear(x[0], x[1]); },
              {grad_input({2, 3, 4}, 51), grad_input({4, 5}, 52)});
}

void add_shape_cases(SuiteBuilder& suite) {
    const auto x = [] { return grad_input({2, 3, 4}, 11); };
    const auto y = [] { return grad_input({2, 3, 4}, 12); };
    suite.add("shape/reshape",
              [](const std::vector<Tensor>& v) {
                  return reshape(v[0], {4, -1}) * reshape(v[1], {4, 6});
              },
              {x(), y()});
    suite.add("shape/reshape_to",
              [](const std::vector<Tensor>& v) {
                  return reshape_to(v[0], {6, 4});
              },
              {x()});
    suite.add("shape/transpose",
              [](const std::vector<Tensor>& v) { return transpose(v[0], 0, -1); }, {x()});
    suite.add("shape/permute",
              [](const std::vector<Tensor>& v) {
                  return permute(v[0], {-1, 0, 1});
              },
              {x()});
    suite.add("shape/slice", [](const std::vector<Tensor>& v) { return slice(v[0], -1, -3, 3); },
              {x()});
    suite.add(
        "shape/slice of two inputs",
        [](const std::vector<Tensor>& v) { return slice(v[0], 1, 1, 100) * slice(v[1], 1, 0, 2); },
        {x(), y()});
    suite.add("shape/concat",
              [](const std::vector<Tensor>& v) {
                  return concat({v[0], v[1], v[0]}, -2);
              },
              {x(), grad_input({2, 1, 4}, 13)});
    suite.add("shape/split",
              [](const std::vector<Tensor>& v) {
                  const auto p = split(v[0], {2, 1, 1}, -1);  // [2,3,2], [2,3,1], [2,3,1]
                  return p[0] * p[1] + p[2] * 3.0;
              },
              {x()});
    suite.add("shape/broadcast_to",
              [](const std::vector<Tensor>& v) {
                  return broadcast_to(v[0], {2, 3, 4});
              },
              {grad_input({3, 1}, 14)});
    static const std::uint8_t bits[] = {1, 0, 0, 1, 1, 0};
    const Tensor cond = mask(bits, {2, 1, 3});
    suite.add("shape/where",
              [cond](const std::vector<Tensor>& v) { return where(cond, v[0], v[1]); },
              {grad_input({4, 3}, 21), grad_input({2, 1, 1}, 22)});
    suite.add("shape/masked_fill",
              [cond](const std::vector<Tensor>& v) { return masked_fill(v[0], cond, 0.25); },
              {grad_input({2, 4, 3}, 23)});
}

}  // namespace tapegrad::detail
