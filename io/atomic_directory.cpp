#include "io/atomic_directory.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <system_error>
#include <thread>

#include "io/atomic_file.hpp"
#include "io/stale_staging.hpp"

namespace tapegrad {
namespace fs = std::filesystem;
namespace {

void sync_path(const fs::path& dir, const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_io_errno(dir, fmt::format("cannot open {} to sync it", path.string()), errno);
    const int r = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (r != 0 && err != EINVAL)
        throw_io_errno(dir, fmt::format("fsync of {} failed", path.string()), err);
}

// Removes the staging directory unless it was swapped in; after a swap it holds the old contents,
// which are removed as well.
class Staging {
public:
    explicit Staging(fs::path path) : path_(std::move(path)) {
        std::error_code ec;
        fs::remove_all(path_, ec);  // a leftover of a crashed save by a process with our pid
        fs::create_directories(path_);
    }
    ~Staging() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    Staging(const Staging&) = delete;
    Staging& operator=(const Staging&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Moves `from` to `to`: swapped with an existing `to`, or renamed when `to` does not exist.
void swap_in(const fs::path& dir, const fs::path& from, const fs::path& to) {
    if (fs::exists(to)) {
        if (!fs::is_directory(to)) throw_io_error(dir.string(), "exists and is not a directory");
        if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_EXCHANGE) != 0)
            throw_io_errno(dir, "cannot swap in the new directory", errno);
    } else if (::rename(from.c_str(), to.c_str()) != 0) {
        throw_io_errno(dir, fmt::format("cannot rename {} to it", from.string()), errno);
    }
}

}  // namespace

void write_directory_atomic(const fs::path& dir,
                            const std::function<void(const fs::path& staging)>& fill) {
    const fs::path target = dir.has_filename() ? dir : dir.parent_path();  // "out/" names "out"
    const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
    if (!parent.empty() && !fs::is_directory(parent))
        throw_io_error(dir.string(),
                       fmt::format("parent directory {} does not exist", parent.string()));
    remove_stale_staging(target);
    Staging staging(target.string() + ".tmp." + std::to_string(::getpid()));
    detail::pause_inside_save();
    fill(staging.path());
    sync_path(dir, staging.path());
    detail::pause_inside_save();
    swap_in(dir, staging.path(), target);
    sync_path(dir, parent);
    detail::pause_inside_save();  // the staging directory now holds the old contents
}

namespace detail {
void pause_inside_save() {
    static const long ms = [] {
        const char* value = std::getenv("TAPEGRAD_TEST_SAVE_PAUSE_MS");
        return value ? std::strtol(value, nullptr, 10) : 0L;
    }();
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}
}  // namespace detail

}  // namespace tapegrad
