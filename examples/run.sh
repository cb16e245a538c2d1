#!/usr/bin/env bash
# run.sh - runs the example jobs of this directory with barge run on the
# built-in simulator and shows where the results are.
#
#   examples/run.sh [path/to/barge]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
barge=${1:-$here/../build/barge}
out=${BARGE_EXAMPLE_OUT:-$here/../example-out}
mkdir -p "$out"

run() {
	local input=$1 model=$2
	echo
	echo "== $input on $model"
	"$barge" run "$here/$input" --model "$model" --output "$out" --state "$out/.barge"
}

run support-tickets.jsonl anthropic.claude-3-5-haiku-20241022-v1:0
run review-sentiment.jsonl meta.llama3-1-70b-instruct-v1:0
run shipping-translations.jsonl mistral.mistral-large-2407-v1:0
run faq-embeddings.jsonl amazon.titan-embed-text-v2:0

echo
echo "The results are under $out/<job id>/. Estimate a job before running it:"
echo "  $barge estimate $here/support-tickets.jsonl --model anthropic.claude-3-5-sonnet-20240620-v1:0"
