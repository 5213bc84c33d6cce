#!/usr/bin/env python3
"""Plot an `attnbench sweep` CSV as three figures, plus a roofline.

Usage::

    python3 scripts/plot.py results/NAME.csv [--out-dir DIR] [--title TEXT]

Each figure is written as PNG and SVG, by default next to the CSV, and every
path written is printed on its own line:

``NAME-time``
    Median time per call (ms) against the sequence length (the key length
    in a decode report, see below), log-log. The shaded band around each
    line spans the 10th to 90th percentile of the repetitions.
``NAME-memory``
    Peak extra memory (``peak_extra_bytes``) against the sequence (or key)
    length, log-log, with the strategy's prediction (``predicted_extra_bytes``) as a
    thin dashed line of the same colour. When skip reasons name a
    ``--memory-limit``, it is drawn as a dotted black line.
``NAME-gflops``
    Useful GFLOP/s against the sequence (or key) length (log x, linear y). The
    measured ``sgemm_gflops`` calibration, when present, is a grey dashed
    reference line.
``NAME-roofline``
    Useful GFLOP/s (``useful_gflops``) against ``arithmetic_intensity``
    (useful FLOPs per byte of ``min_bytes``: Q, K, V read once, O written
    once), log-log, one point per ``ok`` / ``wrong`` case. Under it the two
    roofs of the report's calibrations (the median over rows of each; with no
    bandwidth in any row, ``read_bandwidth_gbps_reference`` of NAME.json): the
    compute roof, flat at the measured peak of the widest instruction the
    rows' kernels use (``peak_gflops``; narrower instructions' peaks are
    thinner lines, and ``sgemm_gflops`` a dashed reference line below: a
    tuned GEMM, not a limit), and the memory roof, the line
    y = ``read_bandwidth_gbps_local`` × x (the check next to each case), which
    meet at the ridge point x = peak / bandwidth (FLOP/byte, marked). Reports
    before schema 6 have no peak; their compute roof is ``sgemm_gflops``.
    Beyond their roof each line goes on dotted.
    All patterns share one panel: the marker shape (and colour) names the
    strategy, the marker fill the pattern (filled, hollow, half, ...), and a
    red ring a wrong result. Skipped / failed / timeout cases are not shown;
    their count is printed above the panel. With several thread counts, each
    gets its own pair of roofs, labelled T=... . A report without these
    columns (schema 1-3), or without a measured case that has them, gets a
    one-line ``plot.py: note:`` on stderr instead of this figure.

Layout shared by the first three: one panel per mask pattern (in the order the
patterns first appear in the CSV), one line per strategy, and one colour per
strategy that is the same in every panel and every figure. When the CSV holds
more than one shape (batch, heads, kv_heads, head_dim, threads, or several
tiles for one strategy), each shape gets its own line, with its own marker,
and the legend names the fields that differ. The ``machine`` column of a
report that ``attnbench merge --allow-mixed`` joined from several machines
splits lines the same way ("tiled (machine=AMD EPYC · Zen · ...)").

Peers (rows whose ``kernel_choice`` is ``peer``: another library's attention,
such as ``torch-sdpa``, run by the sweep as a child process) are drawn with
dashed lines and hollow markers. Each peer library (the name before the first
``-``: ``torch``, ``onnxruntime``, ``openvino``, ``ggml``) has a colour family
of its own, away from the native strategies' colours, and each of its
backends (``torch-sdpa``, ``torch-flex``, ``torch-math``) a shade and a marker
of its own (the table is ``PEER_STYLES`` in ``plotting/styles.py``), so a
native strategy, the library a user would otherwise pick and the library's
backends are told apart at a glance. The memory figure draws no prediction
line for a peer: its prediction is only the planner's rough estimate for
``--memory-limit``.

Precision: the ``dtype`` column (the storage of Q, K, V and O: ``f32``,
``f16``, ``bf16``; a report without it is ``f32`` in every row) is part of
a series' identity. A report with one dtype is drawn as if it had no such
column (a dtype other than f32 is named at the end of each figure's
heading, e.g. "NAME.csv: median time per call, bf16"). A report with
several draws a line per strategy (or peer) and dtype: the colour and
marker stay the strategy's, the line style names the dtype (f32 solid, f16
dashed, bf16 dotted; for peers too, which keep their hollow markers and
colour family), and the legend says it ("tiled · bf16", "torch-sdpa · f16
(peer)"), as do the skipped / failed words on the top strip; a strategy
unsupported in only some dtypes is listed as "n/a: torch-flex · bf16". In
the roofline each strategy and dtype gets a marker shape of its own.

Decode reports: when any row has ``kv_len`` different from ``seq_len`` (Nq
queries against a KV cache of Nk keys, e.g. Nq = 1 or 16 against Nk = 4K ...
1M), the x axis of the first three figures is ``kv_len``, labelled "key
length Nk (KV cache)", and ``seq_len`` becomes a shape field: each query
length gets its own line, e.g. "tiled (Nq=1)" and "tiled (Nq=16)". With a
single query length it is named in the axis label instead. A report that
mixes prefill and decode rows is plotted this way too. Prefill reports
(``kv_len`` equal to ``seq_len``, or absent, in every row) keep the sequence
length on x.

Cases that produced no measurement stay visible. ``skipped`` cases (over the
memory budget) are hollow triangles and ``failed`` / ``timeout`` cases are
filled crosses, both in the strategy's colour on a strip at the top of the
panel at their x; ``wrong`` cases are plotted with their measured values and a
red ring around the marker. ``unsupported`` cases are
not plotted; the strategies concerned are listed as "n/a: ..." at the top
right of the panel.

If ``NAME.json`` sits beside the CSV (the environment report), a subtitle is
made from the keys it has of ``cpu_model``, ``blas_core``, ``threads`` and
``git_commit``.

Bad input (an unreadable file, a missing required column, no data rows) gets
one ``plot.py: error:`` line on stderr and exit code 2.

The code is the package ``scripts/plotting`` beside this file (its
``__init__`` names a module per concern); this file runs its command line.
"""

import os
import sys

# The package beside this file, also when Python leaves the script's folder
# off the path (python -P, PYTHONSAFEPATH).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from plotting.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
