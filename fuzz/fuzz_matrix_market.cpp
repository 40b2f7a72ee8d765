// Fuzz target: the Matrix Market reader. The bytes are parsed as text (parse_matrix_market) and read
// as a file (read_matrix_market on the same bytes in a memfd, streamed in blocks): both refuse with
// format_error or memory_limit_error and a clean one-line message, or both return the same matrix,
// a valid CSR matrix that survives writing and reading back unchanged.
#include <optional>

#include "convmtx/errors.hpp"
#include "convmtx/matrix_market.hpp"
#include "fuzz_common.hpp"

namespace {

std::optional<convmtx::CsrMatrix> attempt(bool from_file, const std::string& bytes, std::string* message) {
    try {
        return from_file ? convmtx::read_matrix_market(fuzz::as_file(bytes))
                         : convmtx::parse_matrix_market(bytes, "fuzz.mtx");
    } catch (const convmtx::format_error& e) {
        *message = e.what();
    } catch (const convmtx::memory_limit_error& e) {
        *message = e.what();
    }
    fuzz::check_message(*message, from_file ? "read_matrix_market" : "parse_matrix_market", bytes);
    return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    std::string text_error, file_error;
    const auto a = attempt(false, bytes, &text_error);
    const auto b = attempt(true, bytes, &file_error);
    if (a.has_value() != b.has_value())
        fuzz::fail("the text reader and the file reader disagree: " + (a ? file_error : text_error));
    if (!a) return 0;
    fuzz::check_matrix(*a, "parse_matrix_market");
    if (!fuzz::same_matrix(*a, *b)) fuzz::fail("the text reader and the file reader return different matrices");
    // A tiny file may declare up to 2^24 rows (csr.hpp): the round trip of such a matrix repeats the
    // passes above and is left out, so that fuzzing stays fast.
    if (a->rows() + a->cols() > (1 << 20)) return 0;
    const std::string again = convmtx::matrix_market_text(convmtx::to_csr_arrays(*a), "written back");
    if (!fuzz::same_matrix(convmtx::parse_matrix_market(again, "written back"), *a))
        fuzz::fail("the matrix written back reads as another matrix");
    return 0;
}
