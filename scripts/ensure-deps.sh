#!/usr/bin/env bash
# Installs what attnbench needs on Debian 12 when it is missing:
# OpenBLAS's CBLAS (libopenblas-dev) and pkg-config. The Swift toolchain
# itself must already be on PATH.
set -euo pipefail

missing=()
pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ((${#missing[@]})); then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    echo "ensure-deps: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null 2>&1 || { echo "ensure-deps: swift is not on PATH (install the Swift 6.1+ toolchain)" >&2; exit 1; }
