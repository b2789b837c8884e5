// InputReads: a node keeps an input whose values its backward never reads only as a link in the
// graph, so the activation's buffer is freed once the forward is done with it.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "core/random.hpp"
#include "support.hpp"

using namespace tapegrad;

namespace {

// An activation: the output of an op that reads its input, so not a leaf.
Tensor activation(const Tensor& x) { return x * 1.0; }

std::weak_ptr<Storage> buffer_of(const Tensor& t) { return t.impl_ptr()->storage; }

struct LinkCase {
    const char* name;
    std::function<Tensor(const std::vector<Tensor>&)> op;  // applied to activations of the inputs
    std::vector<Shape> shapes;
};

Tensor causal_mask() { return mask(std::vector<std::uint8_t>{1, 0, 0, 1, 1, 0, 1, 1, 1}, {3, 3}); }

// Every op that declares an input unread, with non-leaf inputs: a backward that read a link's
// values would throw, and a wrong gradient would fail the check.
std::vector<LinkCase> link_cases() {
    return {
        {"add", [](const auto& x) { return x[0] + x[1]; }, {{2, 3}, {3}}},
        {"sub", [](const auto& x) { return x[0] - x[1]; }, {{2, 3}, {2, 3}}},
        {"div",
         [](const auto& x) { return x[0] / add_scalar(x[1] * x[1], 1.0); },
         {{2, 3}, {2, 3}}},
        {"sum", [](const auto& x) { return sum(x[0], {1}); }, {{2, 3}}},
        {"mean", [](const auto& x) { return mean(x[0]); }, {{2, 3}}},
        {"permute",
         [](const auto& x) {
             return permute(x[0], {2, 0, 1});
         },
         {{2, 3, 4}}},
        {"slice", [](const auto& x) { return slice(x[0], 1, 1, 3); }, {{2, 4}}},
        {"split",
         [](const auto& x) {
             return split(x[0], {1, 3}, 1)[1];
         },
         {{2, 4}}},
        {"reshape",
         [](const auto& x) {
             return reshape(x[0], {3, 2});
         },
         {{2, 3}}},
        {"concat",
         [](const auto& x) {
             return concat({x[0], x[1]}, 0);
         },
         {{1, 3}, {2, 3}}},
        {"broadcast_to",
         [](const auto& x) {
             return broadcast_to(x[0], {2, 3});
         },
         {{1, 3}}},
        {"where",
         [](const auto& x) {
             return where(mask(std::vector<std::uint8_t>{1, 0, 1}, {3}), x[0], x[1]);
         },
         {{2, 3}, {2, 3}}},
        {"masked_fill",
         [](const auto& x) {
             return masked_fill(x[0], mask(std::vector<std::uint8_t>{0, 1}, {2, 1}), 5.0);
         },
         {{2, 3}}},
        {"dropout",
         [](const auto& x) {
             Generator gen(7);
             return dropout(x[0], 0.5, gen);
         },
         {{4, 5}}},
        {"softmax", [](const auto& x) { return softmax(x[0]); }, {{2, 3}}},
        {"log_softmax", [](const auto& x) { return log_softmax(x[0], 0); }, {{2, 3}}},
        {"masked_softmax",
         [](const auto& x) { return masked_softmax(x[0], causal_mask(), 0.5); },
         {{2, 3, 3}}},
        {"embedding",
         [](const auto& x) {
             return embedding(x[0], ids(std::vector<std::int32_t>{2, 0, 2}, {3}));
         },
         {{3, 2}}},
    };
}

}  // namespace

TEST_CASE("input reads: a residual add keeps no buffer of its operands, a product keeps its own") {
    Tensor x = randn({4, 8}, {.dtype = f64, .seed = 1, .requires_grad = true});
    Tensor a = activation(x), b = activation(x);
    const std::weak_ptr<Storage> a_buffer = buffer_of(a), b_buffer = buffer_of(b);
    const Tensor added = a + b;
    const Tensor product = activation(x) * b;
    a = Tensor(), b = Tensor();
    CHECK(a_buffer.expired());   // only add used it: freed before backward
    CHECK(!b_buffer.expired());  // mul's backward reads it
    sum(added + product).backward();
    // d/dx (x + x + x·x) = 2 + 2x
    for (std::int64_t i = 0; i < x.numel(); ++i)
        CHECK(x.grad().to_vector()[i] == doctest::Approx(2.0 + 2.0 * x.to_vector()[i]));
}

TEST_CASE("input reads: a leaf stays whole, its gradient accumulates on it") {
    Tensor w = randn({3}, {.dtype = f64, .seed = 2, .requires_grad = true});
    const std::weak_ptr<Storage> w_buffer = buffer_of(w);
    sum(w + w).backward();
    CHECK(!w_buffer.expired());
    test::check_close(w.grad(), {2, 2, 2}, {3});
}

TEST_CASE("input reads: every op that reads no input value passes gradcheck on activations") {
    for (const LinkCase& c : link_cases()) {
        CAPTURE(c.name);
        std::vector<Tensor> inputs;
        for (std::size_t i = 0; i < c.shapes.size(); ++i)
            inputs.push_back(uniform(c.shapes[i], -1.0, 1.0,
                                     {.dtype = f64, .seed = 10 + i, .requires_grad = true}));
        const GradcheckReport report = gradcheck(
            [&](const std::vector<Tensor>& xs) {
                std::vector<Tensor> activations;
                for (const Tensor& x : xs) activations.push_back(activation(x));
                return c.op(activations);
            },
            inputs);
        CHECK_MESSAGE(report.ok, report.message());
    }
}

TEST_CASE("input reads: a backward that reads a link's values gets a clear error, not a crash") {
    const Tensor x = randn({2}, {.dtype = f64, .seed = 3, .requires_grad = true});
    const Tensor y = record(
        "reads_anyway", {activation(x)}, zeros({2}, {.dtype = f64}), {},
        [](Backward& bw) { bw.accumulate(0, bw.input(0) * 2.0); }, {}, InputReads::none());
    try {
        sum(y).backward();
        FAIL("backward read a link's values without an error");
    } catch (const std::logic_error& e) {
        CHECK(std::string(e.what()).find("InputReads") != std::string::npos);
    }
}
