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

Precision: the suite's contract is half-precision storage with float32
arithmetic. Fed straight in, ONNX Runtime 1.32's f16 Attention keeps the
scores and probabilities in float16 too: its output is off the exact
attention by 5.5e-4 relative at Nq=100, Nk=257, d=40 (the rounding of O
alone is 2.1e-4), past the f16 tolerance once a row averages more than a few
keys. So an f16 model takes float16 Q, K and V, widens them to float with
`Cast` nodes, runs the op in float and narrows O back to float16, and the
kernel label says so: the cost of f16 storage on this runtime at the
contract's accuracy.
bf16 runs the same way: the CPU provider has no bfloat16 Attention kernel (a
bfloat16 model fails with "Could not find an implementation for Expand(13)",
the op's function body), but it casts bfloat16 to float. NumPy has no
bfloat16, so the inputs and the output are bfloat16 bits in uint16 arrays,
handed to ONNX Runtime as `OrtValue`s of element type BFLOAT16.

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
    load_input,
    ok_answer,
    peak_bytes_since_reset,
    read_request,
    reset_peak,
    resident_bytes,
    save_float32,
    serve,
    timed_runs,
    to_storage,
    unsupported,
)

BACKENDS = ("attention",)
OPSET = 23
# The request's dtype → the ONNX element type of the model's Q, K, V and O.
ONNX_TYPES = {"f32": "FLOAT", "f16": "FLOAT16", "bf16": "BFLOAT16"}


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


def build_session(dtype: str, scale: float, causal: bool, with_mask: bool, threads: int):
    """A session running one opset-23 Attention node on Q, K, V (and a boolean
    mask), in float arithmetic: half-precision inputs are cast to float before
    the node and its output cast back."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    element = getattr(TensorProto, ONNX_TYPES[dtype])
    widen = dtype != DEFAULT_DTYPE
    inputs = [helper.make_tensor_value_info(n, element, None) for n in ("Q", "K", "V")]
    if with_mask:
        inputs.append(helper.make_tensor_value_info("M", TensorProto.BOOL, None))
    nodes = []
    operands = ["Q", "K", "V"]
    if widen:
        nodes += [helper.make_node("Cast", [n], [n + "32"], to=TensorProto.FLOAT) for n in operands]
        operands = [n + "32" for n in operands]
    result = "O32" if widen else "O"
    nodes.append(helper.make_node("Attention", operands + (["M"] if with_mask else []), [result],
                                  is_causal=int(causal), scale=scale))
    if widen:
        nodes.append(helper.make_node("Cast", [result], ["O"], to=element))
    graph = helper.make_graph(nodes, "attention", inputs, [helper.make_tensor_value_info("O", element, None)])
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
    session = build_session(dtype, float(shape["scale"]), causal, with_mask, threads)
    element = getattr(onnx.TensorProto, ONNX_TYPES[dtype])

    def tensor(array):
        """An ONNX Runtime view of a storage array (no copy)."""
        return ort.OrtValue.ortvalue_from_numpy_with_onnx_type(array, element)

    def zeros(*shape):
        return to_storage(np.zeros(shape, np.float32), dtype)

    tiny = session.io_binding()
    for name, heads_of in (("Q", heads), ("K", kv_heads), ("V", kv_heads)):
        tiny.bind_ortvalue_input(name, tensor(zeros(1, heads_of, 1, d)))
    if with_mask:
        tiny.bind_cpu_input("M", np.ones((1, 1), bool))
    tiny.bind_ortvalue_output("O", tensor(zeros(1, heads, 1, d)))
    session.run_with_iobinding(tiny)
    del tiny

    # 2. Inputs and the output buffer, between two resident-set readings
    # (each checked to hold values of the dtype only).
    rss_before_inputs = resident_bytes()
    arrays = {
        "Q": load_input(request["query"], (batch, heads, nq, d), dtype),
        "K": load_input(request["key"], (batch, kv_heads, nk, d), dtype),
        "V": load_input(request["value"], (batch, kv_heads, nk, d), dtype),
    }
    output = zeros(batch, heads, nq, d)  # zeros: its pages are resident
    rss_with_inputs = resident_bytes()

    # The dense mask (the peer's memory, as a user's), and the bindings.
    dense = mask.dense() if with_mask else None
    # The OrtValues view the arrays; both stay alive as long as the binding.
    values = {name: tensor(array) for name, array in arrays.items()} | {"O": tensor(output)}
    binding = session.io_binding()
    for name in ("Q", "K", "V"):
        binding.bind_ortvalue_input(name, values[name])
    if dense is not None:
        binding.bind_cpu_input("M", dense)
    binding.bind_ortvalue_output("O", values["O"])  # ONNX Runtime writes into `output`
    empty_rows = mask.empty_rows()

    def step():
        session.run_with_iobinding(binding)
        if empty_rows is not None:
            output[:, :, empty_rows, :] = 0  # rows with no key: zeros, not NaN
        return output

    how = "is_causal" if causal else "boolean mask" if dense is not None else "no mask"
    precision = "" if dtype == DEFAULT_DTYPE else f", {dtype} cast to f32 in the graph"
    kernel = f"Attention (opset {OPSET}, {how}{precision})"
    # 3. The first run (the verification output: every run writes the same
    # buffer), then 4.-5. the peak reset, warmup and the timed runs.
    step()
    gc.collect()
    peak_was_reset = reset_peak()
    times, _ = timed_runs(step, request["repetitions"])
    peak = peak_bytes_since_reset()

    save_float32(request["output"], output, dtype)
    return ok_answer(times, rss_before_inputs, rss_with_inputs, peak, peak_was_reset, library(ort, onnx), kernel,
                     "MLAS (ONNX Runtime's own)")


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:], "ort_peer", "ONNX Runtime attention as an attnbench peer (docs/PEERS.md).",
                   BACKENDS, probe, run))
