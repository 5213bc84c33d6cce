"""Formatting for the figures: tick labels with units, axis labels, titles.

Tick formatters take (value, position) as matplotlib's FuncFormatter passes
them; the position is ignored.
"""

from __future__ import annotations

import math
from pathlib import Path


def format_seq_len(value: float, _position=None) -> str:
    """A length in tokens, with K = 1024 when it is a whole multiple: 512, 1K, 16K."""
    number = int(round(value))
    if number >= 1024 and number % 1024 == 0:
        return f"{number // 1024}K"
    return str(number)


def format_kv_len(value: float, _position=None) -> str:
    """Like format_seq_len, with M = 1024² for the long key lengths of decode."""
    number = int(round(value))
    if number >= 1024**2 and number % 1024**2 == 0:
        return f"{number // 1024**2}M"
    return format_seq_len(value)


def format_number(value: float) -> str:
    """A calibration or ratio for a label: 3 significant digits, no exponent."""
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def format_ms(value: float, _position=None) -> str:
    """A time given in ms, in µs, ms or s, whichever reads best."""
    if value <= 0:
        return "0"
    if value < 1:
        return f"{value * 1000:.3g} µs"
    if value < 1000:
        return f"{value:.3g} ms"
    return f"{value / 1000:.3g} s"


def format_bytes(value: float, _position=None) -> str:
    """A byte count in binary units: 512 B, 2 MiB, 1.5 GiB."""
    if value <= 0:
        return "0"
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    exponent = min(int(math.log(value, 1024) + 1e-9), len(units) - 1)
    scaled = value / 1024**exponent
    text = f"{scaled:.0f}" if abs(scaled - round(scaled)) < 0.05 else f"{scaled:.1f}"
    return f"{text} {units[exponent]}"


def format_plain(value: float, _position=None) -> str:
    """A log-axis tick as a plain number: 0.5, 2, 10, 200, 5000."""
    if value <= 0:
        return "0"
    return f"{value:.0f}" if value >= 1 else f"{value:.3g}"


def x_axis_label(sweep) -> str:
    """The per-pattern figures' x label: sequence length, or key length in decode."""
    if not sweep.decode:
        return "sequence length (tokens, K = 1024)"
    label = "key length Nk (KV cache; K = 1024, M = 1024²)"
    if len(sweep.query_lens) == 1:
        label += f", Nq = {format_seq_len(sweep.query_lens[0])}"
    return label


def environment_subtitle(environment: dict) -> str:
    """The machine line (CPU, BLAS core, threads, commit) and one line per warning."""
    parts = []
    if environment.get("cpu_model"):
        parts.append(str(environment["cpu_model"]).strip())
    if environment.get("blas_core"):
        parts.append(f"OpenBLAS core {environment['blas_core']}")
    if environment.get("threads") not in (None, ""):
        parts.append(f"{environment['threads']} threads")
    if environment.get("git_commit"):
        parts.append(f"git {str(environment['git_commit'])[:10]}")
    elif environment.get("label"):
        parts.append(str(environment["label"]))
    text = " · ".join(parts)
    warnings = environment_warnings(environment)
    if warnings:
        # One line each: a figure is as wide as its longest title line.
        text += ("\n" if text else "") + "\n".join(f"WARNING: {w}" for w in warnings)
    return text


def environment_warnings(environment: dict) -> list[str]:
    """What the environment report warns of, one short sentence each."""
    warnings = []
    if environment.get("calibration_warning"):
        start, end = environment.get("sgemm_gflops_start"), environment.get("sgemm_gflops_end")
        span = (f" (start {start:.0f}, end {end:.0f} GFLOP/s)"
                if isinstance(start, (int, float)) and isinstance(end, (int, float)) else "")
        warnings.append(f"sgemm calibration disagreed{span}: fractions of sgemm uncertain")
    if environment.get("compute_peak_warning"):
        warnings.append("compute peak moved during the sweep: fractions of peak uncertain")
    if environment.get("bandwidth_warning"):
        checks = environment.get("read_bandwidth_gbps_checks") or []
        values = [v for v in [environment.get("read_bandwidth_gbps_start"),
                              environment.get("read_bandwidth_gbps_end")] + list(checks)
                  if isinstance(v, (int, float))]
        span = f" ({min(values):.0f}-{max(values):.0f} GB/s)" if values else ""
        warnings.append(f"read bandwidth moved during the sweep{span}:"
                        " memory-bound rows use the check next to each case")
    if environment.get("disturbed_cases"):
        warnings.append(f"{environment['disturbed_cases']} case(s) measured while the machine"
                        " was disturbed")
    return warnings


def titles(csv_path: Path, title: str | None, environment: dict) -> tuple[str, str]:
    """(title, subtitle): --title or the file name; then the file name if --title
    replaced it, and the environment, joined by " — "."""
    parts = []
    if title:
        parts.append(csv_path.name)
    subtitle = environment_subtitle(environment)
    if subtitle:
        parts.append(subtitle)
    return title or csv_path.name, " — ".join(parts)
