/* Differential tests: our reader against the tools users have, on the same
 * dumps.  makedumpfile re-encodes the real fixture into every format it can
 * write here; the generator writes what it cannot (ELF, snappy, zstd, the
 * pre-5.10 log_buf).  Then:
 *   - dmesg equals `makedumpfile --dump-dmesg` and `vmcore-dmesg` byte for
 *     byte (this log has no embedded newlines or high bytes, where the two
 *     tools' renderings differ);
 *   - every dumped page equals what libkdumpfile reads at that address.
 * A peer that is not installed is reported and its checks skipped. */
#include <check.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump/dump_internal.h"
#include "test_dump_gen.h"

/* A peer tool this suite compares against must be there: a missing one is
 * a failure naming it (ci/setup-host.sh installs every one), never a
 * silently passing comparison. */
static void need(const char *tool)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	ck_assert_msg(system(cmd) == 0,
	              "dump_diff: %s is not installed (ci/setup-host.sh installs it)", tool);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static char *our_dmesg(const char *path)
{
	dump_t *d = dump_new();
	char *text = NULL;
	size_t len;

	ck_assert_msg(dump_open(d, path) == DUMP_OK, "%s", dump_error(d));
	ck_assert_msg(dump_dmesg(d, &text, &len) == DUMP_OK, "%s", dump_error(d));
	dump_free(d);
	return text;
}

/* makedumpfile's encodings of the fixture: options and file name */
static const struct {
	const char *opts, *name;
} encodings[] = {
    {"-l -d 31", "md.lzo"},
    {"-c -d 31", "md.zlib"},
    {"-d 31", "md.none"},
    {"-l -d 1", "md.d1"},
};

START_TEST(test_diff_makedumpfile_dmesg)
{
	need("makedumpfile");
	char *expected = dumptest_slurp(DUMPTEST_DMESG, NULL);
	for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
		char *path = dumptest_path(encodings[i].name);
		char *txt = dumptest_path("md.dmesg");
		unlink(path);
		unlink(txt);
		ck_assert_int_eq(run("makedumpfile %s %s %s >/dev/null 2>&1", encodings[i].opts,
		                     DUMPTEST_FIXTURE, path),
		                 0);
		ck_assert_int_eq(run("makedumpfile --dump-dmesg %s %s >/dev/null 2>&1", path, txt),
		                 0);
		char *theirs = dumptest_slurp(txt, NULL), *ours = our_dmesg(path);
		ck_assert_str_eq(ours, theirs);
		ck_assert_str_eq(ours, expected);
		free(theirs);
		free(ours);
		free(path);
		free(txt);
	}
	/* flattened: makedumpfile reads it only after -R; we read it as is */
	char *flat = dumptest_path("md.flat"), *plain = dumptest_path("md.unflat");
	char *txt = dumptest_path("md.dmesg");
	unlink(txt);
	unlink(plain); /* makedumpfile will not overwrite */
	ck_assert_int_eq(
	    run("makedumpfile -F -l -d 31 %s > %s 2>/dev/null", DUMPTEST_FIXTURE, flat), 0);
	ck_assert_int_eq(run("makedumpfile -R %s < %s >/dev/null 2>&1", plain, flat), 0);
	ck_assert_int_eq(run("makedumpfile --dump-dmesg %s %s >/dev/null 2>&1", plain, txt), 0);
	char *theirs = dumptest_slurp(txt, NULL), *ours = our_dmesg(flat);
	ck_assert_str_eq(ours, theirs);
	free(theirs);
	free(ours);
	/* the generator's 5-level, 1 GiB-page and log_buf dumps */
	struct dumpgen g;
	struct dumpgen_opts o = {.compression = 2, .incomplete_after = -1};
	for (int v = 0; v < 3; v++) {
		char *exp_text = NULL, *path = dumptest_path("gen.diff");
		dumptest_copy(&g);
		if (v == 0)
			ck_assert_int_eq(dumpgen_make_5level(&g), 0);
		else if (v == 1)
			ck_assert_int_eq(
			    dumpgen_make_1g_leaf(
			        &g, strtoull(strstr(g.vmcoreinfo, "SYMBOL(mem_section)=") + 20,
			                     NULL, 16)),
			    0);
		else
			ck_assert_int_eq(dumpgen_make_logbuf(&g, 16384, &exp_text), 0);
		ck_assert_int_eq(dumpgen_write(&g, path, &o), 0);
		unlink(txt);
		ck_assert_int_eq(run("makedumpfile --dump-dmesg %s %s >/dev/null 2>&1", path, txt),
		                 0);
		theirs = dumptest_slurp(txt, NULL);
		ours = our_dmesg(path);
		ck_assert_msg(!strcmp(ours, theirs), "variant %d differs from makedumpfile", v);
		free(theirs);
		free(ours);
		free(exp_text);
		free(path);
		dumpgen_free(&g);
	}
	free(flat);
	free(plain);
	free(txt);
	free(expected);
}
END_TEST

/* Replaces the only u64 in [LO, LO + 999] found in G's pages with V;
 * false unless exactly one was found. */
static bool patch_u64(struct dumpgen *g, uint64_t lo, uint64_t v)
{
	uint8_t *at = NULL;
	int found = 0;

	for (size_t i = 0; i < g->n_pages; i++)
		for (size_t off = 0; off < 4096; off += 8) {
			uint64_t x = le64(g->pages[i].data + off);
			if (x >= lo && x <= lo + 999) {
				at = g->pages[i].data + off;
				found++;
			}
		}
	if (found == 1)
		memcpy(at, &v, 8);
	return found == 1;
}

/* Replaces every occurrence of FROM (in the text ring) with TO, same length */
static int patch_text(struct dumpgen *g, const char *from, const char *to, size_t n)
{
	int found = 0;

	for (size_t i = 0; i < g->n_pages; i++)
		for (size_t off = 0; off + n <= 4096; off++)
			if (!memcmp(g->pages[i].data + off, from, n)) {
				memcpy(g->pages[i].data + off, to, n);
				found++;
			}
	return found;
}

/* The renderings makedumpfile has quirks in: a newline inside a record
 * (indented continuation), control and high bytes (\\x.., high ones sign-
 * extended to \\xffffffe9), seconds wider than the field, and a timestamp
 * above 2^63 that its %lld prints negative.  Real records, patched. */
START_TEST(test_diff_makedumpfile_rendering)
{
	need("makedumpfile");
	struct dumpgen g;
	struct dumpgen_opts o = {.compression = 2, .incomplete_after = -1};
	char *path = dumptest_path("render.kdump"), *txt = dumptest_path("render.dmesg");

	dumptest_copy(&g);
	/* "[    3.966665] Kernel panic" and "[    3.966363] sysrq: Trigger" */
	ck_assert(patch_u64(&g, 3966665000ull, 123456789ull * 1000000000ull + 654321000ull));
	ck_assert(patch_u64(&g, 3966363000ull, (1ull << 63) + 5000000000ull));
	ck_assert_int_ge(patch_text(&g, "sysrq triggered crash",
	                            "sysrq\ntri\x01\xe9"
	                            "ered\tcrash",
	                            21),
	                 1);
	ck_assert_int_eq(dumpgen_write(&g, path, &o), 0);
	unlink(txt);
	ck_assert_int_eq(run("makedumpfile --dump-dmesg %s %s >/dev/null 2>&1", path, txt), 0);
	char *theirs = dumptest_slurp(txt, NULL), *ours = our_dmesg(path);
	ck_assert_ptr_nonnull(strstr(theirs, "\\xffffffe9"));
	ck_assert_ptr_nonnull(strstr(theirs, "[123456789.654321]"));
	ck_assert_str_eq(ours, theirs);
	free(theirs);
	free(ours);
	free(path);
	free(txt);
	dumpgen_free(&g);
}
END_TEST

/* makedumpfile -E: an ELF whose excluded pages are cut from the segments
 * (p_filesz < p_memsz), made from the fixture laid out as /proc/vmcore */
static char *make_elf_e(void)
{
	struct dumpgen_opts o = {.format = DUMPGEN_ELF_RAM, .incomplete_after = -1};
	char *ram = dumptest_path("ram.elf"), *path = dumptest_path("md-E.elf");

	ck_assert_int_eq(dumpgen_write(dumptest_base(), ram, &o), 0);
	unlink(path);
	ck_assert_int_eq(run("makedumpfile -E -d 31 %s %s >/dev/null 2>&1", ram, path), 0);
	unlink(ram);
	free(ram);
	return path;
}

START_TEST(test_diff_makedumpfile_elf)
{
	need("makedumpfile");
	char *path = make_elf_e(), *txt = dumptest_path("md-E.dmesg");
	unlink(txt);
	ck_assert_int_eq(run("makedumpfile --dump-dmesg %s %s >/dev/null 2>&1", path, txt), 0);
	char *theirs = dumptest_slurp(txt, NULL), *ours = our_dmesg(path);
	ck_assert_str_eq(ours, theirs);
	free(theirs);
	need("vmcore-dmesg");
	{
		ck_assert_int_eq(run("vmcore-dmesg %s > %s 2>/dev/null", path, txt), 0);
		theirs = dumptest_slurp(txt, NULL);
		ck_assert_str_eq(ours, theirs);
		free(theirs);
	}
	/* and it verifies */
	dump_t *d = dump_new();
	dump_check_result r;
	ck_assert_int_eq(dump_open(d, path), DUMP_OK);
	ck_assert_int_eq(dump_check(d, &r), DUMP_OK);
	ck_assert_msg(r.verdict == DUMP_VERDICT_PASS, "%s", r.problem[0]);
	dump_free(d);
	free(ours);
	free(path);
	free(txt);
}
END_TEST

/* makedumpfile reassembles our split parts into the dump we read from them */
START_TEST(test_diff_makedumpfile_split)
{
	need("makedumpfile");
	struct dumpgen_opts o = {.compression = 2, .incomplete_after = -1};
	char *p[3] = {dumptest_path("msplit.1"), dumptest_path("msplit.2"),
	              dumptest_path("msplit.3")};
	char *whole = dumptest_path("msplit.whole"), *txt = dumptest_path("msplit.dmesg");

	ck_assert_int_eq(dumpgen_write_split(dumptest_base(), (const char *const *)p, 3, &o), 0);
	unlink(whole);
	unlink(txt);
	ck_assert_int_eq(
	    run("makedumpfile --reassemble %s %s %s %s >/dev/null 2>&1", p[0], p[1], p[2], whole),
	    0);
	ck_assert_int_eq(run("makedumpfile --dump-dmesg %s %s >/dev/null 2>&1", whole, txt), 0);
	char *theirs = dumptest_slurp(txt, NULL);
	dump_t *d = dump_new();
	char *ours;
	size_t len;
	ck_assert_int_eq(dump_open_parts(d, (const char *const *)p, 3), DUMP_OK);
	ck_assert_int_eq(dump_dmesg(d, &ours, &len), DUMP_OK);
	ck_assert_str_eq(ours, theirs);
	dump_free(d);
	free(ours);
	free(theirs);
	free(whole);
	free(txt);
	for (int i = 0; i < 3; i++)
		free(p[i]);
}
END_TEST

START_TEST(test_diff_vmcore_dmesg)
{
	need("vmcore-dmesg");
	struct dumpgen_opts o = {.format = DUMPGEN_ELF, .incomplete_after = -1};
	for (int v = 0; v < 2; v++) {
		struct dumpgen g;
		char *exp_text = NULL, *path = dumptest_path(v ? "vd.logbuf.elf" : "vd.elf");
		char *txt = dumptest_path("vd.dmesg");
		dumptest_copy(&g);
		if (v)
			ck_assert_int_eq(dumpgen_make_logbuf(&g, 1u << 17, &exp_text), 0);
		ck_assert_int_eq(dumpgen_write(&g, path, &o), 0);
		ck_assert_int_eq(run("vmcore-dmesg %s > %s 2>/dev/null", path, txt), 0);
		char *theirs = dumptest_slurp(txt, NULL), *ours = our_dmesg(path);
		ck_assert_str_eq(ours, theirs);
		free(theirs);
		free(ours);
		free(exp_text);
		free(path);
		free(txt);
		dumpgen_free(&g);
	}
}
END_TEST

/* ---- libkdumpfile, loaded at run time so the build does not need it ---- */

struct lkdf {
	void *so;
	void *(*new_ctx)(void);
	int (*open_fdset)(void *ctx, unsigned n, const int *fds);
	int (*read)(void *ctx, int as, uint64_t addr, void *buf, size_t *len);
	void (*free_ctx)(void *ctx);
	const char *(*get_err)(void *ctx);
};

/* libkdumpfile's KDUMP_MACHPHYSADDR.  Machine and kernel physical addresses
 * are the same outside Xen, and reading machine addresses spares
 * libkdumpfile its translation set-up, which fails on these trimmed dumps
 * ("Cannot determine 5-level paging"). */
#define LKDF_MACHPHYSADDR 1

static bool lkdf_load(struct lkdf *k)
{
	k->so = dlopen("libkdumpfile.so.10", RTLD_NOW);
	ck_assert_msg(k->so != NULL,
	              "dump_diff: libkdumpfile (libkdumpfile.so.10) is not installed "
	              "(ci/setup-host.sh installs libkdumpfile-dev): %s",
	              dlerror());
	*(void **)&k->new_ctx = dlsym(k->so, "kdump_new");
	*(void **)&k->open_fdset = dlsym(k->so, "kdump_open_fdset");
	*(void **)&k->read = dlsym(k->so, "kdump_read");
	*(void **)&k->free_ctx = dlsym(k->so, "kdump_free");
	*(void **)&k->get_err = dlsym(k->so, "kdump_get_err");
	return k->new_ctx && k->open_fdset && k->read && k->free_ctx && k->get_err;
}

/* Every page our reader finds in PATH equals libkdumpfile's; returns the
 * number of pages compared. */
static uint64_t compare_pages(struct lkdf *k, const char *path)
{
	dump_t *d = dump_new();
	void *ctx = k->new_ctx();
	int fd = open(path, O_RDONLY);
	uint8_t theirs[4096];
	uint64_t compared = 0;
	dump_page_counts c;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dump_open(d, path), DUMP_OK);
	ck_assert_msg(k->open_fdset(ctx, 1, &fd) == 0, "libkdumpfile: %s: %s", path,
	              k->get_err(ctx));
	ck_assert_int_eq(d->fmt->counts(d, &c), DUMP_OK);
	for (uint64_t pfn = 0; pfn < c.max_pfn; pfn++) {
		const uint8_t *ours;
		if (dump_get_page(d, pfn, &ours) != DUMP_OK)
			continue;
		size_t len = sizeof(theirs);
		int st = k->read(ctx, LKDF_MACHPHYSADDR, pfn * 4096, theirs, &len);
		ck_assert_msg(st == 0 && len == 4096,
		              "%s: libkdumpfile cannot read pfn 0x%" PRIx64 ": %s", path, pfn,
		              k->get_err(ctx));
		ck_assert_msg(!memcmp(ours, theirs, 4096), "%s: pfn 0x%" PRIx64 " differs", path,
		              pfn);
		compared++;
	}
	k->free_ctx(ctx);
	close(fd);
	dump_free(d);
	return compared;
}

START_TEST(test_diff_libkdumpfile_pages)
{
	struct lkdf k;

	ck_assert_msg(lkdf_load(&k), "dump_diff: libkdumpfile lacks kdump_new/kdump_read/...");
	ck_assert_uint_eq(compare_pages(&k, DUMPTEST_FIXTURE), 4255);
	need("makedumpfile");
	{
		char *path = dumptest_path("lk.lzo");
		unlink(path);
		ck_assert_int_eq(
		    run("makedumpfile -l -d 31 %s %s >/dev/null 2>&1", DUMPTEST_FIXTURE, path), 0);
		ck_assert_uint_eq(compare_pages(&k, path), 4255);
		free(path);
	}
	/* what makedumpfile cannot write: snappy, zstd, ELF */
	static const uint32_t methods[] = {4, 0x20};
	for (size_t i = 0; i < 2; i++) {
		struct dumpgen_opts o = {.compression = methods[i], .incomplete_after = -1};
		char *path = dumptest_path("lk.gen");
		ck_assert_int_eq(dumpgen_write(dumptest_base(), path, &o), 0);
		ck_assert_uint_eq(compare_pages(&k, path), 4255);
		free(path);
	}
	struct dumpgen_opts o = {.format = DUMPGEN_ELF, .incomplete_after = -1};
	char *path = dumptest_path("lk.elf");
	ck_assert_int_eq(dumpgen_write(dumptest_base(), path, &o), 0);
	ck_assert_uint_eq(compare_pages(&k, path), 4255);
	free(path);
	/* makedumpfile -E: segments with p_filesz < p_memsz */
	need("makedumpfile");
	{
		path = make_elf_e();
		ck_assert_uint_gt(compare_pages(&k, path), 0);
		free(path);
	}
	dlclose(k.so);
}
END_TEST

Suite *dump_diff_suite(void);
Suite *dump_diff_suite(void)
{
	Suite *s = suite_create("dump_diff");
	TCase *tc = tcase_create("peers");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_diff_makedumpfile_dmesg);
	tcase_add_test(tc, test_diff_makedumpfile_rendering);
	tcase_add_test(tc, test_diff_makedumpfile_elf);
	tcase_add_test(tc, test_diff_makedumpfile_split);
	tcase_add_test(tc, test_diff_vmcore_dmesg);
	tcase_add_test(tc, test_diff_libkdumpfile_pages);
	suite_add_tcase(s, tc);
	return s;
}
