#!/usr/bin/env bash
# Checks that the `Attention` library can be used as a dependency, compiler
# flags and all: a throw-away package depends on this checkout once by path
# and once by a local git tag (`from:` a version, as a released dependency
# would be), builds in release and runs a tiled forward pass.
#
#   scripts/dependency-check.sh
#
# The package's -target-cpu flag is an unsafe flag: SwiftPM refuses those in
# a versioned dependency before tools-version 6.2 ("contains unsafe build
# flags"), which is why the manifest declares 6.2. Commits the working tree's
# Package.swift into a scratch clone only; this checkout is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/ensure-deps.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/repo"
cp Package.swift "$work/repo/Package.swift"
git -C "$work/repo" -c user.email=check@localhost -c user.name=check commit -q --allow-empty -am "dependency check"
git -C "$work/repo" tag 0.0.0-check
for kind in path tag; do
    mkdir -p "$work/$kind/Sources/Use"
    if [[ $kind == path ]]; then
        dep=".package(name: \"AttentionBench\", path: \"$work/repo\")" pkg=AttentionBench
    else
        dep=".package(url: \"file://$work/repo\", exact: \"0.0.0-check\")" pkg=repo
    fi
    cat > "$work/$kind/Package.swift" <<EOF
// swift-tools-version: 6.2
import PackageDescription
let package = Package(
    name: "Use",
    dependencies: [$dep],
    targets: [.executableTarget(name: "Use", dependencies: [.product(name: "Attention", package: "$pkg")])]
)
EOF
    cat > "$work/$kind/Sources/Use/main.swift" <<'EOF'
import Attention
let shape = try AttentionShape(heads: 2, queryLength: 40, headDim: 16)
let inputs = AttentionInputs.random(shape: shape, seed: 1)
let output = inputs.makeOutput()
let strategy = try StrategyRegistry.strategy(named: "tiled")
try strategy.forward(inputs, mask: try AttentionMask(.causal, shape: shape), output: output, threads: 2)
print("\(strategy.name) on \(shape): output[0] = \(output[0])")
EOF
    echo "dependency-check: by $kind" >&2
    (cd "$work/$kind" && swift build -c release -q && swift run -c release -q Use)
done
echo "dependency-check: the library builds and runs as a dependency by path and by version" >&2
