#!/usr/bin/env bash
# convmtx-mpi on 2 processes against the serial convmtx: `build -o` writes the same W and T as
# `convmtx build` (every line after the comments), its share table agrees with the model; `solve`
# on the phantom writes the same solution image and prints the same PSNR and residual lines as
# `convmtx solve` with the same flags; PETSc options pass through; a usage error exits 2.
set -euo pipefail
cli=$1; mpi=$2; mpirun=$3; python=${4:-/usr/bin/python3}  # a Python with numpy
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run() { "$mpirun" -np 2 --oversubscribe "$mpi" "$@"; }
fail() { echo "FAILED: $*"; exit 1; }

config=(--input 2x9x7 --kernel 3x3 --out-channels 4 --groups 2 --stride 2 --padding 1 --padding-mode reflect
        --weights random:3)
for which in W T; do
  "$cli" build "${config[@]}" --which "$which" -o "$tmp/serial.mtx" > /dev/null
  run build "${config[@]}" --which "$which" -o "$tmp/mpi.mtx" > "$tmp/build.txt"
  grep -q "every share equals the geometry's prediction" "$tmp/build.txt" || { cat "$tmp/build.txt"; fail "build $which: shares"; }
  grep -q "dot test PASSED" "$tmp/build.txt" || fail "build $which: dot test"
  diff <(grep -v '^%' "$tmp/serial.mtx") <(grep -v '^%' "$tmp/mpi.mtx") > /dev/null || fail "build $which: W.mtx differs"
done
echo "build: W and T gathered from 2 processes equal convmtx build's"

flags=(--size 64 --lambda 0.05 --method lsqr --atol 1e-13 --btol 1e-13 --iters 5000)
for extra in "" "--stride 2 --blur box:3"; do
  # shellcheck disable=SC2086
  "$cli" solve "${flags[@]}" $extra -o "$tmp/serial.pgm" > "$tmp/serial.txt"
  # shellcheck disable=SC2086
  run solve "${flags[@]}" $extra -o "$tmp/mpi.pgm" -ksp_monitor > "$tmp/mpi.txt"
  grep -q "KSP Residual norm" "$tmp/mpi.txt" || fail "solve $extra: -ksp_monitor did not reach PETSc"
  cmp -s "$tmp/serial.pgm" "$tmp/mpi.pgm" || fail "solve $extra: the solution images differ"
  pick() { grep -E ' dB|^\|\|W x - b\|\|' "$1"; }
  diff <(pick "$tmp/serial.txt") <(pick "$tmp/mpi.txt") || fail "solve $extra: the reports differ"
  echo "solve ${extra:-(deblur)}: 2 processes equal convmtx solve: $(grep 'least squares' "$tmp/mpi.txt" | tr -s ' ')"
done

set +e
run solve --lambda auto > /dev/null 2> "$tmp/err.txt"
status=$?
set -e
[ "$status" -eq 2 ] || fail "--lambda auto: exit status $status, expected 2"
grep -q "^convmtx-mpi solve: --lambda auto is not available" "$tmp/err.txt" || fail "--lambda auto: message"
echo "usage error: exit status 2"

# break_hostile F15/F16 and break_newuser F8: one-dash options that are not PETSc's, a zero PSF, the
# parse errors and `help` of convmtx.
refuse() {  # refuse NEEDLE ARGS...: exit status 2 and NEEDLE on the one product line of stderr
  local needle=$1; shift
  set +e
  run "$@" > "$tmp/out.txt" 2> "$tmp/err.txt"
  local status=$?
  set -e
  [ "$status" -eq 2 ] || { cat "$tmp/err.txt"; fail "$*: exit status $status, expected 2"; }
  grep -F "convmtx-mpi" "$tmp/err.txt" | grep -qF -- "$needle" || { cat "$tmp/err.txt"; fail "$*: no '$needle'"; }
}
"$python" -c "import numpy as np; np.save('$tmp/psf0.npy', np.zeros((3, 3))); np.save('$tmp/psfhuge.npy', np.full((3, 3), 1e308))"
(cd "$tmp" && refuse "-o=x.mtx: a short option takes its value as -ox.mtx" build --input 1x8x8 --kernel 3x3 -o=x.mtx)
[ ! -e "$tmp/x.mtx" ] && [ ! -e "$tmp/=x.mtx" ] || fail "-o=x.mtx wrote a file"
refuse "unknown option '-bogus'" build --input 1x8x8 --kernel 3x3 -bogus
refuse "did you mean '--output'" build --input 1x8x8 --kernel 3x3 -output "$tmp/y.mtx"
refuse "--transposed is given more than once" build --input 1x8x8 --kernel 3x3 --transposed --transposed
refuse "--kernel $tmp/psf0.npy: PSF values sum to 0" solve --size 32 --kernel "$tmp/psf0.npy"
refuse "--kernel $tmp/psfhuge.npy: PSF values sum to" solve --size 32 --kernel "$tmp/psfhuge.npy"
refuse "unknown option '--lamda' (did you mean '--lambda'?)" solve --lamda 0.02
refuse "--observed is convmtx solve's" solve --observed b.png --psf gaussian:9:2.0
run help solve > "$tmp/help.txt" || fail "convmtx-mpi help solve"
grep -q "usage: convmtx-mpi solve" "$tmp/help.txt" || fail "help solve: usage line"
echo "usage errors: one-dash options, PSF rules, suggestions and help as convmtx's"
