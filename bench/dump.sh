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
make -s "$KDH" build/libkdhdump-test.a

# ---- helpers ----
have() { command -v "$1" >/dev/null 2>&1; }

cc -std=gnu11 -D_GNU_SOURCE -O2 -Iharness -Itests/unit -DDUMPGEN_MAIN -o "$OUT/dumpgen" \
	-DKDH_DUMP_TEST_HOOKS tests/unit/test_dump_gen.c build/libkdhdump-test.a $(pkg-config --libs check) \
	-lz -llzo2 -lsnappy -lzstd

# The start-up of a dynamically linked binary dominates a 1-2 ms job: the
# same reader linked statically shows what the library itself costs.
static_kdh=""
if cc -O2 -static -o "$OUT/kdh-dump-static" build/obj/harness/cli/kdh_dump_main.o build/obj/harness/cli/dump_cmd.o \
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

# The timing harness: the same fork + exec for every tool measured.
cat > "$OUT/runs.c" <<'EOF'
/* Runs a command N times (fork + exec, output to /dev/null), removing a
 * file first when asked (makedumpfile will not overwrite its output); prints
 * the median wall time, the mean CPU time (user + system) and the peak RSS
 * of the command alone: the same harness for every tool. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[1]) : 0, i = 2, failed = 0;
	const char *rm = NULL;
	double *wall, cpu = 0;
	long peak = 0;

	if (n < 1)
		return 2;
	wall = calloc(n, sizeof(*wall));
	if (argc > 4 && !strcmp(argv[2], "--rm")) {
		rm = argv[3];
		i = 4;
	}
	for (int k = 0; k < n; k++) {
		struct timespec t0, t1;
		struct rusage ru;
		int status;
		if (rm)
			unlink(rm);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid_t pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(null, 2);
			execvp(argv[i], argv + i);
			_exit(127);
		}
		wait4(pid, &status, 0, &ru);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		wall[k] = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
		cpu += ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
		       ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
		if (ru.ru_maxrss > peak)
			peak = ru.ru_maxrss;
	}
	qsort(wall, n, sizeof(*wall), cmp);
	if (failed)
		printf("FAILED\n");
	else
		printf("%.2f %.2f %ld\n", wall[n / 2], cpu / n, peak);
	return 0;
}
EOF
cc -O2 -o "$OUT/runs" "$OUT/runs.c"

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
declare -A T C
row() { # key label [--rm FILE] cmd...
	local key=$1 label=$2 r rss
	shift 2
	r=$("$OUT/runs" "$RUNS" "$@")
	if [ "$r" = FAILED ]; then
		printf '  %-40s failed\n' "$label"
		return
	fi
	read -r T[$key] C[$key] rss <<< "$r"
	printf '  %-40s %9s ms %9s ms %9s KiB\n' "$label" "${T[$key]}" "${C[$key]}" "$rss"
}
ratio() { # a b -> b/a
	awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1fx", b / a; else print "n/a" }'
}
above() { # a b floor -> (b-floor)/(a-floor)
	awk -v a="$1" -v b="$2" -v f="$3" \
		'BEGIN { if (a > f && b > f) printf "%.1fx", (b - f) / (a - f); else print "n/a" }'
}
echo
# The cost of creating any process here (fork, exec, libc start-up): a
# job of a millisecond is mostly this, so ratios above it are shown too
# (on CPU time, which VMs running beside the benchmark disturb less).
printf 'int main(void) { return 0; }\n' > "$OUT/empty.c"
cc -O2 -static -o "$OUT/empty" "$OUT/empty.c"
printf '%-42s %12s %12s %13s\n' "" "wall (median)" "CPU (mean)" "peak RSS"
row floor "empty static binary (process floor)" "$OUT/empty"
echo "dmesg, $RUNS runs each"
for dump in 1g.kdump 1g.elf; do
	row "kdh_$dump" "kdh-dump dmesg $dump" "$KDH" dmesg "$OUT/$dump"
	[ -n "$static_kdh" ] && row "kdhs_$dump" "kdh-dump (static) dmesg $dump" "$static_kdh" dmesg "$OUT/$dump"
	have makedumpfile && row "mdf_$dump" "makedumpfile --dump-dmesg $dump" \
		--rm "$OUT/md.txt" makedumpfile --dump-dmesg "$OUT/$dump" "$OUT/md.txt"
	if [ "$dump" = 1g.elf ] && have vmcore-dmesg; then
		row "vd_$dump" "vmcore-dmesg $dump" vmcore-dmesg "$OUT/$dump"
	fi
done
echo
echo "verify vs reading every page with libkdumpfile, $RUNS runs each"
for dump in 1g.kdump 8g.kdump 1g.elf; do
	row "kdhv_$dump" "kdh-dump verify $dump" "$KDH" verify "$OUT/$dump"
	[ -n "$lkdf" ] && row "lk_$dump" "libkdumpfile read-all $dump" "$lkdf" "$OUT/$dump"
done

echo
# The panic search of `info` over a guest-written log: "CPU: " lines that
# never parse, then a panic.  Before the fix each candidate rescanned the
# log (250 KiB: 7.7 s); it must grow linearly with the log.
cat > "$OUT/panic_parse.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump/dump_internal.h"

int main(void)
{
	static const size_t sizes[] = {250u << 10, 4u << 20};
	for (size_t k = 0; k < 2; k++) {
		size_t n = sizes[k], len = 0;
		char *log = malloc(n + 128);
		dump_summary s;
		struct timespec t0, t1;
		while (len + 16 < n) {
			memcpy(log + len, "CPU: x PID: y\n", 14);
			len += 14;
		}
		len += (size_t)sprintf(log + len, "Kernel panic - not syncing: x\n");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		dump_parse_panic(&s, log, len);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("  info's panic search, %5zu KiB hostile log: %8.2f ms\n", n >> 10,
		       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
		free(log);
	}
	return 0;
}
EOF
cc -std=gnu11 -D_GNU_SOURCE -O2 -Iharness -o "$OUT/panic_parse" "$OUT/panic_parse.c" build/libkdhdump.a \
	-lz -llzo2 -lsnappy -lzstd
"$OUT/panic_parse"
echo
echo "ratios, peer / kdh-dump: wall (CPU) [CPU above the process floor]"
echo "goal: dmesg >= 2x, verify >= 1x"
for dump in 1g.kdump 1g.elf; do
	for k in kdh kdhs; do
		[ -n "${T[${k}_$dump]:-}" ] || continue
		name="kdh-dump"
		[ $k = kdhs ] && name="kdh-dump (static)"
		for peer in mdf vd; do
			[ -n "${T[${peer}_$dump]:-}" ] || continue
			pname=makedumpfile
			[ $peer = vd ] && pname=vmcore-dmesg
			printf '  %-18s dmesg  %-9s vs %-13s %s (%s) [%s]\n' "$name" "$dump" "$pname:" \
				"$(ratio "${T[${k}_$dump]}" "${T[${peer}_$dump]}")" \
				"$(ratio "${C[${k}_$dump]}" "${C[${peer}_$dump]}")" \
				"$(above "${C[${k}_$dump]}" "${C[${peer}_$dump]}" "${C[floor]}")"
		done
	done
done
for dump in 1g.kdump 8g.kdump 1g.elf; do
	[ -n "${T[lk_$dump]:-}" ] && printf '  %-18s verify %-9s vs %-13s %s (%s)\n' "kdh-dump" \
		"$dump" "libkdumpfile:" "$(ratio "${T[kdhv_$dump]}" "${T[lk_$dump]}")" \
		"$(ratio "${C[kdhv_$dump]}" "${C[lk_$dump]}")"
done
exit 0
