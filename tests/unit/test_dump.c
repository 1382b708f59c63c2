/* The dump reader on the committed real dump, and on hostile variants of it:
 * every malformed input must fail with a message naming what and where,
 * never crash or hang. */
#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "dump/dump_internal.h"
#include "test_dump_gen.h"

static char *fixture_bytes(size_t *len)
{
	char *b = dumptest_slurp(DUMPTEST_FIXTURE, len);
	ck_assert_ptr_nonnull(b);
	return b;
}

static uint32_t get32(const char *b, size_t off)
{
	return le32((const uint8_t *)b + off);
}

static void set32(char *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void set64(char *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

/* offset of the first page descriptor of a kdump-compressed image */
static size_t desc_offset(const char *b)
{
	return (size_t)(1 + get32(b, 432) + get32(b, 436)) * get32(b, 428);
}

/* ---- the real dump ---- */

START_TEST(test_open_fixture)
{
	dump_t *d = dump_new();

	ck_assert_int_eq(dump_open(d, DUMPTEST_FIXTURE), DUMP_OK);
	ck_assert_str_eq(dump_error(d), "");
	ck_assert_str_eq(dump_vmcoreinfo(d, "OSRELEASE"), "6.1.0-56-amd64");
	ck_assert_str_eq(dump_vmcoreinfo(d, "PAGESIZE"), "4096");
	ck_assert_ptr_null(dump_vmcoreinfo(d, "NO_SUCH_KEY"));
	/* a key matches whole, at the start of a line */
	ck_assert_ptr_null(dump_vmcoreinfo(d, "SYMBOL(pr"));
	ck_assert_str_eq(d->fmt->name, "kdump-compressed");
	/* the one CPU's registers: pid 1 (init, which wrote to sysrq-trigger),
	 * in kernel code (rip in the image, kernel code segment) */
	ck_assert_uint_eq(d->n_cpus, 1);
	ck_assert_int_eq(d->cpus[0].pid, 1);
	ck_assert_uint_ge(d->cpus[0].reg[16], 0xffffffff80000000ull);
	ck_assert_uint_eq(d->cpus[0].reg[17], 0x10);
	dump_free(d);
	dump_free(NULL);
}
END_TEST

START_TEST(test_dmesg_exact)
{
	dump_t *d = dump_new();
	size_t len, elen;
	char *text, *expected = dumptest_slurp(DUMPTEST_DMESG, &elen);

	ck_assert_int_eq(dump_open(d, DUMPTEST_FIXTURE), DUMP_OK);
	ck_assert_int_eq(dump_dmesg(d, &text, &len), DUMP_OK);
	ck_assert_uint_eq(len, elen);
	ck_assert_mem_eq(text, expected, len);
	free(text);
	free(expected);
	dump_free(d);
}
END_TEST

START_TEST(test_info_fixture)
{
	dump_t *d = dump_new();
	dump_summary in;

	ck_assert_int_eq(dump_open(d, DUMPTEST_FIXTURE), DUMP_OK);
	ck_assert_int_eq(dump_summarize(d, &in), DUMP_OK);
	ck_assert_str_eq(in.compression, "zlib");
	ck_assert_int_eq(in.dump_level, 31);
	ck_assert_uint_eq(in.page_size, 4096);
	ck_assert_str_eq(in.header_release, "6.1.0-56-amd64");
	ck_assert(in.uts_known);
	ck_assert_str_eq(in.sysname, "Linux");
	ck_assert_str_eq(in.release, in.header_release);
	ck_assert_str_eq(in.version, in.header_version);
	ck_assert_int_eq(in.crash_time, 1795684515);
	ck_assert_int_eq(in.header_cpus, 1);
	ck_assert_int_eq(in.cpus, 1);
	ck_assert_uint_eq(in.pages.dumped, 4255);
	ck_assert_uint_eq(in.pages.max_pfn, 262109);
	ck_assert(in.panic_known);
	ck_assert_str_eq(in.panic, "sysrq triggered crash");
	ck_assert(in.task_known);
	ck_assert_int_eq(in.panic_cpu, 0);
	ck_assert_int_eq(in.panic_pid, 1);
	ck_assert_str_eq(in.panic_comm, "init");
	dump_free(d);
}
END_TEST

START_TEST(test_verify_fixture)
{
	dump_t *d = dump_new();
	dump_check_result r;

	ck_assert_int_eq(dump_open(d, DUMPTEST_FIXTURE), DUMP_OK);
	ck_assert_int_eq(dump_check(d, &r), DUMP_OK);
	ck_assert_msg(r.verdict == DUMP_VERDICT_PASS, "%s", r.problem[0]);
	ck_assert(!r.incomplete);
	ck_assert_uint_eq(r.pages_checked, 4255);
	ck_assert_uint_eq(r.pages.dumped, 4255);
	dump_free(d);
}
END_TEST

START_TEST(test_public_summary_check)
{
	dump_t *d = dump_new();
	dump_summary s;
	dump_check_result c;

	ck_assert_int_eq(dump_open(d, DUMPTEST_FIXTURE), DUMP_OK);
	ck_assert_int_eq(dump_summarize(d, &s), DUMP_OK);
	ck_assert_str_eq(s.panic, "sysrq triggered crash");
	ck_assert_int_eq(s.panic_pid, 1);
	ck_assert_str_eq(s.panic_comm, "init");
	ck_assert_str_eq(s.release, "6.1.0-56-amd64");
	ck_assert_uint_eq(s.pages.dumped, 4255);
	ck_assert_int_eq(s.incomplete, 0);
	ck_assert_int_eq(dump_check(d, &c), DUMP_OK);
	ck_assert_int_eq(c.verdict, DUMP_VERDICT_PASS);
	ck_assert_uint_eq(c.pages_checked, 4255);
	ck_assert_str_eq(c.problem[0], "");
	dump_free(d);
}
END_TEST

/* ---- the command line ---- */

static int cli(int argc, const char **argv)
{
	/* the commands print; keep the test log readable, then restore */
	int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY);

	fflush(stdout);
	fflush(stderr);
	dup2(null, 1);
	dup2(null, 2);
	int rc = dump_cli_main(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return rc;
}

/* A real incomplete dump: makedumpfile ran out of space (ENOSPC) */
START_TEST(test_real_enospc)
{
	const char *path = "tests/fixtures/dump/debian12-6.1-sysrq-enospc.kdump";
	dump_t *d = dump_new();
	dump_check_result c;
	char *text;
	size_t len;

	ck_assert_int_eq(dump_open(d, path), DUMP_OK);
	ck_assert(d->incomplete);
	ck_assert_int_eq(dump_check(d, &c), DUMP_OK);
	ck_assert_int_eq(c.verdict, DUMP_VERDICT_INCOMPLETE);
	ck_assert_uint_gt(c.pages_checked, 0);
	ck_assert_ptr_nonnull(strstr(c.problem[0], "incomplete flag"));
	/* what was written reads; what was not says why */
	if (dump_dmesg(d, &text, &len) == DUMP_OK)
		free(text);
	else
		dumptest_assert_msg(d, "incomplete");
	dump_free(d);
	const char *argv[] = {"verify", path};
	ck_assert_int_eq(cli(2, argv), 3);
}
END_TEST

START_TEST(test_read_fixture)
{
	dump_t *d = dump_new();
	uint8_t buf[16];
	uint64_t uts;

	ck_assert_int_eq(dump_open(d, DUMPTEST_FIXTURE), DUMP_OK);
	ck_assert_int_eq(dump_vmcoreinfo_u64(d, "SYMBOL(init_uts_ns)", &uts), DUMP_OK);
	ck_assert_int_eq(dump_read_virt(d, uts, buf, 6), DUMP_OK);
	ck_assert_mem_eq(buf, "Linux", 6);
	/* pfn 0 was filtered out by -d 31 */
	ck_assert_int_eq(dump_read_phys(d, 0x10, buf, 8), DUMP_ERR_NOTFOUND);
	dumptest_assert_msg(d, "excluded");
	ck_assert_int_eq(dump_read_phys(d, 1ull << 50, buf, 8), DUMP_ERR_NOTFOUND);
	dumptest_assert_msg(d, "beyond the dump");
	/* user-space and non-canonical addresses are not mapped */
	ck_assert_int_eq(dump_read_virt(d, 0x400000, buf, 8), DUMP_ERR_NOTFOUND);
	ck_assert_int_eq(dump_read_virt(d, 0x8000000000000000ull, buf, 8), DUMP_ERR_NOTFOUND);
	dumptest_assert_msg(d, "canonical");
	dump_free(d);
}
END_TEST

/* ---- malformed files ---- */

START_TEST(test_open_errors)
{
	dump_t *d = dump_new();

	ck_assert_int_eq(dump_open(d, "build/test-dump/does-not-exist"), DUMP_ERR_IO);
	dumptest_assert_msg(d, "does-not-exist");
	dump_free(d);

	ck_assert_int_eq(dumptest_open_bytes("empty", "", 0, &d), DUMP_ERR_FORMAT);
	dumptest_assert_msg(d, "not a kdump-compressed");
	dump_free(d);

	const char text[] = "this is not a dump at all, just some text\n";
	ck_assert_int_eq(dumptest_open_bytes("text", text, sizeof(text), &d), DUMP_ERR_FORMAT);
	dump_free(d);

	/* a KDUMP signature alone */
	ck_assert_int_eq(dumptest_open_bytes("sig-only", "KDUMP   ", 8, &d), DUMP_ERR_CORRUPT);
	dumptest_assert_msg(d, "shorter than the 464-byte header");
	dump_free(d);

	/* ELF32 and a non-core ELF */
	char elf[64] = {0x7f, 'E', 'L', 'F', 1, 1, 1};
	ck_assert_int_eq(dumptest_open_bytes("elf32", elf, sizeof(elf), &d), DUMP_ERR_UNSUPPORTED);
	dumptest_assert_msg(d, "ELF64");
	dump_free(d);
	elf[4] = 2;
	elf[16] = 2; /* ET_EXEC */
	ck_assert_int_eq(dumptest_open_bytes("elf-exec", elf, sizeof(elf), &d), DUMP_ERR_FORMAT);
	dumptest_assert_msg(d, "not a core file");
	dump_free(d);
}
END_TEST

struct header_case {
	const char *name;
	size_t off;
	uint32_t value;
	dump_status status;
	const char *message;
};

START_TEST(test_header_fields)
{
	static const struct header_case cases[] = {
	    {"version", 8, 99, DUMP_ERR_UNSUPPORTED, "version 99"},
	    {"version0", 8, 0, DUMP_ERR_CORRUPT, "version 0"},
	    {"block_size", 428, 3000, DUMP_ERR_CORRUPT, "page size 3000"},
	    {"block_size0", 428, 0, DUMP_ERR_CORRUPT, "page size 0"},
	    {"sub_hdr_size", 432, 0, DUMP_ERR_CORRUPT, "sub_hdr_size 0"},
	    {"bitmap_blocks", 436, 0x7ffffffe, DUMP_ERR_CORRUPT, "bitmaps end at"},
	    {"bitmap_odd", 436, 15, DUMP_ERR_CORRUPT, "bitmap_blocks 15"},
	};
	size_t len;
	char *orig = fixture_bytes(&len);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *b = malloc(len);
		dump_t *d;
		memcpy(b, orig, len);
		set32(b, cases[i].off, cases[i].value);
		ck_assert_int_eq(dumptest_open_bytes(cases[i].name, b, len, &d), cases[i].status);
		dumptest_assert_msg(d, cases[i].message);
		dump_free(d);
		free(b);
	}
	/* max_mapnr (64-bit, sub-header) larger than the bitmaps */
	char *b = malloc(len);
	dump_t *d;
	memcpy(b, orig, len);
	set64(b, 4096 + 96, 1ull << 40);
	ck_assert_int_eq(dumptest_open_bytes("max_mapnr", b, len, &d), DUMP_ERR_CORRUPT);
	dumptest_assert_msg(d, "max_mapnr 1099511627776");
	dump_free(d);
	/* found by fuzzing: (max_mapnr + 7) / 8 wrapped to 0 bitmap bytes */
	set64(b, 4096 + 96, UINT64_MAX);
	ck_assert_int_eq(dumptest_open_bytes("max_mapnr-max", b, len, &d), DUMP_ERR_CORRUPT);
	dumptest_assert_msg(d, "max_mapnr 18446744073709551615");
	dump_free(d);
	/* notes pointing outside the file */
	memcpy(b, orig, len);
	set64(b, 4096 + 56, 1ull << 62);
	ck_assert_int_eq(dumptest_open_bytes("notes", b, len, &d), DUMP_ERR_CORRUPT);
	dumptest_assert_msg(d, "notes at");
	dump_free(d);
	free(b);
	free(orig);
}
END_TEST

/* verify on a modified fixture: must find a problem naming NEEDLE */
static void verify_finds(const char *name, const char *b, size_t len, const char *needle,
                         bool incomplete)
{
	dump_t *d;
	dump_check_result r;

	ck_assert_int_eq(dumptest_open_bytes(name, b, len, &d), DUMP_OK);
	ck_assert_int_eq(dump_check(d, &r), DUMP_OK);
	ck_assert_msg(r.verdict != DUMP_VERDICT_PASS, "%s: verify passed", name);
	ck_assert_int_eq(r.incomplete, incomplete);
	bool found = false;
	for (unsigned i = 0; i < r.n_kept; i++)
		found |= strstr(r.problem[i], needle) != NULL;
	ck_assert_msg(found, "%s: no problem mentions '%s' (first: %s)", name, needle,
	              r.n_kept ? r.problem[0] : "none");
	dump_free(d);
}

START_TEST(test_corrupt_pages)
{
	size_t len;
	char *orig = fixture_bytes(&len), *b = malloc(len);
	size_t desc = desc_offset(orig);

	/* a descriptor claiming more than a page */
	memcpy(b, orig, len);
	set32(b, desc + 24 * 10 + 8, 5000);
	verify_finds("desc-size", b, len, "stored size 5000", false);
	/* data beyond the end of the file */
	memcpy(b, orig, len);
	set64(b, desc + 24 * 10, (uint64_t)len + 100);
	verify_finds("desc-offset", b, len, "outside the page data", false);
	/* data inside the headers */
	memcpy(b, orig, len);
	set64(b, desc + 24 * 10, 16);
	verify_finds("desc-into-header", b, len, "outside the page data", false);
	/* two compressions at once */
	memcpy(b, orig, len);
	set32(b, desc + 24 * 10 + 12, 3);
	verify_finds("desc-flags", b, len, "several compressions", false);
	/* garbage compressed data (in the first compressed page) */
	memcpy(b, orig, len);
	size_t k = 0;
	while (get32(orig, desc + 24 * k + 12) == 0)
		k++;
	uint64_t data = le64((const uint8_t *)orig + desc + 24 * k);
	uint32_t size = get32(orig, desc + 24 * k + 8);
	memset(b + data, 0x5a, size);
	verify_finds("data-garbage", b, len, "zlib", false);
	/* the shared zero page, not zero */
	memcpy(b, orig, len);
	k = 0;
	while (get32(orig, desc + 24 * k + 12) != 0)
		k++;
	data = le64((const uint8_t *)orig + desc + 24 * k);
	b[data + 100] = 1;
	verify_finds("zero-page", b, len, "not the zero page", false);
	/* zeroed descriptor: what a full disk leaves */
	memcpy(b, orig, len);
	memset(b + desc + 24 * 30, 0, 24);
	verify_finds("desc-zero", b, len, "zeroed", true);
	/* the header's incomplete flag */
	memcpy(b, orig, len);
	set32(b, 424, get32(orig, 424) | 8);
	verify_finds("status-incomplete", b, len, "incomplete flag", true);
	/* a file cut short in the page data */
	verify_finds("truncated", orig, len / 2, "outside the page data", false);
	/* dumped but not RAM: bitmaps disagree */
	memcpy(b, orig, len);
	{
		size_t bm1 = (size_t)(1 + get32(orig, 432)) * 4096;
		size_t half = (size_t)get32(orig, 436) / 2 * 4096;
		for (size_t i = 0; i < half; i++)
			if (orig[bm1 + half + i]) {
				b[bm1 + i] = 0;
				break;
			}
	}
	verify_finds("bitmaps", b, len, "not in the 1st", false);
	free(b);
	free(orig);
}
END_TEST

START_TEST(test_truncated_everywhere)
{
	/* every cut of the first 80 KiB (headers, bitmaps, descriptors) and a
	 * few later ones: open and read fail cleanly or succeed, never crash */
	size_t len;
	char *orig = fixture_bytes(&len);
	char *path = dumptest_path("cut");

	for (size_t cut = 0; cut < len; cut += cut < 81920 ? 997 : 131071) {
		dump_t *d = dump_new();
		char *text;
		size_t tl;
		dump_check_result r;
		ck_assert_int_eq(dumptest_spit(path, orig, cut), 0);
		if (dump_open(d, path) == DUMP_OK) {
			if (dump_dmesg(d, &text, &tl) == DUMP_OK)
				free(text);
			else
				ck_assert_str_ne(dump_error(d), "");
			dump_check(d, &r);
			ck_assert(r.verdict != DUMP_VERDICT_PASS);
		} else {
			ck_assert_str_ne(dump_error(d), "");
		}
		dump_free(d);
	}
	free(path);
	free(orig);
}
END_TEST

/* ---- hostile memory contents ---- */

static dump_status dmesg_of_gen(struct dumpgen *g, const char *name, dump_t **d)
{
	struct dumpgen_opts o = {.compression = 0x20, .incomplete_after = -1};
	char *path = dumptest_path(name), *text;
	size_t len;

	ck_assert_int_eq(dumpgen_write(g, path, &o), 0);
	*d = dump_new();
	ck_assert_int_eq(dump_open(*d, path), DUMP_OK);
	free(path);
	dump_status st = dump_dmesg(*d, &text, &len);
	if (st == DUMP_OK)
		free(text);
	return st;
}

START_TEST(test_dmesg_hostile)
{
	struct dumpgen g;
	dump_t *d;

	/* a layout whose field lies outside its structure */
	dumptest_copy(&g);
	dumpgen_set_info(&g, "OFFSET(prb_desc_ring.tail_id)", "4000");
	ck_assert_int_eq(dmesg_of_gen(&g, "bad-layout", &d), DUMP_ERR_CORRUPT);
	dumptest_assert_msg(d, "inconsistent");
	dump_free(d);
	dumpgen_free(&g);

	/* a missing key is named */
	dumptest_copy(&g);
	dumpgen_set_info(&g, "SIZE(printk_info)", NULL);
	ck_assert_int_eq(dmesg_of_gen(&g, "missing-key", &d), DUMP_ERR_NOTFOUND);
	dumptest_assert_msg(d, "SIZE(printk_info)");
	dump_free(d);
	dumpgen_free(&g);

	/* head and tail ids far apart: must not loop 2^62 times */
	dumptest_copy(&g);
	{
		uint64_t sym = strtoull(strstr(g.vmcoreinfo, "SYMBOL(prb)=") + 12, NULL, 16);
		uint64_t pa = sym - 0xffffffff80000000ull + g.phys_base;
		uint8_t *page = dumpgen_page(&g, pa / 4096);
		uint64_t rb = le64(page + pa % 4096);
		uint64_t rb_pa = rb - 0xffffffff80000000ull + g.phys_base;
		uint8_t *rbp = dumpgen_page(&g, rb_pa / 4096);
		ck_assert_ptr_nonnull(rbp);
		/* tail just after head: a span of ~2^62 ids */
		uint64_t tail = le64(rbp + rb_pa % 4096 + 24) + 5;
		memcpy(rbp + rb_pa % 4096 + 32, &tail, 8);
		ck_assert_int_eq(dmesg_of_gen(&g, "ring-span", &d), DUMP_ERR_CORRUPT);
		dumptest_assert_msg(d, "spans more than");
		dump_free(d);
		/* and a ring too large to be real */
		uint32_t count_bits = 40;
		memcpy(rbp + rb_pa % 4096, &count_bits, 4);
		ck_assert_int_eq(dmesg_of_gen(&g, "ring-bits", &d), DUMP_ERR_CORRUPT);
		dumptest_assert_msg(d, "count_bits 40");
		dump_free(d);
	}
	dumpgen_free(&g);

	/* a log_buf whose chain never reaches log_next_idx */
	dumptest_copy(&g);
	char *expected;
	ck_assert_int_eq(dumpgen_make_logbuf(&g, 16384, &expected), 0);
	free(expected);
	{
		uint64_t sym =
		    strtoull(strstr(g.vmcoreinfo, "SYMBOL(log_next_idx)=") + 21, NULL, 16);
		uint64_t pa = sym - 0xffffffff80000000ull + g.phys_base;
		uint8_t *page = dumpgen_page(&g, pa / 4096);
		uint32_t odd = 3; /* no record starts there */
		memcpy(page + pa % 4096, &odd, 4);
	}
	ck_assert_int_eq(dmesg_of_gen(&g, "logbuf-cycle", &d), DUMP_ERR_CORRUPT);
	ck_assert_str_ne(dump_error(d), "");
	dump_free(d);
	dumpgen_free(&g);
}
END_TEST

/* An ELF dump cut short (cp stopped when the capture kernel was killed,
 * or the disk filled): its segments promise data past the file's end, and
 * verify calls the dump incomplete, naming the segment. */
START_TEST(test_elf_cut_short_is_incomplete)
{
	struct dumpgen_opts o = {.format = DUMPGEN_ELF, .incomplete_after = -1};
	char *path = dumptest_path("cut.elf.src");
	size_t len;

	ck_assert_int_eq(dumpgen_write(dumptest_base(), path, &o), 0);
	char *b = dumptest_slurp(path, &len);
	verify_finds("cut.elf", b, len / 2, "the dump was cut short", true);
	free(b);
	free(path);
}
END_TEST

/* ELF extended numbering: e_phnum = PN_XNUM, the count in section 0's
 * sh_info (makedumpfile -E writes it for more than 65534 segments) */
START_TEST(test_elf_pn_xnum)
{
	struct dumpgen_opts o = {.format = DUMPGEN_ELF, .incomplete_after = -1};
	char *path = dumptest_path("xnum.src");
	size_t len;

	ck_assert_int_eq(dumpgen_write(dumptest_base(), path, &o), 0);
	char *b = dumptest_slurp(path, &len);
	uint16_t phnum = le16((const uint8_t *)b + 56);
	char *x = malloc(len + 64);
	memcpy(x, b, len);
	memset(x + len, 0, 64);    /* Elf64_Shdr 0 */
	set32(x + len, 44, phnum); /* sh_info */
	set64(x, 40, len);         /* e_shoff */
	x[58] = 64;                /* e_shentsize */
	x[60] = 1;                 /* e_shnum */
	x[56] = (char)0xff;        /* e_phnum = PN_XNUM */
	x[57] = (char)0xff;
	dump_t *d;
	ck_assert_int_eq(dumptest_open_bytes("xnum.elf", x, len + 64, &d), DUMP_OK);
	char *text, *expected = dumptest_slurp(DUMPTEST_DMESG, NULL);
	size_t tl;
	ck_assert_int_eq(dump_dmesg(d, &text, &tl), DUMP_OK);
	ck_assert_str_eq(text, expected);
	free(text);
	dump_free(d);
	/* and a section header beyond the file is named */
	set64(x, 40, (uint64_t)len + 4096);
	ck_assert_int_eq(dumptest_open_bytes("xnum-bad.elf", x, len + 64, &d), DUMP_ERR_CORRUPT);
	dumptest_assert_msg(d, "PN_XNUM");
	dump_free(d);
	free(expected);
	free(x);
	free(b);
	free(path);
}
END_TEST

/* ---- flattened streams ---- */

START_TEST(test_flattened_hostile)
{
	char buf[4096 + 16 + 16] = "makedumpfile";
	dump_t *d;
	uint8_t be[8];

	/* version 2 */
	buf[31] = 1;
	buf[23] = 1;
	buf[31] = 2;
	ck_assert_int_eq(dumptest_open_bytes("flat-version", buf, 4096, &d), DUMP_ERR_UNSUPPORTED);
	dumptest_assert_msg(d, "version 2");
	dump_free(d);
	buf[31] = 1;
	/* a record larger than the file */
	memset(be, 0, 8);
	memcpy(buf + 4096, be, 8);
	be[0] = 0x10;
	memcpy(buf + 4104, be, 8);
	ck_assert_int_eq(dumptest_open_bytes("flat-size", buf, 4096 + 16, &d), DUMP_ERR_CORRUPT);
	dumptest_assert_msg(d, "flattened record at file offset 0x1000");
	dump_free(d);
	/* a negative offset */
	memset(buf + 4096, 0xff, 8);
	memset(buf + 4104, 0, 8);
	buf[4111] = 1;
	ck_assert_int_eq(dumptest_open_bytes("flat-neg", buf, 4096 + 17, &d), DUMP_ERR_CORRUPT);
	dump_free(d);
	/* no records at all: nothing to probe */
	ck_assert_int_eq(dumptest_open_bytes("flat-empty", buf, 4096, &d), DUMP_ERR_FORMAT);
	dump_free(d);
}
END_TEST

START_TEST(test_flattened_unterminated)
{
	struct dumpgen_opts o = {.compression = 2, .flattened = true, .incomplete_after = -1};
	char *path = dumptest_path("flat-cut");
	size_t len;

	ck_assert_int_eq(dumpgen_write(dumptest_base(), path, &o), 0);
	char *b = dumptest_slurp(path, &len);
	/* drop the end marker and the last record's tail */
	dump_t *d;
	ck_assert_int_eq(dumptest_open_bytes("flat-cut", b, len - 16, &d), DUMP_OK);
	dump_check_result r;
	ck_assert_int_eq(dump_check(d, &r), DUMP_OK);
	ck_assert(r.verdict != DUMP_VERDICT_PASS);
	ck_assert_ptr_nonnull(strstr(r.problem[0], "end marker"));
	dump_free(d);
	free(b);
	free(path);
}
END_TEST

START_TEST(test_cli_exit_codes)
{
	const char *none[] = {NULL};
	const char *bad[] = {"frobnicate"};
	const char *info[] = {"info", "--json", DUMPTEST_FIXTURE};
	const char *dmesg[] = {"dmesg", DUMPTEST_FIXTURE};
	const char *verify[] = {"verify", DUMPTEST_FIXTURE};
	const char *read_ok[] = {"read", DUMPTEST_FIXTURE, "0xffffffffb6ffb000", "16"};
	const char *read_bad[] = {"read", DUMPTEST_FIXTURE, "zz", "16"};
	const char *missing[] = {"dmesg", "build/test-dump/does-not-exist"};
	const char *extra[] = {"dmesg", DUMPTEST_FIXTURE, "surplus"};
	const char *read_short[] = {"read", DUMPTEST_FIXTURE, "16"};

	ck_assert_int_eq(cli(0, none), 2);
	ck_assert_int_eq(cli(1, bad), 2);
	ck_assert_int_eq(cli(3, info), 0);
	ck_assert_int_eq(cli(2, dmesg), 0);
	ck_assert_int_eq(cli(2, verify), 0);
	ck_assert_int_eq(cli(4, read_ok), 0);
	ck_assert_int_eq(cli(4, read_bad), 2);
	ck_assert_int_eq(cli(2, missing), 1);
	/* a second FILE is a split part: this one is not */
	ck_assert_int_eq(cli(3, extra), 1);
	ck_assert_int_eq(cli(3, read_short), 2);

	/* verify: 1 for a corrupt dump, 3 for an incomplete one */
	size_t len;
	char *b = fixture_bytes(&len);
	char *path = dumptest_path("cli-corrupt");
	size_t desc = desc_offset(b);
	set32(b, desc + 8, 5000);
	ck_assert_int_eq(dumptest_spit(path, b, len), 0);
	const char *v1[] = {"verify", "--json", path};
	ck_assert_int_eq(cli(3, v1), 1);
	set32(b, desc + 8, get32(b, desc + 8 + 24));
	set32(b, 424, get32(b, 424) | 8);
	ck_assert_int_eq(dumptest_spit(path, b, len), 0);
	ck_assert_int_eq(cli(3, v1), 3);
	free(path);
	free(b);
}
END_TEST

Suite *dump_suite(void);
Suite *dump_suite(void)
{
	Suite *s = suite_create("dump");
	TCase *real = tcase_create("real");
	TCase *bad = tcase_create("malformed");

	tcase_set_timeout(real, 30);
	tcase_add_test(real, test_open_fixture);
	tcase_add_test(real, test_dmesg_exact);
	tcase_add_test(real, test_info_fixture);
	tcase_add_test(real, test_verify_fixture);
	tcase_add_test(real, test_read_fixture);
	tcase_add_test(real, test_public_summary_check);
	tcase_add_test(real, test_real_enospc);
	tcase_add_test(real, test_cli_exit_codes);
	suite_add_tcase(s, real);

	tcase_set_timeout(bad, 60);
	tcase_add_test(bad, test_open_errors);
	tcase_add_test(bad, test_header_fields);
	tcase_add_test(bad, test_corrupt_pages);
	tcase_add_test(bad, test_truncated_everywhere);
	tcase_add_test(bad, test_elf_cut_short_is_incomplete);
	tcase_add_test(bad, test_dmesg_hostile);
	tcase_add_test(bad, test_elf_pn_xnum);
	tcase_add_test(bad, test_flattened_hostile);
	tcase_add_test(bad, test_flattened_unterminated);
	suite_add_tcase(s, bad);
	return s;
}
