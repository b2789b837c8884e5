#include "io/bpe_tokenizer.hpp"

#include <fmt/format.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/gpt2_pretokenizer.hpp"
#include "io/json_strict.hpp"

namespace tapegrad {
namespace fs = std::filesystem;
namespace {

// GPT-2's byte -> character map: printable Latin-1 bytes stand for themselves, the other 68
// (control characters, space, ...) for U+0100 onwards in byte order, so every token is printable.
struct ByteMap {
    std::array<UChar32, 256> to_char{};
    std::array<std::int16_t, 324> to_byte{};  // character -> byte, -1 where none

    ByteMap() {
        to_byte.fill(-1);
        UChar32 next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            to_char[b] = printable ? b : next++;
            to_byte[to_char[b]] = static_cast<std::int16_t>(b);
        }
    }
};

const ByteMap& byte_map() {
    static const ByteMap map;
    return map;
}

// A token as written in the files -> its raw bytes; nullopt when a character is outside the map.
std::optional<std::string> raw_bytes(std::string_view written) {
    std::string out;
    const auto* s = reinterpret_cast<const std::uint8_t*>(written.data());
    const auto n = static_cast<std::int32_t>(written.size());
    for (std::int32_t i = 0; i < n;) {
        UChar32 c = 0;
        U8_NEXT(s, i, n, c);
        if (c < 0 || c >= 324 || byte_map().to_byte[c] < 0) return std::nullopt;
        out.push_back(static_cast<char>(byte_map().to_byte[c]));
    }
    return out;
}

std::string written_form(std::string_view raw) {
    std::string out;
    for (unsigned char b : raw) {
        const UChar32 c = byte_map().to_char[b];
        char buf[4];
        std::int32_t len = 0;
        U8_APPEND_UNSAFE(buf, len, c);
        out.append(buf, static_cast<std::size_t>(len));
    }
    return out;
}

// A token or line for an error message: quoted, escaped and cut short, whatever its bytes.
std::string shown(std::string_view s) { return short_dump(nlohmann::json(std::string(s))); }

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
}

std::vector<std::string> parse_vocabulary(std::string_view text, std::string_view name) {
    const nlohmann::json j =
        parse_json_strict(text, {.file = name, .what = "vocabulary", .max_depth = 0});
    if (!j.is_object() || j.empty())
        throw_io_error(name, "the vocabulary must be a non-empty JSON object of token -> id");
    std::vector<std::string> tokens(j.size());
    std::vector<const std::string*> owner(j.size(), nullptr);
    for (const auto& [written, id] : j.items()) {
        if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
            id.get<std::int64_t>() >= static_cast<std::int64_t>(j.size()))
            throw_io_error(name, fmt::format("token {}: id {} is not an integer in [0, {})",
                                             shown(written), short_dump(id), j.size()));
        const auto i = id.get<std::size_t>();
        if (owner[i])
            throw_io_error(name, fmt::format("tokens {} and {} both have id {}", shown(*owner[i]),
                                             shown(written), i));
        const std::optional<std::string> raw = raw_bytes(written);
        if (!raw)
            throw_io_error(name, fmt::format("token {} has a character outside GPT-2's byte map",
                                             shown(written)));
        tokens[i] = *raw;
        owner[i] = &written;
    }
    return tokens;
}

}  // namespace

BpeTokenizer BpeTokenizer::parse(std::string_view vocab_json, std::string_view merges,
                                 std::string_view vocab_name, std::string_view merges_name) {
    BpeTokenizer t;
    t.tokens_ = parse_vocabulary(vocab_json, vocab_name);
    std::unordered_map<std::string, std::int32_t> ids;
    for (std::size_t i = 0; i < t.tokens_.size(); ++i)
        ids.emplace(t.tokens_[i], static_cast<std::int32_t>(i));
    for (int b = 0; b < 256; ++b) {
        const auto it = ids.find(std::string(1, static_cast<char>(b)));
        if (it == ids.end())
            throw_io_error(vocab_name,
                           fmt::format("byte {} ({}) has no token of its own", b,
                                       shown(written_form(std::string(1, static_cast<char>(b))))));
        t.byte_ids_[b] = it->second;
    }
    const auto id_of = [&](std::string_view written, std::size_t line) {
        const std::optional<std::string> raw = raw_bytes(written);
        const auto it = raw ? ids.find(*raw) : ids.end();
        if (it == ids.end())
            throw_io_error(merges_name, fmt::format("line {}: {} is not a token of {}", line,
                                                    shown(written), vocab_name));
        return it->second;
    };
    std::size_t line_no = 0;
    for (std::size_t pos = 0; pos < merges.size();) {
        std::size_t end = merges.find('\n', pos);
        if (end == std::string_view::npos) end = merges.size();
        std::string_view line = merges.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
        const std::size_t space = line.find(' ');
        if (space == 0 || space == std::string_view::npos || space + 1 == line.size() ||
            line.find(' ', space + 1) != std::string_view::npos)
            throw_io_error(merges_name,
                           fmt::format("line {}: {} is not two tokens separated by one space",
                                       line_no, shown(line)));
        const std::int32_t left = id_of(line.substr(0, space), line_no);
        const std::int32_t right = id_of(line.substr(space + 1), line_no);
        const auto joined = ids.find(t.tokens_[left] + t.tokens_[right]);
        if (joined == ids.end())
            throw_io_error(merges_name, fmt::format("line {}: the join of {} is not a token of {}",
                                                    line_no, shown(line), vocab_name));
        const auto rank = static_cast<std::int32_t>(t.merge_list_.size());
        t.merges_.try_emplace(pair_key(left, right),
                              Merge{rank, joined->second});  // the first rank wins
        t.merge_list_.emplace_back(left, right);
    }
    return t;
}

bool BpeTokenizer::present(const fs::path& dir) {
    return (fs::is_regular_file(dir / "vocab.json") && fs::is_regular_file(dir / "merges.txt")) ||
           (fs::is_regular_file(dir / "encoder.json") && fs::is_regular_file(dir / "vocab.bpe"));
}

BpeTokenizer BpeTokenizer::load(const fs::path& dir) {
    const bool hf = fs::is_regular_file(dir / "vocab.json");
    if (!hf && !fs::is_regular_file(dir / "encoder.json"))
        throw_io_error(dir.string(),
                       "no tokenizer here (vocab.json + merges.txt, or encoder.json + vocab.bpe)");
    const fs::path vocab = dir / (hf ? "vocab.json" : "encoder.json");
    const fs::path merges = dir / (hf ? "merges.txt" : "vocab.bpe");
    const std::vector<std::byte> v = read_file(vocab), m = read_file(merges);
    return parse({reinterpret_cast<const char*>(v.data()), v.size()},
                 {reinterpret_cast<const char*>(m.data()), m.size()}, vocab.string(),
                 merges.string());
}

void BpeTokenizer::save(const fs::path& dir) const {
    nlohmann::ordered_json vocab;
    for (std::size_t i = 0; i < tokens_.size(); ++i) vocab[written_form(tokens_[i])] = i;
    const std::string v = vocab.dump();
    write_file_atomic(dir / "vocab.json", std::as_bytes(std::span(v)));
    std::string m = "#version: 0.2\n";
    for (const auto& [left, right] : merge_list_)
        m += written_form(tokens_[left]) + " " + written_form(tokens_[right]) + "\n";
    write_file_atomic(dir / "merges.txt", std::as_bytes(std::span(m)));
}

const BpeTokenizer::Merge* BpeTokenizer::merge_of(std::int32_t left, std::int32_t right) const {
    const auto it = merges_.find(pair_key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
}

// The merges as a queue of candidate pairs, lowest (rank, position) first, over a linked list of
// the piece's tokens: a popped pair whose tokens have changed since it was queued is stale and
// skipped. Pairs of one rank merge left to right without overlap, as GPT-2's loop does, in
// O(n log n) for a piece of n bytes (a megabyte of spaces is one piece).
void BpeTokenizer::encode_piece(std::string_view piece, std::vector<std::int32_t>& out) const {
    const auto n = static_cast<std::int32_t>(piece.size());
    if (n == 1) return out.push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
    struct Candidate {
        std::int32_t rank, pos, left, right, merged;  // merged: the id the pair becomes
        bool operator>(const Candidate& o) const {
            return rank != o.rank ? rank > o.rank : pos > o.pos;
        }
    };
    thread_local std::vector<std::int32_t> id, next, prev;  // reused: no allocation per piece
    thread_local std::vector<Candidate> heap;
    id.resize(n), next.resize(n), prev.resize(n);
    heap.clear();
    const auto offer = [&](std::int32_t pos) {  // queues the pair starting at pos, if it merges
        if (pos < 0 || next[pos] >= n) return;
        if (const Merge* m = merge_of(id[pos], id[next[pos]])) {
            heap.push_back({m->rank, pos, id[pos], id[next[pos]], m->merged});
            std::push_heap(heap.begin(), heap.end(), std::greater<>());
        }
    };
    for (std::int32_t i = 0; i < n; ++i)
        id[i] = byte_ids_[static_cast<unsigned char>(piece[i])], next[i] = i + 1, prev[i] = i - 1;
    for (std::int32_t i = 0; i + 1 < n; ++i) offer(i);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), std::greater<>());
        const Candidate c = heap.back();
        heap.pop_back();
        const std::int32_t right = next[c.pos];
        if (id[c.pos] != c.left || right >= n || id[right] != c.right || prev[c.pos] == -2)
            continue;
        id[c.pos] = c.merged;
        next[c.pos] = next[right];
        if (next[right] < n) prev[next[right]] = c.pos;
        prev[right] = -2;  // merged away
        offer(prev[c.pos]);
        offer(c.pos);
    }
    for (std::int32_t i = 0; i < n; i = next[i]) out.push_back(id[i]);
}

std::vector<std::int32_t> BpeTokenizer::encode(std::string_view text) const {
    std::vector<std::int32_t> out;
    out.reserve(text.size() / 3);
    // Words repeat: a piece seen before in this text copies the ids it got then (where in `out`).
    std::unordered_map<std::string_view, std::pair<std::size_t, std::size_t>> seen;
    seen.reserve(text.size() / 32 + 16);
    for (std::string_view piece : gpt2_pretokenize(text)) {
        const auto [it, fresh] = seen.try_emplace(piece, out.size(), 0);
        if (!fresh) {
            const auto [first, count] = it->second;
            for (std::size_t i = 0; i < count; ++i) out.push_back(out[first + i]);
            continue;
        }
        encode_piece(piece, out);
        it->second.second = out.size() - it->second.first;
    }
    return out;
}

std::string BpeTokenizer::decode(const std::vector<std::int32_t>& ids) const {
    std::string out;
    for (std::int32_t id : ids) out += token_bytes(id);
    return out;
}

const std::string& BpeTokenizer::token_bytes(std::int32_t id) const {
    if (id < 0 || id >= size())
        throw ValueError(
            fmt::format("BpeTokenizer: id {} is outside the vocabulary [0, {})", id, size()));
    return tokens_[static_cast<std::size_t>(id)];
}

}  // namespace tapegrad
