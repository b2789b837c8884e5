// GPT-2's pre-tokenizer and byte-level BPE on arbitrary bytes, with the project's small vocabulary
// (tests/fixtures/bpe). The first byte picks the target: odd, the rest is text, which must encode
// (any bytes do), whose pieces must tile it, and which must decode back exactly; even, the rest is
// a merges.txt for that vocabulary, which BpeTokenizer::parse may refuse only with an IoError.
#include <string>

#include "fuzz_common.hpp"
#include "io/atomic_file.hpp"
#include "io/bpe_tokenizer.hpp"
#include "io/gpt2_pretokenizer.hpp"

using namespace tapegrad;

namespace {

const std::string& fixture(const char* name) {
    static const std::string vocab = [] {
        const std::vector<std::byte> b = read_file(TAPEGRAD_BPE_FIXTURE "/vocab.json");
        return std::string(reinterpret_cast<const char*>(b.data()), b.size());
    }();
    static const std::string merges = [] {
        const std::vector<std::byte> b = read_file(TAPEGRAD_BPE_FIXTURE "/merges.txt");
        return std::string(reinterpret_cast<const char*>(b.data()), b.size());
    }();
    return std::string_view(name) == "vocab" ? vocab : merges;
}

void check_text(std::string_view text) {
    static const BpeTokenizer bpe = BpeTokenizer::parse(fixture("vocab"), fixture("merges"));
    std::size_t at = 0;
    for (std::string_view piece : gpt2_pretokenize(text)) {
        fuzz::require(!piece.empty() && piece.data() == text.data() + at,
                      "pieces do not tile the text");
        at += piece.size();
    }
    fuzz::require(at == text.size(), "pieces do not cover the text");
    fuzz::require(bpe.decode(bpe.encode(text)) == text,
                  "decode(encode(text)) differs from the text");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest = fuzz::text_of(data + 1, size - 1);
    if (data[0] & 1) {
        check_text(rest);
        return 0;
    }
    BpeTokenizer parsed = BpeTokenizer::parse(fixture("vocab"), fixture("merges"));
    if (!fuzz::accepted([&] { parsed = BpeTokenizer::parse(fixture("vocab"), rest, "v", "m"); }))
        return 0;
    fuzz::require(parsed.decode(parsed.encode("hello the hell")) == "hello the hell",
                  "an accepted merges file breaks the round trip");
    return 0;
}
