#!/usr/bin/env bash
# example.sh - the README's first command: installs what barge needs, builds
# it, and runs the example jobs of examples/ on the built-in simulator.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
make -j"$(nproc)" BUILD=build all
examples/run.sh build/barge
