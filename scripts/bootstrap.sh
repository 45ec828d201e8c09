#!/usr/bin/env bash
# Installs the Debian packages AutoTimm needs, and only those that are missing.
# On a ready machine this is one dpkg-query call per package: no network, well under a second.
#   scripts/bootstrap.sh          what `make` needs
#   scripts/bootstrap.sh --fuzz   also clang and libFuzzer, for -DAUTOTIMM_FUZZ=ON
#   scripts/bootstrap.sh --demo   also Debian's Fashion-MNIST, which `make demo` trains on
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libgloo-dev
  libboost1.81-dev libboost-json1.81-dev
  libcurl4-openssl-dev libssl-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libopencv-dev libjpeg62-turbo-dev
  libopenblas0-pthread
  zlib1g-dev
)

if [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang-14 libclang-rt-14-dev)
elif [[ "${1:-}" == "--demo" ]]; then
  packages+=(dataset-fashion-mnist)
elif [[ $# -gt 0 ]]; then
  echo "usage: scripts/bootstrap.sh [--fuzz | --demo]" >&2
  exit 2
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian's default BLAS is the slow reference one; prefer OpenBLAS when both are present.
for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
  target=$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-pthread | head -1 || true)
  [[ -n "$target" ]] && "${sudo_cmd[@]}" update-alternatives --set "$alt" "$target" >/dev/null || true
done
