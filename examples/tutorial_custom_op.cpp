// Tutorial step 11 (docs/tutorial.md): your own op. A Function holds its forward, its backward
// and any state; apply() records it like a built-in op, so gradcheck and gradgradcheck check it,
// and when a gradient is wrong, the fault locator names the node.
#include <fmt/format.h>

#include <tapegrad/autograd/function.hpp>
#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/autograd/ops.hpp>

using namespace tapegrad;

// [tutorial:function]
// softplus(x) = log(1 + e^{βx}) / β, a smooth ReLU; its slope is sigmoid(βx). β is the op's state,
// and so is a count of the backward passes it ran.
struct Softplus : Function {
    double beta;
    int backward_calls = 0;
    bool typo = false;  // the planted mistake below: sigmoid(x) instead of sigmoid(βx)
    explicit Softplus(double b) : beta(b) {}

    Tensor forward(const std::vector<Tensor>& x) override {
        return log(exp(x[0] * beta) + 1.0) / beta;
    }
    // Written with tapegrad's ops, so it is differentiable again (gradgradcheck, create_graph)
    std::vector<Tensor> backward(const std::vector<Tensor>& x, const Tensor& dy) override {
        ++backward_calls;
        return {dy * sigmoid(typo ? x[0] : x[0] * beta)};
    }
};
// [/tutorial:function]

int main() {
    // [tutorial:check_function]
    auto softplus = std::make_shared<Softplus>(2.0);
    const Tensor x = uniform({3, 4}, -2, 2, {.dtype = f64, .seed = 1, .requires_grad = true});
    const Tensor w = uniform({4, 2}, -1, 1, {.dtype = f64, .seed = 2, .requires_grad = true});
    // a small network around it: softplus(x) · w, then tanh
    const GradcheckFn f = [&](const std::vector<Tensor>& in) {
        return tanh(matmul(apply("softplus", softplus, {in[0]}), in[1]));
    };
    fmt::print("gradcheck: {}\n", gradcheck(f, {x, w}).ok ? "ok" : "FAILED");
    fmt::print("gradgradcheck: {}\n", gradgradcheck(f, {x, w}).ok ? "ok" : "FAILED");
    fmt::print("backward ran {} times\n", softplus->backward_calls);
    softplus->typo = true;
    const GradcheckReport r = gradcheck(f, {x, w}, {.locate = true});
    fmt::print("with the typo: {}\n", r.ok ? "ok" : "FAILED");
    if (r.located)
        fmt::print("located: node #{} '{}', inputs {}\n", r.located->position, r.located->op,
                   fmt::format("{}", r.located->input_shapes[0]));
    // [/tutorial:check_function]
}
