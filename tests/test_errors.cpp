// Every validation rule: the exception type and the content of its message
// (parameter, dimension, value and rule). Rules on arrays run in float and double; the
// configuration rules hold no scalar and run once.
#define BOOST_TEST_MODULE errors
#include <functional>

#include "test_common.hpp"

using namespace convmtx;
using namespace convmtx::test;

namespace {

template <class E>
void expect(const std::function<void()>& fn, std::initializer_list<const char*> parts) {
    try {
        fn();
        BOOST_FAIL("no exception; expected one mentioning " << *parts.begin());
    } catch (const E& e) {
        const std::string msg = e.what();
        for (const char* p : parts) BOOST_TEST(msg.find(p) != std::string::npos, "'" << p << "' not in: " << msg);
    }
}

ConvSpec base(bool transposed = false) {
    ConvSpec s;
    s.transposed = transposed;
    s.in_channels = 2;
    s.out_channels = 4;
    s.groups = 2;
    s.input_size = {5, 6};
    s.kernel_size = {3, 3};
    s.stride = {2, 2};
    s.dilation = {1, 1};
    s.padding_lo = {1, 1};
    s.padding_hi = {1, 1};
    s.output_padding = {0, 0};
    return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(base_is_valid) {
    BOOST_CHECK_NO_THROW(base().validate());
    BOOST_CHECK_NO_THROW(base(true).validate());
}

BOOST_AUTO_TEST_CASE(non_positive_values) {
    auto with = [](auto mutate) {
        return [mutate] {
            ConvSpec s = base();
            mutate(s);
            s.validate();
        };
    };
    expect<config_error>(with([](ConvSpec& s) { s.stride[1] = 0; }), {"stride[1]=0", "must be positive"});
    expect<config_error>(with([](ConvSpec& s) { s.dilation[0] = -1; }), {"dilation[0]=-1", "must be positive"});
    expect<config_error>(with([](ConvSpec& s) { s.kernel_size[1] = 0; }), {"kernel_size[1]=0", "must be positive"});
    expect<config_error>(with([](ConvSpec& s) { s.in_channels = 0; }), {"in_channels=0", "must be positive"});
    expect<config_error>(with([](ConvSpec& s) { s.out_channels = -2; }), {"out_channels=-2", "must be positive"});
    expect<config_error>(with([](ConvSpec& s) { s.groups = 0; }), {"groups=0", "must be positive"});
    expect<config_error>(with([](ConvSpec& s) { s.input_size[0] = 0; }), {"input_size[0]=0", "must be positive"});
}

BOOST_AUTO_TEST_CASE(channels_not_divisible_by_groups) {
    ConvSpec s = base();
    s.in_channels = 3;
    expect<config_error>([&] { s.validate(); }, {"in_channels=3", "divisible by groups=2"});
    s = base();
    s.out_channels = 5;
    expect<config_error>([&] { s.validate(); }, {"out_channels=5", "divisible by groups=2"});
    expect<shape_error>([] { make_conv({4, 8}, {6, 3, 3}, ConvOptions{{1}, {}, {1}, 3}); },
                        {"in_channels/groups=3", "groups=3", "in_channels=4"});
}

BOOST_AUTO_TEST_CASE(negative_padding) {
    ConvSpec s = base();
    s.padding_hi[1] = -1;
    expect<config_error>([&] { s.validate(); }, {"padding_hi[1]=-1", "non-negative"});
    s = base();
    s.padding_lo[0] = -2;
    expect<config_error>([&] { s.validate(); }, {"padding_lo[0]=-2", "non-negative"});
}

BOOST_AUTO_TEST_CASE(output_padding_rule) {
    ConvSpec s = base(true);
    s.output_padding[1] = 2;
    expect<config_error>([&] { s.validate(); }, {"output_padding[1]=2 must be smaller than stride[1]=2 or dilation[1]=1"});
    s.dilation[1] = 3;  // allowed when smaller than the dilation
    BOOST_CHECK_NO_THROW(s.validate());
    s = base(false);
    s.output_padding[0] = 1;
    expect<config_error>([&] { s.validate(); }, {"output_padding[0]=1", "must be 0"});
    ConvTransposeOptions o;
    o.stride = {2};
    o.output_padding = Dims{3};
    expect<config_error>([&] { make_conv_transpose({1, 4}, {1, 1, 3}, o); },
                         {"output_padding[0]=3 must be smaller than stride[0]=2 or dilation[0]=1"});
}

BOOST_AUTO_TEST_CASE(empty_output) {
    ConvSpec s = base();
    s.input_size = {1, 6};
    s.padding_lo = {0, 0};
    s.padding_hi = {0, 0};
    expect<config_error>([&] { s.validate(); }, {"output_size[0]=0 must be at least 1", "input_size[0]=1", "=3"});
    ConvTransposeOptions o;
    o.padding = Padding::symmetric({2});
    expect<config_error>([&] { make_conv_transpose({1, 1}, {1, 1, 3}, o); }, {"output_size[0]=-1 must be at least 1"});
}

BOOST_AUTO_TEST_CASE(padding_modes) {
    ConvSpec s = base();
    s.padding_mode = PaddingMode::reflect;
    s.input_size = {3, 6};
    s.padding_lo = {3, 1};
    expect<config_error>([&] { s.validate(); }, {"padding[0]=3:1", "smaller than input_size[0]=3", "reflect"});
    s.padding_mode = PaddingMode::circular;
    s.padding_lo = {4, 1};
    expect<config_error>([&] { s.validate(); }, {"padding[0]=4:1", "circular"});
    s = base(true);
    s.padding_mode = PaddingMode::replicate;
    expect<config_error>([&] { s.validate(); }, {"padding_mode='replicate'", "conv_transpose"});
    expect<config_error>([] { parse_padding_mode("mirror"); }, {"padding_mode='mirror'", "zeros"});
}

BOOST_AUTO_TEST_CASE(same_valid_and_output_size) {
    ConvOptions o;
    o.stride = {2};
    o.padding = Padding::same();
    expect<config_error>([&] { make_conv({1, 8}, {1, 1, 3}, o); }, {"padding='same'", "stride[0]=2"});
    ConvTransposeOptions t;
    t.stride = {2};
    t.padding = Padding::symmetric({1});
    t.output_size = Dims{10};
    expect<config_error>([&] { make_conv_transpose({1, 4}, {1, 1, 3}, t); },
                         {"output_size[0]=10 must be between 7 and 8"});
    t.padding = Padding::same();
    t.output_size.reset();
    expect<config_error>([&] { make_conv_transpose({1, 4}, {1, 1, 3}, t); }, {"padding='same'", "Keras"});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(weight_and_input_shapes, Scalar, Scalars) {
    const ConvSpec s = make_conv({2, 5, 6}, {4, 1, 3, 3}, ConvOptions{{2}, Padding::symmetric({1}), {1}, 2});
    expect<shape_error>([&] { s.check_weight_shape({4, 2, 3, 3}); }, {"weight shape (4, 2, 3, 3)", "(4, 1, 3, 3)", "groups=2"});
    expect<shape_error>([&] { s.check_input_shape({2, 5, 7}); }, {"input shape (2, 5, 7)", "(2, 5, 6)"});
    BOOST_CHECK_NO_THROW(s.check_input_shape({7, 2, 5, 6}));
    expect<shape_error>([] { make_conv({1, 5, 6}, {1, 1}); }, {"weight has 2 dimensions"});
    expect<shape_error>([] { make_conv({1, 5}, {1, 1, 3, 3}); }, {"input_shape (1, 5)", "2 spatial dimensions"});
    expect<shape_error>([] { make_conv_transpose({3, 5}, {2, 1, 3}); }, {"in_channels=2", "in_channels=3"});
    expect<config_error>([] { make_conv({1, 5, 6}, {1, 1, 3, 3}, ConvOptions{{1, 2, 3}}); },
                         {"stride has 3 values", "expected 1 or 2"});
    ConvSpec bad = s;
    bad.stride = {1};
    expect<config_error>([&] { bad.validate(); }, {"stride has 1 values", "kernel_size has 2"});
    const std::vector<Scalar> w(static_cast<size_t>(s.weight_numel()), Scalar(1));
    const Batch<Scalar> x = Batch<Scalar>::Zero(59, 1);
    expect<shape_error>([&] { conv_direct<Scalar>(s, w, x); }, {"59", "60"});
    expect<config_error>([&] { conv_transpose_scatter<Scalar>(s, w, x); }, {"needs a transposed convolution"});
    const auto W = conv_matrix<Scalar>(s, w);
    const Batch<Scalar> x60 = Batch<Scalar>::Zero(60, 1);
    expect<shape_error>([&] { apply_matrix<Scalar>(s, W, x60, {}, true); }, {"must be 60x", "adjoint"});
}

BOOST_AUTO_TEST_CASE(adjoint_of_padded_conv_is_refused) {
    ConvSpec s = base();
    s.padding_mode = PaddingMode::replicate;
    expect<config_error>([&] { (void)s.adjoint(); }, {"padding_mode='replicate'", "not a transposed convolution"});
}

BOOST_AUTO_TEST_CASE(int64_overflow_of_sizes) {
    ConvSpec s;
    s.input_size = {index_t(1) << 40, index_t(1) << 40};
    s.kernel_size = {1, 1};
    s.stride = {1, 1};
    s.dilation = {1, 1};
    s.padding_lo = {0, 0};
    s.padding_hi = {0, 0};
    s.output_padding = {0, 0};
    expect<index_overflow_error>([&] { s.validate(); }, {"overflows a 64-bit integer"});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(weight_layout_errors, Scalar, Scalars) {
    const std::vector<Scalar> w(6, Scalar(1));
    expect<shape_error>([&] { convert_weight(w.data(), {2, 3}, WeightLayout::keras_conv, WeightLayout::torch_conv); },
                        {"weight has 2 axes"});
    expect<config_error>([] { parse_weight_layout("caffe"); }, {"layout='caffe'"});
}

// Keras's rule on a transposed conv's output_padding, and MXNet's Deconvolution (pad, adj, target_shape).
BOOST_AUTO_TEST_CASE(keras_and_mxnet_conventions) {
    ConvTransposeOptions k;
    k.stride = {8};
    k.padding = Padding::same();
    k.output_padding = Dims{8};
    k.convention = Convention::keras;
    expect<config_error>([&] { make_conv_transpose({1, 46, 61}, {1, 1, 3, 3}, k); },
                         {"output_padding[0]=8", "must be smaller than stride[0]=8", "Keras"});

    // MXNet's example: 4x4 input, kernel 3, stride 2, target_shape 8x8 -> PyTorch's padding 1, output_padding 1
    ConvTransposeOptions m;
    m.stride = {2};
    m.convention = Convention::mxnet;
    m.target_shape = Dims{8, 8};
    const ConvSpec s = make_conv_transpose({1, 4, 4}, {1, 1, 3, 3}, m);
    BOOST_TEST(s.output_size() == (Dims{8, 8}), boost::test_tools::per_element());
    BOOST_TEST(s.padding_lo == (Dims{1, 1}), boost::test_tools::per_element());
    BOOST_TEST(s.padding_hi == (Dims{1, 1}), boost::test_tools::per_element());
    BOOST_TEST(s.output_padding == (Dims{1, 1}), boost::test_tools::per_element());
    // adj >= stride: the crop at the end shrinks instead (pad 2, adj 2, stride 1: padding (2, 0))
    ConvTransposeOptions a;
    a.convention = Convention::mxnet;
    a.padding = Padding::symmetric({2});
    a.output_padding = Dims{2};
    const ConvSpec t = make_conv_transpose({1, 5}, {1, 1, 3}, a);
    BOOST_TEST(t.padding_lo[0] == 2);
    BOOST_TEST(t.padding_hi[0] == 0);
    BOOST_TEST(t.output_size()[0] == 5 - 1 + 2 + 1 - 4 + 2);
    m.target_shape = Dims{10, 8};
    expect<config_error>([&] { make_conv_transpose({1, 4, 4}, {1, 1, 3, 3}, m); },
                         {"target_shape[0]=10", "must be at most", "= 9", "MXNet"});
    a.output_padding = Dims{3};
    expect<config_error>([&] { make_conv_transpose({1, 5}, {1, 1, 3}, a); }, {"adj[0]=3", "pad[0]=2"});
    ConvTransposeOptions torch_target;
    torch_target.target_shape = Dims{8};
    expect<config_error>([&] { make_conv_transpose({1, 4}, {1, 1, 3}, torch_target); },
                         {"target_shape", "MXNet", "output_size"});
    BOOST_TEST(to_string(parse_convention("mxnet")) == "mxnet");
    expect<config_error>([] { parse_convention("caffe"); }, {"convention='caffe'", "'torch', 'keras', 'mxnet'"});
}
