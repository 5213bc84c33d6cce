#!/usr/bin/env bash
# Installs the peers' Python (docs/PEERS.md) into the project's .venv, with
# pip: NumPy, the CPU build of PyTorch (torch-sdpa, torch-flex, torch-math)
# and ONNX Runtime with onnx (ort-attention). attnbench finds .venv/bin/python
# by itself (or takes ATTNBENCH_PEER_PYTHON). Nothing else needs it: the main
# job and the tests run without these libraries.
#
#   scripts/peers.sh            install (or keep) the pinned versions
#   ORT_SPEC='onnxruntime==1.32.0 onnx==1.23.2' scripts/peers.sh
#                               another pin of ONNX Runtime and onnx
#   TORCH_SPEC='torch==2.13.0+cpu' scripts/peers.sh
#                               another pin; pip must be able to find a CPU
#                               build (a find-links folder, or PyTorch's CPU
#                               wheel index given through PIP_EXTRA_INDEX_URL):
#                               a plain `pip install torch` takes the CUDA
#                               build, several GB.
#
# Prints what it did: the interpreter, the versions, the size of .venv and
# each peer's probe.
set -euo pipefail
cd "$(dirname "$0")/.."

torch_spec=${TORCH_SPEC:-torch==2.13.0+cpu}
ort_spec=${ORT_SPEC:-onnxruntime==1.32.0 onnx==1.23.2}
python=${PYTHON:-python3}
venv=.venv

if [ ! -x "$venv/bin/python" ]; then
    echo "peers: creating $venv with $($python --version 2>&1) ($(command -v "$python"))"
    "$python" -m venv "$venv"
else
    echo "peers: using the existing $venv ($("$venv/bin/python" --version 2>&1))"
fi

echo "peers: pip install '$torch_spec' numpy into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$torch_spec" numpy
echo "peers: pip install $ort_spec into $venv"
# shellcheck disable=SC2086 # the spec is a list of requirements
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check $ort_spec

"$venv/bin/python" - <<'EOF'
import numpy, torch
print(f"peers: installed torch {torch.__version__} (CUDA: {torch.version.cuda or 'none'}), numpy {numpy.__version__}")
print(f"peers: torch threads {torch.get_num_threads()}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
EOF
echo "peers: $venv takes $(du -sh "$venv" | cut -f1) on disk"
for backend in sdpa flex math; do
    echo "peers: torch-$backend probe: $("$venv/bin/python" scripts/peers/torch_peer.py --backend "$backend" probe)"
done
echo "peers: ort-attention probe: $("$venv/bin/python" scripts/peers/ort_peer.py --backend attention probe)"
echo "peers: attnbench uses $(pwd)/$venv/bin/python; 'attnbench list' shows the peers"
