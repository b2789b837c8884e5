#include "layers/gpt.hpp"

#include <fmt/format.h>

#include <cmath>
#include <utility>

#include "autograd/ops/binary.hpp"
#include "autograd/ops/loss.hpp"
#include "autograd/ops/matmul.hpp"
#include "autograd/ops/packed_attention.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/ops/unary.hpp"
#include "autograd/tape.hpp"
#include "layers/attention_core.hpp"
#include "layers/init.hpp"

namespace tapegrad {
namespace {

constexpr double init_stddev = 0.02;  // GPT-2's initializer_range

// What a forward keeps for reading after it lives in the module, which a sharded step's threads
// share: each would overwrite the others'.
void expect_not_sharded(const std::string& who) {
    if (current_shard() >= 0)
        throw ValueError(fmt::format(
            "{}: cannot keep what a forward computes inside a sharded step (the shards' threads "
            "share the module); run that forward on its own",
            who));
}

const GptConfig& checked(const GptConfig& c, const char* who) {
    auto fail = [&](const std::string& what) {
        throw ValueError(fmt::format("{}: {}", who, what));
    };
    if (c.vocab_size < 1 || c.n_positions < 1 || c.n_embd < 1 || c.n_layer < 0 || c.n_head < 1)
        fail(fmt::format("sizes must be positive (vocab_size {}, n_positions {}, n_embd {}, ",
                         c.vocab_size, c.n_positions, c.n_embd) +
             fmt::format("n_layer {}, n_head {})", c.n_layer, c.n_head));
    if (c.n_embd % c.n_head != 0)
        fail(fmt::format("n_embd must be divisible by n_head ({} vs {})", c.n_embd, c.n_head));
    if (!(c.dropout >= 0.0 && c.dropout < 1.0))
        fail(fmt::format("dropout must be in [0, 1) (got {})", c.dropout));
    return c;
}

void keep_block_insides(GptBlock& block, bool on) {
    block.attention().keep_attention_weights(on);
    block.mlp().keep_gelu_input(on);
}

// c_proj weights write into the residual stream, which sums 2·n_layer of them: GPT-2 scales their
// initial std by 1/√(2·n_layer) so the stream's variance does not grow with depth.
double residual_stddev(const GptConfig& c) {
    return init_stddev / std::sqrt(2.0 * double(std::max<std::int64_t>(c.n_layer, 1)));
}

DropoutOptions dropout_options(const GptConfig& c, Generator& gen) {
    return {.rate = c.dropout, .seed = gen.next_u64()};
}

// Checks x [B,T,C] for a block-level layer, naming it.
void expect_sequence(const Module& layer, const Tensor& x, std::int64_t width) {
    if (x.rank() != 3 || x.shape().back() != width)
        throw_shape_error(layer.describe(), fmt::format("input {}", x.shape()),
                          fmt::format("expected [B,T,{}] (got rank {}, width {})", width, x.rank(),
                                      x.rank() ? x.shape().back() : 0));
}

}  // namespace

Conv1D::Conv1D(std::int64_t in, std::int64_t out, double stddev, Generator& gen, DType dtype)
    : Layer("Conv1D") {
    weight_ = register_parameter("weight", init::normal({in, out}, 0.0, stddev, dtype, gen));
    bias_ = register_parameter("bias", init::zeros({out}, dtype));
}

Tensor Conv1D::forward(const Tensor& x) {
    expect_features(x, weight_.shape()[0], "weight", weight_.shape());
    return remember_output(linear(x, weight_, bias_));
}

Mlp::Mlp(const GptConfig& c, Generator& gen)
    : Layer("Mlp"),
      c_fc_(checked(c, "Mlp").n_embd, 4 * c.n_embd, init_stddev, gen, c.dtype),
      c_proj_(4 * c.n_embd, c.n_embd, residual_stddev(c), gen, c.dtype),
      dropout_(dropout_options(c, gen)) {
    register_module("c_fc", c_fc_);
    register_module("c_proj", c_proj_);
    register_module("dropout", dropout_);
}

Tensor Mlp::forward(const Tensor& x) {
    if (keep_gelu_input_) expect_not_sharded(describe());
    const Tensor pre = c_fc_(x);
    if (keep_gelu_input_) gelu_input_ = pre;
    return remember_output(dropout_(c_proj_(gelu(pre))));
}

void Mlp::keep_gelu_input(bool on) {
    keep_gelu_input_ = on;
    if (!on) gelu_input_ = Tensor();
}

CausalSelfAttention::CausalSelfAttention(const GptConfig& c, Generator& gen)
    : Layer("CausalSelfAttention"),
      n_embd_(checked(c, "CausalSelfAttention").n_embd),
      n_head_(c.n_head),
      c_attn_(c.n_embd, 3 * c.n_embd, init_stddev, gen, c.dtype),
      c_proj_(c.n_embd, c.n_embd, residual_stddev(c), gen, c.dtype),
      attn_dropout_(dropout_options(c, gen)),
      resid_dropout_(dropout_options(c, gen)) {
    register_module("c_attn", c_attn_);
    register_module("c_proj", c_proj_);
    register_module("attn_dropout", attn_dropout_);
    register_module("resid_dropout", resid_dropout_);
}

Tensor CausalSelfAttention::forward(const Tensor& x) { return attend(x, nullptr, nullptr); }

Tensor CausalSelfAttention::forward(const Tensor& x, Tensor& cached_keys, Tensor& cached_values) {
    return attend(x, &cached_keys, &cached_values);
}

Tensor CausalSelfAttention::attend(const Tensor& x, Tensor* cached_keys, Tensor* cached_values) {
    expect_sequence(*this, x, n_embd_);
    const std::int64_t T = x.dim(1), H = n_head_, D = n_embd_ / n_head_;
    const double scale = 1.0 / std::sqrt(double(D));
    const Tensor packed = c_attn_(x);      // [B,T,3C]: q | k | v
    if (!cached_keys && !keep_weights_) {  // the heads read in place, no copies
        const AttentionDropout dropout{
            .rate = attn_dropout_.is_training() ? attn_dropout_.rate() : 0.0,
            .generator = &attn_dropout_.generator()};
        const Tensor y = packed_self_attention(packed, H, scale, /*causal=*/true, dropout);
        return remember_output(resid_dropout_(c_proj_(y)));
    }
    auto [q, k, v] = packed_heads(packed, H);     // [B,H,T,D] each
    if (cached_keys && cached_keys->defined()) {  // the cached tokens come first
        if (T != 1)
            throw_shape_error(
                describe(),
                fmt::format("input {} after {} cached tokens", x.shape(), cached_keys->dim(2)),
                "feed one token at a time once the cache holds some");
        k = concat({*cached_keys, k}, 2), v = concat({*cached_values, v}, 2);
    }
    if (cached_keys) *cached_keys = k, *cached_values = v;
    // A lone query after cached keys is the newest position: it sees every key, no mask.
    const AttentionCoreOptions options{.convention = AttentionConvention::multi_head,
                                       .scale = scale,
                                       .dropout = attn_dropout_.rate(),
                                       .training = attn_dropout_.is_training(),
                                       .generator = &attn_dropout_.generator(),
                                       .return_weights = keep_weights_};
    const AttentionMasks masks{.causal = k.dim(2) == T};
    AttentionCoreResult r = dot_product_attention(q, k, v, masks, options);
    if (keep_weights_) {
        expect_not_sharded(describe());
        weights_ = r.weights, head_outputs_ = r.output;
    }
    const Tensor y = merge_heads(r.output);  // [B,H,T,D] -> [B,T,C]
    return remember_output(resid_dropout_(c_proj_(y)));
}

void CausalSelfAttention::keep_attention_weights(bool on) {
    keep_weights_ = on;
    if (!on) weights_ = Tensor(), head_outputs_ = Tensor();
}

GptBlock::GptBlock(const GptConfig& c, Generator& gen)
    : Layer("GptBlock"),
      ln_1_(checked(c, "GptBlock").n_embd, {.epsilon = c.layer_norm_epsilon, .dtype = c.dtype}),
      attn_(c, gen),
      ln_2_(c.n_embd, {.epsilon = c.layer_norm_epsilon, .dtype = c.dtype}),
      mlp_(c, gen) {
    register_module("ln_1", ln_1_);
    register_module("attn", attn_);
    register_module("ln_2", ln_2_);
    register_module("mlp", mlp_);
}

Tensor GptBlock::forward(const Tensor& x) {
    const Tensor h = x + attn_(ln_1_(x));
    return remember_output(h + mlp_(ln_2_(h)));
}

Tensor GptBlock::forward(const Tensor& x, Tensor& cached_keys, Tensor& cached_values) {
    const Tensor h = x + attn_.forward(ln_1_(x), cached_keys, cached_values);
    return remember_output(h + mlp_(ln_2_(h)));
}

Gpt::Gpt(const GptConfig& config)
    : Module("Gpt"),
      config_(checked(config, "Gpt")),
      gen_(layer_generator(config_.seed)),
      wte_(config_.vocab_size, config_.n_embd,
           {.scale = init_stddev, .seed = gen_.next_u64(), .dtype = config_.dtype}),
      wpe_(config_.n_positions, config_.n_embd,
           {.stddev = init_stddev, .seed = gen_.next_u64(), .dtype = config_.dtype}),
      drop_(dropout_options(config_, gen_)),
      ln_f_(config_.n_embd, {.epsilon = config_.layer_norm_epsilon, .dtype = config_.dtype}) {
    register_module("wte", wte_);
    register_module("wpe", wpe_);
    register_module("drop", drop_);
    register_module("h", h_);
    for (std::int64_t i = 0; i < config_.n_layer; ++i) h_.emplace_back(config_, gen_);
    register_module("ln_f", ln_f_);
}

void Gpt::check_ids(const Tensor& ids, std::int64_t first_position) const {
    if (!ids.defined() || ids.dtype() != i32 || ids.rank() != 2)
        throw ValueError(fmt::format("{}: ids must be i32 [B,T] (got {} {})", describe(),
                                     ids.defined() ? dtype_name(ids.dtype()) : "undefined",
                                     ids.defined() ? ids.shape() : Shape{}));
    if (first_position + ids.dim(1) > config_.n_positions)
        throw_shape_error(describe(),
                          first_position ? fmt::format("ids {} after {} cached tokens", ids.shape(),
                                                       first_position)
                                         : fmt::format("ids {}", ids.shape()),
                          fmt::format("sequence length exceeds n_positions ({} vs {})",
                                      first_position + ids.dim(1), config_.n_positions));
}

Tensor Gpt::operator()(const Tensor& ids) {
    check_ids(ids);
    return logits(drop_(wpe_(wte_(ids))), nullptr);
}

Tensor Gpt::forward_cached(const Tensor& ids, KvCache& cache) {
    check_ids(ids, cache.length);
    if (cache.keys.empty()) cache.keys.resize(h_.size()), cache.values.resize(h_.size());
    const Tensor positions = slice(wpe_.weight(), 0, cache.length, cache.length + ids.dim(1));
    const Tensor out = logits(drop_(wte_(ids) + positions), &cache);
    cache.length += ids.dim(1);
    return out;
}

// The blocks, the final norm and the tied head over the embedded tokens x [B,T,C].
// While armed (record_next_forward) it keeps the residual stream and asks the blocks to keep the
// rest; the sublayers' copies are moved into recorded_ and dropped at the end.
Tensor Gpt::logits(const Tensor& embedded, KvCache* cache) {
    const bool record = std::exchange(record_next_, false);
    if (record) expect_not_sharded(describe());
    struct StopKeeping {  // after this pass, even one that throws, the blocks keep nothing
        ModuleList<GptBlock>& blocks;
        bool on;
        ~StopKeeping() {
            for (std::size_t i = 0; on && i < blocks.size(); ++i)
                keep_block_insides(blocks[i], false);
        }
    } stop_keeping{h_, record};
    if (record) {
        recorded_ = GptActivations{.residual = {embedded}};
        for (std::size_t i = 0; i < h_.size(); ++i) keep_block_insides(h_[i], true);
    }
    Tensor x = embedded;
    for (std::size_t i = 0; i < h_.size(); ++i) {
        x = cache ? h_[i].forward(x, cache->keys[i], cache->values[i]) : h_[i](x);
        if (record) recorded_.residual.push_back(x);
    }
    // tied head: [B,T,C] @ [V,C]ᵀ, wte read in place through the transpose flag
    Tensor out = remember_output(matmul(ln_f_(x), wte_.weight(), false, true));
    if (record) {
        recorded_.logits = out;
        for (std::size_t i = 0; i < h_.size(); ++i) {
            GptBlock& block = h_[i];
            recorded_.attention.push_back(block.attention().attention_weights());
            recorded_.head_outputs.push_back(block.attention().head_outputs());
            recorded_.gelu_inputs.push_back(block.mlp().gelu_input());
        }
    }
    return out;
}

void Gpt::record_next_forward() { record_next_ = true; }

GptActivations Gpt::take_activations() { return std::exchange(recorded_, GptActivations{}); }

Tensor Gpt::loss(const Tensor& ids, const Tensor& targets) {
    check_ids(ids);
    if (!targets.defined() || targets.dtype() != i32 || !(targets.shape() == ids.shape()))
        throw_shape_error(describe(),
                          fmt::format("ids {}, targets {}", ids.shape(),
                                      targets.defined() ? targets.shape() : Shape{}),
                          "targets must be i32 with the ids' shape");
    return cross_entropy((*this)(ids), targets);
}

// Each block's attention keeps its weights for one forward pass; a guard switches the keeping
// off and restores the mode even when the pass throws.
std::vector<Tensor> Gpt::attention_maps(const Tensor& ids) {
    check_ids(ids);
    struct Restore {
        Gpt& model;
        bool training;
        ~Restore() {
            for (std::size_t i = 0; i < model.h_.size(); ++i)
                model.h_[i].attention().keep_attention_weights(false);
            model.train(training);
        }
    } restore{*this, is_training()};
    NoGrad no_grad;
    eval();
    for (std::size_t i = 0; i < h_.size(); ++i) h_[i].attention().keep_attention_weights(true);
    (*this)(ids);
    std::vector<Tensor> maps;
    for (std::size_t i = 0; i < h_.size(); ++i)
        maps.push_back(h_[i].attention().attention_weights());
    return maps;
}

}  // namespace tapegrad
