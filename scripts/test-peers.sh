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

pass=0
fail=0
failed_names=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/barge-peers.XXXXXX")

# count_tap reads TAP lines from a log and adds them to the totals (as
# tests/run.sh does).
count_tap() {
	local log=$1 label=$2 rc=$3 ok nok
	ok=$(grep -c '^ok ' "$log" || true)
	nok=$(grep -c '^not ok ' "$log" || true)
	while IFS= read -r l; do failed_names+=("$label: ${l#not ok }"); done < <(grep '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		failed_names+=("$label: exited with status $rc without a result (see $log)")
	fi
	pass=$((pass + ok))
	fail=$((fail + nok))
}

for tree in "$@"; do
	san=0
	[[ $tree == *asan* ]] && san=1
	if ! make -j"$(nproc)" BUILD="$tree" SANITIZE=$san "$tree/barge" >"$logdir/make-$tree.log" 2>&1; then
		tail -n 20 "$logdir/make-$tree.log"
		failed_names+=("$tree: make failed (see $logdir/make-$tree.log)")
		fail=$((fail + 1))
		continue
	fi
	for t in tests/peers/test_*.py; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .py)
		log="$logdir/$tree-$name.log"
		t0=$(date +%s)
		BARGE="$PWD/$tree/barge" BARGE_TREE="$tree" python3 tests/integration/harness.py "$t" >"$log" 2>&1
		rc=$?
		count_tap "$log" "$tree/$name" $rc
		printf '%-12s %-32s %s (%ss)\n' "$tree" "$name" \
			"$(grep -c '^ok ' "$log" || true) ok, $(grep -c '^not ok ' "$log" || true) failed" \
			"$(($(date +%s) - t0))"
	done
done

if [ ${#failed_names[@]} -gt 0 ]; then
	echo
	echo "failures (logs in $logdir):"
	for f in "${failed_names[@]}"; do echo "  $f"; done
	echo
else
	rm -rf "$logdir"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
