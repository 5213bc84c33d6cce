# Shared by the *-targets.sh scripts (sourced, not run):
#
#   source scripts/targets-lib.sh KIND [NAME]
#
# installs what is missing, builds attnbench in release (for
# ATTNBENCH_TARGET_CPU when it is set: Package.swift reads it), and sets
#   bin   the binary;
#   dir   results/KIND/NAME (default NAME: the CPU model and the default
#         tile kernel, e.g. amd-epyc-avx2-6x16), with an empty commands.txt;
#   run OUT ARGS...   one sweep in this process (--in-process, so every
#         ratio in it is measured against the same calibration) into
#         DIR/OUT.csv and .json, its command appended to commands.txt.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/ensure-deps.sh
swift build -c release --product attnbench >&2
bin=.build/release/attnbench
targets_default=$($bin list --kernels | head -1)
targets_cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9]\+/-/g; s/^-//; s/-$//')
dir=results/$1/${2:-$targets_cpu-$targets_default}
mkdir -p "$dir"
: > "$dir/commands.txt"
run() {
    local out=$1
    shift
    rm -f "$dir/$out.csv" "$dir/$out.json"
    echo "attnbench sweep --in-process $* --out $dir/$out.csv" >> "$dir/commands.txt"
    $bin sweep --in-process --out "$dir/$out.csv" "$@" > /dev/null
}
