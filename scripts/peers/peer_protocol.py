#!/usr/bin/env python3
"""What every attnbench peer shares, whatever library it measures.

A peer is one module per library (`torch_peer.py`, ...), run by attnbench as
a child process; the contract is docs/PEERS.md. This module holds the parts
of that contract that do not depend on the library:

- the request's protocol version, its `dtype` field and its `pass` field
  (`read_request`): a peer that times only the forward answers
  `unsupported` to a backward request rather than timing the wrong thing;
- the JSON channel: one answer line on the real standard output, whatever
  the library writes to file descriptor 1 (`JsonChannel`);
- the mask: the table of which (query, key) pairs a request's mask keeps,
  for NumPy arrays or torch tensors (`Mask`);
- the memory readings: the resident set, its peak since a reset, and the
  process's lifetime peak, from /proc (`resident_bytes`, `reset_peak`, ...);
- the repetition policy: warmup, then at least `min_reps` and `min_time`,
  at most `max_reps` timed runs (`timed_runs`);
- NumPy storage in the request's dtype: an input file read into float32,
  float16 or bfloat16 bits (uint16, as NumPy has no bfloat16), checked to
  hold only values the dtype represents (`load_input`, `to_storage`,
  `widened`), and an f32 result rounded to the dtype (`rounded`);
- the output writing: float32 `.npy`, an exact widening of a half-precision
  output (`save_float32`), and the gradients of a backward request
  (`save_gradients`);
- the command line, `probe` and `run REQUEST.json`, and the error report: an
  exception is one summary line, the last on standard error, and exit
  status 1 (`serve`).

A library module supplies its backends, a `probe()` that never raises, and a
`run(backend, request_path)` that returns the answer or raises.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import traceback
from typing import Callable, Optional, Sequence

PROTOCOL = 1
MASK_KINDS = ("full", "causal", "window", "blocks")
# Request dtype names (the storage of Q, K, V and O) → NumPy/PyTorch dtype names.
DTYPES = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}
DEFAULT_DTYPE = "f32"  # what a request without the field means
# What a request may ask to time: the forward, the backward alone (its
# forward run once, untimed), or the two together (docs/PEERS.md).
PASSES = ("forward", "backward", "both")
DEFAULT_PASS = "forward"  # what a request without the field means


class Unsupported(Exception):
    """This backend cannot run the requested case (not a failure)."""


# MARK: - Standard output


class JsonChannel:
    """Keeps the process's real standard output for the final JSON line.

    A library's compiler, the processes it spawns and its warnings may all
    write to file descriptor 1 (torch.compile does). attnbench reads standard output as the answer,
    so fd 1 is pointed at standard error for the whole run and the answer is
    written to a private duplicate of the original descriptor.
    """

    def __init__(self) -> None:
        sys.stdout.flush()
        self._out = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)

    def emit(self, answer: dict) -> None:
        self._out.write(json.dumps(answer) + "\n")
        self._out.flush()


# MARK: - Process memory


def _proc_status_bytes(field: str) -> Optional[int]:
    """A `kB` field of /proc/self/status (e.g. VmRSS, VmHWM) in bytes."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def resident_bytes() -> int:
    return _proc_status_bytes("VmRSS") or 0


def process_peak_bytes() -> int:
    """Peak resident set of the whole process life (not reset by clear_refs)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # kB on Linux


def reset_peak() -> bool:
    """Resets VmHWM to the current VmRSS (Linux ≥ 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def peak_bytes_since_reset() -> int:
    return _proc_status_bytes("VmHWM") or process_peak_bytes()


# MARK: - Mask


class Mask:
    """The request's resolved mask, as a predicate over (query, key) indices.

    `xp` is the array library the indices and results are in: NumPy, or
    torch (whose tensors FlexAttention hands to a mask_mod). The predicate
    uses only operations both have, so this is the one implementation of the
    mask table for every peer.
    """

    def __init__(self, spec: dict, query_length: int, key_length: int, xp=None) -> None:
        import numpy as np

        self.xp = xp or np

        self.kind = spec["kind"]
        if self.kind not in MASK_KINDS:
            raise Unsupported(f"mask kind '{self.kind}' is not known to this peer")
        self.query_length = query_length
        self.key_length = key_length
        # The suite sends the offset; it must be Nk - Nq (bottom-right alignment).
        self.offset = int(spec.get("offset", key_length - query_length))
        if self.offset != key_length - query_length:
            raise ValueError(f"mask offset {self.offset} is not Nk - Nq = {key_length - query_length}")
        self.left = int(spec.get("left", 0))
        self.right = int(spec.get("right", 0))
        self.global_tokens = int(spec.get("global_tokens", 0))
        self.causal = bool(spec.get("causal", False))
        self.block_size = int(spec.get("block_size", 1))
        self.layout = None
        if self.kind == "blocks":
            layout = np.load(spec["layout"])
            rows = -(-query_length // self.block_size)
            columns = -(-key_length // self.block_size)
            if layout.ndim != 2 or layout.shape[0] < rows or layout.shape[1] < columns:
                raise ValueError(
                    f"layout {spec['layout']} has shape {layout.shape}, expected [{rows}, {columns}]"
                )
            self.layout = self.xp.asarray(layout != 0)

    def attended(self, q_idx, kv_idx):
        """Whether query q_idx attends key kv_idx, for broadcastable index tensors.

        Written with plain array operations so that it serves as a
        FlexAttention mask_mod too (Python branches only test constants of
        the request).
        """
        p = q_idx + self.offset
        if self.kind == "full":
            return (q_idx + kv_idx) >= 0  # every pair (indices are never negative), at the broadcast shape
        if self.kind == "causal":
            return kv_idx <= p
        if self.kind == "window":
            keep = (kv_idx >= p - self.left) & (kv_idx <= p + self.right)
            if self.global_tokens > 0:
                is_global = (kv_idx < self.global_tokens) | ((p >= 0) & (p < self.global_tokens))
                if self.right == 0:  # a causal window keeps its global pairs causal too
                    is_global = is_global & (kv_idx <= p)
                keep = keep | is_global
            return keep
        # blocks. Flex evaluates the mask_mod on indices padded up to its block
        # size, so clamp them into the layout; those padded pairs are discarded.
        rows, columns = self.layout.shape
        row = (q_idx // self.block_size).clip(max=rows - 1)
        column = (kv_idx // self.block_size).clip(max=columns - 1)
        keep = self.layout[row, column]
        if self.causal:
            keep = keep & (kv_idx <= p)
        return keep

    def mask_mod(self) -> Callable:
        """The predicate with FlexAttention's (batch, head, q_idx, kv_idx) signature."""

        def mask_mod(b, h, q_idx, kv_idx):
            return self.attended(q_idx, kv_idx)

        return mask_mod

    def dense(self, rows: Optional[range] = None):
        """The boolean [rows, Nk] mask (True = attended), all rows by default,
        in its own memory."""
        xp = self.xp
        rows = rows or range(self.query_length)
        q_idx = xp.arange(rows.start, rows.stop)[:, None]
        kv_idx = xp.arange(self.key_length)[None, :]
        keep = xp.broadcast_to(self.attended(q_idx, kv_idx), (len(rows), self.key_length))
        return keep.contiguous() if hasattr(keep, "contiguous") else keep.copy()

    def empty_rows(self):
        """Indices of the query rows that attend no key, or None when there are none.

        Softmax libraries give NaN on such rows; the contract wants zeros.
        Only rows before the first key (offset < 0) or empty layout rows can
        be empty.
        """
        xp = self.xp
        possible = self.kind == "blocks" or (self.kind in ("causal", "window") and self.offset < 0)
        if not possible:
            return None
        # Chunks of ~16 M pairs keep this O(Nk) in memory for any Nq.
        chunk = max(1, (1 << 24) // self.key_length)
        empty = []
        for start in range(0, self.query_length, chunk):
            rows = range(start, min(start + chunk, self.query_length))
            empty.append(~self.dense(rows).any(1))
        indices = xp.argwhere(xp.concatenate(empty)).flatten()
        return indices if len(indices) > 0 else None


# MARK: - Request


def request_dtype(request: dict) -> str:
    """The request's `dtype` (`f32` when the field is absent).

    Raises ValueError naming the field and the allowed values for anything
    else, before any input is read.
    """
    value = request.get("dtype", DEFAULT_DTYPE)
    if not isinstance(value, str) or value not in DTYPES:
        raise ValueError(
            f"request field 'dtype' is {json.dumps(value)}; allowed values: {', '.join(DTYPES)}"
        )
    return value


def request_pass(request: dict, supported: Sequence[str]) -> str:
    """The request's `pass` (`forward` when the field is absent).

    Raises ValueError naming the field and the allowed values for a value
    outside `PASSES`, and Unsupported for a pass the peer does not time.
    """
    value = request.get("pass", DEFAULT_PASS)
    if not isinstance(value, str) or value not in PASSES:
        raise ValueError(f"request field 'pass' is {json.dumps(value)}; allowed values: {', '.join(PASSES)}")
    if value not in supported:
        raise Unsupported(f"this peer times the {' and '.join(supported)} pass only, not {value}")
    return value


def read_request(path: str, passes: Sequence[str] = (DEFAULT_PASS,)) -> tuple:
    """The request at `path` and its dtype; raises ValueError when it speaks
    another protocol or names a dtype outside `DTYPES` or a pass outside
    `PASSES`, and Unsupported when it asks for a pass outside `passes` (the
    ones the peer times)."""
    with open(path) as file:
        request = json.load(file)
    if request.get("protocol") != PROTOCOL:
        raise ValueError(f"request speaks protocol {request.get('protocol')}, this peer speaks {PROTOCOL}")
    request_pass(request, passes)
    return request, request_dtype(request)


# MARK: - Answers


def unsupported(reason: str) -> dict:
    """The answer for a case the backend cannot express (not a failure)."""
    return {"protocol": PROTOCOL, "status": "unsupported", "reason": reason}


def ok_answer(times: list, rss_before_inputs: int, rss_with_inputs: int, peak: int, peak_was_reset: bool,
              library: str, kernel: str, blas: str, timed_pass: str = DEFAULT_PASS) -> dict:
    """The answer for a measured case (docs/PEERS.md, step 6), naming the pass
    it timed; the process's lifetime peak is read here, last."""
    return {
        "protocol": PROTOCOL,
        "status": "ok",
        "pass": timed_pass,
        "times_ms": times,
        "rss_before_inputs_bytes": rss_before_inputs,
        "rss_with_inputs_bytes": rss_with_inputs,
        "peak_rss_bytes": peak,
        "peak_was_reset": peak_was_reset,
        "process_peak_rss_bytes": process_peak_bytes(),
        "library": library,
        "kernel": kernel,
        "blas": blas,
    }


# MARK: - Arrays in the request's dtype


def to_storage(array, dtype: str):
    """A float32 NumPy array as a new contiguous, writable array of `dtype`'s
    storage: float32, float16, or bfloat16 bits in uint16 (NumPy has no
    bfloat16). For bf16 the low half of each float32 is dropped, which is
    exact for the values the harness writes (already rounded to bf16)."""
    import numpy as np

    if dtype == "f32":
        return np.array(array, dtype=np.float32, order="C", copy=True)
    if dtype == "f16":
        return np.ascontiguousarray(array, dtype=np.float16)
    return (np.ascontiguousarray(array, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)


def widened(array, dtype: str):
    """The float32 values of a storage array: the exact inverse of `to_storage`.
    For bf16, any 2-byte array is read as the bits (OpenVINO hands out a
    bfloat16 tensor's data as a float16 view of them)."""
    import numpy as np

    if dtype == "bf16":
        bits = np.ascontiguousarray(array).view(np.uint16)
        return (bits.astype(np.uint32) << 16).view(np.float32)
    return array.astype(np.float32)


def rounded(array, dtype: str):
    """The float32 values of `array` rounded to the nearest value of `dtype`
    (ties to even): how an output computed in f32 is stored in a half dtype."""
    import numpy as np

    values = np.ascontiguousarray(array, dtype=np.float32)
    if dtype == "f16":
        return values.astype(np.float16).astype(np.float32)
    if dtype == "bf16":
        bits = values.view(np.uint32).astype(np.uint64)
        bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint32) << 16
        nan = np.isnan(values)
        out = bits.view(np.float32)
        out[nan] = np.nan
        return out
    return values


def load_input(path: str, shape: tuple, dtype: str):
    """One float32 input file, `[B, heads, N, d]`, as storage of `dtype`
    (`to_storage`), read through a memory map so that no float32 copy of a
    half-precision input stays resident.

    Raises ValueError naming the file when it is not float32 of `shape`, or
    holds a value the dtype does not represent (the harness rounds Q, K and V
    to the dtype before writing them, so a peer never rounds them itself).
    """
    import numpy as np

    mapped = np.load(path, mmap_mode="r")
    if mapped.dtype != np.float32 or tuple(mapped.shape) != tuple(shape):
        raise ValueError(f"{path}: {mapped.dtype} {mapped.shape}, expected float32 {tuple(shape)}")
    stored = to_storage(mapped, dtype)
    if dtype != DEFAULT_DTYPE and not np.array_equal(widened(stored, dtype), mapped):
        raise ValueError(
            f"{path} holds values that {dtype} does not represent exactly;"
            " the harness rounds Q, K and V to the dtype before writing them"
        )
    return stored


# MARK: - Repetitions and output


def timed_runs(step: Callable[[], object], repetitions: dict) -> tuple:
    """Warmup, then the suite's repetition policy (docs/PEERS.md, step 5).

    Returns (times in ms, last result).
    """
    warmup = int(repetitions["warmup"])
    min_reps = int(repetitions["min_reps"])
    max_reps = int(repetitions["max_reps"])
    min_time = float(repetitions["min_time"])
    result = None
    for _ in range(warmup):
        result = step()
    times = []
    first_start = None
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - first_start < min_time):
        start = time.perf_counter()
        if first_start is None:
            first_start = start
        result = step()
        times.append((time.perf_counter() - start) * 1000.0)
    return times, result


def save_float32(path: str, array, dtype: str = DEFAULT_DTYPE) -> None:
    """`array` (NumPy, any float dtype, or `dtype`'s storage from `to_storage`)
    as a float32 .npy: exact for f16 and bf16."""
    import numpy as np

    np.save(path, np.ascontiguousarray(widened(array, dtype) if dtype == "bf16" else array, dtype=np.float32))


def save_gradients(request: dict, query, key, value) -> None:
    """dQ, dK and dV (NumPy, any float dtype) as float32 .npy at the paths of
    the request's `gradients` object."""
    paths = request["gradients"]
    for name, array in (("query", query), ("key", key), ("value", value)):
        save_float32(paths[name], array)


# MARK: - Command line


def serve(argv: Sequence[str], name: str, description: str, backends: Sequence[str],
          probe: Callable[[], dict], run: Callable[[str, str], dict]) -> int:
    """`NAME --backend B probe | run REQUEST.json`: prints one JSON answer and
    returns 0 (an `unsupported` one when `run` raises Unsupported), or, when
    `run` raises anything else, prints the traceback and then one
    summary line (`NAME --backend B: Error: message`, the line attnbench
    shows) on standard error and returns 1."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", choices=backends, default=backends[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("probe", help="print whether the library is available")
    run_parser = commands.add_parser("run", help="measure the case of REQUEST.json")
    run_parser.add_argument("request", metavar="REQUEST.json")
    arguments = parser.parse_args(argv)

    channel = JsonChannel()
    if arguments.command == "probe":
        channel.emit(probe())
        return 0
    try:
        channel.emit(run(arguments.backend, arguments.request))
    except Unsupported as why:
        channel.emit(unsupported(str(why)))
    except Exception as error:
        traceback.print_exc()
        # attnbench reports the last line of standard error: make it the summary.
        message = " ".join(str(error).split()) or "(no message)"
        print(f"{name} --backend {arguments.backend}: {type(error).__name__}: {message}", file=sys.stderr)
        sys.stderr.flush()
        return 1
    return 0
