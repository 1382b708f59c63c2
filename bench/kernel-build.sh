#!/usr/bin/env bash
# The kdump kernel build, timed: builds linux-source-6.12 (or SOURCE) with
# the kdh fragments (FRAGMENTS, default kdump,virt,lkdtm) into a private,
# empty cache so nothing is reused, and prints the wall time, the entry and
# its size.  Then builds again to show the second build is a cache hit.
# Run from the top of the tree.  Uses all CPUs at nice 19.
#   KEEP=1 keeps the cache (printed) for booting the result.
# A from-scratch build takes ~20 min on 2 cores, too long for every `make
# bench`: it runs only with BENCH_KERNEL=1; otherwise this prints what the
# cached builds recorded (build_seconds in each entry's kdh-kernel.ini).
set -euo pipefail

if [ -z "${BENCH_KERNEL:-}" ]; then
	kernels=${KDH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kdh}/kernels
	echo "kernel build: skipped (BENCH_KERNEL=1 runs it, ~20 min on 2 cores); recorded builds:"
	found=0
	for meta in "$kernels"/build-*/kdh-kernel.ini; do
		[ -e "$meta" ] || continue
		found=1
		awk -F= '/^(ref|package|fragments|build_seconds)=/ { v[$1] = $2 }
			END { printf "  %-34s %s + %s: %s s\n", v["ref"], v["package"], v["fragments"], v["build_seconds"] }' "$meta"
	done
	[ $found = 1 ] || echo "  (none in $kernels)"
	exit 0
fi

source=${SOURCE:-linux-source-6.12}
fragments=${FRAGMENTS:-kdump,virt,lkdtm}
cache=$(mktemp -d /var/tmp/kdh-bench-kernel.XXXXXX)
if [ -z "${KEEP:-}" ]; then
	trap 'rm -rf "$cache"' EXIT
fi
# The unpacked source is shared with the user's cache when it is there:
# unpacking is not what this measures.
user_cache=${XDG_CACHE_HOME:-$HOME/.cache}/kdh
if [ -d "$user_cache/sources" ]; then
	ln -s "$user_cache/sources" "$cache/sources"
fi

start=$(date +%s.%N)
KDH_CACHE_DIR=$cache nice -n 19 build/kdh kernel build --source "$source" --kconfig "$fragments" \
	>"$cache/out" 2>"$cache/progress"
end=$(date +%s.%N)
again_start=$(date +%s.%N)
KDH_CACHE_DIR=$cache build/kdh kernel build --source "$source" --kconfig "$fragments" >/dev/null 2>&1
again_end=$(date +%s.%N)

entry=$(cut -f4 "$cache/out")
echo "kernel build: $source + $fragments on $(nproc) CPUs"
awk -v a="$start" -v b="$end" 'BEGIN { printf "  first build   %7.1f s\n", b - a }'
awk -v a="$again_start" -v b="$again_end" 'BEGIN { printf "  second build  %7.1f s (cache hit)\n", b - a }'
echo "  entry         $entry"
echo "  bzImage       $(du -h "$entry"/boot/vmlinuz-* | cut -f1)"
echo "  entry size    $(du -sh "$entry" | cut -f1)"
echo "  build steps   $(grep -c '^  [A-Z]' "$entry/build.log")"
[ -n "${KEEP:-}" ] && echo "  cache kept    $cache"
exit 0
