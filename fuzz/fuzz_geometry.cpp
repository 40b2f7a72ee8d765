// Fuzz target: the geometry constructor fed arbitrary integers. Every input either is refused
// with one of convmtx's exceptions or gives a geometry whose tables, closed-form queries and
// matrices agree; nothing crashes, hangs or allocates without bound.
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "convmtx/builder.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/geometry.hpp"

namespace {

struct Reader {
    const std::uint8_t* p;
    size_t n;
    std::int64_t next() {
        std::int64_t v = 0;
        const size_t k = n < 8 ? n : 8;
        std::memcpy(&v, p, k);
        p += k;
        n -= k;
        // Mostly small values, sometimes extreme ones: the low bits pick the scale.
        switch (v & 3) {
            case 0: return (v >> 2) % 9;
            case 1: return (v >> 2) % 70 - 3;
            case 2: return v >> 2;
            default: return v;
        }
    }
};

void fail(const char* what) { throw std::logic_error(what); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    using namespace convmtx;
    Reader r{data, size};
    ConvSpec s;
    const std::int64_t flags = r.next();
    const int rank = static_cast<int>(((flags >> 3) & 3) + 1) % 4;  // 0..3: 0 must be refused
    s.transposed = flags & 1;
    s.padding_mode = static_cast<PaddingMode>((flags >> 1) & 3);
    s.in_channels = r.next();
    s.out_channels = r.next();
    s.groups = r.next();
    for (int j = 0; j < rank; ++j) {
        s.input_size.push_back(r.next());
        s.kernel_size.push_back(r.next());
        s.stride.push_back(r.next());
        s.dilation.push_back(r.next());
        s.padding_lo.push_back(r.next());
        s.padding_hi.push_back(r.next());
        s.output_padding.push_back(r.next());
    }
    try {
        const ConvGeometry G(s);
        // Large but valid geometries: closed-form queries only, where their answers (at most
        // m*k pairs, which is what they list) are small.
        double cells = 1;
        for (int j = 0; j < G.rank(); ++j) {
            const DimGeometry& d = G.dim(j);
            if (static_cast<double>(d.output_size) * static_cast<double>(d.kernel_size) <= 1e6) {
                (void)d.outputs_reading(0);
                (void)d.outputs_reading(d.input_size - 1);
                (void)d.inputs_read_by(d.output_size - 1);
            }
            cells *= static_cast<double>(d.output_size) * static_cast<double>(d.kernel_size) + static_cast<double>(d.input_size);
        }
        if (cells > 2e4 || static_cast<double>(G.rows()) * static_cast<double>(G.cols()) > 4e6) return 0;
        const std::vector<double> w(static_cast<size_t>(s.weight_numel()), 1.0);
        BuildOptions o;
        o.memory_limit = 64.0 * 1024 * 1024;
        const auto W = conv_matrix<double, Eigen::RowMajor, std::int64_t>(G, w, o);
        const auto T = conv_transpose_matrix<double, Eigen::RowMajor, std::int64_t>(G, w, o);
        if (W.nonZeros() != T.nonZeros() || W.nonZeros() != G.structural_nnz()) fail("W, T and structural_nnz disagree");
        for (int j = 0; j < G.rank(); ++j) {
            const DimGeometry& d = G.dim(j);
            for (index_t i = 0; i < d.input_size; ++i) {
                index_t count = 0;
                for (index_t g = G.input_taps(j).begin(i); g < G.input_taps(j).end(i); ++g)
                    count += G.input_taps(j).tap_count(g);
                if (count != static_cast<index_t>(d.outputs_reading(i).size())) fail("input table and closed form disagree");
            }
        }
    } catch (const config_error&) {
    } catch (const shape_error&) {
    } catch (const index_overflow_error&) {
    } catch (const memory_limit_error&) {
    }
    return 0;
}
