// Luong and Bahdanau: an encoder–decoder learns to reverse digit sequences, once with Luong's
// multiplicative Attention and once with Bahdanau's AdditiveAttention. The decoder has no
// recurrence: output position i asks a query made from its position, and attention must find
// encoder position L−1−i. Trained with fit() on a DataSource that draws batch s from seed s, with
// a callback measuring held-out exact-sequence accuracy; prints it for both.
#include <fmt/format.h>

#include <memory>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/layers/additive_attention.hpp>
#include <tapegrad/layers/attention.hpp>
#include <tapegrad/layers/dense.hpp>
#include <tapegrad/layers/embedding.hpp>
#include <tapegrad/layers/positional.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/train/fit.hpp>
#include <tapegrad/train/toy_tasks.hpp>

using namespace tapegrad;

namespace {

constexpr std::int64_t digits = 10, length = 8, width = 64;

class Seq2Seq : public Module {
public:
    explicit Seq2Seq(bool additive)
        : Module(additive ? "Seq2Seq(Bahdanau)" : "Seq2Seq(Luong)"),
          embed_(digits, width, {.seed = 1}),
          encoder_positions_(length, width, {.stddev = 0.5, .seed = 2}),
          encoder_(width, {.units = width, .activation = Activation::tanh, .seed = 3}),
          decoder_queries_(length, width, {.stddev = 0.5, .seed = 4}),
          out_(2 * width, {.units = digits, .seed = 5}) {
        if (additive) {
            attention_ =
                std::make_unique<AdditiveAttention>(width, AdditiveAttentionOptions{.seed = 6});
        } else {
            attention_ = std::make_unique<Attention>(AttentionOptions{.use_scale = true});
        }
        register_module("embed", embed_);
        register_module("encoder_positions", encoder_positions_);
        register_module("encoder", encoder_);
        register_module("decoder_queries", decoder_queries_);
        register_module("attention", *attention_);
        register_module("out", out_);
    }
    // ids i32 [B,L] -> logits [B,L,digits]
    Tensor operator()(const Tensor& ids) {
        const Tensor memory =
            encoder_.forward(encoder_positions_.forward(embed_.forward(ids)));  // [B,L,C]
        const Shape query_shape{ids.dim(0), length, width};
        const Tensor queries =
            broadcast_to(decoder_queries_.positions(length), query_shape);  // [B,L,C]
        const Tensor context = (*attention_)(queries, memory);              // [B,L,C]
        return out_.forward(concat({context, queries}, -1));
    }

private:
    Embedding embed_;
    LearnedPositionalEmbedding encoder_positions_;
    Dense encoder_;
    LearnedPositionalEmbedding decoder_queries_;
    std::unique_ptr<AttentionBase> attention_;
    Dense out_;
};

// Reversal batches by step (fit's data rule): batch s is drawn from a generator seeded with s.
class ReversalData : public DataSource {
public:
    std::int64_t batches_per_epoch(std::int64_t /*batch_size*/) const override { return 1'000'000; }
    Batch batch(std::int64_t step, std::int64_t batch_size) const override {
        Generator gen(21'000'000 + static_cast<std::uint64_t>(step));
        const ToyBatch b = make_toy_batch(ToyTask::reverse, batch_size, length, digits, gen);
        return {b.x, b.y};
    }
};

// A user-written callback: held-out exact-sequence accuracy every `every` steps.
class HeldOutAccuracy : public Callback {
public:
    HeldOutAccuracy(Seq2Seq& model, const ToyBatch& test, std::int64_t every)
        : model_(model), test_(test), every_(every) {}
    void on_step_end(FitRun& /*run*/, const StepLogs& logs) override {
        if ((logs.step + 1) % every_ != 0) return;
        const Tensor logits = predict(
            model_, [this](const Tensor& x) { return model_(x); }, test_.x, 500);
        accuracy = exact_accuracy(argmax_last(logits), test_.y);
        fmt::print("  {:<18} step {:>4}  loss {:.4f}  held-out exact accuracy {:5.1f}%\n",
                   model_.type_name(), logs.step + 1, logs.loss, 100 * accuracy);
    }
    double accuracy = 0.0;

private:
    Seq2Seq& model_;
    const ToyBatch& test_;
    std::int64_t every_;
};

double train_and_test(bool additive) {
    Seq2Seq model(additive);
    Generator test_gen(22);
    const ToyBatch test = make_toy_batch(ToyTask::reverse, 1000, length, digits, test_gen);
    Adam optimizer(model.parameters(), {.lr = 3e-3});
    HeldOutAccuracy held_out(model, test, 300);
    const BatchLoss loss = [&model](const Batch& b) { return cross_entropy(model(b.x), b.y); };
    fit(model, loss, optimizer, ReversalData(), {.batch_size = 64, .steps = 1500}, {held_out});
    return held_out.accuracy;
}

}  // namespace

int main() {
    fmt::print(
        "Reversing 8 digits with an encoder-decoder whose decoder attends to the encoder "
        "outputs.\n");
    const double luong = train_and_test(false);
    const double bahdanau = train_and_test(true);
    fmt::print(
        "RESULT: Luong (Attention, dot) {:.1f}%, Bahdanau (AdditiveAttention) {:.1f}% "
        "exact-sequence "
        "accuracy on 1000 held-out sequences\n",
        100 * luong, 100 * bahdanau);
    return luong >= 0.99 && bahdanau >= 0.99 ? 0 : 1;
}
