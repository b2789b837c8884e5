// GPT-2 (Radford et al. 2019) with HF transformers' module and parameter names, so a GPT-2
// checkpoint's state dict loads as is: wte.weight, wpe.weight, h.{i}.ln_1.weight,
// h.{i}.attn.c_attn.weight [C,3C], h.{i}.attn.c_proj.weight [C,C], h.{i}.mlp.c_fc.weight [C,4C],
// h.{i}.mlp.c_proj.weight [4C,C], each with a bias, ln_f.weight/bias. The output head is tied to
// wte: logits = ln_f(x) @ wteᵀ, no separate parameter (HF's lm_head shares wte's storage).
// Initialisation as GPT-2: weights normal(0, 0.02), the two c_proj weights normal(0,
// 0.02/√(2·n_layer)) (residual-path scaling), biases zeros, layer norms ones/zeros.
//   Gpt model({.vocab_size = 65, .n_positions = 64, .n_embd = 128, .n_layer = 4, .n_head = 4});
//   Tensor logits = model(ids);          // ids i32 [B,T] -> [B,T,V]
//   Tensor loss = model.loss(ids, targets);
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "layers/dropout.hpp"
#include "layers/embedding.hpp"
#include "layers/layer.hpp"
#include "layers/layer_norm.hpp"
#include "layers/positional.hpp"

namespace tapegrad {

// HF GPT2Config's names; the defaults are GPT-2 small's, except dropout (HF: 0.1 for the
// embeddings, residual and attention weights; here one rate for all three).
struct GptConfig {
    std::int64_t vocab_size = 50257;
    std::int64_t n_positions = 1024;  // longest sequence
    std::int64_t n_embd = 768;        // C, divisible by n_head
    std::int64_t n_layer = 12;
    std::int64_t n_head = 12;
    double layer_norm_epsilon = 1e-5;
    double dropout = 0.0;
    std::optional<std::uint64_t>
        seed;  // initialisation and dropout masks; unset = global generator
    DType dtype = f32;
};

// The keys and values a GPT has computed for the tokens it has read, per block, so generation
// feeds one new token per step instead of the whole context (Gpt::forward_cached).
struct KvCache {
    std::vector<Tensor> keys, values;  // per block [B,H,L,D]
    std::int64_t length = 0;           // L: the tokens read so far (their positions are 0..L-1)
};

// HF's Conv1D: a linear layer storing weight [in, out] (nn.Linear stores [out, in]); bias [out].
//   y = x @ weight + bias, x [..., in] -> [..., out]
class Conv1D : public Layer {
public:
    Conv1D(std::int64_t in, std::int64_t out, double stddev, Generator& gen, DType dtype);
    Tensor forward(const Tensor& x) override;

private:
    Tensor weight_, bias_;
};

// x [B,T,C] -> c_fc [B,T,4C] -> gelu (tanh approximation, HF "gelu_new") -> c_proj [B,T,C] ->
// dropout
class Mlp : public Layer {
public:
    Mlp(const GptConfig& config, Generator& gen);
    Tensor forward(const Tensor& x) override;
    // While on, forward keeps the GELU's input [B,T,4C] (c_fc's output) for gelu_input(); off
    // drops it. The training-health probe reads how much of it sits in GELU's flat tail.
    void keep_gelu_input(bool on);
    const Tensor& gelu_input() const { return gelu_input_; }

private:
    Conv1D c_fc_, c_proj_;
    Dropout dropout_;
    bool keep_gelu_input_ = false;
    Tensor gelu_input_;
};

// Multi-head causal self-attention, x [B,T,C] -> [B,T,C]:
//   q, k, v = split(c_attn(x), C)               one fused [C,3C] projection, q first
//   per head (D = C/H): a = softmax(q kᵀ/√D, keys after the query masked) -> attn_dropout
//   y = resid_dropout(c_proj(concat_heads(a v)))
class CausalSelfAttention : public Layer {
public:
    CausalSelfAttention(const GptConfig& config, Generator& gen);
    Tensor forward(const Tensor& x) override;
    // forward for x [B,t,C] that follow the `cache` keys/values [B,H,L,D] (L = 0: none yet), which
    // it extends by x's: queries attend to every cached key and, causally, to their own.
    // t = 1 once anything is cached (generation's one token per step).
    Tensor forward(const Tensor& x, Tensor& cached_keys, Tensor& cached_values);
    // While on, forward keeps its softmax weights [B,H,T,T] (before attn_dropout) for
    // attention_weights(); off by default, so training holds no extra tensor. Off drops them.
    void keep_attention_weights(bool on);
    const Tensor& attention_weights() const { return weights_; }
    // Also kept while on: each head's mixed values [B,H,T,D] before c_proj, so the logit lens can
    // split the block's output into the heads' shares (rows hD..(h+1)D of c_proj.weight are h's).
    const Tensor& head_outputs() const { return head_outputs_; }

private:
    Tensor attend(const Tensor& x, Tensor* cached_keys, Tensor* cached_values);

    std::int64_t n_embd_, n_head_;
    Conv1D c_attn_, c_proj_;
    Dropout attn_dropout_, resid_dropout_;
    bool keep_weights_ = false;
    Tensor weights_;       // the last forward's softmax weights, while keep_weights_
    Tensor head_outputs_;  // and its heads' outputs
};

// Pre-LN block (GPT-2): h = x + attn(ln_1(x)); y = h + mlp(ln_2(h)), x [B,T,C] -> [B,T,C].
class GptBlock : public Layer {
public:
    GptBlock(const GptConfig& config, Generator& gen);
    Tensor forward(const Tensor& x) override;
    Tensor forward(const Tensor& x, Tensor& cached_keys, Tensor& cached_values);  // see the attention's
    CausalSelfAttention& attention() { return attn_; }
    Mlp& mlp() { return mlp_; }

private:
    LayerNorm ln_1_;
    CausalSelfAttention attn_;
    LayerNorm ln_2_;
    Mlp mlp_;
};

// What one forward pass computed inside a GPT, for the training-health probe and the logit lens:
// the residual stream [B,T,C] after the embeddings and after each block (n_layer + 1 tensors),
// per block the attention weights [B,H,T,T], the heads' outputs [B,H,T,D] before c_proj and the
// GELU's input [B,T,4C], and the logits [B,T,V]. The tensors are the pass's own, not copies.
struct GptActivations {
    std::vector<Tensor> residual, attention, head_outputs, gelu_inputs;
    Tensor logits;
};

class Gpt : public Module {
public:
    explicit Gpt(const GptConfig& config);
    // ids i32 [B,T], T <= n_positions -> logits [B,T,V]
    Tensor operator()(const Tensor& ids);
    // The logits of ids i32 [B,t] that follow the cache's L tokens (positions L..L+t-1), extending
    // the cache: the prompt first (any t), then one token per call (t = 1). Equals the last t rows
    // of operator() on all L + t tokens. For inference: run it under NoGrad in eval mode.
    Tensor forward_cached(const Tensor& ids, KvCache& cache);
    // Mean cross-entropy of the next-token logits against targets i32 [B,T].
    Tensor loss(const Tensor& ids, const Tensor& targets);
    const GptConfig& config() const { return config_; }
    ModuleList<GptBlock>& blocks() { return h_; }
    const ModuleList<GptBlock>& blocks() const { return h_; }
    // Where each head looks: every block's softmax weights for ids i32 [B,T], one [B,H,T,T] tensor
    // per layer (row = query, column = key; rows sum to 1; keys after the query get exactly 0).
    // Runs in eval mode (no dropout) without recording a tape, then restores the previous mode.
    std::vector<Tensor> attention_maps(const Tensor& ids);
    // Arms the model to keep what its next forward pass computes (GptActivations); that pass
    // then disarms it, so validation passes after it do not overwrite it. Costs nothing unarmed.
    void record_next_forward();
    // The recorded pass's tensors (empty if none was recorded), handed over and forgotten.
    GptActivations take_activations();

private:
    void check_ids(const Tensor& ids, std::int64_t first_position = 0) const;
    Tensor logits(const Tensor& embedded, KvCache* cache);  // blocks, ln_f, tied head

    GptConfig config_;
    Generator gen_;  // draws the initial weights, then seeds each dropout
    Embedding wte_;
    LearnedPositionalEmbedding wpe_;
    Dropout drop_;
    ModuleList<GptBlock> h_;
    LayerNorm ln_f_;
    bool record_next_ = false;
    GptActivations recorded_;
};

}  // namespace tapegrad
