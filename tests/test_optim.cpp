#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "autograd/ops.hpp"
#include "optim/adagrad.hpp"
#include "optim/adam.hpp"
#include "optim/clip.hpp"
#include "optim/rmsprop.hpp"
#include "optim/schedule.hpp"
#include "optim/sgd.hpp"
#include "support.hpp"

using namespace tapegrad;
using nlohmann::json;

namespace {

json read_fixture(const std::string& file) {
    const auto path = test::source_dir() / "tests" / "fixtures" / "optim" / file;
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "missing ", path.string(),
                    ": run tests/fixtures/make_optim_fixtures.py");
    return json::parse(in);
}

// Sets each field whose key the fixture's options have:
// override_from(o, "lr", options.lr, "eps", options.eps, ...); other fields keep their values.
void override_from(const json&) {}

template <class T, class... Rest>
void override_from(const json& o, const char* key, T& field, Rest&... rest) {
    field = o.value(key, field);
    override_from(o, rest...);
}

// Our options start from our defaults; a key the fixture sets (torch's name) overrides it, so the
// "defaults" cases check that our defaults are torch's.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const json& o,
                                          std::vector<ParamGroup> groups) {
    if (name == "SGD") {
        SGDOptions s;
        override_from(o, "lr", s.lr, "momentum", s.momentum, "dampening", s.dampening, "nesterov",
                      s.nesterov, "weight_decay", s.weight_decay);
        return std::make_unique<SGD>(std::move(groups), s);
    }
    if (name == "Adam" || name == "AdamW") {
        AdamOptions a;
        const auto betas = o.value("betas", std::vector<double>{a.beta1, a.beta2});
        a.beta1 = betas[0];
        a.beta2 = betas[1];
        override_from(o, "lr", a.lr, "eps", a.eps, "amsgrad", a.amsgrad);
        if (o.contains("weight_decay")) a.weight_decay = o["weight_decay"].get<double>();
        if (name == "Adam") return std::make_unique<Adam>(std::move(groups), a);
        return std::make_unique<AdamW>(std::move(groups), a);
    }
    if (name == "RMSprop") {
        RMSpropOptions r;
        override_from(o, "lr", r.lr, "alpha", r.alpha, "eps", r.eps, "weight_decay", r.weight_decay,
                      "momentum", r.momentum, "centered", r.centered);
        return std::make_unique<RMSprop>(std::move(groups), r);
    }
    REQUIRE(name == "Adagrad");
    AdagradOptions g;
    override_from(o, "lr", g.lr, "lr_decay", g.lr_decay, "weight_decay", g.weight_decay,
                  "initial_accumulator_value", g.initial_accumulator_value, "eps", g.eps);
    return std::make_unique<Adagrad>(std::move(groups), g);
}

std::vector<ParamGroup> fixture_groups(const json& c, const std::vector<Tensor>& params) {
    std::vector<ParamGroup> groups;
    for (const json& g : c["groups"]) {
        ParamGroup group;
        for (const json& i : g["params"]) group.params.push_back(params[i.get<std::size_t>()]);
        if (g.contains("lr")) group.lr = g["lr"].get<double>();
        if (g.contains("weight_decay")) group.weight_decay = g["weight_decay"].get<double>();
        groups.push_back(std::move(group));
    }
    return groups;
}

Shape shape_of(const json& dims) { return Shape(dims.get<std::vector<std::int64_t>>()); }

// Feeds a fixture's gradients (null = no gradient that step) and checks every step's parameters.
void replay(const std::string& file, DType dtype, double tol) {
    const json doc = read_fixture(file);
    for (const json& c : doc["cases"]) {
        INFO(doc["optimizer"].get<std::string>(), " case ", c["name"].get<std::string>(), " in ",
             dtype_name(dtype));
        std::vector<Tensor> params;
        for (std::size_t k = 0; k < c["params"].size(); ++k)
            params.push_back(from(c["params"][k].get<std::vector<double>>(),
                                  shape_of(c["shapes"][k]),
                                  {.dtype = dtype, .requires_grad = true}));
        auto opt = make_optimizer(doc["optimizer"].get<std::string>(), c["options"],
                                  fixture_groups(c, params));
        for (std::size_t s = 0; s < c["grads"].size(); ++s) {
            INFO("step ", s + 1);
            for (std::size_t k = 0; k < params.size(); ++k) {
                const json& g = c["grads"][s][k];
                params[k].set_grad(g.is_null() ? Tensor()
                                               : from(g.get<std::vector<double>>(),
                                                      params[k].shape(), {.dtype = dtype}));
            }
            opt->step();
            for (std::size_t k = 0; k < params.size(); ++k)
                test::check_close(params[k], c["trajectory"][s][k].get<std::vector<double>>(),
                                  params[k].shape(), tol, tol);
        }
    }
}

const char* const fixture_files[] = {"sgd.json", "adam.json", "adamw.json", "rmsprop.json",
                                     "adagrad.json"};

// The gradient of step s for a parameter of n elements, the same in every run.
Tensor fixed_grad(std::int64_t n, int s) {
    std::vector<double> g(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < g.size(); ++i)
        g[i] = std::sin(0.9 * static_cast<double>(i) + 1.7 * s);
    return from(g, {n}, {.dtype = f64});
}

// Optimizers for the convergence and round-trip tests, as torch names and options.
struct Row {
    const char* name;
    const char* options;
    std::unique_ptr<Optimizer> make(std::vector<Tensor> params) const {
        return make_optimizer(name, json::parse(options), one_group(std::move(params)));
    }
};

const Row optimizers[] = {
    {"SGD", R"({"lr": 0.05, "momentum": 0.9})"},
    {"SGD", R"({"lr": 0.05, "momentum": 0.9, "nesterov": true})"},
    {"Adam", R"({"lr": 0.05, "weight_decay": 1e-4, "amsgrad": true})"},
    {"AdamW", R"({"lr": 0.05, "weight_decay": 1e-4})"},
    {"RMSprop", R"({"lr": 0.01, "momentum": 0.5, "centered": true})"},
    {"Adagrad", R"({"lr": 0.5, "lr_decay": 1e-3})"},
};

}  // namespace

TEST_CASE("optimizers: float64 trajectories match torch.optim to 1e-10") {
    for (const char* file : fixture_files) replay(file, f64, 1e-10);
}

TEST_CASE("optimizers: float32 trajectories match torch.optim's float64 ones to 1e-5") {
    for (const char* file : fixture_files) replay(file, f32, 1e-5);
}

TEST_CASE("optimizers: each one minimises an ill-conditioned quadratic") {
    // loss = Σ c·(x − t)², curvatures c from 1 to 8, starting 3 to 4 away from the minimum
    const Tensor target = from({1, -2, 0.5, 3}, {4}, {.dtype = f64});
    const Tensor curvature = from({1, 2, 4, 8}, {4}, {.dtype = f64});
    for (const Row& r : optimizers) {
        INFO("optimizer: ", r.name, " ", r.options);
        Tensor x = from({-2, 1, 4, 0}, {4}, {.dtype = f64, .requires_grad = true});
        auto opt = r.make({x});
        const auto loss_of = [&] { return sum(curvature * pow(x - target, 2.0)); };
        const double initial = loss_of().item();
        for (int s = 0; s < 400; ++s) {
            opt->zero_grad();
            loss_of().backward();
            opt->step();
        }
        CHECK(initial > 100);
        CHECK(loss_of().item() < 1e-3);
    }
}

TEST_CASE("optimizers: state_dict round trip continues the same trajectory") {
    for (const Row& r : optimizers) {
        INFO("optimizer: ", r.name, " ", r.options);
        Tensor a = from({0.5, -1, 2}, {3}, {.dtype = f64, .requires_grad = true});
        Tensor b = from({1, 2, 3, 4}, {2, 2}, {.dtype = f64, .requires_grad = true});
        auto first = r.make({a, b});
        for (int s = 0; s < 3; ++s) {
            a.set_grad(fixed_grad(3, s));
            b.set_grad(fixed_grad(4, s).view_as_shape({2, 2}));
            first->step();
        }
        Tensor a2 = a.clone().requires_grad(true), b2 = b.clone().requires_grad(true);
        auto second = r.make({a2, b2});
        second->load_state_dict(first->state_dict());
        CHECK(second->steps() == 3);
        for (int s = 3; s < 6; ++s) {
            for (auto [p, q] : {std::pair{a, a2}, std::pair{b, b2}}) {
                p.set_grad(fixed_grad(p.numel(), s).view_as_shape(p.shape()));
                q.set_grad(p.grad().clone());
            }
            first->step();
            second->step();
        }
        test::check_close(a2, a, 0, 0);
        test::check_close(b2, b, 0, 0);
    }
}

TEST_CASE("optimizers: state_dict keys and load errors name the key") {
    Tensor a = from({0.5, -1, 2}, {3}, {.dtype = f64, .requires_grad = true});
    Tensor b = zeros({2, 3}, {.dtype = f64, .requires_grad = true});
    Adam adam({a, b}, {.amsgrad = true});
    a.set_grad(fixed_grad(3, 0));  // b has no gradient: it gets no state
    adam.step();
    const auto state = adam.state_dict();
    for (const char* key : {"step", "group.0.lr", "group.0.weight_decay", "state.0.step",
                            "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq"})
        CHECK_MESSAGE(state.contains(key), key);
    CHECK(state.size() == 7);
    CHECK(state.at("state.0.step").item() == 1);

    Tensor c = from({1, 2}, {2}, {.dtype = f64, .requires_grad = true});
    Adam other({c, b}, {.amsgrad = true});
    test::check_throws_with<ValueError>(
        [&] { other.load_state_dict(state); },
        {"Adam: load_state_dict: state.0.exp_avg [3]", "parameter 0 [2]", "shapes differ"});
    auto missing = state;
    missing.erase("state.0.exp_avg_sq");
    test::check_throws_with<ValueError>([&] { adam.load_state_dict(missing); },
                                        {"missing key 'state.0.exp_avg_sq'"});
    auto extra = state;
    extra["state.1.momentum_buffer"] = zeros({2, 3}, {.dtype = f64});
    test::check_throws_with<ValueError>(
        [&] { adam.load_state_dict(extra); },
        {"unexpected key 'state.1.momentum_buffer'", "1 groups, 2 parameters"});
    CHECK(adam.steps() == 1);  // failed loads changed nothing
    SGD sgd({a, b}, {.lr = 0.1});
    test::check_throws_with<ValueError>([&] { sgd.load_state_dict(state); },
                                        {"SGD", "unexpected key"});
}

TEST_CASE("optimizers: step updates in place and skips parameters without gradient") {
    Tensor a = from({1, 2}, {2}, {.dtype = f32, .requires_grad = true});
    Tensor b = from({3, 4}, {2}, {.dtype = f32, .requires_grad = true});
    const Tensor alias = a.detach();
    SGD sgd({a, b}, {.lr = 0.5});
    a.set_grad(from({1, -1}, {2}, {.dtype = f32}));
    sgd.step();
    test::check_close(alias, {0.5, 2.5}, {2});
    test::check_close(b, {3, 4}, {2});
    sgd.zero_grad();
    CHECK_FALSE(a.grad().defined());
}

TEST_CASE("optimizers: bad options and parameters are rejected with the reason") {
    Tensor x = zeros({2}, {.requires_grad = true});
    test::check_throws_with<ValueError>(
        [&] { SGD({x}, {.lr = 0.1, .nesterov = true}); },
        {"SGD: nesterov needs momentum > 0 and dampening 0 (momentum 0"});
    test::check_throws_with<ValueError>([&] { Adam({x}, {.beta1 = 1.0}); },
                                        {"Adam: beta1 must be in [0, 1) (1)"});
    test::check_throws_with<ValueError>([&] { RMSprop({x}, {.lr = -1}); },
                                        {"RMSprop: group 0: lr must be >= 0 (-1)"});
    test::check_throws_with<ValueError>([&] { Adagrad(std::vector<Tensor>{}); },
                                        {"Adagrad: empty parameter list"});
    test::check_throws_with<ValueError>(
        [&] {
            AdamW({x, x});
        },
        {"AdamW", "[2] appears more than once"});
    const std::int32_t tokens[] = {1, 2};
    test::check_throws_with<ValueError>([&] { SGD({ids(tokens, {2})}); }, {"SGD", "dtype i32"});
}

TEST_CASE("optimizers: Adam and AdamW defaults differ only in weight decay, as in torch") {
    Tensor x = zeros({2}, {.requires_grad = true});
    CHECK(*Adam({x}).param_groups()[0].weight_decay == 0.0);
    CHECK(*AdamW({x}).param_groups()[0].weight_decay == 1e-2);
    CHECK(*AdamW({x}, {.lr = 3e-4, .weight_decay = 0.1}).param_groups()[0].weight_decay == 0.1);
}

TEST_CASE("param_groups_for_weight_decay: rank >= 2 decays, the rest does not") {
    const Tensor w = zeros({3, 4}), bias = zeros({4}), gain = zeros({}), conv = zeros({2, 3, 4});
    const auto groups = param_groups_for_weight_decay({w, bias, gain, conv}, 0.1);
    REQUIRE(groups.size() == 2);
    CHECK(*groups[0].weight_decay == 0.1);
    CHECK(*groups[1].weight_decay == 0.0);
    REQUIRE(groups[0].params.size() == 2);
    REQUIRE(groups[1].params.size() == 2);
    CHECK(groups[0].params[0].shares_storage(w));
    CHECK(groups[0].params[1].shares_storage(conv));
    CHECK(groups[1].params[0].shares_storage(bias));
    CHECK_FALSE(groups[0].lr.has_value());

    const auto named = param_groups_for_weight_decay({{"ln.weight", bias}, {"h.0.w", w}}, 0.2);
    REQUIRE(named.size() == 2);
    CHECK(named[0].params[0].shares_storage(w));
    CHECK(named[1].params[0].shares_storage(bias));
    CHECK(param_groups_for_weight_decay({bias}, 0.1).size() == 1);

    Tensor p = zeros({2, 2}, {.requires_grad = true}), q = zeros({2}, {.requires_grad = true});
    AdamW opt(param_groups_for_weight_decay({p, q}, 0.1), {.lr = 3e-4});
    CHECK(*opt.param_groups()[0].lr == 3e-4);
    CHECK(*opt.param_groups()[1].weight_decay == 0.0);
    opt.set_lr(1e-3);
    CHECK(*opt.param_groups()[1].lr == 1e-3);
    CHECK(opt.lr() == 1e-3);
}

TEST_CASE("schedules: hand-computed learning rates") {
    const ConstantSchedule constant(0.1);
    CHECK(constant.lr_at(0) == 0.1);
    CHECK(constant.lr_at(1000) == 0.1);

    const StepDecaySchedule step({.lr = 1.0, .step_size = 3, .gamma = 0.5});
    const std::pair<std::int64_t, double> decay[] = {{0, 1},   {2, 1},    {3, 0.5},
                                                     {5, 0.5}, {6, 0.25}, {10, 0.125}};
    for (auto [s, lr] : decay) CHECK(step.lr_at(s) == doctest::Approx(lr).epsilon(1e-15));

    // warm-up 1/4, 2/4, 3/4, 4/4; cosine from step 4 to 12; min_lr after
    const WarmupCosineSchedule cosine(
        {.lr = 1.0, .warmup_steps = 4, .decay_steps = 12, .min_lr = 0.1});
    const std::pair<std::int64_t, double> values[] = {
        {0, 0.25},
        {1, 0.5},
        {3, 1.0},
        {4, 1.0},
        {6, 0.1 + 0.45 * (1 + std::sqrt(0.5))},  // r = 1/4: cos(π/4) = √½
        {8, 0.55},
        {10, 0.1 + 0.45 * (1 - std::sqrt(0.5))},
        {12, 0.1},
        {100, 0.1}};
    for (auto [s, lr] : values) {
        INFO("step ", s);
        CHECK(cosine.lr_at(s) == doctest::Approx(lr).epsilon(1e-12));
    }
    test::check_throws_with<ValueError>([] { StepDecaySchedule({.step_size = 0}); },
                                        {"StepDecaySchedule: step_size must be > 0 (0)"});
    test::check_throws_with<ValueError>(
        [] { WarmupCosineSchedule({.warmup_steps = 5, .decay_steps = 5}); },
        {"WarmupCosineSchedule", "(5 and 5)"});
    test::check_throws_with<ValueError>([&] { cosine.lr_at(-1); },
                                        {"lr_at: step must be >= 0 (-1)"});
}

TEST_CASE("clip_grad_norm: returns the pre-clip global norm and rescales over the limit") {
    for (DType dtype : {f64, f32}) {
        INFO("dtype ", dtype_name(dtype));
        Tensor a = zeros({2}, {.dtype = dtype, .requires_grad = true});
        Tensor b = zeros({1}, {.dtype = dtype, .requires_grad = true});
        Tensor none = zeros({3}, {.dtype = dtype, .requires_grad = true});
        a.set_grad(from({3, 4}, {2}, {.dtype = dtype}));
        b.set_grad(from({12}, {1}, {.dtype = dtype}));
        // norm √(9 + 16 + 144) = 13, under 20: untouched
        CHECK(clip_grad_norm({a, b, none}, 20.0) == doctest::Approx(13.0).epsilon(1e-12));
        test::check_close(a.grad(), {3, 4}, {2}, 0, 0);
        // over 6.5: scaled by 6.5 / (13 + 1e-6)
        CHECK(clip_grad_norm({a, b, none}, 6.5) == doctest::Approx(13.0).epsilon(1e-12));
        const double f = 6.5 / (13.0 + 1e-6);
        test::check_close(a.grad(), {3 * f, 4 * f}, {2}, 1e-7, 1e-7);
        test::check_close(b.grad(), {12 * f}, {1}, 1e-7, 1e-7);
        CHECK(clip_grad_norm({a, b}, 6.5) == doctest::Approx(6.5).epsilon(1e-6));
    }
    test::check_throws_with<ValueError>([] { clip_grad_norm({}, -1.0); },
                                        {"clip_grad_norm: max_norm must be >= 0 (-1)"});
}
