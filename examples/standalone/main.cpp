// A program outside the tapegrad tree, built against the installed package (CMakeLists.txt here):
// a Dense layer, then self-attention the Keras way, Attention(use_scale=true)(h, h), trained with
// AdamW. Task: from 6 random 4-vectors, predict a fixed linear function of their mean. Prints the
// held-out loss as it falls; exits with 1 unless it ends below a fifth of where it started.
#include <fmt/format.h>

#include <tapegrad/tapegrad.hpp>  // the whole public API, as the CI step checks

using namespace tapegrad;

namespace {

constexpr std::int64_t batch = 32, tokens = 6, features = 4, width = 16;

// x [B,T,F] -> [B,1]: h = relu(Dense(x)), a = Attention(h, h), y = Dense(mean of a over tokens).
// Attention takes two inputs, so the model calls it in plain C++ instead of stacking it.
class Model : public Module {
public:
    Model()
        : Module("Model"),
          embed_(features, {.units = width, .activation = Activation::relu, .seed = 1}),
          self_attention_({.use_scale = true}),
          head_(width, {.units = 1, .seed = 2}) {
        register_module("embed", embed_);
        register_module("self_attention", self_attention_);
        register_module("head", head_);
    }
    Tensor operator()(const Tensor& x) {
        const Tensor h = embed_(x);              // [B,T,16]
        const Tensor a = self_attention_(h, h);  // [B,T,16]
        return head_(mean(a, {1}));              // [B,1]
    }

private:
    Dense embed_;
    Attention self_attention_;
    Dense head_;
};

const Tensor target_weights = from({1.0, -2.0, 0.5, 3.0}, {features, 1});

// Random sequences and the function of them to learn: mean over tokens, times target_weights.
std::pair<Tensor, Tensor> make_batch(std::uint64_t seed) {
    Tensor x = randn({batch, tokens, features}, {.seed = seed});
    return {x, matmul(mean(x, {1}), target_weights)};
}

double held_out_loss(Model& model, const std::pair<Tensor, Tensor>& data) {
    NoGrad no_grad;
    return mse_loss(model(data.first), data.second).item();
}

}  // namespace

int main() {
    fmt::print("tapegrad {}\n", version());
    Model model;
    AdamW optimizer(model.parameters(), {.lr = 1e-2});
    const auto test = make_batch(1000);
    const double first = held_out_loss(model, test);
    fmt::print("step   0  held-out loss {:.4f}\n", first);
    for (int step = 1; step <= 60; ++step) {
        const auto [x, y] = make_batch(step);
        optimizer.zero_grad();
        mse_loss(model(x), y).backward();
        optimizer.step();
        if (step % 15 == 0)
            fmt::print("step {:>3}  held-out loss {:.4f}\n", step, held_out_loss(model, test));
    }
    const double last = held_out_loss(model, test);
    const bool fell = last < first / 5;
    fmt::print("RESULT: held-out loss {:.4f} -> {:.4f}: {}\n", first, last,
               fell ? "it fell" : "it did NOT fall enough");
    return fell ? 0 : 1;
}
