// fit()'s companions: the data sources, evaluate() and predict(), and train_language_model on fit.
#include <doctest/doctest.h>

#include <fstream>

#include "autograd/ops/loss.hpp"
#include "layers/sequential.hpp"
#include "optim/adam.hpp"
#include "support.hpp"
#include "train/fit.hpp"
#include "train/lm_train.hpp"

using namespace tapegrad;
using namespace tapegrad::layers;
namespace fs = std::filesystem;

TEST_CASE("evaluate and predict: batch means weighted by rows, batched outputs in order") {
    Sequential model{input(2), dense({.units = 1, .use_bias = false})};
    model.load_state_dict({{"dense.kernel", from({1, 2}, {2, 1})}});
    const Tensor x = from({1, 0, 0, 1, 1, 1, 2, 0, 0, 2}, {5, 2});  // x·[1,2] = 1, 2, 3, 2, 4
    const TensorDataset data(x, zeros({5, 1}));
    // batches of 2, 2, 1: the mean over all 5 squares, (1 + 4 + 9 + 4 + 16) / 5, not over batches
    CHECK(evaluate(model, mse_loss, data, {.batch_size = 2}) == doctest::Approx(34.0 / 5));
    CHECK(evaluate(model, mse_loss, data, {.batch_size = 2, .batches = 1}) ==
          doctest::Approx(5.0 / 2));
    const Tensor p = predict(model, x, 2);
    test::check_close(p, {1, 2, 3, 2, 4}, {5, 1});
    CHECK(model.is_training());  // restored after eval mode
    test::check_throws_with<ValueError>([&] { predict(model, x, 0); },
                                        {"predict: batch_size must be positive"});
}

TEST_CASE("TensorDataset: every epoch covers each sample once, in an order set by seed and epoch") {
    const Tensor x = arange(7).view_as_shape({7, 1}), y = arange(7);
    const TensorDataset plain(x, y), shuffled(x, y, {.shuffle = true, .seed = 11});
    CHECK(plain.batches_per_epoch(3) == 3);
    test::check_close(plain.batch(2, 3).x, {6}, {1, 1});     // the short last batch
    test::check_close(plain.batch(4, 3).y, {3, 4, 5}, {3});  // epoch 1 repeats the order
    std::vector<double> epoch0, epoch1;
    for (std::int64_t s = 0; s < 3; ++s)
        for (double v : shuffled.batch(s, 3).x.to_vector()) epoch0.push_back(v);
    for (std::int64_t s = 3; s < 6; ++s)
        for (double v : shuffled.batch(s, 3).y.to_vector()) epoch1.push_back(v);
    CHECK(epoch0 != epoch1);
    std::sort(epoch0.begin(), epoch0.end());
    std::sort(epoch1.begin(), epoch1.end());
    CHECK(epoch0 == std::vector<double>{0, 1, 2, 3, 4, 5, 6});
    CHECK(epoch1 == epoch0);
    const TensorDataset same(x, y, {.shuffle = true, .seed = 11});
    CHECK(same.batch(4, 3).x.to_vector() == shuffled.batch(4, 3).x.to_vector());
    test::check_throws_with<ShapeError>(
        [] {
            TensorDataset(zeros({4, 2}), zeros({3}));
        },
        {"TensorDataset: x [4,2], y [3]: sample counts along axis 0 differ (4 vs 3)"});
}

TEST_CASE(
    "train_language_model: on fit, validates every K steps and at the end, logs a row per step") {
    std::vector<std::int32_t> tokens;
    for (int i = 0; i < 400; ++i) tokens.push_back(i % 10);
    const auto [train, val] = TokenData(tokens).split(0.25);
    const fs::path dir = test::scratch_dir("fit_lm");
    Gpt model(
        {.vocab_size = 10, .n_positions = 8, .n_embd = 8, .n_layer = 1, .n_head = 2, .seed = 1});
    AdamW optimizer(model.parameters());
    const LmTrainOptions options{.batch = 2,
                                 .block_size = 8,
                                 .steps = 6,
                                 .warmup = 2,
                                 .eval_every = 4,
                                 .eval_batches = 2,
                                 .metrics_path = (dir / "m.jsonl").string(),
                                 .quiet = true};
    const LmTrainResult r = train_language_model(model, optimizer, train, val, options);
    CHECK(r.steps == 6);
    REQUIRE(r.val_curve.size() == 2);
    CHECK(r.val_curve[0].first == 4);
    CHECK(r.val_curve[1].first == 6);
    REQUIRE(r.val_loss);
    CHECK(*r.val_loss == r.val_curve[1].second);
    CHECK(*r.val_loss == doctest::Approx(evaluate_language_model(model, val, 2, 8, 2)));
    std::ifstream in(dir / "m.jsonl");
    std::vector<std::string> rows;
    for (std::string line; std::getline(in, line);) rows.push_back(line);
    REQUIRE(rows.size() == 6);
    CHECK(rows[3].find("\"val_loss\"") != std::string::npos);
    CHECK(rows[4].find("\"val_loss\"") == std::string::npos);
    CHECK(rows[0].find("{\"step\":0,") == 0);

    LmTrainOptions resumed = options;  // first_step continues; on_step returning false stops
    resumed.first_step = 6;
    resumed.steps = 12;
    resumed.metrics_path.clear();
    std::vector<std::int64_t> seen;
    const LmTrainResult s =
        train_language_model(model, optimizer, train, val, resumed, [&](std::int64_t step, double) {
            seen.push_back(step);
            return step < 8;
        });
    CHECK(seen == std::vector<std::int64_t>{6, 7, 8});
    CHECK(s.steps == 3);
    REQUIRE(s.val_curve.size() == 1);  // after step index 7: 8 steps done
    CHECK(s.val_curve[0].first == 8);
    fs::remove_all(dir);
}
