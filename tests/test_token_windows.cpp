// Random language-model windows (train/data.hpp): a pure function of (seed, step) that covers
// the text uniformly, whose rows split among ranks, and the validation and time-limit rules
// around them.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "support.hpp"
#include "train/data.hpp"
#include "train/overfit_watch.hpp"

using namespace tapegrad;

namespace {

TokenData counting(std::int32_t n) {
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) tokens[static_cast<std::size_t>(i)] = i;
    return TokenData(tokens);
}

}  // namespace

TEST_CASE("windows: a batch is a pure function of seed and step, y is x shifted by one") {
    const TokenData data = counting(1000);
    const WindowOptions seeded{.seed = 42};
    const Batch a = data.batch(7, 4, 16, seeded), again = data.batch(7, 4, 16, seeded);
    CHECK(a.x.to_vector() == again.x.to_vector());
    CHECK(a.x.shape() == Shape{4, 16});
    for (std::int64_t r = 0; r < 4; ++r) {
        const double start = a.x.at({r, 0});
        for (std::int64_t t = 0; t < 16; ++t) {
            CHECK(a.x.at({r, t}) == start + static_cast<double>(t));  // a contiguous window
            CHECK(a.y.at({r, t}) == start + static_cast<double>(t) + 1);
        }
    }
    CHECK(data.batch(8, 4, 16, seeded).x.to_vector() != a.x.to_vector());
    CHECK(data.batch(7, 4, 16, {.seed = 43}).x.to_vector() != a.x.to_vector());
    // Not the sequential rule's offsets: the starts are not multiples of B·T apart.
    const std::vector<std::int64_t> starts = data.window_starts(7, 4, 16, 0, 4, seeded);
    CHECK(std::set<std::int64_t>(starts.begin(), starts.end()).size() == 4);
    CHECK(starts != data.window_starts(7, 4, 16, 0, 4, {.sampling = WindowSampling::sequential}));
}

TEST_CASE("windows: a rank's rows are its slice of the one global batch") {
    const TokenData data = counting(500);
    const WindowOptions o{.seed = 5};
    const std::vector<std::int64_t> all = data.window_starts(3, 6, 8, 0, 6, o);
    CHECK(data.window_starts(3, 6, 8, 2, 2, o) ==
          std::vector<std::int64_t>(all.begin() + 2, all.begin() + 4));
    CHECK(data.rows(3, 6, 8, 4, 2, o).x.to_vector() == data.rows(3, 6, 8, 4, 2, o).x.to_vector());
    const Batch whole = data.batch(3, 6, 8, o), share = data.rows(3, 6, 8, 4, 2, o);
    const std::vector<double> w = whole.x.to_vector(), s = share.x.to_vector();
    CHECK(s == std::vector<double>(w.begin() + 4 * 8, w.end()));
}

TEST_CASE("windows: starts cover every offset uniformly (chi-square over 10,000 draws)") {
    // 101 tokens, T = 1: starts in [0, 99], 100 cells of expected 100 draws each. With 99 degrees
    // of freedom the statistic exceeds 150 with probability ~6e-4; a start outside the range, a
    // bias to some offsets (a rule reading multiples of B·T) or a stuck generator fails at once.
    const TokenData data = counting(101);
    std::vector<double> count(100, 0.0);
    std::int64_t draws = 0;
    for (std::int64_t step = 0; draws < 10000; ++step)
        for (std::int64_t s : data.window_starts(step, 10, 1, 0, 10, {.seed = 2026})) {
            REQUIRE(s >= 0);
            REQUIRE(s < 100);
            count[static_cast<std::size_t>(s)] += 1, ++draws;
        }
    double chi2 = 0.0;
    for (double c : count) chi2 += (c - 100.0) * (c - 100.0) / 100.0;
    CHECK(chi2 < 150.0);
    CHECK(chi2 > 50.0);  // far too even is as suspicious: the draws would not be independent
    // The last window fits: its target is the text's last token.
    const TokenData tiny = counting(5);
    for (std::int64_t step = 0; step < 50; ++step)
        CHECK(tiny.batch(step, 1, 4).y.at({0, 3}) == 4.0);
}

TEST_CASE("windows: the rule's names parse and print") {
    CHECK(parse_window_sampling("random") == WindowSampling::random);
    CHECK(parse_window_sampling("sequential") == WindowSampling::sequential);
    CHECK(to_string(WindowSampling::sequential) == "sequential");
    test::check_throws_with<ValueError>([] { parse_window_sampling("shuffled"); },
                                        {"\"shuffled\"", "random or sequential"});
}

TEST_CASE(
    "OverfitWatch: warns once, after three evaluations of rising validation and falling training") {
    OverfitWatch watch;
    CHECK_FALSE(watch.observe(2.0, 2.1));
    CHECK_FALSE(watch.observe(1.9, 2.2));          // 1
    CHECK_FALSE(watch.observe(1.8, 2.3));          // 2
    CHECK_FALSE(watch.observe(1.85, 2.4));         // training rose: the streak starts over
    CHECK_FALSE(watch.observe(1.7, 2.5));          // 1
    CHECK_FALSE(watch.observe(1.6, 2.6));          // 2
    const auto warning = watch.observe(1.5, 2.7);  // 3
    REQUIRE(warning);
    CHECK(warning->find("validation has risen for 3 evaluations while training loss fell") !=
          std::string::npos);
    CHECK_FALSE(watch.observe(1.4, 2.8));  // once
}
