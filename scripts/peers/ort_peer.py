#!/usr/bin/env python3
"""ONNX Runtime's attention as an attnbench peer.

attnbench runs this script as a child process, as it runs torch_peer.py; the
contract is docs/PEERS.md and its library-neutral half is peer_protocol.py:

    python ort_peer.py --backend attention probe
    python ort_peer.py --backend attention run REQUEST.json

Backend:

- `attention`: the standard ONNX `Attention` operator at opset 23, one node
  in a model built here, run by ONNX Runtime's CPU execution provider. It
  takes Q [B, H, Nq, d] and K, V [B, Hkv, Nk, d] (grouped heads natively),
  the request's `scale`, and either `is_causal` or a boolean mask:
  - `full`: no mask;
  - `causal` with Nq = Nk: `is_causal = 1` (the op aligns causal masks to
    the upper left, which is the contract's bottom-right alignment only
    when the lengths are equal);
  - anything else (causal with Nq != Nk, window, blocks): the dense boolean
    [Nq, Nk] mask from `Mask` (True = attended), an input of the model;
    its Nq·Nk bytes are the peer's memory, as a user would pay them.
  Opset 23, not 24 or 25: at opset 25 ONNX Runtime 1.32 expands the op into
  about seventy small nodes (about 4x slower, measured in a probe).

Precision: f32 and f16 run in their own dtype (the model's tensors are
float or float16). In f16, ONNX Runtime 1.32 keeps the scores and the
probabilities in float16 too: its output matches a float64 reference of
that recipe to the rounding of O (2.1e-4 relative), and the exact attention
to only 5.5e-4, which is past the suite's f16 tolerance once a row averages
more than a few keys. The kernel label says so, and verification reports
such cases as `wrong`: that is what the runtime computes.
bf16 is `unsupported`: the CPU provider has no bfloat16 Attention kernel.
The answer quotes ONNX Runtime's own refusal of a bfloat16 model (1.32: "Could
not find an implementation for Expand(13)", the op's function body).

Memory: the session is made with `enable_cpu_mem_arena = False`, so that
memory freed after a run goes back to the allocator and the peak reset sees
a run's own peak, and the output is bound to one preallocated array
(`IOBinding`), as a serving loop would.
"""

from __future__ import annotations

import gc
import sys

from peer_protocol import (
    DEFAULT_DTYPE,
    PROTOCOL,
    Mask,
    Unsupported,
    ok_answer,
    peak_bytes_since_reset,
    read_request,
    reset_peak,
    resident_bytes,
    save_float32,
    serve,
    timed_runs,
    unsupported,
)

BACKENDS = ("attention",)
OPSET = 23
# The request's dtype → the NumPy dtype of the model's tensors (None: not offered).
NUMPY_DTYPES = {"f32": "float32", "f16": "float16", "bf16": None}
ONNX_TYPES = {"float32": "FLOAT", "float16": "FLOAT16", "bfloat16": "BFLOAT16"}


def probe() -> dict:
    """Whether numpy, onnx and onnxruntime import; never raises."""
    try:
        import numpy  # noqa: F401
        import onnx
        import onnxruntime
    except Exception as error:  # ImportError, or OSError from a broken native library
        return {"protocol": PROTOCOL, "available": False, "reason": str(error) or type(error).__name__}
    return {"protocol": PROTOCOL, "available": True, "library": library(onnxruntime, onnx)}


def library(onnxruntime, onnx) -> str:
    return f"onnxruntime {onnxruntime.__version__} (onnx {onnx.__version__})"


def load_input(path: str, shape: tuple, dtype: str):
    """One float32 [B, heads, N, d] input as an array of `dtype`. A half-precision
    input is read through a memory map and cast from it, so no float32 copy
    stays resident."""
    import numpy as np

    mapped = np.load(path, mmap_mode="r" if dtype != "float32" else None)
    if mapped.dtype != np.float32 or mapped.shape != shape:
        raise ValueError(f"{path}: {mapped.dtype} {mapped.shape}, expected float32 {shape}")
    return np.ascontiguousarray(mapped, dtype=dtype)


def check_rounded(request: dict, arrays: dict) -> None:
    """Raises ValueError when an input file holds a value the dtype does not
    represent exactly (the harness rounds Q, K and V to the dtype)."""
    import numpy as np

    for name, array in arrays.items():
        if array.dtype == np.float32:
            continue
        mapped = np.load(request[name], mmap_mode="r")
        if not np.array_equal(mapped, array.astype(np.float32)):
            raise ValueError(
                f"{request[name]}: the {name} holds values that {array.dtype} does not represent exactly;"
                " the harness rounds Q, K and V to the dtype before writing them"
            )


def build_session(dtype: str, scale: float, causal: bool, with_mask: bool, threads: int):
    """A session running one opset-23 Attention node on Q, K, V (and a boolean mask)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    element = getattr(TensorProto, ONNX_TYPES[dtype])
    names = ["Q", "K", "V"] + (["M"] if with_mask else [])
    inputs = [helper.make_tensor_value_info(n, element, None) for n in ("Q", "K", "V")]
    if with_mask:
        inputs.append(helper.make_tensor_value_info("M", TensorProto.BOOL, None))
    node = helper.make_node("Attention", names, ["O"], is_causal=int(causal), scale=scale)
    graph = helper.make_graph([node], "attention", inputs, [helper.make_tensor_value_info("O", element, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10  # the IR version opset 23 needs; newer onnx packages default higher than ORT reads
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(threads, 1)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def run(backend: str, request_path: str) -> dict:
    """Measures one case (docs/PEERS.md, steps 1 to 6), in the request's dtype."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    request, dtype = read_request(request_path)
    numpy_dtype = NUMPY_DTYPES[dtype]
    if numpy_dtype is None:
        return unsupported(f"ort-{backend} cannot run {dtype} on onnxruntime {ort.__version__} (CPU): {refusal()}")
    shape = request["shape"]
    batch, heads, kv_heads = int(shape["batch"]), int(shape["heads"]), int(shape["kv_heads"])
    nq, nk, d = int(shape["query_length"]), int(shape["key_length"]), int(shape["head_dim"])
    threads = int(request["threads"])
    try:
        mask = Mask(request["mask"], nq, nk)
    except Unsupported as why:
        return unsupported(str(why))
    causal = mask.kind == "causal" and nq == nk
    with_mask = not (mask.kind == "full" or causal)

    # 1. The session, and one run on a one-token problem of the same heads:
    # the library, its kernels and thread pool are set up before the first
    # resident-set reading, so that none of that counts as the case's memory.
    session = build_session(numpy_dtype, float(shape["scale"]), causal, with_mask, threads)
    tiny = {"Q": np.zeros((1, heads, 1, d), numpy_dtype), "K": np.zeros((1, kv_heads, 1, d), numpy_dtype),
            "V": np.zeros((1, kv_heads, 1, d), numpy_dtype)}
    if with_mask:
        tiny["M"] = np.ones((1, 1), bool)
    session.run(None, tiny)
    del tiny

    # 2. Inputs and the output buffer, between two resident-set readings.
    rss_before_inputs = resident_bytes()
    arrays = {
        "query": load_input(request["query"], (batch, heads, nq, d), numpy_dtype),
        "key": load_input(request["key"], (batch, kv_heads, nk, d), numpy_dtype),
        "value": load_input(request["value"], (batch, kv_heads, nk, d), numpy_dtype),
    }
    output = np.zeros((batch, heads, nq, d), dtype=numpy_dtype)  # zeros: its pages are resident
    rss_with_inputs = resident_bytes()

    # The dense mask (the peer's memory, as a user's), and the bindings.
    dense = mask.dense() if with_mask else None
    binding = session.io_binding()
    for name, array in (("Q", arrays["query"]), ("K", arrays["key"]), ("V", arrays["value"]), ("M", dense)):
        if array is not None:
            binding.bind_cpu_input(name, array)
    binding.bind_output("O", "cpu", 0, output.dtype, output.shape, output.ctypes.data)
    empty_rows = mask.empty_rows()

    def step():
        session.run_with_iobinding(binding)
        if empty_rows is not None:
            output[:, :, empty_rows, :] = 0  # rows with no key: zeros, not NaN
        return output

    how = "is_causal" if causal else "boolean mask" if dense is not None else "no mask"
    precision = "" if dtype == DEFAULT_DTYPE else f", {dtype}: scores and probabilities in {dtype}"
    kernel = f"Attention (opset {OPSET}, {how}{precision})"
    # 3. The first run (the verification output: every run writes the same
    # buffer), then 4.-5. the peak reset, warmup and the timed runs.
    step()
    gc.collect()
    peak_was_reset = reset_peak()
    times, _ = timed_runs(step, request["repetitions"])
    peak = peak_bytes_since_reset()

    check_rounded(request, arrays)
    save_float32(request["output"], output)
    return ok_answer(times, rss_before_inputs, rss_with_inputs, peak, peak_was_reset, library(ort, onnx), kernel,
                     "MLAS (ONNX Runtime's own)")


def refusal() -> str:
    """ONNX Runtime's first line of error for a bfloat16 Attention model."""
    try:
        build_session("bfloat16", 1.0, False, False, 1)
    except Exception as error:
        return (str(error).strip().splitlines() or [type(error).__name__])[0].strip()
    return "the session builds, but NumPy has no bfloat16 to feed it"


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:], "ort_peer", "ONNX Runtime attention as an attnbench peer (docs/PEERS.md).",
                   BACKENDS, probe, run))
