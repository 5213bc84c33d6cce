#!/usr/bin/env python3
"""ggml's `flash_attn_ext`, the attention llama.cpp runs on a CPU, as an attnbench peer.

attnbench runs this script as a child process; the contract is docs/PEERS.md
and its library-neutral half is peer_protocol.py:

    python ggml_peer.py --backend flash probe
    python ggml_peer.py --backend flash run REQUEST.json

Backend:

- `flash`: one `ggml_flash_attn_ext` node in a ggml graph, computed by
  ggml's CPU backend through the `ggml` Python package (ggml-python, which
  builds ggml from source for this CPU). The graph is built and planned
  once, with a persistent thread pool of the case's `--threads` and one work
  buffer of the plan's size, and every timed run is one
  `ggml_graph_compute`: what llama.cpp does per layer and token
  (`ggml_graph_compute_with_ctx` would allocate a new work buffer per call).
  The tensors are views of NumPy arrays (a context without allocation,
  whose tensors' `data` point at them), so nothing is copied:
  - Q as f32 [B, H, Nq, d] (ggml's `ne` [d, Nq, H, B]), widened exactly from
    a half-precision request, as llama.cpp's Q comes out of an f32 matmul;
  - K and V in the request's dtype (F32, F16 or BF16), [B, Hkv, Nk, d]:
    grouped heads natively (query head h reads K/V head h / (H / Hkv));
  - the mask: the op has no causal flag, so every pattern but `full` is an
    additive F16 mask, 0 where attended and -inf elsewhere, of Nk columns
    and Nq rows padded to GGML_KQ_MASK_PAD, as llama.cpp builds it; its
    bytes are the peer's memory (2 GiB at N = 32768);
  - the output, f32 [B, Nq, H, d] (ggml's result is permuted), read back as
    [B, H, Nq, d] after the timings; for f16 and bf16 it is rounded to the
    dtype then, outside the timed call.
  - Rows with no key give NaN or garbage; they are set to zeros.

Precision: ggml's CPU kernel converts Q to the type K's dot product takes
(exact here: the harness already rounded Q to the dtype), accumulates the
scores in f32 and, for an F16 V, accumulates the output in F16 for short
query blocks (about 1-2e-3 relative, past the f16 tolerance, measured with
Nq < 64 in a probe) but in f32 for longer ones: such rows verify `wrong`,
which is what llama.cpp computes. `ggml_flash_attn_ext_set_prec(F32)` is
set, as llama.cpp does.
"""

from __future__ import annotations

import ctypes
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
    rounded,
    save_float32,
    serve,
    timed_runs,
    to_storage,
    unsupported,
    widened,
)

BACKENDS = ("flash",)
# The request's dtype → the ggml type name of K and V.
KV_TYPES = {"f32": "GGML_TYPE_F32", "f16": "GGML_TYPE_F16", "bf16": "GGML_TYPE_BF16"}


def probe() -> dict:
    """Whether numpy and ggml-python import; never raises."""
    try:
        import numpy  # noqa: F401
        import ggml
    except Exception as error:  # ImportError, or OSError from a library that does not load
        return {"protocol": PROTOCOL, "available": False, "reason": str(error) or type(error).__name__}
    return {"protocol": PROTOCOL, "available": True, "library": library(ggml)}


def library(ggml) -> str:
    version = ggml.ggml_version().decode() if hasattr(ggml, "ggml_version") else "?"
    return f"ggml {version} (ggml-python {getattr(ggml, '__version__', '?')})"


def cpu_features(ggml) -> str:
    """The vector extensions ggml's CPU backend was built with and uses."""
    names = ("avx512_bf16", "avx512", "avx2", "f16c", "fma")
    present = [name for name in names if getattr(ggml, f"ggml_cpu_has_{name}", lambda: 0)()]
    return "+".join(present) or "no x86 vector extensions"


class Graph:
    """One `flash_attn_ext` node over tensors that view NumPy arrays, planned
    once with a persistent thread pool and its own work buffer.

    - Complexity: building is O(1) beyond the arrays; `compute()` is the op.
    """

    def __init__(self, q, k, v, mask, output, scale: float, dtype: str, threads: int) -> None:
        import ggml
        import numpy as np

        self.ggml = ggml
        overhead = ggml.ggml_tensor_overhead() * 8 + ggml.ggml_graph_overhead()
        self.context = ggml.ggml_init(ggml.ggml_init_params(mem_size=overhead, mem_buffer=None, no_alloc=True))
        if not self.context:
            raise RuntimeError("ggml_init failed")
        self.arrays = [q, k, v, mask, output]  # the tensors' memory: kept alive with the graph

        def view(array, kind):
            # NumPy [a, b, c, e] is ggml's ne [e, c, b, a] (ggml lists the fastest axis first).
            ne = list(reversed(array.shape)) + [1] * (4 - array.ndim)
            tensor = ggml.ggml_new_tensor_4d(self.context, kind, *ne)
            tensor.contents.data = array.ctypes.data
            return tensor

        kv_type = getattr(ggml, KV_TYPES[dtype])
        tq = view(q, ggml.GGML_TYPE_F32)
        tk, tv = view(k, kv_type), view(v, kv_type)
        tmask = view(mask, ggml.GGML_TYPE_F16) if mask is not None else None
        result = ggml.ggml_flash_attn_ext(self.context, tq, tk, tv, tmask, scale, 0.0, 0.0)
        ggml.ggml_flash_attn_ext_set_prec(result, ggml.GGML_PREC_F32)
        shape = tuple(result.contents.ne[i] for i in range(4))
        expected = tuple(reversed(output.shape))
        if shape != expected:
            raise RuntimeError(f"flash_attn_ext's result has ne {shape}, expected {expected}")
        result.contents.data = output.ctypes.data
        self.graph = ggml.ggml_new_graph(self.context)
        ggml.ggml_build_forward_expand(self.graph, result)

        params = ggml.ggml_threadpool_params_default(threads)
        self.pool = ggml.ggml_threadpool_new(ctypes.byref(params))
        self.plan = ggml.ggml_graph_plan(self.graph, threads, self.pool)
        self.work = np.zeros(max(int(self.plan.work_size), 1), np.uint8)
        self.plan.work_data = ctypes.cast(self.work.ctypes.data, ctypes.POINTER(ctypes.c_uint8))

    def compute(self) -> None:
        status = self.ggml.ggml_graph_compute(self.graph, ctypes.byref(self.plan))
        if status != 0:
            raise RuntimeError(f"ggml_graph_compute returned status {status}")

    def close(self) -> None:
        self.ggml.ggml_threadpool_free(self.pool)
        self.ggml.ggml_free(self.context)


def additive_mask(mask: Mask, padded_rows: int):
    """The F16 [padded rows, Nk] additive mask: 0 where attended, -inf elsewhere;
    the padding rows are zeros (never read as output)."""
    import numpy as np

    dense = np.zeros((padded_rows, mask.key_length), np.float16)
    dense[: mask.query_length] = np.where(mask.dense(), np.float16(0), np.float16(-np.inf))
    return dense


def run(backend: str, request_path: str) -> dict:
    """Measures one case (docs/PEERS.md, steps 1 to 6), in the request's dtype."""
    import ggml
    import numpy as np

    request, dtype = read_request(request_path)
    shape = request["shape"]
    batch, heads, kv_heads = int(shape["batch"]), int(shape["heads"]), int(shape["kv_heads"])
    nq, nk, d = int(shape["query_length"]), int(shape["key_length"]), int(shape["head_dim"])
    threads = max(int(request["threads"]), 1)
    try:
        mask = Mask(request["mask"], nq, nk)
    except Unsupported as why:
        return unsupported(str(why))
    pad = int(ggml.GGML_KQ_MASK_PAD)

    def padded(rows: int) -> int:
        return -(-rows // pad) * pad

    # 1. ggml's CPU backend and a thread pool set up on a one-token problem of
    # the same heads, before the first resident-set reading.
    tiny = Graph(np.zeros((1, heads, 1, d), np.float32),
                 *(to_storage(np.zeros((1, kv_heads, 1, d), np.float32), dtype) for _ in range(2)),
                 None, np.zeros((1, 1, heads, d), np.float32), float(shape["scale"]), dtype, threads)
    tiny.compute()
    tiny.close()
    del tiny
    gc.collect()

    # 2. Inputs and the output between two resident-set readings.
    rss_before_inputs = resident_bytes()
    q = widened(load_input(request["query"], (batch, heads, nq, d), dtype), dtype)
    k = load_input(request["key"], (batch, kv_heads, nk, d), dtype)
    v = load_input(request["value"], (batch, kv_heads, nk, d), dtype)
    output = np.zeros((batch, nq, heads, d), np.float32)  # zeros: its pages are resident
    rss_with_inputs = resident_bytes()

    dense = None if mask.kind == "full" else additive_mask(mask, padded(nq))  # the peer's memory
    graph = Graph(q, k, v, dense, output, float(shape["scale"]), dtype, threads)
    empty_rows = mask.empty_rows()

    how = "no mask" if dense is None else f"additive F16 mask {padded(nq)}x{nk}"
    kv = KV_TYPES[dtype].removeprefix("GGML_TYPE_")
    kernel = f"flash_attn_ext ({how}, K/V {kv}, prec F32; CPU {cpu_features(ggml)}, {threads} threads)"
    # 3. The first run is the verification output (every run writes the same
    # buffer), then 4.-5. the peak reset, warmup and the timed runs.
    graph.compute()
    gc.collect()
    peak_was_reset = reset_peak()
    times, _ = timed_runs(graph.compute, request["repetitions"])
    peak = peak_bytes_since_reset()
    graph.close()

    result = np.ascontiguousarray(output.transpose(0, 2, 1, 3))  # [B, Nq, H, d] → [B, H, Nq, d]
    if empty_rows is not None:
        result[:, :, empty_rows, :] = 0  # rows with no key: zeros, not NaN
    if dtype != DEFAULT_DTYPE:
        result = rounded(result, dtype)  # O stored in the dtype
    save_float32(request["output"], result)
    return ok_answer(times, rss_before_inputs, rss_with_inputs, peak, peak_was_reset, library(ggml), kernel,
                     "ggml's own CPU kernels")


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:], "ggml_peer", "ggml flash_attn_ext as an attnbench peer (docs/PEERS.md).",
                   BACKENDS, probe, run))
