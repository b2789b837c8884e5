// Helpers shared by the tests: gradient checks as doctest assertions, value comparisons, fixtures.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "autograd/gradcheck.hpp"
#include "core/format.hpp"
#include "core/tensor.hpp"
#include "layers/module.hpp"

namespace tapegrad::test {

// 0, 1, 2, ... laid out in `shape`.
inline Tensor iota(const Shape& shape, DType dtype = f64) {
    return arange(shape.numel(), {.dtype = dtype}).view_as_shape(shape);
}

// Runs gradcheck and fails the current test with the report's message when it does not pass.
inline void check_gradients(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                            const GradcheckOptions& options = {}) {
    const GradcheckReport report = gradcheck(f, inputs, options);
    INFO(report.message());
    CHECK(report.ok);
}

inline void check_gradients(Tensor (*f)(const Tensor&), const std::vector<Tensor>& inputs,
                            const GradcheckOptions& options = {}) {
    check_gradients([f](const std::vector<Tensor>& xs) { return f(xs[0]); }, inputs, options);
}

inline void check_gradients(Tensor (*f)(const Tensor&, const Tensor&),
                            const std::vector<Tensor>& inputs,
                            const GradcheckOptions& options = {}) {
    check_gradients([f](const std::vector<Tensor>& xs) { return f(xs[0], xs[1]); }, inputs,
                    options);
}

// Every element of `actual` within atol + rtol·|expected| of `expected`, and the shapes equal.
inline void check_close(const Tensor& actual, const std::vector<double>& expected,
                        const Shape& shape, double atol = 1e-6, double rtol = 1e-6) {
    REQUIRE(fmt::format("{}", actual.shape()) == fmt::format("{}", shape));
    const std::vector<double> got = actual.to_vector();
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("element ", i, ": got ", got[i], ", expected ", expected[i]);
        CHECK(std::abs(got[i] - expected[i]) <= atol + rtol * std::abs(expected[i]));
    }
}

inline void check_close(const Tensor& actual, const Tensor& expected, double atol = 1e-6,
                        double rtol = 1e-6) {
    check_close(actual, expected.to_vector(), expected.shape(), atol, rtol);
}

// Runs `fn` and checks it throws E whose message contains every one of `parts`.
template <class E, class Fn>
void check_throws_with(Fn&& fn, const std::vector<std::string>& parts) {
    try {
        fn();
        FAIL("expected an exception");
    } catch (const E& e) {
        const std::string what = e.what();
        for (const auto& part : parts) {
            INFO("message: ", what, "\nexpected to contain: ", part);
            CHECK(what.find(part) != std::string::npos);
        }
    }
}

inline std::filesystem::path source_dir() { return TAPEGRAD_SOURCE_DIR; }

// A fresh empty directory for one test case, unique to this process.
inline std::filesystem::path scratch_dir(std::string_view name) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / fmt::format("tapegrad_{}_{}", name, ::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

// Moves `module` to float64 and loads uniform(-bound, bound) values into every parameter, seeds
// first_seed, first_seed + 1, ... in registration order, so biases are non-zero and every term
// of a gradient is exercised.
inline void randomize_parameters(Module& module, double bound, std::uint64_t first_seed) {
    module.to(f64);
    StateDict state;
    std::uint64_t seed = first_seed;
    for (const auto& [name, p] : module.named_parameters())
        state[name] = uniform(p.shape(), -bound, bound, {.dtype = f64, .seed = seed++});
    module.load_state_dict(state);
}

}  // namespace tapegrad::test
