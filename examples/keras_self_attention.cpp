// Self-attention the Keras way: Attention(use_scale=true)(X, X) is the only layer where tokens
// meet. Task: does any token of a sequence appear twice? No single position can tell; a token
// must find its twin. Each token attends to the *other* tokens (the diagonal is masked), so with a
// sharp enough softmax its attention output is the embedding of its most similar neighbour, equal
// to its own embedding exactly when it has a twin. The learned scale is that sharpness.
#include <fmt/format.h>

#include <set>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/layers/attention.hpp>
#include <tapegrad/layers/dense.hpp>
#include <tapegrad/layers/embedding.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/train/toy_tasks.hpp>

using namespace tapegrad;

namespace {

constexpr std::int64_t vocab = 40, length = 8,
                       width = 32;  // about half the sequences repeat a token

class TwinDetector : public Module {
public:
    TwinDetector()
        : Module("TwinDetector"),
          embed_(vocab, width, {.init = EmbeddingInit::uniform, .scale = 1.0, .seed = 1}),
          self_attention_({.use_scale = true}),
          hidden_(3 * width, {.units = 64, .activation = Activation::relu, .seed = 2}),
          out_(64, {.units = 2, .seed = 3}) {
        register_module("embed", embed_);
        register_module("self_attention", self_attention_);
        register_module("hidden", hidden_);
        register_module("out", out_);
        std::vector<std::uint8_t> others(length * length, 1);
        for (std::int64_t i = 0; i < length; ++i) others[i * length + i] = 0;
        not_self_ = mask(others, {length, length});
    }
    // ids i32 [B,T] -> logits [B,2]
    Tensor operator()(const Tensor& ids) {
        const Tensor x = embed_.forward(ids);                                             // [B,T,C]
        const Tensor a = self_attention_(x, x, Tensor(), {.attention_mask = not_self_});  // [B,T,C]
        const Tensor h = hidden_.forward(concat({x, a, x * a}, -1));  // [B,T,64]
        return out_.forward(max(h, {1}));                             // [B,2]
    }
    double scale() const { return state_dict().at("self_attention.scale").item(); }

private:
    Embedding embed_;
    Attention self_attention_;
    Dense hidden_, out_;
    Tensor not_self_;
};

// Sequences of random tokens and whether one repeats (label 1) or not (label 0).
std::pair<Tensor, Tensor> make_batch(std::int64_t batch, Generator& gen) {
    Tensor x = Tensor::empty({batch, length}, i32), y = Tensor::empty({batch}, i32);
    for (std::int64_t b = 0; b < batch; ++b) {
        std::set<std::int32_t> seen;
        for (std::int64_t t = 0; t < length; ++t) {
            const auto tok = static_cast<std::int32_t>(gen.below(vocab));
            x.data<std::int32_t>()[b * length + t] = tok;
            seen.insert(tok);
        }
        y.data<std::int32_t>()[b] = seen.size() < static_cast<std::size_t>(length);
    }
    return {x, y};
}

double accuracy(TwinDetector& model, const Tensor& x, const Tensor& y) {
    NoGrad no_grad;
    return exact_accuracy(argmax_last(model(x)).view_as_shape({x.dim(0), 1}),
                          y.view_as_shape({x.dim(0), 1}));
}

}  // namespace

int main() {
    TwinDetector model;
    Generator train_gen(11), test_gen(12);
    const auto [test_x, test_y] = make_batch(2000, test_gen);
    Adam optimizer(model.parameters(), {.lr = 3e-3});
    fmt::print(
        "Attention(use_scale=true)(X, X) as the only mixing layer: does any token appear twice?\n");
    fmt::print("learned scale before training: {:.3f}\n", model.scale());
    for (int step = 1; step <= 1500; ++step) {
        const auto [x, y] = make_batch(128, train_gen);
        optimizer.zero_grad();
        const Tensor loss = cross_entropy(model(x), y);
        loss.backward();
        optimizer.step();
        if (step % 250 == 0)
            fmt::print("step {:>4}  loss {:.4f}  held-out accuracy {:.1f}%  scale {:.3f}\n", step,
                       loss.item(), 100 * accuracy(model, test_x, test_y), model.scale());
    }
    const double acc = accuracy(model, test_x, test_y);
    fmt::print(
        "RESULT: held-out accuracy {:.1f}% (chance is about 50%), learned scale {:.3f} (started at "
        "1)\n",
        100 * acc, model.scale());
    return acc >= 0.9 ? 0 : 1;
}
