// Leftovers of interrupted atomic writes: the staging directory `<dir>.tmp.<pid>` of
// write_directory_atomic and the temporary file `<path>.tmp.<pid>` of write_file_atomic, which stay
// behind when their process is killed in the middle of a write.
#pragma once

#include <filesystem>
#include <vector>

namespace tapegrad {

// The leftovers of earlier writes to `target` (a directory or a file; "out/" names "out"): the
// siblings named `<target name>.tmp.<pid>` that are stale. One is stale when
// - no process has its pid (kill(pid, 0) fails with ESRCH) or that process is a zombie: its writer
//   died; or
// - its pid is alive, but the entry was last modified before `target` was (a complete write to
//   `target` has finished since) and the process holding the pid started after that modification
//   (/proc/<pid>/stat): the writer died and its pid was reused. The second condition keeps the
//   staging of a live writer even when another process has replaced `target` since.
// Entries with this process's pid are not listed: a writer clears its own name itself. Without
// /proc, or under a /proc of another PID namespace (no start times), a pid that is alive always
// keeps its entry.
std::vector<std::filesystem::path> stale_staging(const std::filesystem::path& target);

// True when /proc shows this process's PID namespace, so the start time of the process holding a
// pid can be read, and a pid reused since the entry was written can be told from its writer.
bool can_tell_reused_pids();

// Removes what stale_staging(target) lists. Best effort: a leftover that cannot be removed (or that
// another process removes first) is skipped, since it never stops the write that follows.
void remove_stale_staging(const std::filesystem::path& target);

}  // namespace tapegrad
