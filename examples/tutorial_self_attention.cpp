// Tutorial step 3 (docs/tutorial.md): self-attention as Attention(use_scale=true)(X, X). The only
// parameter is the learned scale; training it to make every token keep its own value shows it
// sharpening the softmax from nearly uniform weights to nearly one-hot ones.
#include <fmt/format.h>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/layers/attention.hpp>
#include <tapegrad/optim/adam.hpp>

using namespace tapegrad;

namespace {

// The mean weight each token puts on itself: the diagonal of weights [1,T,T].
double weight_on_self(const Tensor& weights) {
    double sum = 0;
    for (std::int64_t i = 0; i < weights.dim(1); ++i) sum += weights.at({0, i, i});
    return sum / static_cast<double>(weights.dim(1));
}

}  // namespace

int main() {
    // [tutorial:self_attention]
    const Tensor x = uniform({1, 6, 8}, -0.5, 0.5, {.seed = 1});  // six small tokens, width 8
    Attention self_attention({.use_scale = true});  // one parameter, "scale", starts at 1
    Adam optimizer(self_attention.parameters(), {.lr = 0.1});
    for (int step = 0; step <= 200; ++step) {
        const AttentionResult r = self_attention(x, x, Tensor(), {.return_attention_scores = true});
        const Tensor loss = mse_loss(r.output, x);  // goal: each token keeps its own value
        if (step % 50 == 0)
            fmt::print("step {:>3}  scale {:6.3f}  loss {:.5f}  weight on itself {:.3f}\n", step,
                       self_attention.state_dict().at("scale").item(), loss.item(),
                       weight_on_self(r.scores));
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }
    // [/tutorial:self_attention]
}
