// GPT-2's byte-level BPE (io/bpe_tokenizer.hpp) and its pre-tokenizer: a vocabulary of the
// project's own (tests/fixtures/bpe, made by make_bpe_fixture.py), GPT-2's real files when
// ../shared/data/gpt2-bpe is there, and the malformed files a user may hand it.
#include <doctest/doctest.h>

#include <fstream>

#include "cli_runner.hpp"
#include "core/random.hpp"
#include "io/bpe_tokenizer.hpp"
#include "io/gpt2_pretokenizer.hpp"
#include "support.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

using Pieces = std::vector<std::string_view>;

BpeTokenizer small_vocabulary() {
    return BpeTokenizer::load(test::source_dir() / "tests/fixtures/bpe");
}

std::string file_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("gpt2_pretokenize: the cuts of GPT-2's expression, piece by piece") {
    CHECK(gpt2_pretokenize("Hello world") == Pieces{"Hello", " world"});
    CHECK(gpt2_pretokenize("I'm don't 'sup 'S") ==
          Pieces{"I", "'m", " don", "'t", " '", "sup", " '", "S"});
    CHECK(gpt2_pretokenize("we'll they've you're he'd") ==
          Pieces{"we", "'ll", " they", "'ve", " you", "'re", " he", "'d"});
    CHECK(gpt2_pretokenize("a  b") == Pieces{"a", " ", " b"});  // \s+(?!\S) leaves one space
    CHECK(gpt2_pretokenize("a\n\nb") == Pieces{"a", "\n", "\n", "b"});    // then \s+ takes the last
    CHECK(gpt2_pretokenize("a\tb   ") == Pieces{"a", "\t", "b", "   "});  // a run at the end: whole
    CHECK(gpt2_pretokenize("3.14 x2 123abc") == Pieces{"3", ".", "14", " x", "2", " 123", "abc"});
    CHECK(gpt2_pretokenize("hi  !?") == Pieces{"hi", " ", " !?"});
    // Unicode letters and numbers (ICU's categories) and White_Space (U+3000 is one, U+00A0 too).
    CHECK(gpt2_pretokenize("naïve café €10 日本語") ==
          Pieces{"naïve", " café", " €", "10", " 日本語"});
    CHECK(gpt2_pretokenize("x\u3000y") == Pieces{"x", "\u3000", "y"});
    CHECK(gpt2_pretokenize("Ⅻ½") == Pieces{"Ⅻ½"});  // letter number and other number: both N
    // Bytes that are not UTF-8 are "other" characters: cut like punctuation, never lost.
    CHECK(gpt2_pretokenize("\xff\xfe"
                           "ab \xc3") == Pieces{"\xff\xfe", "ab", " \xc3"});
    CHECK(gpt2_pretokenize("").empty());
}

TEST_CASE(
    "BpeTokenizer: merges apply lowest rank first, left to right, and decode gives the bytes "
    "back") {
    const BpeTokenizer bpe = small_vocabulary();
    CHECK(bpe.size() == 256 + 8);
    // "hello": h e l l o -> (he) l l o -> he (ll) o -> (hell) o; " the": (he) first, then " t".
    CHECK(bpe.encode("hello the") == std::vector<std::int32_t>{260, 'o', 258});
    CHECK(bpe.encode("lll") == std::vector<std::int32_t>{259, 'l'});  // left to right
    CHECK(bpe.encode("      x") ==
          std::vector<std::int32_t>{261, 261, ' ', ' ', 'x'});  // "     " " x"
    CHECK(bpe.encode("€") == std::vector<std::int32_t>{263});
    CHECK(bpe.token_bytes(258) == " the");
    CHECK(bpe.decode({260, 'o', 258}) == "hello the");
    test::check_throws_with<ValueError>([&] { bpe.decode({264}); }, {"id 264", "[0, 264)"});
}

TEST_CASE("BpeTokenizer: any bytes round-trip exactly, invalid UTF-8 included") {
    const BpeTokenizer bpe = small_vocabulary();
    Generator gen(3);
    for (int trial = 0; trial < 200; ++trial) {
        std::string bytes(gen.below(64), '\0');
        for (char& c : bytes)
            c = static_cast<char>(gen.below(4) == 0 ? "he l\n"[gen.below(5)] : gen.below(256));
        CHECK(bpe.decode(bpe.encode(bytes)) == bytes);
    }
    const std::string spaces(100000, ' ');  // one piece of 100,000 bytes: merges in n log n
    const std::vector<std::int32_t> ids = bpe.encode(spaces);
    CHECK(ids.size() == 50000);
    CHECK(bpe.decode(ids) == spaces);
}

TEST_CASE("BpeTokenizer: save writes vocab.json and merges.txt that load to the same tokenizer") {
    const fs::path dir = test::scratch_dir("bpe_save");
    const BpeTokenizer bpe = small_vocabulary();
    bpe.save(dir);
    CHECK(BpeTokenizer::present(dir));
    const BpeTokenizer back = BpeTokenizer::load(dir);
    CHECK(back.size() == bpe.size());
    CHECK(back.encode("hello the €") == bpe.encode("hello the €"));
    CHECK(file_text(dir / "merges.txt") ==
          file_text(test::source_dir() / "tests/fixtures/bpe/merges.txt"));
    CHECK_FALSE(BpeTokenizer::present(test::scratch_dir("bpe_empty")));
}

TEST_CASE("BpeTokenizer: malformed files are refused naming the file and the key or line") {
    const std::string vocab = file_text(test::source_dir() / "tests/fixtures/bpe/vocab.json");
    const std::string merges = file_text(test::source_dir() / "tests/fixtures/bpe/merges.txt");
    const auto refused = [](std::string_view v, std::string_view m,
                            const std::vector<std::string>& parts) {
        test::check_throws_with<IoError>([&] { BpeTokenizer::parse(v, m, "v.json", "m.txt"); },
                                         parts);
    };
    refused("{\"a\": 0", merges, {"v.json", "not valid JSON"});
    refused(vocab.substr(0, vocab.size() / 2), merges, {"v.json"});  // truncated
    refused("[1, 2]", merges, {"v.json", "JSON object"});
    std::string dup = vocab;
    dup.replace(dup.rfind(": 263"), 5, ": 262");
    refused(dup, merges, {"v.json", "both have id 262"});
    std::string far = vocab;
    far.replace(far.rfind(": 263"), 5, ": 900");
    refused(far, merges, {"v.json", "id 900", "[0, 264)"});
    refused(R"({"a": 0, "\u0000": 1})", "", {"v.json", "outside GPT-2's byte map"});
    refused(R"({"a": 0})", "", {"v.json", "has no token of its own"});
    refused(vocab, merges + "h xyz\n", {"m.txt", "line 10", "\"xyz\" is not a token"});
    refused(vocab, merges + "e h\n", {"m.txt", "line 10", "join of \"e h\""});
    refused(vocab, "#version: 0.2\nh  e\n",
            {"m.txt", "line 2", "two tokens separated by one space"});
    test::check_throws_with<IoError>([] { BpeTokenizer::load(test::scratch_dir("bpe_missing")); },
                                     {"encoder.json"});
}

TEST_CASE(
    "BpeTokenizer: GPT-2's own files give GPT-2's encodings (needs ../shared/data/gpt2-bpe)") {
    const fs::path dir = test::source_dir() / "../shared/data/gpt2-bpe";
    if (!BpeTokenizer::present(dir)) {
        MESSAGE("skipped: GPT-2's tokenizer files are not in ../shared/data/gpt2-bpe");
        return;
    }
    const BpeTokenizer gpt2 = BpeTokenizer::load(dir);
    CHECK(gpt2.size() == 50257);
    CHECK(gpt2.encode("Hello world") == std::vector<std::int32_t>{15496, 995});
    CHECK(gpt2.encode(" tapegrad trains transformers.") ==
          std::vector<std::int32_t>{9154, 9744, 13404, 6121, 364, 13});
    CHECK(gpt2.token_bytes(50256) == "<|endoftext|>");
    const std::string text = "It's 3.14 o'clock\n\n  naïve  ☃ \xff!";
    CHECK(gpt2.decode(gpt2.encode(text)) == text);
}

TEST_CASE("cli: tokenize prints ids, decodes them, and refuses a directory without a tokenizer") {
    const std::string dir = (test::source_dir() / "tests/fixtures/bpe").string();
    const test::CliResult ids =
        test::run_cli({"tokenize", "--tokenizer", dir, "--text", "hello the"});
    CHECK(ids.status == 0);
    CHECK(ids.output == "260 111 258\n");
    const test::CliResult text =
        test::run_cli({"tokenize", "--tokenizer", dir, "--decode", "260 111 258"});
    CHECK(text.output == "hello the\n");
    const test::CliResult bad =
        test::run_cli({"tokenize", "--tokenizer", dir, "--decode", "260 x"});
    CHECK(bad.status == 1);
    CHECK(bad.output.find("--decode: 'x' is not a token id") != std::string::npos);
    const test::CliResult none = test::run_cli(
        {"tokenize", "--tokenizer", test::scratch_dir("bpe_none").string(), "--text", "a"});
    CHECK(none.status == 1);
    CHECK(none.output.find("no tokenizer here") != std::string::npos);
}

TEST_CASE(
    "cli: train --tokenizer trains on BPE ids, saves the tokenizer with the model, and sample "
    "reads it") {
    const fs::path dir = test::scratch_dir("bpe_train");
    {
        std::ofstream text(dir / "text.txt");
        for (int i = 0; i < 300; ++i) text << "hello the hell " << i % 7 << "\n";
    }
    const std::string tokenizer = (test::source_dir() / "tests/fixtures/bpe").string();
    const test::CliResult train = test::run_cli({"train",
                                                 "--data",
                                                 (dir / "text.txt").string(),
                                                 "--tokenizer",
                                                 tokenizer,
                                                 "--n-layer",
                                                 "1",
                                                 "--n-head",
                                                 "2",
                                                 "--n-embd",
                                                 "16",
                                                 "--block-size",
                                                 "16",
                                                 "--batch",
                                                 "4",
                                                 "--steps",
                                                 "3",
                                                 "--quiet",
                                                 "--save",
                                                 (dir / "model").string()});
    INFO(train.output);
    REQUIRE(train.status == 0);
    CHECK(BpeTokenizer::present(dir / "model"));
    const test::CliResult info = test::run_cli({"info", (dir / "model").string()});
    CHECK(info.output.find("vocab_size 264") != std::string::npos);
    CHECK(info.output.find("GPT-2 byte-level BPE, 264 tokens") != std::string::npos);
    const test::CliResult sample =
        test::run_cli({"sample", "--model", (dir / "model").string(), "--prompt", "hello the",
                       "--tokens", "5", "--seed", "1"});
    CHECK(sample.status == 0);
    CHECK(sample.output.starts_with("hello the"));
    // A model with a character vocabulary keeps it: --tokenizer is refused before training.
    const test::CliResult chars =
        test::run_cli({"train", "--data", (dir / "text.txt").string(), "--n-layer", "1", "--n-head",
                       "2", "--n-embd", "16", "--block-size", "16", "--steps", "1", "--quiet",
                       "--save", (dir / "chars").string()});
    REQUIRE(chars.status == 0);
    const test::CliResult mismatch =
        test::run_cli({"train", "--data", (dir / "text.txt").string(), "--init",
                       (dir / "chars").string(), "--tokenizer", tokenizer, "--steps", "1"});
    CHECK(mismatch.status == 1);
    CHECK(mismatch.output.find("has its own (") != std::string::npos);
}
