/* Internal interface shared by the files of harness/dump/.  Nothing outside
 * this folder includes it: the public interface is dump.h.
 *
 * Layers, bottom up:
 *   io.c          byte access to the file: plain, or makedumpfile's flattened
 *                 stream mapped in place (no rewritten copy)
 *   fmt_*.c       one file per dump format, each ending in a dump_format table
 *   notes.c       ELF notes (VMCOREINFO, PRSTATUS), shared by both formats
 *   xlat_x86_64.c kernel-virtual to physical, reading memory via a callback
 *   dump.c        the context: probe/open, page cache, physical/virtual reads
 *   printk.c      the kernel log from memory
 *   verify.c, info.c   dump_check and dump_summarize (the front end that
 *                      prints them is harness/cli/dump_cmd.c)
 */
#ifndef KDH_DUMP_INTERNAL_H
#define KDH_DUMP_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dump/dump.h"

/* ---- error messages, chained outer-to-inner ---- */

struct dump_err {
	char msg[1024];
};

/* The message, replaced by the formatted text / prefixed with "<text>: "
 * (the outer context of an inner failure). */
void derr_format(struct dump_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void derr_format_prefix(struct dump_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Set or prefix the message and yield STATUS, so a failure reads
 * `return derr_set(e, DUMP_ERR_CORRUPT, "...")`.  Macros, so that callers
 * in every file (and the analyzer) see that STATUS is what comes back: as
 * functions in dump.c, a failed read looked as if it could return DUMP_OK
 * with its output unset. */
#define derr_set(e, status, ...)    (derr_format((e), __VA_ARGS__), (status))
#define derr_prefix(e, status, ...) (derr_format_prefix((e), __VA_ARGS__), (status))

/* ---- little-endian field access; dumps here are x86_64, and reading them
 * through these keeps the reader correct on any host ---- */

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static inline uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* a + b into *r; false when it does not fit (every offset sum from a file
 * goes through this or an explicit comparison) */
static inline bool add_ok(uint64_t a, uint64_t b, uint64_t *r)
{
	return !__builtin_add_overflow(a, b, r);
}

static inline bool mul_ok(uint64_t a, uint64_t b, uint64_t *r)
{
	return !__builtin_mul_overflow(a, b, r);
}

/* ---- io.c: byte access to the dump file ---- */

struct flat_extent {
	uint64_t logical; /* offset in the file makedumpfile meant to write */
	uint64_t len;
	uint64_t physical; /* where those bytes are in the flattened stream */
};

struct dump_io {
	int fd;
	uint64_t file_size; /* of the file on disk */
	uint64_t size;      /* logical size: file_size, or the flattened image's end */
	bool flattened;
	struct flat_extent *ext; /* sorted by logical, non-overlapping */
	size_t n_ext;
	size_t last_ext;        /* lookup hint: reads are mostly sequential */
	bool flat_unterminated; /* the stream ended without its end marker */
};

/* Opens PATH read-only; on failure E says why. */
dump_status io_open(struct dump_io *io, const char *path, struct dump_err *e);

/* Recognises makedumpfile's flattened header at the start of the file and, if
 * present, indexes every data record so later reads see the logical image. */
dump_status io_probe_flattened(struct dump_io *io, struct dump_err *e);

/* Reads exactly LEN bytes at logical offset OFF; a range past the end or in a
 * hole of a flattened image is DUMP_ERR_CORRUPT naming the offset. */
dump_status io_pread(struct dump_io *io, uint64_t off, void *buf, size_t len, struct dump_err *e);

/* Bytes readable from logical offset OFF before the end or a hole of a
 * flattened image (0 when OFF itself is in a hole). */
uint64_t io_contiguous(struct dump_io *io, uint64_t off);

/* The first logical offset >= OFF that holds data: OFF for a plain file;
 * in a flattened image with gaps (the format allows them), the start of
 * the next record; the logical size when nothing follows. */
uint64_t io_next_data(struct dump_io *io, uint64_t off);

void io_close(struct dump_io *io);

/* ---- notes.c ---- */

#define DUMP_MAX_CPUS 8192

/* ---- xlat_x86_64.c ---- */

/* Reads LEN bytes of physical memory at PADDR into BUF; the implementation
 * records its own failure in the error that was given to xlat_init. */
typedef dump_status (*xlat_read_fn)(void *ctx, uint64_t paddr, void *buf, size_t len);

struct xlat_x86_64 {
	xlat_read_fn read;
	void *ctx;
	struct dump_err *err;
	bool have_image; /* phys_base known: kernel image by arithmetic */
	uint64_t phys_base;
	uint64_t image_size; /* KERNEL_IMAGE_SIZE */
	bool have_pgt;       /* init_top_pgt known: page-table walk possible */
	uint64_t pgt_paddr;
	int levels;        /* 4 or 5 */
	uint64_t pte_mask; /* physical-address bits of an entry (SME bit removed) */
};

/* Sets X up from VMCOREINFO-derived values.  PHYS_BASE_KNOWN false leaves
 * only the page-table walk; INIT_TOP_PGT 0 leaves only the image mapping. */
void xlat_x86_64_init(struct xlat_x86_64 *x, xlat_read_fn read, void *ctx, struct dump_err *err,
                      bool phys_base_known, uint64_t phys_base, uint64_t image_size,
                      uint64_t init_top_pgt, bool five_level, uint64_t sme_mask);

/* Translates kernel-virtual VADDR.  DUMP_ERR_NOTFOUND when the address is not
 * mapped; other errors come from reading the page tables. */
dump_status xlat_x86_64_virt_to_phys(struct xlat_x86_64 *x, uint64_t vaddr, uint64_t *paddr);

/* ---- formats ---- */

struct dump_format {
	const char *name;
	/* Does HEAD (the first bytes of the logical file) look like this
	 * format?  Cheap; no allocation. */
	bool (*probe)(const uint8_t *head, size_t len);
	/* Parses headers into the context; bounds-checks every field. */
	dump_status (*open)(dump_t *d);
	/* One page of physical memory into BUF (page_size bytes).
	 * DUMP_ERR_NOTFOUND when the page is not in the dump. */
	dump_status (*read_page)(dump_t *d, uint64_t pfn, uint8_t *buf);
	/* Checks every structure and page, streaming. */
	dump_status (*verify)(dump_t *d, dump_check_result *r);
	/* Page counts from the metadata (may read descriptors). */
	dump_status (*counts)(dump_t *d, dump_page_counts *c);
	void (*cleanup)(dump_t *d);
};

extern const struct dump_format dump_format_diskdump;

/* Adds PATH, another part of the split kdump-compressed dump open in D. */
dump_status diskdump_attach_part(dump_t *d, const char *path);
extern const struct dump_format dump_format_elf;

/* ---- the context ---- */

#define PAGE_CACHE_SLOTS 32

struct page_cache_slot {
	uint64_t pfn;
	bool valid;
	uint8_t *data;
};

struct dump {
	struct dump_err err;
	struct dump_io io;
	bool opened;
	const struct dump_format *fmt;
	void *priv; /* the format's own state */

	/* filled by the format's open */
	uint32_t page_size; /* power of two, 1 KiB to 64 KiB */
	unsigned page_shift;
	const char *compression; /* "none", "zlib", ... (static strings) */
	bool incomplete;
	char *vmcoreinfo; /* NUL-terminated, with the note's size; owned */
	size_t vmcoreinfo_len;
	dump_cpu_regs *cpus; /* PRSTATUS notes in note order */
	unsigned n_cpus;
	/* what only a kdump-compressed header says (0 / "" otherwise) */
	int dump_level; /* -1 when unknown */
	char utsname_release[66];
	char utsname_version[66];
	char utsname_machine[66];
	char utsname_nodename[66];
	int64_t crash_time; /* seconds since the epoch, -1 when unknown */
	int header_cpus;    /* nr_cpus from the header, -1 when unknown */
	bool phys_base_from_format;
	uint64_t format_phys_base;

	/* set lazily by dump_kernel_init */
	bool kernel_ready;
	struct xlat_x86_64 xlat;

	struct page_cache_slot cache[PAGE_CACHE_SLOTS];
	uint8_t *cache_mem;
	uint8_t *scratch; /* one page of scratch for reads */

	char *kv_scratch; /* result of the last dump_vmcoreinfo lookup */

#ifdef KDH_DUMP_TEST_HOOKS
	/* Only in the tests' build of the library (build/libkdhdump-test.a):
	 * the tests' generator rebuilds dumps from the first note buffer as
	 * found in the file and from the pages a read touches.  The
	 * production reader neither copies notes nor calls out per page. */
	uint8_t *raw_notes;
	size_t raw_notes_len;
	void (*page_observer)(void *ctx, uint64_t pfn);
	void *observer_ctx;
#endif
};

/* Parses a buffer of ELF notes (from PT_NOTE or a kdump sub-header): keeps
 * VMCOREINFO and the PRSTATUS register sets; WHERE names the source. */
dump_status notes_parse(dump_t *d, const uint8_t *buf, size_t len, const char *where);

/* Sets the page size; false (with the error set) unless a power of two
 * between 1 KiB and 64 KiB. */
bool dump_set_page_size(dump_t *d, uint64_t size, const char *where);

/* The physical page PFN, from the cache or the format; the pointer stays
 * valid until the next read call on D. */
dump_status dump_get_page(dump_t *d, uint64_t pfn, const uint8_t **page);

/* Prepares address translation from VMCOREINFO (once). */
dump_status dump_kernel_init(dump_t *d);

/* VMCOREINFO value of KEY parsed as a number (hex for SYMBOL(...) and
 * KERNELOFFSET, decimal otherwise, as the kernel writes them). */
dump_status dump_vmcoreinfo_u64(dump_t *d, const char *key, uint64_t *val);

/* Like dump_vmcoreinfo, but a pointer into the stored text and its length
 * (no allocation, no NUL). */
const char *dump_vmcoreinfo_raw(const dump_t *d, const char *key, size_t *len);

/* ---- verify.c ---- */

/* Records a problem in R (keeps the first few messages, counts all). */
void verify_problem(dump_check_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- info.c ---- */

/* The panic message and the panicking task from the kernel log LOG (LEN
 * bytes, guest-written: hostile) into S's panic and task fields; linear in
 * LEN whatever the log holds. */
void dump_parse_panic(dump_summary *s, const char *log, size_t len);

/* ---- decompression (decompress.c) ---- */

/* Decompresses SRC (LEN bytes, compressed with the method in FLAGS, the
 * kdump page-descriptor bits) into exactly PAGE_SIZE bytes of DST.
 * Anything else (error, short or long output) is DUMP_ERR_CORRUPT. */
dump_status decompress_page(uint32_t flags, const uint8_t *src, size_t len, uint8_t *dst,
                            size_t page_size, struct dump_err *e);

#define DD_COMPRESS_ZLIB   0x1u
#define DD_COMPRESS_LZO    0x2u
#define DD_COMPRESS_SNAPPY 0x4u
#define DD_INCOMPLETE      0x8u
#define DD_COMPRESS_ZSTD   0x20u

/* ---- kdump-compressed internals (fmt_diskdump.c, fmt_diskdump_walk.c) ---- */

#define DESC_SIZE 24
/* descriptors read at once for random access */
#define DESC_BATCH 170

/* One file of the dump: the whole dump, or one part of a split dump. */
struct dd_part {
	char *path;         /* for messages; NULL for the file dump_open opened */
	struct dump_io *io; /* &d->io for the first part */
	struct dump_io own_io;
	uint64_t desc_off;
	uint64_t start_pfn, end_pfn; /* range with descriptors in this file */
	uint32_t status;
	uint64_t rank_start; /* set by the index */
	uint64_t n_dumped;
	uint8_t desc_cache[DESC_BATCH * DESC_SIZE];
	uint64_t desc_cache_first; /* index of the first cached descriptor */
	size_t desc_cache_n;
};

/* The geometry every part of one dump shares */
struct dd_geometry {
	int32_t version;
	uint32_t status, block_size;
	uint64_t max_mapnr;
	uint64_t bitmap_off; /* 1st bitmap */
	uint64_t half_len;   /* bytes of each bitmap */
	uint64_t desc_off;
	bool split;
	uint64_t start_pfn, end_pfn;
};

struct diskdump {
	struct dd_geometry geo; /* of the first part */
	uint64_t max_mapnr;
	uint64_t bitmap_off, half_len;
	uint64_t map_bytes; /* bytes of each bitmap covering [0, max_mapnr) */
	struct dd_part *part;
	size_t n_parts;

	/* loaded on the first random access (the bitmaps are the same in
	 * every part: the first one's serve all) */
	bool index_ready;
	uint8_t *bitmap2;
	uint64_t *rank; /* set bits of bitmap2 before each 512-bit block */

	uint8_t *cbuf; /* one compressed page */
};

/* n / d rounded up, without the overflow of (n + d - 1) / d: max_mapnr
 * comes from the file and may be 2^64 - 1 */
static inline uint64_t dd_div_up(uint64_t n, uint64_t d)
{
	return n / d + (n % d != 0);
}

struct page_desc {
	uint64_t offset;
	uint32_t size, flags;
};

static inline void dd_decode_desc(const uint8_t *p, struct page_desc *pd)
{
	pd->offset = le64(p);
	pd->size = le32(p + 8);
	pd->flags = le32(p + 12);
}

/* Checks a page descriptor of part P against its file; the message names
 * PFN. */
dump_status dd_check_desc(dump_t *d, const struct dd_part *p, uint64_t pfn,
                          const struct page_desc *pd);

/* Walks every part (fmt_diskdump_walk.c), streaming: adds the page counts
 * to C, and with R (may be NULL) checks every descriptor and page and, for
 * a split dump, that the parts given cover every dumped page once. */
dump_status dd_walk_all(dump_t *d, dump_check_result *r, dump_page_counts *c);

#endif
