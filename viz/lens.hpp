// The logit lens (nostalgebraist 2020): what a GPT would predict if it stopped after each block,
// reading the residual stream through the final layer norm and the tied head. train/lens.hpp
// computes it; these draw it as a terminal table and as an SVG.
#pragma once

#include <string>
#include <vector>

namespace tapegrad {

struct LensGuess {
    std::string token;
    double probability = 0.0;
};

struct LogitLens {
    std::vector<std::string> tokens;  // the prompt's T tokens, as labels
    std::vector<std::string> layers;  // "embeddings", "block 0", ...: n_layer + 1 read-outs
    std::vector<std::vector<std::vector<LensGuess>>> top;  // [layer][position]: top-k, best first
    std::vector<double> residual_norms;  // [layer]: ‖x_t‖ of the residual stream, mean over t
    // [block][head]: the head's direct contribution to the logit of the correct next token, mean
    // over the positions that have one (empty when the prompt has one token). Through the final
    // layer norm taken as linear at the pass's own mean and std: γ·(c − mean c)/σ · wte[next].
    std::vector<std::vector<double>> head_logit;
    std::string title;  // "logit lens of <model> reading \"<prompt>\"", drawn above
};

// A table for the terminal: a row per read-out with its ‖x‖ and each position's top-1 token and
// probability, then the heads' direct contributions, a row per block.
std::string lens_table(const LogitLens& lens);
// The same as a picture: a grid of read-outs × positions, each cell the top-1 token on a colour
// for its probability (tooltip: the top-k), the residual norms beside it, and a grid of blocks ×
// heads coloured by the direct contribution.
std::string lens_svg(const LogitLens& lens);

}  // namespace tapegrad
