// The fault locator (gradcheck {.locate = true}), fast mode on a whole model, and user ops
// (autograd/function.hpp) with state.
#include <doctest/doctest.h>

#include "autograd/function.hpp"
#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "check/gradcheck_module.hpp"
#include "layers/gpt.hpp"
#include "support.hpp"

using namespace tapegrad;

namespace {

// Swaps the backward of every node named `op` recorded inside layer `layer` for one that halves
// the gradient: a wrong backward planted deep inside a model, as a test hook.
struct PlantWrongBackward : detail::RecordHook {
    std::string op, layer;
    std::size_t planted = 0;
    void on_record(std::size_t, detail::Node& node, Tensor&, const std::string& scope) override {
        if (node.op != op || scope != layer) return;
        node.fn = [](Backward& bw) { bw.accumulate(0, mul_scalar(bw.grad_out(), 0.5)); };
        ++planted;
    }
};

struct TinyGptCheck {
    Gpt model{GptConfig{
        .vocab_size = 7, .n_positions = 4, .n_embd = 4, .n_layer = 2, .n_head = 2, .seed = 2}};
    Tensor x, y;
    TinyGptCheck() {
        randomize_parameters(model, 0.6, 100);
        model.eval();
        static const std::int32_t tokens[] = {1, 3, 0, 6, 2, 2};
        static const std::int32_t next[] = {3, 0, 6, 2, 2, 5};
        x = ids(tokens, {2, 3});
        y = ids(next, {2, 3});
    }
    GradcheckFn loss() {
        return [this](const std::vector<Tensor>&) { return model.loss(x, y); };
    }
};

}  // namespace

TEST_CASE("locate: a wrong backward planted in the second block's GELU is named with its layer") {
    TinyGptCheck gpt;
    PlantWrongBackward plant;
    plant.op = "gelu";
    plant.layer = "h.1.mlp";
    const detail::ScopedRecordHook planting(plant);
    const GradcheckReport r =
        gradcheck(gpt.loss(), gpt.model.parameters(), {.max_elements = 8, .locate = true});
    CHECK(plant.planted > 0);
    CHECK(!r.ok);
    REQUIRE(r.located.has_value());
    CHECK(r.located->op == "gelu");
    CHECK(r.located->layer == "h.1.mlp");
    CHECK(r.located->input_shapes.size() == 1);
    CHECK(r.message().find("first wrong node") != std::string::npos);
    INFO(r.located->message());
    // fast mode: a few random directions over every parameter catch it too
    const GradcheckReport fast =
        gradcheck(gpt.loss(), gpt.model.parameters(), {.fast = true, .probes = 3});
    CHECK_MESSAGE(!fast.ok, fast.message());
}

TEST_CASE("locate: nothing to report when every backward is right, and fast mode passes") {
    TinyGptCheck gpt;
    CHECK(!locate_wrong_node(gpt.loss(), gpt.model.parameters(), {.locate_elements = 2}));
    const GradcheckReport fast =
        gradcheck(gpt.loss(), gpt.model.parameters(), {.fast = true, .probes = 3});
    CHECK_MESSAGE(fast.ok, fast.message());
}

namespace {

// softplus(x) = log(1 + e^{βx}) / β with β held by the op, counting its backward calls.
struct Softplus : Function {
    double beta;
    int backward_calls = 0;
    explicit Softplus(double b) : beta(b) {}
    Tensor forward(const std::vector<Tensor>& x) override {
        return log(exp(x[0] * beta) + 1.0) / beta;
    }
    std::vector<Tensor> backward(const std::vector<Tensor>& x, const Tensor& dy) override {
        ++backward_calls;
        const Tensor slope = sigmoid(x[0] * beta);
        return {dy * slope};
    }
};

}  // namespace

TEST_CASE("Function: a user op with state passes gradcheck and gradgradcheck") {
    const Tensor x = uniform({3, 4}, -2, 2, {.dtype = f64, .seed = 5, .requires_grad = true});
    auto op = std::make_shared<Softplus>(1.7);
    const GradcheckFn f = [op](const std::vector<Tensor>& v) {
        return apply("softplus", op, {v[0]}) * v[0];
    };
    CHECK(gradcheck(f, {x}).ok);
    CHECK(op->backward_calls > 0);
    const GradcheckReport second = gradgradcheck(f, {x});
    CHECK_MESSAGE(second.ok, second.message());
    const Tensor y = apply("softplus", op, {x});
    REQUIRE(y.grad_fn());
    CHECK(std::string(y.grad_fn()->op) == "softplus");
}

TEST_CASE("Function: two capturing lambdas, and the locator finds a planted mistake") {
    const Tensor x = uniform({5}, 0.5, 2, {.dtype = f64, .seed = 6, .requires_grad = true});
    double scale = 3.0;  // captured
    const auto cube = [&scale](const std::vector<Tensor>& v, bool wrong) {
        return custom_op(
            "scaled_cube", {v[0]},
            [&scale](const std::vector<Tensor>& in) { return in[0] * in[0] * in[0] * scale; },
            [&scale, wrong](const std::vector<Tensor>& in, const Tensor& dy) {
                return std::vector<Tensor>{dy * in[0] * in[0] * (wrong ? scale : 3 * scale)};
            });
    };
    const GradcheckFn right = [&](const std::vector<Tensor>& v) { return tanh(cube(v, false)); };
    const GradcheckFn wrong = [&](const std::vector<Tensor>& v) {
        return tanh(cube(v, true)) * v[0];
    };
    CHECK(gradcheck(right, {x}).ok);
    CHECK(gradgradcheck(right, {x}).ok);
    const GradcheckReport r = gradcheck(wrong, {x}, {.locate = true});
    CHECK(!r.ok);
    REQUIRE(r.located.has_value());
    CHECK(r.located->op == "scaled_cube");
    CHECK(r.located->position == 0);
    test::check_throws_with<ValueError>(
        [&] {
            custom_op(
                "two_for_one", {x}, [](const std::vector<Tensor>& in) { return in[0]; },
                [](const std::vector<Tensor>&, const Tensor& dy) {
                    return std::vector<Tensor>{dy, dy};
                })
                .backward(ones({5}, {.dtype = f64}));
        },
        {"two_for_one", "2 gradients for 1 inputs"});
}
