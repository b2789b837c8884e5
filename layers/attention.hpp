// Luong (dot-product) attention with keras.layers.Attention's arguments, defaults and weights.
//   query [B,Tq,D], value [B,Tv,Dv], key [B,Tv,D] (defaults to value)  ->  output [B,Tq,Dv]
//   dot:     scores = Q·Kᵀ, times the learned scalar `scale` when use_scale (no 1/√D factor)
//   concat:  scores = concat_score_weight · Σ_d tanh(scale·(q_id + k_jd))   (scale only if
//   use_scale) output = softmax over Tv of the masked scores, @ V; rows of masked queries are set
//   to 0
// Parameters: "scale" [] = 1 when use_scale; "concat_score_weight" [] = 1 when score_mode is
// concat. The classic self-attention, with the learned temperature as its only parameter:
//   Attention self_attention({.use_scale = true});  Tensor y = self_attention(x, x);
// Masks, causal masking, dropout and the weighted sum are layers/attention_core's (Keras'
// conventions). Differences from Keras: query, value and key are separate arguments rather than a
// list; the masks are fields of AttentionCall (which also takes an attention_mask); `training`
// unset follows train()/eval(); a fully masked row is exactly uniform (Keras subtracts 1e9 from
// the scores, we replace them by −1e9: the same in float32, and the weights of partly masked rows
// are identical).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/random.hpp"
#include "layers/attention_core.hpp"
#include "layers/module.hpp"

namespace tapegrad {

enum class ScoreMode { dot, concat };

struct AttentionOptions {
    bool use_scale = false;                 // learned scalar `scale`, initialised to 1
    ScoreMode score_mode = ScoreMode::dot;  // dot | concat
    double dropout = 0.0;                   // on the attention weights, training only, in [0, 1)
    std::optional<std::uint64_t> seed;  // dropout's generator; unset = drawn from the global one
};

// What Attention and AdditiveAttention share (Keras' AdditiveAttention subclasses Attention too):
// the input checks, the call into attention_core and dropout's generator. A subclass only makes
// the scores.
class AttentionBase : public Module {
public:
    // key undefined = value. Returns {output [B,Tq,Dv], scores [B,Tq,Tv] if asked for}.
    AttentionResult operator()(const Tensor& query, const Tensor& value,
                               const Tensor& key = Tensor(), const AttentionCall& call = {});

protected:
    AttentionBase(std::string type_name, double dropout, std::optional<std::uint64_t> seed);
    // query [B,Tq,D], key [B,Tv,D] -> scores [B,Tq,Tv]; shapes already checked against each other.
    virtual Tensor scores(const Tensor& query, const Tensor& key) = 0;
    // Seeded by the options' seed (else one draw from the global generator); initialisers draw
    // from it first, dropout afterwards.
    Generator& generator() { return generator_; }

private:
    double dropout_;
    Generator generator_;
};

class Attention : public AttentionBase {
public:
    explicit Attention(AttentionOptions options = {});
    const AttentionOptions& options() const { return opt_; }

private:
    Tensor scores(const Tensor& query, const Tensor& key) override;

    AttentionOptions opt_;
    Tensor scale_;                // [] when use_scale
    Tensor concat_score_weight_;  // [] when score_mode is concat
};

// q [B,Tq,D], k [B,Tv,D] -> Σ_d weight_d · tanh(q_id + k_jd) [B,Tq,Tv], the additive score of both
// Attention's concat mode and AdditiveAttention; weight undefined means all ones.
Tensor additive_scores(const Tensor& query, const Tensor& key, const Tensor& weight);

}  // namespace tapegrad
