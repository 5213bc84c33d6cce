#!/usr/bin/env bash
# The CI performance gate. Builds the base revision (in a git worktree, same
# release flags) and this checkout, then runs the quick grid of ci-sweep.conf
# with both builds alternating per case (`attnbench ab`) and compares them.
# Works on any machine: nothing measured elsewhere is compared.
#
# Usage: scripts/ci-gate.sh [--base REV] [--out-dir DIR]
#   --base REV     the revision to compare against; default: the commit named
#                  in results/baseline/REVISION (set by update-baseline.sh when
#                  a performance change is accepted; if that commit is not in
#                  the history, e.g. after a squash merge, the commit that last
#                  changed the file). For a pull request pass the merge base
#                  with the target branch.
#   --out-dir DIR  where the two reports go (default: results/ab-gate, replaced)
#
# Exit status: 0 no regression; 1 a regression (the Markdown table on stdout
# says which); 2 the base could not be found, built or run, or the head did
# not build or run: never a silent pass.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/ci-sweep.conf

fail() { echo "ci-gate: error: $*" >&2; exit 2; }

base="" out="results/ab-gate" out_given=0
while (($#)); do
    case "$1" in
        --base) [[ $# -ge 2 ]] || fail "--base needs a revision"; base=$2; shift 2 ;;
        --base=*) base=${1#--base=}; shift ;;
        --out-dir) [[ $# -ge 2 ]] || fail "--out-dir needs a directory"; out=$2; out_given=1; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) fail "unknown argument '$1' (allowed: --base REV, --out-dir DIR)" ;;
    esac
done

resolve() { git rev-parse --verify --quiet "$1^{commit}"; }
if [[ $(git rev-parse --is-shallow-repository 2>/dev/null) == true ]]; then
    echo "ci-gate: this clone is shallow; fetching the history to find the base" >&2
    git fetch --quiet --unshallow >&2 2>/dev/null || true
fi
origin="--base"
if [[ -z $base ]]; then
    [[ -f results/baseline/REVISION ]] || fail "results/baseline/REVISION is missing and no --base REV was given"
    base=$(tr -d '[:space:]' < results/baseline/REVISION)
    origin="results/baseline/REVISION"
    if ! resolve "$base" >/dev/null; then
        # Squash and rebase merges rewrite the commit the file names; the commit
        # that last changed the file holds the accepted code too.
        last=$(git log -1 --format=%H -- results/baseline/REVISION 2>/dev/null)
        [[ -n $last ]] && echo "ci-gate: $base (named in results/baseline/REVISION) is not in the history; using $last, the commit that last changed the file" >&2
        base=${last:-$base}
        origin="the last commit to change results/baseline/REVISION"
    fi
fi
base_sha=$(resolve "$base") \
    || fail "base revision '$base' (from $origin) is not in this clone; fetch the history (GitHub Actions: actions/checkout with fetch-depth: 0) or pass --base REV"
head_sha=$(git rev-parse HEAD)
dirty=""
git diff --quiet HEAD -- 2>/dev/null || dirty=" with uncommitted changes"
echo "ci-gate: base $base_sha (from $origin); head $head_sha$dirty" >&2

scripts/ensure-deps.sh || fail "could not install the dependencies"

echo "ci-gate: building the head" >&2
swift build -c release --product attnbench >&2 || fail "the head did not build (log above)"
head_bin="$(swift build -c release --show-bin-path)/attnbench"

# The base binary is kept per revision, CPU (it is built for this CPU) and toolchain.
build_key=$( (grep -m2 -E '^(model name|flags)' /proc/cpuinfo; swift --version 2>/dev/null) | md5sum | cut -c1-12)
base_bin=".build-base/bin/$base_sha-$build_key/attnbench"
if [[ ! -x $base_bin ]]; then
    echo "ci-gate: building the base $base_sha in a worktree" >&2
    src=.build-base/src
    git worktree remove --force "$src" >/dev/null 2>&1 || rm -rf "$src"
    git worktree prune
    git worktree add --detach "$src" "$base_sha" >&2 || fail "could not check out the base $base_sha"
    swift build -c release --product attnbench --package-path "$src" --scratch-path .build-base/scratch >&2 \
        || fail "the base $base_sha did not build (log above)"
    mkdir -p "$(dirname "$base_bin")"
    cp "$(swift build -c release --package-path "$src" --scratch-path .build-base/scratch --show-bin-path)/attnbench" "$base_bin.tmp" \
        && mv "$base_bin.tmp" "$base_bin" || fail "could not copy the base binary"
    git worktree remove --force "$src" >/dev/null 2>&1 || true
fi

if ((out_given == 0)); then rm -rf "$out"; fi
# The gate compares code: both builds run their default kernels and tiles,
# whatever a tuning file on this machine says (builds before the tuning file
# ignore the variable).
export ATTNBENCH_TUNING=none
# One A/B run per grid of ci-sweep.conf: the forward grid into DIR, the
# backward grid into DIR/backward.
status=0
for grid in forward backward; do
    if [[ $grid == forward ]]; then args=("${CI_SWEEP_ARGS[@]}") dir=$out; else args=("${CI_BACKWARD_SWEEP_ARGS[@]}") dir=$out/backward; fi
    echo "ci-gate: the $grid grid" >&2
    "$head_bin" ab --baseline-binary "$base_bin" --baseline-label "base ${base_sha:0:12}" \
        --current-label "head ${head_sha:0:12}$dirty" --out-dir "$dir" \
        "${args[@]}" "${CI_AB_ARGS[@]}" "${CI_GATE_ARGS[@]}" --format markdown
    grid_status=$?
    case $grid_status in
        0) ;;
        1) status=1 ;;
        *) fail "attnbench ab ($grid grid) exited with status $grid_status: a build could not run, or the gate itself failed (its error is above)" ;;
    esac
done
echo "ci-gate: base ${base_sha:0:12} vs head ${head_sha:0:12}$dirty: $([[ $status == 0 ]] && echo 'no regression' || echo 'REGRESSION'); reports in $out" >&2
exit "$status"
