// The formula of one element: the products w·x that sum to one output (a row of the
// operation's matrix), or every output one input reaches (a column), from ConvGeometry.
#pragma once

#include <string>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx {

/// One product w[weight]·x[input] of the sum that gives y[output].
struct Term {
    Shape weight_index;      ///< (C_conv_out, C_conv_in/G, k...) multi-index into the weight
    index_t weight_flat = 0;  ///< flat (C-order) index into the weight
    Shape input_index;       ///< the operation's input element (channel, spatial...)
    index_t input_flat = 0;  ///< column of the operation's matrix (W for a conv, T transposed)
    Shape output_index;      ///< the operation's output element
    index_t output_flat = 0; ///< row of the operation's matrix
    Dims padded_position;    ///< the conv's padded position read (q*s - pl + t*d), before the padding fold
    bool folded = false;     ///< the position lies in the padding and was mapped by the padding mode
};

/// The terms of y[output] = sum w·x of the operation (conv: the taps of output (o, q);
/// transposed: every (input, tap) pair reaching output (c, i)). Conv: ordered by input channel, then
/// by tap (last dimension fastest); transposed: by input channel, then by input position and tap.
/// Grouping them by input_flat (summing the weights of folded taps) gives row `output_flat`
/// of the operation's matrix. std::out_of_range when output_flat is outside the output.
std::vector<Term> output_terms(const ConvSpec& spec, index_t output_flat);
/// The reverse view: every term that input element `input_flat` contributes to (column of the matrix).
std::vector<Term> input_terms(const ConvSpec& spec, index_t input_flat);

/// C-order multi-index of `flat` in `shape`, and back; throw std::out_of_range naming `what`.
Shape unravel_index(index_t flat, const Shape& shape, const std::string& what = "index");
/// The flat C-order index of `index` in `shape`; std::out_of_range naming `what` outside it.
index_t ravel_index(const Shape& index, const Shape& shape, const std::string& what = "index");
/// "name[a,b,c]".
std::string index_text(const std::string& name, const Shape& index);

}  // namespace convmtx
