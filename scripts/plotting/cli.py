"""The command line of scripts/plot.py: read a report, write its figures.

Every figure is written as PNG and SVG (NAME-time, NAME-memory, NAME-gflops,
and NAME-roofline when the report has the roofline columns), by default
beside the CSV, and each path written is printed on its own line. A report
with several passes (its ``pass`` column: forward, backward, both) gets each
figure once per pass, NAME-PASS-time and so on, in the same style. Bad input
is one ``plot.py: error:`` line on stderr and exit code 2; a missing
matplotlib exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import PROG
from .formatting import titles
from .report import InputError, read_cases, read_environment
from .roofs import roofline_note, roofline_roofs
from .sweep import organise, use_sgemm_reference


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """The arguments; argparse exits with code 2 and its usage on a bad one."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Plot time, memory and GFLOP/s figures (NAME-time, NAME-memory,"
            " NAME-gflops) and, for schema-4 reports with arithmetic_intensity and"
            " read_bandwidth_gbps, a roofline (NAME-roofline) from an attnbench sweep"
            " CSV, as PNG and SVG. Decode reports (kv_len != seq_len in some row)"
            " put the key length Nk on x and draw one line per query length Nq."
        ),
    )
    parser.add_argument("csv", type=Path, help="the sweep CSV (results/NAME.csv)")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where to write the figures (default: beside the CSV)")
    parser.add_argument("--title", default=None,
                        help="figure title (default: the CSV file name)")
    return parser.parse_args(argv)


def import_pyplot():
    """matplotlib.pyplot on the Agg backend; exit code 1 if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        print(
            f"{PROG}: error: matplotlib is not installed; run scripts/plot.sh, or"
            " python3 -m pip install --user matplotlib",
            file=sys.stderr,
        )
        sys.exit(1)
    matplotlib.use("Agg")
    # The same report draws the same SVG bytes: a fixed salt for the ids
    # matplotlib would otherwise draw at random, and no date (below).
    matplotlib.rcParams["svg.hashsalt"] = "attnbench"
    import matplotlib.pyplot as plt

    return plt


def main(argv: list[str]) -> int:
    """Run the command on `argv` (without the program name); the exit code."""
    arguments = parse_arguments(argv)
    csv_path: Path = arguments.csv
    try:
        if csv_path.is_dir():
            raise InputError(f"cannot read {csv_path}: is a directory")
        cases = read_cases(csv_path)
    except InputError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2

    environment = read_environment(csv_path)
    title, subtitle = titles(csv_path, arguments.title, environment)
    out_dir: Path = arguments.out_dir or csv_path.parent
    passes = list(dict.fromkeys(case.pass_name for case in cases))
    for pass_name in passes:
        subset = [case for case in cases if case.pass_name == pass_name]
        name = csv_path.stem if len(passes) == 1 else f"{csv_path.stem}-{pass_name}"
        heading = title if len(passes) == 1 else f"{title}: {pass_name} pass"
        status = plot_report(csv_path, subset, name, heading, subtitle, environment, out_dir)
        if status != 0:
            return status
    return 0


def plot_report(csv_path: Path, cases: list, name: str, title: str, subtitle: str,
                environment: dict, out_dir: Path) -> int:
    """Write the figures of `cases` (one pass of the report) as NAME-KIND; the exit code."""
    sweep = organise(cases, name)
    if not sweep.x_values:
        print(f"{PROG}: error: {csv_path}: no row has a usable {sweep.x_column}",
              file=sys.stderr)
        return 2
    use_sgemm_reference(sweep, environment)

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"{PROG}: error: cannot create {out_dir}: {error.strerror}", file=sys.stderr)
        return 2

    # The roofline needs the schema-4 columns; decide before drawing anything.
    roofs = roofline_roofs(cases, environment)
    note = roofline_note(csv_path, cases, roofs)

    plt = import_pyplot()
    from .figures import PANEL_FIGURES, make_figure, make_roofline  # imports matplotlib

    figures = [(kind.suffix, lambda kind=kind: make_figure(sweep, kind, title, subtitle, plt))
               for kind in PANEL_FIGURES]
    if note is None:
        figures.append(("roofline",
                        lambda: make_roofline(sweep, cases, roofs, title, subtitle, plt)))
    for suffix, make in figures:
        figure = make()
        for extension in ("png", "svg"):
            path = out_dir / f"{name}-{suffix}.{extension}"
            try:
                figure.savefig(path, dpi=130 if extension == "png" else None,
                               bbox_inches="tight", pad_inches=0.15,
                               metadata={"Date": None} if extension == "svg" else None)
            except OSError as error:
                print(f"{PROG}: error: cannot write {path}: {error.strerror}",
                      file=sys.stderr)
                return 2
            print(path)
        plt.close(figure)
    if note is not None:
        print(f"{PROG}: note: {note}; roofline figure not written", file=sys.stderr)
    return 0
