#!/usr/bin/env bash
# Prints the scaling model of docs/distributed.md: entries, MPIAIJ bytes, ghost columns (halo),
# neighbours and bytes sent per product per process for the 3-d 1024^3 volume with a 3x3x3 kernel
# at 64-1024 processes (convmtx-mpi model: the geometry alone, nothing is built), then checks the
# same model against PETSc's measured counts on small cases built on 2-4 processes
# (convmtx-mpi build prints each process's share next to the model and fails on a difference).
#   scripts/distributed-model.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
mpi="$build/bin/convmtx-mpi"
[ -x "$mpi" ] || { echo "distributed-model.sh: $mpi not found: build with CONVMTX_WITH_PETSC=ON" >&2; exit 2; }
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMP_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1  # oversubscribed processes yield while they wait

echo "== model: 3-d 1024^3, kernel 3x3x3, padding 1 (W; T has the same counts for this square case)"
"$mpi" model --input 1x1024x1024x1024 --kernel 3x3x3 --padding 1 --ranks 64,128,256,512,1024
echo
echo "== model: the same with 4 channels in and out"
"$mpi" model --input 4x1024x1024x1024 --kernel 3x3x3 --out-channels 4 --padding 1 --ranks 64,256,1024
echo
echo "== model against PETSc's measured counts on small cases"
cases=(
  "2|--input 1x32x32x32 --kernel 3x3x3 --padding 1"
  "3|--input 2x20x12x12 --kernel 5x3x3 --out-channels 4 --groups 2 --padding 2x1x1 --padding-mode circular"
  "4|--input 1x40x24 --kernel 3x3 --stride 2 --dilation 2 --padding 2 --padding-mode reflect --which T"
  "3|--input 2x8x6x5 --kernel 3x3x3 --out-channels 2 --stride 2 --padding 1 --output-padding 1 --transposed"
)
for c in "${cases[@]}"; do
  np=${c%%|*}; args=${c#*|}
  # shellcheck disable=SC2086
  mpirun -np "$np" --oversubscribe "$mpi" build $args --products 0
  echo
done
