// Internal: transparent huge pages for large fresh arrays (the result arrays of a build).
#pragma once

#include <cstddef>

namespace convmtx::detail {

/// Arrays of at least this many bytes are advised; smaller ones gain little from 2 MiB pages.
constexpr std::size_t huge_page_min_bytes = std::size_t(8) << 20;

/// Asks the kernel to back the whole 2 MiB pages inside [p, p + bytes) with transparent huge pages,
/// madvise(MADV_HUGEPAGE) (Linux; elsewhere nothing). Call it before the memory is first touched:
/// a fault then maps a 2 MiB page at once, which is what makes writing fresh memory fast. Returns
/// the bytes advised: 0 for arrays under huge_page_min_bytes, on other systems, or when the kernel
/// refuses (THP mode "never", or a kernel without THP).
std::size_t advise_huge_pages(void* p, std::size_t bytes);

}  // namespace convmtx::detail
