#!/usr/bin/env bash
# test-peers.sh - the opt-in peer suite: barge against real programs, today
# llama.cpp's llama-server (tests/peers/test_*.py). Not part of tests/run.sh
# or `make test`: the first run builds llama-server, 6 to 11 minutes on 2
# cores (cached afterwards, see scripts/llama-server.sh). Ends with
# "N passed, M failed" and exits 1 on any failure.
#
#   scripts/test-peers.sh                 against build/barge (built if stale)
#   scripts/test-peers.sh build-asan      against the ASan+UBSan tree
#   TEST_ONLY=name scripts/test-peers.sh  one test function
set -u
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || set -- build

scripts/deps.sh || exit 1

# llama-server and the tiny model (built or made when missing); its last two
# lines are BARGE_LLAMA_SERVER=... and BARGE_LLAMA_MODEL=...
if ! paths=$(scripts/llama-server.sh); then
	echo "scripts/llama-server.sh failed"
	echo "0 passed, 1 failed"
	exit 1
fi
while IFS= read -r line; do
	case $line in
	BARGE_LLAMA_SERVER=* | BARGE_LLAMA_MODEL=*) export "${line?}" ;;
	esac
done <<<"$paths"

# Each tree's barge is built here (tests/run.sh expects it); a failed build
# is a failure of the suite.
makelog=$(mktemp "${TMPDIR:-/tmp}/barge-peers-make.XXXXXX")
for tree in "$@"; do
	san=0
	[[ $tree == *asan* ]] && san=1
	if ! make -j"$(nproc)" BUILD="$tree" SANITIZE=$san "$tree/barge" >"$makelog" 2>&1; then
		tail -n 20 "$makelog"
		echo "$tree: make failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
rm -f "$makelog"
SUITE=tests/peers exec tests/run.sh "$@"
