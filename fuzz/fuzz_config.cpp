// Fuzz target: the --config JSON reader. The input bytes are the file (a memfd named by its
// /proc/self/fd path) of `convmtx inspect --config FILE`, run in-process in the CLI fuzz targets'
// directory (cli_fixtures.hpp: "weights" may name its .npy files) with their limits (cli_run.hpp).
// Every run keeps the exit status contract; a configuration the reader accepts must pass inspect's
// structure check and every comparison and dot test of `adjoint-test --config FILE` (status 0):
// status 1 there is a disagreement between the library's own computations.
#include <string>

#include "cli_fixtures.hpp"
#include "cli_run.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    static fuzz::CliFixtures fixtures;
    struct Clean {
        fuzz::CliFixtures& f;
        ~Clean() { f.clean(); }
    } clean{fixtures};
    const std::string json(reinterpret_cast<const char*>(data), size);
    const std::string path = fuzz::as_file(json);
    const fuzz::CliFixtures::Inside inside(fixtures);
    const int inspected = fuzz::run_cli({"inspect", "--config", path}, json);
    if (inspected == 1) fuzz::fail("inspect's structure check failed on the configuration it read");
    if (inspected == 0 && fuzz::run_cli({"adjoint-test", "--config", path, "--trials", "1"}, json) != 0)
        fuzz::fail("adjoint-test failed on the configuration the reader accepted");
    return 0;
}
