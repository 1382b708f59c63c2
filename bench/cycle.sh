#!/usr/bin/env bash
# The end-to-end cycle, timed: runs the smoke scenario N times (CYCLES,
# default 3) and prints each phase's time per run and its median, from the
# verdict.json files kdh writes.  Run from the top of the tree (make bench).
set -euo pipefail

cycles=${CYCLES:-3}
scenario=${SCENARIO:-scenarios/smoke-sysrq.ini}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for i in $(seq "$cycles"); do
	start=$(date +%s.%N)
	if ! build/kdh run --results "$out" "$scenario" >"$out/run-$i.log" 2>&1; then
		echo "cycle $i did not pass:" >&2
		tail -20 "$out/run-$i.log" >&2
		exit 1
	fi
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { print b - a }' >"$out/wall-$i"
done

verdicts=$(find "$out" -name verdict.json | sort)
phases=$(jq -r '.phases[].name' $(echo "$verdicts" | head -1))

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "cycle: $scenario, $cycles runs, $(jq -r .acceleration $(echo "$verdicts" | head -1))"
printf '%-10s %s  %s\n' phase "runs (s)" "median (s)"
for p in $phases total wall; do
	case $p in
	total) values=$(for v in $verdicts; do jq -r '.total_seconds' "$v"; done) ;;
	wall) values=$(cat "$out"/wall-*) ;;
	*) values=$(for v in $verdicts; do jq -r --arg p "$p" '.phases[] | select(.name == $p) | .seconds' "$v"; done) ;;
	esac
	printf '%-10s %s  %.1f\n' "$p" "$(printf '%.1f ' $values)" "$(echo "$values" | median)"
done
