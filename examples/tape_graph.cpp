// What backward will walk: the tape a tiny MLP's loss records, written as a Graphviz DOT file
// (out/mlp_tape.dot) and, when Graphviz' `dot` is installed, rendered to out/mlp_tape.svg.
// Ops are ellipses with their output shape; parameters are filled boxes named as the module
// registered them; the input and target are plain boxes.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <tapegrad/autograd/graph_dot.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/layers/dense.hpp>

using namespace tapegrad;

namespace {

// x [B,3] -> Dense(4, relu) -> Dense(1) -> [B,1]
class TinyMlp : public Module {
public:
    TinyMlp()
        : Module("TinyMlp"),
          hidden_(3, {.units = 4, .activation = Activation::relu, .seed = 1}),
          out_(4, {.units = 1, .seed = 2}) {
        register_module("hidden", hidden_);
        register_module("out", out_);
    }
    Tensor operator()(const Tensor& x) { return out_(hidden_(x)); }

private:
    Dense hidden_, out_;
};

}  // namespace

int main() {
    TinyMlp model;
    const Tensor x = uniform({2, 3}, -1, 1, {.seed = 3});
    const Tensor target = from({0.5, -0.5}, {2, 1});
    const Tensor loss = mse_loss(model(x), target);
    auto names = model.named_parameters();
    names.emplace_back("x", x);
    names.emplace_back("target", target);
    const std::string dot = graph_dot(loss, names);

    std::filesystem::create_directories("out");
    std::ofstream("out/mlp_tape.dot") << dot;
    fmt::print("{}\n", dot);
    fmt::print("loss {:.4f}; the tape above was written to out/mlp_tape.dot\n", loss.item());
    if (std::system("command -v dot >/dev/null 2>&1") == 0 &&
        std::system("dot -Tsvg out/mlp_tape.dot -o out/mlp_tape.svg") == 0)
        fmt::print("rendered with Graphviz: out/mlp_tape.svg\n");
    else
        fmt::print(
            "Graphviz is not installed: render with `dot -Tsvg out/mlp_tape.dot -o "
            "mlp_tape.svg`\n");
    loss.backward();  // walks exactly the ops drawn: every parameter box gets a gradient
    for (const auto& [name, p] : model.named_parameters())
        fmt::print("  d loss / d {:<14} {}\n", name, p.grad().defined() ? "computed" : "missing");
}
