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
#define DESC_SIZE       24
/* descriptors read at once for random access */
#define DESC_BATCH 170
/* notes of a few thousand CPUs fit easily; more is hostile */
#define NOTES_MAX (64u << 20)

struct diskdump {
	uint32_t block_size;
	int32_t version;
	uint32_t status;
	uint64_t max_mapnr;
	uint64_t bitmap_off; /* 1st bitmap */
	uint64_t half_len;   /* bytes of each bitmap */
	uint64_t map_bytes;  /* bytes of each bitmap covering [0, max_mapnr) */
	uint64_t desc_off;
	bool split;
	uint64_t start_pfn, end_pfn; /* range with descriptors in this file */

	/* loaded on the first random access */
	bool index_ready;
	uint8_t *bitmap2;
	uint64_t *rank; /* set bits of bitmap2 before each 512-bit block */
	uint64_t rank_start;
	uint64_t n_dumped;

	uint8_t desc_cache[DESC_BATCH * DESC_SIZE];
	uint64_t desc_cache_first; /* index of the first cached descriptor */
	size_t desc_cache_n;
	uint8_t *cbuf; /* one compressed page */
};

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

	if (dd->version >= 4) {
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
	if (!d->vmcoreinfo && dd->version >= 3) {
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

static dump_status dd_open(dump_t *d)
{
	uint8_t h[HDR_SIZE], sub[SUB_HDR_SIZE];
	struct diskdump *dd;
	uint64_t bitmap_end, sub_bytes;
	dump_status st;

	if (d->io.size < HDR_SIZE)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "header: file of %" PRIu64
		                " bytes is shorter than the %d-byte header",
		                d->io.size, HDR_SIZE);
	st = io_pread(&d->io, 0, h, sizeof(h), &d->err);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "header");
	dd = calloc(1, sizeof(*dd));
	if (!dd)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "header");
	d->priv = dd;

	dd->version = (int32_t)le32(h + 8);
	if (dd->version < 1 || dd->version > 6)
		return derr_set(&d->err, dd->version > 6 ? DUMP_ERR_UNSUPPORTED : DUMP_ERR_CORRUPT,
		                "header: version %d (known: 1 to 6)", dd->version);
	copy_uts(d->utsname_nodename, h + 12 + 65);
	copy_uts(d->utsname_release, h + 12 + 130);
	copy_uts(d->utsname_version, h + 12 + 195);
	copy_uts(d->utsname_machine, h + 12 + 260);
	d->crash_time = (int64_t)le64(h + 408);
	dd->status = le32(h + 424);
	dd->block_size = le32(h + 428);
	int32_t sub_hdr_size = (int32_t)le32(h + 432);
	uint32_t bitmap_blocks = le32(h + 436);
	dd->max_mapnr = le32(h + 440);
	d->header_cpus = (int32_t)le32(h + 460);

	if (!dump_set_page_size(d, dd->block_size, "header: block_size"))
		return DUMP_ERR_CORRUPT;
	if (sub_hdr_size < 1 || bitmap_blocks == 0 || (bitmap_blocks & 1))
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "header: sub_hdr_size %d, bitmap_blocks %u (need >= 1 and an even "
		                "count >= 2)",
		                sub_hdr_size, bitmap_blocks);
	sub_bytes = (uint64_t)sub_hdr_size * dd->block_size;
	dd->bitmap_off = dd->block_size + sub_bytes;
	dd->half_len = (uint64_t)bitmap_blocks / 2 * dd->block_size;
	bitmap_end = dd->bitmap_off + 2 * dd->half_len; /* 32-bit counts: no overflow */
	if (bitmap_end > d->io.size)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "header: bitmaps end at 0x%" PRIx64 ", beyond the file (0x%" PRIx64
		                " bytes)",
		                bitmap_end, d->io.size);
	dd->desc_off = bitmap_end;

	st = io_pread(&d->io, dd->block_size, sub, sizeof(sub), &d->err);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "sub-header");
	d->phys_base_from_format = true;
	d->format_phys_base = le64(sub + 0);
	d->dump_level = (int32_t)le32(sub + 8);
	if (dd->version >= 2 && le32(sub + 12)) {
		dd->split = true;
		dd->start_pfn = le64(sub + 16);
		dd->end_pfn = le64(sub + 24);
	}
	if (dd->version >= 6) {
		dd->max_mapnr = le64(sub + 96);
		if (dd->split) {
			dd->start_pfn = le64(sub + 80);
			dd->end_pfn = le64(sub + 88);
		}
	}
	/* each bitmap must cover every pfn the header promises */
	dd->map_bytes = (dd->max_mapnr + 7) / 8;
	if (dd->max_mapnr == 0 || dd->map_bytes > dd->half_len)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "header: max_mapnr %" PRIu64 " needs %" PRIu64
		                " bitmap bytes, the bitmaps have %" PRIu64,
		                dd->max_mapnr, dd->map_bytes, dd->half_len);
	if (!dd->split) {
		dd->start_pfn = 0;
		dd->end_pfn = dd->max_mapnr;
	} else if (dd->start_pfn > dd->end_pfn || dd->end_pfn > dd->max_mapnr) {
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "sub-header: split range [0x%" PRIx64 ", 0x%" PRIx64
		                ") outside max_mapnr 0x%" PRIx64,
		                dd->start_pfn, dd->end_pfn, dd->max_mapnr);
	}
	d->compression = compression_name(dd->status);
	d->incomplete = (dd->status & DD_INCOMPLETE) != 0;
	dd->cbuf = malloc(d->page_size);
	if (!dd->cbuf)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "page buffer");
	return dd_read_notes(d, sub);
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
	uint64_t blocks = (dd->max_mapnr + 511) / 512;
	dump_status st;

	/* padded to whole 512-bit blocks, so rank_of never reads past it */
	dd->bitmap2 = calloc(blocks, 64);
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
	dd->rank_start = rank_of(dd, dd->start_pfn);
	dd->n_dumped = rank_of(dd, dd->end_pfn) - dd->rank_start;
	dd->desc_cache_n = 0;
	dd->index_ready = true;
	return DUMP_OK;
}

struct page_desc {
	uint64_t offset;
	uint32_t size, flags;
};

static void decode_desc(const uint8_t *p, struct page_desc *pd)
{
	pd->offset = le64(p);
	pd->size = le32(p + 8);
	pd->flags = le32(p + 12);
}

static dump_status dd_get_desc(dump_t *d, uint64_t idx, struct page_desc *pd)
{
	struct diskdump *dd = d->priv;
	dump_status st;

	if (idx < dd->desc_cache_first || idx - dd->desc_cache_first >= dd->desc_cache_n) {
		uint64_t off = dd->desc_off + idx * DESC_SIZE;
		uint64_t n = dd->n_dumped - idx < DESC_BATCH ? dd->n_dumped - idx : DESC_BATCH;
		/* a dump cut short may end inside the table: read what is there */
		if (off >= d->io.size)
			return derr_set(&d->err, DUMP_ERR_CORRUPT,
			                "descriptor %" PRIu64 " at 0x%" PRIx64
			                " is beyond the end of the file%s",
			                idx, off, d->incomplete ? " (incomplete dump)" : "");
		if ((d->io.size - off) / DESC_SIZE < n)
			n = (d->io.size - off) / DESC_SIZE;
		if (n == 0)
			return derr_set(&d->err, DUMP_ERR_CORRUPT,
			                "descriptor %" PRIu64 " at 0x%" PRIx64
			                " is cut off by the end "
			                "of the file",
			                idx, off);
		st = io_pread(&d->io, off, dd->desc_cache, n * DESC_SIZE, &d->err);
		if (st != DUMP_OK)
			return derr_prefix(&d->err, st, "descriptor %" PRIu64, idx);
		dd->desc_cache_first = idx;
		dd->desc_cache_n = n;
	}
	decode_desc(dd->desc_cache + (idx - dd->desc_cache_first) * DESC_SIZE, pd);
	return DUMP_OK;
}

/* Checks a descriptor against the file; the message names the pfn. */
static dump_status check_desc(dump_t *d, uint64_t pfn, const struct page_desc *pd)
{
	struct diskdump *dd = d->priv;
	uint64_t end;

	if (pd->offset == 0 && pd->size == 0)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "pfn 0x%" PRIx64 ": descriptor is zeroed: the dump is incomplete",
		                pfn);
	if (pd->size == 0 || pd->size > d->page_size)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "pfn 0x%" PRIx64 ": stored size %u (page size %u)", pfn, pd->size,
		                d->page_size);
	if (pd->offset < dd->desc_off || !add_ok(pd->offset, pd->size, &end) || end > d->io.size)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "pfn 0x%" PRIx64 ": data at 0x%" PRIx64 "+%u is outside the page "
		                "data (0x%" PRIx64 "-0x%" PRIx64 ")",
		                pfn, pd->offset, pd->size, dd->desc_off, d->io.size);
	return DUMP_OK;
}

static dump_status dd_read_page(dump_t *d, uint64_t pfn, uint8_t *buf)
{
	struct diskdump *dd = d->priv;
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
	if (pfn < dd->start_pfn || pfn >= dd->end_pfn)
		return derr_set(&d->err, DUMP_ERR_NOTFOUND,
		                "pfn 0x%" PRIx64 " is in another part of this split dump", pfn);
	st = dd_get_desc(d, rank_of(dd, pfn) - dd->rank_start, &pd);
	if (st != DUMP_OK)
		return st;
	st = check_desc(d, pfn, &pd);
	if (st != DUMP_OK)
		return st;
	st = io_pread(&d->io, pd.offset, dd->cbuf, pd.size, &d->err);
	if (st == DUMP_OK)
		st = decompress_page(pd.flags, dd->cbuf, pd.size, buf, d->page_size, &d->err);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "pfn 0x%" PRIx64, pfn);
	return DUMP_OK;
}

static void dd_cleanup(dump_t *d)
{
	struct diskdump *dd = d->priv;

	if (!dd)
		return;
	free(dd->bitmap2);
	free(dd->rank);
	free(dd->cbuf);
	free(dd);
	d->priv = NULL;
}

/* ---- streaming walk, for verify and counts ---- */

/* A read-ahead window over the file: page data is laid out in pfn order,
 * so a walk reads it front to back.  Fixed size: memory stays bounded
 * whatever the dump's size.  Small enough to stay in the CPU cache
 * (measured on a 1 GiB guest's dump: 64 KiB 0.10 s, 1 MiB 0.17 s). */
#define WINDOW (64u << 10)

struct window {
	uint8_t *buf;
	size_t cap;
	uint64_t off;
	size_t len;
};

static dump_status window_get(dump_t *d, struct window *w, uint64_t off, size_t len,
                              const uint8_t **p)
{
	if (len > w->cap)
		return derr_set(&d->err, DUMP_ERR_CORRUPT, "read of %zu bytes", len);
	if (off < w->off || off + len > w->off + w->len) {
		size_t n = d->io.size - off < w->cap ? (size_t)(d->io.size - off) : w->cap;
		if (off > d->io.size || n < len)
			return derr_set(&d->err, DUMP_ERR_CORRUPT,
			                "0x%" PRIx64 "+%zu is beyond the end of the file", off,
			                len);
		dump_status st = io_pread(&d->io, off, w->buf, n, &d->err);
		if (st != DUMP_OK) {
			w->len = 0;
			return st;
		}
		w->off = off;
		w->len = n;
	}
	*p = w->buf + (off - w->off);
	return DUMP_OK;
}

#define CHUNK_BYTES 4096u /* bitmap bytes per step: 32768 pfns */

static dump_status dd_count_dumped(dump_t *d, uint64_t *count);

static dump_status dd_walk(dump_t *d, struct verify_report *r, struct dump_page_counts *c)
{
	struct diskdump *dd = d->priv;
	struct window data = {0}, descs = {0};
	uint8_t map1[CHUNK_BYTES], map2[CHUNK_BYTES];
	uint8_t *page = NULL;
	uint64_t idx = 0, zero_off = 0, zero_refs = 0;
	bool zero_is_zero = false;
	dump_status st = DUMP_OK;

	memset(c, 0, sizeof(*c));
	c->max_pfn = dd->max_mapnr;
	/* makedumpfile writes the shared zero page first, right after the
	 * descriptor table, when zero pages are kept */
	st = dd_count_dumped(d, &zero_off);
	if (st != DUMP_OK)
		return st;
	zero_off = dd->desc_off + zero_off * DESC_SIZE;
	/* windows no larger than the file: small dumps stay cheap */
	data.cap = d->io.size < WINDOW ? (size_t)d->io.size + 1 : WINDOW;
	descs.cap = data.cap;
	data.buf = malloc(data.cap);
	descs.buf = malloc(descs.cap);
	page = malloc(d->page_size);
	if (!data.buf || !descs.buf || !page) {
		st = derr_set(&d->err, DUMP_ERR_NOMEM, "verify buffers");
		goto out;
	}
	{
		const uint8_t *z;
		if (window_get(d, &data, zero_off, d->page_size, &z) == DUMP_OK)
			zero_is_zero = !z[0] && !memcmp(z, z + 1, d->page_size - 1);
	}
	for (uint64_t byte = 0; byte < dd->map_bytes; byte += CHUNK_BYTES) {
		size_t n = dd->map_bytes - byte < CHUNK_BYTES ? (size_t)(dd->map_bytes - byte)
		                                              : CHUNK_BYTES;
		st = io_pread(&d->io, dd->bitmap_off + byte, map1, n, &d->err);
		if (st == DUMP_OK)
			st = io_pread(&d->io, dd->bitmap_off + dd->half_len + byte, map2, n,
			              &d->err);
		if (st != DUMP_OK) {
			derr_prefix(&d->err, st, "bitmaps");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			uint8_t m1 = map1[i], m2 = map2[i];
			uint64_t base = (byte + i) * 8;
			if (!(m1 | m2))
				continue;
			/* nothing dumped in these 8 pfns: count them at once
			 * (the common case at dump level 31) */
			if (!m2 && base + 8 <= dd->max_mapnr) {
				c->present += (uint64_t)__builtin_popcount(m1);
				c->excluded += (uint64_t)__builtin_popcount(m1);
				continue;
			}
			for (unsigned b = 0; b < 8; b++) {
				uint64_t pfn = base + b;
				bool present = m1 >> b & 1, dumped = m2 >> b & 1;
				if (pfn >= dd->max_mapnr)
					break;
				c->present += present;
				if (!dumped) {
					c->excluded += present;
					continue;
				}
				if (!present && r)
					verify_problem(r,
					               "pfn 0x%" PRIx64 ": dumped but not in the "
					               "1st (memory) bitmap",
					               pfn);
				if (pfn < dd->start_pfn || pfn >= dd->end_pfn)
					continue;
				c->dumped++;
				/* descriptor */
				const uint8_t *raw;
				struct page_desc pd;
				st = window_get(d, &descs, dd->desc_off + idx * DESC_SIZE,
				                DESC_SIZE, &raw);
				idx++;
				if (st != DUMP_OK) {
					if (!r)
						goto out;
					verify_problem(r, "pfn 0x%" PRIx64 ": descriptor: %s%s",
					               pfn, dump_error(d),
					               d->incomplete ? " (incomplete dump)" : "");
					/* no later descriptor can be in the file either */
					st = DUMP_OK;
					goto out;
				}
				decode_desc(raw, &pd);
				if (pd.offset == zero_off && pd.size == d->page_size && !pd.flags)
					zero_refs++;
				if (!r)
					continue;
				if (pd.offset == 0 && pd.size == 0) {
					r->incomplete = true;
					verify_problem(r,
					               "pfn 0x%" PRIx64 ": descriptor is zeroed "
					               "(incomplete dump)",
					               pfn);
					continue;
				}
				st = check_desc(d, pfn, &pd);
				if (st == DUMP_OK) {
					const uint8_t *src;
					st = window_get(d, &data, pd.offset, pd.size, &src);
					if (st == DUMP_OK)
						st = decompress_page(pd.flags, src, pd.size, page,
						                     d->page_size, &d->err);
					if (st != DUMP_OK)
						derr_prefix(&d->err, st, "pfn 0x%" PRIx64, pfn);
				}
				if (st != DUMP_OK) {
					verify_problem(r, "%s", dump_error(d));
					st = DUMP_OK;
					continue;
				}
				r->pages_checked++;
				r->bytes_compressed += pd.size;
			}
		}
	}
	/* makedumpfile stores page data once per page, except the shared
	 * zero page: data used by several pfns must be that zero page */
	if (zero_refs > 1 && !zero_is_zero && r)
		verify_problem(r,
		               "%" PRIu64 " pfns share the data at 0x%" PRIx64
		               ", which is not the zero page it must be",
		               zero_refs, zero_off);
	c->zero = zero_is_zero ? zero_refs : 0;
	c->zero_known = true;
out:
	free(data.buf);
	free(descs.buf);
	free(page);
	return st;
}

/* Dumped pages in this file, counted from the 2nd bitmap in fixed-size
 * steps: verify must not hold the whole bitmap. */
static dump_status dd_count_dumped(dump_t *d, uint64_t *count)
{
	struct diskdump *dd = d->priv;
	uint8_t map2[CHUNK_BYTES];
	uint64_t n_total = 0;

	if (dd->index_ready) {
		*count = dd->n_dumped;
		return DUMP_OK;
	}
	for (uint64_t byte = 0; byte < dd->map_bytes; byte += CHUNK_BYTES) {
		size_t n = dd->map_bytes - byte < CHUNK_BYTES ? (size_t)(dd->map_bytes - byte)
		                                              : CHUNK_BYTES;
		dump_status st =
		    io_pread(&d->io, dd->bitmap_off + dd->half_len + byte, map2, n, &d->err);
		if (st != DUMP_OK)
			return derr_prefix(&d->err, st, "2nd bitmap");
		for (size_t i = 0; i < n; i++) {
			uint64_t base = (byte + i) * 8;
			if (!map2[i])
				continue;
			if (base >= dd->start_pfn && base + 8 <= dd->end_pfn) {
				n_total += (uint64_t)__builtin_popcount(map2[i]);
				continue;
			}
			for (unsigned b = 0; b < 8; b++) {
				uint64_t pfn = base + b;
				if (map2[i] >> b & 1 && pfn >= dd->start_pfn && pfn < dd->end_pfn)
					n_total++;
			}
		}
	}
	*count = n_total;
	return DUMP_OK;
}

static dump_status dd_counts(dump_t *d, struct dump_page_counts *c)
{
	return dd_walk(d, NULL, c);
}

static dump_status dd_verify(dump_t *d, struct verify_report *r)
{
	struct diskdump *dd = d->priv;
	dump_status st;

	if (dd->status & DD_INCOMPLETE) {
		r->incomplete = true;
		verify_problem(r, "header status has the incomplete flag: makedumpfile could not "
		                  "write the whole dump");
	}
	if (d->io.flattened && d->io.flat_unterminated)
		verify_problem(r, "flattened stream ends without its end marker (truncated)");
	st = dd_walk(d, r, &r->counts);
	if (st != DUMP_OK)
		return st;
	r->counts_known = true;
	r->pages_zero = r->counts.zero;
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
