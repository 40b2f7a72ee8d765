// Fuzz target: scipy's sparse .npz reader (libzip). The bytes are parsed in memory (parse_npz) and
// read as a file (read_npz on the same bytes in a memfd, through a libzip source over the file):
// both refuse with format_error or memory_limit_error and a clean one-line message, or both return
// the same valid CSR matrix, which survives writing (npz_bytes) and reading back unchanged.
#include <optional>

#include "convmtx/errors.hpp"
#include "convmtx/npz.hpp"
#include "fuzz_common.hpp"

namespace {

std::optional<convmtx::CsrMatrix> attempt(bool from_file, const std::string& bytes, std::string* message) {
    try {
        return from_file ? convmtx::read_npz(fuzz::as_file(bytes)) : convmtx::parse_npz(bytes, "fuzz.npz");
    } catch (const convmtx::format_error& e) {
        *message = e.what();
    } catch (const convmtx::memory_limit_error& e) {
        *message = e.what();
    }
    fuzz::check_message(*message, from_file ? "read_npz" : "parse_npz", bytes);
    return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    std::string memory_error, file_error;
    const auto a = attempt(false, bytes, &memory_error);
    const auto b = attempt(true, bytes, &file_error);
    if (a.has_value() != b.has_value())
        fuzz::fail("parse_npz and read_npz disagree: " + (a ? file_error : memory_error));
    if (!a) return 0;
    fuzz::check_matrix(*a, "parse_npz");
    if (!fuzz::same_matrix(*a, *b)) fuzz::fail("parse_npz and read_npz return different matrices");
    if (!fuzz::same_matrix(convmtx::parse_npz(convmtx::npz_bytes(convmtx::to_csr_arrays(*a)), "written back"), *a))
        fuzz::fail("the matrix written back reads as another matrix");
    return 0;
}
