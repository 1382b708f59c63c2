/* The reader against files other producers write, and against hostile
 * input found by review: each test here failed before its fix. */
#include <check.h>
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "dump/dump_internal.h"
#include "test_dump_gen.h"

#define KMAP 0xffffffff80000000ull

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- parse_panic: linear on a hostile log ---- */

START_TEST(test_panic_log_hostile)
{
	/* 4 MiB of "CPU: " lines that never parse, then a panic: the old
	 * search rescanned the log for each (7.7 s for 250 KiB) */
	size_t n = 4u << 20, len = 0;
	char *log = malloc(n + 256);
	dump_summary in;

	while (len + 16 < n) {
		memcpy(log + len, "CPU: x PID: y\n", 14);
		len += 14;
	}
	len += (size_t)sprintf(log + len, "CPU: 3 PID: 77 Comm: victim Not tainted\n"
	                                  "Kernel panic - not syncing: hostile\n");
	memset(&in, 0, sizeof(in));
	dump_parse_panic(&in, log, len);
	ck_assert(in.panic_known);
	ck_assert_str_eq(in.panic, "hostile");
	ck_assert(in.task_known);
	ck_assert_int_eq(in.panic_cpu, 3);
	ck_assert_int_eq(in.panic_pid, 77);
	ck_assert_str_eq(in.panic_comm, "victim");

	/* the header after the panic line (6.x) wins over earlier ones */
	len = (size_t)sprintf(log, "CPU: 1 PID: 2 Comm: old\n"
	                           "Kernel panic - not syncing: x\n"
	                           "CPU: 5 PID: 6 Comm: new\n");
	memset(&in, 0, sizeof(in));
	dump_parse_panic(&in, log, len);
	ck_assert_int_eq(in.panic_cpu, 5);
	ck_assert_str_eq(in.panic_comm, "new");

	/* no parsable header anywhere: unknown, not garbage */
	len = (size_t)sprintf(log, "CPU: 9 PID: oops\nKernel panic - not syncing: y\n");
	memset(&in, 0, sizeof(in));
	dump_parse_panic(&in, log, len);
	ck_assert(!in.task_known);
	ck_assert_int_eq(in.panic_cpu, -1);
	free(log);
}
END_TEST

/* ---- hand-built ELF vmcores ---- */

struct note {
	const char *name;
	uint32_t type;
	const void *desc;
	uint32_t len;
};

/* An x86_64 ELF vmcore with NOTES and one PT_LOAD of one page at PADDR /
 * VADDR holding PAGE.  Returns the malloc'd image, its size in *LEN. */
static uint8_t *build_elf(const struct note *notes, size_t n_notes, uint64_t paddr, uint64_t vaddr,
                          const uint8_t *page, size_t *len)
{
	size_t nbytes = 0;
	for (size_t i = 0; i < n_notes; i++)
		nbytes += 12 + ((strlen(notes[i].name) + 1 + 3) & ~3u) + ((notes[i].len + 3) & ~3u);
	size_t note_off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	size_t data_off = (note_off + nbytes + 4095) & ~(size_t)4095;
	uint8_t *b = calloc(1, data_off + 4096);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_CORE;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = note_off, .p_filesz = nbytes};
	ph[1] = (Elf64_Phdr){.p_type = PT_LOAD,
	                     .p_offset = data_off,
	                     .p_paddr = paddr,
	                     .p_vaddr = vaddr,
	                     .p_filesz = 4096,
	                     .p_memsz = 4096};
	uint8_t *p = b + note_off;
	for (size_t i = 0; i < n_notes; i++) {
		uint32_t namesz = (uint32_t)strlen(notes[i].name) + 1;
		put32(p, namesz);
		put32(p + 4, notes[i].len);
		put32(p + 8, notes[i].type);
		memcpy(p + 12, notes[i].name, namesz);
		p += 12 + ((namesz + 3) & ~3u);
		memcpy(p, notes[i].desc, notes[i].len);
		p += (notes[i].len + 3) & ~3u;
	}
	memcpy(b + data_off, page, 4096);
	*len = data_off + 4096;
	return b;
}

static const char vmcoreinfo_min[] = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n";

/* A kernel loaded at 2 GiB and above 4 GiB: phys_base comes from the
 * kernel-text segment (no NUMBER(phys_base), no page tables) */
START_TEST(test_elf_phys_base_high)
{
	static const uint64_t bases[] = {0x80000000ull, 0x140000000ull, 0x1000000ull};
	struct note n = {"VMCOREINFO", 0, vmcoreinfo_min, sizeof(vmcoreinfo_min) - 1};
	uint8_t page[4096], got[16];

	for (int i = 0; i < 4096; i++)
		page[i] = (uint8_t)(i * 7);
	for (size_t k = 0; k < sizeof(bases) / sizeof(bases[0]); k++) {
		size_t len;
		uint64_t text = 0x1000000;
		uint8_t *b = build_elf(&n, 1, bases[k] + text, KMAP + text, page, &len);
		dump_t *d;
		ck_assert_int_eq(dumptest_open_bytes("elf-high", b, len, &d), DUMP_OK);
		ck_assert_msg(dump_read_virt(d, KMAP + text + 32, got, sizeof(got)) == DUMP_OK,
		              "base 0x%" PRIx64 ": %s", bases[k], dump_error(d));
		ck_assert_mem_eq(got, page + 32, sizeof(got));
		dump_free(d);
		free(b);
	}
}
END_TEST

/* One short PRSTATUS note costs that CPU's registers, not the dump */
START_TEST(test_elf_short_prstatus)
{
	uint8_t full[336] = {0}, shortn[100] = {0}, page[4096] = {0};
	struct note n[] = {
	    {"CORE", NT_PRSTATUS, shortn, sizeof(shortn)},
	    {"CORE", NT_PRSTATUS, full, sizeof(full)},
	    {"VMCOREINFO", 0, vmcoreinfo_min, sizeof(vmcoreinfo_min) - 1},
	};
	size_t len;
	dump_t *d;

	put32(full + 32, 4242);
	uint8_t *b = build_elf(n, 3, 0x1000000, KMAP + 0x1000000, page, &len);
	ck_assert_int_eq(dumptest_open_bytes("elf-short-prstatus", b, len, &d), DUMP_OK);
	ck_assert_str_eq(dump_vmcoreinfo(d, "OSRELEASE"), "6.1.0-test");
	ck_assert_uint_eq(d->n_cpus, 2);
	ck_assert(!d->cpus[0].regs_known);
	ck_assert_msg(strstr(d->cpus[0].problem, "100 bytes"), "%s", d->cpus[0].problem);
	ck_assert(d->cpus[1].regs_known);
	ck_assert_int_eq(d->cpus[1].pid, 4242);
	dump_free(d);
	free(b);
}
END_TEST

/* 32-bit and big-endian headers: "not an x86_64 dump" */
START_TEST(test_not_x86_64)
{
	uint8_t page[4096] = {0};
	struct note n = {"VMCOREINFO", 0, vmcoreinfo_min, sizeof(vmcoreinfo_min) - 1};
	size_t len, flen;
	dump_t *d;
	uint8_t *b = build_elf(&n, 1, 0x1000000, KMAP + 0x1000000, page, &len);

	b[EI_CLASS] = ELFCLASS32;
	ck_assert_int_eq(dumptest_open_bytes("elf32", b, len, &d), DUMP_ERR_UNSUPPORTED);
	dumptest_assert_msg(d, "not an x86_64 dump");
	dump_free(d);
	b[EI_CLASS] = ELFCLASS64;
	b[EI_DATA] = ELFDATA2MSB;
	ck_assert_int_eq(dumptest_open_bytes("elf-be", b, len, &d), DUMP_ERR_UNSUPPORTED);
	dumptest_assert_msg(d, "not an x86_64 dump");
	dump_free(d);
	free(b);

	uint8_t *k = (uint8_t *)dumptest_slurp(DUMPTEST_FIXTURE, &flen);
	ck_assert_ptr_nonnull(k);
	/* big-endian: the version reads 0x06000000 little-endian */
	put32(k + 8, __builtin_bswap32(6));
	ck_assert_int_eq(dumptest_open_bytes("kdump-be", k, flen, &d), DUMP_ERR_UNSUPPORTED);
	dumptest_assert_msg(d, "not an x86_64 dump");
	dump_free(d);
	put32(k + 8, 6);
	/* another machine's header (a 32-bit or big-endian writer names
	 * itself in the utsname) */
	memcpy(k + 12 + 260, "i686\0\0", 6);
	ck_assert_int_eq(dumptest_open_bytes("kdump-i686", k, flen, &d), DUMP_ERR_UNSUPPORTED);
	dumptest_assert_msg(d, "not an x86_64 dump");
	dump_free(d);
	/* a 32-bit layout without a machine name: block_size 8 bytes early */
	memset(k + 12 + 260, 0, 65);
	memmove(k + 416, k + 424, 24);
	ck_assert_int_eq(dumptest_open_bytes("kdump-32", k, flen, &d), DUMP_ERR_UNSUPPORTED);
	dumptest_assert_msg(d, "32-bit");
	dump_free(d);
	free(k);
}
END_TEST

/* ---- kdump-compressed ---- */

static dump_check_result check_path(const char *path, dump_t **out)
{
	dump_check_result c;
	dump_t *d = dump_new();
	ck_assert_msg(dump_open(d, path) == DUMP_OK, "%s", dump_error(d));
	ck_assert_int_eq(dump_check(d, &c), DUMP_OK);
	*out = d;
	return c;
}

/* An empty dump (no memory at all) opens; verify says it proves nothing */
START_TEST(test_empty_diskdump)
{
	size_t flen;
	uint8_t *k = (uint8_t *)dumptest_slurp(DUMPTEST_FIXTURE, &flen);
	dump_t *d;
	dump_check_result c;

	put32(k + 440, 0);       /* max_mapnr */
	put64(k + 4096 + 96, 0); /* max_mapnr_64 (header version 6) */
	put32(k + 436, 0);       /* no bitmap blocks */
	size_t len = 4096 * 2;   /* header + sub-header block */
	uint64_t notes_end = 0;  /* keep the notes the sub-header points to */
	notes_end = le64(k + 4096 + 48) + le64(k + 4096 + 56);
	if (notes_end > len)
		len = notes_end;
	ck_assert_int_eq(dumptest_open_bytes("kdump-empty", k, len, &d), DUMP_OK);
	ck_assert_int_eq(dump_check(d, &c), DUMP_OK);
	ck_assert_int_eq(c.verdict, DUMP_VERDICT_FAIL);
	ck_assert_uint_eq(c.pages_checked, 0);
	ck_assert_msg(strstr(c.problem[0], "no page of memory"), "%s", c.problem[0]);
	dump_free(d);
	free(k);
}
END_TEST

/* The fixture as a flattened stream whose page data starts GAP bytes
 * after the descriptor table (the format allows holes between records) */
START_TEST(test_flattened_gap)
{
	size_t flen;
	uint8_t *k = (uint8_t *)dumptest_slurp(DUMPTEST_FIXTURE, &flen);
	const uint64_t gap = 3 * 4096 + 123;
	uint64_t desc_off = (uint64_t)(1 + le32(k + 432) + le32(k + 436)) * le32(k + 428);
	uint64_t data_start = flen, n_desc = 0;

	while (desc_off + 24 * (n_desc + 1) <= data_start) {
		uint64_t o = le64(k + desc_off + 24 * n_desc);
		if (o && o < data_start)
			data_start = o;
		n_desc++;
	}
	for (uint64_t i = 0; i < n_desc; i++)
		put64(k + desc_off + 24 * i, le64(k + desc_off + 24 * i) + gap);
	size_t out_len = 4096 + 3 * 16 + flen + 16;
	uint8_t *f = calloc(1, out_len), *p = f;
	memcpy(f, "makedumpfile", 12);
	put_be64(f + 16, 1);
	put_be64(f + 24, 1);
	p = f + 4096;
	/* headers and bitmaps, the descriptors, then the data past the gap */
	const uint64_t rec[3][3] = {{0, desc_off, 0},
	                            {desc_off, data_start - desc_off, desc_off},
	                            {data_start + gap, flen - data_start, data_start}};
	for (int r = 0; r < 3; r++) {
		put_be64(p, rec[r][0]);
		put_be64(p + 8, rec[r][1]);
		memcpy(p + 16, k + rec[r][2], rec[r][1]);
		p += 16 + rec[r][1];
	}
	memset(p, 0xff, 16);
	p += 16;

	dump_t *d, *plain;
	ck_assert_int_eq(dumptest_open_bytes("flat-gap", f, (size_t)(p - f), &d), DUMP_OK);
	dump_summary in;
	ck_assert_msg(dump_summarize(d, &in) == DUMP_OK, "%s", dump_error(d));
	ck_assert_str_eq(in.panic, "sysrq triggered crash");
	dump_check_result c;
	ck_assert_int_eq(dump_check(d, &c), DUMP_OK);
	ck_assert_msg(c.verdict == DUMP_VERDICT_PASS, "%s", c.problem[0]);
	dump_check_result want = check_path(DUMPTEST_FIXTURE, &plain);
	ck_assert_uint_eq(c.pages_checked, want.pages_checked);
	dump_check_result r1, r2;
	ck_assert_int_eq(dump_check(d, &r1), DUMP_OK);
	ck_assert_int_eq(dump_check(plain, &r2), DUMP_OK);
	ck_assert_uint_eq(r1.pages.zero, r2.pages.zero);
	ck_assert_uint_eq(r1.bytes_compressed, r2.bytes_compressed);
	dump_free(d);
	dump_free(plain);
	free(f);
	free(k);
}
END_TEST

/* Split dumps: totals from the complete bitmaps, honest messages */
START_TEST(test_split_parts)
{
	const struct dumpgen *g = dumptest_base();
	struct dumpgen_opts o = {.compression = 2, .incomplete_after = -1};
	char *p[3] = {dumptest_path("split.1"), dumptest_path("split.2"), dumptest_path("split.3")};
	dump_t *whole = dump_new(), *d = dump_new();
	dump_summary all, some;

	ck_assert_int_eq(dumpgen_write_split(g, (const char *const *)p, 3, &o), 0);
	ck_assert_int_eq(dump_open_parts(whole, (const char *const *)p, 3), DUMP_OK);
	ck_assert_int_eq(dump_summarize(whole, &all), DUMP_OK);
	/* parts 1 and 3 only: the totals are the machine's, not the parts' */
	const char *two[] = {p[0], p[2]};
	ck_assert_int_eq(dump_open_parts(d, two, 2), DUMP_OK);
	ck_assert_int_eq(dump_summarize(d, &some), DUMP_OK);
	ck_assert_uint_eq(some.pages.total, all.pages.total);
	ck_assert_uint_eq(some.pages.excluded, all.pages.excluded);
	ck_assert_uint_eq(some.pages.dumped, all.pages.dumped);
	/* a page of the missing part: named with the range no part covers */
	uint64_t pfn = g->pages[g->n_pages / 3 + 1].pfn;
	const uint8_t *page;
	ck_assert_int_eq(dump_get_page(d, pfn, &page), DUMP_ERR_NOTFOUND);
	dumptest_assert_msg(d, "none of the parts given covers");
	dump_check_result c;
	ck_assert_int_eq(dump_check(d, &c), DUMP_OK);
	ck_assert_int_eq(c.verdict, DUMP_VERDICT_FAIL);
	ck_assert_msg(strstr(c.problem[0], "dumped pages in pfns"), "%s", c.problem[0]);
	dump_free(d);
	dump_free(whole);

	/* the last part ends after its last dumped page, before max_mapnr:
	 * the range no part covers holds no page, the dump is complete */
	size_t len;
	uint8_t *b = (uint8_t *)dumptest_slurp(p[2], &len);
	uint64_t end = g->pages[g->n_pages - 1].pfn + 1;
	ck_assert_uint_lt(end, le64(b + 4096 + 96));
	put64(b + 4096 + 24, end);
	put64(b + 4096 + 88, end);
	ck_assert_int_eq(dumptest_spit(p[2], b, len), 0);
	free(b);
	d = dump_new();
	ck_assert_int_eq(dump_open_parts(d, (const char *const *)p, 3), DUMP_OK);
	ck_assert_int_eq(dump_check(d, &c), DUMP_OK);
	ck_assert_msg(c.verdict == DUMP_VERDICT_PASS, "%s", c.problem[0]);
	dump_free(d);
	for (int i = 0; i < 3; i++)
		free(p[i]);
}
END_TEST

/* ---- printk: VMCOREINFO sums and signs ---- */

static dump_status dmesg_with(const char *key, const char *value, dump_t **d)
{
	struct dumpgen g;
	struct dumpgen_opts o = {.compression = 0, .incomplete_after = -1};
	char *path = dumptest_path("printk-layout"), *text;
	size_t len;

	dumptest_copy(&g);
	dumpgen_set_info(&g, key, value);
	ck_assert_int_eq(dumpgen_write(&g, path, &o), 0);
	dumpgen_free(&g);
	*d = dump_new();
	ck_assert_int_eq(dump_open(*d, path), DUMP_OK);
	free(path);
	dump_status st = dump_dmesg(*d, &text, &len);
	if (st == DUMP_OK)
		free(text);
	return st;
}

START_TEST(test_printk_layout_overflow)
{
	dump_t *d;

	/* negative offsets are refused where they are parsed */
	ck_assert_int_eq(dmesg_with("OFFSET(prb_desc_ring.count_bits)", "-8", &d),
	                 DUMP_ERR_CORRUPT);
	dumptest_assert_msg(d, "negative");
	dump_free(d);
	ck_assert_int_eq(dmesg_with("SIZE(printk_info)", "-1", &d), DUMP_ERR_CORRUPT);
	dump_free(d);
	/* junk strtoull would take */
	ck_assert_int_eq(dmesg_with("OFFSET(prb_desc_ring.head_id)", " 8", &d), DUMP_ERR_CORRUPT);
	dump_free(d);
	/* a sum that wraps back into the structure: 2^64 - 8 + desc_ring */
	ck_assert_int_eq(dmesg_with("OFFSET(prb_desc_ring.count_bits)", "18446744073709551608", &d),
	                 DUMP_ERR_CORRUPT);
	dumptest_assert_msg(d, "inconsistent");
	dump_free(d);
	ck_assert_int_eq(dmesg_with("OFFSET(atomic_long_t.counter)", "18446744073709551600", &d),
	                 DUMP_ERR_CORRUPT);
	dumptest_assert_msg(d, "inconsistent");
	dump_free(d);
}
END_TEST

/* ---- block devices ---- */

START_TEST(test_block_device)
{
	char cmd[512], dev[64] = "";
	FILE *f;

	/* a loop device has whole 512-byte sectors: pad a copy */
	size_t len;
	char *b = dumptest_slurp(DUMPTEST_FIXTURE, &len), *path = dumptest_path("blk.kdump");
	char *padded = calloc(1, len + 512);
	memcpy(padded, b, len);
	ck_assert_int_eq(dumptest_spit(path, padded, (len + 511) & ~(size_t)511), 0);
	free(b);
	free(padded);
	snprintf(cmd, sizeof(cmd), "losetup --find --show --read-only %s", path);
	free(path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_msg(fgets(dev, sizeof(dev), f) != NULL, "losetup failed (needs root)");
	pclose(f);
	dev[strcspn(dev, "\n")] = 0;
	dump_t *d;
	dump_check_result c = check_path(dev, &d);
	ck_assert_msg(c.verdict == DUMP_VERDICT_PASS, "%s", c.problem[0]);
	ck_assert_uint_eq(c.pages_checked, 4255);
	dump_free(d);
	snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- the command line's JSON ---- */

/* Runs `kdh dump ARGV` with stdout into a file; its JSON root */
static JsonNode *cli_json(const char *const *argv, int argc)
{
	char *out = dumptest_path("cli.json");
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), saved = dup(1);

	fflush(stdout);
	dup2(fd, 1);
	int rc = dump_cli_main(argc, (char **)argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(fd);
	ck_assert_int_eq(rc, 0);
	JsonParser *p = json_parser_new();
	GError *err = NULL;
	ck_assert_msg(json_parser_load_from_file(p, out, &err), "%s: not JSON: %s", argv[0],
	              err ? err->message : "");
	JsonNode *root = json_node_copy(json_parser_get_root(p));
	g_object_unref(p);
	free(out);
	return root;
}

START_TEST(test_cli_json)
{
	const char *dm[] = {"dmesg", "--json", DUMPTEST_FIXTURE};
	const char *vi[] = {"vmcoreinfo", "--json", DUMPTEST_FIXTURE};
	const char *ve[] = {"verify", "--json", DUMPTEST_FIXTURE};
	size_t elen;
	char *expected = dumptest_slurp(DUMPTEST_DMESG, &elen);
	struct stat st;

	JsonNode *n = cli_json(dm, 3);
	ck_assert_str_eq(json_object_get_string_member(json_node_get_object(n), "dmesg"), expected);
	json_node_unref(n);
	n = cli_json(vi, 3);
	ck_assert_str_eq(json_object_get_string_member(json_node_get_object(n), "OSRELEASE"),
	                 "6.1.0-56-amd64");
	json_node_unref(n);
	/* the shared zero page's bytes count once: never more than the file */
	n = cli_json(ve, 3);
	ck_assert_int_eq(stat(DUMPTEST_FIXTURE, &st), 0);
	gint64 bytes = json_object_get_int_member(json_node_get_object(n), "bytes_compressed");
	ck_assert_int_gt(bytes, 0);
	ck_assert_int_lt(bytes, st.st_size);
	json_node_unref(n);
	free(expected);
}
END_TEST

Suite *dump_compat_suite(void);
Suite *dump_compat_suite(void)
{
	Suite *s = suite_create("dump_compat");
	TCase *tc = tcase_create("compat");
	TCase *root = tcase_create("block-device");

	/* the hostile log is a hang guard: the old code took minutes */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_panic_log_hostile);
	tcase_add_test(tc, test_elf_phys_base_high);
	tcase_add_test(tc, test_elf_short_prstatus);
	tcase_add_test(tc, test_not_x86_64);
	tcase_add_test(tc, test_empty_diskdump);
	tcase_add_test(tc, test_flattened_gap);
	tcase_add_test(tc, test_split_parts);
	tcase_add_test(tc, test_printk_layout_overflow);
	tcase_add_test(tc, test_cli_json);
	suite_add_tcase(s, tc);
	/* loop devices need root: tagged so a non-root check-unit leaves it out */
	tcase_set_tags(root, "root");
	tcase_add_test(root, test_block_device);
	suite_add_tcase(s, root);
	return s;
}
