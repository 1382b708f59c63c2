/* Test-side dump generator: rebuilds dumps from the pages of a real one.
 *
 * Debian's makedumpfile cannot write snappy or zstd, nor make a kernel with
 * 5-level paging or the pre-5.10 log_buf; the generator takes the pages a
 * real dump needs for dmesg/info/translation (captured with the reader's
 * page observer), optionally rewrites some of them (new page tables, a
 * log_buf laid out from the real records), and writes the result as
 * kdump-compressed (any compression, flattened or not, incomplete) or ELF.
 */
#ifndef KDH_TEST_DUMP_GEN_H
#define KDH_TEST_DUMP_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dumpgen_page {
	uint64_t pfn;
	uint8_t *data; /* 4096 bytes, owned */
};

struct dumpgen {
	char *vmcoreinfo; /* owned, NUL-terminated */
	uint8_t *notes;   /* raw ELF notes, owned */
	size_t notes_len;
	char release[65], version[65], machine[65], nodename[65];
	uint64_t phys_base;
	int nr_cpus;
	int64_t timestamp;
	uint64_t max_mapnr;
	int dump_level;
	struct dumpgen_page *pages; /* sorted by pfn */
	size_t n_pages;
	char *dmesg; /* the reader's dmesg of the captured dump, owned */
};

/* DUMPGEN_ELF has a PT_LOAD per run of kept pages; DUMPGEN_ELF_RAM is laid
 * out as /proc/vmcore is: the kernel text, then one segment over all of RAM
 * (missing pages read as zeros; the file is sparse). */
enum dumpgen_format { DUMPGEN_KDUMP, DUMPGEN_ELF, DUMPGEN_ELF_RAM };

struct dumpgen_opts {
	enum dumpgen_format format;
	uint32_t compression; /* kdump page flags: 0, 1 zlib, 2 lzo, 4 snappy, 0x20 zstd */
	bool flattened;
	bool flat_rewrite_header; /* write the header twice, a bogus one first */
	long incomplete_after;    /* <0: complete; else keep only that many pages */
};

/* Loads the pages that reading dmesg, utsname and a few direct-map
 * addresses of the dump at PATH touch (with the page tables that map
 * them), plus the pfns in EXTRA (ended by UINT64_MAX; may be NULL), and
 * more as KEEP says.
 * 0 on success. */
enum dumpgen_keep {
	DUMPGEN_KEEP_READER,  /* what this reader needs */
	DUMPGEN_KEEP_MEM_MAP, /* and every struct page, for makedumpfile */
	DUMPGEN_KEEP_ALL,     /* every page the source holds */
};
int dumpgen_capture(struct dumpgen *g, const char *path, const uint64_t *extra,
                    enum dumpgen_keep keep);

/* Writes G to PATH.  0 on success. */
int dumpgen_write(const struct dumpgen *g, const char *path, const struct dumpgen_opts *o);

/* Writes G as the N parts of a split kdump-compressed dump (equal shares of
 * the pages, like makedumpfile --split).  0 on success. */
int dumpgen_write_split(const struct dumpgen *g, const char *const *paths, size_t n,
                        const struct dumpgen_opts *o);

/* Adds or replaces the page PFN with a copy of DATA. */
void dumpgen_set_page(struct dumpgen *g, uint64_t pfn, const uint8_t *data);

/* The page PFN, or NULL. */
uint8_t *dumpgen_page(const struct dumpgen *g, uint64_t pfn);

/* Replaces (or appends) KEY=VALUE in VMCOREINFO; VALUE NULL removes KEY. */
void dumpgen_set_info(struct dumpgen *g, const char *key, const char *value);

/* Rewrites G to use 5-level paging: a new top-level table whose last entry
 * points at the existing 4-level one.  0 on success. */
int dumpgen_make_5level(struct dumpgen *g);

/* Maps the 1 GiB around direct-map address VADDR with a 1 GiB leaf (a new
 * PUD page).  0 on success. */
int dumpgen_make_1g_leaf(struct dumpgen *g, uint64_t vaddr);

/* Replaces the lockless ringbuffer with a 3.5-5.9 style log_buf of
 * BUF_LEN bytes holding the same records (the oldest ones drop out, and the
 * buffer wraps, as in the kernel).  On success *EXPECTED is the text
 * makedumpfile would print (malloc'd).  0 on success. */
int dumpgen_make_logbuf(struct dumpgen *g, uint32_t buf_len, char **expected);

void dumpgen_free(struct dumpgen *g);

/* ---- helpers shared by the dump suites ---- */

/* The committed real dump and its expected dmesg. */
#define DUMPTEST_FIXTURE "tests/fixtures/dump/debian12-6.1-sysrq.kdump"
#define DUMPTEST_DMESG   "tests/fixtures/dump/debian12-6.1-sysrq.dmesg"

/* build/test-dump/<pid>/NAME, malloc'd; the folder is created, and removed
 * with its files when the process exits (unless KDH_KEEP_TEST_FILES is set). */
char *dumptest_path(const char *name);

/* The whole file, NUL-terminated; NULL when unreadable. */
char *dumptest_slurp(const char *path, size_t *len);

/* Writes DATA to PATH; 0 on success. */
int dumptest_spit(const char *path, const void *data, size_t len);

/* Writes LEN bytes of B as the scratch file NAME and opens it in a new
 * context *D (the caller frees it); returns dump_open's status. */
dump_status dumptest_open_bytes(const char *name, const void *b, size_t len, dump_t **d);

/* Fails the test unless D's last error message contains NEEDLE. */
void dumptest_assert_msg(dump_t *d, const char *needle);

/* The captured fixture (pages for dmesg, utsname and translation), shared
 * by the tests of one process. */
const struct dumpgen *dumptest_base(void);

/* A copy of the base, to modify. */
void dumptest_copy(struct dumpgen *dst);

#endif
