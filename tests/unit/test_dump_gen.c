/* The tests' dump generator (see test_dump_gen.h), and a suite checking
 * that what it writes reads back.  Built with -DDUMPGEN_MAIN it is also the
 * tool that trimmed the committed fixture (tests/fixtures/dump/README). */
#include <check.h>
#include <inttypes.h>
#include <lzo/lzo1x.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump/dump_internal.h"
#include "test_dump_gen.h"

#define PAGE             4096u
#define START_KERNEL_MAP 0xffffffff80000000ull

/* ---- pages ---- */

static int cmp_page(const void *a, const void *b)
{
	const struct dumpgen_page *x = a, *y = b;
	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

uint8_t *dumpgen_page(const struct dumpgen *g, uint64_t pfn)
{
	struct dumpgen_page key = {pfn, NULL};
	struct dumpgen_page *p = bsearch(&key, g->pages, g->n_pages, sizeof(key), cmp_page);
	return p ? p->data : NULL;
}

void dumpgen_set_page(struct dumpgen *g, uint64_t pfn, const uint8_t *data)
{
	uint8_t *have = dumpgen_page(g, pfn);

	if (have) {
		memcpy(have, data, PAGE);
		return;
	}
	g->pages = realloc(g->pages, (g->n_pages + 1) * sizeof(*g->pages));
	g->pages[g->n_pages].pfn = pfn;
	g->pages[g->n_pages].data = malloc(PAGE);
	memcpy(g->pages[g->n_pages].data, data, PAGE);
	g->n_pages++;
	qsort(g->pages, g->n_pages, sizeof(*g->pages), cmp_page);
	if (pfn >= g->max_mapnr)
		g->max_mapnr = pfn + 1;
}

void dumpgen_set_info(struct dumpgen *g, const char *key, const char *value)
{
	size_t klen = strlen(key), len = strlen(g->vmcoreinfo);
	char *out = malloc(len + klen + (value ? strlen(value) : 0) + 4);
	char *o = out;
	bool done = false;

	for (const char *p = g->vmcoreinfo; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			if (value && !done)
				o += sprintf(o, "%s=%s\n", key, value);
			done = true;
		} else {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	if (!done && value)
		o += sprintf(o, "%s=%s\n", key, value);
	*o = 0;
	free(g->vmcoreinfo);
	g->vmcoreinfo = out;
}

static uint64_t info_u64(const struct dumpgen *g, const char *key, int base)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\n%s=", key);
	const char *p = strstr(g->vmcoreinfo, pat);
	return p ? strtoull(p + strlen(pat), NULL, base) : 0;
}

/* ---- capture ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* appends a page with a pfn above all present ones */
static void add_page(struct dumpgen *g, uint64_t pfn, const uint8_t *data)
{
	g->pages = realloc(g->pages, (g->n_pages + 1) * sizeof(*g->pages));
	g->pages[g->n_pages].pfn = pfn;
	g->pages[g->n_pages].data = malloc(PAGE);
	memcpy(g->pages[g->n_pages].data, data, PAGE);
	g->n_pages++;
}

struct pfnset {
	uint64_t *pfn;
	size_t n, cap;
};

static void observe(void *ctx, uint64_t pfn)
{
	struct pfnset *s = ctx;
	if (s->n && s->pfn[s->n - 1] == pfn)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->pfn = realloc(s->pfn, s->cap * sizeof(*s->pfn));
	}
	s->pfn[s->n++] = pfn;
}

int dumpgen_capture(struct dumpgen *g, const char *path, const uint64_t *extra,
                    enum dumpgen_keep keep)
{
	dump_t *d = dump_new();
	struct pfnset set = {0};
	char *text = NULL;
	size_t len;
	uint64_t v;
	uint8_t buf[64];
	int rc = -1;

	memset(g, 0, sizeof(*g));
	if (!d || dump_open(d, path) != DUMP_OK)
		goto out;
	/* walk the page tables even for the kernel image, so the tables that
	 * map it are captured too: other readers (makedumpfile) walk them */
	if (dump_kernel_init(d) != DUMP_OK)
		goto out;
	d->xlat.have_image = false;
	dump_page_counts c;
	if (d->fmt->counts(d, &c) == DUMP_OK)
		g->max_mapnr = c.max_pfn;
	d->page_observer = observe;
	d->observer_ctx = &set;
	if (dump_dmesg(d, &text, &len) != DUMP_OK)
		goto out;
	g->dmesg = text;
	/* utsname and a few direct-map structures, for translation tests */
	if (dump_vmcoreinfo_u64(d, "SYMBOL(init_uts_ns)", &v) == DUMP_OK)
		dump_read_virt(d, v, buf, sizeof(buf));
	if (dump_vmcoreinfo_u64(d, "SYMBOL(mem_section)", &v) == DUMP_OK)
		dump_read_virt(d, v, buf, sizeof(buf));
	if (dump_vmcoreinfo_u64(d, "SYMBOL(node_data)", &v) == DUMP_OK &&
	    dump_read_virt(d, v, buf, 8) == DUMP_OK)
		dump_read_virt(d, le64(buf), buf, sizeof(buf));
	/* the whole printk rings, as makedumpfile and libkdumpfile read them
	 * (the reader itself touches only the slots in use); 6.1 layout */
	if (dump_vmcoreinfo_u64(d, "SYMBOL(prb)", &v) == DUMP_OK &&
	    dump_read_virt(d, v, buf, 8) == DUMP_OK &&
	    dump_read_virt(d, le64(buf), buf, 64) == DUMP_OK) {
		uint64_t count = 1ull << (le32(buf) & 31), descs = le64(buf + 8);
		uint64_t infos = le64(buf + 16), size = 1ull << (le32(buf + 48) & 31);
		uint64_t data = le64(buf + 56);
		uint8_t *tmp = malloc(count * 88 + size);
		if (tmp) {
			dump_read_virt(d, descs, tmp, count * 24);
			dump_read_virt(d, infos, tmp, count * 88);
			dump_read_virt(d, data, tmp, size);
			free(tmp);
		}
	}
	/* struct page of every pfn (vmemmap), which makedumpfile reads to
	 * re-filter a dump: the base is section 0's encoded mem_map */
	if (keep == DUMPGEN_KEEP_MEM_MAP &&
	    dump_vmcoreinfo_u64(d, "SYMBOL(mem_section)", &v) == DUMP_OK &&
	    dump_read_virt(d, v, buf, 8) == DUMP_OK &&
	    dump_read_virt(d, le64(buf), buf, 8) == DUMP_OK) {
		uint64_t vmemmap = le64(buf) & ~0xfffull, total = g->max_mapnr * 64;
		uint8_t *tmp = malloc(PAGE);
		for (uint64_t off = 0; tmp && off < total; off += PAGE)
			dump_read_virt(d, vmemmap + off, tmp, PAGE);
		free(tmp);
	}
	for (size_t i = 0; extra && extra[i] != UINT64_MAX; i++)
		observe(&set, extra[i]);
	for (uint64_t pfn = 0; keep == DUMPGEN_KEEP_ALL && pfn < g->max_mapnr; pfn++)
		observe(&set, pfn);
	d->page_observer = NULL;

	g->vmcoreinfo = strdup(d->vmcoreinfo);
	g->notes = malloc(d->raw_notes_len ? d->raw_notes_len : 1);
	memcpy(g->notes, d->raw_notes, d->raw_notes_len);
	g->notes_len = d->raw_notes_len;
	memcpy(g->release, d->utsname_release, 64);
	memcpy(g->version, d->utsname_version, 64);
	memcpy(g->machine, d->utsname_machine, 64);
	memcpy(g->nodename, d->utsname_nodename, 64);
	g->phys_base = d->format_phys_base;
	g->nr_cpus = d->header_cpus > 0 ? d->header_cpus : 1;
	g->timestamp = d->crash_time > 0 ? d->crash_time : 0;
	g->dump_level = d->dump_level > 0 ? d->dump_level : 31;
	/* sorted once at the end: adding thousands of pages one by one
	 * through dumpgen_set_page would sort each time */
	qsort(set.pfn, set.n, sizeof(*set.pfn), cmp_u64);
	for (size_t i = 0; i < set.n; i++) {
		const uint8_t *page;
		if (i > 0 && set.pfn[i] == set.pfn[i - 1])
			continue;
		if (dump_get_page(d, set.pfn[i], &page) == DUMP_OK)
			add_page(g, set.pfn[i], page);
	}
	rc = 0;
out:
	free(set.pfn);
	dump_free(d);
	return rc;
}

void dumpgen_free(struct dumpgen *g)
{
	for (size_t i = 0; i < g->n_pages; i++)
		free(g->pages[i].data);
	free(g->pages);
	free(g->vmcoreinfo);
	free(g->notes);
	free(g->dmesg);
	memset(g, 0, sizeof(*g));
}

/* ---- writing ---- */

struct out {
	uint8_t *buf;
	size_t len, cap;
};

static void put_at(struct out *o, size_t off, const void *p, size_t n)
{
	if (off + n > o->cap) {
		size_t cap = o->cap ? o->cap : 1 << 20;
		while (cap < off + n)
			cap *= 2;
		o->buf = realloc(o->buf, cap);
		memset(o->buf + o->cap, 0, cap - o->cap);
		o->cap = cap;
	}
	memcpy(o->buf + off, p, n);
	if (off + n > o->len)
		o->len = off + n;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* the tests run on little-endian x86_64 */
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static size_t compress_page(uint32_t method, const uint8_t *src, uint8_t *dst, size_t cap)
{
	switch (method) {
	case 1: {
		uLongf n = cap;
		return compress2(dst, &n, src, PAGE, Z_BEST_SPEED) == Z_OK ? n : 0;
	}
	case 2: {
		static uint8_t wrk[LZO1X_1_MEM_COMPRESS];
		lzo_uint n = cap;
		return lzo1x_1_compress(src, PAGE, dst, &n, wrk) == LZO_E_OK ? n : 0;
	}
	case 4: {
		size_t n = cap;
		return snappy_compress((const char *)src, PAGE, (char *)dst, &n) == SNAPPY_OK ? n
		                                                                              : 0;
	}
	case 0x20: {
		size_t n = ZSTD_compress(dst, cap, src, PAGE, 1);
		return ZSTD_isError(n) ? 0 : n;
	}
	}
	return 0;
}

/* The captured notes with VMCOREINFO (always the current text, since tests
 * rewrite it) as the last note, as the kernel orders them.  *INFO_AT gets
 * the offset of the VMCOREINFO text within the notes. */
static size_t build_notes(const struct dumpgen *g, struct out *notes, size_t *info_at)
{
	size_t nlen = 0;
	for (size_t p = 0; p + 12 <= g->notes_len;) {
		uint32_t namesz = le32(g->notes + p), descsz = le32(g->notes + p + 4);
		size_t next = p + 12 + ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u);
		if (!(namesz == 11 && !memcmp(g->notes + p + 12, "VMCOREINFO", 11))) {
			put_at(notes, nlen, g->notes + p, next - p);
			nlen += next - p;
		}
		p = next;
	}
	uint8_t nh[12 + 12];
	size_t il = strlen(g->vmcoreinfo);
	put32(nh, 11);
	put32(nh + 4, (uint32_t)il);
	put32(nh + 8, 0);
	memcpy(nh + 12, "VMCOREINFO\0\0", 12);
	put_at(notes, nlen, nh, sizeof(nh));
	put_at(notes, nlen + sizeof(nh), g->vmcoreinfo, il);
	if (info_at)
		*info_at = nlen + sizeof(nh);
	nlen += sizeof(nh) + ((il + 3) & ~3ul);
	if (notes->len < nlen)
		put_at(notes, nlen - 1, "", 1);
	return nlen;
}

/* Writes the kdump-compressed image of G, or with SPLIT one part of a split
 * dump: the same headers and bitmaps, descriptors and data for the pages
 * in [START, END) only. */
static void build_kdump_range(const struct dumpgen *g, const struct dumpgen_opts *o,
                              struct out *out, bool split, uint64_t start, uint64_t end)
{
	uint8_t h[PAGE] = {0};
	size_t info_len = strlen(g->vmcoreinfo), info_at;
	struct out notes = {0};
	size_t notes_len = build_notes(g, &notes, &info_at);
	size_t sub_len = 104 + notes_len;
	uint32_t sub_blocks = (uint32_t)((sub_len + PAGE - 1) / PAGE);
	uint64_t map_bytes = (g->max_mapnr + 7) / 8;
	uint32_t half_blocks = (uint32_t)((map_bytes + PAGE - 1) / PAGE);
	uint64_t bitmap_off = PAGE + (uint64_t)sub_blocks * PAGE;
	uint64_t desc_off = bitmap_off + 2ull * half_blocks * PAGE;
	size_t keep = o->incomplete_after >= 0 && (size_t)o->incomplete_after < g->n_pages
	                  ? (size_t)o->incomplete_after
	                  : g->n_pages;

	memcpy(h, "KDUMP   ", 8);
	put32(h + 8, 6);
	memcpy(h + 12, "Linux", 5);
	memcpy(h + 12 + 65, g->nodename, 64);
	memcpy(h + 12 + 130, g->release, 64);
	memcpy(h + 12 + 195, g->version, 64);
	memcpy(h + 12 + 260, g->machine, 64);
	put64(h + 408, (uint64_t)g->timestamp);
	put32(h + 424, o->compression | (keep < g->n_pages ? DD_INCOMPLETE : 0));
	put32(h + 428, PAGE);
	put32(h + 432, sub_blocks);
	put32(h + 436, 2 * half_blocks);
	put32(h + 440, g->max_mapnr > UINT32_MAX ? UINT32_MAX : (uint32_t)g->max_mapnr);
	put32(h + 460, (uint32_t)g->nr_cpus);
	put_at(out, 0, h, 464);

	uint8_t sub[104] = {0};
	put64(sub + 0, g->phys_base);
	put32(sub + 8, (uint32_t)g->dump_level);
	/* as makedumpfile lays it out: the notes after the sub-header, and
	 * offset_vmcoreinfo pointing into the VMCOREINFO note */
	put64(sub + 32, PAGE + 104 + info_at);
	put64(sub + 40, info_len);
	put64(sub + 48, PAGE + 104);
	put64(sub + 56, notes_len);
	put64(sub + 96, g->max_mapnr);
	if (split) {
		put32(sub + 12, 1);
		put64(sub + 16, start);
		put64(sub + 24, end);
		put64(sub + 80, start);
		put64(sub + 88, end);
	}
	put_at(out, PAGE, sub, sizeof(sub));
	put_at(out, PAGE + 104, notes.buf, notes_len);
	free(notes.buf);

	uint8_t *map = calloc(1, (size_t)half_blocks * PAGE);
	memset(map, 0xff, map_bytes); /* 1st bitmap: everything is RAM */
	put_at(out, bitmap_off, map, (size_t)half_blocks * PAGE);
	memset(map, 0, (size_t)half_blocks * PAGE);
	for (size_t i = 0; i < g->n_pages; i++)
		map[g->pages[i].pfn / 8] |= (uint8_t)(1u << (g->pages[i].pfn % 8));
	put_at(out, bitmap_off + (uint64_t)half_blocks * PAGE, map, (size_t)half_blocks * PAGE);
	free(map);

	/* makedumpfile's layout: the shared zero page first, then the data */
	static const uint8_t zero[PAGE];
	size_t first = 0, count = 0;
	while (first < g->n_pages && g->pages[first].pfn < start)
		first++;
	while (first + count < g->n_pages && g->pages[first + count].pfn < end)
		count++;
	uint64_t zero_off = desc_off + 24ull * count, data_off = zero_off + PAGE;
	uint8_t cbuf[2 * PAGE];
	put_at(out, zero_off, zero, PAGE);
	for (size_t j = 0; j < count; j++) {
		size_t i = first + j;
		uint8_t desc[24] = {0};
		if (i >= keep) {
			/* what a full disk leaves: zeroed descriptors, no data */
			put_at(out, desc_off + 24 * j, desc, 24);
			continue;
		}
		if (!memcmp(g->pages[i].data, zero, PAGE)) {
			put64(desc, zero_off);
			put32(desc + 8, PAGE);
			put_at(out, desc_off + 24 * j, desc, 24);
			continue;
		}
		size_t n = o->compression
		               ? compress_page(o->compression, g->pages[i].data, cbuf, sizeof(cbuf))
		               : 0;
		uint32_t flags = o->compression;
		const uint8_t *src = cbuf;
		if (n == 0 || n >= PAGE) {
			n = PAGE;
			flags = 0;
			src = g->pages[i].data;
		}
		put64(desc, data_off);
		put32(desc + 8, (uint32_t)n);
		put32(desc + 12, flags);
		put_at(out, desc_off + 24 * j, desc, 24);
		put_at(out, data_off, src, n);
		data_off += n;
	}
	if (keep < g->n_pages)
		out->len = data_off; /* the descriptor table stays, data stops */
}

static void build_kdump(const struct dumpgen *g, const struct dumpgen_opts *o, struct out *out)
{
	build_kdump_range(g, o, out, false, 0, UINT64_MAX);
}

static void build_elf(const struct dumpgen *g, const struct dumpgen_opts *o, struct out *out)
{
	/* one PT_LOAD per run of consecutive pfns */
	size_t runs = 0;
	for (size_t i = 0; i < g->n_pages; i++)
		if (i == 0 || g->pages[i].pfn != g->pages[i - 1].pfn + 1)
			runs++;
	/* like /proc/vmcore: RAM segments at direct-map addresses, plus the
	 * kernel image again at its own virtual addresses (overlapping the
	 * RAM segments, sharing their file data) for readers that translate
	 * through p_vaddr (vmcore-dmesg) */
	uint64_t stext = info_u64(g, "SYMBOL(_stext)", 16);
	uint64_t img_lo = stext - START_KERNEL_MAP + g->phys_base - (16u << 20);
	uint64_t img_hi = img_lo + (1ull << 30);
	size_t img_runs = 0;
	for (size_t i = 0; i < g->n_pages; i++)
		if ((i == 0 || g->pages[i].pfn != g->pages[i - 1].pfn + 1) &&
		    g->pages[i].pfn * PAGE >= img_lo && g->pages[i].pfn * PAGE < img_hi)
			img_runs++;
	size_t phnum = runs + img_runs + 1;
	uint64_t notes_off = 64 + 56 * phnum;
	uint64_t info_note = 12 + 12 + ((strlen(g->vmcoreinfo) + 3) & ~3ul);
	uint64_t data_off =
	    (notes_off + g->notes_len + info_note + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	uint8_t eh[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
	eh[16] = 4;  /* ET_CORE */
	eh[18] = 62; /* EM_X86_64 */
	put32(eh + 20, 1);
	put64(eh + 32, 64);
	put32(eh + 48, o->incomplete_after >= 0 ? 1 : 0); /* e_flags */
	eh[52] = 64;
	eh[54] = 56;
	eh[56] = (uint8_t)phnum;
	eh[57] = (uint8_t)(phnum >> 8);
	put_at(out, 0, eh, 64);

	struct out notes = {0};
	size_t nlen = build_notes(g, &notes, NULL);
	put_at(out, notes_off, notes.buf, nlen);
	free(notes.buf);

	uint8_t ph[56] = {0};
	put32(ph, 4); /* PT_NOTE */
	put64(ph + 8, notes_off);
	put64(ph + 32, nlen);
	put64(ph + 40, nlen);
	put_at(out, 64, ph, 56);
	size_t r = 0;
	for (size_t i = 0; i < g->n_pages;) {
		size_t j = i + 1;
		while (j < g->n_pages && g->pages[j].pfn == g->pages[j - 1].pfn + 1)
			j++;
		uint64_t paddr = g->pages[i].pfn * PAGE, size = (j - i) * (uint64_t)PAGE;
		memset(ph, 0, sizeof(ph));
		put32(ph, 1); /* PT_LOAD */
		put32(ph + 4, 7);
		put64(ph + 8, data_off);
		put64(ph + 16, 0xffff888000000000ull + paddr);
		put64(ph + 24, paddr);
		put64(ph + 32, size);
		put64(ph + 40, size);
		put_at(out, 64 + 56 * (1 + r), ph, 56);
		r++;
		if (paddr >= img_lo && paddr < img_hi) {
			put64(ph + 16, paddr - g->phys_base + START_KERNEL_MAP);
			put_at(out, 64 + 56 * (1 + r), ph, 56);
			r++;
		}
		for (size_t k = i; k < j; k++)
			put_at(out, data_off + (k - i) * PAGE, g->pages[k].data, PAGE);
		data_off += size;
		i = j;
	}
	if (o->incomplete_after >= 0)
		out->len = 64 + 56 * phnum + nlen + (size_t)o->incomplete_after * PAGE;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static int write_flat_record(FILE *f, uint64_t off, const uint8_t *data, uint64_t size)
{
	uint8_t rh[16];
	put_be64(rh, off);
	put_be64(rh + 8, size);
	return fwrite(rh, 1, 16, f) == 16 && fwrite(data, 1, size, f) == size ? 0 : -1;
}

static int write_elf_ram(const struct dumpgen *g, FILE *f)
{
	uint64_t stext = info_u64(g, "SYMBOL(_stext)", 16);
	uint64_t text_pa = (stext - START_KERNEL_MAP + g->phys_base) & ~((2ull << 20) - 1);
	uint64_t text_len = 64ull << 20, ram = g->max_mapnr * PAGE;
	struct out notes = {0};
	size_t nlen = build_notes(g, &notes, NULL);
	uint64_t notes_off = 64 + 3 * 56;
	uint64_t data_off = (notes_off + nlen + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	uint8_t eh[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1}, ph[3][56];
	int fd = fileno(f), rc = 0;

	if (text_pa + text_len > ram)
		text_len = ram > text_pa ? ram - text_pa : 0;
	eh[16] = 4;
	eh[18] = 62;
	put32(eh + 20, 1);
	put64(eh + 32, 64);
	eh[52] = 64;
	eh[54] = 56;
	eh[56] = 3;
	memset(ph, 0, sizeof(ph));
	put32(ph[0], 4);
	put64(ph[0] + 8, notes_off);
	put64(ph[0] + 32, nlen);
	put64(ph[0] + 40, nlen);
	put32(ph[1], 1);
	put32(ph[1] + 4, 7);
	put64(ph[1] + 8, data_off + text_pa);
	put64(ph[1] + 16, text_pa - g->phys_base + START_KERNEL_MAP);
	put64(ph[1] + 24, text_pa);
	put64(ph[1] + 32, text_len);
	put64(ph[1] + 40, text_len);
	put32(ph[2], 1);
	put32(ph[2] + 4, 7);
	put64(ph[2] + 8, data_off);
	put64(ph[2] + 16, 0xffff888000000000ull);
	put64(ph[2] + 32, ram);
	put64(ph[2] + 40, ram);
	if (pwrite(fd, eh, 64, 0) != 64 || pwrite(fd, ph, sizeof(ph), 64) != sizeof(ph) ||
	    pwrite(fd, notes.buf, nlen, (off_t)notes_off) != (ssize_t)nlen)
		rc = -1;
	for (size_t i = 0; i < g->n_pages && !rc; i++)
		if (pwrite(fd, g->pages[i].data, PAGE,
		           (off_t)(data_off + g->pages[i].pfn * PAGE)) != PAGE)
			rc = -1;
	if (!rc && ftruncate(fd, (off_t)(data_off + ram)) != 0)
		rc = -1;
	free(notes.buf);
	return rc;
}

int dumpgen_write(const struct dumpgen *g, const char *path, const struct dumpgen_opts *o)
{
	struct out out = {0};
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return -1;
	if (o->format == DUMPGEN_ELF_RAM) {
		rc = write_elf_ram(g, f);
		return fclose(f) == 0 && rc == 0 ? 0 : -1;
	}
	if (o->format == DUMPGEN_ELF)
		build_elf(g, o, &out);
	else
		build_kdump(g, o, &out);
	if (!o->flattened) {
		rc = fwrite(out.buf, 1, out.len, f) == out.len ? 0 : -1;
	} else {
		uint8_t fh[4096] = "makedumpfile";
		uint8_t bogus[512];
		put_be64(fh + 16, 1);
		put_be64(fh + 24, 1);
		fwrite(fh, 1, sizeof(fh), f);
		if (o->flat_rewrite_header) {
			/* an earlier version of the first bytes, overwritten by
			 * the real ones at the end of the stream */
			memset(bogus, 0xa5, sizeof(bogus));
			write_flat_record(f, 0, bogus, sizeof(bogus));
		}
		/* records of varied sizes, as makedumpfile's write cache does */
		for (size_t off = 0; off < out.len && !rc;) {
			size_t n = out.len - off < 65536 - (off % 7) * 512
			               ? out.len - off
			               : 65536 - (off % 7) * 512;
			if (o->flat_rewrite_header && off == 0)
				n = sizeof(bogus);
			else
				rc = write_flat_record(f, off, out.buf + off, n);
			off += n;
		}
		if (o->flat_rewrite_header)
			rc |= write_flat_record(f, 0, out.buf, sizeof(bogus));
		uint8_t end[16];
		memset(end, 0xff, sizeof(end));
		if (fwrite(end, 1, 16, f) != 16)
			rc = -1;
	}
	free(out.buf);
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

int dumpgen_write_split(const struct dumpgen *g, const char *const *paths, size_t n,
                        const struct dumpgen_opts *o)
{
	uint64_t start = 0;

	for (size_t k = 0; k < n; k++) {
		/* equal shares of the pages, as makedumpfile --split means to */
		uint64_t end = k + 1 == n ? g->max_mapnr : g->pages[g->n_pages * (k + 1) / n].pfn;
		struct out out = {0};
		build_kdump_range(g, o, &out, true, start, end);
		FILE *f = fopen(paths[k], "wb");
		int rc = !f || fwrite(out.buf, 1, out.len, f) != out.len;
		if (f && fclose(f) != 0)
			rc = 1;
		free(out.buf);
		if (rc)
			return -1;
		start = end;
	}
	return 0;
}

/* ---- rewrites ---- */

/* a pfn in the kernel image mapping that the dump does not hold yet */
static uint64_t free_image_pfn(const struct dumpgen *g, uint64_t near_vaddr, uint64_t *vaddr)
{
	for (uint64_t k = 1; k < 4096; k++) {
		uint64_t va = (near_vaddr & ~(uint64_t)(PAGE - 1)) + k * PAGE;
		uint64_t pfn = (va - START_KERNEL_MAP + g->phys_base) / PAGE;
		if (!dumpgen_page(g, pfn)) {
			*vaddr = va;
			return pfn;
		}
	}
	return 0;
}

int dumpgen_make_5level(struct dumpgen *g)
{
	uint64_t pgt = info_u64(g, "SYMBOL(init_top_pgt)", 16), va, pfn;
	uint8_t page[PAGE] = {0};
	char val[32];

	if (!pgt || info_u64(g, "NUMBER(pgtable_l5_enabled)", 10))
		return -1;
	pfn = free_image_pfn(g, pgt, &va);
	if (!pfn)
		return -1;
	/* every kernel address has 511 as its 5th-level index */
	put64(page + 511 * 8, (pgt - START_KERNEL_MAP + g->phys_base) | 0x63);
	dumpgen_set_page(g, pfn, page);
	snprintf(val, sizeof(val), "%" PRIx64, va);
	dumpgen_set_info(g, "SYMBOL(init_top_pgt)", val);
	dumpgen_set_info(g, "SYMBOL(swapper_pg_dir)", val);
	dumpgen_set_info(g, "NUMBER(pgtable_l5_enabled)", "1");
	return 0;
}

int dumpgen_make_1g_leaf(struct dumpgen *g, uint64_t vaddr)
{
	uint64_t pgt = info_u64(g, "SYMBOL(init_top_pgt)", 16);
	uint64_t pgd_pa = pgt - START_KERNEL_MAP + g->phys_base, va, pfn;
	uint8_t *pgd = dumpgen_page(g, pgd_pa / PAGE), *pud, *pmd, *pte;
	uint8_t copy[PAGE];

	if (!pgd || info_u64(g, "NUMBER(pgtable_l5_enabled)", 10))
		return -1;
	uint64_t e4 = le64(pgd + ((vaddr >> 39) & 511) * 8);
	pud = dumpgen_page(g, (e4 & 0x000ffffffffff000ull) / PAGE);
	if (!pud)
		return -1;
	uint64_t e3 = le64(pud + ((vaddr >> 30) & 511) * 8);
	if (e3 & 0x80)
		return -1; /* already a 1 GiB leaf */
	/* the physical address the 4 KiB or 2 MiB mapping gives */
	pmd = dumpgen_page(g, (e3 & 0x000ffffffffff000ull) / PAGE);
	if (!pmd)
		return -1;
	uint64_t e2 = le64(pmd + ((vaddr >> 21) & 511) * 8), pa;
	if (e2 & 0x80) {
		pa = (e2 & 0x000fffffffe00000ull) | (vaddr & 0x1fffff);
	} else {
		pte = dumpgen_page(g, (e2 & 0x000ffffffffff000ull) / PAGE);
		if (!pte)
			return -1;
		pa = (le64(pte + ((vaddr >> 12) & 511) * 8) & 0x000ffffffffff000ull) |
		     (vaddr & 0xfff);
	}
	if ((pa & 0x3fffffff) != (vaddr & 0x3fffffff))
		return -1; /* not a linear 1 GiB region */
	/* a new PUD page: a copy with that entry turned into a leaf */
	pfn = free_image_pfn(g, pgt, &va);
	if (!pfn)
		return -1;
	memcpy(copy, pud, PAGE);
	put64(copy + ((vaddr >> 30) & 511) * 8, (pa & ~0x3fffffffull) | 0xe3);
	dumpgen_set_page(g, pfn, copy);
	memcpy(copy, pgd, PAGE);
	put64(copy + ((vaddr >> 39) & 511) * 8, pfn * PAGE | (e4 & 0xfff));
	dumpgen_set_page(g, pgd_pa / PAGE, copy);
	return 0;
}

/* ---- a 3.5-5.9 log_buf from the lockless ring's records ---- */

static int image_read(const struct dumpgen *g, uint64_t va, void *buf, size_t len)
{
	uint8_t *out = buf;
	while (len > 0) {
		uint64_t pa = va - START_KERNEL_MAP + g->phys_base;
		size_t in = pa % PAGE, n = PAGE - in < len ? PAGE - in : len;
		uint8_t *page = dumpgen_page(g, pa / PAGE);
		if (va < START_KERNEL_MAP || !page)
			return -1;
		memcpy(out, page + in, n);
		out += n;
		va += n;
		len -= n;
	}
	return 0;
}

struct rec {
	uint64_t ts;
	uint16_t len;
	uint8_t *text;
};

/* the committed records of the lockless ring, oldest first (a separate
 * reading of the format from the reader's, on purpose) */
static size_t ring_records(const struct dumpgen *g, struct rec **out)
{
	uint64_t prb_sym = info_u64(g, "SYMBOL(prb)", 16), prb, descs, infos, data, head, tail;
	uint32_t count_bits, size_bits;
	uint8_t rb[88];
	size_t n = 0;

	*out = NULL;
	/* 6.1's layout, as its VMCOREINFO states it */
	if (image_read(g, prb_sym, &prb, 8) || image_read(g, prb, rb, sizeof(rb)))
		return 0;
	count_bits = le32(rb);
	descs = le64(rb + 8);
	infos = le64(rb + 16);
	head = le64(rb + 24);
	tail = le64(rb + 32);
	size_bits = le32(rb + 48);
	data = le64(rb + 56);
	uint64_t count = 1ull << count_bits, dsize = 1ull << size_bits;
	*out = calloc(count, sizeof(**out));
	for (uint64_t id = tail;; id = (id + 1) & ~(3ull << 62)) {
		uint8_t desc[24], info[88];
		uint64_t slot = id % count;
		image_read(g, descs + slot * 24, desc, 24);
		uint64_t sv = le64(desc);
		if ((sv & ~(3ull << 62)) == id && (sv >> 62 == 1 || sv >> 62 == 2)) {
			uint64_t b = le64(desc + 8) % dsize, e = le64(desc + 16) % dsize;
			if (b != e) {
				image_read(g, infos + slot * 88, info, 88);
				uint16_t tl = le16(info + 16);
				if (b > e)
					b = 0;
				b += 8;
				if (e - b < tl)
					tl = (uint16_t)(e - b);
				struct rec *r = &(*out)[n++];
				r->ts = le64(info + 8);
				r->len = tl;
				r->text = malloc(tl ? tl : 1);
				image_read(g, data + b, r->text, tl);
			}
		}
		if (id == head)
			break;
	}
	return n;
}

int dumpgen_make_logbuf(struct dumpgen *g, uint32_t buf_len, char **expected)
{
	struct rec *recs;
	size_t n = ring_records(g, &recs), first = 0;
	uint8_t *buf = calloc(1, buf_len);
	uint32_t first_idx = 0, next_idx = 0;
	size_t *rec_idx = calloc(n + 1, sizeof(*rec_idx));
	char val[64];
	int rc = -1;

	if (!n)
		goto out;
	/* log_store(), simplified: drop the oldest until the new record and
	 * a wrap marker fit, then write, wrapping with a zero-length record */
	for (size_t i = 0; i < n; i++) {
		uint32_t size = (16 + recs[i].len + 7) & ~7u;
		for (; first < i; first++) {
			first_idx = (uint32_t)rec_idx[first];
			uint32_t tail_room = buf_len - next_idx;
			uint32_t free_b = first_idx > next_idx    ? first_idx - next_idx
			                  : tail_room > first_idx ? tail_room
			                                          : first_idx;
			if (free_b >= size + 16)
				break;
		}
		if (next_idx + size + 16 > buf_len) {
			memset(buf + next_idx, 0, 16);
			next_idx = 0;
		}
		rec_idx[i] = next_idx;
		put64(buf + next_idx, recs[i].ts);
		buf[next_idx + 8] = (uint8_t)size;
		buf[next_idx + 9] = (uint8_t)(size >> 8);
		buf[next_idx + 10] = (uint8_t)recs[i].len;
		buf[next_idx + 11] = (uint8_t)(recs[i].len >> 8);
		memcpy(buf + next_idx + 16, recs[i].text, recs[i].len);
		next_idx += size;
	}
	first_idx = (uint32_t)rec_idx[first];

	/* the buffer and the variables, in image pages nobody uses */
	uint64_t pgt = info_u64(g, "SYMBOL(_stext)", 16), va0 = 0, va;
	uint32_t pages = (buf_len + PAGE - 1) / PAGE;
	for (uint64_t k = 1; k < 65536 && !va0; k++) {
		uint64_t start = pgt + k * PAGE;
		bool ok = true;
		for (uint32_t p = 0; p <= pages && ok; p++)
			ok = !dumpgen_page(g, (start + p * PAGE - START_KERNEL_MAP + g->phys_base) /
			                          PAGE);
		if (ok)
			va0 = start;
	}
	if (!va0)
		goto out;
	uint8_t page[PAGE];
	for (uint32_t p = 0; p < pages; p++) {
		memset(page, 0, PAGE);
		memcpy(page, buf + p * PAGE, buf_len - p * PAGE < PAGE ? buf_len - p * PAGE : PAGE);
		dumpgen_set_page(g, (va0 + p * PAGE - START_KERNEL_MAP + g->phys_base) / PAGE,
		                 page);
	}
	va = va0 + (uint64_t)pages * PAGE; /* variables page */
	memset(page, 0, PAGE);
	put64(page, va0);
	put32(page + 8, buf_len);
	put32(page + 16, first_idx);
	put32(page + 24, next_idx);
	dumpgen_set_page(g, (va - START_KERNEL_MAP + g->phys_base) / PAGE, page);
	/* what log_buf_vmcoreinfo_setup() exported in 3.11-5.9, instead of
	 * the ringbuffer's keys */
	static const char *const lockless_keys[] = {
	    "SYMBOL(prb)",
	    "SYMBOL(printk_rb_static)",
	    "SYMBOL(clear_seq)",
	    "SIZE(printk_ringbuffer)",
	    "SIZE(prb_desc_ring)",
	    "SIZE(prb_desc)",
	    "SIZE(prb_data_blk_lpos)",
	    "SIZE(printk_info)",
	    "SIZE(dev_printk_info)",
	    "SIZE(prb_data_ring)",
	    "SIZE(latched_seq)",
	};
	for (size_t k = 0; k < sizeof(lockless_keys) / sizeof(lockless_keys[0]); k++)
		dumpgen_set_info(g, lockless_keys[k], NULL);
	snprintf(val, sizeof(val), "%" PRIx64, va + 32);
	dumpgen_set_info(g, "SYMBOL(clear_idx)", val);
	dumpgen_set_info(g, "OFFSET(printk_log.dict_len)", "12");
	snprintf(val, sizeof(val), "%" PRIx64, va);
	dumpgen_set_info(g, "SYMBOL(log_buf)", val);
	snprintf(val, sizeof(val), "%" PRIx64, va + 8);
	dumpgen_set_info(g, "SYMBOL(log_buf_len)", val);
	snprintf(val, sizeof(val), "%" PRIx64, va + 16);
	dumpgen_set_info(g, "SYMBOL(log_first_idx)", val);
	snprintf(val, sizeof(val), "%" PRIx64, va + 24);
	dumpgen_set_info(g, "SYMBOL(log_next_idx)", val);
	dumpgen_set_info(g, "SIZE(printk_log)", "16");
	dumpgen_set_info(g, "OFFSET(printk_log.ts_nsec)", "0");
	dumpgen_set_info(g, "OFFSET(printk_log.len)", "8");
	dumpgen_set_info(g, "OFFSET(printk_log.text_len)", "10");

	/* expected: the original text from the first record kept on; records
	 * start at a line beginning with '[' (continuations are indented) */
	const char *p = g->dmesg;
	for (size_t skip = first; skip > 0 && p; skip--) {
		p = strstr(p + 1, "\n[");
		if (p)
			p++;
	}
	if (!p)
		goto out;
	*expected = strdup(p);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(recs[i].text);
	free(recs);
	free(rec_idx);
	free(buf);
	return rc;
}

/* ---- helpers for the suites ---- */

/* Each test process gets its own folder, removed when it exits: the other
 * suites' runners (a second `make check`) may run at the same time. */
static char test_dir[64];
static pid_t test_dir_pid;

static void remove_test_dir(void)
{
	DIR *dir;
	struct dirent *e;
	char path[512];

	if (test_dir_pid != getpid() || getenv("KDH_KEEP_TEST_FILES"))
		return;
	dir = opendir(test_dir);
	while (dir && (e = readdir(dir)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", test_dir, e->d_name);
		unlink(path);
	}
	if (dir)
		closedir(dir);
	rmdir(test_dir);
}

char *dumptest_path(const char *name)
{
	if (test_dir_pid != getpid()) {
		test_dir_pid = getpid();
		snprintf(test_dir, sizeof(test_dir), "build/test-dump/%d", (int)test_dir_pid);
		mkdir("build", 0755);
		mkdir("build/test-dump", 0755);
		mkdir(test_dir, 0755);
		atexit(remove_test_dir);
	}
	char *p = malloc(strlen(test_dir) + strlen(name) + 2);
	sprintf(p, "%s/%s", test_dir, name);
	return p;
}

char *dumptest_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 65536 + 1 > cap) {
			char *grown;

			cap = cap ? 2 * cap : 1 << 20;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = grown;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

int dumptest_spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

static struct dumpgen base;
static bool base_ready;

const struct dumpgen *dumptest_base(void)
{
	if (!base_ready) {
		ck_assert_int_eq(dumpgen_capture(&base, DUMPTEST_FIXTURE, NULL, DUMPGEN_KEEP_ALL),
		                 0);
		base_ready = true;
	}
	return &base;
}

void dumptest_copy(struct dumpgen *dst)
{
	const struct dumpgen *b = dumptest_base();

	*dst = *b;
	dst->vmcoreinfo = strdup(b->vmcoreinfo);
	dst->notes = malloc(b->notes_len ? b->notes_len : 1);
	memcpy(dst->notes, b->notes, b->notes_len);
	dst->dmesg = strdup(b->dmesg);
	dst->pages = malloc(b->n_pages * sizeof(*dst->pages));
	for (size_t i = 0; i < b->n_pages; i++) {
		dst->pages[i].pfn = b->pages[i].pfn;
		dst->pages[i].data = malloc(PAGE);
		memcpy(dst->pages[i].data, b->pages[i].data, PAGE);
	}
}

/* ---- the generator's own suite: every encoding reads back ---- */

static char *dmesg_of(const char *path, dump_status *st_out)
{
	dump_t *d = dump_new();
	char *text = NULL;
	size_t len;
	dump_status st = dump_open(d, path);

	if (st == DUMP_OK)
		st = dump_dmesg(d, &text, &len);
	if (st != DUMP_OK)
		fprintf(stderr, "%s: %s\n", path, dump_error(d));
	if (st_out)
		*st_out = st;
	dump_free(d);
	return text;
}

static void check_variant(const struct dumpgen *g, const char *name, const struct dumpgen_opts *o,
                          const char *expect_compression)
{
	char *path = dumptest_path(name);
	char *expected = dumptest_slurp(DUMPTEST_DMESG, NULL);
	dump_check_result r;

	ck_assert_int_eq(dumpgen_write(g, path, o), 0);
	char *text = dmesg_of(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, expected);
	dump_t *d = dump_new();
	ck_assert_int_eq(dump_open(d, path), DUMP_OK);
	ck_assert_str_eq(d->compression, expect_compression);
	ck_assert_int_eq(dump_check(d, &r), DUMP_OK);
	ck_assert_msg(r.verdict == DUMP_VERDICT_PASS, "%s: %s", name, r.problem[0]);
	ck_assert_int_eq(r.pages_checked, g->n_pages);
	dump_free(d);
	free(text);
	free(expected);
	free(path);
}

START_TEST(test_gen_compressions)
{
	static const struct {
		uint32_t flag;
		const char *name;
	} methods[] = {{0, "none"}, {1, "zlib"}, {2, "lzo"}, {4, "snappy"}, {0x20, "zstd"}};
	const struct dumpgen *g = dumptest_base();

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct dumpgen_opts o = {.compression = methods[i].flag, .incomplete_after = -1};
		char name[64];
		snprintf(name, sizeof(name), "gen.%s", methods[i].name);
		check_variant(g, name, &o, methods[i].name);
	}
}
END_TEST

START_TEST(test_gen_flattened)
{
	struct dumpgen_opts o = {.compression = 0x20, .flattened = true, .incomplete_after = -1};

	check_variant(dumptest_base(), "gen.flat", &o, "zstd");
	/* a stream that writes its first bytes twice: the later record wins */
	o.flat_rewrite_header = true;
	check_variant(dumptest_base(), "gen.flat-rewrite", &o, "zstd");
}
END_TEST

START_TEST(test_gen_elf)
{
	struct dumpgen_opts o = {.format = DUMPGEN_ELF, .incomplete_after = -1};

	check_variant(dumptest_base(), "gen.elf", &o, "none");
	o.flattened = true;
	check_variant(dumptest_base(), "gen.elf-flat", &o, "none");
}
END_TEST

static void check_incomplete(const struct dumpgen_opts *o, const char *name)
{
	char *path = dumptest_path(name);
	dump_check_result r;
	dump_t *d = dump_new();

	ck_assert_int_eq(dumpgen_write(dumptest_base(), path, o), 0);
	ck_assert_int_eq(dump_open(d, path), DUMP_OK);
	ck_assert(d->incomplete);
	ck_assert_int_eq(dump_check(d, &r), DUMP_OK);
	ck_assert(r.incomplete);
	ck_assert(r.verdict != DUMP_VERDICT_PASS);
	ck_assert_uint_gt(r.problems, 0);
	dump_free(d);
	free(path);
}

START_TEST(test_gen_incomplete)
{
	struct dumpgen_opts o = {.compression = 2, .incomplete_after = 5};

	check_incomplete(&o, "gen.incomplete");
	o.format = DUMPGEN_ELF;
	check_incomplete(&o, "gen.incomplete-elf");
}
END_TEST

/* bytes at kernel-virtual VA of the dump at PATH */
static void read_virt_of(const char *path, uint64_t va, uint8_t *buf, size_t len)
{
	dump_t *d = dump_new();
	ck_assert_int_eq(dump_open(d, path), DUMP_OK);
	dump_status st = dump_read_virt(d, va, buf, len);
	ck_assert_msg(st == DUMP_OK, "%s", dump_error(d));
	dump_free(d);
}

static void check_translation(struct dumpgen *g, const char *name)
{
	struct dumpgen_opts o = {.compression = 2, .incomplete_after = -1};
	char *plain = dumptest_path("gen.4level"), *path = dumptest_path(name);
	uint64_t va = info_u64(g, "SYMBOL(mem_section)", 16);
	uint8_t a[64], b[64];

	ck_assert_int_eq(dumpgen_write(dumptest_base(), plain, &o), 0);
	ck_assert_int_eq(dumpgen_write(g, path, &o), 0);
	/* a direct-map address: only a page-table walk reaches it */
	ck_assert_uint_lt(va, START_KERNEL_MAP);
	read_virt_of(plain, va, a, sizeof(a));
	read_virt_of(path, va, b, sizeof(b));
	ck_assert_mem_eq(a, b, sizeof(a));
	char *expected = dumptest_slurp(DUMPTEST_DMESG, NULL), *text = dmesg_of(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
	free(plain);
	free(path);
}

START_TEST(test_gen_5level)
{
	struct dumpgen g;

	dumptest_copy(&g);
	ck_assert_int_eq(dumpgen_make_5level(&g), 0);
	check_translation(&g, "gen.5level");
	dumpgen_free(&g);
}
END_TEST

START_TEST(test_gen_1g_pages)
{
	struct dumpgen g;

	dumptest_copy(&g);
	ck_assert_int_eq(dumpgen_make_1g_leaf(&g, info_u64(&g, "SYMBOL(mem_section)", 16)), 0);
	check_translation(&g, "gen.1g");
	dumpgen_free(&g);
}
END_TEST

START_TEST(test_gen_logbuf)
{
	/* a small buffer that wraps, and one that holds everything */
	static const uint32_t sizes[] = {16384, 32768, 1u << 17};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct dumpgen g;
		struct dumpgen_opts o = {.compression = 1, .incomplete_after = -1};
		char *expected = NULL, name[64];
		dump_status st;

		dumptest_copy(&g);
		ck_assert_int_eq(dumpgen_make_logbuf(&g, sizes[i], &expected), 0);
		snprintf(name, sizeof(name), "gen.logbuf-%u", sizes[i]);
		char *path = dumptest_path(name);
		ck_assert_int_eq(dumpgen_write(&g, path, &o), 0);
		char *text = dmesg_of(path, &st);
		ck_assert_int_eq(st, DUMP_OK);
		ck_assert_str_eq(text, expected);
		if (sizes[i] < 25000)
			ck_assert_uint_lt(strlen(text), strlen(g.dmesg));
		else if (sizes[i] > 65536)
			ck_assert_str_eq(text, g.dmesg);
		free(text);
		free(expected);
		free(path);
		dumpgen_free(&g);
	}
}
END_TEST

START_TEST(test_gen_split)
{
	const struct dumpgen *g = dumptest_base();
	struct dumpgen_opts o = {.compression = 2, .incomplete_after = -1};
	char *p[3] = {dumptest_path("split.1"), dumptest_path("split.2"), dumptest_path("split.3")};
	const char *shuffled[3] = {p[2], p[0], p[1]};
	char *expected = dumptest_slurp(DUMPTEST_DMESG, NULL), *text;
	size_t len;
	dump_check_result r;

	ck_assert_int_eq(dumpgen_write_split(g, (const char *const *)p, 3, &o), 0);
	/* all parts, in any order: the whole dump */
	dump_t *d = dump_new();
	ck_assert_int_eq(dump_open_parts(d, shuffled, 3), DUMP_OK);
	ck_assert_int_eq(dump_dmesg(d, &text, &len), DUMP_OK);
	ck_assert_str_eq(text, expected);
	free(text);
	ck_assert_int_eq(dump_check(d, &r), DUMP_OK);
	ck_assert_msg(r.verdict == DUMP_VERDICT_PASS, "%s", r.problem[0]);
	ck_assert_uint_eq(r.pages_checked, g->n_pages);
	dump_free(d);
	/* a part alone reads its own pages, and verify says memory is missing */
	d = dump_new();
	ck_assert_int_eq(dump_open(d, p[1]), DUMP_OK);
	ck_assert_int_eq(dump_check(d, &r), DUMP_OK);
	ck_assert(r.verdict != DUMP_VERDICT_PASS);
	ck_assert_ptr_nonnull(strstr(r.problem[0], "none of the parts"));
	ck_assert_uint_gt(r.pages_checked, 0);
	ck_assert_uint_lt(r.pages_checked, g->n_pages);
	dump_free(d);
	/* a file of another dump is refused, naming it */
	char *other = dumptest_path("split.other");
	ck_assert_int_eq(dumpgen_write(g, other, &o), 0);
	const char *mixed[2] = {p[0], other};
	d = dump_new();
	ck_assert_int_eq(dump_open_parts(d, mixed, 2), DUMP_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(dump_error(d), "split.other"));
	dump_free(d);
	free(other);
	free(expected);
	for (int i = 0; i < 3; i++)
		free(p[i]);
}
END_TEST

Suite *dump_gen_suite(void);
Suite *dump_gen_suite(void)
{
	Suite *s = suite_create("dump_gen");
	TCase *tc = tcase_create("encodings");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_gen_compressions);
	tcase_add_test(tc, test_gen_flattened);
	tcase_add_test(tc, test_gen_elf);
	tcase_add_test(tc, test_gen_incomplete);
	tcase_add_test(tc, test_gen_5level);
	tcase_add_test(tc, test_gen_1g_pages);
	tcase_add_test(tc, test_gen_logbuf);
	tcase_add_test(tc, test_gen_split);
	suite_add_tcase(s, tc);
	return s;
}

#ifdef DUMPGEN_MAIN
/* dumpgen SRC OUT [[flat-]lzo|zlib|snappy|zstd|none|elf|elf-ram] [EXTRA_PFN...]:
 * trims SRC to the pages the reader needs and writes OUT (how the fixture
 * and the fuzz seeds were made).  DUMPGEN_MEM_MAP=1 keeps every struct
 * page too, DUMPGEN_ALL=1 every page; DUMPGEN_LOGBUF=SIZE rewrites the log
 * as a pre-5.10 log_buf; DUMPGEN_SCALE=N repeats the pages over N times the
 * memory. */
int main(int argc, char **argv)
{
	struct dumpgen g;
	struct dumpgen_opts o = {.compression = 2, .incomplete_after = -1};

	if (argc < 3)
		return 2;
	if (argc > 3) {
		const char *m = argv[3];
		if (!strncmp(m, "flat-", 5)) {
			o.flattened = true;
			m += 5;
		}
		o.compression = !strcmp(m, "zlib")     ? 1
		                : !strcmp(m, "snappy") ? 4
		                : !strcmp(m, "zstd")   ? 0x20
		                : !strcmp(m, "lzo")    ? 2
		                                       : 0;
		if (!strcmp(m, "elf"))
			o.format = DUMPGEN_ELF;
		if (!strcmp(m, "elf-ram"))
			o.format = DUMPGEN_ELF_RAM;
	}
	uint64_t extra[4096];
	size_t n_extra = 0;
	for (int i = 4; i < argc && n_extra < 4095; i++)
		extra[n_extra++] = strtoull(argv[i], NULL, 0);
	extra[n_extra] = UINT64_MAX;
	enum dumpgen_keep keep = getenv("DUMPGEN_ALL")       ? DUMPGEN_KEEP_ALL
	                         : getenv("DUMPGEN_MEM_MAP") ? DUMPGEN_KEEP_MEM_MAP
	                                                     : DUMPGEN_KEEP_READER;
	if (dumpgen_capture(&g, argv[1], extra, keep) != 0) {
		fprintf(stderr, "cannot capture %s\n", argv[1]);
		return 1;
	}
	if (getenv("DUMPGEN_LOGBUF")) {
		char *expected;
		if (dumpgen_make_logbuf(&g, (uint32_t)atoi(getenv("DUMPGEN_LOGBUF")), &expected))
			return 1;
		free(expected);
	}
	/* DUMPGEN_SCALE=N: the same pages N times over an N times larger
	 * machine, for benchmarks of bigger guests */
	uint64_t scale = getenv("DUMPGEN_SCALE") ? strtoull(getenv("DUMPGEN_SCALE"), NULL, 0) : 1;
	size_t n0 = g.n_pages;
	uint64_t max0 = g.max_mapnr;
	for (uint64_t k = 1; k < scale; k++)
		for (size_t i = 0; i < n0; i++)
			add_page(&g, g.pages[i].pfn + k * max0, g.pages[i].data);
	if (scale > 1)
		g.max_mapnr = max0 * scale;
	fprintf(stderr, "%zu pages\n", g.n_pages);
	int rc = dumpgen_write(&g, argv[2], &o);
	dumpgen_free(&g);
	return rc ? 1 : 0;
}
#endif

dump_status dumptest_open_bytes(const char *name, const void *b, size_t len, dump_t **d)
{
	char *path = dumptest_path(name);
	ck_assert_int_eq(dumptest_spit(path, b, len), 0);
	*d = dump_new();
	dump_status st = dump_open(*d, path);
	free(path);
	return st;
}

void dumptest_assert_msg(dump_t *d, const char *needle)
{
	ck_assert_msg(strstr(dump_error(d), needle), "message '%s' lacks '%s'", dump_error(d),
	              needle);
}
