#!/usr/bin/env bash
# Builds and runs everything C++ under AddressSanitizer + UndefinedBehaviorSanitizer: first one build
# (the "sanitizers" preset: clang, -O1, every sanitizer report fatal): the C++ test suites, the CLI,
# the fuzz targets' replays of their seed corpora and regression inputs, and each libFuzzer target
# for CONVMTX_FUZZ_SECONDS seconds (default 20; 0 skips the fuzzing); then the solvers suites with
# g++'s sanitizers (build-asan-gcc/, see below). Without clang++ it builds the
# same with g++ (no libFuzzer: the suites and the replays only) and says so.
#   bash scripts/check-sanitizers.sh            # from anywhere; build tree: build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${CONVMTX_FUZZ_SECONDS:-20}
jobs=${CONVMTX_JOBS:-2}
args=(-DCONVMTX_FUZZ_SECONDS="$seconds")
if ! command -v clang++ >/dev/null 2>&1; then
  echo "check-sanitizers: clang++ not found (scripts/install-deps.sh installs it): g++ build, no fuzzing" >&2
  args+=(-DCMAKE_CXX_COMPILER=g++ -DCONVMTX_FUZZ=OFF -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1")
fi
cmake --preset sanitizers "${args[@]}"
cmake --build --preset sanitizers -j "$jobs"
exclude=()
[ "$seconds" = 0 ] && exclude=(-E '^fuzz_run_')
ctest --preset sanitizers -j "$jobs" "${exclude[@]}"
# clang 14's ASan runtime aborts while starting test_solvers_* (a CHECK in its own dlsym interception,
# before main); g++'s runs them: the "sanitizers-gcc" presets build and run those two suites only.
cmake --preset sanitizers-gcc
cmake --build --preset sanitizers-gcc -j "$jobs"
ctest --preset sanitizers-gcc -j "$jobs"
