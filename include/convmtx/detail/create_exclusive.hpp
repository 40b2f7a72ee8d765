// Internal: the exclusive creation AtomicWriter uses for its temporary files (file.cpp), exposed
// so that the tests can plant a file or a symbolic link at the name. Not part of the public API.
#pragma once

namespace convmtx::detail {

/// Creates `name` (relative to the directory `dirfd`, or AT_FDCWD) for writing, mode 0666 before
/// the umask, with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC: it fails (-1, errno EEXIST) when anything
/// is already there, a symbolic link included, and never follows or truncates it.
/// Returns the file descriptor.
int create_exclusive(int dirfd, const char* name);

}  // namespace convmtx::detail
