#include "blur.hpp"

#include <cmath>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "convmtx/image.hpp"
#include "convmtx/npy.hpp"
#include "flag_values.hpp"
#include "initializers.hpp"

namespace convmtx::cli {

Kernel parse_blur(const std::string& spec) {
    // gaussian:K:SIGMA | box:K
    std::vector<std::string> parts;
    std::stringstream ss(spec);
    for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
    auto bad = [&]() -> value_error {
        return value_error("'" + spec + "' must be gaussian:SIZE:SIGMA (e.g. gaussian:9:2.0) or box:SIZE");
    };
    Kernel k;
    auto to_size = [&](const std::string& s) {
        size_t pos = 0;
        long long v = 0;
        try {
            v = std::stoll(s, &pos);
        } catch (const std::exception&) {
            throw bad();
        }
        if (pos != s.size()) throw bad();
        if (v < 1 || v > 1024)
            throw value_error("'" + spec + "': SIZE " + s + " is not in range [1, 1024]");
        return static_cast<index_t>(v);
    };
    if (parts.size() == 3 && parts[0] == "gaussian") {
        k.kh = k.kw = to_size(parts[1]);
        size_t pos = 0;
        double sigma = 0;
        try {
            sigma = std::stod(parts[2], &pos);
        } catch (const std::exception&) {
            throw bad();
        }
        if (pos != parts[2].size() || !(sigma > 0) || !std::isfinite(sigma)) throw bad();
        k.w = gaussian_kernel(k.kh, sigma);
        k.describe = "gaussian " + parts[1] + "x" + parts[1] + " sigma=" + parts[2];
    } else if (parts.size() == 2 && parts[0] == "box") {
        k.kh = k.kw = to_size(parts[1]);
        k.w.assign(static_cast<size_t>(k.kh * k.kw), 1.0 / static_cast<double>(k.kh * k.kw));
        k.describe = "box " + parts[1] + "x" + parts[1];
    } else {
        throw bad();
    }
    return k;
}

Psf checked_psf(const Kernel& k, const std::string& flag_value) {
    try {
        return make_psf(k.kh, k.kw, k.w, k.describe);
    } catch (const std::invalid_argument& e) {
        throw usage_error(flag_value + ": " + e.what());
    }
}

Kernel read_kernel(const std::string& path, const char* flag) {
    NpyArray a;
    try {
        a = read_finite_npy(path);
    } catch (const value_error& e) {
        throw usage_error(std::string(flag) + ": " + e.what());
    }
    Kernel k;
    if (a.shape.size() == 2) {
        k.kh = a.shape[0];
        k.kw = a.shape[1];
    } else if (a.shape.size() == 4 && a.shape[0] == 1 && a.shape[1] == 1) {
        k.kh = a.shape[2];
        k.kw = a.shape[3];
    } else {
        throw usage_error(std::string(flag) + " " + path + ": array shape (" + to_string(a.shape) +
                          ") must be (kh, kw) or (1, 1, kh, kw)");
    }
    k.w = a.data;
    k.describe = "kernel " + path + " (" + std::to_string(k.kh) + "x" + std::to_string(k.kw) + ")";
    return k;
}

DegradeOptions add_degrade_flags(CLI::App& cmd, DegradeFlags& f, const std::string& noise_help,
                                 const std::string& stride_help, const std::string& output_help) {
    DegradeOptions o{};
    o.image = cmd.add_option("--image", f.image, "PNG or PGM image to degrade (default: the Shepp-Logan phantom)")
                  ->option_text("FILE")
                  ->check(readable_file());
    o.size = cmd.add_option("--size", f.size, "phantom size N x N (default 128)")
                 ->option_text("N")
                 ->check(integer_in(8, 16384))
                 ->excludes(o.image);
    cmd.add_option("--downscale", f.downscale, "downscale the image by F x F block means first (e.g. 4: 512 -> 128)")
        ->option_text("F")
        ->check(integer_in(1, 65536));
    o.blur = cmd.add_option("--blur", f.blur, "the blur: gaussian:SIZE:SIGMA or box:SIZE (default gaussian:9:2.0)")
                 ->option_text("SPEC")
                 ->check(parsed_by([](const std::string& t) { parse_blur(t); }));
    o.kernel = cmd.add_option("--kernel", f.kernel, "blur kernel from a .npy file, shape (kh, kw) or (1, 1, kh, kw); replaces --blur")
                   ->option_text("FILE")
                   ->check(readable_file())
                   ->check(file_extension({".npy"}))
                   ->excludes(o.blur);
    o.stride = cmd.add_option("--stride", f.stride, stride_help)->option_text("S")->check(integer_in(1, 1024));
    // Images are in [0, 1]: a noise level beyond 1e6 only overflows b (and W^T W b).
    o.noise = cmd.add_option("--noise", f.noise, noise_help)->option_text("SIGMA")->check(number_in(0.0, 1e6));
    o.seed = cmd.add_option("--seed", f.seed, "noise seed (default 0)")->option_text("N")->check(integer_in(0));
    const std::pair<const char*, std::string> images[] = {
        {"-o,--output", output_help},
        {"--degraded", "write the degraded image b"},
        {"--adjoint", "write the transposed-convolution estimate W^T b"},
        {"--montage", "write truth | degraded | W^T b | solution side by side, labelled with PSNR and SSIM"}};
    std::string* targets[] = {&f.output, &f.degraded, &f.adjoint, &f.montage};
    for (size_t i = 0; i < 4; ++i)
        o.montage = cmd.add_option(images[i].first, *targets[i], images[i].second)
                        ->option_text("FILE")
                        ->check(file_extension({".png", ".pgm"}))
                        ->check(writable_file());
    return o;
}

Image read_truth(const DegradeFlags& f, std::string& source) {
    Image truth;
    if (!f.image.empty()) {
        try {
            truth = read_image(f.image);
        } catch (const std::runtime_error& e) {
            throw usage_error(std::string("--image: ") + e.what());
        }
        source = f.image;
    } else {
        truth = shepp_logan(f.size);
        source = "Shepp-Logan phantom";
    }
    if (f.downscale) truth = downscale(truth, *f.downscale);
    return truth;
}

Kernel degrade_kernel(const DegradeFlags& f) {
    Kernel k = !f.kernel.empty() ? read_kernel(f.kernel, "--kernel") : parse_blur(f.blur);
    checked_psf(k, !f.kernel.empty() ? "--kernel " + f.kernel : "--blur " + f.blur);
    return k;
}

void write_picture(const std::string& path, const Image& im) {
    if (path.empty()) return;
    write_image(path, im);
    std::cout << "wrote " << path << " (" << im.height << "x" << im.width << ")\n";
}

}  // namespace convmtx::cli
