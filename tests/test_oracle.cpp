// Every method of convmtx against PyTorch: tests/data/oracle.txt holds weights,
// biases, inputs and float64 outputs of torch.nn.functional.conv{1,2,3}d /
// conv_transpose{1,2,3}d (and nn.Conv*/nn.ConvTranspose* for padding modes,
// 'same'/'valid' and output_size) for several hundred random configurations,
// written by tests/oracle/generate_oracle.py (see docs/testing.md). Each entry
// is one test case named by its configuration (spec.describe()), run in float and in double.
#define BOOST_TEST_MODULE oracle
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_common.hpp"

namespace convmtx::test {
namespace {

const char* const kOracleFile = CONVMTX_SOURCE_DIR "/tests/data/oracle.txt";

/// One configuration of the oracle file, exactly as written by the generator.
struct Entry {
    int id = -1;
    std::string category;
    ConvSpec spec;  ///< built from the recorded fields
    std::string api;  ///< spec | make | same | valid | output_size: how the test builds the ConvSpec
    std::optional<Dims> output_size;
    Dims output;  ///< spatial output size torch produced
    index_t batch = 0;
    std::vector<double> weight, bias, x, y;
    std::string load_error;  ///< set (on a single placeholder entry) when the file could not be read
};

std::ostream& operator<<(std::ostream& os, const Entry& e) {
    if (!e.load_error.empty()) return os << "oracle file not loaded";
    return os << "oracle entry " << e.id << " (" << e.category << ", api " << e.api << ")";
}

/// Reads the whitespace-separated oracle file, checking every keyword.
class Reader {
public:
    explicit Reader(std::istream& in) : in_(in) {}

    bool next_entry(Entry& e) {
        std::string word;
        if (!(in_ >> word)) return false;
        if (word != "entry") fail("expected 'entry', found '" + word + "'");
        e.id = static_cast<int>(integer());
        e.category = token();
        e.spec.transposed = value("transposed") != 0;
        e.spec.groups = value("groups");
        e.spec.in_channels = value("in_channels");
        e.spec.out_channels = value("out_channels");
        e.spec.input_size = dims("input");
        const int r = static_cast<int>(e.spec.input_size.size());
        e.spec.kernel_size = dims("kernel", r);
        e.spec.stride = dims("stride", r);
        e.spec.dilation = dims("dilation", r);
        e.spec.padding_lo = dims("pad_lo", r);
        e.spec.padding_hi = dims("pad_hi", r);
        e.spec.output_padding = dims("output_padding", r);
        expect("padding_mode");
        e.spec.padding_mode = parse_padding_mode(token());
        expect("api");
        e.api = token();
        expect("output_size");
        const std::string first = token();
        if (first != "-") {
            Dims sizes{parse_int(first)};
            for (int j = 1; j < r; ++j) sizes.push_back(integer());
            e.output_size = sizes;
        }
        e.output = dims("output", r);
        e.batch = value("batch");
        e.weight = numbers("weight");
        e.bias = numbers("bias");
        e.x = numbers("x");
        e.y = numbers("y");
        expect("end");
        return true;
    }

private:
    [[noreturn]] void fail(const std::string& msg) const {
        throw std::runtime_error(std::string(kOracleFile) + ": " + msg);
    }
    std::string token() {
        std::string t;
        if (!(in_ >> t)) fail("unexpected end of file");
        return t;
    }
    void expect(const char* keyword) {
        const std::string t = token();
        if (t != keyword) fail(std::string("expected '") + keyword + "', found '" + t + "'");
    }
    index_t parse_int(const std::string& t) const {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(t.c_str(), &end, 10);
        if (errno || end == t.c_str() || *end) fail("'" + t + "' is not an integer");
        return static_cast<index_t>(v);
    }
    index_t integer() { return parse_int(token()); }
    index_t value(const char* keyword) {
        expect(keyword);
        return integer();
    }
    // A line "keyword v1 .. vr"; r < 0: as many integers as the rest of the line holds.
    Dims dims(const char* keyword, int r = -1) {
        expect(keyword);
        std::string line;
        std::getline(in_, line);
        std::istringstream ls(line);
        Dims d;
        std::string t;
        while (ls >> t) d.push_back(parse_int(t));
        if (d.empty() || d.size() > 3 || (r >= 0 && static_cast<int>(d.size()) != r))
            fail(std::string(keyword) + " has " + std::to_string(d.size()) + " values");
        return d;
    }
    // "keyword count v1 .. v_count", values in C99 hexadecimal (float.hex()), read exactly by strtod.
    std::vector<double> numbers(const char* keyword) {
        expect(keyword);
        const index_t count = integer();
        std::vector<double> v(static_cast<size_t>(count));
        for (auto& x : v) {
            const std::string t = token();
            char* end = nullptr;
            x = std::strtod(t.c_str(), &end);
            if (end == t.c_str() || *end) fail(std::string(keyword) + ": '" + t + "' is not a number");
        }
        return v;
    }

    std::istream& in_;
};

std::vector<Entry> load_entries() {
    std::vector<Entry> entries;
    try {
        std::ifstream in(kOracleFile);
        if (!in) throw std::runtime_error(std::string("cannot open ") + kOracleFile);
        // Skip the '#' header lines.
        while (in.peek() == '#') {
            std::string line;
            std::getline(in, line);
        }
        Reader reader(in);
        Entry e;
        while (reader.next_entry(e)) entries.push_back(e);
    } catch (const std::exception& ex) {
        Entry bad;
        bad.load_error = ex.what();
        return {bad};
    }
    return entries;
}

const std::vector<Entry>& oracle() {
    static const std::vector<Entry> entries = load_entries();
    return entries;
}

template <class Scalar>
std::vector<Scalar> to_scalar(const std::vector<double>& v) {
    return std::vector<Scalar>(v.begin(), v.end());
}

/// The ConvSpec the way the entry's api says: the recorded fields, or make_conv / make_conv_transpose.
ConvSpec build_spec(const Entry& e) {
    const ConvSpec& f = e.spec;
    if (e.api == "spec") {
        f.validate();
        return f;
    }
    const Shape input_shape = f.input_shape();
    const Shape weight_shape = f.weight_shape();
    const bool symmetric = f.padding_lo == f.padding_hi;
    const Padding explicit_pad = symmetric ? Padding::symmetric(f.padding_lo) : Padding::sides(f.padding_lo, f.padding_hi);
    if (!f.transposed) {
        ConvOptions o;
        o.stride = f.stride;
        o.dilation = f.dilation;
        o.groups = f.groups;
        o.padding_mode = f.padding_mode;
        if (e.api == "make") o.padding = explicit_pad;
        else if (e.api == "same") o.padding = Padding::same();
        else if (e.api == "valid") o.padding = Padding::valid();
        else throw std::runtime_error("unknown api '" + e.api + "' for a conv");
        return make_conv(input_shape, weight_shape, o);
    }
    ConvTransposeOptions o;
    o.stride = f.stride;
    o.dilation = f.dilation;
    o.groups = f.groups;
    o.padding = explicit_pad;
    if (e.api == "make") o.output_padding = f.output_padding;
    else if (e.api == "output_size") o.output_size = e.output_size.value();
    else throw std::runtime_error("unknown api '" + e.api + "' for a transposed conv");
    return make_conv_transpose(input_shape, weight_shape, o);
}

/// Largest relative difference seen over all entries and methods, per scalar (printed with --log_level=message).
template <class Scalar>
double max_seen_error = 0;

struct ReportMaxError {
    void setup() {}
    void teardown() {
        BOOST_TEST_MESSAGE("largest relative difference from PyTorch over all entries and methods: float "
                           << max_seen_error<float> << " (tolerance " << tol<float>() << "), double "
                           << max_seen_error<double> << " (tolerance " << tol<double>() << ")");
    }
};
BOOST_TEST_GLOBAL_FIXTURE(ReportMaxError);

/// result (one sample per column) against the PyTorch output, relative to max(1, max|ref|).
template <class Scalar>
void check(const char* method, const Batch<Scalar>& result, const Batch<double>& ref) {
    BOOST_TEST_INFO_SCOPE(method);
    BOOST_TEST_REQUIRE(result.rows() == ref.rows());
    BOOST_TEST_REQUIRE(result.cols() == ref.cols());
    const double err = rel_diff(result.template cast<double>(), ref);
    max_seen_error<Scalar> = std::max(max_seen_error<Scalar>, err);
    BOOST_TEST(err <= tol<Scalar>(), method << ": relative difference " << err << " exceeds " << tol<Scalar>());
}

template <class Scalar, int Order, class Index>
void check_matrices(const ConvSpec& spec, const std::vector<Scalar>& w, span<const Scalar> bias,
                    const Batch<Scalar>& x, const Batch<double>& ref, const char* name) {
    const index_t in = spec.input_numel(), out = spec.output_numel();
    const std::string tag = std::string(" <") + name + ">";
    // W (rows = the conv's output side): y = W x for a conv, y = W^T x for a transposed conv.
    const auto W = conv_matrix<Scalar, Order, Index>(spec, w);
    BOOST_TEST(W.rows() == (spec.transposed ? in : out));
    BOOST_TEST(W.cols() == (spec.transposed ? out : in));
    Batch<Scalar> y = spec.transposed ? Batch<Scalar>(W.transpose() * x) : Batch<Scalar>(W * x);
    add_bias<Scalar>(y, bias);
    check<Scalar>((std::string(spec.transposed ? "W^T y" : "W x") + tag).c_str(), y, ref);
    // apply_matrix takes W as the operation's matrix (conv) or, in adjoint form, as the adjoint's (transposed).
    check<Scalar>(("apply_matrix(W)" + tag).c_str(),
                  apply_matrix<Scalar, Order, Index>(spec, W, x, bias, spec.transposed), ref);
    if (in != out) BOOST_CHECK_THROW((apply_matrix<Scalar, Order, Index>(spec, W, x, bias, !spec.transposed)), shape_error);
    // T = W^T (rows = the conv's input side): the transposed conv's own matrix.
    const auto T = conv_transpose_matrix<Scalar, Order, Index>(spec, w);
    BOOST_TEST(T.rows() == W.cols());
    BOOST_TEST(T.cols() == W.rows());
    if (spec.transposed) {
        Batch<Scalar> t = T * x;
        add_bias<Scalar>(t, bias);
        check<Scalar>(("T y" + tag).c_str(), t, ref);
        check<Scalar>(("apply_matrix(T)" + tag).c_str(), apply_matrix<Scalar, Order, Index>(spec, T, x, bias), ref);
    } else {
        Batch<Scalar> t = T.transpose() * x;
        add_bias<Scalar>(t, bias);
        check<Scalar>(("T^T x" + tag).c_str(), t, ref);
    }
    const auto M = operator_matrix<Scalar, Order, Index>(spec, w);
    check<Scalar>(("apply_matrix(operator_matrix)" + tag).c_str(),
                  apply_matrix<Scalar, Order, Index>(spec, M, x, bias), ref);
}

BOOST_AUTO_TEST_CASE(oracle_file_covers_the_configuration_space) {
    const auto& entries = oracle();
    BOOST_TEST_REQUIRE(entries.front().load_error.empty(), entries.front().load_error);
    BOOST_TEST(entries.size() >= 200u);
    std::set<std::string> seen;
    for (size_t i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        BOOST_TEST(e.id == static_cast<int>(i));
        const ConvSpec& s = e.spec;
        seen.insert(std::string(s.transposed ? "T" : "C") + std::to_string(s.rank()));
        seen.insert("groups" + std::to_string(s.groups));
        seen.insert("api:" + e.api);
        if (!s.transposed) seen.insert("mode:" + to_string(s.padding_mode));
        if (s.padding_lo != s.padding_hi) seen.insert(s.transposed ? "T asymmetric" : "C asymmetric");
        if (e.bias.size()) seen.insert("bias");
        if (e.batch > 1) seen.insert("batch");
        for (int j = 0; j < s.rank(); ++j) {
            if (s.output_padding[j] >= s.stride[j]) seen.insert("output_padding >= stride");
            if (s.stride[j] > 1) seen.insert("stride");
            if (s.dilation[j] > 1) seen.insert("dilation");
            if (s.kernel_size[j] == 5) seen.insert("kernel 5");
        }
    }
    for (const char* want : {"C1", "C2", "C3", "T1", "T2", "T3", "groups1", "groups2", "groups3", "api:spec",
                             "api:make", "api:same", "api:valid", "api:output_size", "mode:zeros", "mode:circular",
                             "mode:reflect", "mode:replicate", "C asymmetric", "T asymmetric", "bias", "batch",
                             "output_padding >= stride", "stride", "dilation", "kernel 5"})
        BOOST_TEST(seen.count(want) == 1u, "the oracle file covers " << want);
}

BOOST_DATA_TEST_CASE(matches_pytorch, boost::unit_test::data::make(oracle()), entry) {
    BOOST_TEST_REQUIRE(entry.load_error.empty(), entry.load_error);
    BOOST_TEST_CONTEXT("oracle entry " << entry.id << " (" << entry.category << ", api " << entry.api
                                       << "): " << entry.spec.describe()) {
        const ConvSpec spec = build_spec(entry);
        // make_conv / make_conv_transpose must resolve to exactly the configuration torch ran.
        BOOST_TEST(spec.transposed == entry.spec.transposed);
        BOOST_TEST(spec.in_channels == entry.spec.in_channels);
        BOOST_TEST(spec.out_channels == entry.spec.out_channels);
        BOOST_TEST(spec.groups == entry.spec.groups);
        BOOST_TEST(spec.input_size == entry.spec.input_size, boost::test_tools::per_element());
        BOOST_TEST(spec.kernel_size == entry.spec.kernel_size, boost::test_tools::per_element());
        BOOST_TEST(spec.stride == entry.spec.stride, boost::test_tools::per_element());
        BOOST_TEST(spec.dilation == entry.spec.dilation, boost::test_tools::per_element());
        BOOST_TEST(spec.padding_lo == entry.spec.padding_lo, boost::test_tools::per_element());
        BOOST_TEST(spec.padding_hi == entry.spec.padding_hi, boost::test_tools::per_element());
        BOOST_TEST(spec.output_padding == entry.spec.output_padding, boost::test_tools::per_element());
        BOOST_TEST((spec.padding_mode == entry.spec.padding_mode));
        BOOST_TEST(spec.output_size() == entry.output, boost::test_tools::per_element());

        const index_t in = spec.input_numel(), out = spec.output_numel(), N = entry.batch;
        BOOST_TEST_REQUIRE(static_cast<index_t>(entry.weight.size()) == spec.weight_numel());
        BOOST_TEST_REQUIRE(static_cast<index_t>(entry.x.size()) == N * in);
        BOOST_TEST_REQUIRE(static_cast<index_t>(entry.y.size()) == N * out);
        BOOST_TEST_REQUIRE((entry.bias.empty() || static_cast<index_t>(entry.bias.size()) == spec.out_channels));

        const Batch<double> ref = Eigen::Map<const Batch<double>>(entry.y.data(), out, N);
        for_each_scalar([&](auto scalar) {
            using Scalar = decltype(scalar);
            const std::vector<Scalar> w = to_scalar<Scalar>(entry.weight);
            const std::vector<Scalar> b = to_scalar<Scalar>(entry.bias);
            const span<const Scalar> bias(b);
            // torch's (N, C, spatial...) C-order tensors are one flattened sample per column.
            const Batch<Scalar> x = Eigen::Map<const Batch<double>>(entry.x.data(), in, N).cast<Scalar>();

            check_matrices<Scalar, Eigen::RowMajor, std::int32_t>(spec, w, bias, x, ref, "RowMajor,int32");
            check_matrices<Scalar, Eigen::RowMajor, std::int64_t>(spec, w, bias, x, ref, "RowMajor,int64");
            check_matrices<Scalar, Eigen::ColMajor, std::int32_t>(spec, w, bias, x, ref, "ColMajor,int32");
            check_matrices<Scalar, Eigen::ColMajor, std::int64_t>(spec, w, bias, x, ref, "ColMajor,int64");
            if (!spec.transposed) {
                check<Scalar>("conv_direct", conv_direct<Scalar>(spec, w, x, bias), ref);
            } else {
                check<Scalar>("conv_transpose_scatter", conv_transpose_scatter<Scalar>(spec, w, x, bias), ref);
                check<Scalar>("conv_transpose_gather", conv_transpose_gather<Scalar>(spec, w, x, bias), ref);
            }
        });
    }
}

}  // namespace
}  // namespace convmtx::test
