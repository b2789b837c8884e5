#include "io/stale_staging.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>

namespace tapegrad {
namespace fs = std::filesystem;
namespace {

// The pid in `<base>.tmp.<pid>`, or nothing when `name` is not such a name.
std::optional<pid_t> staging_pid(const std::string& name, const std::string& base) {
    const std::string prefix = base + ".tmp.";
    if (name.size() <= prefix.size() || !name.starts_with(prefix)) return std::nullopt;
    const char* last = name.data() + name.size();
    pid_t pid = 0;
    const auto [end, ec] = std::from_chars(name.data() + prefix.size(), last, pid);
    // kill() reads 0 and negative pids as process groups: never ask about those
    if (ec != std::errc() || end != last || pid <= 0) return std::nullopt;
    return pid;
}

std::optional<fs::file_time_type> modified(const fs::path& path) {
    std::error_code ec;
    const fs::file_time_type t = fs::last_write_time(path, ec);
    if (ec) return std::nullopt;
    return t;
}

struct ProcessStat {
    char state = 0;            // 'Z': exited, only waits to be reaped
    double start_seconds = 0;  // after boot
};

// Fields 3 and 22 of /proc/<pid>/stat; nothing where there is no /proc of this PID namespace.
std::optional<ProcessStat> process_stat(pid_t pid) {
    if (!can_tell_reused_pids()) return std::nullopt;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t name_end = stat.rfind(')');  // "<pid> (<command name>) <state> ..."
    if (name_end == std::string::npos) return std::nullopt;
    std::istringstream fields(stat.substr(name_end + 1));
    ProcessStat p;
    fields >> p.state;
    std::string skipped;
    for (int field = 4; field < 22; ++field) fields >> skipped;
    long long start_ticks = 0;
    if (!(fields >> start_ticks)) return std::nullopt;
    p.start_seconds = double(start_ticks) / double(::sysconf(_SC_CLK_TCK));
    return p;
}

// The process started a second or more after `entry_time` (the margin covers clock
// granularity), so it cannot be the one that wrote the entry then.
bool started_after(const ProcessStat& p, fs::file_time_type entry_time) {
    std::ifstream in("/proc/uptime");
    double uptime = 0;
    if (!(in >> uptime)) return false;
    const double entry_age =
        std::chrono::duration<double>(fs::file_time_type::clock::now() - entry_time).count();
    return uptime - p.start_seconds + 1.0 < entry_age;
}

bool is_stale(const fs::path& entry, pid_t pid, std::optional<fs::file_time_type> target_time) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;  // EPERM: alive, another user's
    const std::optional<ProcessStat> holder = process_stat(pid);
    if (holder && holder->state == 'Z') return true;
    const std::optional<fs::file_time_type> t = modified(entry);
    return target_time && t && *t < *target_time && holder && started_after(*holder, *t);
}

}  // namespace

bool can_tell_reused_pids() {
    // A process in a PID namespace of its own under the machine's /proc (some sandboxes and CI
    // runners) would read another process as <pid> there: /proc/self names it by another pid.
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self", ec);
    return !ec && self.filename().string() == std::to_string(::getpid());
}

std::vector<fs::path> stale_staging(const fs::path& target) {
    const fs::path named = target.has_filename() ? target : target.parent_path();
    const fs::path parent = named.has_parent_path() ? named.parent_path() : fs::path(".");
    const std::string base = named.filename().string();
    const std::optional<fs::file_time_type> target_time = modified(named);
    std::vector<fs::path> stale;
    std::error_code ec;
    for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
        const std::optional<pid_t> pid = staging_pid(it->path().filename().string(), base);
        if (pid && *pid != ::getpid() && is_stale(it->path(), *pid, target_time))
            stale.push_back(named.parent_path() / it->path().filename());  // no "./"
    }
    std::ranges::sort(stale);
    return stale;
}

void remove_stale_staging(const fs::path& target) {
    for (const fs::path& path : stale_staging(target)) {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
}

}  // namespace tapegrad
