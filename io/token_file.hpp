// llm.c's token files: a header of 256 little-endian int32 (magic 20240520, version 1, token count,
// the rest unused), then the tokens as little-endian uint16.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace tapegrad {

// IoError "<name_for_errors>: <what>" on a short file, wrong magic or version, a negative count, or
// a count that disagrees with the file size (truncated or trailing bytes).
std::vector<std::int32_t> parse_token_file(std::span<const std::byte> bytes,
                                           std::string_view name_for_errors);
std::vector<std::int32_t> load_token_file(const std::filesystem::path& path);

// The file's bytes; ValueError when a token is outside 0..65535 or there are more than 2^31−1
// tokens.
std::vector<std::byte> serialize_token_file(std::span<const std::int32_t> tokens);
void save_token_file(const std::filesystem::path& path,
                     std::span<const std::int32_t> tokens);  // atomic

}  // namespace tapegrad
