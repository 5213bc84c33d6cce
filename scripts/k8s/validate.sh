#!/usr/bin/env bash
# Checks the Kubernetes files against the Job schema, offline, with
# kubernetes-validate from PyPI (it carries the schemas of each Kubernetes
# release; installed once into .venv-k8s/), in strict mode (unknown fields are
# errors). Then checks what the schema cannot: the sweep is an Indexed Job,
# its pods are Guaranteed (requests equal limits) with a whole number of CPUs,
# --threads equals that number, and --shard equals the completions.
#
#   scripts/k8s/validate.sh [KUBERNETES_VERSION]      (default: the tool's newest)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.venv-k8s
if ! "$venv/bin/kubernetes-validate" --version >/dev/null 2>&1; then
    echo "k8s-validate: installing kubernetes-validate into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check kubernetes-validate >&2
fi
version_flag=()
[ -n "${1:-}" ] && version_flag=(--kubernetes-version "$1")
"$venv/bin/kubernetes-validate" --strict "${version_flag[@]}" scripts/k8s/sweep-indexed-job.yaml scripts/k8s/merge-job.yaml
"$venv/bin/python" - scripts/k8s/sweep-indexed-job.yaml scripts/k8s/merge-job.yaml <<'PY'
import sys
import yaml

problems = []
for path in sys.argv[1:]:
    for doc in yaml.safe_load_all(open(path)):
        if not doc or doc.get("kind") != "Job":
            continue
        name = doc["metadata"]["name"]
        spec = doc["spec"]
        for container in spec["template"]["spec"]["containers"]:
            resources = container.get("resources", {})
            requests, limits = resources.get("requests", {}), resources.get("limits", {})
            if not requests or requests != limits:
                problems.append(f"{path}: {name}/{container['name']}: requests must equal limits (Guaranteed QoS)")
            cpu = str(limits.get("cpu", ""))
            if not cpu.isdigit():
                problems.append(f"{path}: {name}/{container['name']}: cpu must be a whole number, got '{cpu}'")
            args = container.get("args", [])
            if "sweep" in args:
                if spec.get("completionMode") != "Indexed":
                    problems.append(f"{path}: {name}: the sweep must be an Indexed Job")
                shard = args[args.index("--shard") + 1] if "--shard" in args else None
                if shard != str(spec.get("completions")):
                    problems.append(f"{path}: {name}: --shard {shard} differs from completions {spec.get('completions')}")
                threads = args[args.index("--threads") + 1] if "--threads" in args else None
                if threads != cpu:
                    problems.append(f"{path}: {name}: --threads {threads} differs from the CPU limit {cpu}")
            if "merge" in args:
                shards = [a for a in args if ".shard-" in a]
                count = {a.rsplit("-of-", 1)[1].split(".")[0] for a in shards}
                if len(count) != 1 or len(shards) != int(next(iter(count))):
                    problems.append(f"{path}: {name}: the merge must list every shard file of one count")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print("k8s-validate: Indexed Job with Guaranteed, whole-CPU pods; --shard and --threads match; merge lists every shard")
PY
