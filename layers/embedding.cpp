#include "layers/embedding.hpp"

#include <fmt/format.h>

#include "autograd/ops/index.hpp"
#include "layers/init.hpp"

namespace tapegrad {
namespace {

Tensor initial_table(const Shape& shape, const EmbeddingOptions& opt) {
    Generator gen = layer_generator(opt.seed);
    if (opt.init == EmbeddingInit::normal)
        return init::normal(shape, 0.0, opt.scale, opt.dtype, gen);
    Tensor t = Tensor::empty(shape, opt.dtype);
    dispatch("Embedding", opt.dtype,
             [&]<class T>() { gen.fill_uniform(t.span<T>(), -opt.scale, opt.scale); });
    return t;
}

}  // namespace

Embedding::Embedding(std::int64_t input_dim, std::int64_t output_dim, EmbeddingOptions options)
    : Layer("Embedding") {
    expect_argument(input_dim > 0 && output_dim > 0,
                    fmt::format("input_dim and output_dim must be positive (got {} and {})",
                                input_dim, output_dim));
    weight_ = register_parameter("weight", initial_table({input_dim, output_dim}, options));
}

Tensor Embedding::forward(const Tensor& ids) {
    if (!ids.defined() || ids.dtype() != i32)
        throw ValueError(fmt::format("{}: ids {} must be i32 token ids (got {})", describe(),
                                     ids.defined() ? fmt::format("{}", ids.shape()) : "undefined",
                                     ids.defined() ? dtype_name(ids.dtype()) : "none"));
    try {
        return remember_output(embedding(weight_, ids));
    } catch (const ValueError& e) {  // an id out of range: say which layer's table it missed
        throw ValueError(fmt::format("{}: {}", describe(), e.what()));
    }
}

}  // namespace tapegrad
