#!/usr/bin/env bash
# The distro cycle, timed: the Debian image built cold (in a scratch cache,
# so the real cache is untouched; the kernel is fetched there too) and then
# found cached, and the kdump-tools + sysrq cycle run CYCLES times (default
# 3) with each phase's median (bench/cycle.sh), against the 90 s target.
# Run from the top of the tree (make bench); BENCH_DISTRO=0 skips it.
set -euo pipefail

[ "${BENCH_DISTRO:-1}" = 0 ] && { echo "skipped (BENCH_DISTRO=0)"; exit 0; }
scratch=$(mktemp -d /var/tmp/kdh-bench-distro-XXXXXX)
trap 'rm -rf "$scratch"' EXIT

timed() {
	local start end
	start=$(date +%s.%N)
	"$@" >"$scratch/log" 2>&1 || { tail -20 "$scratch/log" >&2; return 1; }
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }'
}

if [ "${BENCH_DISTRO_COLD:-1}" = 1 ]; then
	cold=$(timed build/kdh image build debian --cache "$scratch/cache")
	cached=$(timed build/kdh image build debian --cache "$scratch/cache")
	echo "image build (debian:default): cold ${cold} s (kernel fetch included), cached ${cached} s"
fi

# The cycles use the real cache: the image is made there first, so no
# cycle pays for it.
build/kdh image build debian >"$scratch/log" 2>&1 || { tail -20 "$scratch/log" >&2; exit 1; }
CYCLES=${CYCLES:-3} SCENARIO=scenarios/distro-kdump-tools.ini bash bench/cycle.sh | tee "$scratch/cycle"
awk '$1 == "wall" { printf "distro cycle wall median %.1f s against the 90 s target: %s\n", $NF, ($NF <= 90 ? "met" : "NOT met") }' "$scratch/cycle"
