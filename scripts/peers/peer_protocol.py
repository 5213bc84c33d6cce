#!/usr/bin/env python3
"""What every attnbench peer shares, whatever library it measures.

A peer is one module per library (`torch_peer.py`, ...), run by attnbench as
a child process; the contract is docs/PEERS.md. This module holds the parts
of that contract that do not depend on the library:

- the request's protocol version and its `dtype` field (`read_request`);
- the JSON channel: one answer line on the real standard output, whatever
  the library writes to file descriptor 1 (`JsonChannel`);
- the memory readings: the resident set, its peak since a reset, and the
  process's lifetime peak, from /proc (`resident_bytes`, `reset_peak`, ...);
- the repetition policy: warmup, then at least `min_reps` and `min_time`,
  at most `max_reps` timed runs (`timed_runs`);
- the output writing: float32 `.npy`, an exact widening of a half-precision
  output (`save_float32`);
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


def read_request(path: str) -> tuple:
    """The request at `path` and its dtype; raises ValueError when it speaks
    another protocol or names a dtype outside `DTYPES`."""
    with open(path) as file:
        request = json.load(file)
    if request.get("protocol") != PROTOCOL:
        raise ValueError(f"request speaks protocol {request.get('protocol')}, this peer speaks {PROTOCOL}")
    return request, request_dtype(request)


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


def save_float32(path: str, array) -> None:
    """`array` (NumPy, any float dtype) as a float32 .npy: exact for f16 and bf16."""
    import numpy as np

    np.save(path, np.ascontiguousarray(array, dtype=np.float32))


# MARK: - Command line


def serve(argv: Sequence[str], name: str, description: str, backends: Sequence[str],
          probe: Callable[[], dict], run: Callable[[str, str], dict]) -> int:
    """`NAME --backend B probe | run REQUEST.json`: prints one JSON answer and
    returns 0, or, when `run` raises, prints the traceback and then one
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
    except Exception as error:
        traceback.print_exc()
        # attnbench reports the last line of standard error: make it the summary.
        message = " ".join(str(error).split()) or "(no message)"
        print(f"{name} --backend {arguments.backend}: {type(error).__name__}: {message}", file=sys.stderr)
        sys.stderr.flush()
        return 1
    return 0
