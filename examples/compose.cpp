// Two ways to compose a model, both trained with fit(). Task: for each token of a sequence, does
// the same token appear elsewhere in the sequence?
//  1. Sequential (keras.Sequential): a stack of single-input layers. Each position is processed on
//     its own, so it cannot see the other tokens: it can only learn the base rate.
//  2. Plain C++ (the counterpart of Keras' functional API): Attention(use_scale=true)(X, X) takes
//     two inputs, so it cannot go in a Sequential; a Module wires it by hand, and reuses a
//     Sequential as its classifier head.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/layers/attention.hpp>
#include <tapegrad/layers/sequential.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/train/callbacks.hpp>
#include <tapegrad/train/fit.hpp>
#include <tapegrad/train/fit_checkpoint.hpp>
#include <tapegrad/train/toy_tasks.hpp>

using namespace tapegrad;
using namespace tapegrad::layers;

namespace {

constexpr std::int64_t vocab = 16, length = 8, width = 32;

// ids i32 [N,T] of random tokens; labels i32 [N,T]: 1 where the token occurs elsewhere in its row.
std::pair<Tensor, Tensor> make_data(std::int64_t n, std::uint64_t seed) {
    Generator gen(seed);
    Tensor x = Tensor::empty({n, length}, i32), y = Tensor::empty({n, length}, i32);
    std::int32_t* ids = x.data<std::int32_t>();
    std::int32_t* labels = y.data<std::int32_t>();
    for (std::int64_t i = 0; i < n * length; ++i)
        ids[i] = static_cast<std::int32_t>(gen.below(vocab));
    for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t t = 0; t < length; ++t) {
            const std::int32_t* row = ids + r * length;
            labels[r * length + t] =
                static_cast<std::int32_t>(std::count(row, row + length, row[t]) > 1);
        }
    return {x, y};
}

// Functional style: every input and branch is explicit C++.
class TwinFinder : public Module {
public:
    TwinFinder()
        : Module("TwinFinder"),
          embed_(vocab, width, {.init = EmbeddingInit::uniform, .scale = 1.0, .seed = 1}),
          self_attention_({.use_scale = true}),
          head_{input(3 * width), dense({.units = 64, .activation = Activation::relu, .seed = 2}),
                dense({.units = 2, .seed = 3})} {
        register_module("embed", embed_);
        register_module("self_attention", self_attention_);
        register_module("head", head_);
        std::vector<std::uint8_t> others(length * length, 1);  // a token must not find itself
        for (std::int64_t i = 0; i < length; ++i) others[i * length + i] = 0;
        not_self_ = mask(others, {length, length});
    }
    // ids i32 [B,T] -> logits [B,T,2]
    Tensor operator()(const Tensor& ids) {
        const Tensor x = embed_(ids);                                                     // [B,T,C]
        const Tensor a = self_attention_(x, x, Tensor(), {.attention_mask = not_self_});  // [B,T,C]
        return head_(concat({x, a, x * a}, -1));                                          // [B,T,2]
    }

private:
    Embedding embed_;
    Attention self_attention_;
    Sequential head_;
    Tensor not_self_;
};

Tensor token_cross_entropy(const Tensor& logits, const Tensor& labels) {
    return cross_entropy(logits, labels);
}

// Share of tokens whose label is predicted right.
double token_accuracy(const Tensor& logits, const Tensor& labels) {
    const Shape column{labels.numel(), 1};
    return exact_accuracy(argmax_last(logits).view_as_shape(column), labels.view_as_shape(column));
}

}  // namespace

int main() {
    const auto [x, y] = make_data(4096, 1);
    const auto [val_x, val_y] = make_data(1000, 2);
    const TensorDataset train(x, y, {.shuffle = true, .seed = 3}), val(val_x, val_y);
    const FitOptions options{
        .batch_size = 64, .epochs = 25, .validation_data = &val, .validation_every = 64};
    ProgressLogger progress;

    fmt::print("1. Sequential: each token on its own\n");
    Sequential per_token{embedding(vocab, width, {.seed = 1}), dense(64, "relu"), dropout(0.1, 4),
                         dense(2)};
    Adam seq_optimizer(per_token.parameters(), {.lr = 3e-3});
    EarlyStopping seq_early({.patience = 3, .min_delta = 1e-3, .restore_best_weights = true});
    fit(per_token, token_cross_entropy, seq_optimizer, train, options, {progress, seq_early});
    const double seq_acc = token_accuracy(predict(per_token, val_x, 1000), val_y);
    fmt::print("{}", per_token.summary());  // output shapes of the last call

    fmt::print("\n2. Functional: Attention(use_scale=true)(X, X) lets tokens look at each other\n");
    TwinFinder model;
    Adam optimizer(model.parameters(), {.lr = 3e-3});
    const auto root = std::filesystem::temp_directory_path() / "tapegrad_compose_checkpoints";
    std::filesystem::remove_all(root);
    EarlyStopping early({.patience = 4, .min_delta = 1e-4, .restore_best_weights = true});
    Checkpoint checkpoint(module_saver(model, optimizer), {.root = root, .every = 256, .keep = 2});
    const BatchLoss loss = [&model](const Batch& b) { return cross_entropy(model(b.x), b.y); };
    fit(model, loss, optimizer, train, options, {progress, early, checkpoint});
    const auto forward = [&model](const Tensor& ids) { return model(ids); };
    const double acc = token_accuracy(predict(model, forward, val_x, 256), val_y);
    fmt::print("{} checkpoints kept under {}; newest: {}\n", list_checkpoints(root).size(),
               root.string(), latest_checkpoint(root)->filename().string());
    std::filesystem::remove_all(root);

    fmt::print(
        "RESULT: held-out per-token accuracy: Sequential {:.1f}% (the base rate), Attention(X, X) "
        "{:.1f}%\n",
        100 * seq_acc, 100 * acc);
    return acc >= 0.95 && acc > seq_acc + 0.2 ? 0 : 1;
}
