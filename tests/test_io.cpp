// Matrix Market and npz files (round trips, files written by scipy, malformed input)
// and RGB PNG / spy pictures.
#define BOOST_TEST_MODULE io
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

#include "convmtx/inspect.hpp"
#include "convmtx/io.hpp"
#include "convmtx/png.hpp"
#include "test_common.hpp"

using namespace convmtx;
using namespace convmtx::test;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
    static const fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("convmtx_test_io_" + std::string(is_double ? "double" : "float") + "_" +
                                                  std::to_string(::getpid()));
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

using Mat = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int>;

/// The scalar of the matrix under test, read back from a double (float values are rounded to float).
Eigen::MatrixXd as_scalar(const CsrMatrix& M) { return Eigen::MatrixXd(M).cast<Scalar>().cast<double>(); }

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

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(TempCleanup);

BOOST_AUTO_TEST_CASE(matrix_market_and_npz_round_trip_random_configurations) {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 40; ++trial) {
        const ConvSpec spec = random_spec(rng, trial % 2 == 1);
        const auto w = random_values(rng, spec.weight_numel());
        const Mat M = operator_matrix<Scalar, Eigen::RowMajor, int>(spec, w.data());
        const Eigen::MatrixXd dense = Eigen::MatrixXd(M.template cast<double>());
        const fs::path mtx = temp_dir() / "m.mtx", npz = temp_dir() / "m.npz";
        write_matrix_file(mtx.string(), M, "trial " + std::to_string(trial) + "\n" + spec.describe());
        write_matrix_file(npz.string(), M);
        const CsrMatrix a = read_matrix_file(mtx.string()), b = read_matrix_file(npz.string());
        BOOST_TEST_CONTEXT(spec.describe()) {
            BOOST_TEST(a.rows() == M.rows());
            BOOST_TEST(a.cols() == M.cols());
            BOOST_TEST(a.nonZeros() == M.nonZeros());  // explicit zeros survive
            BOOST_TEST((as_scalar(a) - dense).cwiseAbs().maxCoeff() == 0.0);
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

BOOST_AUTO_TEST_CASE(files_written_by_scipy_are_read) {
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
    BOOST_TEST((Eigen::MatrixXd(conv_matrix<Scalar>(spec, w.data()).template cast<double>()) - ref).cwiseAbs().maxCoeff() == 0.0);
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
    BOOST_TEST(!fs::exists(path.string() + ".tmp-convmtx"));
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
    const CsrMatrix W = conv_matrix<double, Eigen::RowMajor, std::int64_t>(spec, w.data());
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
    const CsrMatrix W = conv_matrix<double, Eigen::RowMajor, std::int64_t>(spec, w.data());
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
