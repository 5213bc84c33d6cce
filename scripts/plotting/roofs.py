"""The roofline's data: the roofs of each thread count and the points under them.

The compute roof is the measured peak of the widest instruction the rows'
kernels use (``peak_gflops``, schema 6); reports before schema 6 have no
peak, and their compute roof is sgemm, as they computed it. The memory roof
is the read bandwidth (the check next to each case, schema 6, else the
sweep's). A report without the roofline columns (schema 1-3), or without a
measured case that has them, gets a note instead of the figure.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from .report import MEASURED_STATUSES, Case
from .sweep import median, usable


@dataclass
class Roofs:
    """The roofs of one thread count: median calibrations over its rows.

    The compute roof is the highest of ``peaks``; narrower instructions'
    peaks are drawn too, and sgemm is a dashed reference line below them.
    Without peaks, the compute roof is sgemm.
    """

    threads: str
    sgemm_gflops: float | None
    bandwidth_gbps: float
    peaks: list[tuple[str, float]]  # (peak_instruction, GFLOP/s), highest first

    @property
    def compute(self) -> float | None:
        """The compute roof in GFLOP/s, or None without peak and sgemm."""
        return self.peaks[0][1] if self.peaks else self.sgemm_gflops

    @property
    def ridge(self) -> float | None:
        """The intensity (FLOP/byte) where the memory roof meets the compute roof."""
        return self.compute / self.bandwidth_gbps if self.compute else None


def roofline_roofs(cases: list[Case], environment: dict) -> list[Roofs]:
    """Roofs per thread count, from the rows' bandwidth (the check next to
    each case, read_bandwidth_gbps_local, else read_bandwidth_gbps), peaks
    (peak_gflops per peak_instruction) and sgemm_gflops.

    With no bandwidth in any row, the environment's
    read_bandwidth_gbps_reference is used if the report has one thread count.
    A thread count without any bandwidth has no roofs.
    """
    by_threads: dict[str, tuple[list[float], list[float], dict[str, list[float]]]] = OrderedDict()
    for case in cases:
        bandwidths, sgemms, peaks = by_threads.setdefault(case.shape["threads"], ([], [], OrderedDict()))
        value = case.value("read_bandwidth_gbps_local")
        if value is None:
            value = case.value("read_bandwidth_gbps")
        if value is not None and value > 0:
            bandwidths.append(value)
        value = case.value("sgemm_gflops")
        if value is not None and value > 0:
            sgemms.append(value)
        value, instruction = case.value("peak_gflops"), case.peak_instruction
        if value is not None and value > 0 and instruction:
            peaks.setdefault(instruction, []).append(value)
    reference = environment.get("read_bandwidth_gbps_reference")
    if (len(by_threads) == 1 and isinstance(reference, (int, float)) and reference > 0
            and not next(iter(by_threads.values()))[0]):
        next(iter(by_threads.values()))[0].append(float(reference))
    return [
        Roofs(threads, median(sgemms) if sgemms else None, median(bandwidths),
              sorted(((name, median(values)) for name, values in peaks.items()), key=lambda p: -p[1]))
        for threads, (bandwidths, sgemms, peaks) in by_threads.items()
        if bandwidths
    ]


def roofline_points(cases: list[Case]) -> list[Case]:
    """Measured cases (ok or wrong) that have an intensity and a GFLOP/s rate."""
    return [
        case
        for case in cases
        if case.status in MEASURED_STATUSES
        and usable(case.value("arithmetic_intensity"), True)
        and usable(case.value("useful_gflops"), True)
    ]


def roofline_note(csv_path: Path, cases: list[Case], roofs: list[Roofs]) -> str | None:
    """Why the report gets no roofline figure, or None when it gets one."""
    if not any(usable(case.value("arithmetic_intensity"), True) for case in cases) or not roofs:
        return (f"{csv_path} has no arithmetic_intensity / read_bandwidth_gbps"
                " values (they come with report schema 4)")
    if not roofline_points(cases):
        return f"{csv_path} has no measured case with an arithmetic_intensity"
    return None
