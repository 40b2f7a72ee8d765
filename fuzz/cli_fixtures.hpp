// The working directory of the CLI fuzz targets: a fresh temporary directory holding small valid
// input files under fixed names (so that argument vectors can name them) and hostile ones: a link to
// /dev/zero, directories, an empty and a truncated file, weights with a NaN. Each run happens inside
// it (Inside: the process's own directory, where libFuzzer keeps its corpus, is restored after);
// whatever a command writes there is removed after each input, the directory itself when the process
// exits. See fuzz/fuzz_cli.cpp for the restrictions on the arguments.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "convmtx/builder.hpp"
#include "convmtx/file.hpp"
#include "convmtx/io.hpp"
#include "convmtx/npy.hpp"
#include "convmtx/pgm.hpp"
#include "convmtx/png.hpp"
#include "fuzz_common.hpp"

namespace fuzz {

class CliFixtures {
public:
    CliFixtures() {
        namespace fs = std::filesystem;
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/convmtx-fuzz-XXXXXX";
        if (!::mkdtemp(pattern.data())) fail("mkdtemp failed");
        dir_ = pattern;
        {
            const Inside inside(*this);
            create();
        }
        signature_ = signature();
    }

    /// The fixture directory is the current directory for its lifetime.
    class Inside {
    public:
        explicit Inside(const CliFixtures& f) : previous_(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
            if (previous_ < 0 || ::chdir(f.dir_.c_str()) != 0) fail("cannot enter the fixture directory");
        }
        ~Inside() {
            if (::fchdir(previous_) != 0) fail("cannot return to the working directory");
            ::close(previous_);
        }
        Inside(const Inside&) = delete;
        Inside& operator=(const Inside&) = delete;

    private:
        int previous_;
    };
    ~CliFixtures() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    CliFixtures(const CliFixtures&) = delete;
    CliFixtures& operator=(const CliFixtures&) = delete;

    /// Removes what the last input's commands wrote, and writes the fixtures again when a command
    /// replaced one (-o m.mtx), so that every input starts from the same directory.
    void clean() {
        namespace fs = std::filesystem;
        std::vector<fs::path> extra;
        for (const auto& e : fs::directory_iterator(dir_))
            if (!signature_.count(e.path().filename().string())) extra.push_back(e.path());
        for (const auto& p : extra) fs::remove_all(p);
        if (signature() != signature_) {
            for (const auto& [name, sig] : signature_) fs::remove_all(fs::path(dir_) / name);
            const Inside inside(*this);
            create();
            signature_ = signature();
        }
    }

private:
    std::string dir_;
    std::map<std::string, std::vector<std::int64_t>> signature_;

    /// Each entry's inode, size and modification time (a replaced file has a new inode).
    std::map<std::string, std::vector<std::int64_t>> signature() const {
        std::map<std::string, std::vector<std::int64_t>> sig;
        for (const auto& e : std::filesystem::directory_iterator(dir_)) {
            struct stat st {};
            ::lstat(e.path().c_str(), &st);
            sig[e.path().filename().string()] = {static_cast<std::int64_t>(st.st_ino), static_cast<std::int64_t>(st.st_size),
                                                 static_cast<std::int64_t>(st.st_mtim.tv_nsec), st.st_mtim.tv_sec};
        }
        return sig;
    }

    void create() {
        namespace fs = std::filesystem;
        using namespace convmtx;
        std::vector<double> w9(9), w8(8);
        for (size_t i = 0; i < w9.size(); ++i) w9[i] = static_cast<double>(i);
        for (size_t i = 0; i < w8.size(); ++i) w8[i] = 0.5 * static_cast<double>(i) - 1;
        write_npy("w.npy", w9.data(), Shape{1, 1, 3, 3});
        write_npy("w2.npy", w8.data(), Shape{2, 1, 2, 2});
        std::vector<double> blur(9, 1.0 / 9);
        write_npy("k.npy", blur.data(), Shape{3, 3});
        std::vector<double> nan = w9;
        nan[4] = std::nan("");
        write_npy("nan.npy", nan.data(), Shape{1, 1, 3, 3});
        ConvOptions o;
        o.stride = {2};
        o.padding = Padding::symmetric({1});
        const ConvSpec spec = make_conv({1, 4, 4}, {1, 1, 3, 3}, o);
        const auto W = conv_matrix<double, Eigen::RowMajor, std::int64_t>(spec, w9);
        write_matrix_file("m.mtx", W);
        write_matrix_file("m.npz", W);
        Raster r;
        r.width = r.height = 8;
        for (int i = 0; i < 64; ++i) r.samples.push_back(static_cast<std::uint8_t>(4 * i));
        write_png_file("i.png", r);
        write_pgm_file("i.pgm", r);
        write_file_atomic("c.json", std::string(R"({"input": [1, 4, 4], "kernel": [3, 3], "stride": 2, "padding": 1})"));
        write_file_atomic("empty.npy", std::string());
        const std::string mtx = read_file("m.mtx", 1 << 20);
        write_file_atomic("t.mtx", mtx.substr(0, mtx.size() / 2));
        if (::symlink("/dev/zero", "zero.npy") != 0 || ::symlink("/dev/zero", "zero.mtx") != 0)
            fail("cannot create the /dev/zero links");
        fs::create_directory("d.mtx");
        fs::create_directory("d.npy");
    }
};

}  // namespace fuzz
