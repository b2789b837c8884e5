// GPT-2's byte-level BPE tokenizer. Text is cut by gpt2_pretokenize, each piece's bytes start as
// one token each, and the merges are applied lowest rank first (the order GPT-2 learned them)
// until none applies; the tokens' ids are the result. Any bytes encode, invalid UTF-8 included,
// and decode(encode(bytes)) == bytes.
// The files are Hugging Face's `vocab.json` + `merges.txt` or OpenAI's `encoder.json` +
// `vocab.bpe` (the same content): a JSON object token → id, and "A B" merge lines in rank order,
// tokens written through GPT-2's byte → printable-character map (a space is "Ġ").
//   const BpeTokenizer bpe = BpeTokenizer::load("gpt2/");
//   bpe.encode("Hello world")  // {15496, 995}
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tapegrad {

class BpeTokenizer {
public:
    // From the texts of a vocabulary and a merges file; `vocab_name` and `merges_name` name them in
    // errors. IoError naming the file and the key or line for anything malformed: not JSON, an id
    // that is not an integer in [0, size), two tokens with one id, a token with a character
    // outside GPT-2's byte map, a merge line that is not two known tokens whose join is known.
    static BpeTokenizer parse(std::string_view vocab_json, std::string_view merges,
                              std::string_view vocab_name = "vocab.json",
                              std::string_view merges_name = "merges.txt");
    // From a directory holding vocab.json + merges.txt or encoder.json + vocab.bpe; IoError
    // "<dir>: no tokenizer here ..." when it holds neither, or naming the file that is missing.
    static BpeTokenizer load(const std::filesystem::path& dir);
    // True when `dir` holds either pair of files.
    static bool present(const std::filesystem::path& dir);
    // Writes vocab.json + merges.txt into dir (each atomically).
    void save(const std::filesystem::path& dir) const;

    std::int64_t size() const { return static_cast<std::int64_t>(tokens_.size()); }
    std::vector<std::int32_t> encode(std::string_view text) const;
    // ValueError naming an id outside [0, size).
    std::string decode(const std::vector<std::int32_t>& ids) const;
    const std::string& token_bytes(std::int32_t id) const;  // the raw bytes of one token

private:
    struct Merge {
        std::int32_t rank;
        std::int32_t merged;  // the id of the joined token
    };
    void encode_piece(std::string_view piece, std::vector<std::int32_t>& out) const;
    const Merge* merge_of(std::int32_t left, std::int32_t right) const;

    std::vector<std::string> tokens_;                  // id -> raw bytes
    std::int32_t byte_ids_[256]{};                     // byte -> the id of its one-byte token
    std::unordered_map<std::uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
    std::vector<std::pair<std::int32_t, std::int32_t>> merge_list_;  // by rank, for save()
};

}  // namespace tapegrad
