#!/usr/bin/env bash
# test.sh - the README's second command (and CI's): installs what the tests
# need, builds the normal and the ASan+UBSan trees, runs every test in both,
# and ends with "N passed, M failed".
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
# The SDK clients of tests/peers/package.json, from its lock file, when
# node_modules is missing or does not match it.
(cd tests/peers && npm ls --all >/dev/null 2>&1) || (cd tests/peers && npm ci --no-audit --no-fund)
make -j"$(nproc)" BUILD=build unit
make -j"$(nproc)" BUILD=build-asan SANITIZE=1 unit
tests/run.sh build build-asan
