#!/usr/bin/env bash
# Configures the project with only convmtx::core, convmtx::spectrum and convmtx::solvers (CONVMTX_WITH_IO=OFF,
# CONVMTX_WITH_SUITESPARSE=OFF, and libpng, libzip, zlib and SuiteSparse made unfindable, as on a
# machine without them), installs it into a temporary prefix, builds tests/install/core against
# it with find_package(convmtx COMPONENTS core), runs it and checks its output.
set -euo pipefail
source_dir=$1; src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
no_deps=(-DCMAKE_DISABLE_FIND_PACKAGE_PNG=ON -DCMAKE_DISABLE_FIND_PACKAGE_libzip=ON
         -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON -DCMAKE_DISABLE_FIND_PACKAGE_SuiteSparse=ON)
cmake -S "$source_dir" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVMTX_WITH_IO=OFF \
  -DCONVMTX_WITH_SUITESPARSE=OFF -DCONVMTX_BUILD_CLI=OFF -DCONVMTX_BUILD_PYTHON=OFF -DCONVMTX_BUILD_TESTS=OFF \
  -DCONVMTX_BUILD_BENCHMARKS=OFF "${no_deps[@]}" > "$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
if grep -Eiq "found (PNG|libzip|ZLIB|SuiteSparse)" "$tmp/configure.log"; then
  echo "the core-only configure found an optional dependency:"; grep -Ei "found (PNG|libzip|ZLIB|SuiteSparse)" "$tmp/configure.log"; exit 1
fi
cmake --build "$tmp/build" > "$tmp/build.log" || { tail -50 "$tmp/build.log"; exit 1; }
cmake --install "$tmp/build" --prefix "$tmp/prefix" > "$tmp/install.log"
for lib in libconvmtx_io.a libconvmtx_suitesparse.a; do
  if [ -e "$tmp/prefix/lib/$lib" ]; then echo "$lib was installed by a core-only build"; exit 1; fi
done
cmake -S "$src/core" -B "$tmp/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" "${no_deps[@]}" \
  > "$tmp/consumer-configure.log" || { cat "$tmp/consumer-configure.log"; exit 1; }
cmake --build "$tmp/consumer" -v > "$tmp/consumer-build.log" || { cat "$tmp/consumer-build.log"; exit 1; }
if grep -Eq "suitesparse|libpng|png\.h|libzip" "$tmp/consumer-build.log"; then
  echo "the consumer's build mentions an optional dependency:"; grep -E "suitesparse|libpng|libzip" "$tmp/consumer-build.log"; exit 1
fi
out=$("$tmp/consumer/app" | tr -s ' ' | sed 's/^ //')
want=$'1 1 3 2 2 1 1 3 2 2 4 4 10 6 6 3 3 7 4 4 3 3 7 4 4\n1 1 3 2 2 1 1 3 2 2 4 4 10 6 6 3 3 7 4 4 3 3 7 4 4\ndot test passed'
[ "$out" = "$want" ] || { echo "core consumer printed '$out', expected '$want'"; exit 1; }
echo "convmtx::core alone (no libpng, libzip, zlib, SuiteSparse): consumer built and printed d2l's 5x5 result twice, dot test passed"
