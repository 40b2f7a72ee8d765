#include "config_flags.hpp"

#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "convmtx/layout.hpp"
#include "convmtx/npy.hpp"

namespace convmtx::cli {

namespace {

using json = nlohmann::json;

// The configuration as strings, whichever source it came from.
struct RawConfig {
    std::map<std::string, std::string> v;
    bool has(const std::string& k) const { return v.count(k) > 0; }
    std::string get(const std::string& k, const std::string& d = "") const {
        auto it = v.find(k);
        return it == v.end() ? d : it->second;
    }
};

const char* const kKeys[] = {"input",    "kernel",     "stride",       "padding",       "output-padding",
                             "output-size", "dilation", "groups",      "out-channels",  "transposed",
                             "padding-mode", "convention", "weights",  "weight-layout"};

std::string json_to_text(const json& j, const std::string& key, const std::string& what) {
    auto dims = [&](const json& a) {
        std::string s;
        for (const auto& e : a) {
            if (!e.is_number_integer())
                throw usage_error(what + ": \"" + key + "\" must hold integers, got " + a.dump());
            s += (s.empty() ? "" : "x") + std::to_string(e.get<long long>());
        }
        return s;
    };
    if (j.is_string()) return j.get<std::string>();
    if (j.is_boolean()) return j.get<bool>() ? "1" : "";
    if (j.is_number_integer()) return std::to_string(j.get<long long>());
    if (j.is_array()) {
        if (key == "padding" && !j.empty() && j[0].is_array()) {  // [[lo, hi], ...]
            std::string s;
            for (const auto& p : j) {
                if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number_integer())
                    throw usage_error(what + ": \"padding\" pairs must be [lo, hi] integers, got " + j.dump());
                s += (s.empty() ? "" : ",") + std::to_string(p[0].get<long long>()) + ":" +
                     std::to_string(p[1].get<long long>());
            }
            return s;
        }
        return dims(j);
    }
    throw usage_error(what + ": \"" + key + "\" has an unsupported value " + j.dump());
}

void merge_json(RawConfig& raw, const std::string& text, const std::string& what) {
    json j;
    try {
        j = json::parse(text);
    } catch (const std::exception& e) {
        throw usage_error(what + " is not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw usage_error(what + " must hold a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
        std::string key = it.key();
        for (auto& c : key)
            if (c == '_') c = '-';
        bool known = false;
        for (const char* k : kKeys) known |= key == k;
        if (!known) throw usage_error(what + ": unknown key \"" + it.key() + "\"");
        if (key == "transposed" && it.value().is_boolean() && !it.value().get<bool>()) continue;
        raw.v[key] = json_to_text(it.value(), it.key(), what);
    }
}

std::string read_text(const std::string& path) {
    try {
        return read_file(path, 16 << 20);  // a regular file of at most 16 MiB (file.hpp)
    } catch (const std::exception& e) {
        throw usage_error(std::string("--config: ") + e.what());
    }
}

index_t parse_int(const std::string& text, const std::string& flag) {
    size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty()) throw usage_error(flag + ": '" + text + "' is not an integer");
    return v;
}

Padding parse_padding(const std::string& text) {
    if (text == "same") return Padding::same();
    if (text == "valid") return Padding::valid();
    if (text.find(':') == std::string::npos) return Padding::symmetric(parse_dims(text, "--padding"));
    Dims lo, hi;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        const auto c = item.find(':');
        if (c == std::string::npos)
            throw usage_error("--padding: '" + text + "' mixes lo:hi pairs and single values; write every dimension as lo:hi");
        lo.push_back(parse_int(item.substr(0, c), "--padding"));
        hi.push_back(parse_int(item.substr(c + 1), "--padding"));
    }
    return Padding::sides(lo, hi);
}

Problem build_problem(const RawConfig& raw) {
    if (!raw.has("input")) throw usage_error("--input is required (e.g. --input 1x4x4: channels then spatial sizes)");
    if (!raw.has("kernel")) throw usage_error("--kernel is required (e.g. --kernel 3x3)");
    const Dims input = parse_dims(raw.get("input"), "--input");
    const Dims kernel = parse_dims(raw.get("kernel"), "--kernel");
    if (input.size() != kernel.size() + 1)
        throw usage_error("--input " + raw.get("input") + " has " + std::to_string(input.size()) +
                          " entries; with --kernel " + raw.get("kernel") + " (" + std::to_string(kernel.size()) +
                          " spatial dimensions) it needs " + std::to_string(kernel.size() + 1) +
                          ": the channels, then one size per kernel dimension");
    const bool transposed = raw.has("transposed") && !raw.get("transposed").empty();
    const index_t groups = parse_int(raw.get("groups", "1"), "--groups");
    const index_t cin = input[0];
    const index_t cout = raw.has("out-channels") ? parse_int(raw.get("out-channels"), "--out-channels") : cin;
    if (groups <= 0) throw config_error("groups=" + std::to_string(groups) + " must be positive");
    if (cin % groups) throw config_error("in_channels=" + std::to_string(cin) + " must be divisible by groups=" + std::to_string(groups));
    if (cout % groups) throw config_error("out_channels=" + std::to_string(cout) + " must be divisible by groups=" + std::to_string(groups));
    const std::string conv_name = raw.get("convention", "torch");
    if (conv_name != "torch" && conv_name != "keras")
        throw usage_error("--convention: '" + conv_name + "' must be torch or keras");
    const Convention convention = conv_name == "keras" ? Convention::keras : Convention::torch;

    Shape weight_shape = transposed ? Shape{cin, cout / groups} : Shape{cout, cin / groups};
    weight_shape.insert(weight_shape.end(), kernel.begin(), kernel.end());
    Problem p;
    if (transposed) {
        if (raw.has("padding-mode") && raw.get("padding-mode") != "zeros")
            throw config_error("padding_mode='" + raw.get("padding-mode") +
                               "' is not supported for conv_transpose: only 'zeros' (as in PyTorch)");
        ConvTransposeOptions o;
        o.stride = parse_dims(raw.get("stride", "1"), "--stride");
        o.dilation = parse_dims(raw.get("dilation", "1"), "--dilation");
        o.padding = parse_padding(raw.get("padding", "0"));
        if (raw.has("output-padding")) o.output_padding = parse_dims(raw.get("output-padding"), "--output-padding");
        if (raw.has("output-size")) o.output_size = parse_dims(raw.get("output-size"), "--output-size");
        o.groups = groups;
        o.convention = convention;
        p.spec = make_conv_transpose(input, weight_shape, o);
    } else {
        if (raw.has("output-padding") && raw.get("output-padding") != "0")
            throw usage_error("--output-padding applies only with --transposed");
        if (raw.has("output-size")) throw usage_error("--output-size applies only with --transposed");
        ConvOptions o;
        o.stride = parse_dims(raw.get("stride", "1"), "--stride");
        o.dilation = parse_dims(raw.get("dilation", "1"), "--dilation");
        o.padding = parse_padding(raw.get("padding", "0"));
        o.groups = groups;
        o.padding_mode = parse_padding_mode(raw.get("padding-mode", "zeros"));
        o.convention = convention;
        p.spec = make_conv(input, weight_shape, o);
    }
    const std::string layout = raw.get("weight-layout", "torch");
    if (layout != "torch" && layout != "keras")
        throw usage_error("--weight-layout: '" + layout + "' must be torch or keras");
    p.weight_source = raw.get("weights", "ones");
    p.weight = make_weights(p.weight_source, p.spec.weight_shape(), transposed, layout == "keras");
    return p;
}

}  // namespace

std::vector<Flag> config_flags() {
    return {
        {"input", "CxN[xN[xN]]", "input of one sample: channels, then spatial sizes (e.g. 1x4x4)"},
        {"kernel", "K[xK[xK]]", "kernel size per spatial dimension (e.g. 3x3)"},
        {"stride", "S", "stride, one value or one per dimension (default 1)"},
        {"padding", "P", "padding: 1, 1x2, lo:hi per dimension (1:2,0:1), same or valid (default 0)"},
        {"output-padding", "A", "output_padding of a transposed conv (default 0)"},
        {"output-size", "N[xN]", "requested output size of a transposed conv (derives output_padding)"},
        {"dilation", "D", "dilation (default 1)"},
        {"groups", "G", "groups (default 1)"},
        {"out-channels", "C", "output channels (default: the input channels)"},
        {"transposed", "", "the transposed convolution (input is its own input, e.g. 1x2x2)"},
        {"padding-mode", "MODE", "zeros, circular, reflect or replicate (conv only; default zeros)"},
        {"convention", "NAME", "torch (default) or keras: the meaning of same/valid and output_padding"},
        {"weights", "W", "ones (default), arange, random:SEED, or a .npy file"},
        {"weight-layout", "L", "layout of a .npy weight: torch (default) or keras"},
        {"config", "FILE", "JSON file with the same keys (snake_case); flags override it"},
    };
}

bool has_config(const Args& args) { return args.has("input") || args.has("config"); }

Dims parse_dims(const std::string& text, const std::string& flag) {
    Dims out;
    std::string item;
    for (size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == 'x' || text[i] == ',' || text[i] == 'X') {
            if (item.empty()) throw usage_error(flag + ": '" + text + "' is not a list of integers (e.g. 2 or 2x1)");
            out.push_back(parse_int(item, flag));
            item.clear();
        } else {
            item += text[i];
        }
    }
    return out;
}

std::vector<double> make_weights(const std::string& source, const Shape& shape, bool transposed, bool keras_layout) {
    index_t n = 1;
    for (auto s : shape) n *= s;
    std::vector<double> w(static_cast<size_t>(n));
    if (source == "ones") {
        std::fill(w.begin(), w.end(), 1.0);
    } else if (source == "arange") {
        for (index_t i = 0; i < n; ++i) w[static_cast<size_t>(i)] = static_cast<double>(i);
    } else if (source.rfind("random:", 0) == 0) {
        std::mt19937_64 rng(static_cast<std::uint64_t>(parse_int(source.substr(7), "--weights random:SEED")));
        std::uniform_real_distribution<double> u(-1.0, 1.0);
        for (auto& x : w) x = u(rng);
    } else if (source.size() > 4 && source.compare(source.size() - 4, 4, ".npy") == 0) {
        NpyArray a;
        try {
            a = read_npy(source);
        } catch (const std::runtime_error& e) {
            throw usage_error(std::string("--weights: ") + e.what());
        }
        Shape expect = shape;
        if (keras_layout) {
            const WeightLayout from = transposed ? WeightLayout::keras_transposed : WeightLayout::keras_conv;
            const WeightLayout to = transposed ? WeightLayout::torch_transposed : WeightLayout::torch_conv;
            Shape converted;
            a.data = convert_weight(a.data.data(), a.shape, from, to, &converted);
            a.shape = converted;
        }
        if (a.shape != expect)
            throw shape_error("--weights " + source + " has shape (" + to_string(a.shape) + "); the configuration needs (" +
                              to_string(expect) + ")" + (keras_layout ? " after conversion from the Keras layout" : ""));
        w = std::move(a.data);
    } else {
        throw usage_error("--weights: '" + source + "' must be ones, arange, random:SEED or a .npy file");
    }
    return w;
}

Problem problem_from_args(const Args& args) {
    RawConfig raw;
    if (args.has("config")) merge_json(raw, read_text(args.get("config")), "--config " + args.get("config"));
    for (const char* k : kKeys)
        if (args.has(k)) raw.v[k] = args.get(k);
    return build_problem(raw);
}

Problem problem_from_json(const std::string& json_text, const std::string& what) {
    RawConfig raw;
    merge_json(raw, json_text, what);
    return build_problem(raw);
}

}  // namespace convmtx::cli
