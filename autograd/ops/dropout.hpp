// Dropout.
#pragma once

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace tapegrad {

// Inverted dropout: each element is kept with probability 1 − rate and scaled by 1/(1 − rate), so
// the expected output equals x and evaluation needs no rescaling. The mask comes from `gen` and is
// saved for backward (dx = dy·mask/(1 − rate)). rate must be in [0, 1); rate 0 returns x itself.
Tensor dropout(const Tensor& x, double rate, Generator& gen);

}  // namespace tapegrad
