// A GPT in Hugging Face's GPT-2 directory layout, so models move between tapegrad, transformers
// and other tools:
//   DIR/config.json        model_type "gpt2", vocab_size, n_positions, n_embd, n_layer, n_head,
//                          layer_norm_epsilon, ..., and "tapegrad": {"vocabulary": [bytes]} when
//                          the model has a character tokenizer
//   DIR/vocab.json, DIR/merges.txt  a GPT-2 BPE tokenizer, when the model has one (train/
//                          bpe_tokenizer.hpp; OpenAI's encoder.json + vocab.bpe also load)
//   DIR/model.safetensors  GPT-2's names and shapes (wte.weight [V,C], h.0.attn.c_attn.weight
//                          [C,3C], ...), weights stored [in, out] as GPT-2's Conv1D does
// Loading also accepts what transformers' GPT2LMHeadModel writes: a "transformer." prefix, a tied
// "lm_head.weight", and the causal-mask buffers "h.{i}.attn.bias" / "masked_bias".
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "io/safetensors.hpp"
#include "io/text_tokenizer.hpp"
#include "layers/gpt.hpp"

namespace tapegrad {

struct PretrainedGpt {
    std::unique_ptr<Gpt> model;
    std::optional<TextTokenizer> tokenizer;  // absent for models trained on token files
};

struct GptFileConfig {
    GptConfig config;
    std::optional<CharTokenizer> tokenizer;
};

// config.json text for a model (two-space indented, keys sorted).
std::string gpt_config_json(const GptConfig& config, const CharTokenizer* tokenizer);
// Checks every field it uses: sizes are positive integers, n_embd divides by n_head, epsilon and
// dropout are finite and in range, the activation is GPT-2's tanh GELU, the head is tied, the
// vocabulary is distinct bytes and fits vocab_size. IoError "<name>: config: <field> ...".
GptFileConfig parse_gpt_config(std::string_view json_text, std::string_view name_for_errors);

// Writes config.json, model.safetensors and a BPE tokenizer's files into `dir`, replacing it
// atomically (see write_directory_atomic): an interrupted save leaves the previous model whole.
// `weights` f16 or bf16 writes model.safetensors as F16 or BF16 (rounded to nearest even; half
// the size, and load_pretrained widens it back exactly).
void save_pretrained(const std::filesystem::path& dir, const Gpt& model,
                     const TextTokenizer* tokenizer, FloatFormat weights = FloatFormat::as_is);
// The model in `dtype` (weights converted from the file's F32/F64), in training mode, with its
// tokenizer: BPE files in the directory or config.json's characters (IoError when it has both, or
// when the BPE vocabulary's size is not the model's vocab_size).
PretrainedGpt load_pretrained(const std::filesystem::path& dir, DType dtype = f32);

// The files into an existing directory (what save_pretrained and a checkpoint share).
void write_pretrained_files(const std::filesystem::path& dir, const Gpt& model,
                            const TextTokenizer* tokenizer,
                            FloatFormat weights = FloatFormat::as_is);
// model.safetensors' tensors (or another file of the directory in its layout) renamed to
// tapegrad's names and loaded into `model` (strict).
void load_pretrained_weights(const std::filesystem::path& dir, Gpt& model,
                             std::string_view file = "model.safetensors");

}  // namespace tapegrad
