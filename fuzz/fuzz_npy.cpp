// Fuzz target: the .npy reader. The bytes are parsed in memory (parse_npy) and read as a file
// (read_npy on the same bytes in a memfd, converted block by block): both refuse with format_error
// or memory_limit_error and a clean one-line message, or both return the same array, whose element
// count is its shape's product and which survives writing and reading back unchanged.
#include <optional>

#include "convmtx/errors.hpp"
#include "convmtx/npy.hpp"
#include "fuzz_common.hpp"

namespace {

std::optional<convmtx::NpyArray> attempt(bool from_file, const std::string& bytes, std::string* message) {
    try {
        return from_file ? convmtx::read_npy(fuzz::as_file(bytes)) : convmtx::parse_npy(bytes, "fuzz.npy");
    } catch (const convmtx::format_error& e) {
        *message = e.what();
    } catch (const convmtx::memory_limit_error& e) {
        *message = e.what();
    }
    fuzz::check_message(*message, from_file ? "read_npy" : "parse_npy", bytes);
    return std::nullopt;
}

bool same(const convmtx::NpyArray& a, const convmtx::NpyArray& b) {
    if (a.shape != b.shape || a.data.size() != b.data.size()) return false;
    for (size_t i = 0; i < a.data.size(); ++i)
        if (!fuzz::same_value(a.data[i], b.data[i])) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    std::string memory_error, file_error;
    const auto a = attempt(false, bytes, &memory_error);
    const auto b = attempt(true, bytes, &file_error);
    if (a.has_value() != b.has_value())
        fuzz::fail("parse_npy and read_npy disagree: " + (a ? file_error : memory_error));
    if (!a) return 0;
    if (!same(*a, *b) || a->dtype != b->dtype) fuzz::fail("parse_npy and read_npy return different arrays");
    double count = 1;
    for (const auto d : a->shape) {
        if (d < 0) fuzz::fail("a negative dimension");
        count *= static_cast<double>(d);
    }
    if (count != static_cast<double>(a->data.size())) fuzz::fail("the element count is not the shape's product");
    const convmtx::NpyArray back = convmtx::parse_npy(convmtx::npy_bytes(a->data.data(), a->shape), "written back");
    if (!same(back, *a)) fuzz::fail("the array written back reads as another array");
    return 0;
}
