#!/usr/bin/env bash
# Installs every Debian package convmtx needs to build, test and run (Debian 12, as root).
# Packages already present are skipped; nothing else is downloaded.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  libeigen3-dev libsuitesparse-dev libboost-test-dev libpng-dev libzip-dev zlib1g-dev nlohmann-json3-dev libcli11-dev
  libcairo2-dev fonts-dejavu-core
  libbenchmark-dev libspectra-dev liblapack-dev petsc-dev openmpi-bin
  pybind11-dev python3-dev python3-numpy python3-scipy python3-pytest
  python3-torch python3-openpyxl python3-skimage
  python3-setuptools python3-wheel python3-build python3-venv python3-pip
  python3-nbclient python3-nbformat python3-ipykernel python3-matplotlib
  chromium chromium-driver python3-selenium libreoffice-calc-nogui nodejs
  doxygen
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
