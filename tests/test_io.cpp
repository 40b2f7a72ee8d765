// Files: Matrix Market and npz (round trips, files written by scipy, malformed input), .npy,
// PNG and PGM readers' rules, special files, the atomic writer; RGB PNG and spy pictures.
#define BOOST_TEST_MODULE io
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convmtx/detail/create_exclusive.hpp"
#include "convmtx/image.hpp"
#include "convmtx/inspect.hpp"
#include "convmtx/io.hpp"
#include "convmtx/pgm.hpp"
#include "convmtx/png.hpp"
#include "test_common.hpp"

using namespace convmtx;
using namespace convmtx::test;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
    static const fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("convmtx_test_io_" + std::to_string(::getpid()));
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

/// Removes the temporary directory when the test module ends.
struct TempCleanup {
    ~TempCleanup() {
        std::error_code ec;
        fs::remove_all(temp_dir(), ec);
    }
};

template <class Scalar>
using Mat = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int>;

/// The scalar of the matrix under test, read back from a double (float values are rounded to float).
template <class Scalar>
Eigen::MatrixXd as_scalar(const CsrMatrix& M) {
    return Eigen::MatrixXd(M).cast<Scalar>().template cast<double>();
}

// W of F.conv2d on 1x4x4, weight arange(9) (3x3), stride 2, padding 1, as torch computes it
// (the same matrix is in tests/data/io/*_scipy.*, written by scipy from torch's result).
Eigen::MatrixXd torch_reference() {
    Eigen::MatrixXd W(4, 16);
    W << 4, 5, 0, 0, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
        0, 3, 4, 5, 0, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0,   //
        0, 0, 0, 0, 1, 2, 0, 0, 4, 5, 0, 0, 7, 8, 0, 0,   //
        0, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 5, 0, 6, 7, 8;
    return W;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Names in `dir` that start with `prefix` (temporary files left behind).
std::vector<std::string> names_starting(const fs::path& dir, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path().filename().string());
    return out;
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(TempCleanup);

BOOST_AUTO_TEST_CASE_TEMPLATE(matrix_market_and_npz_round_trip_random_configurations, Scalar, Scalars) {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 40; ++trial) {
        const ConvSpec spec = random_spec(rng, trial % 2 == 1);
        const auto w = random_values<Scalar>(rng, spec.weight_numel());
        const Mat<Scalar> M = operator_matrix<Scalar, Eigen::RowMajor, int>(spec, w);
        const Eigen::MatrixXd dense = Eigen::MatrixXd(M.template cast<double>());
        const fs::path mtx = temp_dir() / "m.mtx", npz = temp_dir() / "m.npz";
        write_matrix_file(mtx.string(), M, "trial " + std::to_string(trial) + "\n" + spec.describe());
        write_matrix_file(npz.string(), M);
        const CsrMatrix a = read_matrix_file(mtx.string()), b = read_matrix_file(npz.string());
        BOOST_TEST_CONTEXT(spec.describe()) {
            BOOST_TEST(a.rows() == M.rows());
            BOOST_TEST(a.cols() == M.cols());
            BOOST_TEST(a.nonZeros() == M.nonZeros());  // explicit zeros survive
            BOOST_TEST((as_scalar<Scalar>(a) - dense).cwiseAbs().maxCoeff() == 0.0);
            BOOST_TEST((Eigen::MatrixXd(b) - dense).cwiseAbs().maxCoeff() == 0.0);  // npz keeps the float32 bits
            BOOST_TEST(b.nonZeros() == M.nonZeros());
        }
    }
}

BOOST_AUTO_TEST_CASE(double_values_survive_matrix_market_exactly) {
    CsrArrays a;
    a.rows = 2;
    a.cols = 3;
    a.indptr = {0, 2, 3};
    a.indices = {0, 2, 1};
    a.data = {0.1, -1.0 / 3.0, 6.02214076e23};
    const CsrMatrix M = parse_matrix_market(matrix_market_text(a, "c"));
    BOOST_TEST(M.coeff(0, 0) == 0.1);
    BOOST_TEST(M.coeff(0, 2) == -1.0 / 3.0);
    BOOST_TEST(M.coeff(1, 1) == 6.02214076e23);
    const CsrMatrix N = parse_npz(npz_bytes(a));
    BOOST_TEST(Eigen::MatrixXd(N - M).cwiseAbs().maxCoeff() == 0.0);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(files_written_by_scipy_are_read, Scalar, Scalars) {
    const fs::path dir = fs::path(CONVMTX_SOURCE_DIR) / "tests" / "data" / "io";
    const Eigen::MatrixXd ref = torch_reference();
    for (const char* name : {"conv2d_k3_s2_p1_arange_scipy.mtx", "conv2d_k3_s2_p1_arange_scipy.npz",
                             "conv2d_k3_s2_p1_arange_scipy_stored.npz"}) {
        BOOST_TEST_CONTEXT(name) {
            const CsrMatrix M = read_matrix_file((dir / name).string());
            BOOST_TEST((Eigen::MatrixXd(M) - ref).cwiseAbs().maxCoeff() == 0.0);
        }
    }
    // ... and equal the library's W of that configuration.
    ConvOptions o;
    o.stride = {2};
    o.padding = Padding::symmetric({1});
    const ConvSpec spec = make_conv({1, 4, 4}, {1, 1, 3, 3}, o);
    std::vector<Scalar> w(9);
    for (int i = 0; i < 9; ++i) w[i] = static_cast<Scalar>(i);
    BOOST_TEST((Eigen::MatrixXd(conv_matrix<Scalar>(spec, w).template cast<double>()) - ref).cwiseAbs().maxCoeff() == 0.0);
}

BOOST_AUTO_TEST_CASE(npz_layout_is_what_scipy_writes) {
    CsrArrays a;
    a.rows = 2;
    a.cols = 2;
    a.indptr = {0, 1, 2};
    a.indices = {1, 0};
    a.data = {2.5, -1};
    const std::string z = npz_bytes(a);
    // Member names in scipy's order, stored (method 0) with correct CRCs: parse_npz checks the CRCs.
    size_t p = 0;
    std::vector<std::string> names;
    while ((p = z.find("PK\x03\x04", p)) != std::string::npos) {
        const size_t nlen = static_cast<unsigned char>(z[p + 26]) | (static_cast<unsigned char>(z[p + 27]) << 8);
        BOOST_TEST((static_cast<unsigned char>(z[p + 8]) | (static_cast<unsigned char>(z[p + 9]) << 8)) == 0);
        names.push_back(z.substr(p + 30, nlen));
        p += 4;
    }
    BOOST_TEST(names == (std::vector<std::string>{"indices.npy", "indptr.npy", "format.npy", "shape.npy", "data.npy"}),
               boost::test_tools::per_element());
    BOOST_TEST(z.find("'descr': '|S3'") != std::string::npos);
    BOOST_TEST(z.find("'descr': '<i4'") != std::string::npos);
    const CsrMatrix M = parse_npz(z);
    BOOST_TEST(M.coeff(0, 1) == 2.5);
    BOOST_TEST(M.coeff(1, 0) == -1.0);
    // One flipped data byte fails the CRC check.
    std::string bad = z;
    bad[bad.find("data.npy") + 8 + 80] ^= 0x01;
    BOOST_CHECK_THROW(parse_npz(bad), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(matrix_market_variants_and_errors) {
    const CsrMatrix S = parse_matrix_market(
        "%%MatrixMarket matrix coordinate real symmetric\n% c\n3 3 3\n1 1 2\n3 1 -1.5\n2 2 4e0\n");
    BOOST_TEST(S.coeff(0, 2) == -1.5);
    BOOST_TEST(S.coeff(2, 0) == -1.5);
    BOOST_TEST(S.nonZeros() == 4);
    const CsrMatrix P = parse_matrix_market("%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 2\n2 1\n");
    BOOST_TEST(P.coeff(0, 1) == 1.0);
    const CsrMatrix A = parse_matrix_market("%%MatrixMarket matrix array real general\n2 2\n1\n2\n0\n4\n");
    BOOST_TEST(A.coeff(1, 0) == 2.0);  // column-major
    BOOST_TEST(A.coeff(1, 1) == 4.0);
    BOOST_TEST(A.nonZeros() == 3);
    const CsrMatrix D = parse_matrix_market("%%MatrixMarket matrix coordinate integer general\n1 1 2\n1 1 2\n1 1 3\n");
    BOOST_TEST(D.coeff(0, 0) == 5.0);  // duplicates summed, as scipy does
    auto message = [](const std::string& text) {
        try {
            parse_matrix_market(text, "t.mtx");
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    BOOST_TEST(message("hello\n").find("not a Matrix Market file") != std::string::npos);
    BOOST_TEST(message("%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n").find("complex") != std::string::npos);
    BOOST_TEST(message("%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1\n").find("(3, 1) is outside the 2x2") !=
               std::string::npos);
    BOOST_TEST(message("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n").find("hold at most 1") !=
               std::string::npos);
    BOOST_TEST(message("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n% a long comment line\n")
                   .find("entry 2 is missing") != std::string::npos);
    BOOST_TEST(message("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1\n2 2 2\n").find("more data") != std::string::npos);
    BOOST_CHECK_THROW(read_matrix_file("W.txt"), std::invalid_argument);
    BOOST_CHECK_THROW(read_matrix_file((temp_dir() / "missing.mtx").string()), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(png_round_trip_and_atomic_write) {
    RgbImage img(5, 3);
    img.set(0, 0, {1, 2, 3});
    img.set(4, 2, {250, 128, 7});
    const fs::path path = temp_dir() / "x.png";
    write_rgb_png(path.string(), img);
    BOOST_TEST(names_starting(temp_dir(), ".x.png.").empty());
    const RgbImage back = read_rgb_png(path.string());
    BOOST_TEST(back.width == 5);
    BOOST_TEST(back.height == 3);
    BOOST_TEST(back.pixels == img.pixels, boost::test_tools::per_element());
    BOOST_TEST(slurp(path).substr(1, 3) == "PNG");
}

BOOST_AUTO_TEST_CASE(spy_colors_entries_by_tap) {
    // The d2l example: 3x3 input, 2x2 kernel arange: W's value at each entry is its weight index,
    // so the tap is the value and the color at the entry's centre pixel must be tap_color(value).
    const ConvSpec spec = make_conv({2, 3, 3}, {2, 2, 2, 2});  // 2 channels in and out: 4 blocks
    std::vector<double> w(16);
    for (int i = 0; i < 16; ++i) w[i] = i;
    const CsrMatrix W = conv_matrix<double, Eigen::RowMajor, std::int64_t>(spec, w);
    const auto taps = tap_map(spec);
    SpyOptions opt;
    opt.cell = 6;
    opt.row_block = 4;
    opt.col_block = 9;
    const SpyPicture pic = spy_picture(W, opt, &taps, 4);
    BOOST_TEST(!pic.density);
    BOOST_TEST(pic.image.width == 18 * 6);
    BOOST_TEST(pic.image.height == 8 * 6);
    const Eigen::MatrixXd D(W);
    std::set<std::pair<int, int>> entries;  // stored entries, including the zero of w[0]
    for (int r = 0; r < 8; ++r)
        for (CsrMatrix::InnerIterator it(W, r); it; ++it) entries.insert({r, static_cast<int>(it.col())});
    int colored = 0;
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 18; ++c) {
            const Rgb got = pic.image.at(c * 6 + 3, r * 6 + 3);
            const bool stored = entries.count({r, c}) > 0;
            const Rgb want = stored ? tap_color(static_cast<index_t>(D(r, c)) % 4) : Rgb{255, 255, 255};
            BOOST_TEST((got == want), "entry (" << r << "," << c << ")");
            colored += stored;
        }
    BOOST_TEST(colored == W.nonZeros());
    // Block outlines: the gap column before column block 1 is gray where no entry is drawn.
    BOOST_TEST((pic.image.at(9 * 6 - 1, 0) == Rgb{160, 160, 160}));
    BOOST_TEST((tap_color(0) == Rgb{31, 119, 180}));
    BOOST_TEST((tap_color(13) == Rgb{255, 127, 14}));
}

BOOST_AUTO_TEST_CASE(spy_density_mode_counts_entries) {
    ConvOptions o;
    o.padding = Padding::symmetric({1});
    const ConvSpec spec = make_conv({1, 300}, {1, 1, 3}, o);  // 300 x 300 tridiagonal
    std::vector<double> w = {1, 1, 1};
    const CsrMatrix W = conv_matrix<double, Eigen::RowMajor, std::int64_t>(spec, w);
    SpyOptions opt;
    opt.max_pixels = 100;
    const SpyPicture pic = spy_picture(W, opt);
    BOOST_TEST(pic.density);
    BOOST_TEST(pic.rows_per_pixel == 3);
    BOOST_TEST(pic.image.width == 100);
    BOOST_TEST(pic.image.height == 100);
    BOOST_TEST(pic.max_count == 7);  // a 3x3 block on the tridiagonal holds 7 entries
    BOOST_TEST((pic.image.at(0, 0) == heat_color(1.0)));
    BOOST_TEST((pic.image.at(1, 0) == heat_color(std::log1p(1.0) / std::log1p(7.0))));  // only W[2,3]
    BOOST_TEST((pic.image.at(50, 0) == Rgb{255, 255, 255}));
}

// ---------------------------------------------------------------- strict readers

namespace {

/// CRC-32 (ISO-HDLC), bit by bit: the reference zip and PNG use, to re-sign patched bytes.
std::uint32_t crc32_reference(const std::string& s) {
    std::uint32_t c = 0xffffffffu;
    for (unsigned char b : s) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

void put_le32(std::string& s, size_t at, std::uint32_t v) {
    for (int k = 0; k < 4; ++k) s[at + k] = static_cast<char>((v >> (8 * k)) & 0xff);
}
std::uint32_t get_le(const std::string& s, size_t at, int bytes) {
    std::uint32_t v = 0;
    for (int k = 0; k < bytes; ++k) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + k])) << (8 * k);
    return v;
}

/// Offset of the local header of zip member `name` (stored members without zip64, as npz_bytes writes).
size_t local_header(const std::string& z, const std::string& name) {
    for (size_t p = 0; (p = z.find(std::string("PK\x03\x04", 4), p)) != std::string::npos; p += 4)
        if (z.compare(p + 30, get_le(z, p + 26, 2), name) == 0) return p;
    BOOST_FAIL("no member " << name);
    return 0;
}
size_t central_header(const std::string& z, const std::string& name) {
    for (size_t p = 0; (p = z.find(std::string("PK\x01\x02", 4), p)) != std::string::npos; p += 4)
        if (z.compare(p + 46, get_le(z, p + 28, 2), name) == 0) return p;
    BOOST_FAIL("no central entry " << name);
    return 0;
}

/// `z` with the data of stored member `name` changed by `edit` (same length), CRC-32 re-signed in
/// both headers: a well-formed zip whose member says something else.
std::string patch_member(std::string z, const std::string& name, const std::function<void(std::string&)>& edit) {
    const size_t p = local_header(z, name);
    const size_t data = p + 30 + get_le(z, p + 26, 2) + get_le(z, p + 28, 2);
    std::string bytes = z.substr(data, get_le(z, p + 18, 4));
    const size_t n = bytes.size();
    edit(bytes);
    BOOST_REQUIRE(bytes.size() == n);
    z.replace(data, n, bytes);
    const std::uint32_t crc = crc32_reference(bytes);
    put_le32(z, p + 14, crc);
    put_le32(z, central_header(z, name) + 16, crc);
    return z;
}

/// Replaces the first `from` in s by `to` (same length).
void replace_once(std::string& s, const std::string& from, const std::string& to) {
    const size_t at = s.find(from);
    BOOST_REQUIRE(at != std::string::npos);
    BOOST_REQUIRE(from.size() == to.size());
    s.replace(at, from.size(), to);
}

void write_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Runs f; requires an exception of type E whose message is one line of printable text holding
/// every needle. Returns the message.
template <class E, class F>
std::string error_of(F&& f, std::initializer_list<std::string> needles) {
    try {
        f();
    } catch (const E& e) {
        const std::string m = e.what();
        for (const auto& n : needles) BOOST_TEST(m.find(n) != std::string::npos, "'" << n << "' in: " << m);
        for (unsigned char c : m) BOOST_TEST((c >= 0x20 && c < 0x7f), "non-printable byte in: " << m);
        return m;
    } catch (const std::exception& e) {
        BOOST_ERROR("wrong exception type: " << e.what());
        return "";
    }
    BOOST_ERROR("no exception");
    return "";
}

CsrArrays identity3() {
    CsrArrays a;
    a.rows = a.cols = 3;
    a.indptr = {0, 1, 2, 3};
    a.indices = {0, 1, 2};
    a.data = {1.5, 2.5, 3.5};
    return a;
}

std::string int32s(std::initializer_list<std::int32_t> v) {
    std::string s;
    for (auto x : v) s.append(reinterpret_cast<const char*>(&x), 4);
    return s;
}

long max_rss_kib() {
    struct rusage u {};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

}  // namespace

BOOST_AUTO_TEST_CASE(matrix_market_huge_declared_sizes_are_refused_before_allocating) {
    // Crashed before: rows = cols = 2^62 with no entries.
    error_of<format_error>(
        [] { parse_matrix_market("%%MatrixMarket matrix coordinate real general\n4611686018427387904 4611686018427387904 0\n", "h.mtx"); },
        {"h.mtx", "4611686018427387904 rows", "max(2^24, 64 x entries) = 16777216"});
    // A 66-byte file declaring 2e8 rows and one entry took 3.1 GB before: refused, nothing large allocated.
    const fs::path p = temp_dir() / "rows.mtx";
    write_bytes(p, "%%MatrixMarket matrix coordinate real general\n200000000 1 1\n1 1 1\n");
    BOOST_TEST(fs::file_size(p) == 66u);
    const long before = max_rss_kib();
    error_of<format_error>([&] { read_matrix_file(p.string()); }, {p.string(), "200000000 rows for 1 stored entries"});
    BOOST_TEST(max_rss_kib() - before < 64 * 1024, "peak memory grew by " << (max_rss_kib() - before) << " KiB");
    // More declared entries than the bytes can hold: refused before reserving them.
    error_of<format_error>(
        [] { parse_matrix_market("%%MatrixMarket matrix coordinate real general\n1000000 1000000 1000000000\n1 1 1\n", "e.mtx"); },
        {"declares 1000000000 entries", "hold at most 1"});
    // Array sizes whose product overflows, signed and oversized numbers.
    error_of<format_error>([] { parse_matrix_market("%%MatrixMarket matrix array real general\n4611686018427387904 4\n1\n"); },
                           {"overflows"});
    error_of<format_error>([] { parse_matrix_market("%%MatrixMarket matrix coordinate real general\n-1 2 0\n"); },
                           {"rows '-1' is not a decimal integer"});
    error_of<format_error>([] { parse_matrix_market("%%MatrixMarket matrix coordinate real general\n99999999999999999999 1 0\n"); },
                           {"'99999999999999999999'"});
    // The rule itself, and a legitimate large-but-sparse file inside it.
    BOOST_TEST(max_matrix_dim(0) == index_t{1} << 24);
    BOOST_TEST(max_matrix_dim(1000000) == 64000000);
    const CsrMatrix M = parse_matrix_market("%%MatrixMarket matrix coordinate real general\n1000000 3 2\n999999 3 -2\n1 1 7\n");
    BOOST_TEST(M.rows() == 1000000);
    BOOST_TEST(M.coeff(999998, 2) == -2.0);
    BOOST_TEST(M.coeff(0, 0) == 7.0);
}

BOOST_AUTO_TEST_CASE(matrix_market_entry_rules) {
    auto mm = [](const std::string& body) {
        return [body] { parse_matrix_market("%%MatrixMarket matrix coordinate " + body, "t.mtx"); };
    };
    error_of<format_error>(mm("real general\n2 2 1\n1 1 1 5\n"), {"t.mtx", "line 3, entry 1", "'row col value'"});
    error_of<format_error>(mm("integer general\n2 2 1\n1 1 1.5\n"), {"'1.5' is not an integer"});
    error_of<format_error>(mm("real general\n2 2 1\n1 1 abc\n"), {"'abc' is not a number"});
    error_of<format_error>(mm("real symmetric\n2 3 1\n1 1 1\n"), {"must be square", "2 x 3"});
    error_of<format_error>(mm("real general\n2 2 1\n0 1 1\n"), {"(0, 1) is outside the 2x2"});
    error_of<format_error>(mm("real general\n2 2\n"), {"'rows cols entries'"});
    // Bytes from the file are escaped in messages.
    const std::string m = error_of<format_error>(
        [] { parse_matrix_market("\x1b[31m%%MatrixMarket\x07 matrix\n", "esc.mtx"); }, {"\\x1b[31m", "\\x07"});
    BOOST_TEST(m.find('\x1b') == std::string::npos);
    // Values beyond double are infinities, as strtod (and so scipy) reads them; tiny ones underflow to zero.
    const CsrMatrix B = parse_matrix_market("%%MatrixMarket matrix coordinate real general\n1 4 4\n1 1 1e400\n1 2 -2e999\n1 3 1e-400\n1 4 1e-320\n");
    BOOST_TEST(B.coeff(0, 0) == std::strtod("1e400", nullptr));
    BOOST_TEST(B.coeff(0, 1) == std::strtod("-2e999", nullptr));
    BOOST_TEST(B.coeff(0, 2) == std::strtod("1e-400", nullptr));
    BOOST_TEST(B.coeff(0, 3) == std::strtod("1e-320", nullptr));  // subnormal
    BOOST_TEST(B.coeff(0, 3) > 0.0);
    BOOST_TEST(B.nonZeros() == 4);
}

BOOST_AUTO_TEST_CASE(npz_arrays_must_describe_a_matrix) {
    const std::string z = npz_bytes(identity3());
    BOOST_TEST((Eigen::MatrixXd(parse_npz(z)) - Eigen::Vector3d(1.5, 2.5, 3.5).asDiagonal().toDenseMatrix()).norm() == 0.0);
    auto with = [&](const std::string& member, const std::string& from, const std::string& to) {
        return patch_member(z, member, [&](std::string& b) { replace_once(b, from, to); });
    };
    // indptr [0, 3, 1, 3] with 3 values was accepted before.
    const std::string bad_ptr = with("indptr.npy", int32s({0, 1, 2, 3}), int32s({0, 3, 1, 3}));
    error_of<format_error>([&] { parse_npz(bad_ptr, "p.npz"); }, {"p.npz member indptr.npy", "decreases at 2 (3 then 1)"});
    error_of<format_error>([&] { parse_npz(with("indptr.npy", int32s({0, 1, 2, 3}), int32s({1, 1, 2, 3}))); },
                           {"indptr[0] = 1 must be 0"});
    error_of<format_error>([&] { parse_npz(with("indptr.npy", int32s({0, 1, 2, 3}), int32s({0, 1, 2, 2}))); },
                           {"ends at 2 but there are 3 entries"});
    error_of<format_error>([&] { parse_npz(with("indices.npy", int32s({0, 1, 2}), int32s({0, 5, 2}))); },
                           {"member indices.npy", "index 5 of entry 1 is outside [0, 3)"});
    error_of<format_error>([&] { parse_npz(with("indices.npy", "<i4", "<f4")); },
                           {"indices.npy", "'<f4' must be an integer dtype"});
    error_of<format_error>([&] { parse_npz(with("data.npy", "<f8", "<c8")); }, {"data.npy", "dtype '<c8'"});
    error_of<format_error>([&] { parse_npz(with("format.npy", "csr", "dia")); }, {"sparse format 'dia'"});
    std::int64_t neg[2] = {-1, 3}, three[2] = {3, 3};
    const std::string shape_neg(reinterpret_cast<const char*>(neg), 16), shape_ok(reinterpret_cast<const char*>(three), 16);
    error_of<format_error>([&] { parse_npz(with("shape.npy", shape_ok, shape_neg)); }, {"shape (-1, 3) must be non-negative"});
    // A float shape must hold finite integers.
    std::string float_shape = with("shape.npy", "<i8", "<f8");
    double nan_shape[2] = {std::nan(""), 3.0};
    float_shape = patch_member(float_shape, "shape.npy", [&](std::string& b) {
        b.replace(b.size() - 16, 16, std::string(reinterpret_cast<const char*>(nan_shape), 16));
    });
    error_of<format_error>([&] { parse_npz(float_shape); }, {"rows = nan must be a finite non-negative integer"});
    // A missing member (renamed in both headers; a name twice is tested with Python's zipfile).
    std::string renamed = z;
    replace_once(renamed, "data.npy", "datb.npy");
    replace_once(renamed, "data.npy", "datb.npy");
    error_of<format_error>([&] { parse_npz(renamed); }, {"a csr matrix without data.npy"});
}

BOOST_AUTO_TEST_CASE(npz_zip_structure_is_checked) {
    const std::string z = npz_bytes(identity3());
    // Truncated anywhere: no end-of-directory record, or a member cut short.
    for (size_t cut : {z.size() - 10, z.size() / 2, size_t{40}})
        error_of<format_error>([&] { parse_npz(z.substr(0, cut), "cut.npz"); }, {"cut.npz"});
    // A flipped data byte fails the CRC-32 check.
    std::string flipped = z;
    flipped[local_header(flipped, "data.npy") + 30 + 8 + 130] ^= 0x01;
    error_of<format_error>([&] { parse_npz(flipped, "crc.npz"); }, {"crc.npz member data.npy", "CRC"});
    // Central directory and local header disagree on a size.
    std::string disagree = z;
    const size_t c = central_header(disagree, "data.npy");
    put_le32(disagree, c + 24, get_le(disagree, c + 24, 4) + 8);
    error_of<format_error>([&] { parse_npz(disagree, "size.npz"); }, {"size.npz", "inconsistent"});
    // Sizes that no archive of this length can hold, in both headers.
    std::string huge = z;
    const size_t l = local_header(huge, "data.npy"), c2 = central_header(huge, "data.npy");
    for (size_t at : {l + 18, l + 22, c2 + 20, c2 + 24}) put_le32(huge, at, 0x7fffffffu);
    error_of<format_error>([&] { parse_npz(huge, "huge.npz"); }, {"huge.npz"});
    // Not a zip at all.
    error_of<format_error>([] { parse_npz("hello, world", "text.npz"); }, {"text.npz", "not a readable zip archive"});
}

BOOST_AUTO_TEST_CASE(npy_headers_must_match_the_data) {
    const double v[6] = {1, 2, 3, 4, 5, 6};
    const std::string good = npy_bytes(v, {2, 3});
    BOOST_TEST(parse_npy(good, "g").data == std::vector<double>(v, v + 6), boost::test_tools::per_element());
    auto edited = [&](const std::string& from, const std::string& to) {
        std::string b = good;
        replace_once(b, from, to);
        return b;
    };
    error_of<format_error>([&] { parse_npy(edited("(2, 3)", "(2, 4)"), "s.npy"); },
                           {"s.npy", "(2, 4) of '<f8' needs 8 x 8 bytes, but 48 follow the header"});
    error_of<format_error>([&] { parse_npy(good.substr(0, good.size() - 1), "t.npy"); }, {"but 47 follow"});
    error_of<format_error>([&] { parse_npy(good + "x", "t.npy"); }, {"but 49 follow"});
    error_of<format_error>([&] { parse_npy(edited("<f8", ">f8"), "b.npy"); }, {"'>f8' is big-endian"});
    error_of<format_error>([&] { parse_npy(edited("<f8", "<c8"), "c.npy"); }, {"'<c8' is not supported"});
    error_of<format_error>([&] { parse_npy(edited("'shape'", "'shapf'"), "k.npy"); }, {"unexpected or repeated key 'shapf'"});
    // 2^62 x 4 elements overflow the count: refused without allocating.
    const std::string over = npy_header("<f8", {index_t{1} << 62, 4});
    error_of<format_error>([&] { parse_npy(over, "o.npy"); }, {"more than 2^63 elements"});
    // A header length running past the bytes.
    std::string longhead = good.substr(0, 10);
    longhead[8] = '\xff';
    longhead[9] = '\x7f';
    error_of<format_error>([&] { parse_npy(longhead, "l.npy"); }, {"header length 32767 runs past"});
    // Fortran order is read back into C order: F-order data of [[1, 2, 3], [4, 5, 6]] is 1 4 2 5 3 6.
    const double f[6] = {1, 4, 2, 5, 3, 6};
    std::string fortran = npy_bytes(f, {2, 3});
    replace_once(fortran, "'fortran_order': False", "'fortran_order': True ");
    BOOST_TEST(parse_npy(fortran, "f").data == std::vector<double>(v, v + 6), boost::test_tools::per_element());
    // The file reader converts block by block to the same values.
    const fs::path p = temp_dir() / "v.npy";
    write_npy(p.string(), v, {2, 3});
    BOOST_TEST(slurp(p) == good);
    BOOST_TEST(read_npy(p.string()).data == std::vector<double>(v, v + 6), boost::test_tools::per_element());
    write_bytes(p, edited("(2, 3)", "(3, 3)"));
    error_of<format_error>([&] { read_npy(p.string()); }, {p.string(), "needs 9 x 8 bytes, but 48 follow"});
    // 2^36 uint8 values really present (a sparse file) would take 512 GiB as double: refused first.
    const fs::path big = temp_dir() / "big.npy";
    const std::string head = npy_header("|u1", {index_t{1} << 36});
    write_bytes(big, head);
    fs::resize_file(big, head.size() + (std::uintmax_t{1} << 36));
    BOOST_CHECK_THROW(read_npy(big.string()), memory_limit_error);
    fs::remove(big);
}

BOOST_AUTO_TEST_CASE(image_headers_are_checked_before_allocating) {
    // A PGM whose header declares 4294967296 x 4294967296 pixels.
    const fs::path pgm = temp_dir() / "huge.pgm";
    write_bytes(pgm, std::string("P5\n4294967296 4294967296\n255\n\x01\x02", 31));
    const long before = max_rss_kib();
    error_of<format_error>([&] { read_image(pgm.string()); },
                           {pgm.string(), "4294967296 x 4294967296", "2^20 pixels per side"});
    BOOST_TEST(max_rss_kib() - before < 64 * 1024);
    write_bytes(pgm, "P5\n3 2\n255\n\x01\x02\x03");
    error_of<format_error>([&] { read_image(pgm.string()); }, {"6 bytes, but 3 follow the header"});
    write_bytes(pgm, "P5\n3 1\n10\n\x01\x02\x0b");
    error_of<format_error>([&] { read_image(pgm.string()); }, {"sample 2 = 11 is above maxval 10"});
    write_bytes(pgm, "P2\n3 1\n10\n1 2 3 4\n");
    error_of<format_error>([&] { read_image(pgm.string()); }, {"more than the 3 samples"});
    write_bytes(pgm, "P2\n300 300\n10\n1 2 3\n");
    error_of<format_error>([&] { read_image(pgm.string()); }, {"declares 90000 samples"});
    write_bytes(pgm, "P2\n2 1\n70000\n1 2\n");
    error_of<format_error>([&] { read_image(pgm.string()); }, {"maxval=70000 must be in [1, 65535]"});
    // A PNG whose IHDR (CRC re-signed) declares 30000 x 30000 pixels, and one declaring 2^21.
    const std::string png = rgb_png_bytes(RgbImage(4, 3, {10, 20, 30}));
    auto with_size = [&](std::uint32_t w, std::uint32_t h) {
        std::string b = png;
        for (int k = 0; k < 4; ++k) {
            b[16 + k] = static_cast<char>((w >> (24 - 8 * k)) & 0xff);
            b[20 + k] = static_cast<char>((h >> (24 - 8 * k)) & 0xff);
        }
        const std::uint32_t crc = crc32_reference(b.substr(12, 17));
        for (int k = 0; k < 4; ++k) b[29 + k] = static_cast<char>((crc >> (24 - 8 * k)) & 0xff);
        return b;
    };
    const fs::path p = temp_dir() / "huge.png";
    write_bytes(p, with_size(30000, 30000));
    error_of<format_error>([&] { read_image(p.string()); }, {p.string(), "30000 x 30000", "1032 times"});
    error_of<format_error>([&] { read_rgb_png(p.string()); }, {"1032 times"});
    write_bytes(p, with_size(1u << 21, 1));
    error_of<format_error>([&] { read_image(p.string()); }, {"2097152 x 1", "2^20 pixels per side"});
    write_bytes(p, png.substr(0, png.size() / 2));
    error_of<format_error>([&] { read_rgb_png(p.string()); }, {p.string(), "bad PNG"});
    write_bytes(p, png);
    BOOST_TEST(read_rgb_png(p.string()).pixels == RgbImage(4, 3, {10, 20, 30}).pixels, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(image_bytes_decode_as_their_files) {
    // parse_png / parse_pgm / parse_image read bytes with the file readers' code and rules.
    Raster gray;
    gray.width = 5;
    gray.height = 3;
    gray.bits = 16;
    gray.maxval = 65535;
    for (int i = 0; i < 30; ++i) gray.samples.push_back(static_cast<std::uint8_t>(37 * i));
    StringSink png_bytes, pgm_bytes;
    encode_png(gray, png_bytes);
    encode_pgm(gray, pgm_bytes);
    const fs::path png = temp_dir() / "bytes.png", pgm = temp_dir() / "bytes.pgm";
    write_bytes(png, png_bytes.bytes);
    write_bytes(pgm, pgm_bytes.bytes);
    BOOST_TEST(parse_png(png_bytes.bytes).samples == read_png_file(png.string()).samples, boost::test_tools::per_element());
    BOOST_TEST(parse_png(png_bytes.bytes).samples == gray.samples, boost::test_tools::per_element());
    BOOST_TEST(parse_pgm(pgm_bytes.bytes).samples == gray.samples, boost::test_tools::per_element());
    BOOST_TEST(parse_image(pgm_bytes.bytes).pixels == read_image(pgm.string()).pixels, boost::test_tools::per_element());
    BOOST_TEST(parse_image(png_bytes.bytes).pixels == read_image(png.string()).pixels, boost::test_tools::per_element());
    // The same refusals, naming the bytes as given.
    error_of<format_error>([&] { parse_pgm("P5\n4294967296 4294967296\n255\n\x01", "the upload"); },
                           {"the upload: PGM header", "4294967296 x 4294967296"});
    error_of<format_error>([&] { parse_png(png_bytes.bytes.substr(0, 40), "the upload"); }, {"the upload", "bad PNG"});
    error_of<format_error>([&] { parse_image("GIF89a", "the upload"); }, {"the upload is neither a PNG nor a PGM"});
    MemoryInput m("abc", "three bytes");
    char buf[8] = {};
    BOOST_TEST(m.read_at(1, buf, 8) == 2u);
    BOOST_TEST(m.read_at(9, buf, 8) == 0u);
    BOOST_TEST(m.read_all(3) == "abc");
    error_of<format_error>([&] { m.read_all(2); }, {"three bytes holds 3 bytes, more than the 2"});
    error_of<format_error>([&] { m.read_exact(2, buf, 4, "the header"); }, {"three bytes", "ends after 3 bytes", "the header"});
}

BOOST_AUTO_TEST_CASE(picture_sizes_are_checked_before_allocating) {
    // Issue #10: `spy --cell 1152921504606846977` crashed (cols * cell overflowed). The library checks
    // every picture side against 2^20 pixels without overflowing, before allocating.
    const ConvSpec spec = make_conv({1, 4, 4}, {1, 1, 1, 1});
    const CsrMatrix W = conv_matrix<double, Eigen::RowMajor, std::int64_t>(spec, std::vector<double>{1.0});
    for (const index_t cell : {index_t{1} << 17, index_t{1152921504606846977}, std::numeric_limits<index_t>::max()}) {
        SpyOptions o;
        o.cell = cell;
        error_of<config_error>([&] { spy_picture(W, o); }, {"spy_picture", std::to_string(cell), "2^20 pixels per side"});
    }
    SpyOptions o;
    o.cell = -1;
    error_of<config_error>([&] { spy_picture(W, o); }, {"cell=-1"});
    o.cell = 0;
    o.density = true;
    o.max_pixels = index_t{1} << 40;  // density cells of one entry each: a 16 x 16 count grid, fine
    BOOST_TEST(spy_picture(W, o).image.width == 16);
    const std::vector<index_t> grid(6, 1);
    error_of<config_error>([&] { heat_map(grid, 2, 3, index_t{1} << 62); }, {"heat_map", "2^20 pixels per side"});
    error_of<shape_error>([&] { heat_map(grid, index_t{1} << 32, index_t{1} << 32, 1); }, {"heat_map: 6 values"});
    // An empty grid is refused by the picture before its minimum and maximum are taken.
    error_of<config_error>([&] { heat_map({}, 0, 5, 3); }, {"image size 15x0 must be positive"});
    error_of<config_error>([&] { Image(index_t{1} << 40, index_t{1} << 40); }, {"too large", "2^30 in all"});
    error_of<config_error>([&] { shepp_logan(index_t{1} << 40); }, {"phantom size n=1099511627776"});
    error_of<config_error>([&] { shepp_logan(8, 1 << 20); }, {"supersample=1048576 must be in [1, 32]"});
    error_of<config_error>([&] { gaussian_kernel(index_t{1} << 40, 1.0); }, {"kernel size=1099511627776"});
    error_of<config_error>([&] { gaussian_kernel(3, std::numeric_limits<double>::infinity()); }, {"sigma=inf"});
    error_of<config_error>([&] { upscale_nearest(Image(2, 2), index_t{1} << 62); }, {"upscale factor"});
    error_of<config_error>([&] { hconcat({Image(2, 2), Image(2, 2)}, index_t{1} << 62); }, {"gap="});
}

BOOST_AUTO_TEST_CASE(only_regular_files_are_read) {
    const fs::path dir = temp_dir() / "special";
    fs::create_directories(dir);
    auto read_any = [](const fs::path& f) {
        const std::string ext = f.extension().string();
        if (ext == ".npy") read_npy(f.string());
        else if (ext == ".png") read_image(f.string());
        else read_matrix_file(f.string());
    };
    for (const char* name : {"p.mtx", "p.npz", "p.npy", "p.png"}) {
        // A FIFO without a writer: opened without blocking, refused by fstat.
        const fs::path fifo = dir / name;
        BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        error_of<io_error>([&] { read_any(fifo); }, {fifo.string(), "is a FIFO, not a regular file"});
        // A symbolic link to /dev/zero: refused, not read forever.
        const fs::path zero = dir / (std::string("z") + name);
        fs::create_symlink("/dev/zero", zero);
        error_of<io_error>([&] { read_any(zero); }, {zero.string(), "is a character device (through a symbolic link)"});
    }
    fs::create_directory(dir / "d.mtx");
    error_of<io_error>([&] { read_matrix_file((dir / "d.mtx").string()); }, {"is a directory"});
    error_of<io_error>([&] { read_matrix_file((dir / "missing.mtx").string()); }, {"No such file or directory"});
}

// ---------------------------------------------------------------- atomic writing

BOOST_AUTO_TEST_CASE(a_planted_symbolic_link_is_never_followed) {
    const fs::path dir = temp_dir() / "plant";
    fs::create_directories(dir);
    const fs::path victim = dir / "victim.txt", out = dir / "W.mtx";
    write_bytes(victim, "precious");
    // The old writer's predictable temporary name.
    fs::create_symlink(victim, dir / "W.mtx.tmp-convmtx");
    write_matrix_file(out.string(), identity3());
    BOOST_TEST(slurp(victim) == "precious");
    BOOST_TEST(fs::is_symlink(dir / "W.mtx.tmp-convmtx"));
    BOOST_TEST(slurp(out) == matrix_market_text(identity3()));
    // The exclusive creation every temporary file goes through refuses a link already at the name,
    // to an existing file or to a missing one, and neither follows nor truncates it.
    fs::create_symlink(victim, dir / ".planted");
    fs::create_symlink(dir / "not-yet.txt", dir / ".dangling");
    for (const char* name : {".planted", ".dangling"}) {
        errno = 0;
        const int fd = detail::create_exclusive(AT_FDCWD, (dir / name).c_str());
        BOOST_TEST(fd == -1);
        BOOST_TEST(errno == EEXIST);
        if (fd >= 0) ::close(fd);
    }
    BOOST_TEST(slurp(victim) == "precious");
    BOOST_TEST(!fs::exists(dir / "not-yet.txt"));
    // Temporary names are unique and hidden, in the destination's directory.
    AtomicWriter a(out.string()), b(out.string());
    BOOST_TEST(a.temporary_path() != b.temporary_path());
    for (const AtomicWriter* w : {&a, &b}) {
        const fs::path t = w->temporary_path();
        BOOST_TEST(t.parent_path() == dir);
        BOOST_TEST(t.filename().string().rfind(".W.mtx.", 0) == 0);
        BOOST_TEST(fs::is_regular_file(fs::symlink_status(t)));
    }
    a.write("first");
    b.write("second");
    a.commit();
    b.commit();
    BOOST_TEST(slurp(out) == "second");
    BOOST_TEST(names_starting(dir, ".W.mtx.").empty());
}

BOOST_AUTO_TEST_CASE(a_failed_write_leaves_the_old_file) {
    const fs::path dir = temp_dir() / "fail";
    fs::create_directories(dir);
    const fs::path out = dir / "W.mtx";
    write_matrix_file(out.string(), identity3());
    const std::string old = slurp(out);
    fs::permissions(out, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    // An exception while producing the bytes: rethrown, destination and directory as before.
    BOOST_CHECK_THROW(write_file_atomic(out.string(),
                                        [](ByteSink& s) {
                                            s.write(std::string(3 << 20, 'x'));
                                            throw std::runtime_error("producer failed");
                                        }),
                      std::runtime_error);
    BOOST_TEST(slurp(out) == old);
    BOOST_TEST(names_starting(dir, ".W.mtx.").empty());
    // A writer dropped without commit().
    {
        AtomicWriter w(out.string());
        w.write("partial");
        BOOST_TEST(fs::exists(w.temporary_path()));
    }
    BOOST_TEST(slurp(out) == old);
    BOOST_TEST(names_starting(dir, ".W.mtx.").empty());
    // Invalid arrays are refused before anything is created.
    CsrArrays bad = identity3();
    bad.indptr = {0, 3, 1, 3};
    error_of<std::invalid_argument>([&] { write_matrix_file((dir / "bad.npz").string(), bad); }, {"decreases at row 1"});
    error_of<std::invalid_argument>([&] { write_matrix_file((dir / "bad.mtx").string(), bad); }, {"decreases at row 1"});
    BOOST_TEST(!fs::exists(dir / "bad.npz"));
    BOOST_TEST(!fs::exists(dir / "bad.mtx"));
    // A rewrite keeps the permission bits; a symbolic link to the file stays a link to the new file.
    write_matrix_file(out.string(), identity3(), "again");
    BOOST_TEST(static_cast<unsigned>(fs::status(out).permissions() & fs::perms::all) == 0640u);
    fs::create_symlink(out, dir / "link.mtx");
    write_matrix_file((dir / "link.mtx").string(), identity3(), "through the link");
    BOOST_TEST(fs::is_symlink(dir / "link.mtx"));
    BOOST_TEST(slurp(out).find("% through the link") != std::string::npos);
    // Errors name the path and the system's reason.
    error_of<io_error>([&] { write_matrix_file((dir / "no" / "such" / "W.mtx").string(), identity3()); },
                       {(dir / "no" / "such" / "W.mtx").string(), "No such file or directory"});
    error_of<io_error>([&] { write_file_atomic(dir.string(), "x"); }, {"is a directory"});
    fs::create_symlink("/dev/full", dir / "full.mtx");
    error_of<io_error>([&] { write_matrix_file((dir / "full.mtx").string(), identity3()); },
                       {"full.mtx", "is a character device (through a symbolic link), not a regular file"});
}

BOOST_AUTO_TEST_CASE(special_destinations_are_refused_without_opening_them) {
    const fs::path dir = temp_dir() / "direct";
    fs::create_directories(dir);
    const CsrArrays a = identity3();
    // A FIFO without a reader: refused from its stat (opening it for writing would block forever).
    for (const char* name : {"f.mtx", "f.npz"}) {
        const fs::path fifo = dir / name;
        BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        error_of<io_error>([&] { write_matrix_file(fifo.string(), a); },
                           {fifo.string(), "is a FIFO, not a regular file", "outputs are written only to regular files"});
        error_of<io_error>([&] { check_output_destination(fifo.string()); }, {"is a FIFO"});
        BOOST_TEST(fs::is_fifo(fifo));
    }
    // A character device, through a link: refused, the device stays.
    fs::create_symlink("/dev/null", dir / "null.npz");
    error_of<io_error>([&] { write_matrix_file((dir / "null.npz").string(), a); },
                       {"is a character device (through a symbolic link)"});
    BOOST_TEST(fs::is_character_file("/dev/null"));
    BOOST_TEST(names_starting("/dev", ".null").empty());
    check_output_destination((dir / "new.mtx").string());  // missing: fine
    check_output_destination("-");
    // "-" is standard output.
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    std::fflush(stdout);
    const int saved = ::dup(1);
    ::dup2(fds[1], 1);
    write_file_atomic("-", "to stdout\n");
    ::dup2(saved, 1);
    ::close(saved);
    ::close(fds[1]);
    char buf[64] = {};
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    ::close(fds[0]);
    BOOST_TEST(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) == "to stdout\n");
}

BOOST_AUTO_TEST_CASE(an_output_batch_writes_every_file_or_none) {
    // break_hostile F37: a command with several outputs left the earlier ones when a later write failed.
    const fs::path dir = temp_dir() / "batch";
    fs::create_directories(dir);
    const std::string a = (dir / "a.txt").string(), b = (dir / "b.txt").string();
    write_file_atomic(a, "old a");
    {
        OutputBatch batch;
        write_file_atomic(a, "new a");
        write_file_atomic(b, "new b");
        BOOST_TEST(batch.pending() == 2u);
        BOOST_TEST(slurp(a) == "old a");  // nothing renamed yet
        BOOST_TEST(!fs::exists(b));
        // a later output fails: the batch is abandoned
        BOOST_CHECK_THROW(write_file_atomic((dir / "no" / "c.txt").string(), "c"), io_error);
    }
    BOOST_TEST(slurp(a) == "old a");
    BOOST_TEST(!fs::exists(b));
    BOOST_TEST(names_starting(dir.string(), ".").empty());  // no temporary file left
    {
        OutputBatch batch;
        write_file_atomic(a, "new a");
        {
            OutputBatch inner;  // joins the outer batch
            write_file_atomic(b, "new b");
            inner.commit();
        }
        BOOST_TEST(!fs::exists(b));
        batch.commit();
    }
    BOOST_TEST(slurp(a) == "new a");
    BOOST_TEST(slurp(b) == "new b");
    BOOST_TEST(names_starting(dir.string(), ".").empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(streamed_writers_give_the_same_bytes, Scalar, Scalars) {
    // Each file format written to a file equals its in-memory encoding.
    std::mt19937_64 rng(11);
    const ConvSpec spec = random_spec(rng, false);
    const auto w = random_values<Scalar>(rng, spec.weight_numel());
    const CsrArrays a = to_csr_arrays(conv_matrix<Scalar>(spec, w));
    const fs::path dir = temp_dir();
    write_matrix_file((dir / "s.mtx").string(), a, "c");
    write_matrix_file((dir / "s.npz").string(), a);
    BOOST_TEST(slurp(dir / "s.mtx") == matrix_market_text(a, "c"));
    BOOST_TEST(slurp(dir / "s.npz") == npz_bytes(a));
    BOOST_TEST(npz_bytes(a) == npz_bytes(a));  // fixed member times: equal matrices give equal files
    const RgbImage img(7, 5, {1, 2, 3});
    write_rgb_png((dir / "s.png").string(), img);
    BOOST_TEST(slurp(dir / "s.png") == rgb_png_bytes(img));
}
