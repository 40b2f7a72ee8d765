// Files: reading regular files whose size is known before anything is allocated, and writing
// any file atomically, streamed through a ByteSink. Every reader and writer of convmtx
// (Matrix Market, .npy, .npz, PNG, PGM, HTML) goes through these.
//
// Reading (InputFile, read_file): only regular files are read. The path is opened without
// blocking (O_NONBLOCK, so a FIFO never blocks) and fstat'ed; a FIFO, a device, a directory,
// a socket, or a symbolic link to one of them (e.g. to /dev/zero) is refused with io_error
// naming the path and what it is. The size comes from fstat before reading.
//
// Writing (AtomicWriter, write_file_atomic):
//   - a destination that does not exist or is a regular file is written to a new temporary file
//     ".NAME.XXXXXXXXXXXX.tmp" in the destination's directory, created exclusively
//     (O_CREAT|O_EXCL|O_NOFOLLOW: nothing already at that name, file or symbolic link, is ever
//     followed or reused), then flushed, fsync'ed and renamed over the destination; the directory
//     is fsync'ed after the rename. An existing destination's permission bits are kept; a symbolic
//     link to a regular file is followed (the file it names is replaced, the link stays).
//   - when anything fails (a write error, an exception while producing the bytes, commit() never
//     reached) the temporary file is removed and the destination is left exactly as it was.
//   - SIGINT, SIGTERM and SIGHUP remove the live temporary files, then end the process as the
//     signal would. The handlers are installed on first use and only for signals whose disposition
//     is the default, so a host program's own handlers (Python's SIGINT) are left alone.
//   - a destination that exists and is not a regular file (a FIFO, a character or block device
//     such as /dev/null, a socket; also through a symbolic link) is refused with io_error, found
//     by stat without opening it (check_output_destination): a FIFO is never opened for writing,
//     so nothing waits for a reader. The path "-" is standard output, written directly.
//   - errors (ENOSPC, EACCES, a missing directory, ...) throw io_error naming the destination and
//     the system's reason (strerror).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace convmtx {

/// Bytes read by position: a regular file (InputFile) or bytes in memory (MemoryInput). The image
/// decoders take one, so that the same code reads a file and its bytes.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    /// How messages name the source: the quoted path of a file, or the name given to the bytes.
    virtual std::string name() const = 0;
    /// The number of bytes (for a file: what fstat gave when it was opened).
    virtual std::uint64_t size() const = 0;
    /// Reads up to n bytes at `offset`; returns how many were read (fewer only at the end).
    virtual size_t read_at(std::uint64_t offset, void* data, size_t n) const = 0;
    /// Reads exactly n bytes at `offset`; format_error naming `what` when the source ends first.
    void read_exact(std::uint64_t offset, void* data, size_t n, const std::string& what) const;
    /// All the bytes; format_error when there are more than max_bytes.
    std::string read_all(std::uint64_t max_bytes) const;
};

/// A regular file opened for reading; its size is known from the start. Throws io_error when the
/// path cannot be opened or is not a regular file.
class InputFile : public ByteSource {
public:
    /// Opens `path`; io_error when it cannot be opened or is not a regular file.
    explicit InputFile(const std::string& path);
    ~InputFile() override;
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    /// The path as given.
    const std::string& path() const { return path_; }
    /// The path, quoted and escaped for messages ('W.mtx').
    std::string name() const override;
    std::uint64_t size() const override { return size_; }
    size_t read_at(std::uint64_t offset, void* data, size_t n) const override;

private:
    std::string path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

/// Bytes in memory read as a ByteSource; `bytes` must outlive it. `name` is used as given in messages.
class MemoryInput : public ByteSource {
public:
    /// Reads `bytes` (viewed, not copied), named `name` in messages.
    MemoryInput(std::string_view bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {}
    std::string name() const override { return name_; }
    std::uint64_t size() const override { return bytes_.size(); }
    size_t read_at(std::uint64_t offset, void* data, size_t n) const override;

private:
    std::string_view bytes_;
    std::string name_;
};

/// The bytes of the regular file `path` (see InputFile); format_error when larger than max_bytes.
std::string read_file(const std::string& path, std::uint64_t max_bytes);

/// Where encoders put bytes: a file being written (AtomicWriter), an anonymous spool file
/// (SpoolFile) or memory (StringSink). Seekable sinks let a format fill in a header afterwards.
class ByteSink {
public:
    virtual ~ByteSink() = default;
    /// Appends n bytes at the current position (overwriting after a seek back); io_error on failure.
    virtual void write(const void* data, size_t n) = 0;
    /// Appends the bytes of s.
    void write(std::string_view s) { write(s.data(), s.size()); }
    /// The current write position (the bytes written so far unless seek moved it back).
    virtual std::uint64_t tell() const = 0;
    /// Whether seek is possible (false for FIFOs, devices and standard output).
    virtual bool seekable() const { return false; }
    /// Moves the write position to `offset`, at most the size written so far; io_error when not seekable.
    virtual void seek(std::uint64_t offset);
};

/// A ByteSink into memory: `bytes` holds what was written.
class StringSink : public ByteSink {
public:
    std::string bytes;  ///< everything written so far
    using ByteSink::write;
    void write(const void* data, size_t n) override;
    std::uint64_t tell() const override { return pos_; }
    bool seekable() const override { return true; }
    void seek(std::uint64_t offset) override;

private:
    size_t pos_ = 0;
};

/// Writes one file atomically (see the top of this header): write() the bytes, then commit().
/// Destroyed without commit() (an exception, an early return), it removes its temporary file
/// and leaves the destination untouched.
class AtomicWriter : public ByteSink {
public:
    /// Starts writing `path`: a temporary file next to it, or `path` itself when it is a FIFO, a device
    /// or "-" (standard output); io_error when it cannot be created or `path` exists and is not a
    /// regular file (check_output_destination).
    explicit AtomicWriter(const std::string& path);
    ~AtomicWriter() override;
    AtomicWriter(const AtomicWriter&) = delete;
    AtomicWriter& operator=(const AtomicWriter&) = delete;

    using ByteSink::write;
    void write(const void* data, size_t n) override;
    std::uint64_t tell() const override;
    /// True when writing a temporary file; false when writing a FIFO, a device or standard output.
    bool seekable() const override;
    void seek(std::uint64_t offset) override;
    /// Flushes, fsyncs and renames the temporary file over the destination (direct: flushes).
    void commit();

    /// The destination as given.
    const std::string& path() const;
    /// The temporary file being written ("" when writing directly).
    const std::string& temporary_path() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Makes every file this thread writes with AtomicWriter while the batch lives one output: each
/// AtomicWriter::commit() finishes its temporary file (flushed, fsync'ed) but leaves it in place;
/// OutputBatch::commit() renames them all over their destinations, in the order they were written.
/// Destroyed without commit() (an exception, a failed write of a later file) it removes every
/// temporary file and leaves every destination as it was: a command with several outputs writes
/// all of them or none. A batch inside another one joins it (the outer one commits).
class OutputBatch {
public:
    /// Starts a batch on this thread (or joins the one already started).
    OutputBatch();
    /// Without commit(): removes every finished temporary file of the batch.
    ~OutputBatch();
    OutputBatch(const OutputBatch&) = delete;
    OutputBatch& operator=(const OutputBatch&) = delete;
    /// Renames every finished file; io_error when a rename fails (the files not yet renamed are removed).
    void commit();
    /// The number of finished files waiting for commit().
    size_t pending() const;

private:
    bool outer_;
    bool committed_ = false;
};

/// A seekable scratch file that is never visible in the file system (opened with O_TMPFILE in
/// $TMPDIR or /tmp, or unlinked as soon as it is created), for formats that must seek back while
/// writing to a destination that cannot seek. Removed by the kernel when closed.
class SpoolFile : public ByteSink {
public:
    SpoolFile();
    ~SpoolFile() override;
    SpoolFile(const SpoolFile&) = delete;
    SpoolFile& operator=(const SpoolFile&) = delete;

    using ByteSink::write;
    void write(const void* data, size_t n) override;
    std::uint64_t tell() const override;
    bool seekable() const override { return true; }
    void seek(std::uint64_t offset) override;
    /// Writes every byte written so far (up to the furthest position) to `out`.
    void copy_to(ByteSink& out);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Refuses (io_error, one message for every writer and the CLI's validator) an existing `path` that
/// is not a regular file or a directory: a FIFO, a device or a socket, found by stat without
/// opening it. A missing path, a regular file, a directory (refused by the writer itself) and "-"
/// pass.
void check_output_destination(const std::string& path);

/// Writes `bytes` to `path` atomically (AtomicWriter).
void write_file_atomic(const std::string& path, std::string_view bytes);
/// Writes to `path` atomically what `produce` writes into the sink; an exception from `produce`
/// leaves the destination untouched and is rethrown.
void write_file_atomic(const std::string& path, const std::function<void(ByteSink&)>& produce);

}  // namespace convmtx
