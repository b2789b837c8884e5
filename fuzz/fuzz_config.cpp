// parse_gpt_config on arbitrary text: an IoError, or a config that gpt_config_json writes back
// and parse_gpt_config reads as the same model and vocabulary.
#include "fuzz_common.hpp"
#include "io/pretrained.hpp"

using namespace tapegrad;

namespace {

bool same(const GptFileConfig& a, const GptFileConfig& b) {
    const GptConfig &x = a.config, &y = b.config;
    const bool config = x.vocab_size == y.vocab_size && x.n_positions == y.n_positions &&
                        x.n_embd == y.n_embd && x.n_layer == y.n_layer && x.n_head == y.n_head &&
                        x.layer_norm_epsilon == y.layer_norm_epsilon && x.dropout == y.dropout;
    const bool vocab = a.tokenizer.has_value() == b.tokenizer.has_value() &&
                       (!a.tokenizer || a.tokenizer->vocabulary() == b.tokenizer->vocabulary());
    return config && vocab;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    GptFileConfig parsed;
    if (!fuzz::accepted([&] { parsed = parse_gpt_config(fuzz::text_of(data, size), "fuzz"); }))
        return 0;
    fuzz::require(parsed.config.n_embd % parsed.config.n_head == 0,
                  "an accepted config has n_embd not divisible by n_head");
    const CharTokenizer* tokenizer = parsed.tokenizer ? &*parsed.tokenizer : nullptr;
    const std::string again = gpt_config_json(parsed.config, tokenizer);
    fuzz::require(same(parse_gpt_config(again, "round trip"), parsed),
                  "a parsed config changed in a write/parse round trip");
    return 0;
}
