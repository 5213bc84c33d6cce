#!/usr/bin/env bash
# The sharded sweep on a real Slurm: starts a one-node cluster on this
# machine (Debian's slurm-wlm and munge; slurmctld and slurmd on localhost,
# a slurm.conf generated for this machine's cores and memory), submits a
# small grid as a 4-task array plus its merge job with scripts/slurm/submit.sh,
# waits, and checks that the merged report has exactly the cases of an
# unsharded `sweep --dry-run` of the same grid, each verified. Stops the
# daemons it started, whatever happens.
#
#   scripts/slurm/integration-test.sh [ATTNBENCH]
#
# Needs root (or sudo) to install the packages and run the daemons. Exits 0
# when the check passes, 1 when it fails, and 77 ("skipped") with a line
# saying why when Slurm cannot be installed or started here.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
attnbench=${1:-$root/.build/release/attnbench}
skip() {
    echo "slurm-integration: SKIPPED: $*" >&2
    exit 77
}
say() { echo "slurm-integration: $*"; }

[ -x "$attnbench" ] || { echo "slurm-integration: $attnbench is not built (swift build -c release)" >&2; exit 1; }
sudo=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || skip "not root and no sudo: cannot install or run slurmctld"
    sudo="sudo"
fi
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    say "installing slurm-wlm and munge"
    started=$SECONDS
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq slurm-wlm munge; } \
        >/tmp/slurm-integration-apt.log 2>&1 \
        || skip "apt-get install slurm-wlm munge failed (log: /tmp/slurm-integration-apt.log)"
    say "installed in $((SECONDS - started)) s"
fi

work=$(mktemp -d /tmp/attnbench-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    local status=$?
    for pidfile in "$work/slurmd.pid" "$work/slurmctld.pid" "$work/munge/munged.pid"; do
        [ -f "$pidfile" ] && $sudo kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do $sudo kill "$pid" 2>/dev/null || true; done
    sleep 1
    if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
        for log in "$work"/*.log; do
            [ -f "$log" ] && { echo "--- $log (last lines)"; tail -20 "$log"; }
        done >&2
    fi
    [ -n "${KEEP:-}" ] || $sudo rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# munge: a fresh key, its own socket and pid file in the work folder.
id munge >/dev/null 2>&1 || skip "the munge package did not create its user"
# The socket's folder must be open to every user, the key's closed to all but munge.
$sudo mkdir -p "$work/munge/key"
$sudo dd if=/dev/urandom of="$work/munge/key/munge.key" bs=1024 count=1 status=none
$sudo chown -R munge: "$work/munge"
$sudo chmod 755 "$work/munge"
$sudo chmod 700 "$work/munge/key"
$sudo chmod 400 "$work/munge/key/munge.key"
socket=$work/munge/munge.socket
as_munge=(runuser -u munge --)
[ -n "$sudo" ] && as_munge=(sudo -u munge)
"${as_munge[@]}" munged --key-file="$work/munge/key/munge.key" --socket="$socket" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/seed" \
    || skip "munged did not start (see $work/munge/munged.log)"

# slurm.conf for this machine: its hostname, cores and memory.
host=$(hostname -s)
cpus=$(nproc)
memory_mb=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))
mkdir -p "$work/state" "$work/spool"
conf=$work/slurm.conf
cat >"$conf" <<CONF
ClusterName=attnbench
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
NodeName=$host CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=EXCLUSIVE
CONF
export SLURM_CONF=$conf
$sudo slurmctld -f "$conf" || skip "slurmctld did not start (see $work/slurmctld.log)"
$sudo slurmd -f "$conf" || skip "slurmd did not start (see $work/slurmd.log)"
for _ in $(seq 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^idle'; then break; fi
    sleep 1
done
sinfo -h -o '%T' | grep -qE '^idle' || skip "the node did not become idle within 60 s: $(sinfo -h 2>&1 | head -1)"
say "cluster up: $(sinfo -h -o '%N %c CPUs %m MB %T')"

# A small grid: 4 strategies × 3 patterns × 3 lengths = 36 cases, 4 shards.
grid=(--strategies dense,tiled,sliding,block-sparse --patterns full,causal,window:16 --seq-lens 64,128,256
    --heads 2 --head-dims 16 --threads "$cpus" --warmup 0 --min-reps 2 --max-reps 3 --min-time 0)
out=$work/results/sweep.csv
started=$SECONDS
ATTNBENCH=$attnbench WAIT=1 PLOT=0 scripts/slurm/submit.sh 4 "$out" "${grid[@]}"
say "array and merge jobs finished in $((SECONDS - started)) s"
ls "$work/results"

# The merged report against an unsharded dry run of the same grid.
"$attnbench" sweep --dry-run --out "$work/dry.csv" "${grid[@]}" >"$work/dry-run.txt"
python3 - "$work/dry-run.txt" "$out" <<'PY'
import csv, re, sys

dry_path, merged_path = sys.argv[1:]
expected = {}
for line in open(dry_path):
    m = re.match(r"^(\S.*?\bT=\d+(?: tile \S+)?)\s+(run|skip|n/a|invalid)\s", line)
    if m:
        expected[m.group(1)] = m.group(2)
rows = list(csv.DictReader(open(merged_path)))
def key(r):
    n = r["seq_len"] + ("" if r["kv_len"] == r["seq_len"] else "/" + r["kv_len"])
    tile = f" tile {r['tile']}" if r["tile"] else ""
    return f"{r['strategy']} {r['pattern']} B={r['batch']} H={r['heads']}/{r['kv_heads']} N={n} d={r['head_dim']} T={r['threads']}{tile}"
got = [key(r) for r in rows]
problems = []
if len(got) != len(set(got)):
    problems.append(f"{len(got) - len(set(got))} duplicated case(s)")
if set(got) != set(expected):
    problems.append(f"missing {sorted(set(expected) - set(got))}, unexpected {sorted(set(got) - set(expected))}")
for r, k in zip(rows, got):
    verdict = expected.get(k)
    if verdict == "run" and not (r["status"] == "ok" and r["rel_frobenius_error"] and float(r["rel_frobenius_error"]) <= 1e-5):
        problems.append(f"{k}: status {r['status']} ({r['reason']}), rel error '{r['rel_frobenius_error']}'")
    if verdict == "n/a" and r["status"] != "unsupported":
        problems.append(f"{k}: expected unsupported, got {r['status']}")
ran = sum(1 for v in expected.values() if v == "run")
if problems:
    print("slurm-integration: FAILED: " + "; ".join(problems[:10]))
    sys.exit(1)
print(f"slurm-integration: merged report has the dry run's {len(expected)} cases exactly, each of the {ran} that run verified ok")
PY
say "passed"
