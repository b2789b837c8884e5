// Position information added to token embeddings. Both layers take x [B,T,C] (or [T,C]) and
// return x + P[:T] with P [max_len, C] broadcast over the batch; T > max_len is a ShapeError.
//   SinusoidalPositionalEncoding: "Attention Is All You Need" §3.5, a buffer "pe" (not trained):
//     P[t, 2i] = sin(t / 10000^(2i/C)),  P[t, 2i+1] = cos(t / 10000^(2i/C))
//   LearnedPositionalEmbedding: a trained table "weight" [max_len, C], normal(0, 0.02) as
//     GPT-2's wpe (HF name wpe.weight).
//   positions(T) returns P[:T] [T,C] itself, for code that combines it differently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "layers/layer.hpp"

namespace tapegrad {

// What both position layers share: a [max_len, C] table, its checks, x + P[:T].
class PositionTableLayer : public Layer {
public:
    Tensor forward(const Tensor& x) override;
    Tensor positions(std::int64_t length) const;  // P[:T] [T,C]; differentiable for a parameter

protected:
    PositionTableLayer(std::string type_name, std::int64_t max_len, std::int64_t width);
    void set_table(std::string name, Tensor table) {
        table_name_ = std::move(name);
        table_ = std::move(table);
    }

private:
    std::string table_name_;
    Tensor table_;  // [max_len, C]
};

class SinusoidalPositionalEncoding : public PositionTableLayer {
public:
    SinusoidalPositionalEncoding(std::int64_t max_len, std::int64_t width, DType dtype = f32);
};

struct LearnedPositionalOptions {
    double stddev = 0.02;
    std::optional<std::uint64_t> seed;  // unset = global generator
    DType dtype = f32;
};

class LearnedPositionalEmbedding : public PositionTableLayer {
public:
    LearnedPositionalEmbedding(std::int64_t max_len, std::int64_t width,
                               LearnedPositionalOptions options = {});
    const Tensor& weight() const { return weight_; }

private:
    Tensor weight_;
};

}  // namespace tapegrad
