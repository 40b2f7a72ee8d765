#!/usr/bin/env bash
# ctest python_pip_install: the Python package as a user installs it, offline. A clean copy of the source
# (the files git tracks plus untracked ones it does not ignore: no build directories) is pip-installed into a
# fresh venv with Debian's site packages (pip install --no-build-isolation --no-index), then imported and run
# from outside the tree; a wheel is built from the same copy (python3 -m build --no-isolation --wheel) and
# installed into a second venv. The CMake build directory is <copy>/build, like the default preset's, so that
# ccache (CCACHE_BASEDIR, set by CMakeLists.txt) reuses the objects of the main build.
# Usage: pip_install.sh SOURCE_DIR [PYTHON]
set -euo pipefail
src=$(cd "$1" && pwd)
python=${2:-/usr/bin/python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/convmtx-pip.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/convmtx"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard | \
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done | \
    tar --null -T - -cf -) | tar -C "$tmp/convmtx" -xf -
else
  tar -C "$src" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$tmp/convmtx" -xf -
fi
export CONVMTX_CMAKE_BUILD_DIR="$tmp/convmtx/build"
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

echo "== pip install --no-build-isolation . (venv with system site packages)"
"$python" -m venv --system-site-packages "$tmp/venv"
"$tmp/venv/bin/pip" install --no-build-isolation "$tmp/convmtx" > "$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log"; exit 1; }

check='
import importlib.metadata, os, sys
import numpy as np, scipy.sparse.linalg as sla
import convmtx
here = os.path.dirname(convmtx.__file__)
assert here.startswith(sys.prefix), (here, sys.prefix)
assert importlib.metadata.version("convmtx") == convmtx.__version__, (importlib.metadata.version("convmtx"), convmtx.__version__)
assert os.path.exists(os.path.join(here, "__init__.pyi")) and os.path.exists(os.path.join(here, "py.typed"))
x, w = np.random.rand(1, 3, 8, 8), np.random.rand(3, 4, 3, 3)
y = convmtx.conv_transpose(x, w, stride=2, padding=1, output_padding=1)
T = convmtx.conv_transpose_matrix(x.shape[1:], w, stride=2, padding=1, output_padding=1)
assert np.allclose(T @ x[0].ravel(), y[0].ravel())
A = convmtx.conv_transpose_operator(x.shape[1:], w, stride=2, padding=1, output_padding=1)
assert convmtx.dot_test(A).passed
assert np.linalg.norm(T @ sla.lsqr(A, y[0].ravel(), atol=1e-12, btol=1e-12)[0] - y[0].ravel()) < 1e-6
print("convmtx", convmtx.__version__, "from", here)
'
cd "$tmp"   # outside the source tree
"$tmp/venv/bin/python" -c "$check"

echo "== python3 -m build --no-isolation --wheel"
(cd "$tmp/convmtx" && "$python" -m build --no-isolation --wheel --outdir "$tmp/dist" > "$tmp/wheel.log" 2>&1) || \
  { cat "$tmp/wheel.log"; exit 1; }
wheel=$(ls "$tmp"/dist/convmtx-*.whl)
"$python" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for need in ("convmtx/__init__.py", "convmtx/__init__.pyi", "convmtx/py.typed", "convmtx/operator.py"):
    assert need in names, (need, names)
assert any(n.startswith("convmtx/_core") and n.endswith(".so") for n in names), names
print("wheel", sys.argv[1].rsplit("/", 1)[1], len(names), "files")
PY
"$python" -m venv --system-site-packages "$tmp/venv2"
"$tmp/venv2/bin/pip" install "$wheel" > "$tmp/pip2.log" 2>&1 || { cat "$tmp/pip2.log"; exit 1; }
"$tmp/venv2/bin/python" -c "$check"
echo "pip install and wheel: OK"
