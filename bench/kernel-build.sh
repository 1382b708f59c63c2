#!/usr/bin/env bash
# The kdump kernel build, timed: builds linux-source-6.12 (or SOURCE) with
# the kdh fragments (FRAGMENTS, default kdump,virt,lkdtm) into a private,
# empty cache so nothing is reused, and prints the wall time, the entry and
# its size.  Then builds again to show the second build is a cache hit.
# Run from the top of the tree.  Uses all CPUs at nice 19.
#   KEEP=1 keeps the cache (printed) for booting the result.
set -euo pipefail

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

entry=$(cut -f5 "$cache/out")
echo "kernel build: $source + $fragments on $(nproc) CPUs"
awk -v a="$start" -v b="$end" 'BEGIN { printf "  first build   %7.1f s\n", b - a }'
awk -v a="$again_start" -v b="$again_end" 'BEGIN { printf "  second build  %7.1f s (cache hit)\n", b - a }'
echo "  entry         $entry"
echo "  bzImage       $(du -h "$entry"/boot/vmlinuz-* | cut -f1)"
echo "  entry size    $(du -sh "$entry" | cut -f1)"
echo "  build steps   $(grep -c '^  [A-Z]' "$entry/build.log")"
[ -n "${KEEP:-}" ] && echo "  cache kept    $cache"
exit 0
