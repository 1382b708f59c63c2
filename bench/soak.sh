#!/usr/bin/env bash
# A long unattended run, watched from outside: CASES (default 100) real
# mini-guest cases (a [matrix] of memory x crashkernel, every one expected
# to pass) with JOBS (default: the host's limit, 2 here) VMs at once.
# Every second it reads kdh's resident memory and open file descriptors
# from /proc/<pid>; it compares /tmp, libguestfs's temp folders and the
# cache's vm/ folder before and after; at the end it prints those figures after the first
# cases and after the last ones, so growth from case to case shows.
# Exit status 1 when a case did not pass or something was left behind.
# Run from the top of the tree: `make soak` (not part of make bench: it
# takes about 20-40 min here).
set -euo pipefail

cases=${CASES:-100}
jobs=${JOBS:-2}
cache=${KDH_CACHE_DIR:-/var/cache/kdh}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# CASES = 4 memory sizes x N crashkernel sizes from 136M in steps of 8M
# (the mini guest needs 104M: FACTS), rounded up to a multiple of 4.
per=$(((cases + 3) / 4))
sizes=$(seq 136 8 $((136 + 8 * (per - 1))) | sed 's/$/M/' | paste -sd';')
cat >"$out/soak.ini" <<EOF
[scenario]
name=soak
description=bench/soak.sh: one cycle per memory x crashkernel cell
[kernel]
ref=debian:default
[vm]
cpus=1
image=mini
[crash]
trigger=sysrq
[verify]
crash=no
[matrix]
memory=768M;896M;1G;1152M
crashkernel=$sizes
EOF

# Other programs use /tmp too: what the run added is listed by name for a
# reader to judge, and counted as left behind only when it is libguestfs's.
tmp_entries() { find /tmp -maxdepth 1 -mindepth 1 | sort; }
guestfs_dirs() { find /tmp /var/tmp -maxdepth 1 -name 'libguestfs*' | wc -l; }
vm_entries() { find "$cache/vm" -mindepth 1 2>/dev/null | wc -l; }

tmp_entries >"$out/tmp-before"
guestfs_before=$(guestfs_dirs)
vm_before=$(vm_entries)
start=$(date +%s)
build/kdh run --jobs "$jobs" --keep-dumps never --results "$out/results" "$out/soak.ini" \
	>"$out/run.log" 2>&1 &
pid=$!
# done-count rss-kB fds tmp-entries, one line per second while kdh lives.
while kill -0 "$pid" 2>/dev/null; do
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
	fds=$( (find "/proc/$pid/fd" -mindepth 1 2>/dev/null || true) | wc -l)
	finished=$( (find "$out/results" -name verdict.json 2>/dev/null || true) | wc -l)
	[ -n "$rss" ] && echo "$finished $rss $fds" >>"$out/samples"
	sleep 1
done
status=0
wait "$pid" || status=$?
wall=$(($(date +%s) - start))

total=$(find "$out/results" -name verdict.json | wc -l)
passed=$(find "$out/results" -name verdict.json -exec jq -r .verdict {} + | grep -c '^PASS$' || true)
# The highest reading while 1..5 cases were done, and while the last 5 were.
window() { awk -v lo="$1" -v hi="$2" -v col="$3" \
	'$1 >= lo && $1 <= hi && $col > m { m = $col } END { print m + 0 }' "$out/samples"; }
first_rss=$(window 1 5 2)
last_rss=$(window $((total - 5)) $((total - 1)) 2)
first_fds=$(window 1 5 3)
last_fds=$(window $((total - 5)) $((total - 1)) 3)
echo "soak: $total cases ($passed PASS), --jobs $jobs, exit $status, wall ${wall} s"
printf '%-28s %12s %12s\n' "" "cases 1-5" "last 5"
printf '%-28s %12s %12s\n' "kdh resident memory (KiB)" "$first_rss" "$last_rss"
printf '%-28s %12s %12s\n' "kdh open file descriptors" "$first_fds" "$last_fds"
printf '%-28s %12s %12s\n' "/tmp entries (before/after)" "$(wc -l <"$out/tmp-before")" \
	"$(tmp_entries | wc -l)"
tmp_entries | comm -13 "$out/tmp-before" - | sed 's/^/new in \/tmp (any program): /'
printf '%-28s %12s %12s\n' "libguestfs temp dirs" "$guestfs_before" "$(guestfs_dirs)"
printf '%-28s %12s %12s\n' "cache vm/ entries" "$vm_before" "$(vm_entries)"

fail=0
[ "$status" -eq 0 ] && [ "$passed" -eq "$total" ] && [ "$total" -eq $((per * 4)) ] || {
	echo "soak: not every case passed" >&2
	tail -30 "$out/run.log" >&2
	fail=1
}
[ "$(guestfs_dirs)" -le "$guestfs_before" ] &&
	[ "$(vm_entries)" -le "$vm_before" ] || {
	echo "soak: the run left files behind" >&2
	fail=1
}
[ "$last_fds" -le "$first_fds" ] || {
	echo "soak: open file descriptors grew from $first_fds to $last_fds" >&2
	fail=1
}
exit "$fail"
