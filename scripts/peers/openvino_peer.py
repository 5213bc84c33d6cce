#!/usr/bin/env python3
"""OpenVINO's CPU plugin running ScaledDotProductAttention, as an attnbench peer.

attnbench runs this script as a child process; the contract is docs/PEERS.md
and its library-neutral half is peer_protocol.py:

    python openvino_peer.py --backend sdpa probe
    python openvino_peer.py --backend sdpa run REQUEST.json

Backend:

- `sdpa`: one opset-13 `ScaledDotProductAttention` node in a model built here
  with the case's static shapes, compiled by the CPU plugin. What the plugin
  makes of it is its own choice, reported in the row's kernel: on
  OpenVINO 2026.4 it decomposes the op and its Snippets compiler fuses the
  MatMul-Softmax-MatMul back into one `Subgraph` (blocked rows, no full
  score matrix), with the MatMuls and Softmax apart when Snippets declines.
  - Masks: `full` has none; `causal` with Nq = Nk is the op's `causal`
    attribute (the op aligns it to the upper left, which is the contract's
    bottom-right alignment only when the lengths are equal); every other
    pattern is the dense boolean [Nq, Nk] mask from `Mask` (True =
    attended), an input of the model, its Nq·Nk bytes counted as the peer's.
  - Grouped heads: the op broadcasts K and V only from one head (Hkv = 1).
    With 1 < Hkv < H the model broadcasts them to every query head in the
    graph, a copy of K and V per call, as an exported `repeat_kv` does. (A
    5-D layout [B, Hkv, G, N, d] also broadcasts, but the plugin then runs
    the MatMuls apart and holds the scores: measured slower and larger.)
  - Rows with no key: the plugin gives NaN on them; they are set to zeros.

Precision: the inputs are of the request's dtype; the model widens
half-precision Q, K and V to f32 (Convert nodes), narrows an f16 O back in
the graph, and `INFERENCE_PRECISION_HINT` is f32, so the arithmetic is the
contract's: storage in the dtype, accumulation in f32. A bf16 O leaves the
graph as f32 and is rounded here, to nearest even (`rounded`), as every
strategy stores it: on a CPU without AVX512_BF16 the plugin's f32 → bf16
Convert is not round-to-nearest (on a Zen 3 it matched it for 78% of
standard normal values and erred by up to 1.8·2⁻⁸ relative), which failed
the bf16 tolerance. Left to itself the plugin does otherwise, measured on a
Zen 4 with OpenVINO 2026.4:
  - its default hint on a CPU with AVX512_BF16 is bf16 (an f32 model loses
    about 1e-2 relative);
  - its `f16` hint runs bf16 on CPUs without AVX512-FP16;
  - f16 or bf16 inputs fed straight to the op run the first steps (Q times
    the scale, and all of it for bf16) in the half type whatever the hint:
    6.7e-4 relative for f16 at d = 40, 1e-2 for bf16.
The layers' `runtimePrecision`, read from the compiled model of every case,
is in the kernel column: a silent bf16 shows there, and in verification.
(With half storage the Convert steps show as `Subgraph f16` or `bf16`; the
attention's own `Subgraph` is f32.) bf16 input tensors are made from uint16
bits (the plugin hands a bf16 tensor's data back as a float16 *view* of the
bits, which `widened` would read as bits).

Memory: a tiny model is compiled and run first, so that the plugin's
libraries, thread pool and JIT set-up are process overhead; the case's model
is compiled after the inputs are loaded, so the buffers the plugin plans for
this shape count as the kernel's working memory, as they are in a serving
process.
"""

from __future__ import annotations

import gc
import sys

from peer_protocol import (
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

BACKENDS = ("sdpa",)
# The layer types whose runtime precision is the computation's.
COMPUTE_LAYERS = ("Subgraph", "MatMul", "Softmax", "ScaledDotProductAttention", "ScaledAttn")


def probe() -> dict:
    """Whether numpy and openvino import and see a CPU device; never raises."""
    try:
        import numpy  # noqa: F401
        import openvino

        devices = openvino.Core().available_devices
    except Exception as error:  # ImportError, or a runtime that cannot start
        return {"protocol": PROTOCOL, "available": False, "reason": str(error) or type(error).__name__}
    if "CPU" not in devices:
        return {"protocol": PROTOCOL, "available": False, "reason": f"no CPU device (devices: {devices})"}
    return {"protocol": PROTOCOL, "available": True, "library": library(openvino)}


def library(openvino) -> str:
    return f"openvino {openvino.__version__.split('-')[0]}"


# MARK: - The model


def build_model(shape: dict, element: str, causal: bool, with_mask: bool):
    """Q, K, V (and a boolean mask) → one ScaledDotProductAttention, static shapes."""
    import numpy as np
    import openvino as ov
    from openvino import opset13 as ops

    batch, heads, kv_heads = int(shape["batch"]), int(shape["heads"]), int(shape["kv_heads"])
    nq, nk, d = int(shape["query_length"]), int(shape["key_length"]), int(shape["head_dim"])
    et = getattr(ov.Type, element)
    q = ops.parameter([batch, heads, nq, d], et, name="Q")
    k = ops.parameter([batch, kv_heads, nk, d], et, name="K")
    v = ops.parameter([batch, kv_heads, nk, d], et, name="V")
    parameters = [q, k, v]

    def widen(x):
        # Half-precision storage, f32 arithmetic (the module's docstring says why).
        return x if element == "f32" else ops.convert(x, ov.Type.f32)

    def every_head(x):
        # [B, Hkv, Nk, d] → [B, Hkv, G, Nk, d] → [B, H, Nk, d]: query head h reads h / G.
        if kv_heads in (1, heads):
            return x
        x = ops.unsqueeze(x, ops.constant(np.array([2], np.int64)))
        x = ops.broadcast(x, ops.constant(np.array([batch, kv_heads, heads // kv_heads, nk, d], np.int64)))
        return ops.reshape(x, ops.constant(np.array([batch, heads, nk, d], np.int64)), False)

    if with_mask:
        mask = ops.parameter([nq, nk], ov.Type.boolean, name="M")
        parameters.append(mask)
    else:
        mask = ops.constant(np.zeros((), np.float32))
    scale = ops.constant(np.array(float(shape["scale"]), np.float32))
    node = ops.scaled_dot_product_attention(widen(q), every_head(widen(k)), every_head(widen(v)), mask, scale,
                                            causal=causal)
    # bf16: O leaves as f32 and is rounded to nearest even by the caller (the module's docstring says why).
    output = node if element in ("f32", "bf16") else ops.convert(node, et)
    return ov.Model([output], parameters, "attention")


def compile_model(core, model, threads: int):
    return core.compile_model(model, "CPU", {
        "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": max(threads, 1),
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
    })


def runtime_layers(compiled) -> str:
    """The compute layers the plugin runs and their runtime precisions, in
    order, e.g. `Subgraph f32` or `MatMul bf16, Softmax bf16, MatMul bf16`."""
    layers = []
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        kind = info["layerType"].astype(str) if "layerType" in info else op.get_type_name()
        if kind in COMPUTE_LAYERS:
            precision = info["runtimePrecision"].astype(str) if "runtimePrecision" in info else "?"
            layers.append(f"{kind} {precision}")
    return ", ".join(layers) or "no compute layer reported"


# MARK: - Run


def run(backend: str, request_path: str) -> dict:
    """Measures one case (docs/PEERS.md, steps 1 to 6), in the request's dtype."""
    import numpy as np
    import openvino as ov

    request, dtype = read_request(request_path)
    element = dtype  # the request's dtype names the OpenVINO element type of Q, K, V and O
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

    # 1. The plugin set up on a one-token model of the same heads and dtype.
    core = ov.Core()
    tiny_shape = dict(shape, batch=1, query_length=1, key_length=1)
    tiny = compile_model(core, build_model(tiny_shape, element, False, False), threads)
    tiny.create_infer_request().infer([to_storage(np.zeros((1, h, 1, d), np.float32), dtype)
                                       for h in (heads, kv_heads, kv_heads)])
    del tiny
    gc.collect()

    # 2. Inputs between two resident-set readings.
    rss_before_inputs = resident_bytes()
    inputs = [
        load_input(request["query"], (batch, heads, nq, d), dtype),
        load_input(request["key"], (batch, kv_heads, nk, d), dtype),
        load_input(request["value"], (batch, kv_heads, nk, d), dtype),
    ]
    rss_with_inputs = resident_bytes()
    if with_mask:
        inputs.append(mask.dense())  # the peer's memory, as a user's

    compiled = compile_model(core, build_model(shape, element, causal, with_mask), threads)
    infer = compiled.create_infer_request()
    for index, array in enumerate(inputs):
        infer.set_input_tensor(index, ov.Tensor(array, shared_memory=True) if dtype != "bf16" or index == 3
                               else ov.Tensor(array, list(array.shape), ov.Type.bf16))
    empty_rows = mask.empty_rows()

    def step():
        infer.infer()
        return infer.get_output_tensor(0).data

    how = "causal" if causal else "boolean mask" if with_mask else "no mask"
    grouped = ", K and V broadcast to every head" if 1 < kv_heads < heads else ""
    widened_in_graph = "" if dtype == "f32" else f", {dtype} widened to f32 in the graph"
    kernel = f"ScaledDotProductAttention (opset 13, {how}{grouped}{widened_in_graph}) → {runtime_layers(compiled)}"
    # 3. The first run is the verification output (copied: the output tensor
    # is rewritten by every run), then 4.-5. the peak reset, warmup and the
    # timed runs.
    first = step()
    output = rounded(first, dtype) if dtype == "bf16" else np.array(widened(first, dtype), copy=True)
    if empty_rows is not None:
        output[:, :, empty_rows, :] = 0  # rows with no key: zeros, not NaN
    gc.collect()
    peak_was_reset = reset_peak()
    times, _ = timed_runs(step, request["repetitions"])
    peak = peak_bytes_since_reset()

    save_float32(request["output"], output)
    return ok_answer(times, rss_before_inputs, rss_with_inputs, peak, peak_was_reset, library(ov), kernel,
                     "oneDNN and Snippets (OpenVINO's own)")


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:], "openvino_peer", "OpenVINO ScaledDotProductAttention as an attnbench peer"
                   " (docs/PEERS.md).", BACKENDS, probe, run))
