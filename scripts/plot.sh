#!/usr/bin/env bash
# Plots an attnbench sweep CSV: scripts/plot.sh results/NAME.csv [plot.py args...]
# Writes NAME-time, NAME-memory and NAME-gflops (.png and .svg) beside the CSV
# (or in --out-dir) and prints their paths; see scripts/plot.py for the figures.
#
# Uses the system python3 when it has matplotlib; otherwise a virtual
# environment at .venv in the repository root (git-ignored), created and
# given matplotlib on first use.
set -euo pipefail

if (($# == 0)); then
    echo "usage: scripts/plot.sh results/NAME.csv [--out-dir DIR] [--title TEXT]" >&2
    exit 2
fi

# Work in the repository root (the venv lives there), but run plot.py from the
# caller's directory so that relative paths in the arguments mean what they say.
caller="$PWD"
cd "$(dirname "$0")/.."
root="$PWD"

if python3 -c 'import matplotlib' >/dev/null 2>&1; then
    cd "$caller"
    exec python3 "$root/scripts/plot.py" "$@"
fi

venv="$root/.venv"
if ! "$venv/bin/python" -c 'import matplotlib' >/dev/null 2>&1; then
    echo "plot.sh: matplotlib not found; installing it into $venv (once)" >&2
    if ! python3 -m venv "$venv" >&2; then
        echo "plot.sh: could not create $venv; install matplotlib yourself with:" >&2
        echo "    python3 -m pip install --user matplotlib" >&2
        echo "  (on Debian: apt-get install python3-matplotlib, or python3-venv for the venv)" >&2
        exit 1
    fi
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check matplotlib >&2; then
        echo "plot.sh: pip install into $venv failed; install matplotlib yourself with:" >&2
        echo "    $venv/bin/python -m pip install matplotlib" >&2
        echo "  or: python3 -m pip install --user matplotlib" >&2
        exit 1
    fi
fi
cd "$caller"
exec "$venv/bin/python" "$root/scripts/plot.py" "$@"
