#!/usr/bin/env bash
# run.sh - every benchmark of bench/, in turn (not part of the test suite).
set -eu
cd "$(dirname "$0")/.."
bench/run_bench.py "$@"
