#!/usr/bin/env python3
"""ONNX Runtime's attention as an attnbench peer.

attnbench runs this script as a child process, as it runs torch_peer.py; the
contract is docs/PEERS.md and its library-neutral half is peer_protocol.py:

    python ort_peer.py --backend attention|mha|gqa probe
    python ort_peer.py --backend attention|mha|gqa run REQUEST.json

Backends:

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
- `mha`: the `com.microsoft` `MultiHeadAttention` operator, what ONNX
  Runtime's transformer optimizer fuses BERT- and GPT-style attention into.
  (ONNX Runtime has a CPU flash kernel for it, but at N = 1024 ... 16384,
  H = 8, d = 64 it held every head's scores, 8.1 GiB at 16384: the flash
  path did not run.) Q goes in as
  [B, Nq, H·d], K and V as the suite lays them out (the op's [B, H, N, d]
  form); `unidirectional` for causal with Nq = Nk (it aligns to the upper
  left), an additive float `attention_bias` [1, 1, Nq, Nk] (0 kept, -inf
  masked) for every other mask. It has no grouped heads: Hkv < H is
  `unsupported` (`gqa` and `attention` take them). f32 only: f16 and bf16
  are cast around it.
- `gqa`: the `com.microsoft` `GroupQueryAttention` operator, the one ONNX
  Runtime's LLM exports (onnxruntime-genai) run, with its KV cache. It is
  always causal at the bottom-right: query row i of the new tokens sees
  the cache's past keys and the new keys up to its own. The case maps onto
  it as a serving loop would: the cache is K and V as they are
  ([B, Hkv, Nk, d], `past_key`/`past_value`, bound to `present_key`/
  `present_value` too, so ONNX Runtime appends the last Nq keys in place:
  same values, no copy of the cache), the new tokens are Q and the last Nq
  keys in the op's [B, N, heads·d] layout, `seqlens_k` Nk - 1 and
  `total_sequence_length` Nk. Patterns:
  - `causal`, and `full` with one query row (a decode step), natively;
  - a left-only window (`window:W:0`, W > 0) through `local_window_size`
    = W + 1 (onnxruntime 1.32 counts the query's own key);
  - any other pattern that keeps only causal pairs (a causal BigBird, say)
    through an additive float `attention_bias` [1, 1, Nq, Nk] (0 kept,
    -inf masked);
  - anything else (a query that sees a later key) is `unsupported`, and so
    are Nq > Nk, and 1 < Nq < Nk with a batch above 1 (the op's own limit).
  Its CPU kernel keeps float32 scores for a few heads' rows at a time, not
  the whole matrix (209 MiB at N = 8192, H = 8, measured; 99 MiB at 16384).

Precision: the suite's contract is half-precision storage with float32
arithmetic. Fed straight in, ONNX Runtime 1.32's f16 Attention keeps the
scores and probabilities in float16 too: its output is off the exact
attention by 5.5e-4 relative at Nq=100, Nk=257, d=40 (the rounding of O
alone is 2.1e-4), past the f16 tolerance once a row averages more than a few
keys. So an f16 `attention` model takes float16 Q, K and V, widens them to
float with `Cast` nodes, runs the op in float and narrows O back to float16,
and the kernel label says so: the cost of f16 storage on this runtime at the
contract's accuracy. `GroupQueryAttention`'s f16 kernel converts Q and K to
float before its GEMMs and keeps its scores in float, so `gqa` runs f16
natively (2.1e-4, the rounding of O).
bf16 is cast the same way for both: the CPU provider has no bfloat16 kernel
of either op (a bfloat16 `Attention` model fails with "Could not find an
implementation for Expand(13)", the op's function body), but it casts
bfloat16 to float. NumPy has no
bfloat16, so the inputs and the output are bfloat16 bits in uint16 arrays,
handed to ONNX Runtime as `OrtValue`s of element type BFLOAT16.

Memory: the session is made with `enable_cpu_mem_arena = False`, so that
memory freed after a run goes back to the allocator and the peak reset sees
a run's own peak, and the output is bound to one preallocated array
(`IOBinding`), as a serving loop would.
"""

from __future__ import annotations

import dataclasses
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

BACKENDS = ("attention", "mha", "gqa")
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


# MARK: - The operators


@dataclasses.dataclass(frozen=True)
class Problem:
    """The case's sizes."""

    batch: int
    heads: int
    kv_heads: int
    nq: int
    nk: int
    d: int
    scale: float

    @classmethod
    def of(cls, shape: dict) -> "Problem":
        """The request's shape."""
        return cls(int(shape["batch"]), int(shape["heads"]), int(shape["kv_heads"]), int(shape["query_length"]),
                   int(shape["key_length"]), int(shape["head_dim"]), float(shape["scale"]))

    def tiny(self) -> "Problem":
        """One query and one key of the same heads: the set-up run's problem."""
        return dataclasses.replace(self, batch=1, nq=1, nk=1)


class AttentionOp:
    """The ONNX `Attention` node (opset 23) on Q, K, V as the suite lays them
    out, [B, heads, N, d], with `is_causal` or a boolean mask."""

    domain = ""
    opset = OPSET
    # f16 and bf16 are cast to float around the node (the module's docstring says why).
    native_dtypes = ("f32",)

    def __init__(self, problem: Problem, mask: Mask) -> None:
        self.p = problem
        self.causal = mask.kind == "causal" and problem.nq == problem.nk
        self.dense = None if mask.kind == "full" or self.causal else mask
        self.how = "is_causal" if self.causal else "boolean mask" if self.dense is not None else "no mask"

    def signature(self, helper, TensorProto, element):
        """(inputs, outputs) of the model: (name, element, shape) triples; the
        first three inputs are the operands the op reads as Q, K and V."""
        p = self.p
        inputs = [("Q", element, [p.batch, p.heads, p.nq, p.d]), ("K", element, [p.batch, p.kv_heads, p.nk, p.d]),
                  ("V", element, [p.batch, p.kv_heads, p.nk, p.d])]
        if self.dense is not None:
            inputs.append(("M", TensorProto.BOOL, [p.nq, p.nk]))
        return inputs, [("O", element, [p.batch, p.heads, p.nq, p.d])]

    def node(self, helper, operands, results):
        return helper.make_node("Attention", operands, results, is_causal=int(self.causal), scale=self.p.scale)

    def feeds(self, q, k, v, storage):
        """The model's inputs and preallocated outputs for the suite's Q, K and V
        (storage arrays, [B, heads, N, d]): name → array."""
        import numpy as np

        p = self.p
        outputs = {"O": storage(np.zeros((p.batch, p.heads, p.nq, p.d), np.float32))}
        return {"Q": q, "K": k, "V": v}, outputs

    def masks(self, storage):
        """The mask inputs, made after the inputs' reading: the peer's memory,
        as a user's."""
        return {} if self.dense is None else {"M": self.dense.dense()}

    def result(self, outputs):
        """The output as [B, heads, Nq, d]."""
        return outputs["O"]


class GroupQueryAttentionOp:
    """`com.microsoft` `GroupQueryAttention` with the cache bound as both its
    past and its present (the module's docstring has the mapping)."""

    domain = "com.microsoft"
    opset = 1
    # Its CPU kernel has float and float16 implementations; bf16 is cast to float around it.
    native_dtypes = ("f32", "f16")

    def __init__(self, problem: Problem, mask: Mask) -> None:
        import numpy as np

        p = self.p = problem
        self.window = -1
        self.bias = None
        if p.nq > p.nk:
            raise Unsupported("ort-gqa needs Nq <= Nk: GroupQueryAttention's new tokens follow the KV cache")
        if 1 < p.nq < p.nk and p.batch > 1:
            raise Unsupported("ort-gqa runs 1 < Nq < Nk with batch 1 only (GroupQueryAttention's limit)")
        if mask.kind == "causal" or (mask.kind == "full" and p.nq == 1):
            self.how = "causal" if mask.kind == "causal" else "one query row: every key"
        elif mask.kind == "window" and mask.right == 0 and mask.global_tokens == 0 and mask.left > 0:
            # In onnxruntime 1.32 the window counts the query's own key: W + 1
            # keys in all (its meaning changed in ONNX Runtime PR #25927;
            # verification catches a version that counts otherwise).
            self.window = mask.left + 1
            self.how = f"local_window_size {self.window}"
        elif p.nq > 1 and (mask.kind == "full" or (mask.kind == "window" and mask.right > 0)):
            # Row 0 keeps a key after its diagonal: known without the dense mask.
            raise Unsupported(self.after_diagonal(mask))
        else:
            rows = np.arange(p.nq)[:, None]
            keys = np.arange(p.nk)[None, :]
            kept = mask.dense()
            if (kept & (keys > rows + mask.offset)).any():
                raise Unsupported(self.after_diagonal(mask))
            self.bias = kept  # the additive bias is made from it with the masks
            self.how = "causal with an additive attention_bias"

    @staticmethod
    def after_diagonal(mask: Mask) -> str:
        return (f"ort-gqa cannot express {mask.kind} here: GroupQueryAttention is always causal (bottom-right),"
                " and this mask keeps keys after the diagonal")

    def signature(self, helper, TensorProto, element):
        p = self.p
        inputs = [("query", element, [p.batch, p.nq, p.heads * p.d]),
                  ("key", element, [p.batch, p.nq, p.kv_heads * p.d]),
                  ("value", element, [p.batch, p.nq, p.kv_heads * p.d]),
                  ("past_key", element, [p.batch, p.kv_heads, p.nk, p.d]),
                  ("past_value", element, [p.batch, p.kv_heads, p.nk, p.d]),
                  ("seqlens_k", TensorProto.INT32, [p.batch]),
                  ("total_sequence_length", TensorProto.INT32, [])]
        if self.bias is not None:
            inputs.append(("attention_bias", element, [1, 1, p.nq, p.nk]))
        outputs = [("output", element, [p.batch, p.nq, p.heads * p.d]),
                   ("present_key", element, [p.batch, p.kv_heads, p.nk, p.d]),
                   ("present_value", element, [p.batch, p.kv_heads, p.nk, p.d])]
        return inputs, outputs

    def node(self, helper, operands, results):
        # Inputs 7-9 (rotary caches, position ids) are absent; 10 is the bias.
        names = operands[:7] + (["", "", "", operands[7]] if self.bias is not None else [])
        return helper.make_node("GroupQueryAttention", names, results, domain=self.domain, num_heads=self.p.heads,
                                kv_num_heads=self.p.kv_heads, scale=self.p.scale, local_window_size=self.window)

    def feeds(self, q, k, v, storage):
        import numpy as np

        p = self.p
        inputs = {"query": tokens(q), "key": tokens(k, p.nk - p.nq), "value": tokens(v, p.nk - p.nq),
                  "past_key": k, "past_value": v,
                  "seqlens_k": np.full(p.batch, p.nk - 1, np.int32), "total_sequence_length": np.array(p.nk, np.int32)}
        outputs = {"output": storage(np.zeros((p.batch, p.nq, p.heads * p.d), np.float32)),
                   "present_key": k, "present_value": v}  # the cache is past and present: appended in place
        return inputs, outputs

    def masks(self, storage):
        return {} if self.bias is None else {"attention_bias": additive_bias(self.bias, storage)}

    def result(self, outputs):
        return heads_first(outputs["output"], self.p)


class MultiHeadAttentionOp:
    """`com.microsoft` `MultiHeadAttention`: Q as [B, Nq, H·d], K and V as the
    suite lays them out ([B, H, Nk, d], the op's BNSH form), with
    `unidirectional` or an additive `attention_bias`."""

    domain = "com.microsoft"
    opset = 1
    # Its CPU kernel is float only; f16 and bf16 are cast to float around it.
    native_dtypes = ("f32",)

    def __init__(self, problem: Problem, mask: Mask) -> None:
        self.p = problem
        if problem.kv_heads != problem.heads:
            raise Unsupported(
                f"ort-mha needs as many K/V heads as query heads (got {problem.kv_heads} of {problem.heads}):"
                " MultiHeadAttention has no grouped heads (ort-gqa and ort-attention have)")
        # `unidirectional` aligns to the upper left: the contract's only when square.
        self.causal = mask.kind == "causal" and problem.nq == problem.nk
        self.bias = None if mask.kind == "full" or self.causal else mask
        self.how = "unidirectional" if self.causal else "additive attention_bias" if self.bias is not None else "no mask"

    def signature(self, helper, TensorProto, element):
        p = self.p
        inputs = [("query", element, [p.batch, p.nq, p.heads * p.d]), ("key", element, [p.batch, p.heads, p.nk, p.d]),
                  ("value", element, [p.batch, p.heads, p.nk, p.d])]
        if self.bias is not None:
            inputs.append(("attention_bias", element, [1, 1, p.nq, p.nk]))
        return inputs, [("output", element, [p.batch, p.nq, p.heads * p.d])]

    def node(self, helper, operands, results):
        # Inputs 3 and 4 (bias, key_padding_mask) are absent; 5 is the attention bias.
        names = operands[:3] + (["", "", operands[3]] if self.bias is not None else [])
        return helper.make_node("MultiHeadAttention", names, results, domain=self.domain, num_heads=self.p.heads,
                                scale=self.p.scale, unidirectional=int(self.causal))

    def feeds(self, q, k, v, storage):
        import numpy as np

        p = self.p
        outputs = {"output": storage(np.zeros((p.batch, p.nq, p.heads * p.d), np.float32))}
        return {"query": tokens(q), "key": k, "value": v}, outputs

    def masks(self, storage):
        return {} if self.bias is None else {"attention_bias": additive_bias(self.bias.dense(), storage)}

    def result(self, outputs):
        return heads_first(outputs["output"], self.p)


def tokens(x, first: int = 0):
    """[B, heads, N, d] from row `first` on as [B, N - first, heads·d] (the
    contrib ops' BSNH layout), a copy."""
    import numpy as np

    batch, heads, _, d = x.shape
    return np.ascontiguousarray(x[:, :, first:, :].transpose(0, 2, 1, 3)).reshape(batch, -1, heads * d)


def heads_first(output, p: Problem):
    """A contrib op's [B, Nq, H·d] output as [B, H, Nq, d] (a view)."""
    return output.reshape(p.batch, p.nq, p.heads, p.d).transpose(0, 2, 1, 3)


def additive_bias(kept, storage):
    """The [1, 1, Nq, Nk] additive bias of a boolean mask: 0 kept, -inf masked."""
    import numpy as np

    return storage(np.where(kept, np.float32(0), np.float32(-np.inf))[None, None])


OPERATORS = {"attention": AttentionOp, "mha": MultiHeadAttentionOp, "gqa": GroupQueryAttentionOp}


def build_session(op, dtype: str, threads: int):
    """A session running `op`'s one node. In a dtype the op does not run
    natively, its half-precision inputs are cast to float before the node and
    its half-precision outputs cast back, so the arithmetic is float."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    element = getattr(TensorProto, ONNX_TYPES[dtype])
    widen = dtype not in op.native_dtypes
    inputs, outputs = op.signature(helper, TensorProto, element)
    nodes = []
    operands = []
    for name, kind, _ in inputs:
        if widen and kind == element:
            nodes.append(helper.make_node("Cast", [name], [name + "_f32"], to=TensorProto.FLOAT))
            name += "_f32"
        operands.append(name)
    results = [name + "_f32" if widen and kind == element else name for name, kind, _ in outputs]
    nodes.append(op.node(helper, operands, results))
    if widen:
        nodes += [helper.make_node("Cast", [name + "_f32"], [name], to=element)
                  for name, kind, _ in outputs if kind == element]
    graph = helper.make_graph(nodes, "attention", [helper.make_tensor_value_info(*i) for i in inputs],
                              [helper.make_tensor_value_info(*o) for o in outputs])
    imports = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid(op.domain, op.opset)] if op.domain else [])
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = 10  # the IR version opset 23 needs; newer onnx packages default higher than ORT reads
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(threads, 1)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


# MARK: - Run


def run(backend: str, request_path: str) -> dict:
    """Measures one case (docs/PEERS.md, steps 1 to 6), in the request's dtype."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    request, dtype = read_request(request_path)
    problem = Problem.of(request["shape"])
    threads = int(request["threads"])
    operator = OPERATORS[backend]
    try:
        op = operator(problem, Mask(request["mask"], problem.nq, problem.nk))
    except Unsupported as why:
        return unsupported(str(why))
    element = getattr(onnx.TensorProto, ONNX_TYPES[dtype])

    def storage(array):
        return to_storage(array, dtype)

    storage_dtype = storage(np.zeros(1, np.float32)).dtype  # float32, float16, or uint16 holding bf16

    def bind(session, inputs, outputs):
        """An IOBinding of name → array; the OrtValues view the arrays (no copy)
        and are returned, to live as long as the binding. An array bound twice
        (the GQA cache) is one OrtValue."""
        values = {}

        def value(array):
            if id(array) not in values:
                values[id(array)] = (ort.OrtValue.ortvalue_from_numpy_with_onnx_type(array, element)
                                     if array.dtype == storage_dtype else ort.OrtValue.ortvalue_from_numpy(array))
            return values[id(array)]

        binding = session.io_binding()
        for name, array in inputs.items():
            binding.bind_ortvalue_input(name, value(array))
        for name, array in outputs.items():
            binding.bind_ortvalue_output(name, value(array))  # ONNX Runtime writes into the array
        return binding, values

    # 1. The operator set up on a one-token problem of the same heads: the
    # library, its kernels and thread pool exist before the first
    # resident-set reading, so that none of that counts as the case's memory.
    tiny = operator(problem.tiny(), Mask({"kind": "full"}, 1, 1))
    zeros = [storage(np.zeros((1, h, 1, problem.d), np.float32))
             for h in (problem.heads, problem.kv_heads, problem.kv_heads)]
    tiny_session = build_session(tiny, dtype, threads)
    tiny_inputs, tiny_outputs = tiny.feeds(*zeros, storage)
    tiny_binding, _ = bind(tiny_session, tiny_inputs | tiny.masks(storage), tiny_outputs)
    tiny_session.run_with_iobinding(tiny_binding)
    del tiny, tiny_session, tiny_binding, zeros
    gc.collect()

    # 2. Inputs, in the operator's layout, and its output buffers, between two
    # resident-set readings (each input checked to hold values of the dtype only).
    rss_before_inputs = resident_bytes()
    q = load_input(request["query"], (problem.batch, problem.heads, problem.nq, problem.d), dtype)
    k = load_input(request["key"], (problem.batch, problem.kv_heads, problem.nk, problem.d), dtype)
    v = load_input(request["value"], (problem.batch, problem.kv_heads, problem.nk, problem.d), dtype)
    inputs, outputs = op.feeds(q, k, v, storage)
    rss_with_inputs = resident_bytes()

    session = build_session(op, dtype, threads)
    binding, _values = bind(session, inputs | op.masks(storage), outputs)
    empty_rows = Mask(request["mask"], problem.nq, problem.nk).empty_rows()

    def step():
        session.run_with_iobinding(binding)

    precision = "" if dtype in op.native_dtypes else f", {dtype} cast to f32 in the graph"
    name = {"attention": "Attention (opset 23", "mha": "MultiHeadAttention (com.microsoft",
            "gqa": "GroupQueryAttention (com.microsoft"}[backend]
    kernel = f"{name}, {op.how}{precision})"
    # 3. The first run (the verification output: every run writes the same
    # buffers with the same values), then 4.-5. the peak reset, warmup and
    # the timed runs.
    step()
    gc.collect()
    peak_was_reset = reset_peak()
    times, _ = timed_runs(step, request["repetitions"])
    peak = peak_bytes_since_reset()

    output = np.array(op.result(outputs))
    if empty_rows is not None:
        output[:, :, empty_rows, :] = 0  # rows with no key: zeros, not NaN
    save_float32(request["output"], output, dtype)
    return ok_answer(times, rss_before_inputs, rss_with_inputs, peak, peak_was_reset, library(ort, onnx), kernel,
                     "MLAS (ONNX Runtime's own)")


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:], "ort_peer", "ONNX Runtime attention as an attnbench peer (docs/PEERS.md).",
                   BACKENDS, probe, run))
