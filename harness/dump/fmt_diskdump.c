/* kdump-compressed format ("KDUMP   "), as makedumpfile writes it, header
 * versions 1 to 6.  Layout, in blocks of block_size (= the page size):
 *
 *   block 0                   disk_dump_header
 *   block 1                   kdump_sub_header (sub_hdr_size blocks, which
 *                             also hold the ELF notes and VMCOREINFO)
 *   then bitmap_blocks        1st bitmap (pfns that are RAM), 2nd bitmap
 *                             (pfns whose contents follow), one half each
 *   then                      one page_desc per set bit of the 2nd bitmap,
 *                             in pfn order, then the page data
 *
 * Everything is in the byte order of the machine that wrote it; x86_64 is
 * little-endian.  Split dumps (--split) cover [start_pfn, end_pfn) each,
 * with descriptors for that range only.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "dump/dump_internal.h"

#define KDUMP_SIGNATURE "KDUMP   "
#define HDR_SIZE        464
#define SUB_HDR_SIZE    104
/* notes of a few thousand CPUs fit easily; more is hostile */
#define NOTES_MAX (64u << 20)

static bool dd_probe(const uint8_t *head, size_t len)
{
	return len >= 8 && memcmp(head, KDUMP_SIGNATURE, 8) == 0;
}

static void copy_uts(char *dst, const uint8_t *src)
{
	/* new_utsname fields are 65 bytes, not always NUL-terminated */
	memcpy(dst, src, 65);
	dst[65] = 0;
}

static const char *compression_name(uint32_t status)
{
	if (status & DD_COMPRESS_ZLIB)
		return "zlib";
	if (status & DD_COMPRESS_LZO)
		return "lzo";
	if (status & DD_COMPRESS_SNAPPY)
		return "snappy";
	if (status & DD_COMPRESS_ZSTD)
		return "zstd";
	return "none";
}

static dump_status dd_read_notes(dump_t *d, const uint8_t *sub)
{
	struct diskdump *dd = d->priv;
	uint64_t off, size, end;
	dump_status st;

	if (dd->geo.version >= 4) {
		off = le64(sub + 48);
		size = le64(sub + 56);
		if (size > 0) {
			if (size > NOTES_MAX || !add_ok(off, size, &end) || end > d->io.size)
				return derr_set(&d->err, DUMP_ERR_CORRUPT,
				                "sub-header: notes at 0x%" PRIx64 " size 0x%" PRIx64
				                " are outside the file (0x%" PRIx64 " bytes)",
				                off, size, d->io.size);
			uint8_t *buf = malloc(size);
			if (!buf)
				return derr_set(&d->err, DUMP_ERR_NOMEM, "notes");
			st = io_pread(&d->io, off, buf, size, &d->err);
			if (st == DUMP_OK)
				st = notes_parse(d, buf, size, "sub-header notes");
			free(buf);
			if (st != DUMP_OK)
				return st;
		}
	}
	if (!d->vmcoreinfo && dd->geo.version >= 3) {
		off = le64(sub + 32);
		size = le64(sub + 40);
		if (size > 0) {
			if (size > (1u << 20) || !add_ok(off, size, &end) || end > d->io.size)
				return derr_set(&d->err, DUMP_ERR_CORRUPT,
				                "sub-header: VMCOREINFO at 0x%" PRIx64
				                " size 0x%" PRIx64 " is outside the file",
				                off, size);
			char *buf = malloc(size + 1);
			if (!buf)
				return derr_set(&d->err, DUMP_ERR_NOMEM, "VMCOREINFO");
			st = io_pread(&d->io, off, buf, size, &d->err);
			if (st != DUMP_OK) {
				free(buf);
				return derr_prefix(&d->err, st, "VMCOREINFO");
			}
			buf[size] = 0;
			d->vmcoreinfo = buf;
			d->vmcoreinfo_len = strlen(buf);
		}
	}
	return DUMP_OK;
}

/* Reads and checks the header and sub-header of one file into G; H and SUB
 * receive the raw blocks. */
static dump_status parse_geometry(dump_t *d, struct dump_io *io, struct dd_geometry *g, uint8_t *h,
                                  uint8_t *sub)
{
	dump_status st;
	uint64_t sub_bytes, bitmap_end;

	if (io->size < HDR_SIZE)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "header: file of %" PRIu64
		                " bytes is shorter than the %d-byte header",
		                io->size, HDR_SIZE);
	st = io_pread(io, 0, h, HDR_SIZE, &d->err);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "header");
	if (memcmp(h, KDUMP_SIGNATURE, 8) != 0)
		return derr_set(&d->err, DUMP_ERR_FORMAT, "header: no KDUMP signature");
	memset(g, 0, sizeof(*g));
	/* The header is in the writer's byte order and word size: a 32-bit
	 * writer's struct timeval moves every later field by 8 bytes, a
	 * big-endian one swaps them.  The utsname (bytes, at the same offset
	 * in every variant) and the version say which, before any field is
	 * misread as a page size or a version. */
	char machine[66];
	copy_uts(machine, h + 12 + 260);
	if (machine[0] && strcmp(machine, "x86_64") != 0)
		return derr_set(&d->err, DUMP_ERR_UNSUPPORTED,
		                "header: not an x86_64 dump (machine '%.65s')", machine);
	uint32_t raw_version = le32(h + 8);
	if (raw_version > 6 && __builtin_bswap32(raw_version) >= 1 &&
	    __builtin_bswap32(raw_version) <= 6)
		return derr_set(&d->err, DUMP_ERR_UNSUPPORTED,
		                "header: not an x86_64 dump (a big-endian header, version %u)",
		                __builtin_bswap32(raw_version));
	g->version = (int32_t)raw_version;
	if (g->version < 1 || g->version > 6)
		return derr_set(&d->err, g->version > 6 ? DUMP_ERR_UNSUPPORTED : DUMP_ERR_CORRUPT,
		                "header: version %d (known: 1 to 6)", g->version);
	g->status = le32(h + 424);
	g->block_size = le32(h + 428);
	int32_t sub_hdr_size = (int32_t)le32(h + 432);
	uint32_t bitmap_blocks = le32(h + 436);
	g->max_mapnr = le32(h + 440);

	uint32_t block32 = le32(h + 420);
	bool page_size_ok = g->block_size >= 1024 && g->block_size <= 65536 &&
	                    !(g->block_size & (g->block_size - 1));
	if (!page_size_ok && block32 >= 1024 && block32 <= 65536 && !(block32 & (block32 - 1)))
		return derr_set(&d->err, DUMP_ERR_UNSUPPORTED,
		                "header: not an x86_64 dump (a 32-bit header: block_size %u "
		                "8 bytes early)",
		                block32);
	if (!dump_set_page_size(d, g->block_size, "header: block_size"))
		return DUMP_ERR_CORRUPT;
	/* no bitmap blocks only for a dump of no memory at all (max_mapnr 0,
	 * checked below): such an empty dump is valid and opens */
	if (sub_hdr_size < 1 || (bitmap_blocks & 1))
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "header: sub_hdr_size %d, bitmap_blocks %u (need >= 1 and an even "
		                "count)",
		                sub_hdr_size, bitmap_blocks);
	sub_bytes = (uint64_t)sub_hdr_size * g->block_size;
	g->bitmap_off = g->block_size + sub_bytes;
	g->half_len = (uint64_t)bitmap_blocks / 2 * g->block_size;
	bitmap_end = g->bitmap_off + 2 * g->half_len; /* 32-bit counts: no overflow */
	if (bitmap_end > io->size)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "header: bitmaps end at 0x%" PRIx64 ", beyond the file (0x%" PRIx64
		                " bytes)",
		                bitmap_end, io->size);
	g->desc_off = bitmap_end;

	st = io_pread(io, g->block_size, sub, SUB_HDR_SIZE, &d->err);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "sub-header");
	if (g->version >= 2 && le32(sub + 12)) {
		g->split = true;
		g->start_pfn = le64(sub + 16);
		g->end_pfn = le64(sub + 24);
	}
	if (g->version >= 6) {
		g->max_mapnr = le64(sub + 96);
		if (g->split) {
			g->start_pfn = le64(sub + 80);
			g->end_pfn = le64(sub + 88);
		}
	}
	/* each bitmap must cover every pfn the header promises */
	uint64_t map_bytes = dd_div_up(g->max_mapnr, 8);
	if (map_bytes > g->half_len)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "header: max_mapnr %" PRIu64 " needs %" PRIu64
		                " bitmap bytes, the bitmaps have %" PRIu64,
		                g->max_mapnr, map_bytes, g->half_len);
	if (!g->split) {
		g->start_pfn = 0;
		g->end_pfn = g->max_mapnr;
	} else if (g->start_pfn > g->end_pfn || g->end_pfn > g->max_mapnr) {
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "sub-header: split range [0x%" PRIx64 ", 0x%" PRIx64
		                ") outside max_mapnr 0x%" PRIx64,
		                g->start_pfn, g->end_pfn, g->max_mapnr);
	}
	return DUMP_OK;
}

static void init_part(struct dd_part *p, struct dump_io *io, const struct dd_geometry *g)
{
	p->io = io;
	p->desc_off = g->desc_off;
	p->start_pfn = g->start_pfn;
	p->end_pfn = g->end_pfn;
	p->status = g->status;
	p->desc_cache_n = 0;
}

static dump_status dd_open(dump_t *d)
{
	uint8_t h[HDR_SIZE], sub[SUB_HDR_SIZE];
	struct diskdump *dd;
	dump_status st;

	dd = calloc(1, sizeof(*dd));
	if (!dd)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "header");
	d->priv = dd;
	dd->part = calloc(1, sizeof(*dd->part));
	if (!dd->part)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "header");
	dd->n_parts = 1;
	st = parse_geometry(d, &d->io, &dd->geo, h, sub);
	if (st != DUMP_OK)
		return st;
	init_part(&dd->part[0], &d->io, &dd->geo);
	dd->max_mapnr = dd->geo.max_mapnr;
	dd->bitmap_off = dd->geo.bitmap_off;
	dd->half_len = dd->geo.half_len;
	dd->map_bytes = dd_div_up(dd->max_mapnr, 8);

	copy_uts(d->utsname_nodename, h + 12 + 65);
	copy_uts(d->utsname_release, h + 12 + 130);
	copy_uts(d->utsname_version, h + 12 + 195);
	copy_uts(d->utsname_machine, h + 12 + 260);
	d->crash_time = (int64_t)le64(h + 408);
	d->header_cpus = (int32_t)le32(h + 460);
	d->phys_base_from_format = true;
	d->format_phys_base = le64(sub + 0);
	d->dump_level = (int32_t)le32(sub + 8);
	d->compression = compression_name(dd->geo.status);
	d->incomplete = (dd->geo.status & DD_INCOMPLETE) != 0;
	dd->cbuf = malloc(d->page_size);
	if (!dd->cbuf)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "page buffer");
	return dd_read_notes(d, sub);
}

dump_status diskdump_attach_part(dump_t *d, const char *path)
{
	struct diskdump *dd = d->priv;
	uint8_t h[HDR_SIZE], sub[SUB_HDR_SIZE];
	struct dd_geometry g;
	struct dd_part *bigger, *p;
	dump_status st;

	if (d->fmt != &dump_format_diskdump || !dd->geo.split)
		return derr_set(&d->err, DUMP_ERR_FORMAT,
		                "%s: only the parts of a split kdump-compressed dump can be "
		                "opened together",
		                path);
	bigger = realloc(dd->part, (dd->n_parts + 1) * sizeof(*dd->part));
	if (!bigger)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "%s", path);
	dd->part = bigger;
	/* the array moved: the parts' own io structures with it */
	for (size_t i = 1; i < dd->n_parts; i++)
		dd->part[i].io = &dd->part[i].own_io;
	p = &dd->part[dd->n_parts];
	memset(p, 0, sizeof(*p));
	p->path = strdup(path);
	p->own_io.fd = -1;
	if (!p->path)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "%s", path);
	dd->n_parts++; /* counted now, so cleanup closes what follows */
	st = io_open(&p->own_io, path, &d->err);
	if (st == DUMP_OK) {
		st = io_probe_flattened(&p->own_io, &d->err);
		if (st == DUMP_ERR_FORMAT)
			st = DUMP_OK;
	}
	if (st == DUMP_OK)
		st = parse_geometry(d, &p->own_io, &g, h, sub);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "%s", path);
	/* every part carries the same bitmaps over the same memory */
	if (!g.split || g.block_size != dd->geo.block_size || g.max_mapnr != dd->max_mapnr ||
	    g.bitmap_off != dd->bitmap_off || g.half_len != dd->half_len)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "%s: not a part of the same split dump (split %d, block size %u, "
		                "max_mapnr %" PRIu64 ")",
		                path, g.split, g.block_size, g.max_mapnr);
	init_part(p, &p->own_io, &g);
	if (g.status & DD_INCOMPLETE)
		d->incomplete = true;
	dd->index_ready = false; /* rank_start and n_dumped of the new part */
	return DUMP_OK;
}

static uint64_t popcount_bytes(const uint8_t *p, uint64_t n)
{
	uint64_t c = 0, i = 0;

	for (; i + 8 <= n; i += 8)
		c += (uint64_t)__builtin_popcountll(le64(p + i));
	for (; i < n; i++)
		c += (uint64_t)__builtin_popcount(p[i]);
	return c;
}

/* set bits of bitmap2 in [0, pfn) */
static uint64_t rank_of(const struct diskdump *dd, uint64_t pfn)
{
	uint64_t block = pfn / 512, byte = block * 64, c = dd->rank[block];
	uint64_t pfn_byte = pfn / 8;

	c += popcount_bytes(dd->bitmap2 + byte, pfn_byte - byte);
	if (pfn & 7)
		c += (uint64_t)__builtin_popcount(dd->bitmap2[pfn_byte] & ((1u << (pfn & 7)) - 1));
	return c;
}

static bool bit_set(const uint8_t *map, uint64_t pfn)
{
	return map[pfn / 8] >> (pfn & 7) & 1;
}

/* The 2nd bitmap and its rank index: max_mapnr/8 + max_mapnr/64 bytes,
 * about 36 KiB for a 1 GiB guest. */
static dump_status dd_build_index(dump_t *d)
{
	struct diskdump *dd = d->priv;
	uint64_t blocks = dd_div_up(dd->max_mapnr, 512);
	dump_status st;

	/* rebuilt when a part is attached: start afresh */
	free(dd->bitmap2);
	free(dd->rank);
	/* padded to whole 512-bit blocks, so rank_of never reads past it */
	dd->bitmap2 = calloc(blocks + 1, 64); /* + 1: an empty dump has 0 blocks */
	dd->rank = calloc(blocks + 1, sizeof(*dd->rank));
	if (!dd->bitmap2 || !dd->rank)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "2nd bitmap of %" PRIu64 " bytes",
		                dd->map_bytes);
	st = io_pread(&d->io, dd->bitmap_off + dd->half_len, dd->bitmap2, dd->map_bytes, &d->err);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "2nd bitmap");
	/* bits past max_mapnr mean nothing: clear them so counts agree */
	if (dd->max_mapnr & 7)
		dd->bitmap2[dd->max_mapnr / 8] &= (uint8_t)((1u << (dd->max_mapnr & 7)) - 1);
	for (uint64_t b = 0; b < blocks; b++)
		dd->rank[b + 1] = dd->rank[b] + popcount_bytes(dd->bitmap2 + b * 64, 64);
	for (size_t i = 0; i < dd->n_parts; i++) {
		struct dd_part *p = &dd->part[i];
		p->rank_start = rank_of(dd, p->start_pfn);
		p->n_dumped = rank_of(dd, p->end_pfn) - p->rank_start;
		p->desc_cache_n = 0;
	}
	dd->index_ready = true;
	return DUMP_OK;
}

static dump_status dd_get_desc(dump_t *d, struct dd_part *p, uint64_t idx, struct page_desc *pd)
{
	dump_status st;

	if (idx < p->desc_cache_first || idx - p->desc_cache_first >= p->desc_cache_n) {
		uint64_t off = p->desc_off + idx * DESC_SIZE;
		uint64_t n = p->n_dumped - idx < DESC_BATCH ? p->n_dumped - idx : DESC_BATCH;
		/* a dump cut short may end inside the table: read what is there */
		if (off >= p->io->size)
			return derr_set(&d->err, DUMP_ERR_CORRUPT,
			                "descriptor %" PRIu64 " at 0x%" PRIx64
			                " is beyond the end of the file%s",
			                idx, off, d->incomplete ? " (incomplete dump)" : "");
		if ((p->io->size - off) / DESC_SIZE < n)
			n = (p->io->size - off) / DESC_SIZE;
		if (n == 0)
			return derr_set(&d->err, DUMP_ERR_CORRUPT,
			                "descriptor %" PRIu64 " at 0x%" PRIx64
			                " is cut off by the end of the file",
			                idx, off);
		st = io_pread(p->io, off, p->desc_cache, n * DESC_SIZE, &d->err);
		if (st != DUMP_OK)
			return derr_prefix(&d->err, st, "descriptor %" PRIu64, idx);
		p->desc_cache_first = idx;
		p->desc_cache_n = n;
	}
	dd_decode_desc(p->desc_cache + (idx - p->desc_cache_first) * DESC_SIZE, pd);
	return DUMP_OK;
}

/* Checks a descriptor against its file; the message names the pfn. */
dump_status dd_check_desc(dump_t *d, const struct dd_part *p, uint64_t pfn,
                          const struct page_desc *pd)
{
	uint64_t end;

	if (pd->offset == 0 && pd->size == 0)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "pfn 0x%" PRIx64 ": descriptor is zeroed: the dump is incomplete",
		                pfn);
	if (pd->size == 0 || pd->size > d->page_size)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "pfn 0x%" PRIx64 ": stored size %u (page size %u)", pfn, pd->size,
		                d->page_size);
	if (pd->offset < p->desc_off || !add_ok(pd->offset, pd->size, &end) || end > p->io->size)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "pfn 0x%" PRIx64 ": data at 0x%" PRIx64 "+%u is outside the page "
		                "data (0x%" PRIx64 "-0x%" PRIx64 ")",
		                pfn, pd->offset, pd->size, p->desc_off, p->io->size);
	return DUMP_OK;
}

static struct dd_part *part_of(struct diskdump *dd, uint64_t pfn)
{
	for (size_t i = 0; i < dd->n_parts; i++)
		if (pfn >= dd->part[i].start_pfn && pfn < dd->part[i].end_pfn)
			return &dd->part[i];
	return NULL;
}

/* The range around PFN that no part covers: [*lo, *hi) */
static void uncovered_range(const struct diskdump *dd, uint64_t pfn, uint64_t *lo, uint64_t *hi)
{
	*lo = 0;
	*hi = dd->max_mapnr;
	for (size_t i = 0; i < dd->n_parts; i++) {
		const struct dd_part *q = &dd->part[i];
		if (q->end_pfn <= pfn && q->end_pfn > *lo)
			*lo = q->end_pfn;
		if (q->start_pfn > pfn && q->start_pfn < *hi)
			*hi = q->start_pfn;
	}
}

static dump_status dd_read_page(dump_t *d, uint64_t pfn, uint8_t *buf)
{
	struct diskdump *dd = d->priv;
	struct dd_part *p;
	struct page_desc pd;
	dump_status st;

	if (!dd->index_ready && (st = dd_build_index(d)) != DUMP_OK)
		return st;
	if (pfn >= dd->max_mapnr)
		return derr_set(&d->err, DUMP_ERR_NOTFOUND,
		                "pfn 0x%" PRIx64 " is beyond the dump (max_mapnr 0x%" PRIx64 ")",
		                pfn, dd->max_mapnr);
	if (!bit_set(dd->bitmap2, pfn))
		return derr_set(&d->err, DUMP_ERR_NOTFOUND,
		                "pfn 0x%" PRIx64 " was excluded from the dump", pfn);
	p = part_of(dd, pfn);
	if (!p) {
		uint64_t lo, hi;
		uncovered_range(dd, pfn, &lo, &hi);
		return derr_set(&d->err, DUMP_ERR_NOTFOUND,
		                "pfn 0x%" PRIx64 " is dumped (2nd bitmap) but none of the parts "
		                "given covers pfns [0x%" PRIx64 ", 0x%" PRIx64 ")",
		                pfn, lo, hi);
	}
	st = dd_get_desc(d, p, rank_of(dd, pfn) - p->rank_start, &pd);
	if (st == DUMP_OK)
		st = dd_check_desc(d, p, pfn, &pd);
	if (st == DUMP_OK)
		st = io_pread(p->io, pd.offset, dd->cbuf, pd.size, &d->err);
	if (st == DUMP_OK)
		st = decompress_page(pd.flags, dd->cbuf, pd.size, buf, d->page_size, &d->err);
	if (st != DUMP_OK && p->path)
		return derr_prefix(&d->err, st, "%s: pfn 0x%" PRIx64, p->path, pfn);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "pfn 0x%" PRIx64, pfn);
	return DUMP_OK;
}

static void dd_cleanup(dump_t *d)
{
	struct diskdump *dd = d->priv;

	if (!dd)
		return;
	for (size_t i = 1; i < dd->n_parts; i++) {
		io_close(&dd->part[i].own_io);
		free(dd->part[i].path);
	}
	free(dd->part);
	free(dd->bitmap2);
	free(dd->rank);
	free(dd->cbuf);
	free(dd);
	d->priv = NULL;
}

static dump_status dd_counts(dump_t *d, dump_page_counts *c)
{
	return dd_walk_all(d, NULL, c);
}

static dump_status dd_verify(dump_t *d, dump_check_result *r)
{
	struct diskdump *dd = d->priv;
	dump_status st;

	for (size_t i = 0; i < dd->n_parts; i++) {
		if (dd->part[i].status & DD_INCOMPLETE) {
			r->incomplete = true;
			verify_problem(r,
			               "%s%sheader status has the incomplete flag: makedumpfile "
			               "could not write the whole dump",
			               dd->part[i].path ? dd->part[i].path : "",
			               dd->part[i].path ? ": " : "");
		}
		if (dd->part[i].io->flattened && dd->part[i].io->flat_unterminated)
			verify_problem(r,
			               "%s%sflattened stream ends without its end marker "
			               "(truncated)",
			               dd->part[i].path ? dd->part[i].path : "",
			               dd->part[i].path ? ": " : "");
	}
	st = dd_walk_all(d, r, &r->pages);
	if (st != DUMP_OK)
		return st;
	r->pages_known = true;
	return DUMP_OK;
}

const struct dump_format dump_format_diskdump = {
    .name = "kdump-compressed",
    .probe = dd_probe,
    .open = dd_open,
    .read_page = dd_read_page,
    .verify = dd_verify,
    .counts = dd_counts,
    .cleanup = dd_cleanup,
};
