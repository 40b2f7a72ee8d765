// Matrix files by extension (see io.hpp).
#include "convmtx/io.hpp"

#include <cctype>
#include <stdexcept>

#include "convmtx/detail/printable.hpp"

namespace convmtx {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    if (s.size() < suffix.size()) return false;
    for (size_t i = 0; i < suffix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
    return true;
}

}  // namespace

void write_matrix_file(const std::string& path, const CsrArrays& a, const std::string& comment) {
    if (ends_with(path, ".npz")) write_npz(path, a);
    else if (ends_with(path, ".mtx")) write_matrix_market(path, a, comment);
    else
        throw std::invalid_argument("output " + detail::quoted(path) +
                                    " must end in .mtx (Matrix Market) or .npz (scipy)");
}

CsrMatrix read_matrix_file(const std::string& path) {
    if (ends_with(path, ".npz")) return read_npz(path);
    if (ends_with(path, ".mtx")) return read_matrix_market(path);
    throw std::invalid_argument("matrix file " + detail::quoted(path) +
                                " must end in .mtx (Matrix Market) or .npz (scipy)");
}

}  // namespace convmtx
