#!/usr/bin/env python3
"""PyTorch attention as an attnbench peer.

attnbench runs this script as a child process and measures PyTorch's attention
exactly as it measures its own strategies. The contract is docs/PEERS.md;
read it before changing anything here. In short:

    python torch_peer.py --backend sdpa|flex|math probe
    python torch_peer.py --backend sdpa|flex|math run REQUEST.json

Both commands print exactly one JSON object on standard output and exit 0.
`probe` never fails: without torch or numpy it reports
`{"available": false, "reason": ...}`. `run` answers `"status": "ok"` with
every timed run, or `"status": "unsupported"` for a case the backend cannot
express; any other problem is an exception, reported as one line on standard
error with exit status 1 (attnbench shows that last line as the reason).
Those library-neutral parts of the contract (the JSON channel, the request's
protocol and dtype, the memory readings, the repetition policy, the output
file and the command line) are in `peer_protocol.py`; so is the mask
table (`Mask`, here over torch tensors). This module holds the problem as
torch tensors and the three backends.

Backends:

- `sdpa`: `torch.nn.functional.scaled_dot_product_attention` as a user would
  call it (torch picks the kernel); masks `full` and `causal` only.
- `flex`: FlexAttention compiled with `torch.compile`, with a BlockMask built
  from the mask semantics below; every mask kind.
- `math`: the materialized path (`SDPBackend.MATH`) with an explicit boolean
  mask; every mask kind.

Mask semantics (docs/PEERS.md): with `offset = Nk - Nq` and `p(i) = i + offset`
(bottom-right alignment), query i attends key j when

    full     always
    causal   j <= p(i)
    window   p(i) - left <= j <= p(i) + right, or
             (j < global_tokens or 0 <= p(i) < global_tokens)
             and (j <= p(i) when right == 0)
    blocks   layout[i // block_size, j // block_size] != 0
             and (j <= p(i) when causal)

and a query row that attends no key gives a row of zeros. `Mask.attended`
(peer_protocol.py) is the one implementation of this table: the flex
mask_mod, the math backend's boolean mask and the empty-row detection all
use it.

Precision: the request's `dtype` is the storage of Q, K, V and O, one of
`f32`, `f16` and `bf16` (a request without it means `f32`, as older
harnesses send; any other value is an error naming the field and the
allowed values). The input .npy files are float32 either way, holding
values the harness has already rounded to the dtype (round to nearest
even), so casting them to torch.float16 / torch.bfloat16 is exact; the peer
checks that it was, after the measurement, and fails the case when it was
not. The peer casts Q, K and V to the dtype, runs its backend on them in
that dtype (accumulation is the backend's own: float32 in all three on the
CPU), keeps its output in the dtype, and writes the output .npy as float32,
an exact widening. A half-precision input is read through a memory map and
cast from it, so no float32 copy stays resident: `rss_with_inputs_bytes`
counts the inputs and the output buffer as held in the dtype. The `kernel`
label names the dtype when it is not f32 (e.g. `sdpa (flash_attention,
bf16)`). A backend that cannot run the dtype on this PyTorch replies
`unsupported`, naming the backend and the dtype: when a half-precision case
raises, a tiny case of the same backend and dtype is tried, and if that
fails too the case is unsupported (else the error is the case's own and
is reported as one).

Passes: the request's `pass` is `forward` (the default), `backward` or
`both`. For a backward pass Q, K and V require gradients and the output
gradient dO is read from the request's `output_gradient` file (float32);
every run first clears the three gradients (`.grad = None`, as
FlashAttention's `benchmark_backward` does), then `backward` times
`out.backward(dO, retain_graph=True)` on the output of one untimed forward,
and `both` times the forward and `out.backward(dO)` together. dQ, dK and dV
of the first (verification) run are written as float32 to the request's
`gradients` files. The second resident-set reading is taken with dO
loaded, before the forward, plus the bytes of the row log-sum-exp and of
dQ, dK and dV, which a strategy allocates before that reading: what the
library's forward keeps for its backward beyond O and L (the math path's
probabilities) is then the peer's extra memory, as it is the cost of its
way of computing the gradients. A
backend whose library has no backward on the CPU (FlexAttention raises
NotImplementedError) replies `unsupported` with the library's words.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Callable, Optional

from peer_protocol import (
    DEFAULT_DTYPE,
    DEFAULT_PASS,
    DTYPES,
    Mask,
    PASSES,
    PROTOCOL,
    Unsupported,
    ok_answer,
    peak_bytes_since_reset,
    read_request,
    reset_peak,
    resident_bytes,
    save_float32,
    save_gradients,
    serve,
    timed_runs,
    unsupported,
)

BACKENDS = ("sdpa", "flex", "math")
FLEX_BLOCK_SIZE = 128  # create_block_mask's default; named so the kernel label can say it
# Block sizes FlexAttention's CPU kernel is given for a block layout of that
# size, as a user who knows the layout would: 64-wide BigBird blocks under
# 128-wide flex blocks were 2.4-3.3x slower (docs/DECISIONS.md).
FLEX_LAYOUT_BLOCK_SIZES = (32, 64, 128)
# MARK: - Backends


class Problem:
    """The request's shape and its Q, K, V, held in the request's dtype.

    `dtype` is the request's name for it (`f32`, `f16`, `bf16`) and
    `torch_dtype` the torch dtype the tensors are stored in.
    """

    def __init__(self, shape: dict, dtype: str) -> None:
        import torch

        self.batch = int(shape["batch"])
        self.heads = int(shape["heads"])
        self.kv_heads = int(shape["kv_heads"])
        self.query_length = int(shape["query_length"])
        self.key_length = int(shape["key_length"])
        self.head_dim = int(shape["head_dim"])
        self.scale = float(shape["scale"])
        if self.kv_heads < 1 or self.heads % self.kv_heads != 0:
            raise ValueError(f"heads {self.heads} is not a multiple of kv_heads {self.kv_heads}")
        self.grouped = self.kv_heads < self.heads
        self.dtype = dtype
        self.torch_dtype = getattr(torch, DTYPES[dtype])
        self.query = self.key = self.value = None

    @classmethod
    def load(cls, request: dict, dtype: str, requires_grad: bool = False) -> "Problem":
        """The request's problem, with Q, K, V read from its .npy files (as
        leaves that require gradients when asked, before any backend derives
        a tensor from them)."""
        problem = cls(request["shape"], dtype)
        problem.query = problem._load(request["query"], problem.heads, problem.query_length)
        problem.key = problem._load(request["key"], problem.kv_heads, problem.key_length)
        problem.value = problem._load(request["value"], problem.kv_heads, problem.key_length)
        for tensor in (problem.query, problem.key, problem.value):
            tensor.requires_grad_(requires_grad)
        return problem

    def load_output_gradient(self, request: dict):
        """dO from the request's `output_gradient` file, float32 [B, H, Nq, d], in the dtype."""
        import numpy as np
        import torch

        path = request["output_gradient"]
        array = np.load(path)
        self._expected(path, array, self.heads, self.query_length)
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.torch_dtype)

    def clear_gradients(self) -> None:
        self.query.grad = self.key.grad = self.value.grad = None

    @classmethod
    def tiny(cls, like: "Problem", length: int = 32) -> "Problem":
        """A small problem of `like`'s dtype, head size, scale and grouping (random inputs)."""
        import torch

        group = like.heads // like.kv_heads
        shape = {"batch": 1, "heads": group, "kv_heads": 1, "query_length": length,
                 "key_length": length, "head_dim": like.head_dim, "scale": like.scale}
        problem = cls(shape, like.dtype)
        generator = torch.Generator().manual_seed(0)

        def tensor(heads: int):
            values = torch.randn(1, heads, length, like.head_dim, generator=generator)
            return values.to(problem.torch_dtype)

        problem.query, problem.key, problem.value = tensor(group), tensor(1), tensor(1)
        return problem

    def _expected(self, path: str, array, heads: int, length: int) -> None:
        """Raises ValueError unless `array` is float32 [B, heads, length, d]."""
        import numpy as np

        expected = (self.batch, heads, length, self.head_dim)
        if array.dtype != np.float32 or array.shape != expected:
            raise ValueError(f"{path}: {array.dtype} {array.shape}, expected float32 {expected}")

    def _load(self, path: str, heads: int, length: int):
        """One input as a tensor of the dtype.

        float32 is read into memory as it is. A half-precision input is read
        through a memory map and cast from it: the mapping is gone when this
        returns, so no float32 copy of the input stays resident.
        """
        import numpy as np
        import torch

        if self.dtype == "f32":
            array = np.load(path)
            self._expected(path, array, heads, length)
            return torch.from_numpy(np.ascontiguousarray(array))
        mapped = np.load(path, mmap_mode="c")  # copy-on-write: writable for torch, never written
        self._expected(path, mapped, heads, length)
        return torch.from_numpy(mapped).to(self.torch_dtype)

    def check_rounded(self, request: dict) -> None:
        """Raises ValueError when an input file holds a value the dtype does not
        represent exactly (the harness must round Q, K and V to the dtype).

        Run after the measurement: it reads the files again, through a map.
        """
        import numpy as np

        if self.dtype == "f32":
            return
        for name, tensor in (("query", self.query), ("key", self.key), ("value", self.value)):
            mapped = np.load(request[name], mmap_mode="r")
            for b in range(self.batch):
                if not np.array_equal(mapped[b], tensor[b].detach().float().numpy()):
                    raise ValueError(
                        f"{request[name]}: the {name} holds values that {self.dtype} does not represent"
                        f" exactly; the harness rounds Q, K and V to the dtype before writing them"
                    )
            del mapped

    @property
    def output_shape(self) -> tuple:
        return (self.batch, self.heads, self.query_length, self.head_dim)

    def expanded_key_value(self):
        """K and V repeated to `heads` heads, for kernels without GQA support."""
        repeats = self.heads // self.kv_heads
        return (self.key.repeat_interleave(repeats, dim=1), self.value.repeat_interleave(repeats, dim=1))


def _torch_at_least(major: int, minor: int) -> bool:
    import torch

    version = torch.__version__.split("+")[0].split(".")
    try:
        return (int(version[0]), int(version[1])) >= (major, minor)
    except (ValueError, IndexError):
        return True


def _sdpa_kernel_name(query, key, value, attn_mask, is_causal: bool, scale: float, gqa: bool) -> str:
    """The fused kernel torch's dispatcher picks (e.g. 'flash_attention'), or ''.

    Uses a private torch function; a label only, so any failure is ignored.
    """
    import torch
    from torch.nn.attention import SDPBackend

    try:
        choice = torch._fused_sdp_choice(query, key, value, attn_mask, 0.0, is_causal, scale=scale, enable_gqa=gqa)
        return SDPBackend(choice).name.lower()
    except Exception:
        return ""


# Each prepare_* builds one backend for the problem and returns
# (forward, kernel label, compiles): forward() computes the attention output
# [B, H, Nq, d] in the problem's dtype (NaN allowed on rows with no key), and
# `compiles` says that its first call compiles. A case the backend cannot
# express raises Unsupported.


def kernel_label(name: str, details: tuple, problem: Problem) -> str:
    """`name (detail, ...)`, with the dtype as the last detail unless it is f32."""
    parts = [part for part in details if part]
    if problem.dtype != DEFAULT_DTYPE:
        parts.append(problem.dtype)
    return f"{name} ({', '.join(parts)})" if parts else name


def grouped_inputs(problem: Problem) -> tuple:
    """(query, key, value, extra keyword arguments) for scaled_dot_product_attention.

    Grouped heads go to torch as they are with `enable_gqa` (torch 2.5 and
    later); older torch gets K and V repeated to every query head.
    """
    query, key, value = problem.query, problem.key, problem.value
    if not problem.grouped:
        return query, key, value, {}
    if _torch_at_least(2, 5):
        return query, key, value, {"enable_gqa": True}
    key, value = problem.expanded_key_value()
    return query, key, value, {}


def prepare_sdpa(problem: Problem, mask: Mask) -> tuple:
    """torch's scaled_dot_product_attention, for full and causal masks."""
    import torch.nn.functional as F

    if mask.kind not in ("full", "causal"):
        raise Unsupported(f"scaled_dot_product_attention has no '{mask.kind}' mask (only full and causal)")
    query, key, value, gqa_kwargs = grouped_inputs(problem)
    attn_mask, is_causal, detail = None, False, ""
    if mask.kind == "causal":
        if mask.offset == 0:
            is_causal = True
        else:
            # torch's is_causal aligns the diagonal top-left; ours is bottom-right.
            from torch.nn.attention.bias import causal_lower_right

            attn_mask = causal_lower_right(problem.query_length, problem.key_length)
            detail = "lower-right mask"
    # Asked of the tensors in the problem's dtype: the kernel torch picks for it.
    kernel = _sdpa_kernel_name(query, key, value, None, is_causal, problem.scale, bool(gqa_kwargs))

    def forward():
        return F.scaled_dot_product_attention(
            query, key, value, attn_mask=attn_mask, is_causal=is_causal, scale=problem.scale, **gqa_kwargs
        )

    return forward, kernel_label("sdpa", (kernel, detail), problem), False


def prepare_math(problem: Problem, mask: Mask) -> tuple:
    """The materialized path: SDPBackend.MATH with an explicit boolean mask."""
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    query, key, value, gqa_kwargs = grouped_inputs(problem)
    # Built once, like the suite's own mask resolution; broadcast over B and H.
    attn_mask = None if mask.kind == "full" else mask.dense()

    def forward():
        with sdpa_kernel(SDPBackend.MATH):
            return F.scaled_dot_product_attention(
                query, key, value, attn_mask=attn_mask, scale=problem.scale, **gqa_kwargs
            )

    detail = "" if attn_mask is None else "boolean mask"
    return forward, kernel_label("math", (detail,), problem), False


def prepare_flex(problem: Problem, mask: Mask) -> tuple:
    """FlexAttention compiled by torch.compile (the CPU inductor backend)."""
    import torch

    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    except ImportError as error:
        raise Unsupported(f"flex_attention is not available in torch {torch.__version__}: {error}")
    query, key, value = problem.query, problem.key, problem.value
    block_mask = None
    block_size = FLEX_BLOCK_SIZE
    if mask.kind == "blocks" and mask.block_size in FLEX_LAYOUT_BLOCK_SIZES:
        block_size = mask.block_size
    if mask.kind != "full":
        block_mask = create_block_mask(
            mask.mask_mod(),
            None,
            None,
            problem.query_length,
            problem.key_length,
            device="cpu",
            BLOCK_SIZE=block_size,
        )
    # dynamic=False: one shape per process, so a static specialisation is what
    # a user would get and there is no recompile. The first call compiles.
    compiled = torch.compile(flex_attention, dynamic=False)

    def forward():
        return compiled(query, key, value, block_mask=block_mask, scale=problem.scale, enable_gqa=problem.grouped)

    detail = "no mask" if block_mask is None else f"block {block_size}"
    return forward, kernel_label("flex", ("compiled", detail), problem), True


PREPARE = {"sdpa": prepare_sdpa, "flex": prepare_flex, "math": prepare_math}


def preload(backend: str, request: dict) -> None:
    """Imports what the backend will use, before the first resident-set reading.

    Library code is not the kernel's memory: torch.nn.attention.bias or
    flex_attention alone pull in torch._dynamo, ~75 MB resident. A module
    that is missing is reported by prepare_* (as unsupported), not here.
    """
    names = ["torch.nn.functional", "torch.nn.attention"]
    shape = request["shape"]
    if backend == "sdpa" and request["mask"]["kind"] == "causal" and shape["query_length"] != shape["key_length"]:
        names.append("torch.nn.attention.bias")
    if backend == "flex":
        names.append("torch.nn.attention.flex_attention")
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


# MARK: - Commands


def blas_description() -> str:
    """torch's BLAS and vector path, e.g. 'mkl, AVX512' (the report's blas_core)."""
    import torch

    config = torch.__config__.show()
    blas = next((part.split("=", 1)[1] for part in config.replace(",", "\n").split() if part.startswith("BLAS_INFO=")), "")
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except Exception:
        capability = ""
    return ", ".join(part for part in (blas or "its own BLAS", capability) if part)


def probe() -> dict:
    """Whether torch and numpy import; never raises."""
    try:
        import numpy  # noqa: F401
        import torch
    except Exception as error:  # ImportError, or OSError from a broken libtorch
        return {"protocol": PROTOCOL, "available": False, "reason": str(error) or type(error).__name__}
    return {"protocol": PROTOCOL, "available": True, "library": f"torch {torch.__version__}"}


def dtype_unsupported(backend: str, like: Problem, mask_kind: str) -> Optional[str]:
    """Why `backend` cannot run `like`'s dtype here, or None when it can.

    Runs a tiny case of the same backend, dtype, head size and grouping
    (causal unless the case is full): when a half-precision case raises,
    this tells a dtype the backend lacks on this PyTorch from a failure of
    the case itself.
    """
    import torch

    tiny = Problem.tiny(like)
    spec = {"kind": "full" if mask_kind == "full" else "causal", "offset": 0}
    try:
        forward = PREPARE[backend](tiny, Mask(spec, tiny.query_length, tiny.key_length, torch))[0]
        with torch.inference_mode():
            forward()
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0].strip()
        what = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
        return f"torch-{backend} cannot run {like.dtype} on torch {torch.__version__} (CPU): {what}"
    return None


def run(backend: str, request_path: str) -> dict:
    """Measures one case (docs/PEERS.md, steps 1 to 6), in the request's dtype."""
    import torch

    request, dtype = read_request(request_path, PASSES)
    timed_pass = request.get("pass", DEFAULT_PASS)

    # 1. Threads. Inter-op parallelism is not used by a single attention call;
    # one inter-op thread keeps the process's thread count to `threads`.
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set, or parallel work has started
    threads = int(request["threads"])
    if threads >= 1:
        torch.set_num_threads(threads)
    preload(backend, request)

    # 2. Inputs (cast to the dtype, no float32 copy left) and the output
    # buffer in the dtype, between two resident-set readings.
    rss_before_inputs = resident_bytes()
    problem = Problem.load(request, dtype, requires_grad=timed_pass != "forward")
    output = torch.zeros(problem.output_shape, dtype=problem.torch_dtype)  # zeros: its pages are resident
    rss_with_inputs = resident_bytes()

    # Setup (not measured as inputs): resolve the mask, build the backend.
    try:
        mask = Mask(request["mask"], problem.query_length, problem.key_length, torch)
        forward, kernel, compiles = PREPARE[backend](problem, mask)
    except Unsupported as why:
        return unsupported(str(why))
    try:
        if timed_pass == DEFAULT_PASS:
            answer = measure(request, mask, forward, kernel, compiles, output, rss_before_inputs, rss_with_inputs)
        else:
            answer = measure_training(backend, request, timed_pass, problem, mask, forward, kernel, output,
                                      rss_before_inputs)
    except Unsupported:
        raise
    except Exception:
        # A half-precision case that fails: unsupported if the dtype is what fails.
        reason = None
        if dtype != DEFAULT_DTYPE:
            reason = dtype_unsupported(backend, problem, request["mask"]["kind"])
        if reason is None:
            raise
        return unsupported(reason)

    problem.check_rounded(request)
    save_float32(request["output"], output.float().numpy())
    return answer


def warm_up_backward(backend: str, like: Problem, mask_kind: str) -> None:
    """One forward and backward of a tiny problem of the same backend, dtype,
    head size and grouping, before the resident-set reading.

    The first backward of a process starts autograd's engine and pages in
    the library's backward kernels (about 38 MB resident at any size):
    library setup, like the import, not the case's working memory. A backend
    without a backward raises here, as it would on the case.
    """
    import torch

    tiny = Problem.tiny(like)
    for tensor in (tiny.query, tiny.key, tiny.value):
        tensor.requires_grad_(True)
    spec = {"kind": "full" if mask_kind == "full" else "causal", "offset": 0}
    forward = PREPARE[backend](tiny, Mask(spec, tiny.query_length, tiny.key_length, torch))[0]
    out = forward()
    out.backward(torch.ones_like(out))
    del out, tiny, forward
    gc.collect()


def no_backward(error: NotImplementedError, kernel: str, timed_pass: str) -> Unsupported:
    """The `unsupported` reason for a backend whose torch raised NotImplementedError on a backward."""
    import torch

    first_line = (str(error).strip().splitlines() or [""])[0].strip()
    return Unsupported(f"{kernel} has no {timed_pass} pass in torch {torch.__version__} on the CPU: {first_line}")


def measure_training(backend: str, request: dict, timed_pass: str, problem: Problem, mask: Mask, forward: Callable,
                     kernel: str, output, rss_before_inputs: int) -> dict:
    """Steps 3 to 6 for a `backward` or `both` request (see Passes above):
    fills `output` with the forward's result, writes the first run's
    gradients when asked to verify, and returns the `ok` answer."""
    import torch

    empty_rows = mask.empty_rows()
    output_gradient = problem.load_output_gradient(request)
    try:
        warm_up_backward(backend, problem, request["mask"]["kind"])
    except NotImplementedError as error:
        raise no_backward(error, kernel, timed_pass)
    # What a strategy holds at this reading besides: L (float32 per query row) and the float32 gradients.
    held = 4 * (problem.batch * problem.heads * problem.query_length
                + sum(t.numel() for t in (problem.query, problem.key, problem.value)))
    rss_with_inputs = resident_bytes() + held

    def forward_step():
        out = forward()
        if empty_rows is not None:
            out = out.index_fill(2, empty_rows, 0.0)  # out of place: autograd sends no gradient into them
        return out

    def backward_step():
        problem.clear_gradients()
        saved.backward(output_gradient, retain_graph=True)
        return saved

    def both_step():
        problem.clear_gradients()
        out = forward_step()
        out.backward(output_gradient)
        return out

    step = backward_step if timed_pass == "backward" else both_step
    # 3. The verification run, which also compiles a compiled backend; a
    # backward pass first runs the forward whose graph every timed backward reuses.
    try:
        saved = forward_step() if timed_pass == "backward" else None
        first = step()
    except NotImplementedError as error:
        raise no_backward(error, kernel, timed_pass)
    with torch.no_grad():
        output.copy_(first)
    del first
    if request["verify"]:
        save_gradients(request, *(t.grad.float().numpy() for t in (problem.query, problem.key, problem.value)))
    gc.collect()
    # 4.-5. Peak reset, warmup and timed runs.
    peak_was_reset = reset_peak()
    times, _ = timed_runs(step, request["repetitions"])
    peak = peak_bytes_since_reset()
    return ok_answer(times, rss_before_inputs, rss_with_inputs, peak, peak_was_reset,
                     f"torch {torch.__version__}", kernel, blas_description(), timed_pass)


def measure(request: dict, mask: Mask, forward: Callable, kernel: str, compiles: bool, output,
            rss_before_inputs: int, rss_with_inputs: int) -> dict:
    """Steps 3 to 6 with the prepared backend: fills `output` (the kept or the
    last result) and returns the `ok` answer."""
    import torch

    empty_rows = mask.empty_rows()

    def step():
        out = forward()
        if empty_rows is not None:
            out.index_fill_(2, empty_rows, 0.0)  # rows with no key: zeros, not NaN
        return out

    with torch.inference_mode():
        # 3. The verification run. A compiled backend compiles on its first
        # call; that is setup, so it runs here, before the peak reset, even
        # when the output is not kept.
        kept = False
        if request["verify"] or compiles:
            first = step()
            if request["verify"]:
                output.copy_(first)
                kept = True
            del first
        gc.collect()  # setup garbage (e.g. from compiling) is not the kernel's
        if compiles:
            # What compiling left resident (generated code, the compiler's
            # caches; about 150 MB for flex) is setup, like the interpreter:
            # both readings move up by it, so peak_extra is the kernel's.
            setup = max(0, resident_bytes() - rss_with_inputs)
            rss_before_inputs += setup
            rss_with_inputs += setup
        # 4.-5. Peak reset, warmup and timed runs.
        peak_was_reset = reset_peak()
        times, last = timed_runs(step, request["repetitions"])
        # 6. Peak, output, answer.
        peak = peak_bytes_since_reset()
        if not kept:
            output.copy_(last if last is not None else step())

    return ok_answer(times, rss_before_inputs, rss_with_inputs, peak, peak_was_reset,
                     f"torch {torch.__version__}", kernel, blas_description())


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:], "torch_peer", "PyTorch attention as an attnbench peer (docs/PEERS.md).",
                   BACKENDS, probe, run))
