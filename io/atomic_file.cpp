#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ostream>
#include <streambuf>
#include <string>
#include <system_error>

#include "core/error.hpp"
#include "io/stale_staging.hpp"

namespace tapegrad {
namespace fs = std::filesystem;
namespace {

thread_local std::optional<std::size_t> injected_failure_after;  // detail::InjectWriteFailure

// An ostream buffer over a file descriptor that remembers the first write error (errno) instead of
// losing it inside the stream's state bits.
class FdBuffer : public std::streambuf {
public:
    explicit FdBuffer(int fd) : fd_(fd), buffer_(std::size_t{1} << 16) {
        setp(buffer_.data(), buffer_.data() + buffer_.size());
    }
    int error() const { return error_; }
    std::size_t written() const { return written_; }

protected:
    int_type overflow(int_type ch) override {
        if (!drain()) return traits_type::eof();
        if (!traits_type::eq_int_type(ch, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(ch);
            pbump(1);
        }
        return traits_type::not_eof(ch);
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        if (n < epptr() - pptr()) return std::streambuf::xsputn(s, n);
        // Large blocks (tensor data) go straight to the file instead of through the buffer.
        if (!drain() || !write_all(s, static_cast<std::size_t>(n))) return 0;
        return n;
    }
    int sync() override { return drain() ? 0 : -1; }

private:
    bool drain() {
        const bool ok = write_all(pbase(), static_cast<std::size_t>(pptr() - pbase()));
        setp(buffer_.data(), buffer_.data() + buffer_.size());
        return ok;
    }
    bool write_all(const char* p, std::size_t n) {
        while (n > 0 && error_ == 0) {
            const auto limit = injected_failure_after;  // the test hook's full disk
            const std::size_t room = limit ? *limit - std::min(written_, *limit) : n;
            if (room == 0) {
                error_ = ENOSPC;
                break;
            }
            const ssize_t r = ::write(fd_, p, std::min(n, room));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                error_ = r < 0 ? errno : EIO;
                break;
            }
            p += r;
            n -= static_cast<std::size_t>(r);
            written_ += static_cast<std::size_t>(r);
        }
        return error_ == 0;
    }
    int fd_;
    std::vector<char> buffer_;
    int error_ = 0;
    std::size_t written_ = 0;
};

// The temporary file of one atomic write: closed and removed unless committed.
class TempFile {
public:
    TempFile(const fs::path& target, fs::path path) : path_(std::move(path)) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        const int err = errno;  // read before fmt::format can touch it
        if (fd_ < 0)
            throw_io_errno(target, fmt::format("cannot create temporary file {}", path_.string()),
                           err);
    }
    ~TempFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    int fd() const { return fd_; }
    int close() {
        const int r = ::close(fd_);
        fd_ = -1;
        return r;
    }
    void commit() { committed_ = true; }

private:
    fs::path path_;
    int fd_ = -1;
    bool committed_ = false;
};

// After a rename the directory entry itself must reach the disk, or a crash can bring the old file
// back.
void sync_directory(const fs::path& path) {
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const int open_err = errno;
    if (fd < 0)
        throw_io_errno(path, fmt::format("cannot open directory {} to sync it", dir.string()),
                       open_err);
    const int r = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (r != 0 && err != EINVAL)
        throw_io_errno(path, "fsync of the directory failed", err);  // EINVAL: not supported
}

void write_through(const fs::path& path, TempFile& temp,
                   const std::function<void(std::ostream&)>& writer) {
    FdBuffer buffer(temp.fd());
    std::ostream out(&buffer);
    writer(out);
    out.flush();
    if (buffer.error() != 0)
        throw_io_errno(path, fmt::format("write failed after {} bytes", buffer.written()),
                       buffer.error());
    if (!out) throw_io_error(path.string(), "the writer left the output stream in a failed state");
}

}  // namespace

void throw_io_error(std::string_view file, std::string_view what) {
    throw IoError(fmt::format("{}: {}", file, what));
}

void throw_io_errno(const fs::path& file, std::string_view what, int err) {
    throw_io_error(
        file.string(),
        fmt::format("{}: {}", what, std::error_code(err, std::generic_category()).message()));
}

void write_file_atomic(const fs::path& path, const std::function<void(std::ostream&)>& writer) {
    remove_stale_staging(path);
    const fs::path temp_path = path.string() + ".tmp." + std::to_string(::getpid());
    TempFile temp(path, temp_path);
    write_through(path, temp, writer);
    if (::fsync(temp.fd()) != 0) throw_io_errno(path, "fsync failed", errno);
    if (temp.close() != 0) throw_io_errno(path, "close failed", errno);
    if (::rename(temp_path.c_str(), path.c_str()) != 0) {
        const int err = errno;
        throw_io_errno(path, fmt::format("cannot rename {} over it", temp_path.string()), err);
    }
    temp.commit();
    sync_directory(path);
}

void write_file_atomic(const fs::path& path, std::span<const std::byte> bytes) {
    write_file_atomic(path, [bytes](std::ostream& out) {
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
    });
}

std::vector<std::byte> read_file(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_io_errno(path, "cannot open", errno);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_io_errno(path, "cannot stat", errno);
    if (S_ISDIR(st.st_mode)) throw_io_error(path.string(), "is a directory, not a file");
    std::vector<std::byte> bytes;
    std::size_t size = 0;
    bytes.resize(S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) + 1 : 1 << 16);
    for (;;) {  // read to the end even if the file grew since fstat
        if (size == bytes.size()) bytes.resize(bytes.size() * 2);
        const ssize_t r = ::read(fd, bytes.data() + size, bytes.size() - size);
        const int err = errno;
        if (r < 0 && err == EINTR) continue;
        if (r < 0) throw_io_errno(path, fmt::format("read failed at offset {}", size), err);
        if (r == 0) break;
        size += static_cast<std::size_t>(r);
    }
    bytes.resize(size);
    return bytes;
}

namespace detail {
InjectWriteFailure::InjectWriteFailure(std::size_t bytes) : previous_(injected_failure_after) {
    injected_failure_after = bytes;
}
InjectWriteFailure::~InjectWriteFailure() { injected_failure_after = previous_; }
}  // namespace detail

}  // namespace tapegrad
