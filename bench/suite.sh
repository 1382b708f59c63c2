#!/usr/bin/env bash
# The suite at scale: runs every scenarios/suite-*.ini (10 cases: both
# triggers, both collectors, every compression, three dump levels, one
# negative case; 1 GiB guests on the default kernel) once with `kdh run
# --jobs 1` and once with `--jobs 2` (SUITE_JOBS, default "1 2"), and prints
# for each: cases, wall time, cases per hour, median per-case total, the
# count per verdict and the median "retrieve" phase, from the verdict.json
# files the run wrote.  Fails when a run wrote no verdict at all.
# About 20 min on 2 busy cores under TCG; BENCH_SUITE=0 skips it.  KEEP=1 keeps
# the results folders (their path is printed).
# Run from the top of the tree (make bench).
set -euo pipefail

if [ "${BENCH_SUITE:-1}" = 0 ]; then
	echo "suite: skipped (BENCH_SUITE=0)"
	exit 0
fi
jobs_list=${SUITE_JOBS:-1 2}
scenarios=(scenarios/suite-*.ini)
out=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then
	echo "suite: results in $out"
else
	trap 'rm -rf "$out"' EXIT
fi

# jq: the median of an array of numbers (null when empty).
median='sort_by(.) | if length == 0 then null
	elif length % 2 == 1 then .[length / 2 | floor]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end'

rows=()
for jobs in $jobs_list; do
	dir=$out/jobs-$jobs
	log=$out/jobs-$jobs.log
	start=$(date +%s.%N)
	# 1 (a FAIL) and 3 (an ERROR or TIMEOUT) still leave verdicts to count.
	rc=0
	build/kdh run --jobs "$jobs" --results "$dir" "${scenarios[@]}" >"$log" 2>&1 || rc=$?
	end=$(date +%s.%N)
	mapfile -t verdicts < <(find "$dir" -name verdict.json 2>/dev/null | sort)
	if [ "${#verdicts[@]}" = 0 ]; then
		echo "suite: kdh run --jobs $jobs (exit $rc) wrote no verdict.json; its output ends:" >&2
		tail -20 "$log" >&2
		exit 1
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 1 ] && [ "$rc" != 3 ]; then
		echo "suite: kdh run --jobs $jobs exited $rc; its output ends:" >&2
		tail -20 "$log" >&2
		exit 1
	fi
	wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	row=$(jq -s -r --arg jobs "$jobs" --argjson wall "$wall" "
		def median: $median;
		[\$jobs, length, \$wall, (length * 3600 / \$wall | floor),
		 ([.[].total_seconds] | median | . * 10 | round / 10),
		 ([.[].phases[] | select(.name == \"retrieve\") | .seconds] | median
		  | if . == null then \"-\" else . * 10 | round / 10 end),
		 (group_by(.verdict) | map(\"\(.[0].verdict)=\(length)\") | join(\" \"))]
		| @tsv" "${verdicts[@]}")
	rows+=("$row")
done

echo "suite: ${scenarios[*]}"
{
	printf 'jobs\tcases\twall(s)\tcases/h\tmedian case(s)\tmedian retrieve(s)\tverdicts\n'
	printf '%s\n' "${rows[@]}"
} | awk -F'\t' '{ printf "%-5s %-6s %-8s %-8s %-15s %-19s %s\n", $1, $2, $3, $4, $5, $6, $7 }'
