#include "layers/dropout.hpp"

#include <fmt/format.h>

#include "autograd/ops/dropout.hpp"

namespace tapegrad {

Dropout::Dropout(DropoutOptions options)
    : Layer("Dropout"), opt_(options), gen_(layer_generator(options.seed)) {
    expect_argument(opt_.rate >= 0.0 && opt_.rate < 1.0,
                    fmt::format("rate must be in [0, 1) (got {})", opt_.rate));
    register_generator("generator", gen_);
}

Tensor Dropout::operator()(const Tensor& x, std::optional<bool> training) {
    const bool active = training.value_or(is_training()) && opt_.rate > 0.0;
    return remember_output(active ? dropout(x, opt_.rate, gen_) : x);
}

}  // namespace tapegrad
