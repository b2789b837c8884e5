// The sharded step (train/sharded_step.hpp): the same loss and gradients as the whole batch's
// backward, the same bits on one thread and on two, dropout streams as MPI ranks draw them, clear
// errors; and the pieces it stands on (GradOptions::allow_unused, GeneratorRedirect).
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "autograd/ops.hpp"
#include "core/kernels/thread_cap.hpp"
#include "core/precision.hpp"
#include "layers/gpt.hpp"
#include "optim/sgd.hpp"
#include "support.hpp"
#include "train/data.hpp"
#include "train/fit.hpp"
#include "train/sharded_step.hpp"

using namespace tapegrad;
using test::check_close;

namespace {

GptConfig small_gpt(double dropout = 0.0, DType dtype = f64) {
    return {.vocab_size = 11,
            .n_positions = 8,
            .n_embd = 16,
            .n_layer = 2,
            .n_head = 2,
            .dropout = dropout,
            .seed = 5,
            .dtype = dtype};
}

Batch token_batch(std::int64_t rows, std::int64_t step = 0) {
    std::vector<std::int32_t> tokens(400);
    for (std::size_t i = 0; i < tokens.size(); ++i)
        tokens[i] = static_cast<std::int32_t>(i * 7 % 11);
    static const TokenData data(tokens);
    return data.batch(step, rows, 8);
}

BatchLoss loss_of(Gpt& model) {
    return [&model](const Batch& b) { return model.loss(b.x, b.y); };
}

// Every parameter's gradient, in order (undefined ones as empty tensors).
std::vector<Tensor> gradients(Gpt& model) {
    std::vector<Tensor> out;
    for (const Tensor& p : model.parameters())
        out.push_back(p.grad().defined() ? p.grad().clone() : Tensor());
    return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.dtype() == b.dtype() &&
           std::memcmp(a.raw_data(), b.raw_data(),
                       static_cast<std::size_t>(a.numel()) * dtype_size(a.dtype())) == 0;
}

}  // namespace

TEST_CASE("sharded step: the loss and every gradient of the whole batch's backward") {
    Gpt whole(small_gpt()), parts(small_gpt());
    const Batch batch = token_batch(6);
    const Tensor expected = whole.loss(batch.x, batch.y);
    expected.backward();
    for (int shards : {2, 3}) {
        parts.zero_grad();
        const Tensor loss = sharded_backward(parts, loss_of(parts), batch, shards);
        CHECK(!loss.requires_grad());
        CHECK(loss.item() == doctest::Approx(expected.item()).epsilon(1e-13));
        const auto want = gradients(whole), got = gradients(parts);
        REQUIRE(want.size() == got.size());
        for (std::size_t i = 0; i < want.size(); ++i) {
            REQUIRE(got[i].defined());
            check_close(got[i], want[i], 1e-12, 1e-10);
        }
    }
}

TEST_CASE("sharded step: bf16 mixed precision, oneDNN called from both threads at once") {
    const PrecisionScope bf16(Precision::bf16);  // fp32 with a notice on a CPU without bf16
    Gpt whole(small_gpt(0.0, f32)), parts(small_gpt(0.0, f32));
    const Batch batch = token_batch(8);
    const Tensor expected = whole.loss(batch.x, batch.y);
    expected.backward();
    const Tensor loss = sharded_backward(parts, loss_of(parts), batch, 2);
    CHECK(loss.item() == doctest::Approx(expected.item()).epsilon(1e-5));
    const auto want = gradients(whole), got = gradients(parts);
    for (std::size_t i = 0; i < want.size(); ++i) check_close(got[i], want[i], 1e-5, 1e-3);
}

TEST_CASE("sharded step: adds into gradients already there, as backward does") {
    Gpt model(small_gpt());
    const Batch batch = token_batch(4);
    sharded_backward(model, loss_of(model), batch, 2);
    const auto once = gradients(model);
    sharded_backward(model, loss_of(model), batch, 2);
    const auto twice = gradients(model);
    for (std::size_t i = 0; i < once.size(); ++i)
        check_close(twice[i], once[i] * 2.0, 1e-14, 1e-12);
}

TEST_CASE("sharded step: the same bits on one thread as on two") {
    const Batch batch = token_batch(8);
    auto run = [&](int threads) {
        Gpt model(small_gpt(0.1, f32));
        const kernels::ThreadCap cap(threads);
        const Tensor loss = sharded_backward(model, loss_of(model), batch, 4);
        std::vector<Tensor> out = gradients(model);
        out.push_back(loss);
        return out;
    };
    const auto one = run(1), two = run(2);
    REQUIRE(one.size() == two.size());
    for (std::size_t i = 0; i < one.size(); ++i) CHECK(same_bits(one[i], two[i]));
}

TEST_CASE("sharded step: part 0 draws dropout from the model, part s from Generator::derived(s)") {
    const Batch batch = token_batch(4);
    Gpt sharded(small_gpt(0.3)), by_hand(small_gpt(0.3));
    const Tensor loss = sharded_backward(sharded, loss_of(sharded), batch, 2);

    // by hand: part 1 with every generator replaced by its derived(1), then part 0 as it stands
    const auto start = by_hand.generator_states();
    for (auto& [name, gen] : by_hand.named_generators()) *gen = gen->derived(1);
    const Batch part1 = batch_part(batch, 1, 2, "test", "parts");
    const double second = by_hand.loss(part1.x, part1.y).item();
    by_hand.load_generator_states(start);
    const Batch part0 = batch_part(batch, 0, 2, "test", "parts");
    const double first = by_hand.loss(part0.x, part0.y).item();
    CHECK(loss.item() == doctest::Approx((first + second) / 2).epsilon(1e-13));
    CHECK(sharded.generator_states() == by_hand.generator_states());  // advanced as part 0 alone
    CHECK(first != doctest::Approx(second));  // the parts' masks and rows differ
}

TEST_CASE("sharded step: a loss drawing from the global generator draws a stream per part") {
    Gpt model(small_gpt());
    const Batch batch = token_batch(4);
    // each part draws one number from the global generator
    std::vector<double> drawn(2);
    const BatchLoss noisy = [&](const Batch& b) {
        drawn[static_cast<std::size_t>(current_shard())] = global_generator().uniform();
        return model.loss(b.x, b.y);
    };
    manual_seed(9);
    const Generator start = global_generator();
    sharded_backward(model, noisy, batch, 2);
    Generator part0 = start;
    CHECK(drawn[0] == part0.uniform());
    Generator part1 = start.derived(1);
    CHECK(drawn[1] == part1.uniform());
    CHECK(global_generator().state() == part0.state());  // advanced by part 0's draw alone
}

TEST_CASE("sharded step: bad settings and failing parts are clear errors, gradients untouched") {
    Gpt model(small_gpt());
    const Batch batch = token_batch(6);
    CHECK_THROWS_WITH_AS(
        sharded_backward(model, loss_of(model), batch, 4),
        doctest::Contains("sharded_backward's batch of 6 rows does not divide among 4 shards"),
        ValueError);
    CHECK_THROWS_WITH_AS(sharded_backward(model, loss_of(model), batch, 0),
                         doctest::Contains("shards must be >= 1"), ValueError);
    const BatchLoss not_scalar = [&](const Batch& b) { return model(b.x); };
    CHECK_THROWS_WITH_AS(sharded_backward(model, not_scalar, batch, 2),
                         doctest::Contains("the loss must be a scalar"), ValueError);
    const BatchLoss second_fails = [&](const Batch& b) {
        if (current_shard() == 1) throw std::runtime_error("part 1 broke");
        return model.loss(b.x, b.y);
    };
    CHECK_THROWS_WITH_AS(sharded_backward(model, second_fails, batch, 2),
                         doctest::Contains("part 1 broke"), std::runtime_error);
    for (const Tensor& p : model.parameters()) CHECK(!p.grad().defined());
}

TEST_CASE("sharded step: a GPT keeping its attention weights refuses to run in a part") {
    Gpt model(small_gpt());
    model.blocks()[0].attention().keep_attention_weights(true);
    CHECK_THROWS_WITH_AS(sharded_backward(model, loss_of(model), token_batch(4), 2),
                         doctest::Contains("inside a sharded step"), ValueError);
    model.record_next_forward();
    model.blocks()[0].attention().keep_attention_weights(false);
    CHECK_THROWS_WITH_AS(sharded_backward(model, loss_of(model), token_batch(4), 2),
                         doctest::Contains("inside a sharded step"), ValueError);
    CHECK_NOTHROW(sharded_backward(model, loss_of(model), token_batch(4), 1));  // one part: whole
}

TEST_CASE("sharded step: fit with shards follows fit without, up to rounding") {
    auto train = [](int shards) {
        Gpt model(small_gpt());
        SGD optimizer(model.parameters(), {.lr = 0.1});
        std::vector<std::int32_t> tokens(400);
        for (std::size_t i = 0; i < tokens.size(); ++i)
            tokens[i] = static_cast<std::int32_t>(i * 5 % 11);
        const TokenData data(tokens);
        const TokenSource source(data, 8);
        const FitResult r = fit(model, loss_of(model), optimizer, source,
                                {.batch_size = 4, .steps = 5, .shards = shards}, {});
        return std::pair{r.last_loss, model.parameters()[0].clone()};
    };
    const auto [loss1, w1] = train(1);
    const auto [loss2, w2] = train(2);
    CHECK(loss2 == doctest::Approx(loss1).epsilon(1e-12));
    check_close(w2, w1, 1e-12, 1e-10);
}

TEST_CASE("grad: allow_unused gives an undefined tensor for an input not reached") {
    const Tensor a = full({}, 2.0, {.dtype = f64, .requires_grad = true});
    const Tensor b = full({}, 3.0, {.dtype = f64, .requires_grad = true});
    const Tensor y = a * a;
    const auto kept = grad({y}, {a, b}, {.retain_graph = true, .allow_unused = true});
    CHECK(kept[0].item() == 4.0);
    CHECK(!kept[1].defined());
    const auto zeros_for_b = grad({y}, {a, b});
    CHECK(zeros_for_b[1].item() == 0.0);
}

TEST_CASE("GeneratorRedirect: this thread's draws come from the stand-in while it lives") {
    Generator model(1), stand_in(2), reference(2), untouched(1);
    const GeneratorRedirect::Pair pairs[] = {{&model, &stand_in}};
    {
        const GeneratorRedirect redirect(pairs);
        CHECK(model.next_u64() == reference.next_u64());
        Generator other_thread_view = model;  // a copy is another generator: not redirected
        CHECK(other_thread_view.next_u64() == untouched.next_u64());
    }
    CHECK(model.next_u64() == Generator(1).next_u64());  // its own state never moved
    CHECK(model.derived(1).next_u64() != model.derived(2).next_u64());
    CHECK(model.derived(1).next_u64() == model.derived(1).next_u64());  // derived leaves it as is
}
