#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds tests/install/ against it with
# find_package(convmtx), runs it and checks d2l §12.10's 5x5 result.
set -euo pipefail
build=$1; src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" --component Unspecified > "$tmp/install.log"
# The README's C++ example, wrapped in main(), is built by the same consumer project.
awk '/^```cpp$/{inblock=1; next} /^```$/{inblock=0} inblock' "$src/../../README.md" > "$tmp/readme_block.cpp"
{ grep '^#include' "$tmp/readme_block.cpp"; echo "int main() {"; grep -v '^#include' "$tmp/readme_block.cpp"; echo "}"; } > "$tmp/readme.cpp"
cmake -S "$src" -B "$tmp/consumer" -G Ninja -DREADME_SOURCE="$tmp/readme.cpp" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/consumer" > "$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
out=$("$tmp/consumer/app" | tr -s ' ' | sed 's/^ //')
want="1 1 3 2 2 1 1 3 2 2 4 4 10 6 6 3 3 7 4 4 3 3 7 4 4"
[ "$out" = "$want" ] || { echo "installed consumer printed '$out', expected '$want'"; exit 1; }
echo "installed convmtx::convmtx: consumer built and printed d2l's 5x5 result"
