// tapegrad tokenize --tokenizer DIR --text "...": the ids GPT-2's byte-level BPE gives a text, or
// with --decode "15496 995" the text of ids. DIR (or --model DIR) holds vocab.json + merges.txt
// (Hugging Face's names) or encoder.json + vocab.bpe (OpenAI's).
//   tapegrad tokenize --tokenizer ../shared/data/gpt2-bpe --text "Hello world"   # 15496 995
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "cli/token_ids.hpp"
#include "core/error.hpp"
#include "io/bpe_tokenizer.hpp"

namespace tapegrad::cli {
namespace {

struct TokenizeArgs {
    std::string dir, text, decode;
    bool show_tokens = false;
};

int run_tokenize(const TokenizeArgs& a) {
    const BpeTokenizer bpe = BpeTokenizer::load(a.dir);
    if (!a.decode.empty()) {
        fmt::print("{}\n", bpe.decode(parse_token_ids(a.decode, "--decode")));
        return 0;
    }
    const std::vector<std::int32_t> ids = bpe.encode(a.text);
    fmt::print("{}\n", fmt::join(ids, " "));
    if (a.show_tokens)
        for (std::int32_t id : ids) fmt::print("{:>7}  {:?}\n", id, bpe.token_bytes(id));
    return 0;
}

}  // namespace

Command add_tokenize_command(CLI::App& parent) {
    auto a = std::make_shared<TokenizeArgs>();
    CLI::App* c =
        parent.add_subcommand("tokenize", "GPT-2 BPE token ids of a text, or the text of ids");
    auto* tok = c->add_option("--tokenizer", a->dir,
                              "directory with vocab.json + merges.txt (or encoder.json + "
                              "vocab.bpe)")
                    ->check(CLI::ExistingDirectory);
    c->add_option("--model", a->dir, "a model directory that carries its tokenizer")
        ->check(CLI::ExistingDirectory)
        ->excludes(tok);
    auto* text = c->add_option("--text", a->text, "the text to encode");
    c->add_option("--decode", a->decode, "token ids to decode, separated by spaces")
        ->excludes(text);
    c->add_flag("--tokens", a->show_tokens, "also print each token's id and bytes");
    return {c, [a, c] {
                if (a->dir.empty())
                    throw ValueError("tokenize: give --tokenizer DIR or --model DIR");
                if (c->get_option("--text")->count() == 0 && a->decode.empty())
                    throw ValueError("tokenize: give --text or --decode");
                return run_tokenize(*a);
            }};
}

}  // namespace tapegrad::cli
