#!/usr/bin/env bash
# Submits a sharded attnbench sweep to Slurm: a job array of SHARDS tasks
# (sweep-array.sbatch, one shard each, exclusive nodes), then a merge job
# (merge.sbatch) that waits for all of them with --dependency=afterok.
#
#   scripts/slurm/submit.sh SHARDS OUT.csv [sweep flags...]
#   scripts/slurm/submit.sh 8 results/cluster/sweep.csv --seq-lens 1024:65536 --head-dims 64,128
#
# The binary is ATTNBENCH, or this checkout's .build/release/attnbench (built
# here if missing: it must run on the compute nodes, see sweep-array.sbatch).
# Extra sbatch options go in SBATCH_ARGS (e.g. "--partition=cpu --time=12:00:00").
# Prints the two job ids; `sbatch --wait`-style waiting: WAIT=1.
set -euo pipefail
if (($# < 2)); then
    echo "usage: scripts/slurm/submit.sh SHARDS OUT.csv [attnbench sweep flags...]" >&2
    exit 2
fi
shards=$1 out=$2
shift 2
if ! [[ $shards =~ ^[1-9][0-9]*$ ]]; then
    echo "submit.sh: SHARDS must be a whole number ≥ 1, got '$shards'" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${ATTNBENCH:-}" ]; then
    ATTNBENCH=$root/.build/release/attnbench
    [ -x "$ATTNBENCH" ] || (cd "$root" && swift build -c release >&2)
fi
case $out in /*) ;; *) out=$PWD/$out ;; esac
mkdir -p "$(dirname "$out")"
export ATTNBENCH OUT=$out SHARDS=$shards SWEEP_ARGS="$*" ATTNBENCH_ROOT=$root
# Each job writes its log beside the report.
logs=$(dirname "$out")
# shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
array=$(sbatch --parsable --export=ALL ${SBATCH_ARGS:-} --array="0-$((shards - 1))" \
    --output="$logs/attnbench-sweep-%A_%a.out" "$here/sweep-array.sbatch")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable --export=ALL ${SBATCH_ARGS:-} --dependency="afterok:$array" \
    --output="$logs/attnbench-merge-%j.out" ${WAIT:+--wait} "$here/merge.sbatch")
echo "array job $array ($shards shards), merge job ${merge%%;*}: report $out"
