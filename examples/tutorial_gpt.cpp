// Tutorial step 6 (docs/tutorial.md): a GPT (pre-LN blocks of causal self-attention and an MLP)
// learns a short repeating text character by character; then its attention maps are drawn to
// out/tutorial_gpt_attention.svg.
#include <fmt/format.h>

#include <tapegrad/io/tokenizer.hpp>
#include <tapegrad/layers/gpt.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/train/data.hpp>
#include <tapegrad/viz/heatmap.hpp>
#include <tapegrad/viz/svg.hpp>

using namespace tapegrad;

int main() {
    // [tutorial:gpt]
    std::string text;
    for (int i = 0; i < 40; ++i) text += "the cat sat on the mat. ";
    const CharTokenizer tokenizer = CharTokenizer::from_text(text);
    const TokenData data(tokenizer.encode(text));
    Gpt model({.vocab_size = tokenizer.size(),
               .n_positions = 24,
               .n_embd = 32,
               .n_layer = 2,
               .n_head = 2,
               .seed = 1});
    AdamW optimizer(model.parameters(), {.lr = 3e-3});
    for (std::int64_t step = 0; step <= 300; ++step) {
        const Batch b = data.batch(step, 8, 24);  // 8 random windows, y = x shifted
        const Tensor loss = model.loss(b.x, b.y);
        if (step % 100 == 0) fmt::print("step {:>3}  loss {:.3f}\n", step, loss.item());
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }
    // [/tutorial:gpt]
    // [tutorial:heatmap]
    const std::string prompt = "the cat sat on the mat";
    const std::vector<std::int32_t> tokens = tokenizer.encode(prompt);
    const auto T = static_cast<std::int64_t>(tokens.size());
    const std::vector<Tensor> maps = model.attention_maps(ids(tokens, {1, T}));  // [1,H,T,T]
    std::vector<std::string> labels;
    for (char c : prompt) labels.push_back(c == ' ' ? "␣" : std::string(1, c));
    svg::save_file("out/tutorial_gpt_attention.svg",
                   attention_svg(maps, labels, labels, {.title = "a tiny GPT reading a sentence"}));
    fmt::print("wrote out/tutorial_gpt_attention.svg: {} layers × {} heads\n", maps.size(),
               maps[0].dim(1));
    // [/tutorial:heatmap]
}
