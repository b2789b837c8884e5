// Whole-file reads and crash-safe writes: a reader of `path` sees the old file or the new one,
// never a mix, even if the process dies or the disk fills up half way.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace tapegrad {

// Writes `<path>.tmp.<pid>` in the same directory, flushes and fsyncs it, renames it over `path`
// and fsyncs the directory. On any failure the temporary file is removed, `path` is left as it was
// and IoError names the path and the failing step; an exception thrown by `writer` is passed on
// unchanged. First it removes the temporary files that killed writes left beside `path`
// (io/stale_staging.hpp says which count as left).
void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes);
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& writer);

// The whole file; IoError naming the path when it is missing, a directory or unreadable.
std::vector<std::byte> read_file(const std::filesystem::path& path);

// "<file>: <what>" as an IoError: the one format of file errors (what names the offset or the
// entry).
[[noreturn]] void throw_io_error(std::string_view file, std::string_view what);
// The same, for a failed system call: "<file>: <what>: <strerror(err)>".
[[noreturn]] void throw_io_errno(const std::filesystem::path& file, std::string_view what, int err);

namespace detail {
// Test hook: while one is alive, atomic writes on this thread fail after `bytes` bytes with ENOSPC,
// as a full disk would.
class InjectWriteFailure {
public:
    explicit InjectWriteFailure(std::size_t bytes);
    ~InjectWriteFailure();
    InjectWriteFailure(const InjectWriteFailure&) = delete;
    InjectWriteFailure& operator=(const InjectWriteFailure&) = delete;

private:
    std::optional<std::size_t> previous_;
};
}  // namespace detail

}  // namespace tapegrad
