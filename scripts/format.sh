#!/usr/bin/env bash
# The house style, applied or checked with the `swift format` that ships with
# the toolchain. The rules are in .swift-format (Tests/.swift-format is the
# same but allows `try!`): 4-space indents, lines of at most 120 columns,
# ordered imports at the top of every file, no semicolons, no `try!`
# outside the tests.
#
#   scripts/format.sh           rewrite every Swift file in place
#   scripts/format.sh --check   change nothing; exit 1 if any file is not
#                               formatted or breaks a rule (CI runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/AttentionBenchmarks)
case "${1:-}" in
    "")
        swift format format --in-place --recursive --parallel "${paths[@]}"
        ;;
    --check)
        # A manifest's first line must be its tools version (SE-0152): SwiftPM
        # reads the version there, and the formatter's import ordering has
        # moved an import above it before (swift-format #670). The manifests
        # therefore import PackageDescription only (the environment comes from
        # Context.environment, not Foundation), so there is nothing to reorder.
        for manifest in Package.swift Benchmarks/Package.swift; do
            if ! head -1 "$manifest" | grep -q '^// swift-tools-version:'; then
                echo "format: $manifest: line 1 must be its // swift-tools-version: line" >&2
                exit 1
            fi
        done
        if ! swift format lint --strict --recursive --parallel "${paths[@]}"; then
            echo "format: the files above are not in the house style; run scripts/format.sh" >&2
            exit 1
        fi
        echo "format: clean" >&2
        ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) echo "format: unknown argument '$1' (allowed: --check, --help)" >&2; exit 2 ;;
esac
