// fit() and its callbacks: calls counted, stopping, early stopping, checkpoints, NaN, resume.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <thread>

#include "autograd/ops/loss.hpp"
#include "autograd/ops/reduce.hpp"
#include "layers/sequential.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"
#include "support.hpp"
#include "train/callbacks.hpp"
#include "train/fit.hpp"
#include "train/fit_checkpoint.hpp"

using namespace tapegrad;
using namespace tapegrad::layers;
namespace fs = std::filesystem;

namespace {

// Every hook's calls, in order.
struct Recorder : Callback {
    int begins = 0, ends = 0;
    std::vector<std::int64_t> step_begins, step_ends, validations;
    std::vector<StepLogs> logs;
    FitResult result;
    void on_train_begin(FitRun& /*run*/) override { ++begins; }
    void on_step_begin(FitRun& /*run*/, std::int64_t step) override { step_begins.push_back(step); }
    void on_validation_end(FitRun& /*run*/, const StepLogs& l) override {
        validations.push_back(l.step);
    }
    void on_step_end(FitRun& /*run*/, const StepLogs& l) override {
        step_ends.push_back(l.step);
        logs.push_back(l);
    }
    void on_train_end(FitRun& /*run*/, const FitResult& r) override {
        ++ends;
        result = r;
    }
};

// Requests a stop after step `at`.
struct StopAt : Callback {
    explicit StopAt(std::int64_t at) : at_(at) {}
    void on_step_end(FitRun& run, const StepLogs& logs) override {
        if (logs.step == at_) run.request_stop("asked");
    }
    std::int64_t at_;
};

Sequential regressor(bool with_dropout = false) {
    if (with_dropout)
        return Sequential{input(2), dense({.units = 8, .activation = Activation::tanh, .seed = 1}),
                          dropout(0.2, 5), dense({.units = 1, .seed = 2})};
    return Sequential{input(2), dense({.units = 8, .activation = Activation::tanh, .seed = 1}),
                      dense({.units = 1, .seed = 2})};
}

// y = 0.5·x0 − x1 + 0.3·x0·x1 on n points of [−1, 1]².
std::pair<Tensor, Tensor> regression_data(std::int64_t n, std::uint64_t seed) {
    const Tensor x = uniform({n, 2}, -1, 1, {.seed = seed});
    const std::vector<double> v = x.to_vector();
    std::vector<double> y;
    for (std::int64_t i = 0; i < n; ++i) {
        const double a = v[2 * i], b = v[2 * i + 1];
        y.push_back(0.5 * a - b + 0.3 * a * b);
    }
    return {x, from(y, {n, 1})};
}

void check_same_weights(const StateDict& sa, const StateDict& sb) {
    REQUIRE(sa.size() == sb.size());
    for (const auto& [name, t] : sa) {
        INFO("tensor ", name);
        CHECK(t.to_vector() == sb.at(name).to_vector());
    }
}

bool all_finite(const Module& m) {
    for (const Tensor& p : m.parameters())
        for (double v : p.to_vector())
            if (!std::isfinite(v)) return false;
    return true;
}

std::vector<std::int64_t> checkpoint_steps(const fs::path& root) {
    std::vector<std::int64_t> out;
    for (const auto& [step, dir] : list_checkpoints(root)) out.push_back(step);
    return out;
}

}  // namespace

TEST_CASE("fit: callbacks see each step, each validation, one begin and one end") {
    Sequential model = regressor();
    SGD optimizer(model.parameters(), {.lr = 0.01});
    const auto [x, y] = regression_data(10, 1);
    const TensorDataset train(x, y), val(x, y);
    Recorder rec;
    // 10 samples in batches of 4: 3 batches an epoch, 2 epochs = 6 steps; validation after 4 and 6
    const FitResult r =
        fit(model, mse_loss, optimizer, train,
            {.batch_size = 4, .epochs = 2, .validation_data = &val, .validation_every = 4}, {rec});
    CHECK(rec.begins == 1);
    CHECK(rec.ends == 1);
    CHECK(rec.step_begins == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5});
    CHECK(rec.step_ends == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5});
    CHECK(rec.validations == std::vector<std::int64_t>{3, 5});
    CHECK(rec.logs[4].epoch == 1);
    CHECK(rec.logs[3].val_loss.has_value());
    CHECK(!rec.logs[4].val_loss.has_value());
    CHECK(r.steps == 6);
    CHECK(r.end_step == 6);
    REQUIRE(r.val_curve.size() == 2);
    CHECK(r.val_curve[1].first == 6);
    CHECK(r.val_loss == r.val_curve[1].second);
    CHECK(r.stop_reason.empty());
    CHECK(rec.result.steps == 6);

    Recorder resumed;  // steps [2, 6): validation after 4 and at the end
    fit(model, mse_loss, optimizer, train,
        {.batch_size = 4,
         .steps = 6,
         .initial_step = 2,
         .validation_data = &val,
         .validation_every = 4},
        {resumed});
    CHECK(resumed.step_ends == std::vector<std::int64_t>{2, 3, 4, 5});
    CHECK(resumed.validations == std::vector<std::int64_t>{3, 5});
}

TEST_CASE("fit: a stop request ends the run after that step, without another validation") {
    Sequential model = regressor();
    SGD optimizer(model.parameters(), {.lr = 0.01});
    const auto [x, y] = regression_data(8, 2);
    const TensorDataset data(x, y);
    Recorder rec;
    StopAt stop(2);
    const FitResult r =
        fit(model, mse_loss, optimizer, data,
            {.batch_size = 2, .steps = 10, .validation_data = &data, .validation_every = 5},
            {stop, rec});
    CHECK(rec.step_ends == std::vector<std::int64_t>{0, 1, 2});  // later callbacks still see step 2
    CHECK(rec.validations.empty());
    CHECK(r.steps == 3);
    CHECK(r.stop_reason == "asked");
    test::check_throws_with<ValueError>(
        [&] { fit(model, mse_loss, optimizer, data, {.batch_size = 0}); },
        {"fit: batch_size must be positive (got 0)"});
}

TEST_CASE("fit: LrScheduler sets each step's learning rate and logs report it") {
    Sequential model = regressor();
    SGD optimizer(model.parameters(), {.lr = 1.0});
    const auto [x, y] = regression_data(8, 3);
    const TensorDataset data(x, y);
    const StepDecaySchedule schedule({.lr = 0.1, .step_size = 2, .gamma = 0.5});
    LrScheduler lr(schedule);
    Recorder rec;
    fit(model, mse_loss, optimizer, data, {.batch_size = 4, .steps = 5}, {lr, rec});
    std::vector<double> lrs;
    for (const StepLogs& l : rec.logs) lrs.push_back(l.lr);
    CHECK(lrs == std::vector<double>{0.1, 0.1, 0.05, 0.05, 0.025});
}

TEST_CASE("fit: LrScheduler following the time limit advances by the budget that runs out first") {
    const auto [x, y] = regression_data(8, 3);
    const TensorDataset data(x, y);
    const StepDecaySchedule schedule({.lr = 0.1, .step_size = 2, .gamma = 0.5});
    auto first_lrs = [&](double time_limit, bool follow) {
        Sequential model = regressor();
        SGD optimizer(model.parameters(), {.lr = 1.0});
        LrScheduler lr(schedule, {.follow_time_limit = follow});
        Recorder rec;
        fit(model, mse_loss, optimizer, data, {.batch_size = 4, .steps = 5, .time_limit = time_limit},
            {lr, rec});
        std::vector<double> lrs;
        for (const StepLogs& l : rec.logs) lrs.push_back(l.lr);
        return lrs;
    };
    // A limit already passed at the first step: that step is the run's last, and the schedule
    // jumps to its end (step 5: 0.1 · 0.5²) instead of starting at 0.1.
    CHECK(first_lrs(1e-12, true) == std::vector<double>{0.025});
    CHECK(first_lrs(1e-12, false) == std::vector<double>{0.1});
    // A limit far away: the steps run out first, and the schedule is the per-step one.
    CHECK(first_lrs(1e6, true) == std::vector<double>{0.1, 0.1, 0.05, 0.05, 0.025});
}

TEST_CASE("fit: LrScheduler following the time limit still warms up by steps") {
    // The clock runs far ahead of the steps (each step sleeps 30 ms of a 50 ms budget): the decay
    // jumps by time, but the warm-up's steps keep their linear ramp.
    struct Sleep : Callback {
        void on_step_begin(FitRun& /*run*/, std::int64_t /*step*/) override {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
        }
    };
    const auto [x, y] = regression_data(8, 3);
    const TensorDataset data(x, y);
    const WarmupCosineSchedule schedule({.lr = 0.3, .warmup_steps = 3, .decay_steps = 100});
    Sequential model = regressor();
    SGD optimizer(model.parameters(), {.lr = 1.0});
    LrScheduler lr(schedule, {.follow_time_limit = true});
    Sleep sleep;
    Recorder rec;
    fit(model, mse_loss, optimizer, data, {.batch_size = 4, .steps = 100, .time_limit = 0.05},
        {lr, sleep, rec});
    REQUIRE(rec.logs.size() == 2);  // the second step crosses 50 ms
    CHECK(rec.logs[0].lr == doctest::Approx(0.1));
    CHECK(rec.logs[1].lr == doctest::Approx(0.2));
}

TEST_CASE("fit: validation logs the training mean since the last one and the tokens it covered") {
    std::vector<std::int32_t> tokens(301);
    for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<std::int32_t>(i % 5);
    const TokenData text(tokens);
    const TokenSource train(text, 4), val(text, 4, {.sampling = WindowSampling::sequential});
    Sequential model{input(4), dense({.units = 4, .seed = 3})};
    SGD optimizer(model.parameters(), {.lr = 0.01});
    const BatchLoss loss = [&model](const Batch& b) { return mse_loss(model(b.x.to(f32)), b.y.to(f32)); };
    Recorder rec;
    fit(model, loss, optimizer, train,
        {.batch_size = 5, .steps = 6, .validation_data = &val, .validation_every = 3,
         .validation_batches = 4},
        {rec});
    REQUIRE(rec.logs.size() == 6);
    CHECK_FALSE(rec.logs[1].train_loss);
    REQUIRE(rec.logs[5].train_loss);
    CHECK(*rec.logs[5].train_loss ==
          doctest::Approx((rec.logs[3].loss + rec.logs[4].loss + rec.logs[5].loss) / 3));
    CHECK(rec.logs[2].val_tokens == 4 * 5 * 4);  // 4 batches of 5 rows of 4 tokens
    // The same weights give the same validation loss, to the bit.
    const double a = evaluate(model, loss, val, {.batch_size = 5, .batches = 4});
    CHECK(a == evaluate(model, loss, val, {.batch_size = 5, .batches = 4}));
    CHECK(a == *rec.logs[5].val_loss);
}

TEST_CASE("fit: a small regression converges where the untrained model does not") {
    Sequential model = regressor();
    Adam optimizer(model.parameters(), {.lr = 0.02});
    const auto [x, y] = regression_data(128, 4);
    const auto [vx, vy] = regression_data(64, 5);
    const TensorDataset train(x, y, {.shuffle = true, .seed = 1}), val(vx, vy);
    const double before = evaluate(model, mse_loss, val);
    const FitResult r =
        fit(model, mse_loss, optimizer, train,
            {.batch_size = 16, .epochs = 40, .validation_data = &val, .validation_every = 80});
    const double after = evaluate(model, mse_loss, val);
    INFO("val mse before ", before, ", after ", after);
    CHECK(before > 0.1);
    CHECK(after < 0.005);
    CHECK(r.steps == 40 * 8);
    CHECK(*r.val_loss == doctest::Approx(after));
}

namespace {

// Validation whose loss is the next value of a script: evaluate() reads one batch per call.
struct ScriptedValidation : DataSource {
    explicit ScriptedValidation(std::vector<double> values) : values_(std::move(values)) {}
    std::int64_t batches_per_epoch(std::int64_t /*batch_size*/) const override { return 1; }
    Batch batch(std::int64_t /*step*/, std::int64_t /*batch_size*/) const override {
        return {full({1}, values_.at(next_++)), zeros({1})};
    }
    std::vector<double> values_;
    mutable std::size_t next_ = 0;
};

// Trains on real batches; in eval mode (validation) the loss is the scripted value in x.
BatchLoss scripted_loss(Sequential& model) {
    return [&model](const Batch& b) {
        return model.is_training() ? mse_loss(model(b.x), b.y) : mean(b.x);
    };
}

// Copies the weights after `steps` steps are done.
struct Snapshot : Callback {
    explicit Snapshot(std::int64_t steps) : steps_(steps) {}
    void on_step_end(FitRun& run, const StepLogs& logs) override {
        if (logs.step + 1 != steps_) return;
        for (const auto& [name, t] : run.model().state_dict()) weights.emplace(name, t.clone());
    }
    std::int64_t steps_;
    StateDict weights;
};

struct EarlyStopRun {
    FitResult result;
    std::int64_t best_step;
    double best;
};

EarlyStopRun run_early_stopping(Sequential& model, EarlyStoppingOptions options, Callback& extra) {
    SGD optimizer(model.parameters(), {.lr = 0.05});
    const auto [x, y] = regression_data(8, 6);
    const TensorDataset train(x, y);
    const ScriptedValidation val({1.0, 0.8, 0.85, 0.79, 0.9, 0.95, 0.7, 0.6});
    EarlyStopping early(options);
    const FitResult r =
        fit(model, scripted_loss(model), optimizer, train,
            {.batch_size = 4, .steps = 100, .validation_data = &val, .validation_every = 5},
            {extra, early});
    CHECK(early.stopped_step() == r.end_step);
    return {r, early.best_step(), early.best()};
}

}  // namespace

TEST_CASE(
    "EarlyStopping: stops after patience validations without an improvement above min_delta") {
    Sequential model = regressor();
    Recorder rec;
    // 1.0, 0.8 improve; 0.85 does not; 0.79 is not 0.02 below 0.8: second miss, stop after step 20
    const EarlyStopRun a = run_early_stopping(model, {.patience = 2, .min_delta = 0.02}, rec);
    CHECK(a.result.steps == 20);
    CHECK(a.result.val_curve.size() == 4);
    CHECK(a.best == doctest::Approx(0.8));
    CHECK(a.best_step == 10);
    CHECK(a.result.stop_reason.find("EarlyStopping") == 0);
    // without min_delta 0.79 improves; 0.9 and 0.95 miss: stop after step 30
    Sequential other = regressor();
    const EarlyStopRun b = run_early_stopping(other, {.patience = 2}, rec);
    CHECK(b.result.steps == 30);
    CHECK(b.best == doctest::Approx(0.79));
    CHECK(b.best_step == 20);
}

TEST_CASE("EarlyStopping: restore_best_weights loads the weights of the best validation") {
    Sequential restored = regressor(), kept = regressor();
    Snapshot restored_best(10), kept_best(10);
    const EarlyStopRun a = run_early_stopping(
        restored, {.patience = 2, .min_delta = 0.02, .restore_best_weights = true}, restored_best);
    CHECK(a.result.stop_reason.find("weights are restored") != std::string::npos);
    check_same_weights(restored.state_dict(), restored_best.weights);
    run_early_stopping(kept, {.patience = 2, .min_delta = 0.02},
                       kept_best);  // 10 more steps trained
    CHECK(kept.state_dict().at("dense.kernel").to_vector() !=
          kept_best.weights.at("dense.kernel").to_vector());
}

namespace {

// Targets are NaN in the batch of step `poisoned`: that step's loss and gradients are NaN.
struct PoisonedSource : DataSource {
    PoisonedSource(const TensorDataset& data, std::int64_t poisoned)
        : data_(data), poisoned_(poisoned) {}
    std::int64_t batches_per_epoch(std::int64_t batch_size) const override {
        return data_.batches_per_epoch(batch_size);
    }
    Batch batch(std::int64_t step, std::int64_t batch_size) const override {
        Batch b = data_.batch(step, batch_size);
        if (step == poisoned_) b.y = full(b.y.shape(), NAN);
        return b;
    }
    const TensorDataset& data_;
    std::int64_t poisoned_;
};

}  // namespace

TEST_CASE("Checkpoint: saves every N steps, keeps the newest K, and each one loads") {
    const fs::path root = test::scratch_dir("fit_checkpoints");
    fs::create_directories(root / "step-000020");  // another run's, later: not touched
    std::ofstream(root / "notes.txt") << "not a checkpoint";
    Sequential model = regressor(true);
    Adam optimizer(model.parameters(), {.lr = 0.01});
    const auto [x, y] = regression_data(16, 7);
    const TensorDataset data(x, y);
    Checkpoint checkpoint(module_saver(model, optimizer), {.root = root, .every = 2, .keep = 3});
    fit(model, mse_loss, optimizer, data, {.batch_size = 4, .steps = 11}, {checkpoint});
    // saved after 2, 4, 6, 8, 10 and at the end (11); the newest three at or before 11 remain
    CHECK(checkpoint_steps(root) == std::vector<std::int64_t>{8, 10, 11, 20});
    CHECK(fs::exists(root / "notes.txt"));
    CHECK(checkpoint.last_saved() == root / "step-000011");
    for (std::int64_t step : {8, 10, 11}) {
        Sequential loaded = regressor(true);
        Adam loaded_optimizer(loaded.parameters(), {.lr = 0.01});
        CHECK(load_module_checkpoint(checkpoint_path(root, step), loaded, &loaded_optimizer) ==
              step);
        if (step == 11) check_same_weights(loaded.state_dict(), model.state_dict());
    }
    CHECK(latest_checkpoint(root) == root / "step-000020");
    SGD wrong(model.parameters());
    test::check_throws_with<ValueError>(
        [&] { load_module_checkpoint(root / "step-000011", model, &wrong); },
        {"step-000011", "saved with Adam, not SGD"});
    test::check_throws_with<IoError>([&] { load_module_checkpoint(root / "step-000020", model); },
                                     {"fit_state.json"});
    fs::remove_all(root);
}

TEST_CASE("NanGuard: stops at the first NaN loss, and the checkpoint before it stays loadable") {
    const fs::path root = test::scratch_dir("fit_nan");
    Sequential model = regressor();
    SGD optimizer(model.parameters(), {.lr = 0.01});
    const auto [x, y] = regression_data(16, 8);
    const TensorDataset clean(x, y);
    const PoisonedSource data(clean, 7);
    NanGuard nan_guard;
    Checkpoint checkpoint(module_saver(model, optimizer), {.root = root, .every = 3, .keep = 2});
    Snapshot after_six(6);
    const FitResult r = fit(model, mse_loss, optimizer, data, {.batch_size = 4, .steps = 20},
                            {after_six, nan_guard, checkpoint});
    CHECK(r.steps == 8);
    CHECK(nan_guard.triggered());
    CHECK(r.stop_reason ==
          "the loss became nan at step 7; lower the learning rate (now 0.01) or clip gradients");
    CHECK(!all_finite(model));
    CHECK(checkpoint_steps(root) ==
          std::vector<std::int64_t>{3, 6});  // none for the NaN step, none at the end
    Sequential loaded = regressor();
    CHECK(load_module_checkpoint(root / "step-000006", loaded) == 6);
    CHECK(all_finite(loaded));
    check_same_weights(loaded.state_dict(), after_six.weights);
    fs::remove_all(root);
}

TEST_CASE("fit: resuming from a checkpoint gives bit-identical weights to an uninterrupted run") {
    const auto [x, y] = regression_data(24, 9);
    const TensorDataset data(x, y, {.shuffle = true, .seed = 3});
    const StepDecaySchedule schedule({.lr = 0.02, .step_size = 4, .gamma = 0.5});
    const FitOptions options{.batch_size = 5, .steps = 12};
    auto train = [&](Sequential& model, Adam& optimizer, FitOptions o, Callbacks extra) {
        LrScheduler lr(schedule);
        extra.insert(extra.begin(), lr);
        return fit(model, mse_loss, optimizer, data, o, extra);
    };
    Sequential whole = regressor(true);  // dropout: its generator must resume too
    Adam whole_optimizer(whole.parameters());
    train(whole, whole_optimizer, options, {});

    const fs::path root = test::scratch_dir("fit_resume");
    Sequential first = regressor(true);
    Adam first_optimizer(first.parameters());
    Checkpoint checkpoint(module_saver(first, first_optimizer),
                          {.root = root, .every = 5, .at_end = false});
    StopAt interrupted(7);
    train(first, first_optimizer, options, {checkpoint, interrupted});
    REQUIRE(checkpoint_steps(root) == std::vector<std::int64_t>{5});

    Sequential resumed = regressor(true);
    Adam resumed_optimizer(resumed.parameters());
    const std::int64_t step =
        load_module_checkpoint(root / "step-000005", resumed, &resumed_optimizer);
    FitOptions rest = options;
    rest.initial_step = step;
    const FitResult r = train(resumed, resumed_optimizer, rest, {});
    CHECK(r.steps == 7);
    check_same_weights(resumed.state_dict(), whole.state_dict());
    fs::remove_all(root);
}
