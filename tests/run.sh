#!/usr/bin/env bash
# run.sh - runs every unit and integration test against one or more build
# trees and ends with one line "N passed, M failed"; exits 1 on any failure.
#
#   tests/run.sh build [build-asan ...]
#   TESTS=pattern tests/run.sh build     only tests whose file matches
#   SUITE=tests/peers tests/run.sh build  the Python tests of another folder,
#                                         without the unit tests
#
# One throwaway PostgreSQL server (tests/pg.sh) serves the whole run; the
# tests find it in BARGE_TEST_PG and make their own databases on it. When
# BARGE_TEST_PG is already set, that server is used instead.
set -u
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || set -- build

pass=0
fail=0
failed_names=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/barge-tests.XXXXXX")
pattern=${TESTS:-}
suite=${SUITE:-tests/integration}

pgdir=
stop_pg() {
	[ -n "$pgdir" ] && tests/pg.sh stop "$pgdir" && rm -rf "$pgdir"
	return 0
}
trap stop_pg EXIT
# A run stopped by a signal stops its server too: the EXIT trap runs on exit.
trap 'exit 130' INT TERM
if [ -z "${BARGE_TEST_PG:-}" ]; then
	pgdir=$(mktemp -d "${TMPDIR:-/tmp}/barge-pg.XXXXXX")
	if BARGE_TEST_PG=$(tests/pg.sh start "$pgdir"); then
		export BARGE_TEST_PG
	else
		# The tests that need it fail and say why; the others run.
		echo "tests/run.sh: no PostgreSQL server for the tests (see above)" >&2
	fi
fi

# count_tap reads TAP lines from a log and adds them to the totals.
count_tap() {
	local log=$1 label=$2 rc=$3 ok nok
	ok=$(grep -c '^ok ' "$log" || true)
	nok=$(grep -c '^not ok ' "$log" || true)
	while IFS= read -r l; do failed_names+=("$label: ${l#not ok }"); done < <(grep '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		# The program died without reporting a failure (a crash, a
		# sanitizer abort): that is a failure of its own.
		nok=1
		failed_names+=("$label: exited with status $rc without a result (see $log)")
	fi
	pass=$((pass + ok))
	fail=$((fail + nok))
}

for tree in "$@"; do
	for bin in "$tree"/tests/test_*; do
		[ "$suite" = tests/integration ] || break
		[ -x "$bin" ] || continue
		name=$(basename "$bin")
		[ -n "$pattern" ] && [[ $name != *$pattern* ]] && continue
		log="$logdir/$tree-$name.log"
		CMOCKA_MESSAGE_OUTPUT=TAP "$bin" >"$log" 2>&1
		rc=$?
		count_tap "$log" "$tree/$name" $rc
		printf '%-12s %-32s %s\n' "$tree" "$name" "$(grep -c '^ok ' "$log" || true) ok, $(grep -c '^not ok ' "$log" || true) failed"
	done
	for t in "$suite"/test_*.py; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .py)
		[ -n "$pattern" ] && [[ $name != *$pattern* ]] && continue
		log="$logdir/$tree-$name.log"
		BARGE="$PWD/$tree/barge" BARGE_TREE="$tree" python3 tests/integration/harness.py "$t" >"$log" 2>&1
		rc=$?
		count_tap "$log" "$tree/$name" $rc
		printf '%-12s %-32s %s\n' "$tree" "$name" "$(grep -c '^ok ' "$log" || true) ok, $(grep -c '^not ok ' "$log" || true) failed"
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
