#!/usr/bin/env bash
# Installs what FourM needs on Debian/Ubuntu beyond a Swift toolchain: OpenBLAS (cblas.h and
# libopenblas), libpng, TurboJPEG (libjpeg-turbo), oneDNN (libdnnl, the bf16 path) and zlib (SMPL .npz files). Safe to run again. Uses sudo when not root.
set -euo pipefail
packages=(libopenblas-dev libpng-dev libturbojpeg0-dev libdnnl-dev zlib1g-dev)
if dpkg -s "${packages[@]}" >/dev/null 2>&1; then exit 0; fi
sudo=""
if [ "$(id -u)" != "0" ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${packages[@]}" >/dev/null
echo "bootstrap: installed ${packages[*]}"
