#include "config_flags.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "convmtx/detail/printable.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/layout.hpp"
#include "flag_values.hpp"
#include "initializers.hpp"

namespace convmtx::cli {

namespace {

using json = nlohmann::json;

enum class Kind { dims, padding, integer, boolean, choice, initializer };

struct Key {
    const char* name;  ///< the JSON key; the flag is "--" + name with '-' for '_'
    Kind kind;
    index_t min;       ///< dims, integer: the smallest entry
    std::vector<std::string> choices;
    const char* placeholder;
    const char* help;
};

const std::vector<Key>& keys() {
    static const std::vector<Key> table = {
        {"input", Kind::dims, 1, {}, "CxN[xN[xN]]",
         "the operation's input, one sample: channels, then one size per spatial dimension (1x4x4)"},
        {"kernel", Kind::dims, 1, {}, "K[xK[xK]]",
         "kernel_size per spatial dimension (3x3); may be left out with --weights FILE.npy, whose shape gives it"},
        {"stride", Kind::dims, 1, {}, "S", "stride (default 1): one value, or one per spatial dimension (2x1)"},
        {"padding", Kind::padding, 0, {}, "P",
         "padding (default 0): P on both sides of every dimension, one per dimension (1x2), "
         "padding_lo:padding_hi per dimension (1:2,0:1), same or valid"},
        {"padding_lo", Kind::dims, 0, {}, "P", "padding before each spatial dimension (instead of --padding)"},
        {"padding_hi", Kind::dims, 0, {}, "P", "padding after each spatial dimension (instead of --padding)"},
        {"output_padding", Kind::dims, 0, {}, "A",
         "output_padding of a transposed conv (default 0): extra outputs at the end of each dimension"},
        {"output_size", Kind::dims, 1, {}, "N[xN[xN]]",
         "spatial output size of a transposed conv, which derives output_padding (PyTorch's output_size)"},
        {"dilation", Kind::dims, 1, {}, "D", "dilation (default 1): spacing of the kernel taps"},
        {"groups", Kind::integer, 1, {}, "G", "groups (default 1): channel groups, each convolved separately"},
        {"out_channels", Kind::integer, 1, {}, "C",
         "output channels (default: the input's, or those of --weights FILE.npy)"},
        {"transposed", Kind::boolean, 0, {}, "",
         "the transposed convolution (T = W^T): --input is its own input (1x2x2 with --kernel 3x3 --stride 2 gives 5x5)"},
        {"padding_mode", Kind::choice, 0, {"zeros", "circular", "reflect", "replicate"}, "MODE",
         "what a conv reads outside its input: zeros (default), circular, reflect or replicate (PyTorch's "
         "padding_mode; a transposed conv has zeros only)"},
        {"convention", Kind::choice, 0, {"torch", "keras", "mxnet"}, "NAME",
         "torch (default), keras or mxnet: the meaning of same/valid padding and of output_padding; mxnet takes "
         "MXNet's --pad, --adj and --target-shape"},
        {"pad", Kind::dims, 0, {}, "P", "MXNet's symmetric pad (--convention mxnet; instead of --padding)"},
        {"adj", Kind::dims, 0, {}, "A",
         "MXNet's adj of a transposed conv (--convention mxnet; instead of --output-padding)"},
        {"target_shape", Kind::dims, 1, {}, "N[xN[xN]]",
         "MXNet's target_shape of a transposed conv (--convention mxnet): its spatial output size, from which "
         "MXNet derives pad and adj"},
        {"weights", Kind::initializer, 0, {}, "W",
         "ones (default), arange (0, 1, 2, ... in C order), random:SEED (uniform in [-1, 1)) or a .npy file: "
         "(C_out, C_in/groups, k...) for a conv, (C_in, C_out/groups, k...) for a transposed conv"},
        {"weight_layout", Kind::choice, 0, {"torch", "keras"}, "L",
         "layout of a .npy weight: torch (default) or keras ((k..., C_in/groups, C_out) for a conv, "
         "(k..., C_out/groups, C_in) for a transposed conv)"},
    };
    return table;
}

const Key* find_key(const std::string& name) {
    for (const auto& k : keys())
        if (name == k.name) return &k;
    return nullptr;
}

std::string flag_of(const std::string& key) {
    std::string f = "--" + key;
    for (auto& c : f)
        if (c == '_') c = '-';
    return f;
}

std::string join(const std::vector<std::string>& v, const std::string& sep, const std::string& last) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i == 0 ? "" : i + 1 == v.size() ? last : sep) + v[i];
    return s;
}

/// One configuration value with where it came from ("--stride 2", "c.json: \"stride\": 2").
struct Value {
    Dims dims;
    Padding padding;
    index_t integer = 0;
    bool boolean = false;
    std::string text;
    std::string source;
};

using Values = std::map<std::string, Value>;

/// A value in the flag syntax of `key` (also a JSON string of a dims or padding key).
Value parse_text(const Key& key, const std::string& text) {
    Value v;
    v.text = text;
    switch (key.kind) {
        case Kind::dims: v.dims = parse_dims(text, key.min); break;
        case Kind::padding: v.padding = parse_padding(text); break;
        case Kind::integer: v.integer = parse_int(text, key.min); break;
        case Kind::boolean: v.boolean = true; break;
        case Kind::choice: {
            bool known = false;
            for (const auto& c : key.choices) known |= c == text;
            if (!known) throw value_error("'" + text + "' must be " + join(key.choices, ", ", " or "));
            break;
        }
        case Kind::initializer: parse_initializer(text, false); break;
    }
    return v;
}

std::string check_text(const Key& key, const std::string& text) {
    try {
        parse_text(key, text);
    } catch (const value_error& e) {
        return e.what();
    }
    return {};
}

/// A JSON value as messages show it: compact, bytes outside printable ASCII escaped, cut after 200 bytes.
std::string shown(const json& j) {
    return detail::printable(j.dump(-1, ' ', false, json::error_handler_t::replace), 200);
}

/// The key of a name that PyTorch or Keras gives the same parameter (kernel_size, strides,
/// dilation_rate, filters, input_shape...), or "" for any other name.
std::string framework_name(const std::string& name) {
    static const std::map<std::string, std::string> names = {
        {"kernel_size", "kernel"},   {"kernel_shape", "kernel"},      {"strides", "stride"},
        {"dilation_rate", "dilation"}, {"filters", "out_channels"},   {"input_shape", "input"},
        {"input_size", "input"},     {"in_shape", "input"},           {"padding_left", "padding_lo"},
        {"padding_right", "padding_hi"}, {"weight", "weights"},      {"data_format", "weight_layout"},
        {"transpose", "transposed"}};
    const auto it = names.find(name);
    return it == names.end() ? std::string() : it->second;
}

/// Nesting deeper than this is refused while parsing (no configuration value is nested more than twice).
constexpr int kMaxJsonDepth = 16;

index_t json_integer(const json& j, index_t min, const std::string& where) {
    if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(kIndexMax))
        throw usage_error(where + " does not fit a 64-bit integer (" + range_rule(min, kIndexMax) + ")");
    if (!j.is_number_integer()) throw usage_error(where + " must be an integer");
    const index_t v = j.get<index_t>();
    if (v < min) throw usage_error(where + ": value " + std::to_string(v) + " " + range_rule(min, kIndexMax));
    return v;
}

/// A JSON value of `key`, typed strictly: integers are JSON integers, booleans JSON booleans.
Value parse_json(const Key& key, const json& j, const std::string& where) {
    const std::string at = where + ": \"" + key.name + "\": " + shown(j);
    Value v;
    v.source = at;
    try {
        switch (key.kind) {
            case Kind::dims:
            case Kind::padding:
                if (j.is_string()) {
                    Value p = parse_text(key, j.get<std::string>());
                    p.source = at;
                    return p;
                }
                if (j.is_array()) {
                    for (const auto& e : j) {
                        if (key.kind == Kind::padding && e.is_array())
                            throw usage_error(at + ": per-side padding is written \"padding_lo\": [...], "
                                                   "\"padding_hi\": [...] (one entry per spatial dimension)");
                        if (!e.is_number_integer()) throw usage_error(at + " must be a list of integers");
                        v.dims.push_back(json_integer(e, key.min, at));
                    }
                    if (v.dims.empty()) throw usage_error(at + " must hold at least one integer");
                } else if (j.is_number() && !j.is_boolean()) {
                    v.dims = {json_integer(j, key.min, at)};
                } else {
                    throw usage_error(at + " must be an integer, a list of integers or a string such as \"" +
                                      (key.kind == Kind::padding ? "1:2,0:1" : "2x1") + "\"");
                }
                if (key.kind == Kind::padding) v.padding = Padding::symmetric(v.dims);
                return v;
            case Kind::integer: v.integer = json_integer(j, key.min, at); return v;
            case Kind::boolean:
                if (!j.is_boolean())
                    throw usage_error(at + " must be true or false (a JSON boolean" +
                                      (j.is_string() ? std::string(", not a string)") : std::string(")")));
                v.boolean = j.get<bool>();
                return v;
            case Kind::choice:
            case Kind::initializer: {
                if (!j.is_string()) throw usage_error(at + " must be a string");
                Value t = parse_text(key, j.get<std::string>());
                t.source = at;
                return t;
            }
        }
    } catch (const value_error& e) {
        throw usage_error(at + ": " + e.what());
    }
    return v;
}

std::string read_text(const std::string& path) {
    try {
        return read_file(path, 16 << 20);  // a regular file of at most 16 MiB (file.hpp)
    } catch (const std::exception& e) {
        throw usage_error(std::string("--config: ") + e.what());
    }
}

std::vector<std::string> key_names() {
    std::vector<std::string> names;
    for (const auto& k : keys()) names.push_back(k.name);
    return names;
}

Values parse_config(const std::string& text, const std::string& where) {
    json j;
    std::string repeated;
    try {
        // Repeated keys of the top-level object are refused (nlohmann keeps the last one silently).
        std::set<std::string> seen;
        j = json::parse(text, [&](int depth, json::parse_event_t event, json& parsed) {
            if (depth > kMaxJsonDepth)
                throw usage_error(where + ": values nested more than " + std::to_string(kMaxJsonDepth) +
                                  " levels deep (a configuration value is a number, a string or a list)");
            if (event == json::parse_event_t::key && depth == 1 && !seen.insert(parsed.get<std::string>()).second &&
                repeated.empty())
                repeated = parsed.get<std::string>();
            return true;
        });
    } catch (const json::exception& e) {
        // nlohmann's messages start with its own tag ("[json.exception.out_of_range.406] "): the
        // reason after it is the part about the file.
        std::string reason = e.what();
        const std::size_t tag_end = reason.rfind("[json.exception.", 0) == 0 ? reason.find("] ") : std::string::npos;
        if (tag_end != std::string::npos) reason.erase(0, tag_end + 2);
        throw usage_error(where + " is not valid JSON: " + detail::printable(reason, 300));
    }
    if (!j.is_object()) throw usage_error(where + " must hold a JSON object ({\"input\": [1, 4, 4], ...}), not " + shown(j));
    if (!repeated.empty()) throw usage_error(where + ": key " + shown(json(repeated)) + " is given more than once");
    Values values;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const Key* key = find_key(it.key());
        if (!key) {
            const std::string near = framework_name(it.key()).empty() ? closest(it.key(), key_names()) : framework_name(it.key());
            throw usage_error(where + ": unknown key " + shown(json(it.key())) +
                              (near.empty() ? " (see convmtx help config)" : " (did you mean \"" + near + "\"?)"));
        }
        values[key->name] = parse_json(*key, it.value(), where);
    }
    if (values.count("padding") && (values.count("padding_lo") || values.count("padding_hi")))
        throw usage_error(where + ": \"padding\" and \"padding_lo\"/\"padding_hi\" exclude each other");
    return values;
}

Values read_config(const std::string& path) { return parse_config(read_text(path), "--config " + path); }

const Value* get(const Values& v, const std::string& key) {
    auto it = v.find(key);
    return it == v.end() ? nullptr : &it->second;
}

// The configuration key a library message is about: its leading parameter name.
std::string message_key(const std::string& message) {
    std::string name;
    for (char c : message) {
        if (!(std::islower(static_cast<unsigned char>(c)) || c == '_')) break;
        name += c;
    }
    static const std::map<std::string, std::string> alias = {
        {"input_size", "input"}, {"input_shape", "input"}, {"in_channels", "input"}, {"kernel_size", "kernel"},
        {"rank", "kernel"},       {"weight", "weights"},     {"output", "output_size"}};
    auto it = alias.find(name);
    return it == alias.end() ? name : it->second;
}

/// Reruns `make` with library errors prefixed by the flag or key of the value they name.
template <class Make>
ConvSpec checked(const Values& v, Make make) {
    auto prefixed = [&](const std::string& message) {
        std::string key = message_key(message);
        if ((key == "padding_lo" || key == "padding_hi") && get(v, "padding")) key = "padding";
        if (key == "padding" && !get(v, "padding")) key = get(v, "padding_lo") ? "padding_lo" : "padding_hi";
        if (key == "weights" && !(get(v, "weights") && has_extension(get(v, "weights")->text, ".npy"))) key = "kernel";
        // Sizes that overflow 64 bits: the flags of every factor that was given.
        for (const char* product : {"input size", "output size", "weight size", "number of matrix entries"})
            if (message.rfind(product, 0) == 0) {
                std::string sources;
                for (const char* k : {"input", "kernel", "out_channels", "weights"})
                    if (const Value* x = get(v, k)) sources += (sources.empty() ? "" : " with ") + x->source;
                return sources + ": " + message;
            }
        const Value* given = get(v, key);
        if (!given) return message;
        std::string source = given->source;
        if (key == "input" && message.find("the weight implies") != std::string::npos)
            source += get(v, "kernel") ? " with " + get(v, "kernel")->source : " with " + get(v, "weights")->source;
        if (key == "weights" && get(v, "weight_layout") && get(v, "weight_layout")->text == "keras")
            source += " (converted from the Keras layout)";
        return source + ": " + message;
    };
    try {
        return make();
    } catch (const shape_error& e) {
        throw shape_error(prefixed(e.what()));
    } catch (const config_error& e) {
        throw config_error(prefixed(e.what()));
    } catch (const index_overflow_error& e) {
        throw index_overflow_error(prefixed(e.what()));
    }
}

Dims dims_or(const Values& v, const std::string& key, Dims fallback) {
    const Value* x = get(v, key);
    return x ? x->dims : fallback;
}

Padding padding_of(const Values& v) {
    if (const Value* p = get(v, "padding")) return p->padding;
    const Value *lo = get(v, "padding_lo"), *hi = get(v, "padding_hi");
    if (!lo && !hi) return Padding::symmetric({0});
    return Padding::sides(lo ? lo->dims : Dims{0}, hi ? hi->dims : Dims{0});
}

Problem build_problem(const Values& v) {
    const Value* input = get(v, "input");
    if (!input) throw usage_error("--input is required (e.g. --input 1x4x4: channels, then spatial sizes)");
    const bool transposed = get(v, "transposed") && get(v, "transposed")->boolean;
    const index_t groups = get(v, "groups") ? get(v, "groups")->integer : 1;
    const std::string convention = get(v, "convention") ? get(v, "convention")->text : "torch";
    const std::string layout = get(v, "weight_layout") ? get(v, "weight_layout")->text : "torch";
    const Initializer init = parse_initializer(get(v, "weights") ? get(v, "weights")->text : "ones", false);
    const Value* weights = get(v, "weights");
    const Value* kernel = get(v, "kernel");
    const Value* out_channels = get(v, "out_channels");
    const index_t c_in = input->dims[0];

    // The weight's shape: the file's (its kernel and channels), or from --kernel and the channels.
    Shape weight_shape;
    std::vector<double> file_data;
    if (init.kind == Initializer::Kind::file) {
        NpyArray a;
        try {
            a = read_finite_npy(init.path);
        } catch (const value_error& e) {
            throw usage_error(weights->source + ": " + e.what());
        }
        if (layout == "keras") {
            const WeightLayout from = transposed ? WeightLayout::keras_transposed : WeightLayout::keras_conv;
            const WeightLayout to = transposed ? WeightLayout::torch_transposed : WeightLayout::torch_conv;
            Shape converted;
            try {
                a.data = convert_weight(a.data.data(), a.shape, from, to, &converted);
            } catch (const std::invalid_argument& e) {
                throw shape_error(weights->source + " (Keras layout): " + e.what());
            }
            a.shape = converted;
        }
        if (a.shape.size() < 3)
            throw shape_error(weights->source + ": shape (" + to_string(a.shape) + ") has " + std::to_string(a.shape.size()) +
                              " axes; a weight has 3 to 5: " +
                              (transposed ? "(C_in, C_out/groups, k...)" : "(C_out, C_in/groups, k...)"));
        const Dims file_kernel(a.shape.begin() + 2, a.shape.end());
        if (kernel && kernel->dims != file_kernel)
            throw shape_error(kernel->source + " contradicts " + weights->source + ", whose shape (" + to_string(a.shape) +
                              ") has kernel_size (" + to_string(file_kernel) + ")");
        const index_t file_out = transposed ? a.shape[1] * groups : a.shape[0];
        if (out_channels && out_channels->integer != file_out)
            throw shape_error(out_channels->source + " contradicts " + weights->source + ", whose shape (" +
                              to_string(a.shape) + ") is " +
                              (transposed ? "(C_in, C_out/groups, k...): out_channels = " + std::to_string(a.shape[1]) +
                                                " x groups " + std::to_string(groups) + " = " + std::to_string(file_out)
                                          : "(C_out, C_in/groups, k...): out_channels = " + std::to_string(file_out)));
        weight_shape = a.shape;
        file_data = std::move(a.data);
    } else {
        if (!kernel) throw usage_error("--kernel is required (e.g. --kernel 3x3), unless --weights FILE.npy gives it");
        const index_t c_out = out_channels ? out_channels->integer : c_in;
        // The weight shape built here needs whole channel counts per group.
        for (const auto& [what, c] : {std::pair<std::string, index_t>{"in_channels", c_in}, {"out_channels", c_out}})
            if (c % groups)
                throw config_error((get(v, "groups") ? get(v, "groups")->source + ": " : std::string()) + what + "=" +
                                   std::to_string(c) + " must be divisible by groups=" + std::to_string(groups));
        weight_shape = transposed ? Shape{c_in, c_out / groups} : Shape{c_out, c_in / groups};
        weight_shape.insert(weight_shape.end(), kernel->dims.begin(), kernel->dims.end());
    }

    const Convention conv = parse_convention(convention);
    const Shape input_shape(input->dims.begin(), input->dims.end());
    // MXNet's names: with --convention mxnet only, each instead of PyTorch's keys for the same value.
    const struct {
        const char* key;
        std::vector<const char*> same;  // PyTorch's keys for that value
        bool transposed_only;
    } mxnet_keys[] = {{"pad", {"padding", "padding_lo", "padding_hi"}, false},
                      {"adj", {"output_padding", "output_size"}, true},
                      {"target_shape", {"output_size", "output_padding"}, true}};
    for (const auto& mx : mxnet_keys) {
        const Value* x = get(v, mx.key);
        if (!x) continue;
        if (conv != Convention::mxnet)
            throw usage_error(x->source + ": " + mx.key + " is MXNet's name: add --convention mxnet (PyTorch's is " +
                              mx.same.front() + ")");
        for (const char* other : mx.same)
            if (const Value* y = get(v, other))
                throw usage_error(x->source + " and " + y->source + " give the same value twice: give one of them");
        if (mx.transposed_only && !transposed)
            throw usage_error(x->source + ": " + mx.key + " applies to a transposed convolution only (add --transposed)");
    }
    Problem p;
    if (transposed) {
        ConvTransposeOptions o;
        o.stride = dims_or(v, "stride", {1});
        o.dilation = dims_or(v, "dilation", {1});
        o.padding = get(v, "pad") ? Padding::symmetric(get(v, "pad")->dims) : padding_of(v);
        if (get(v, "output_padding")) o.output_padding = get(v, "output_padding")->dims;
        if (get(v, "adj")) o.output_padding = get(v, "adj")->dims;
        if (get(v, "target_shape")) o.target_shape = get(v, "target_shape")->dims;
        if (get(v, "output_size")) o.output_size = get(v, "output_size")->dims;
        o.groups = groups;
        o.convention = conv;
        p.spec = checked(v, [&] {
            ConvSpec s = make_conv_transpose(input_shape, weight_shape, o);
            if (const Value* mode = get(v, "padding_mode")) {  // the library's rule: zeros only
                s.padding_mode = parse_padding_mode(mode->text);
                s.validate();
            }
            return s;
        });
    } else {
        for (const char* key : {"output_padding", "output_size"}) {
            const Value* x = get(v, key);
            bool zero = x && std::string(key) == "output_padding";
            if (x)
                for (auto d : x->dims) zero &= d == 0;
            if (x && !zero)
                throw usage_error(x->source + ": " + key + " applies to a transposed convolution only (add --transposed)");
        }
        ConvOptions o;
        o.stride = dims_or(v, "stride", {1});
        o.dilation = dims_or(v, "dilation", {1});
        o.padding = get(v, "pad") ? Padding::symmetric(get(v, "pad")->dims) : padding_of(v);
        o.groups = groups;
        o.padding_mode = parse_padding_mode(get(v, "padding_mode") ? get(v, "padding_mode")->text : "zeros");
        o.convention = conv;
        p.spec = checked(v, [&] { return make_conv(input_shape, weight_shape, o); });
    }
    p.weight_source = init.text;
    p.weights_given = weights != nullptr;
    if (init.kind != Initializer::Kind::file) {
        const double bytes = 8.0 * static_cast<double>(p.spec.weight_numel());
        if (bytes > memory_limit())
            throw memory_limit_error((weights ? weights->source : std::string("the weights (ones)")) + ": " +
                                         std::to_string(p.spec.weight_numel()) + " weights of shape (" +
                                         to_string(p.spec.weight_shape()) + ") need " + format_bytes(bytes) +
                                         ", more than the memory limit " + format_bytes(memory_limit()),
                                     bytes, memory_limit());
    }
    p.weight = init.kind == Initializer::Kind::file ? std::move(file_data) : generate(init, p.spec.weight_numel());
    return p;
}

}  // namespace

void ConfigFlags::add_to(CLI::App& command) {
    std::vector<CLI::Option*> padding_sides;
    CLI::Option* padding = nullptr;
    for (const Key& key : keys()) {
        const std::string name = key.name, flag = flag_of(name);
        if (key.kind == Kind::boolean) {
            command.add_flag_callback(flag, [this, name] { flags_[name] = "true"; }, key.help)->group("configuration");
            continue;
        }
        CLI::Option* opt = command.add_option_function<std::string>(
            flag, [this, name](const std::string& text) { flags_[name] = text; }, key.help);
        opt->group("configuration")->option_text(key.placeholder);
        opt->check(CLI::Validator([&key](std::string& t) { return check_text(key, t); }, ""));
        if (name == "padding") padding = opt;
        if (name == "padding_lo" || name == "padding_hi") padding_sides.push_back(opt);
    }
    for (auto* side : padding_sides) padding->excludes(side);
    command.add_option("--config", config_file_, "a JSON file with the same keys in snake_case (convmtx help config); flags override it")
        ->group("configuration")
        ->option_text("FILE")
        ->check(readable_file());
}

bool ConfigFlags::given() const { return flags_.count("input") || !config_file_.empty(); }

Problem ConfigFlags::problem() const {
    Values v;
    if (!config_file_.empty()) v = read_config(config_file_);
    // --padding replaces every padding key of the file; --padding-lo or --padding-hi replaces that side
    // only, the other side keeping the file's value (its "padding" split into its two sides).
    if (flags_.count("padding")) {
        for (const char* k : {"padding", "padding_lo", "padding_hi"}) v.erase(k);
    } else if (flags_.count("padding_lo") || flags_.count("padding_hi")) {
        if (const Value* p = get(v, "padding")) {
            if (p->padding.kind != Padding::Kind::explicit_sides)
                throw usage_error(flag_of(flags_.count("padding_lo") ? "padding_lo" : "padding_hi") +
                                  " cannot set one side of " + p->source + ": give --padding instead");
            Value lo = *p, hi = *p;
            lo.dims = p->padding.lo;
            hi.dims = p->padding.hi;
            v.erase("padding");
            v["padding_lo"] = lo;
            v["padding_hi"] = hi;
        }
    }
    for (const auto& [name, text] : flags_) {
        const Key& key = *find_key(name);
        Value x = parse_text(key, text);
        x.source = flag_of(name) + (key.kind == Kind::boolean ? "" : " " + text);
        v[name] = x;
    }
    return build_problem(v);
}

std::string config_reference() {
    std::ostringstream os;
    os << "usage: convmtx <command> --config FILE.json [flags]\n\n"
          "The configuration of a convolution, as flags or as a JSON object in a file. A key is its flag's name\n"
          "with '_' for '-' (--output-padding: \"output_padding\"), one spelling only; flags given with --config\n"
          "override the file's keys. Values are typed strictly: the integer keys (groups, out_channels) are JSON\n"
          "integers (1.5 and \"2\" are refused), booleans JSON booleans (not 0 or \"false\"); a dimension\n"
          "key (input, kernel, stride, padding...) is an integer, a list of integers or a string as on the command\n"
          "line (\"2\", \"1x4x4\", \"same\"). Unknown and repeated keys are errors. The\n"
          "geometry is checked by the library (make_conv / make_conv_transpose, ConvSpec::validate).\n"
          "  {\"input\": [1, 4, 4], \"kernel\": [3, 3], \"stride\": 2, \"padding_lo\": [1, 0], \"padding_hi\": [2, 1],\n"
          "   \"transposed\": false, \"weights\": \"arange\"}\n\nkeys:\n";
    for (const Key& key : keys()) {
        std::string type;
        switch (key.kind) {
            case Kind::dims:
                type = "integers >= " + std::to_string(key.min) + ": one, a list, or a string as on the command line";
                break;
            case Kind::padding: type = "integers >= 0: one, a list, or a string as on the command line (\"same\", \"1:2,0:1\")"; break;
            case Kind::integer: type = "integer >= " + std::to_string(key.min); break;
            case Kind::boolean: type = "true or false"; break;
            case Kind::choice: type = "\"" + join(key.choices, "\", \"", "\" or \"") + "\""; break;
            case Kind::initializer: type = "\"ones\", \"arange\", \"random:SEED\" or a .npy file name"; break;
        }
        std::string left = "  " + std::string(key.name);
        os << left << std::string(left.size() < 18 ? 18 - left.size() : 1, ' ') << flag_of(key.name)
           << (key.kind == Kind::boolean ? "" : " " + std::string(key.placeholder)) << ": " << type << "\n";
    }
    return os.str();
}

}  // namespace convmtx::cli
