// Higher-order reverse mode: backward({.create_graph = true}), grad(), gradgradcheck, and the
// uses that need second derivatives (Hessian-vector products, a gradient penalty, MAML).
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "check/gradcheck_suite.hpp"
#include "optim/adam.hpp"
#include "support.hpp"

using namespace tapegrad;

namespace {

Tensor leaf(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
    return uniform(shape, lo, hi, {.dtype = f64, .seed = seed, .requires_grad = true});
}

double dot(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
    double total = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) total += sum(mul(a[i], b[i])).item();
    return total;
}

// y = x³ whose first derivative is right but whose create_graph backward drops the term of the
// second derivative that goes through x: gradcheck passes, gradgradcheck must not.
Tensor cube_with_wrong_second_derivative(const Tensor& x) {
    const Tensor y = (x * x * x).detach();
    return record("wrong_cube", {x}, y, {}, [](Backward& bw) {
        const Tensor& x = bw.input(0);
        const Tensor x2 = bw.create_graph() ? mul(x, x.detach()) : mul(x, x);  // the planted bug
        bw.accumulate(0, mul(bw.grad_out(), mul_scalar(x2, 3.0)));
    });
}

// y = x³ whose create_graph backward computes another function (2x²·dy where the ordinary one
// has 3x²·dy), consistently: its own second derivative matches it, so only a comparison with the
// ordinary backward can catch it.
Tensor cube_with_wrong_create_graph_form(const Tensor& x) {
    const Tensor y = (x * x * x).detach();
    return record("wrong_cube", {x}, y, {}, [](Backward& bw) {
        const Tensor& x = bw.input(0);
        const double factor = bw.create_graph() ? 2.0 : 3.0;  // the planted bug
        bw.accumulate(0, mul(bw.grad_out(), mul_scalar(mul(x, x), factor)));
    });
}

// A two-layer tanh network and its mean squared error, as a function of its parameters.
struct TinyMlp {
    Tensor x = uniform({6, 3}, -1, 1, {.dtype = f64, .seed = 1});
    Tensor y = uniform({6, 1}, -1, 1, {.dtype = f64, .seed = 2});
    std::vector<Tensor> params{leaf({3, 4}, 3), leaf({4}, 4), leaf({4, 1}, 5), leaf({1}, 6)};

    Tensor loss(const std::vector<Tensor>& p) const {
        return mse_loss(linear(tanh(linear(x, p[0], p[1])), p[2], p[3]), y);
    }
    std::vector<Tensor> gradient(const std::vector<Tensor>& p, bool create_graph) const {
        return grad({loss(p)}, p, {.create_graph = create_graph});
    }
    // H·v by double backward: the gradient of ⟨∇L, v⟩.
    std::vector<Tensor> hvp(const std::vector<Tensor>& v) const {
        const std::vector<Tensor> g = gradient(params, true);
        Tensor gv = sum(mul(g[0], v[0]));
        for (std::size_t i = 1; i < g.size(); ++i) gv = add(gv, sum(mul(g[i], v[i])));
        return grad({gv}, params);
    }
    std::vector<Tensor> direction(std::uint64_t seed) const {
        std::vector<Tensor> v;
        for (std::size_t i = 0; i < params.size(); ++i)
            v.push_back(uniform(params[i].shape(), -1, 1, {.dtype = f64, .seed = seed + i}));
        return v;
    }
};

}  // namespace

TEST_CASE("create_graph: the second derivative of x³ is 6x, through backward and grad") {
    const Tensor x = from({0.5, -1.0, 2.0}, {3}, {.dtype = f64, .requires_grad = true});
    sum(x * x * x).backward({.create_graph = true});
    const Tensor g = x.grad();
    REQUIRE(g.requires_grad());
    test::check_close(g, {0.75, 3.0, 12.0}, {3});
    const std::vector<Tensor> h = grad({sum(g)}, {x});
    test::check_close(h[0], {3.0, -6.0, 12.0}, {3});
    test::check_close(x.grad(), {0.75, 3.0, 12.0}, {3});  // grad() left .grad() alone
}

TEST_CASE("grad: leaves .grad() alone, gives zeros for an unused input, third derivatives") {
    const Tensor x = from({1.5}, {1}, {.dtype = f64, .requires_grad = true});
    const Tensor unused = from({2.0}, {1}, {.dtype = f64, .requires_grad = true});
    const Tensor y = sum(exp(mul_scalar(x, 2.0)));
    const auto d1 = grad({y}, {x, unused}, {.create_graph = true});
    CHECK(!x.grad().defined());
    test::check_close(d1[1], {0.0}, {1});
    const auto d2 = grad({sum(d1[0])}, {x}, {.create_graph = true});
    const auto d3 = grad({sum(d2[0])}, {x});
    test::check_close(d3[0], {8.0 * std::exp(3.0)}, {1}, 1e-9, 1e-9);
    test::check_throws_with<ValueError>([&] { grad({y}, {from({1.0}, {1})}); },
                                        {"does not require grad"});
}

TEST_CASE("gradgradcheck: catches a planted bug in a second derivative that gradcheck misses") {
    const Tensor x = leaf({2, 3}, 7, 0.5, 1.5);
    const GradcheckFn f = [](const std::vector<Tensor>& v) {
        return cube_with_wrong_second_derivative(v[0]);
    };
    CHECK(gradcheck(f, {x}).ok);
    const GradcheckReport bad = gradgradcheck(f, {x});
    INFO(bad.message());
    CHECK(!bad.ok);
    CHECK(bad.input == 0);
    const GradcheckFn right = [](const std::vector<Tensor>& v) { return v[0] * v[0] * v[0]; };
    CHECK(gradgradcheck(right, {x}).ok);
}

TEST_CASE("gradgradcheck: a create_graph backward that differs from the ordinary one fails") {
    const Tensor x = leaf({2, 3}, 8, 0.5, 1.5);
    const GradcheckFn f = [](const std::vector<Tensor>& v) {
        return cube_with_wrong_create_graph_form(v[0]);
    };
    CHECK(gradcheck(f, {x}).ok);  // the ordinary backward is right
    const GradcheckReport bad = gradgradcheck(f, {x});
    INFO(bad.message());
    CHECK(!bad.ok);
    CHECK(bad.analytic == doctest::Approx(bad.numeric * 2.0 / 3.0));
    CHECK(bad.message().find("create_graph backward's first derivative differs") !=
          std::string::npos);
}

TEST_CASE("gradcheck: an input whose gradients are all 0 is named, not passed silently") {
    const Tensor used = leaf({3}, 1), unused = leaf({2}, 2);
    const GradcheckFn f = [](const std::vector<Tensor>& v) { return mul_scalar(v[0], 2.0); };
    const GradcheckFn g = [](const std::vector<Tensor>& v) { return add(v[0], sum(v[1]) * 0.0); };
    const GradcheckReport r = gradcheck(f, {used, unused});
    CHECK(r.ok);
    REQUIRE(r.notes.size() == 1);
    CHECK(r.notes[0] == "input 1: every gradient is 0 — is the input used?");
    CHECK(r.message().find("input 1: every gradient is 0") != std::string::npos);
    CHECK(gradcheck(g, {used, unused}).notes.size() == 1);
    CHECK(gradcheck(f, {used}).notes.empty());
}

TEST_CASE("gradcheck fast mode: random directions pass right gradients and catch a wrong one") {
    const Tensor x = leaf({4, 5}, 3, 0.5, 1.5);
    const GradcheckOptions fast{.fast = true, .probes = 3};
    const GradcheckReport good =
        gradcheck([](const std::vector<Tensor>& v) { return tanh(v[0]) * v[0]; }, {x}, fast);
    CHECK_MESSAGE(good.ok, good.message());
    CHECK(good.probes);
    CHECK(good.checked == 3);
    const GradcheckReport bad = gradcheck(
        [](const std::vector<Tensor>& v) { return cube_with_wrong_second_derivative(v[0]); }, {x},
        fast);
    CHECK(bad.ok);  // the first derivative is right
    const GradcheckReport bad2 = gradgradcheck(
        [](const std::vector<Tensor>& v) { return cube_with_wrong_second_derivative(v[0]); }, {x},
        fast);
    CHECK_MESSAGE(!bad2.ok, bad2.message());
    CHECK(bad2.message().find("probe") != std::string::npos);
}

TEST_CASE("Hessian-vector product of a small MLP equals finite differences of its gradient") {
    TinyMlp mlp;
    const std::vector<Tensor> v = mlp.direction(20);
    const std::vector<Tensor> hv = mlp.hvp(v);
    const double eps = 1e-5;
    std::vector<Tensor> plus, minus;
    for (std::size_t i = 0; i < v.size(); ++i) {
        NoGrad no_grad;
        plus.push_back((mlp.params[i] + v[i] * eps).detach().requires_grad(true));
        minus.push_back((mlp.params[i] - v[i] * eps).detach().requires_grad(true));
    }
    const auto gp = mlp.gradient(plus, false), gm = mlp.gradient(minus, false);
    for (std::size_t i = 0; i < v.size(); ++i) {
        const Tensor numeric = (gp[i] - gm[i]) / (2 * eps);
        test::check_close(hv[i], numeric, 1e-7, 1e-5);
    }
}

TEST_CASE("the Hessian is symmetric: Hv·w = Hw·v") {
    TinyMlp mlp;
    const std::vector<Tensor> v = mlp.direction(30), w = mlp.direction(40);
    const double hv_w = dot(mlp.hvp(v), w), hw_v = dot(mlp.hvp(w), v);
    CHECK(std::abs(hv_w) > 1e-3);
    CHECK(hv_w == doctest::Approx(hw_v).epsilon(1e-10));
}

namespace {

// WGAN-GP's critic loss: mean D(fake) − mean D(real) + λ·mean (‖∂D/∂x̂‖ − 1)² at points x̂ between
// real and fake samples. The penalty differentiates D's input gradient by D's parameters.
struct Critic {
    std::vector<Tensor> params{leaf({2, 8}, 11), leaf({8}, 12), leaf({8, 1}, 13), leaf({1}, 14)};
    Tensor real = uniform({16, 2}, 0.5, 1.5, {.dtype = f64, .seed = 15});
    Tensor fake = uniform({16, 2}, -1.5, -0.5, {.dtype = f64, .seed = 16});
    Tensor mix = uniform({16, 1}, 0, 1, {.dtype = f64, .seed = 17});

    Tensor score(const Tensor& x, const std::vector<Tensor>& p) const {
        return linear(tanh(linear(x, p[0], p[1])), p[2], p[3]);
    }
    // The mean of (‖∂D/∂x̂‖ − 1)² over the rows, differentiable in the parameters.
    Tensor penalty(const std::vector<Tensor>& p) const {
        EnableGrad recording;  // gradcheck evaluates without recording; the penalty needs a tape
        const Tensor between = (real * mix + fake * (1.0 - mix)).detach().requires_grad(true);
        const Tensor dx = grad({sum(score(between, p))}, {between}, {.create_graph = true})[0];
        const Tensor norm = sqrt(sum(dx * dx, {-1}));
        return mean(pow(norm - 1.0, 2.0));
    }
    Tensor loss(const std::vector<Tensor>& p) const {
        return mean(score(fake, p)) - mean(score(real, p)) + penalty(p) * 10.0;
    }
};

}  // namespace

TEST_CASE("gradient penalty (WGAN-GP): its parameter gradient is right and training lowers it") {
    Critic critic;
    const GradcheckReport r =
        gradcheck([&](const std::vector<Tensor>& p) { return critic.loss(p); }, critic.params);
    CHECK_MESSAGE(r.ok, r.message());
    Adam opt(critic.params, {.lr = 0.02});
    const double start = critic.loss(critic.params).item();
    for (int step = 0; step < 20; ++step) {
        opt.zero_grad();
        critic.loss(critic.params).backward();
        opt.step();
    }
    const double end = critic.loss(critic.params).item();
    CHECK(end < start);
}

TEST_CASE("MAML: one meta-step through an inner SGD step matches central differences") {
    // Tasks y = a·x + c; the model is a line, adapted by one SGD step on a task's train points
    // and judged on its test points. The meta-gradient flows through the inner step.
    const Tensor x_train = uniform({5, 1}, -1, 1, {.dtype = f64, .seed = 21});
    const Tensor x_test = uniform({5, 1}, -1, 1, {.dtype = f64, .seed = 22});
    const double tasks[][2] = {{2.0, -0.5}, {-1.0, 0.3}, {0.5, 1.0}};
    const auto meta_loss = [&](const std::vector<Tensor>& p) {
        EnableGrad recording;
        Tensor total = zeros({}, {.dtype = f64});
        for (const auto& [a, c] : tasks) {
            const auto line = [&](const Tensor& x, const Tensor& w, const Tensor& b) {
                return linear(x, w, b);
            };
            const Tensor inner = mse_loss(line(x_train, p[0], p[1]), x_train * a + c);
            const auto g = grad({inner}, p, {.create_graph = true});
            const Tensor w = p[0] - g[0] * 0.3, b = p[1] - g[1] * 0.3;
            total = total + mse_loss(line(x_test, w, b), x_test * a + c);
        }
        return total / 3.0;
    };
    const std::vector<Tensor> theta{leaf({1, 1}, 23), leaf({1}, 24)};
    const GradcheckReport r = gradcheck(meta_loss, theta);
    CHECK_MESSAGE(r.ok, r.message());
    const double before = meta_loss(theta).item();
    const auto meta_grad = grad({meta_loss(theta)}, theta);
    {
        NoGrad no_grad;
        for (std::size_t i = 0; i < theta.size(); ++i)
            theta[i].data<double>()[0] -= 0.1 * meta_grad[i].data<double>()[0];
    }
    CHECK(meta_loss(theta).item() < before);
}

TEST_CASE("gradgradcheck suite: the second derivatives of every op and layer pass in float64") {
    const std::vector<GradcheckCase> suite = gradcheck_suite();
    for (const GradcheckCase& c : suite) {
        const GradcheckReport r = c.run_order2();
        CHECK_MESSAGE(r.ok, c.name, " ", c.shapes, ": ", r.message());
    }
}

TEST_CASE("create_graph: softmax of an activation keeps its scores as a link, second derivatives stay right") {
    const Tensor x = uniform({2, 3, 3}, -1, 1, {.dtype = f64, .seed = 41, .requires_grad = true});
    const Tensor causal = mask(std::vector<std::uint8_t>{1, 0, 0, 1, 1, 0, 1, 1, 1}, {3, 3});
    // x·x is an activation: each softmax keeps it only as a link, and its create_graph backward
    // differentiates through the node's own output instead.
    const std::vector<GradcheckFn> fs = {
        [](const std::vector<Tensor>& v) { return softmax(v[0] * v[0]); },
        [](const std::vector<Tensor>& v) { return log_softmax(v[0] * v[0], 1); },
        [&](const std::vector<Tensor>& v) { return masked_softmax(v[0] * v[0], causal, 0.7); },
    };
    for (std::size_t i = 0; i < fs.size(); ++i) {
        CAPTURE(i);
        const GradcheckReport report = gradgradcheck(fs[i], {x});
        CHECK_MESSAGE(report.ok, report.message());
    }
}
