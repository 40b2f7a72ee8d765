// Regular-file reading and atomic writing (see file.hpp).
#include "convmtx/file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "convmtx/detail/create_exclusive.hpp"
#include "convmtx/detail/printable.hpp"
#include "convmtx/errors.hpp"

namespace convmtx {

using detail::quoted;

namespace {

std::string sys_error() { return std::strerror(errno); }

/// What a non-regular file is, for messages.
const char* file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

/// Writes all n bytes to fd (retrying short writes and EINTR); false with errno set on failure.
bool write_all(int fd, const char* data, size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

constexpr size_t kBufferBytes = size_t{1} << 20;

/// A write buffer in front of a file descriptor, tracking the position and the furthest byte.
struct FdOutput {
    int fd = -1;
    std::string name;  // for messages
    std::vector<char> buf;
    std::uint64_t pos = 0;  // file position of buf[0]
    std::uint64_t end = 0;  // furthest byte written

    void flush() {
        if (buf.empty()) return;
        if (!write_all(fd, buf.data(), buf.size())) {
            const std::string err = sys_error();
            buf.clear();
            throw io_error("cannot write " + quoted(name) + ": " + err);
        }
        pos += buf.size();
        buf.clear();
    }
    void write(const void* data, size_t n) {
        const char* p = static_cast<const char*>(data);
        if (buf.capacity() < kBufferBytes) buf.reserve(kBufferBytes);
        if (buf.size() + n > kBufferBytes) {
            flush();
            if (n >= kBufferBytes) {  // large block: straight through
                if (!write_all(fd, p, n)) throw io_error("cannot write " + quoted(name) + ": " + sys_error());
                pos += n;
                end = std::max(end, pos);
                return;
            }
        }
        buf.insert(buf.end(), p, p + n);
        end = std::max(end, pos + buf.size());
    }
    std::uint64_t tell() const { return pos + buf.size(); }
    void seek(std::uint64_t offset) {
        flush();
        if (offset > end)
            throw io_error("cannot seek " + quoted(name) + " to byte " + std::to_string(offset) + ": only " +
                           std::to_string(end) + " bytes are written");
        if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0)
            throw io_error("cannot seek " + quoted(name) + ": " + sys_error());
        pos = offset;
    }
};

// ---- live temporary files, removed by the signal handlers ----
// Fixed storage so that the handler only reads memory that never moves or is freed.

constexpr int kSlots = 64;
constexpr size_t kNameMax = NAME_MAX + 1;

struct Slot {
    std::atomic<int> state{0};  // 0 free, 1 being filled, 2 live
    int dirfd = -1;
    char name[kNameMax] = {};
};
Slot g_slots[kSlots];
const int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

extern "C" void remove_temporaries_and_reraise(int sig) {
    for (auto& s : g_slots)
        if (s.state.load() == 2) ::unlinkat(s.dirfd, s.name, 0);
    // SA_RESETHAND restored the default action; it runs when the handler returns.
    ::raise(sig);
}

void install_handlers_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        for (int sig : kSignals) {
            struct sigaction old {};
            if (::sigaction(sig, nullptr, &old) != 0) continue;
            if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;  // someone else's
            struct sigaction sa {};
            sa.sa_handler = remove_temporaries_and_reraise;
            sigfillset(&sa.sa_mask);
            sa.sa_flags = SA_RESETHAND;
            ::sigaction(sig, &sa, nullptr);
        }
    });
}

/// Blocks SIGINT/SIGTERM/SIGHUP in this thread for its lifetime, so that creating (or renaming)
/// a temporary file and registering (or unregistering) it happen together.
struct SignalBlock {
    sigset_t old;
    SignalBlock() {
        sigset_t set;
        sigemptyset(&set);
        for (int sig : kSignals) sigaddset(&set, sig);
        pthread_sigmask(SIG_BLOCK, &set, &old);
    }
    ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
};

int register_temporary(int dirfd, const std::string& name) {
    if (name.size() >= kNameMax) return -1;
    for (int i = 0; i < kSlots; ++i) {
        int expected = 0;
        if (g_slots[i].state.compare_exchange_strong(expected, 1)) {
            g_slots[i].dirfd = dirfd;
            std::memcpy(g_slots[i].name, name.c_str(), name.size() + 1);
            g_slots[i].state.store(2);
            return i;
        }
    }
    return -1;  // more than kSlots files at once: still written atomically, not removed on a signal
}

void unregister_temporary(int slot) {
    if (slot >= 0) g_slots[slot].state.store(0);
}

std::string random_suffix() {
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    unsigned char raw[12];
    if (::getrandom(raw, sizeof raw, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof raw)) {
        static std::atomic<std::uint64_t> counter{0};
        std::uint64_t x = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                          (static_cast<std::uint64_t>(::getpid()) << 32) ^ (counter++ * 0x9E3779B97F4A7C15ull);
        for (auto& b : raw) {
            x ^= x >> 29;
            x *= 0xBF58476D1CE4E5B9ull;
            b = static_cast<unsigned char>(x >> 56);
        }
    }
    std::string s;
    for (unsigned char b : raw) s += digits[b % 36];
    return s;
}

}  // namespace

int detail::create_exclusive(int dirfd, const char* name) {
    return ::openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
}

// ---------------- InputFile ----------------

InputFile::InputFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) throw io_error("cannot open " + quoted(path) + " for reading: " + sys_error());
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        const std::string err = sys_error();
        ::close(fd_);
        throw io_error("cannot read " + quoted(path) + ": " + err);
    }
    if (!S_ISREG(st.st_mode)) {
        struct stat lst {};
        const bool link = ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode);
        ::close(fd_);
        throw io_error(quoted(path) + " is " + file_kind(st.st_mode) + (link ? " (through a symbolic link)" : "") +
                       ", not a regular file: only regular files are read");
    }
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
    size_ = static_cast<std::uint64_t>(st.st_size);
}

InputFile::~InputFile() {
    if (fd_ >= 0) ::close(fd_);
}

size_t InputFile::read_at(std::uint64_t offset, void* data, size_t n) const {
    char* p = static_cast<char*>(data);
    size_t got = 0;
    while (got < n) {
        const ssize_t r = ::pread(fd_, p + got, n - got, static_cast<off_t>(offset + got));
        if (r < 0) {
            if (errno == EINTR) continue;
            throw io_error("cannot read " + quoted(path_) + ": " + sys_error());
        }
        if (r == 0) break;
        got += static_cast<size_t>(r);
    }
    return got;
}

std::string InputFile::name() const { return quoted(path_); }

size_t MemoryInput::read_at(std::uint64_t offset, void* data, size_t n) const {
    if (offset >= bytes_.size()) return 0;
    const size_t k = std::min(n, static_cast<size_t>(bytes_.size() - offset));
    std::memcpy(data, bytes_.data() + offset, k);
    return k;
}

void ByteSource::read_exact(std::uint64_t offset, void* data, size_t n, const std::string& what) const {
    const size_t got = read_at(offset, data, n);
    if (got != n)
        throw format_error(name() + ": the file ends after " + std::to_string(offset + got) + " bytes, inside " + what +
                           " (bytes " + std::to_string(offset) + " to " + std::to_string(offset + n) + ")");
}

std::string ByteSource::read_all(std::uint64_t max_bytes) const {
    const std::uint64_t n = size();
    if (n > max_bytes)
        throw format_error(name() + " holds " + std::to_string(n) + " bytes, more than the " + std::to_string(max_bytes) +
                           " this reader accepts");
    std::string s(static_cast<size_t>(n), '\0');
    read_exact(0, s.data(), s.size(), "its contents");
    char extra;
    if (read_at(n, &extra, 1) != 0)
        throw io_error(name() + " grew while it was being read: read it again when it is complete");
    return s;
}

std::string read_file(const std::string& path, std::uint64_t max_bytes) { return InputFile(path).read_all(max_bytes); }

// ---------------- sinks ----------------

void ByteSink::seek(std::uint64_t) { throw io_error("this output cannot seek (a FIFO, a device or standard output)"); }

void StringSink::write(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    const size_t overlap = std::min(n, bytes.size() - pos_);
    bytes.replace(pos_, overlap, p, overlap);
    bytes.append(p + overlap, n - overlap);
    pos_ += n;
}

void StringSink::seek(std::uint64_t offset) {
    if (offset > bytes.size())
        throw io_error("cannot seek to byte " + std::to_string(offset) + " of " + std::to_string(bytes.size()));
    pos_ = static_cast<size_t>(offset);
}

// ---------------- AtomicWriter ----------------

void check_output_destination(const std::string& path) {
    if (path == "-") return;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return;
    struct stat lst {};
    const bool link = ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode);
    throw io_error("cannot write " + quoted(path) + ": it is " + file_kind(st.st_mode) +
                   (link ? " (through a symbolic link)" : "") +
                   ", not a regular file: outputs are written only to regular files (a new file or one to replace)");
}

struct AtomicWriter::Impl {
    std::string path;          // as given
    std::string temp;          // dir/.name.XXXX.tmp, for temporary_path()
    std::string temp_name;     // the temporary file's name inside dirfd
    std::string target_name;   // the destination's name inside dirfd
    int dirfd = -1;
    int slot = -1;
    bool direct = false;
    bool own_fd = true;
    bool done = false;
    FdOutput out;

    void discard() {
        if (out.fd >= 0 && own_fd) ::close(out.fd);
        out.fd = -1;
        if (!temp_name.empty()) {
            SignalBlock block;
            ::unlinkat(dirfd, temp_name.c_str(), 0);
            unregister_temporary(slot);
            slot = -1;
            temp_name.clear();
        }
        if (dirfd >= 0) ::close(dirfd);
        dirfd = -1;
    }
};

AtomicWriter::AtomicWriter(const std::string& path) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.path = path;
    m.out.name = path;
    if (path.empty()) throw io_error("cannot write a file with an empty name");
    if (path == "-") {  // standard output
        m.direct = true;
        m.own_fd = false;
        m.out.fd = STDOUT_FILENO;
        return;
    }
    std::string target = path;
    mode_t keep_mode = 0;
    bool keep = false;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) throw io_error("cannot write " + quoted(path) + ": it is a directory");
        // A FIFO, a device or a socket is refused from its stat, never opened (opening a FIFO for
        // writing would wait for a reader forever).
        if (!S_ISREG(st.st_mode)) check_output_destination(path);
        struct stat lst {};
        if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {  // replace the file the link names
            char* real = ::realpath(path.c_str(), nullptr);
            if (!real) throw io_error("cannot resolve the symbolic link " + quoted(path) + ": " + sys_error());
            target = real;
            std::free(real);
        }
        keep_mode = st.st_mode & 07777;
        keep = true;
    } else if (errno != ENOENT) {
        throw io_error("cannot write " + quoted(path) + ": " + sys_error());
    }
    const size_t slash = target.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : target.substr(0, slash));
    m.target_name = slash == std::string::npos ? target : target.substr(slash + 1);
    if (m.target_name.empty()) throw io_error("cannot write " + quoted(path) + ": the name ends with '/'");
    m.dirfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (m.dirfd < 0) throw io_error("cannot write " + quoted(path) + ": directory " + quoted(dir) + ": " + sys_error());
    install_handlers_once();
    const std::string stem = "." + m.target_name.substr(0, std::min<size_t>(m.target_name.size(), 200)) + ".";
    for (int attempt = 0; attempt < 100 && m.out.fd < 0; ++attempt) {
        const std::string name = stem + random_suffix() + ".tmp";
        SignalBlock block;
        const int fd = detail::create_exclusive(m.dirfd, name.c_str());
        if (fd < 0) {
            if (errno == EEXIST) continue;  // taken (possibly a planted link): another name
            const std::string err = sys_error();
            ::close(m.dirfd);
            m.dirfd = -1;
            throw io_error("cannot write " + quoted(path) + ": cannot create a temporary file in " + quoted(dir) + ": " +
                           err);
        }
        m.out.fd = fd;
        m.temp_name = name;
        m.slot = register_temporary(m.dirfd, name);
    }
    if (m.out.fd < 0) {
        ::close(m.dirfd);
        m.dirfd = -1;
        throw io_error("cannot write " + quoted(path) + ": 100 temporary names in " + quoted(dir) + " were all taken");
    }
    m.temp = (slash == std::string::npos ? "" : dir + (dir == "/" ? "" : "/")) + m.temp_name;
    if (keep) ::fchmod(m.out.fd, keep_mode);  // best effort: a file we may not chmod keeps the default
}

AtomicWriter::~AtomicWriter() {
    if (impl_ && !impl_->done) impl_->discard();
}

void AtomicWriter::write(const void* data, size_t n) {
    if (impl_->done) throw io_error("cannot write " + quoted(impl_->path) + ": it is already committed");
    impl_->out.write(data, n);
}

std::uint64_t AtomicWriter::tell() const { return impl_->out.tell(); }

bool AtomicWriter::seekable() const { return !impl_->direct; }

void AtomicWriter::seek(std::uint64_t offset) {
    if (impl_->direct) ByteSink::seek(offset);
    impl_->out.seek(offset);
}

// ---------------- OutputBatch ----------------

namespace {

/// A finished temporary file waiting for its OutputBatch to rename it.
struct PendingFile {
    std::string path;  // the destination as given, for messages
    int dirfd = -1;
    std::string temp_name, target_name;
    int slot = -1;
};

struct BatchState {
    int depth = 0;
    std::vector<PendingFile> pending;
};

thread_local BatchState t_batch;

void remove_pending(std::vector<PendingFile>& pending) {
    SignalBlock block;
    for (PendingFile& f : pending) {
        if (!f.temp_name.empty()) ::unlinkat(f.dirfd, f.temp_name.c_str(), 0);
        unregister_temporary(f.slot);
        if (f.dirfd >= 0) ::close(f.dirfd);
    }
    pending.clear();
}

}  // namespace

OutputBatch::OutputBatch() : outer_(t_batch.depth == 0) { ++t_batch.depth; }

OutputBatch::~OutputBatch() {
    --t_batch.depth;
    if (outer_ && !committed_) remove_pending(t_batch.pending);
}

void OutputBatch::commit() {
    if (!outer_ || committed_) return;
    committed_ = true;
    std::vector<PendingFile> pending;
    pending.swap(t_batch.pending);
    for (size_t i = 0; i < pending.size(); ++i) {
        PendingFile& f = pending[i];
        {
            SignalBlock block;
            if (::renameat(f.dirfd, f.temp_name.c_str(), f.dirfd, f.target_name.c_str()) != 0) {
                const std::string err = sys_error();
                std::vector<PendingFile> rest(pending.begin() + static_cast<std::ptrdiff_t>(i), pending.end());
                remove_pending(rest);
                throw io_error("cannot move the finished file to " + quoted(f.path) + ": " + err);
            }
            unregister_temporary(f.slot);
            f.temp_name.clear();
        }
        ::fsync(f.dirfd);
        ::close(f.dirfd);
        f.dirfd = -1;
    }
}

size_t OutputBatch::pending() const { return t_batch.pending.size(); }

void AtomicWriter::commit() {
    Impl& m = *impl_;
    if (m.done) return;
    m.out.flush();
    if (m.direct) {
        if (m.own_fd && ::close(m.out.fd) != 0) {
            m.out.fd = -1;
            throw io_error("cannot write " + quoted(m.path) + ": " + sys_error());
        }
        m.out.fd = -1;
        m.done = true;
        return;
    }
    if (::fsync(m.out.fd) != 0) throw io_error("cannot write " + quoted(m.path) + ": fsync: " + sys_error());
    const int fd = m.out.fd;
    m.out.fd = -1;
    if (::close(fd) != 0) throw io_error("cannot write " + quoted(m.path) + ": " + sys_error());
    if (t_batch.depth > 0) {  // renamed with the batch's other files, or removed with them
        t_batch.pending.push_back({m.path, m.dirfd, m.temp_name, m.target_name, m.slot});
        m.dirfd = -1;
        m.slot = -1;
        m.temp_name.clear();
        m.done = true;
        return;
    }
    {
        SignalBlock block;
        if (::renameat(m.dirfd, m.temp_name.c_str(), m.dirfd, m.target_name.c_str()) != 0)
            throw io_error("cannot move the finished file to " + quoted(m.path) + ": " + sys_error());
        unregister_temporary(m.slot);
        m.slot = -1;
        m.temp_name.clear();
    }
    ::fsync(m.dirfd);  // the rename itself; some file systems refuse (EINVAL), which is harmless
    ::close(m.dirfd);
    m.dirfd = -1;
    m.done = true;
}

const std::string& AtomicWriter::path() const { return impl_->path; }
const std::string& AtomicWriter::temporary_path() const { return impl_->temp; }

// ---------------- SpoolFile ----------------

struct SpoolFile::Impl {
    FdOutput out;
};

SpoolFile::SpoolFile() : impl_(std::make_unique<Impl>()) {
    const char* env = std::getenv("TMPDIR");
    const std::string dir = env && *env ? env : "/tmp";
    impl_->out.name = dir + "/(anonymous spool file)";
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {  // no O_TMPFILE support: create and unlink at once
        std::string name = dir + "/.convmtx-spool.XXXXXX";
        fd = ::mkostemp(name.data(), O_CLOEXEC);
        if (fd >= 0) ::unlink(name.c_str());
    }
    if (fd < 0) throw io_error("cannot create a temporary file in " + quoted(dir) + ": " + sys_error());
    impl_->out.fd = fd;
}

SpoolFile::~SpoolFile() {
    if (impl_->out.fd >= 0) ::close(impl_->out.fd);
}

void SpoolFile::write(const void* data, size_t n) { impl_->out.write(data, n); }
std::uint64_t SpoolFile::tell() const { return impl_->out.tell(); }
void SpoolFile::seek(std::uint64_t offset) { impl_->out.seek(offset); }

void SpoolFile::copy_to(ByteSink& sink) {
    FdOutput& o = impl_->out;
    o.flush();
    std::vector<char> chunk(kBufferBytes);
    for (std::uint64_t at = 0; at < o.end;) {
        const size_t want = static_cast<size_t>(std::min<std::uint64_t>(chunk.size(), o.end - at));
        const ssize_t r = ::pread(o.fd, chunk.data(), want, static_cast<off_t>(at));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) throw io_error("cannot read back " + quoted(o.name) + ": " + (r < 0 ? sys_error() : "file ends"));
        sink.write(chunk.data(), static_cast<size_t>(r));
        at += static_cast<std::uint64_t>(r);
    }
}

// ---------------- write_file_atomic ----------------

void write_file_atomic(const std::string& path, std::string_view bytes) {
    AtomicWriter w(path);
    w.write(bytes);
    w.commit();
}

void write_file_atomic(const std::string& path, const std::function<void(ByteSink&)>& produce) {
    AtomicWriter w(path);
    produce(w);
    w.commit();
}

}  // namespace convmtx
