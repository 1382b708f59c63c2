/* kdh dump reader: the interface of harness/dump/.
 *
 * Plain C (no glib, no VM knowledge).  Every byte of a dump is untrusted: the
 * reader bounds-checks every size and offset it takes from the file.
 *
 * Errors: functions return a dump_status; the context keeps a message chained
 * outer-to-inner ("reading page 0x1234: lzo: input overrun"), read with
 * dump_error().
 */
#ifndef KDH_DUMP_H
#define KDH_DUMP_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	DUMP_OK = 0,
	DUMP_ERR_IO,          /* the file could not be read */
	DUMP_ERR_FORMAT,      /* not a dump format we know */
	DUMP_ERR_CORRUPT,     /* a known format, but malformed */
	DUMP_ERR_UNSUPPORTED, /* valid, but uses something we do not implement */
	DUMP_ERR_NOTFOUND,    /* a key, symbol or page is not in the dump */
	DUMP_ERR_NOMEM,
} dump_status;

typedef struct dump dump_t;

/* A new, unopened context; NULL only when out of memory. */
dump_t *dump_new(void);

/* Frees the context and everything it owns; accepts NULL. */
void dump_free(dump_t *d);

/* Opens PATH (a regular file, or a block device such as a raw dump
 * partition), probing each known format in turn.  On failure the context
 * holds the reason (dump_error) and may only be freed. */
dump_status dump_open(dump_t *d, const char *path);

/* Opens a dump given as N files: one file (as dump_open), or the parts of
 * a split kdump-compressed dump (makedumpfile --split), in any order.  Each
 * part is checked to belong to the same dump; page totals come from the
 * complete bitmaps every part carries, and verify reports dumped pages that
 * no given part covers.  On failure the context may only be freed. */
dump_status dump_open_parts(dump_t *d, const char *const *paths, size_t n);

/* The message of the last failed call; never NULL ("" when none). */
const char *dump_error(const dump_t *d);

/* The VMCOREINFO value of KEY (e.g. "OSRELEASE", "SYMBOL(prb)"), or NULL when
 * the dump has no such key.  The string is owned by the context and valid
 * until the next dump_vmcoreinfo call. */
const char *dump_vmcoreinfo(dump_t *d, const char *key);

/* The kernel log, formatted exactly as makedumpfile --dump-dmesg prints it,
 * read from the dump's own memory (no vmlinux needed).  On success *text is a
 * malloc'd NUL-terminated buffer of *len bytes the caller frees. */
dump_status dump_dmesg(dump_t *d, char **text, size_t *len);

/* Page counts, in pfns. */
typedef struct {
	uint64_t max_pfn;  /* pfns the dump describes: [0, max_pfn) */
	uint64_t total;    /* pfns that were RAM in the crashed kernel */
	uint64_t dumped;   /* pfns whose contents are in the file */
	uint64_t excluded; /* RAM but filtered out (dump level) */
	uint64_t zero;     /* dumped pfns stored as the shared zero page */
	int zero_known;    /* 0 when the format cannot tell (ELF) */
} dump_page_counts;

/* What dump_check found. */
typedef enum {
	DUMP_VERDICT_PASS = 0,   /* every structure and page checked out */
	DUMP_VERDICT_FAIL,       /* something is corrupt, or nothing could be checked */
	DUMP_VERDICT_INCOMPLETE, /* the dump says it was cut short */
} dump_verdict;

#define DUMP_PROBLEMS_KEPT 8

typedef struct {
	dump_verdict verdict;
	uint64_t pages_checked;    /* decompressed and found sane */
	uint64_t bytes_compressed; /* page data read, each stored byte once */
	uint64_t problems;         /* all of them; the first few are kept */
	int incomplete;            /* the dump's own markers say it was cut short */
	int pages_known;           /* pages below is set */
	dump_page_counts pages;
	unsigned n_kept;
	char problem[DUMP_PROBLEMS_KEPT][256]; /* the first problems, in order */
} dump_check_result;

/* Checks the whole open dump as `kdh dump verify` does: every page
 * descriptor in bounds, every page decompressed to exactly one page,
 * bitmaps against descriptors, ELF segments inside the file, the
 * incomplete markers, split parts covering every dumped page.  A dump
 * holding no page at all is a FAIL: it proves nothing about memory.
 * Streams: memory does not grow with the dump.  DUMP_OK means the check
 * ran (whatever its verdict); *res is then set. */
dump_status dump_check(dump_t *d, dump_check_result *res);

/* Everything `kdh dump info` shows: headers, VMCOREINFO, memory, log. */
typedef struct {
	const char *format; /* static strings */
	const char *compression;
	uint32_t page_size;
	int dump_level; /* -1 when the format does not record it (ELF) */
	int incomplete; /* the dump's own incomplete marker */
	/* the kdump-compressed header's utsname ("" for ELF) */
	char header_release[66], header_version[66], header_machine[66], header_nodename[66];
	char vmcoreinfo_release[66]; /* OSRELEASE, "" when absent */
	/* init_uts_ns in the crashed kernel's memory; when it cannot be read,
	 * uts_known is 0, the fields are "" and uts_error says why */
	int uts_known;
	char sysname[66], nodename[66], release[66], version[66], machine[66];
	char uts_error[512];
	int64_t crash_time;  /* VMCOREINFO CRASHTIME, -1 when absent */
	int64_t header_time; /* kdump header timestamp, -1 when absent */
	int header_cpus;     /* -1 when absent */
	int cpus;            /* PRSTATUS notes */
	dump_page_counts pages;
	/* from the kernel log: "Kernel panic - not syncing: <panic>" (or the
	 * "BUG: " line) and the task of the dump_stack() header */
	size_t dmesg_bytes;
	char dmesg_error[512]; /* "" when the log was read */
	int panic_known, task_known;
	char panic[256];
	int panic_cpu, panic_pid; /* -1 when unknown */
	char panic_comm[32];
} dump_summary;

/* Fills *s from the headers, VMCOREINFO, memory and the kernel log.  Fails
 * only when the dump's metadata cannot be read; unreadable memory leaves
 * the memory-derived fields empty, with the reason in uts_error or
 * dmesg_error. */
dump_status dump_summarize(dump_t *d, dump_summary *s);

/* The registers of one CPU, from its PRSTATUS note. */
typedef struct {
	int regs_known;   /* 0: the note was too short; problem says so */
	int pid;          /* -1 when unknown */
	uint64_t reg[27]; /* x86_64 user_regs_struct order (rip is 16, rsp 19) */
	char problem[96];
} dump_cpu_regs;

/* Number of PRSTATUS notes (CPUs) in the dump. */
unsigned dump_cpu_count(const dump_t *d);

/* CPU I's registers into *out; DUMP_ERR_NOTFOUND when I >= dump_cpu_count. */
dump_status dump_cpu(const dump_t *d, unsigned i, dump_cpu_regs *out);

/* The whole VMCOREINFO text (KEY=VALUE lines), NULL when the dump has none;
 * owned by the context.  *len receives its length. */
const char *dump_vmcoreinfo_text(const dump_t *d, size_t *len);

/* Exactly LEN bytes of physical memory at PADDR into BUF. */
dump_status dump_read_phys(dump_t *d, uint64_t paddr, void *buf, size_t len);

/* Exactly LEN bytes at x86_64 kernel-virtual VADDR into BUF (translated
 * with VMCOREINFO: phys_base for the kernel image, the page tables
 * otherwise). */
dump_status dump_read_virt(dump_t *d, uint64_t vaddr, void *buf, size_t len);

#endif
