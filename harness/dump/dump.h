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

/* Opens PATH, probing each known format in turn.  On failure the context
 * holds the reason (dump_error) and may only be freed. */
dump_status dump_open(dump_t *d, const char *path);

/* Opens a dump given as N files: one file (as dump_open), or the parts of
 * a split kdump-compressed dump (makedumpfile --split), in any order.  Each
 * part is checked to belong to the same dump; verify reports memory that no
 * given part covers.  On failure the context may only be freed. */
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

/* What dump_check found. */
typedef enum {
	DUMP_VERDICT_PASS = 0,   /* every structure and page checked out */
	DUMP_VERDICT_FAIL,       /* something is corrupt: see first_problem */
	DUMP_VERDICT_INCOMPLETE, /* the dump says it was cut short */
} dump_verdict;

typedef struct {
	dump_verdict verdict;
	uint64_t pages_checked; /* decompressed and found sane */
	uint64_t problems;      /* all of them; only the first is described */
	char first_problem[256];
} dump_check_result;

/* Checks the whole open dump as `kdh dump verify` does: every page
 * descriptor in bounds, every page decompressed to exactly one page,
 * bitmaps against descriptors, ELF segments inside the file, the
 * incomplete markers.  Streams: memory does not grow with the dump.
 * DUMP_OK means the check ran (whatever its verdict); *res is then set. */
dump_status dump_check(dump_t *d, dump_check_result *res);

/* A summary for verdicts and reports. */
typedef struct {
	const char *format; /* static strings */
	const char *compression;
	int dump_level;       /* -1 when the format does not record it */
	int incomplete;       /* the dump's own incomplete marker */
	char release[66];     /* init_uts_ns release from memory ("" if unreadable) */
	uint64_t pages_total; /* RAM pages of the crashed machine */
	uint64_t pages_dumped;
	uint64_t pages_excluded;
	int64_t crash_time;       /* VMCOREINFO CRASHTIME, -1 when absent */
	int cpus;                 /* PRSTATUS notes */
	char panic[256];          /* "Kernel panic - not syncing: <this>", "" if none */
	int panic_cpu, panic_pid; /* from the dump_stack() header, -1 if unknown */
	char panic_comm[32];
} dump_summary;

/* Fills *s from the headers, VMCOREINFO, memory and the kernel log.  Fails
 * only when the dump's metadata cannot be read; unreadable memory leaves
 * the memory-derived fields empty. */
dump_status dump_summarize(dump_t *d, dump_summary *s);

/* The entry point of `kdh-dump` and `kdh dump`: ARGV[0] is the command name
 * ("info", "dmesg", "verify", "read", "vmcoreinfo").  Returns the process
 * exit status: 0 success (verify: pass), 1 corrupt or unreadable, 2 usage,
 * 3 (verify) incomplete dump. */
int dump_cli_main(int argc, char **argv);

#endif
