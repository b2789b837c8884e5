#include "layers/positional.hpp"

#include <fmt/format.h>

#include <cmath>

#include "autograd/ops/binary.hpp"
#include "autograd/ops/shape.hpp"
#include "layers/init.hpp"

namespace tapegrad {
namespace {

Tensor sinusoid_table(std::int64_t max_len, std::int64_t width, DType dtype) {
    Tensor pe = Tensor::empty({max_len, width}, dtype);
    dispatch("SinusoidalPositionalEncoding", dtype, [&]<class T>() {
        T* p = pe.data<T>();
        for (std::int64_t t = 0; t < max_len; ++t)
            for (std::int64_t c = 0; c < width; ++c) {
                // columns 2i and 2i+1 share the frequency 1/10000^(2i/C)
                const double angle =
                    double(t) / std::pow(10000.0, double(c - c % 2) / double(width));
                p[t * width + c] = static_cast<T>(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
            }
    });
    return pe;
}

}  // namespace

PositionTableLayer::PositionTableLayer(std::string type_name, std::int64_t max_len,
                                       std::int64_t width)
    : Layer(std::move(type_name)) {
    expect_argument(
        max_len > 0 && width > 0,
        fmt::format("max_len and width must be positive (got {} and {})", max_len, width));
}

Tensor PositionTableLayer::positions(std::int64_t length) const {
    const std::int64_t max_len = table_.shape()[0];
    if (length > max_len)
        throw_shape_error(
            describe(),
            fmt::format("sequence length {}, {} {}", length, table_name_, table_.shape()),
            fmt::format("length exceeds max_len ({} vs {})", length, max_len));
    return length == max_len ? table_ : slice(table_, 0, 0, length);
}

Tensor PositionTableLayer::forward(const Tensor& x) {
    expect_features(x, table_.shape()[1], table_name_, table_.shape());
    if (x.rank() < 2)
        throw_shape_error(describe(), fmt::format("input {}", x.shape()),
                          "needs a time axis: [B,T,C] or [T,C]");
    return remember_output(x + positions(x.dim(-2)));
}

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(std::int64_t max_len, std::int64_t width,
                                                           DType dtype)
    : PositionTableLayer("SinusoidalPositionalEncoding", max_len, width) {
    set_table("pe", register_buffer("pe", sinusoid_table(max_len, width, dtype)));
}

LearnedPositionalEmbedding::LearnedPositionalEmbedding(std::int64_t max_len, std::int64_t width,
                                                       LearnedPositionalOptions options)
    : PositionTableLayer("LearnedPositionalEmbedding", max_len, width) {
    Generator gen = layer_generator(options.seed);
    weight_ = register_parameter(
        "weight", init::normal({max_len, width}, 0.0, options.stddev, options.dtype, gen));
    set_table("weight", weight_);
}

}  // namespace tapegrad
