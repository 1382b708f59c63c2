/* kdh reproduce: a field crash (console log, dmesg or vmcore) -> the facts
 * it holds (KdhField) -> a scenario that reproduces it -> how the
 * reproduced crash compares.  Everything read here comes from a crashed
 * machine: hostile text, bounded and parsed strictly. */
#ifndef KDH_REPRODUCE_H
#define KDH_REPRODUCE_H

#include <glib.h>

#define KDH_REPRODUCE_ERROR (kdh_reproduce_error_quark())
GQuark kdh_reproduce_error_quark(void);

typedef enum {
	KDH_REPRODUCE_ERROR_INPUT,  /* the field cannot be read or holds no crash */
	KDH_REPRODUCE_ERROR_KERNEL, /* its kernel is not one kdh can fetch: --kernel needed */
} KdhReproduceError;

/* The most of a field file read (text, or a vmcore's dmesg); past it the
 * rest is ignored and KdhField.truncated says so. */
#define KDH_FIELD_MAX_BYTES (8u << 20)
/* A console line longer than this is cut (a line of junk, not a kernel line). */
#define KDH_FIELD_MAX_LINE 4096
/* The most lines kept (8 MiB of empty lines would otherwise be millions of
 * allocations); past it the rest is ignored, as past the byte bound. */
#define KDH_FIELD_MAX_LINES 200000
/* The top frames kept and compared. */
#define KDH_FIELD_FRAMES 8

/* ---- the panic classes (classes.c): one row per class ---- */

typedef struct {
	const char *name; /* "sysrq", "null-deref", "soft-lockup", ... */
	/* Substrings of a console line that recognise the class, NULL-ended;
	 * the panic reason is matched first, then the lines before it. */
	const char *const *patterns;
	const char *trigger; /* the kdh trigger (scenario/'s table) that reproduces it */
	const char *what;    /* one line, for people */
} KdhPanicClass;

/* Every row, in the order they are tried (the most specific first); *N
 * receives their number. */
const KdhPanicClass *kdh_panic_classes(gsize *n);

/* The row named NAME, or NULL. */
const KdhPanicClass *kdh_panic_class_find(const char *name);

/* The first row (table order) one of whose patterns LINE holds, or NULL;
 * NULL for a command line or a kdh marker (they quote options, not crashes). */
const KdhPanicClass *kdh_panic_class_of_line(const char *line);

/* ---- the facts of a field crash (field.c) ---- */

typedef struct {
	char *source;       /* the file, as given */
	gboolean vmcore;    /* read from a dump's kernel log */
	gboolean truncated; /* past KDH_FIELD_MAX_BYTES or _MAX_LINES: the rest ignored */
	guint lines;        /* console lines read */
	GPtrArray *notes;   /* char*: what the parse assumed or cut, for the report */

	/* Every fact below is the crashed boot's: the last one before the crash
	 * line (a console log may hold earlier boots and the capture kernel's). */
	char *release;        /* "6.1.0-56-amd64"; NULL: unknown */
	char *build;          /* the rest of the "Linux version" line */
	char *debian_version; /* the Debian package version in BUILD, or NULL */
	guint64 ram_bytes;    /* 0: unknown */
	const char *ram_from; /* "Memory: line (total)" | "e820 usable ranges" | NULL */
	guint cpus;           /* 0: unknown */
	const char *cpus_from;
	char *cmdline;     /* "Kernel command line:", or NULL */
	char *crashkernel; /* its last crashkernel= value, or NULL */

	char *reason;     /* the text after "Kernel panic - not syncing: ", or NULL */
	guint crash_line; /* the line (1-based) the class was recognised on */
	char *crash_text; /* that line, prefixes stripped */
	const KdhPanicClass *klass;
	gint cpu; /* the crashing context ("CPU: N PID: N Comm: X"); -1: unknown */
	gint pid;
	char *comm;
	GPtrArray *frames; /* char*: the top frames, function names only, unreliable skipped */
} KdhField;

/* Parses the console text DATA (LEN bytes, any bytes at all) named NAME
 * (for messages).  Reads at most KDH_FIELD_MAX_BYTES; lines may end in LF
 * or CRLF and carry printk timestamps, syslog levels, journal prefixes.
 * NULL with KDH_REPRODUCE_ERROR_INPUT naming NAME when no crash (panic,
 * oops, lockup ...) is in it. */
KdhField *kdh_field_parse(const char *name, const char *data, gsize len, GError **error);

/* Reads PATH: a dump kdh's reader opens (its kernel log, parsed as above,
 * and VMCOREINFO's release when the log lacks one), else console text.
 * NULL with an error naming PATH. */
KdhField *kdh_field_load(const char *path, GError **error);

void kdh_field_free(KdhField *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhField, kdh_field_free)

/* ---- the scenario (scenario.c) ---- */

/* The crashkernel= used when the field's command line has none. */
#define KDH_REPRODUCE_DEFAULT_CRASHKERNEL "256M"
/* Guest bounds: the field's RAM and CPUs are clamped to these (noted). */
#define KDH_REPRODUCE_MIN_MEMORY (512ULL << 20)
#define KDH_REPRODUCE_MAX_MEMORY (16ULL << 30)
#define KDH_REPRODUCE_MAX_CPUS   4

typedef struct {
	const char *kernel; /* --kernel REF, or NULL: the field's Debian kernel */
	const char *image;  /* "mini" (NULL) | "debian" */
	const char *name;   /* the scenario's name */
} KdhReproduceOptions;

/* The kernel ref of a Debian kernel's release ("debian:6.1.0-56-amd64"),
 * or NULL when RELEASE/BUILD are not a Debian kernel's. */
char *kdh_reproduce_debian_ref(const char *release, const char *build);

/* The guest memory for a field of RAM bytes: rounded up to 128 MiB and
 * clamped to the bounds above. */
guint64 kdh_reproduce_guest_memory(guint64 ram);

/* The scenario file text (an INI kdh_scenario_load accepts) reproducing F
 * with O; what it assumed (defaults, clamping) is appended to NOTES
 * (char*).  NULL with KDH_REPRODUCE_ERROR_KERNEL when F's kernel is not a
 * Debian one and O has no kernel, or _INPUT when F's class has no trigger. */
char *kdh_reproduce_scenario(const KdhField *f, const KdhReproduceOptions *o, GPtrArray *notes,
                             GError **error);

/* ---- the comparison (compare.c) ---- */

typedef struct {
	gboolean release, klass, reason, cpu, comm;
	guint frames_field;    /* the field's top frames compared (<= KDH_FIELD_FRAMES) */
	guint frames_common;   /* of those, how many the reproduction's top frames hold */
	guint frames_in_order; /* how many match position by position from the top */
} KdhReproduceMatch;

/* Compares the field F with the reproduced crash R (parsed the same way);
 * function names only, offsets and modules already stripped by the parse. */
void kdh_reproduce_compare(const KdhField *f, const KdhField *r, KdhReproduceMatch *m);

#endif
