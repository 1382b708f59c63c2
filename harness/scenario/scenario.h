/* kdh scenario model: parse and validate scenario files, expand matrices,
 * the trigger table.
 *
 * A scenario file is a GKeyFile (see DESIGN.md) of UTF-8 text, at most 64 KiB,
 * with one comment rule (README.md, "Scenario files").  Every error names
 * the file, and the line and key when there is one, so a user can go
 * straight to the mistake; no error quotes the file's bytes raw.
 */
#ifndef KDH_SCENARIO_H
#define KDH_SCENARIO_H

#include <glib.h>

#define KDH_SCENARIO_ERROR (kdh_scenario_error_quark())
GQuark kdh_scenario_error_quark(void);

typedef enum {
	KDH_SCENARIO_ERROR_IO,
	KDH_SCENARIO_ERROR_SYNTAX,
	KDH_SCENARIO_ERROR_KEY,   /* unknown group or key */
	KDH_SCENARIO_ERROR_VALUE, /* a value out of its domain */
	KDH_SCENARIO_ERROR_MISSING,
} KdhScenarioError;

/* How a trigger is fired: its row decides what the host does during a case,
 * so nothing a guest prints can make the host act otherwise. */
typedef enum {
	KDH_FIRE_GUEST,         /* the guest crashes itself (init script, module, LKDTM) */
	KDH_FIRE_HOST_NMI,      /* the host injects an NMI once the guest says "trigger" */
	KDH_FIRE_HOST_KEY,      /* the host presses Alt+SysRq+C on the guest's keyboard */
	KDH_FIRE_HOST_MCE,      /* the host injects a fatal machine check (QEMU monitor) */
	KDH_FIRE_HOST_WATCHDOG, /* the guest freezes; after [crash] hang_detect= seconds
	                         * of console silence the host injects an NMI */
} KdhTriggerFire;

/* What the guest does on its side once armed (kdh.action= on its command
 * line). */
typedef enum {
	KDH_ACTION_SYSRQ,  /* writes 'c' to /proc/sysrq-trigger */
	KDH_ACTION_WAIT,   /* nothing: the host fires */
	KDH_ACTION_MODULE, /* loads the crash module with type=<arg> */
	KDH_ACTION_LKDTM,  /* writes <arg> to /sys/kernel/debug/provoke-crash/DIRECT */
	KDH_ACTION_OOM,    /* fills memory until the OOM killer runs */
} KdhTriggerAction;

/* What the kernel under test must have for the trigger; a kernel without
 * it makes the case a SKIP saying so, never a FAIL. */
typedef enum {
	KDH_NEEDS_NOTHING,
	KDH_NEEDS_CRASHMOD, /* the crash module (images/crashmod/) built against it */
	KDH_NEEDS_LKDTM,    /* CONFIG_LKDTM (y or m) */
} KdhTriggerNeeds;

/* One row of the trigger table (scenario/trigger.c). */
typedef struct {
	const char *name; /* as [crash] trigger= names it: "sysrq", "module:bug", "lkdtm:BUG" */
	KdhTriggerFire fire;
	KdhTriggerAction action;
	const char *arg; /* the module type or LKDTM crash point; NULL for others */
	KdhTriggerNeeds needs;
	/* Sysctls the guest sets before firing, "kernel.panic_on_oops=1,..."
	 * ("" for none): what turns this crash into a panic. */
	const char *sysctls;
	/* The default [expect] panic=: a substring of a line of the dump's
	 * dmesg, the same on every kernel kdh knows (6.1, 6.12). */
	const char *signature;
	/* A function the panic's call trace holds, in the dump's dmesg and in
	 * crash(8)'s backtrace of the panic task; NULL when nothing fixes it. */
	const char *function;
	gboolean pins_cpu; /* [crash] cpu= applies: fired on that CPU, checked in the dump */
	/* The guest may answer "skip" (KDH: skip reason=...) instead of firing:
	 * the kernel cannot have this crash here (no NMI watchdog under TCG). */
	gboolean may_skip;
	const char *how; /* one line, for people */
} KdhTrigger;

/* The row named NAME, or NULL. */
const KdhTrigger *kdh_trigger_find(const char *name);

/* Every row, in the table's order; *N receives their number. */
const KdhTrigger *kdh_triggers(gsize *n);

/* Why a case expecting no dump has none, as [expect] reason= names it and
 * as the console diagnosis (verdict/) finds it. */
typedef enum {
	KDH_REASON_NONE, /* not given / not diagnosed */
	KDH_REASON_RESERVATION_FAILED,
	KDH_REASON_KEXEC_LOAD_FAILED,
	KDH_REASON_CAPTURE_KERNEL_OOM,
	KDH_REASON_CAPTURE_KERNEL_PANIC,
	KDH_REASON_CAPTURE_TIMEOUT,
	KDH_REASON_COUNT
} KdhNoDumpReason;

/* "reservation-failed", ...; "none" for KDH_REASON_NONE. */
const char *kdh_reason_name(KdhNoDumpReason reason);

/* The reason named NAME (not "none"); FALSE when there is none. */
gboolean kdh_reason_parse(const char *name, KdhNoDumpReason *out);

/* [verify] crash=: whether crash(8) cross-checks the dump. */
typedef enum {
	KDH_VERIFY_CRASH_AUTO, /* when a vmlinux with debug info is cached */
	KDH_VERIFY_CRASH_YES,  /* required: a Debian kernel's -dbg vmlinux is fetched;
	                        * a kernel without debug info is a SKIP saying so */
	KDH_VERIFY_CRASH_NO,
} KdhVerifyCrash;

/* One row of the collector table: what [capture] collector= may name. */
typedef struct {
	const char *name;
	const char *image; /* the image kind whose guest has it: "mini" | "debian" */
	/* TRUE: it filters pages and compresses them, so [capture] dump_level=
	 * and compression= apply; FALSE: it copies /proc/vmcore as an ELF file,
	 * and either key in the same case is a contradiction. */
	gboolean filters;
	/* Where it leaves the dump: NULL, in a new folder of /var/crash (with
	 * whatever else it writes); else directly in /var/crash, as a file whose
	 * name starts with this. */
	const char *file_prefix;
	const char *how; /* one line, for people */
} KdhCollector;

/* The row named NAME, or NULL. */
const KdhCollector *kdh_collector_find(const char *name);

typedef enum {
	KDH_OUTCOME_DUMP,
	KDH_OUTCOME_NO_DUMP,
} KdhOutcome;

/* One runnable case: a scenario with every matrix value fixed. */
typedef struct {
	char *name;        /* kdh_safe_name of the scenario name plus its matrix suffix;
	                    * unique among the cases kdh_scenario_load_all returns */
	char *description; /* may be NULL */
	char *source;      /* the file it came from */
	char *source_hash; /* SHA-256 (hex) of that file's text: what --resume compares */
	guint name_line;   /* the line of its [scenario] name= */

	char *kernel_ref;  /* "debian:default", "debian:6.1.0-56-amd64", ...; its syntax
	                    * checked (kdh_scenario_load), not that it resolves */
	guint kernel_line; /* the line of [kernel] ref=, of [matrix] ref= when the matrix
	                    * varies it, else (the default ref) of [scenario] name= */

	guint64 memory; /* bytes */
	guint cpus;
	char *crashkernel; /* validated, passed to the kernel as written */
	char *image;       /* a row of the image kinds: "mini" | "debian" */

	const KdhTrigger *trigger; /* a row of the trigger table */
	gint cpu;                  /* [crash] cpu=: the CPU to fire on, -1: any */
	guint hang_detect;         /* [crash] hang_detect=: seconds of console silence
	                            * before the host's watchdog NMI (fire HOST_WATCHDOG) */

	char *collector;   /* a row of the collector table whose image is IMAGE */
	guint dump_level;  /* meaningful only for a collector that filters */
	char *compression; /* "lzo" | "zlib" | "none"; likewise */

	KdhOutcome outcome;
	/* The substring a line of the dump's dmesg must hold: [expect] panic=,
	 * else the trigger's signature; NULL with outcome=no-dump. */
	char *expect_panic;
	/* The function the panic's trace must hold: [expect] function=, else the
	 * trigger's; NULL when none. */
	char *expect_function;
	KdhNoDumpReason expect_reason; /* with outcome=no-dump: [expect] reason= (required) */
	KdhVerifyCrash verify_crash;

	/* Its cell in a kdh matrix (kdh_matrix_cases): the row's kernel and the
	 * column's scenario, as the reports label them; NULL outside one. */
	char *matrix_kernel;
	char *matrix_scenario;

	/* phase timeouts, seconds, 1..KDH_TIMEOUT_MAX */
	guint timeout_boot;
	guint timeout_crash;
	guint timeout_capture;
	guint timeout_shutdown;
} KdhCase;

void kdh_case_free(KdhCase *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhCase, kdh_case_free)

/* The most a phase timeout can be, also after kdh_case_scale_timeouts: a
 * week, so that the timeout in milliseconds still fits 32 bits. */
#define KDH_TIMEOUT_MAX (7u * 24 * 3600)

/* The most cases one scenario file's [matrix] may expand to, and a matrix
 * file to (kernels times cases): more is a mistake, refused before anything
 * is allocated for it. */
#define KDH_SCENARIO_MAX_CASES 1000u
#define KDH_MATRIX_MAX_CASES   4096u

/* The most memory a guest may be given: far past any host kdh runs on, a
 * mistake (a unit too many) rather than a guest. */
#define KDH_SCENARIO_MAX_MEMORY ((guint64)4 << 40)

/* Parses the scenario file PATH and expands its [matrix] into cases.
 * Returns a GPtrArray of KdhCase (owning them), at least one, each with its
 * own name, or NULL with an error naming PATH, the line and the key at
 * fault.  Refused, besides values out of their domain: a value listed
 * twice in a [matrix] list, or two values that give the same case name
 * once made safe for a folder; a kernel ref whose syntax the kernel
 * resolver would refuse, or an import:PATH naming a file that does not
 * exist (relative paths are taken from the current folder, as the
 * resolver does); settings that contradict each other in one case
 * (dump_level= or compression= with a collector that does not filter,
 * panic= with outcome=no-dump). */
GPtrArray *kdh_scenario_load(const char *path, GError **error);

/* As kdh_scenario_load, from TEXT (nul-terminated) that claims to come
 * from NAME. */
GPtrArray *kdh_scenario_load_data(const char *name, const char *text, GError **error);

/* The text of the scenario file PATH read by the rules kdh_scenario_load
 * applies (a regular file of at most 64 KiB, UTF-8 text) with its comments
 * removed (line numbers kept): for a command that edits a user's scenario
 * with GKeyFile before loading it.  NULL with an error naming PATH. */
char *kdh_scenario_read_text(const char *path, GError **error);

/* Loads every file of PATHS (NULL-terminated) with kdh_scenario_load and
 * returns all their cases in order; NULL with an error at the first bad
 * file, or when two cases of different files have the same name (they
 * would share a results folder). */
GPtrArray *kdh_scenario_load_all(const char *const *paths, GError **error);

/* A deep copy of C (every string its own). */
KdhCase *kdh_case_copy(const KdhCase *c);

/* FALSE with an error naming both files and lines when two cases of CASES
 * (KdhCase*) have the same name: they would share a results folder. */
gboolean kdh_cases_names_unique(GPtrArray *cases, GError **error);

/* ---- matrix files (scenario/matrix.c) ---- */

#define KDH_MATRIX_MAX_KERNELS   64u
#define KDH_MATRIX_MAX_SCENARIOS 64u

/* Loads the matrix file PATH (text under the scenario files' rules):
 *     [matrix]      name=, description= (optional)
 *     [kernels]     LABEL=REF, one line per kernel, rows in this order
 *     [scenarios]   files=a.ini;b.ini   (relative to PATH's folder)
 * and returns every case of every scenario file once per kernel (KdhCase*,
 * kernel by kernel): named "<label>+<case>", its kernel_ref the row's, its
 * matrix_kernel the label and matrix_scenario the case's own name.  NULL
 * with an error naming PATH and the line: an unknown group or key, a key
 * given twice, a label that is not a safe name, a ref the resolver would
 * refuse by its syntax, a scenario file that does not load (its own error
 * included) or whose cases differ in kernel, two cells of one name. */
GPtrArray *kdh_matrix_load(const char *path, GError **error);

/* As kdh_matrix_load, from TEXT (nul-terminated) that claims to come from
 * PATH: its scenario files are read from PATH's folder. */
GPtrArray *kdh_matrix_load_data(const char *path, const char *text, GError **error);

/* Parses a size "512", "64K", "256M", "1G", "2T" (binary units) into bytes.
 * FALSE for anything else, including overflow. */
gboolean kdh_parse_size(const char *text, guint64 *bytes);

/* TRUE when TEXT is a crashkernel= value the kernel accepts: a size with an
 * optional @offset, or a range list "start-[end]:size,..." with an optional
 * @offset; "auto" is rejected (the kernel removed it). */
gboolean kdh_crashkernel_valid(const char *text);

/* ---- choosing cases (scenario/select.c) ---- */

/* Parses TEXT, "I/N" with 1 <= I <= N <= 1000 written in plain decimal (no
 * sign, space, leading zero or anything else), into *INDEX and *COUNT.
 * FALSE with an error quoting TEXT (escaped) otherwise. */
gboolean kdh_shard_parse(const char *text, guint *index, guint *count, GError **error);

/* Whether the case named CASE_NAME belongs to shard INDEX of COUNT
 * (1 <= INDEX <= COUNT): the first 8 bytes of the SHA-256 of the name's
 * bytes, read as a big-endian unsigned 64-bit number, modulo COUNT, equal
 * INDEX - 1.  The name alone decides, so every CI job of a matrix computes
 * the same split, and each case is in exactly one shard. */
gboolean kdh_case_in_shard(const char *case_name, guint index, guint count);

/* Keeps, in CASES (of KdhCase, owning them; order kept), the cases whose
 * name matches GLOB (GPatternSpec: '*' and '?'; NULL keeps all) and that
 * belong to shard SHARD_INDEX of SHARD_COUNT (SHARD_COUNT 0: no sharding);
 * frees the others. */
void kdh_cases_select(GPtrArray *cases, const char *glob, guint shard_index, guint shard_count);

/* Parses TEXT, a factor for every phase timeout written as a plain decimal
 * number ("3", "2.5", "0.1"; no sign, exponent or space) in 0.1..100, into
 * *X.  FALSE with an error quoting TEXT (escaped) otherwise. */
gboolean kdh_parse_timeout_scale(const char *text, double *x, GError **error);

/* Multiplies C's phase timeouts by X (> 0), each rounded up to a whole
 * second and kept within 1..KDH_TIMEOUT_MAX. */
void kdh_case_scale_timeouts(KdhCase *c, double x);

#endif
