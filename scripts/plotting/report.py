"""Reading a sweep report: the CSV's rows as Cases, and the environment JSON.

Every schema version reads (1 to 6 today): only REQUIRED_COLUMNS must be in
the header, and a column an older report lacks reads as empty cells, e.g.
``kernel_choice`` (peers) before version 3, the roofline columns before 4,
``machine`` before 5, ``peak_gflops`` / ``peak_instruction`` /
``read_bandwidth_gbps_local`` before 6. The figures decide what to do with
the empty cells.

The ``dtype`` column (the storage precision of Q, K, V and O: ``f32``,
``f16`` or ``bf16``) is part of a row's key; a report without it, or an
empty cell, means ``f32``.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from . import PROG

REQUIRED_COLUMNS = (
    "status",
    "strategy",
    "pattern",
    "seq_len",
    "median_ms",
    "peak_extra_bytes",
    "useful_gflops",
)

NUMERIC_COLUMNS = (
    "seq_len",
    "kv_len",
    "median_ms",
    "p10_ms",
    "p90_ms",
    "peak_extra_bytes",
    "predicted_extra_bytes",
    "useful_gflops",
    "sgemm_gflops",
    "read_bandwidth_gbps",
    "read_bandwidth_gbps_local",
    "peak_gflops",
    "arithmetic_intensity",
)

# Fields that define a problem shape besides the x axis length. When any of
# them takes more than one value in a file, lines are split by them. In a
# decode report (x = kv_len) the query length seq_len is one of them too.
SHAPE_FIELDS = ("batch", "heads", "kv_heads", "head_dim", "threads", "machine")
DECODE_SHAPE_FIELDS = ("seq_len",) + SHAPE_FIELDS

MEASURED_STATUSES = ("ok", "wrong")
MARKED_STATUSES = ("skipped", "failed", "timeout")
UNSUPPORTED = "unsupported"

# The storage precisions in the order the figures list them; a report
# without the dtype column (or an empty cell) is all DEFAULT_DTYPE. Other
# values are kept as they are and listed after these.
DTYPE_ORDER = ("f32", "f16", "bf16")
DEFAULT_DTYPE = "f32"
# The pass of a report without the pass column (before schema 8), or of an empty cell.
DEFAULT_PASS = "forward"

# The kernel_choice of a peer's rows: another library's attention, run by
# the sweep as a child process.
PEER_KERNEL_CHOICE = "peer"


class InputError(Exception):
    """Bad input: reported as one line with exit code 2."""


@dataclass
class Case:
    """One row of the CSV, with the cells the figures need parsed."""

    status: str
    reason: str
    strategy: str
    pattern: str
    seq_len: float | None
    kv_len: float | None
    values: dict[str, float | None]
    shape: dict[str, str]
    tile: str
    kernel_choice: str = ""
    peak_instruction: str = ""
    dtype: str = DEFAULT_DTYPE
    # The pass timed (the ``pass`` column of schema 8; older reports: forward).
    pass_name: str = DEFAULT_PASS

    def value(self, column: str) -> float | None:
        """The parsed cell of one of NUMERIC_COLUMNS, or None if it is empty."""
        return self.values.get(column)


def parse_number(text: str | None) -> float | None:
    """A finite float from a cell, or None for an empty or unparseable one."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def read_cases(path: Path) -> list[Case]:
    """Read the sweep CSV; raise InputError naming the file if it is unusable."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames
            if not header:
                raise InputError(f"{path}: empty file, expected a CSV header")
            header = [name.strip() for name in header]
            reader.fieldnames = header
            missing = [name for name in REQUIRED_COLUMNS if name not in header]
            if missing:
                raise InputError(
                    f"{path}: missing required column(s): {', '.join(missing)}"
                )
            rows = list(reader)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read {path}: not UTF-8 text") from None
    except csv.Error as error:
        raise InputError(f"{path}: malformed CSV: {error}") from None

    cases = []
    for row in rows:
        strategy = (row.get("strategy") or "").strip()
        pattern = (row.get("pattern") or "").strip()
        if not strategy and not pattern:
            continue  # a blank line or a row of empty cells
        cases.append(
            Case(
                status=(row.get("status") or "").strip().lower(),
                reason=(row.get("reason") or "").strip(),
                strategy=strategy or "?",
                pattern=pattern or "?",
                seq_len=parse_number(row.get("seq_len")),
                kv_len=parse_number(row.get("kv_len")),
                values={name: parse_number(row.get(name)) for name in NUMERIC_COLUMNS},
                shape={name: (row.get(name) or "").strip() for name in DECODE_SHAPE_FIELDS},
                tile=(row.get("tile") or "").strip(),
                kernel_choice=(row.get("kernel_choice") or "").strip(),
                peak_instruction=(row.get("peak_instruction") or "").strip(),
                dtype=(row.get("dtype") or "").strip().lower() or DEFAULT_DTYPE,
                pass_name=(row.get("pass") or "").strip().lower() or DEFAULT_PASS,
            )
        )
    if not cases:
        raise InputError(f"{path}: no data rows")
    if not any(case.seq_len and case.seq_len > 0 for case in cases):
        raise InputError(f"{path}: no row has a usable seq_len")
    return cases


def read_environment(csv_path: Path) -> dict:
    """The environment JSON beside the CSV (NAME.json), or {} if absent/unusable."""
    json_path = csv_path.with_suffix(".json")
    if not json_path.is_file():
        return {}
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"{PROG}: warning: ignoring {json_path}: {error}", file=sys.stderr)
        return {}
    return data if isinstance(data, dict) else {}
