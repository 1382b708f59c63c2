#!/usr/bin/env bash
# Every trigger's cycle, timed: runs the trigger scenarios once each on the
# default Debian kernel (JOBS at once, default 1 so phases are not slowed by
# each other) and prints one line per case: its verdict and each phase's
# seconds, from the verdict.json files kdh writes.  The crash module's build
# (first run only: it is cached per kernel) is printed by kdh itself as the
# "crashmod" line.  LKDTM=1 adds scenarios/trigger-lkdtm.ini (a 6.12 kernel
# built with LKDTM: a long first build).  Run from the top of the tree.
set -euo pipefail

jobs=${JOBS:-1}
scenarios=(scenarios/smoke-sysrq.ini scenarios/nmi.ini scenarios/trigger-sysrq-key.ini
	scenarios/trigger-sysrq-cpu.ini scenarios/trigger-oom.ini scenarios/trigger-mce.ini
	scenarios/trigger-hang.ini scenarios/trigger-module.ini)
[ "${LKDTM:-0}" = 1 ] && scenarios+=(scenarios/trigger-lkdtm.ini)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# A FAIL is reported in the table, not fatal: the point is the times.
build/kdh run --jobs "$jobs" --keep-dumps never --results "$out" "${scenarios[@]}" >"$out/run.log" 2>&1 || true
grep -E '^  (kernel|crashmod|image|disk) ' "$out/run.log" || true

printf '%-36s %-7s %6s %6s %6s %6s %6s %6s\n' case verdict boot crash capture shutdown retrieve total
for v in $(find "$out" -name verdict.json | sort); do
	jq -r '[.case, .verdict,
		(.phases | map({(.name): .seconds}) | add) as $p
		| ($p.boot // 0), ($p.crash // 0), ($p.capture // 0), ($p.shutdown // 0),
		  ($p.retrieve // 0), .total_seconds] | @tsv' "$v" |
		awk -F'\t' '{ printf "%-36s %-7s %6.1f %6.1f %6.1f %6.1f %6.1f %6.1f\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
done
tail -2 "$out/run.log"
