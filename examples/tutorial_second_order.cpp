// Tutorial step 10 (docs/tutorial.md): second derivatives. backward({.create_graph = true}) and
// grad() record the backward itself, so a gradient can be differentiated again: a Hessian-vector
// product (checked against finite differences of gradients, and for symmetry), a WGAN-GP gradient
// penalty trained for a few steps, and one MAML meta-step; gradgradcheck checks it all.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/layers/dense.hpp>
#include <tapegrad/layers/sequential.hpp>
#include <tapegrad/optim/adam.hpp>

using namespace tapegrad;

namespace {

// Σ_i ⟨a_i, b_i⟩ over lists of tensors, as a recorded scalar.
Tensor inner(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
    Tensor total = sum(mul(a[0], b[0]));
    for (std::size_t i = 1; i < a.size(); ++i) total = add(total, sum(mul(a[i], b[i])));
    return total;
}

std::vector<Tensor> random_like(const std::vector<Tensor>& ts, std::uint64_t seed) {
    std::vector<Tensor> out;
    for (const Tensor& t : ts) out.push_back(randn(t.shape(), {.dtype = f64, .seed = seed++}));
    return out;
}

// Adds step·v to every parameter, in place.
void shift(const std::vector<Tensor>& params, const std::vector<Tensor>& v, double step) {
    for (std::size_t i = 0; i < params.size(); ++i)
        for (std::int64_t k = 0; k < params[i].numel(); ++k)
            params[i].data<double>()[k] += step * v[i].data<double>()[k];
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
    double worst = 0;
    for (std::int64_t k = 0; k < a.numel(); ++k)
        worst = std::max(worst, std::abs(a.data<double>()[k] - b.data<double>()[k]));
    return worst;
}

void hessian_vector_products() {
    // [tutorial:hvp]
    Sequential model;
    model.add<Dense>(3, DenseOptions{.units = 8, .activation = Activation::tanh, .seed = 1});
    model.add<Dense>(8, DenseOptions{.units = 1, .seed = 2});
    model.to(f64);
    const Tensor x = randn({16, 3}, {.dtype = f64, .seed = 3});
    const Tensor y = randn({16, 1}, {.dtype = f64, .seed = 4});
    const std::vector<Tensor> params = model.parameters();
    const auto gradient = [&](bool create_graph) {
        return grad({mse_loss(model(x), y)}, params, {.create_graph = create_graph});
    };
    // H·v = ∂⟨∇L, v⟩/∂θ: differentiate the recorded gradient once more
    const auto hvp = [&](const std::vector<Tensor>& v) {
        return grad({inner(gradient(true), v)}, params);
    };
    const std::vector<Tensor> v = random_like(params, 10), w = random_like(params, 20);
    const std::vector<Tensor> hv = hvp(v);
    // against (∇L(θ + εv) − ∇L(θ − εv)) / 2ε
    const double eps = 1e-5;
    shift(params, v, eps);
    const std::vector<Tensor> plus = gradient(false);
    shift(params, v, -2 * eps);
    const std::vector<Tensor> minus = gradient(false);
    shift(params, v, eps);
    double worst = 0;
    for (std::size_t i = 0; i < params.size(); ++i)
        worst = std::max(worst, max_abs_difference(hv[i], (plus[i] - minus[i]) / (2 * eps)));
    fmt::print("Hv against finite differences of gradients: max error {:.0e}\n", worst);
    fmt::print("w·Hv = {:.10f}, v·Hw = {:.10f}\n", inner(hv, w).item(), inner(hvp(w), v).item());
    // [/tutorial:hvp]
}

void gradient_penalty() {
    // [tutorial:penalty]
    Sequential critic;
    critic.add<Dense>(2, DenseOptions{.units = 16, .activation = Activation::tanh, .seed = 5});
    critic.add<Dense>(16, DenseOptions{.units = 1, .seed = 6});
    critic.to(f64);
    const Tensor real = randn({64, 2}, {.dtype = f64, .seed = 7}) + 2.0;
    const Tensor fake = randn({64, 2}, {.dtype = f64, .seed = 8});
    const Tensor mix = uniform({64, 1}, 0, 1, {.dtype = f64, .seed = 9});
    // ‖∂D/∂x̂‖ per row, at points x̂ between real and fake samples, differentiable in D's weights
    const auto input_gradient_norm = [&] {
        const Tensor between = (real * mix + fake * (1.0 - mix)).detach().requires_grad(true);
        const Tensor dx = grad({sum(critic(between))}, {between}, {.create_graph = true})[0];
        return sqrt(sum(dx * dx, {-1}));
    };
    Adam optimizer(critic.parameters(), {.lr = 1e-2});
    for (int step = 0; step <= 100; ++step) {
        const Tensor norm = input_gradient_norm();
        const Tensor penalty = mean(pow(norm - 1.0, 2.0));
        const Tensor loss = mean(critic(fake)) - mean(critic(real)) + penalty * 10.0;
        if (step % 50 == 0)
            fmt::print("step {:>3}: critic loss {:+.3f}, mean ‖∂D/∂x‖ {:.3f}\n", step, loss.item(),
                       mean(norm).item());
        optimizer.zero_grad();
        loss.backward();  // through the penalty's recorded backward: second derivatives
        optimizer.step();
    }
    // [/tutorial:penalty]
}

void maml_step() {
    // [tutorial:maml]
    // Tasks y = a·x + c. The model, a line θ = (w, b), adapts to a task with one SGD step on
    // its train points; MAML moves θ so that the adapted line does well on the task's test points.
    const Tensor x_train = uniform({8, 1}, -1, 1, {.dtype = f64, .seed = 11});
    const Tensor x_test = uniform({8, 1}, -1, 1, {.dtype = f64, .seed = 12});
    const double tasks[][2] = {{2.0, -0.5}, {-1.5, 0.3}, {0.5, 1.0}};
    const std::vector<Tensor> theta{zeros({1, 1}, {.dtype = f64, .requires_grad = true}),
                                    zeros({1}, {.dtype = f64, .requires_grad = true})};
    const double inner_lr = 0.4;
    const auto meta_loss = [&] {
        Tensor total = zeros({}, {.dtype = f64});
        for (const auto& [a, c] : tasks) {
            const Tensor train_loss =
                mse_loss(linear(x_train, theta[0], theta[1]), x_train * a + c);
            const auto g = grad({train_loss}, theta, {.create_graph = true});
            const Tensor w = theta[0] - g[0] * inner_lr, b = theta[1] - g[1] * inner_lr;
            total = total + mse_loss(linear(x_test, w, b), x_test * a + c);
        }
        return total / 3.0;
    };
    const Tensor before = meta_loss();
    before.backward();  // the meta-gradient, through each task's inner step
    {
        NoGrad no_grad;
        for (const Tensor& p : theta) shift({p}, {p.grad()}, -0.5);
    }
    fmt::print("meta-loss {:.4f} -> {:.4f} after one MAML step\n", before.item(),
               meta_loss().item());
    // [/tutorial:maml]
}

}  // namespace

int main() {
    hessian_vector_products();
    gradient_penalty();
    maml_step();
}
