#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include "io/tokenizer.hpp"
#include "support.hpp"
#include "train/data.hpp"
#include "train/metrics.hpp"
#include "train/progress.hpp"
#include "train/sample.hpp"

using namespace tapegrad;

TEST_CASE("tokenizer: vocabulary is the sorted distinct characters and round-trips") {
    const CharTokenizer tok = CharTokenizer::from_text("hello world");
    CHECK(tok.vocabulary() == " dehlorw");
    CHECK(tok.encode("hold") == std::vector<std::int32_t>{3, 5, 4, 1});
    CHECK(tok.decode(tok.encode("hello world")) == "hello world");
    const CharTokenizer again = CharTokenizer::from_vocabulary(tok.vocabulary());
    CHECK(again.encode("word") == tok.encode("word"));
    test::check_throws_with<ValueError>([&] { tok.encode("help"); },
                                        {"\"p\"", "position 3", "8 characters"});
    test::check_throws_with<ValueError>([&] { tok.decode({8}); }, {"id 8", "[0, 8)"});
}

TEST_CASE(
    "data: sequential batches follow llm.c's rule by step, exactly as before random windows") {
    std::vector<std::int32_t> tokens(23);
    for (int i = 0; i < 23; ++i) tokens[i] = i;
    const TokenData data(tokens);
    const WindowOptions sequential{.sampling = WindowSampling::sequential};
    // B=2, T=3: ⌊22/6⌋ = 3 batches per epoch; step 4 reads from offset (4 mod 3)·6 = 6.
    CHECK(data.batches_per_epoch(2, 3) == 3);
    const Batch b = data.batch(4, 2, 3, sequential);
    test::check_close(b.x, {6, 7, 8, 9, 10, 11}, {2, 3});
    test::check_close(b.y, {7, 8, 9, 10, 11, 12}, {2, 3});
    const Batch last = data.batch(2, 2, 3, sequential);  // offset 12: y reaches token 18
    CHECK(last.y.at({1, 2}) == 18.0);
    const Batch second_row = data.rows(4, 2, 3, 1, 1, sequential);  // one rank's share
    test::check_close(second_row.x, {9, 10, 11}, {1, 3});
    test::check_throws_with<ValueError>(
        [&] {
            TokenData({1, 2, 3}).batch(0, 2, 3);
        },
        {"too few", "3 tokens"});
    test::check_throws_with<ValueError>([&] { data.rows(0, 2, 3, 1, 2); }, {"rows [1, 3)"});
}

TEST_CASE("data: split holds out the end") {
    std::vector<std::int32_t> tokens(10, 1);
    tokens[9] = 7;
    const auto [train, val] = TokenData(tokens).split(0.2);
    CHECK(train.size() == 8);
    CHECK(val.size() == 2);
    CHECK(val.tokens().back() == 7);
}

TEST_CASE("metrics: one JSON object per line with the documented keys") {
    MetricsRow row{.step = 3,
                   .loss = 1.5,
                   .val_loss = 1.75,
                   .lr = 0.001,
                   .grad_norm = 2,
                   .tokens_per_s = 100,
                   .elapsed = 4};
    CHECK(
        to_json_line(row) ==
        R"({"step":3,"loss":1.5,"val_loss":1.75,"lr":0.001,"grad_norm":2.0,"tokens_per_s":100.0,"elapsed":4.0})");
    row.val_loss.reset();
    CHECK(to_json_line(row).find("val_loss") == std::string::npos);
    const std::string path = "test_metrics.jsonl";
    std::remove(path.c_str());
    MetricsLog log(path);
    log.append(row);
    log.append(row);
    std::ifstream in(path);
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) ++lines;
    CHECK(lines == 2);
    std::remove(path.c_str());
}

TEST_CASE("sampling: greedy, top-k and temperature behave as documented") {
    const Tensor logits = from({0.0, 3.0, 1.0, 2.9}, {4});
    Generator gen(1);
    CHECK(sample_token(logits, {.temperature = 0}, gen) == 1);
    for (int i = 0; i < 50; ++i) {
        const auto t = sample_token(logits, {.temperature = 1.0, .top_k = 2}, gen);
        CHECK((t == 1 || t == 3));
    }
    // Frequencies follow softmax: p(1)/p(3) = e^0.1 ≈ 1.105 at temperature 1.
    int ones = 0, threes = 0;
    for (int i = 0; i < 20000; ++i) {
        const auto t = sample_token(logits, {.temperature = 1.0, .top_k = 2}, gen);
        (t == 1 ? ones : threes)++;
    }
    CHECK(double(ones) / threes == doctest::Approx(std::exp(0.1)).epsilon(0.05));
    test::check_throws_with<ShapeError>([&] { sample_token(zeros({2, 2}), {}, gen); }, {"[2,2]"});
}

TEST_CASE("progress: durations read like a person writes them") {
    CHECK(format_duration(5) == "5s");
    CHECK(format_duration(187) == "3m07s");
    CHECK(format_duration(3720) == "1h02m");
}
