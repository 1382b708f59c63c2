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

/* The message of the last failed call; never NULL ("" when none). */
const char *dump_error(const dump_t *d);

/* The VMCOREINFO value of KEY (e.g. "OSRELEASE", "SYMBOL(prb)"), or NULL when
 * the dump has no such key.  The string is owned by the context. */
const char *dump_vmcoreinfo(dump_t *d, const char *key);

/* The kernel log, formatted exactly as makedumpfile --dump-dmesg prints it,
 * read from the dump's own memory (no vmlinux needed).  On success *text is a
 * malloc'd NUL-terminated buffer of *len bytes the caller frees. */
dump_status dump_dmesg(dump_t *d, char **text, size_t *len);

/* The entry point of `kdh-dump` and `kdh dump`: ARGV[0] is the command name
 * ("info", "dmesg", "verify", "read").  Returns the process exit status. */
int dump_cli_main(int argc, char **argv);

#endif
