#!/usr/bin/env bash
# test.sh - the README's second command (and CI's): installs what the tests
# need, builds the normal and the ASan+UBSan trees, runs every test in both,
# and ends with "N passed, M failed".
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
make -j"$(nproc)" BUILD=build unit
make -j"$(nproc)" BUILD=build-asan SANITIZE=1 unit
tests/run.sh build build-asan
