#!/bin/bash
# Benchmark of the dump reader against the tools users have, on the same
# dumps in one run (a benchmark, not a timed test: it prints, it does not
# fail on a ratio):
#   dmesg:  kdh-dump dmesg  vs  makedumpfile --dump-dmesg  vs  vmcore-dmesg
#   verify: kdh-dump verify vs  reading every page with libkdumpfile
# with peak RSS, for a 1 GiB guest (a real dump) and an 8 GiB one (the same
# real pages repeated over 8 times the memory by the tests' generator).
#
# The dump: $KDH_BENCH_DUMP, else the newest vmcore under results/, else the
# committed (trimmed) fixture.  Work files go to build/bench-dump/.
# RUNS (default 15) sets the repetitions; the median is reported.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-15}
OUT=build/bench-dump
KDH=build/kdh-dump
mkdir -p "$OUT"

src=${KDH_BENCH_DUMP:-}
if [ -z "$src" ]; then
	src=$(ls -t results/*/*/vmcore* results/*/*/dump.* 2>/dev/null | head -1 || true)
fi
if [ -z "$src" ]; then
	src=tests/fixtures/dump/debian12-6.1-sysrq.kdump
	echo "note: no captured dump under results/ (run 'make run'); using the trimmed fixture"
fi
[ -x "$KDH" ] || make -s "$KDH"

# ---- helpers ----
have() { command -v "$1" >/dev/null 2>&1; }

cc -std=gnu11 -D_GNU_SOURCE -O2 -Iharness -Itests/unit -DDUMPGEN_MAIN -o "$OUT/dumpgen" \
	tests/unit/test_dump_gen.c build/libkdhdump.a $(pkg-config --libs check) \
	-lz -llzo2 -lsnappy -lzstd

# The start-up of a dynamically linked binary dominates a 1-2 ms job: the
# same reader linked statically shows what the library itself costs.
static_kdh=""
if cc -O2 -static -o "$OUT/kdh-dump-static" build/obj/harness/cli/kdh_dump_main.o \
	build/libkdhdump.a -lz -llzo2 -lsnappy -lzstd -lstdc++ -lm 2>/dev/null; then
	static_kdh="$OUT/kdh-dump-static"
fi

lkdf=""
if [ -e /usr/include/libkdumpfile/kdumpfile.h ]; then
	cat > "$OUT/lkdf_read_all.c" <<'EOF'
/* Reads every page of a dump through libkdumpfile: verify's peer. */
#include <fcntl.h>
#include <libkdumpfile/kdumpfile.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	kdump_ctx_t *ctx = kdump_new();
	kdump_num_t max_pfn = 0, page_size = 4096;
	static char buf[65536];
	unsigned long n = 0;
	int fd = argc > 1 ? open(argv[1], O_RDONLY) : -1;

	if (!ctx || fd < 0 || kdump_open_fd(ctx, fd) != KDUMP_OK) {
		fprintf(stderr, "libkdumpfile: %s\n", ctx ? kdump_get_err(ctx) : "no context");
		return 1;
	}
	kdump_get_number_attr(ctx, "max_pfn", &max_pfn);
	kdump_get_number_attr(ctx, KDUMP_ATTR_PAGE_SIZE, &page_size);
	for (kdump_num_t pfn = 0; pfn < max_pfn; pfn++) {
		size_t len = page_size;
		/* machine = kernel physical outside Xen, without xlat set-up */
		if (kdump_read(ctx, KDUMP_MACHPHYSADDR, pfn * page_size, buf, &len) == KDUMP_OK)
			n++;
	}
	printf("%lu pages\n", n);
	kdump_free(ctx);
	return 0;
}
EOF
	cc -O2 -o "$OUT/lkdf_read_all" "$OUT/lkdf_read_all.c" -lkdumpfile && lkdf="$OUT/lkdf_read_all"
fi

# ---- inputs ----
echo "source dump: $src ($(stat -c %s "$src") bytes)"
ln -sf "$(realpath "$src")" "$OUT/1g.kdump"
# /proc/vmcore's layout (kernel text + one RAM segment, sparse), from every page
DUMPGEN_ALL=1 "$OUT/dumpgen" "$src" "$OUT/1g.elf" elf-ram 2>/dev/null
DUMPGEN_ALL=1 DUMPGEN_SCALE=8 "$OUT/dumpgen" "$src" "$OUT/8g.kdump" lzo 2>/dev/null
for f in 1g.kdump 1g.elf 8g.kdump; do
	printf '  %-9s %12s bytes  %s\n' "$f" "$(stat -L -c %s "$OUT/$f")" \
		"$($KDH info "$OUT/$f" | grep '^pages:' | cut -c17-)"
done

# ---- measurement ----
# median wall time in ms over RUNS runs, and peak RSS (KiB) of one run
median_ms() {
	local i t0 t1 times=()
	for ((i = 0; i < RUNS; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || { echo "FAILED"; return; }
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}
peak_kb() {
	/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
}
declare -A T
row() { # key label cmd...
	local key=$1 label=$2
	shift 2
	T[$key]=$(median_ms "$@")
	printf '  %-44s %9s ms  %8s KiB\n' "$label" "${T[$key]}" "$(peak_kb "$@")"
}
ratio() { # a b -> b/a
	awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1fx", b / a; else print "n/a" }'
}
mdf_dmesg() { rm -f "$OUT/md.txt"; makedumpfile --dump-dmesg "$1" "$OUT/md.txt"; }

echo
echo "dmesg (median of $RUNS runs, peak RSS)"
for dump in 1g.kdump 1g.elf; do
	row "kdh_$dump" "kdh-dump dmesg $dump" "$KDH" dmesg "$OUT/$dump"
	[ -n "$static_kdh" ] && row "kdhs_$dump" "kdh-dump (static) dmesg $dump" "$static_kdh" dmesg "$OUT/$dump"
	have makedumpfile && row "mdf_$dump" "makedumpfile --dump-dmesg $dump" mdf_dmesg "$OUT/$dump"
	if [ "$dump" = 1g.elf ] && have vmcore-dmesg; then
		row "vd_$dump" "vmcore-dmesg $dump" vmcore-dmesg "$OUT/$dump"
	fi
done
echo
echo "verify vs reading every page with libkdumpfile"
for dump in 1g.kdump 8g.kdump 1g.elf; do
	row "kdhv_$dump" "kdh-dump verify $dump" "$KDH" verify "$OUT/$dump"
	[ -n "$lkdf" ] && row "lk_$dump" "libkdumpfile read-all $dump" "$lkdf" "$OUT/$dump"
done

echo
echo "ratios (peer time / kdh time; goal: dmesg >= 2x, verify >= 1x)"
for dump in 1g.kdump 1g.elf; do
	for k in kdh kdhs; do
		[ -n "${T[${k}_$dump]:-}" ] || continue
		name="kdh-dump"
		[ $k = kdhs ] && name="kdh-dump (static)"
		[ -n "${T[mdf_$dump]:-}" ] && printf '  %-20s dmesg %-9s vs makedumpfile: %s\n' \
			"$name" "$dump" "$(ratio "${T[${k}_$dump]}" "${T[mdf_$dump]}")"
		[ -n "${T[vd_$dump]:-}" ] && printf '  %-20s dmesg %-9s vs vmcore-dmesg: %s\n' \
			"$name" "$dump" "$(ratio "${T[${k}_$dump]}" "${T[vd_$dump]}")"
	done
done
for dump in 1g.kdump 8g.kdump 1g.elf; do
	[ -n "${T[lk_$dump]:-}" ] && printf '  %-20s verify %-8s vs libkdumpfile: %s\n' "kdh-dump" "$dump" \
		"$(ratio "${T[kdhv_$dump]}" "${T[lk_$dump]}")"
done
exit 0
