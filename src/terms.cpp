#include "convmtx/terms.hpp"

#include <stdexcept>

#include "convmtx/geometry.hpp"

namespace convmtx {

namespace {

std::string join(const Dims& v) { return to_string(v, ","); }

/// One dimension's share of a term: conv output q, tap t, padded position p, conv input i.
struct Hit {
    index_t q, t, p, i;
};

/// Calls f(choice) for every element of the Cartesian product of per-dimension lists (C order).
template <class F>
void for_product(const std::vector<std::vector<Hit>>& lists, F&& f) {
    if (lists.empty()) return;
    for (const auto& l : lists)
        if (l.empty()) return;
    std::vector<size_t> idx(lists.size(), 0);
    std::vector<const Hit*> cur(lists.size());
    for (;;) {
        for (size_t j = 0; j < lists.size(); ++j) cur[j] = &lists[j][idx[j]];
        f(cur);
        size_t j = lists.size();
        for (;;) {
            if (j == 0) return;
            --j;
            if (++idx[j] < lists[j].size()) break;
            idx[j] = 0;
        }
    }
}

Term make_term(const ConvGeometry& G, index_t o, index_t cp, const std::vector<const Hit*>& h, bool transposed) {
    Term t;
    const index_t c = G.group_of_output(o) * G.in_per_group() + cp;
    Shape out = {o}, in = {c};
    t.weight_index = {o, cp};
    index_t of = o, inf = c, tf = 0;
    for (int j = 0; j < G.rank(); ++j) {
        const DimGeometry& d = G.dim(j);
        out.push_back(h[static_cast<size_t>(j)]->q);
        in.push_back(h[static_cast<size_t>(j)]->i);
        t.weight_index.push_back(h[static_cast<size_t>(j)]->t);
        t.padded_position.push_back(h[static_cast<size_t>(j)]->p);
        t.folded |= h[static_cast<size_t>(j)]->p != h[static_cast<size_t>(j)]->i;
        of = of * d.output_size + h[static_cast<size_t>(j)]->q;
        inf = inf * d.input_size + h[static_cast<size_t>(j)]->i;
        tf = tf * d.kernel_size + h[static_cast<size_t>(j)]->t;
    }
    t.weight_flat = G.weight_index(o, cp, tf);
    if (!transposed) {
        t.output_index = out, t.output_flat = of;
        t.input_index = in, t.input_flat = inf;
    } else {
        t.output_index = in, t.output_flat = inf;
        t.input_index = out, t.input_flat = of;
    }
    return t;
}

/// Terms of one conv output element (o, q): its taps over every input channel of the group.
std::vector<Term> conv_output_terms(const ConvGeometry& G, index_t flat, bool transposed) {
    const Shape idx = unravel_index(flat, G.conv_output_shape(), transposed ? "input element" : "output element");
    std::vector<std::vector<Hit>> lists;
    for (int j = 0; j < G.rank(); ++j) {
        std::vector<Hit> l;
        for (const TapHit& h : G.dim(j).inputs_read_by(idx[static_cast<size_t>(j) + 1]))
            l.push_back({h.output, h.tap, h.padded, G.dim(j).input_position(h.output, h.tap)});
        lists.push_back(std::move(l));
    }
    std::vector<Term> out;
    for (index_t cp = 0; cp < G.in_per_group(); ++cp)
        for_product(lists, [&](const std::vector<const Hit*>& h) { out.push_back(make_term(G, idx[0], cp, h, transposed)); });
    return out;
}

/// Terms of one conv input element (c, i): every (o, q, t) of the group that reads it.
std::vector<Term> conv_input_terms(const ConvGeometry& G, index_t flat, bool transposed) {
    const Shape idx = unravel_index(flat, G.conv_input_shape(), transposed ? "output element" : "input element");
    std::vector<std::vector<Hit>> lists;
    for (int j = 0; j < G.rank(); ++j) {
        std::vector<Hit> l;
        const index_t i = idx[static_cast<size_t>(j) + 1];
        for (const TapHit& h : G.dim(j).outputs_reading(i)) l.push_back({h.output, h.tap, h.padded, i});
        lists.push_back(std::move(l));
    }
    const index_t grp = G.group_of_input(idx[0]), cp = idx[0] % G.in_per_group();
    std::vector<Term> out;
    for (index_t o = grp * G.out_per_group(); o < (grp + 1) * G.out_per_group(); ++o)
        for_product(lists, [&](const std::vector<const Hit*>& h) { out.push_back(make_term(G, o, cp, h, transposed)); });
    return out;
}

}  // namespace

Shape unravel_index(index_t flat, const Shape& shape, const std::string& what) {
    index_t total = 1;
    for (auto s : shape) {
        if (s <= 0 || __builtin_mul_overflow(total, s, &total))
            throw std::out_of_range(what + ": shape (" + join(shape) + ") has no elements or overflows 64 bits");
    }
    if (flat < 0 || flat >= total)
        throw std::out_of_range(what + " " + std::to_string(flat) + " is outside [0, " + std::to_string(total) + ")");
    Shape idx(shape.size());
    for (size_t j = shape.size(); j-- > 0;) {
        idx[j] = flat % shape[j];
        flat /= shape[j];
    }
    return idx;
}

index_t ravel_index(const Shape& index, const Shape& shape, const std::string& what) {
    if (index.size() != shape.size())
        throw std::out_of_range(what + " (" + join(index) + ") has " + std::to_string(index.size()) +
                                " entries; the shape (" + join(shape) + ") has " + std::to_string(shape.size()));
    index_t flat = 0;
    for (size_t j = 0; j < shape.size(); ++j) {
        if (index[j] < 0 || index[j] >= shape[j])
            throw std::out_of_range(what + " (" + join(index) + "): entry " + std::to_string(j) + " = " +
                                    std::to_string(index[j]) + " is outside [0, " + std::to_string(shape[j]) + ")");
        flat = flat * shape[j] + index[j];
    }
    return flat;
}

std::string index_text(const std::string& name, const Shape& index) { return name + "[" + join(index) + "]"; }

std::vector<Term> output_terms(const ConvSpec& spec, index_t output_flat) {
    const ConvGeometry G(spec);
    return spec.transposed ? conv_input_terms(G, output_flat, true) : conv_output_terms(G, output_flat, false);
}

std::vector<Term> input_terms(const ConvSpec& spec, index_t input_flat) {
    const ConvGeometry G(spec);
    return spec.transposed ? conv_output_terms(G, input_flat, true) : conv_input_terms(G, input_flat, false);
}

}  // namespace convmtx
