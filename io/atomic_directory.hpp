// Crash-safe replacement of a whole directory (a checkpoint: config, weights, optimizer state):
// a reader sees the complete old directory or the complete new one, never a mix of files.
#pragma once

#include <filesystem>
#include <functional>

namespace tapegrad {

// Calls `fill(staging)` to write the new contents into an empty sibling directory
// `<dir>.tmp.<pid>` (each file through write_file_atomic, so it is synced), syncs it, then swaps it
// with `dir` in one step (renameat2 RENAME_EXCHANGE; a plain rename when `dir` does not exist yet)
// and removes the old contents. If `fill` throws or a step fails, `dir` is untouched, the staging
// directory is removed and the error propagates (IoError naming the directory for file-system
// failures). `dir` must not be a regular file. First it removes the staging directories that
// killed saves left beside `dir` (io/stale_staging.hpp says which count as left).
void write_directory_atomic(const std::filesystem::path& dir,
                            const std::function<void(const std::filesystem::path& staging)>& fill);

namespace detail {
// Test hook: sleeps TAPEGRAD_TEST_SAVE_PAUSE_MS milliseconds (read once; unset or 0: no pause), so
// a test can kill a saving process between the steps of a directory save and between its files.
void pause_inside_save();
}  // namespace detail

}  // namespace tapegrad
