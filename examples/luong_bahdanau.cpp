// Luong and Bahdanau: an encoder–decoder learns to reverse digit sequences, once with Luong's
// multiplicative Attention and once with Bahdanau's AdditiveAttention. The decoder has no
// recurrence: output position i asks a query made from its position, and attention must find
// encoder position L−1−i. Prints held-out exact-sequence accuracy for both.
#include <fmt/format.h>

#include <memory>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "layers/additive_attention.hpp"
#include "layers/attention.hpp"
#include "layers/dense.hpp"
#include "layers/embedding.hpp"
#include "layers/positional.hpp"
#include "optim/adam.hpp"
#include "train/toy_tasks.hpp"

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
            attention_ = std::make_unique<AdditiveAttention>(width, AdditiveAttentionOptions{.seed = 6});
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
        const Tensor memory = encoder_.forward(encoder_positions_.forward(embed_.forward(ids)));  // [B,L,C]
        const Shape query_shape{ids.dim(0), length, width};
        const Tensor queries = broadcast_to(decoder_queries_.positions(length), query_shape);      // [B,L,C]
        const Tensor context = (*attention_)(queries, memory);                                     // [B,L,C]
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

double train_and_test(bool additive) {
    Seq2Seq model(additive);
    Generator train_gen(21), test_gen(22);
    const ToyBatch test = make_toy_batch(ToyTask::reverse, 1000, length, digits, test_gen);
    Adam optimizer(model.parameters(), {.lr = 3e-3});
    double acc = 0;
    for (int step = 1; step <= 1500; ++step) {
        const ToyBatch b = make_toy_batch(ToyTask::reverse, 64, length, digits, train_gen);
        optimizer.zero_grad();
        const Tensor loss = cross_entropy(model(b.x), b.y);
        loss.backward();
        optimizer.step();
        if (step % 300 == 0) {
            NoGrad no_grad;
            acc = exact_accuracy(argmax_last(model(test.x)), test.y);
            fmt::print("  {:<18} step {:>4}  loss {:.4f}  held-out exact accuracy {:5.1f}%\n", model.type_name(), step,
                       loss.item(), 100 * acc);
        }
    }
    return acc;
}

}  // namespace

int main() {
    fmt::print("Reversing 8 digits with an encoder-decoder whose decoder attends to the encoder outputs.\n");
    const double luong = train_and_test(false);
    const double bahdanau = train_and_test(true);
    fmt::print("RESULT: Luong (Attention, dot) {:.1f}%, Bahdanau (AdditiveAttention) {:.1f}% exact-sequence "
               "accuracy on 1000 held-out sequences\n", 100 * luong, 100 * bahdanau);
    return luong >= 0.99 && bahdanau >= 0.99 ? 0 : 1;
}
