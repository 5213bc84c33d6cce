#!/usr/bin/env bash
# Installs the peers' Python (docs/PEERS.md) into the project's .venv, with
# pip: NumPy, the CPU build of PyTorch (torch-sdpa, torch-flex, torch-math)
# ONNX Runtime with onnx (ort-attention, ort-mha, ort-gqa), OpenVINO (openvino-sdpa)
# and ggml (ggml-flash, through ggml-python). attnbench finds .venv/bin/python
# by itself (or takes ATTNBENCH_PEER_PYTHON). Nothing else needs it: the main
# job and the tests run without these libraries.
#
#   scripts/peers.sh [torch|onnxruntime|openvino|ggml|all]
#                               install (or keep) the pinned versions of one
#                               library's peers, or of all (the default)
#   ORT_SPEC='onnxruntime==1.32.0 onnx==1.23.2' scripts/peers.sh
#                               another pin of ONNX Runtime and onnx
#   OV_SPEC='openvino==2026.4.1' scripts/peers.sh openvino
#                               another pin of OpenVINO
#   GGML_SPEC='ggml-python==0.0.45' scripts/peers.sh ggml
#                               another pin of ggml-python, which pip builds
#                               from source (ggml for this CPU; cmake comes
#                               from PyPI; about a minute on 2 cores)
#   TORCH_SPEC='torch==2.13.0+cpu' scripts/peers.sh
#                               another pin; pip must be able to find a CPU
#                               build (a find-links folder, or PyTorch's CPU
#                               wheel index given through PIP_EXTRA_INDEX_URL):
#                               a plain `pip install torch` takes the CUDA
#                               build, several GB.
#
# Prints what it did: the interpreter, the versions, each peer's probe, how
# long it took and the size of .venv; fails with pip's reason when a package
# cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."

torch_spec=${TORCH_SPEC:-torch==2.13.0+cpu}
ort_spec=${ORT_SPEC:-onnxruntime==1.32.0 onnx==1.23.2}
ov_spec=${OV_SPEC:-openvino==2026.4.1}
ggml_spec=${GGML_SPEC:-ggml-python==0.0.45}
python=${PYTHON:-python3}
venv=.venv
which=${1:-all}
case "$which" in
    torch | onnxruntime | openvino | ggml | all) ;;
    *) echo "peers.sh: unknown library '$which' (allowed: torch, onnxruntime, openvino, ggml, all)" >&2; exit 2 ;;
esac
start=$SECONDS

if [ ! -x "$venv/bin/python" ]; then
    echo "peers: creating $venv with $($python --version 2>&1) ($(command -v "$python"))"
    "$python" -m venv "$venv"
else
    echo "peers: using the existing $venv ($("$venv/bin/python" --version 2>&1))"
fi
pip_install() {
    echo "peers: pip install $* into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" \
        || { echo "peers.sh: pip could not install $* (output above)" >&2; exit 1; }
}
probe() { echo "peers: $1 probe: $("$venv/bin/python" "scripts/peers/$2" --backend "$3" probe)"; }

if [[ $which == torch || $which == all ]]; then
    pip_install "$torch_spec" numpy
    "$venv/bin/python" - <<'EOF'
import numpy, torch
print(f"peers: installed torch {torch.__version__} (CUDA: {torch.version.cuda or 'none'}), numpy {numpy.__version__}")
print(f"peers: torch threads {torch.get_num_threads()}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
EOF
    for backend in sdpa flex math; do probe "torch-$backend" torch_peer.py "$backend"; done
fi
if [[ $which == onnxruntime || $which == all ]]; then
    # shellcheck disable=SC2086 # the spec is a list of requirements
    pip_install $ort_spec numpy
    for backend in attention mha gqa; do probe "ort-$backend" ort_peer.py "$backend"; done
fi
if [[ $which == openvino || $which == all ]]; then
    # shellcheck disable=SC2086 # the spec is a list of requirements
    pip_install $ov_spec numpy
    probe openvino-sdpa openvino_peer.py sdpa
fi
if [[ $which == ggml || $which == all ]]; then
    echo "peers: ggml-python builds ggml from source for this CPU (GGML_NATIVE); this takes about a minute"
    # shellcheck disable=SC2086 # the spec is a list of requirements
    CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} pip_install $ggml_spec numpy
    probe ggml-flash ggml_peer.py flash
fi
echo "peers: $which installed in $((SECONDS - start)) s; $venv takes $(du -sh "$venv" | cut -f1) on disk"
echo "peers: attnbench uses $(pwd)/$venv/bin/python; 'attnbench list' shows the peers"
