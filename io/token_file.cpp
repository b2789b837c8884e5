#include "io/token_file.hpp"

#include <fmt/format.h>

#include <limits>

#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace tapegrad {
namespace {

constexpr std::int32_t magic = 20240520;
constexpr std::int32_t version = 1;
constexpr std::size_t header_bytes = 256 * 4;

std::uint32_t read_le(std::span<const std::byte> bytes, std::size_t at, std::size_t width) {
    std::uint32_t v = 0;
    for (std::size_t k = width; k-- > 0;)
        v = v << 8 | std::to_integer<std::uint32_t>(bytes[at + k]);
    return v;
}

void write_le(std::vector<std::byte>& out, std::size_t at, std::uint32_t v, std::size_t width) {
    for (std::size_t k = 0; k < width; ++k) out[at + k] = static_cast<std::byte>(v >> (8 * k));
}

}  // namespace

std::vector<std::int32_t> parse_token_file(std::span<const std::byte> bytes,
                                           std::string_view file) {
    if (bytes.size() < header_bytes)
        throw_io_error(file,
                       fmt::format("file is {} bytes, shorter than the {}-byte token file header",
                                   bytes.size(), header_bytes));
    const auto header = [&](std::size_t i) {
        return static_cast<std::int32_t>(read_le(bytes, 4 * i, 4));
    };
    if (header(0) != magic)
        throw_io_error(file,
                       fmt::format("magic number is {} (expected {}): not an llm.c token file",
                                   header(0), magic));
    if (header(1) != version)
        throw_io_error(file, fmt::format("token file version {} is not supported (expected {})",
                                         header(1), version));
    const std::int32_t count = header(2);
    if (count < 0) throw_io_error(file, fmt::format("token count {} is negative", count));
    const std::size_t want = 2 * static_cast<std::size_t>(count),
                      have = bytes.size() - header_bytes;
    if (have < want)
        throw_io_error(
            file, fmt::format("the header promises {} tokens ({} bytes) but only {} bytes follow "
                              "it: the file is truncated",
                              count, want, have));
    if (have > want)
        throw_io_error(file,
                       fmt::format("{} trailing bytes after the {} tokens the header promises",
                                   have - want, count));
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(count));
    for (std::size_t i = 0; i < tokens.size(); ++i)
        tokens[i] = static_cast<std::int32_t>(read_le(bytes, header_bytes + 2 * i, 2));
    return tokens;
}

std::vector<std::int32_t> load_token_file(const std::filesystem::path& path) {
    return parse_token_file(read_file(path), path.string());
}

std::vector<std::byte> serialize_token_file(std::span<const std::int32_t> tokens) {
    if (tokens.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        throw ValueError(
            fmt::format("token file: {} tokens exceed the int32 count field", tokens.size()));
    for (std::size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] > 65535)
            throw ValueError(fmt::format(
                "token file: token {} at index {} does not fit uint16 (0..65535)", tokens[i], i));
    std::vector<std::byte> out(header_bytes + 2 * tokens.size());
    write_le(out, 0, magic, 4);
    write_le(out, 4, version, 4);
    write_le(out, 8, static_cast<std::uint32_t>(tokens.size()), 4);
    for (std::size_t i = 0; i < tokens.size(); ++i)
        write_le(out, header_bytes + 2 * i, static_cast<std::uint32_t>(tokens[i]), 2);
    return out;
}

void save_token_file(const std::filesystem::path& path, std::span<const std::int32_t> tokens) {
    write_file_atomic(path, serialize_token_file(tokens));
}

}  // namespace tapegrad
