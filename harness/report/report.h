/* kdh results and their reports.  A KdhResult is what one case produced; the
 * run and verdict layers fill it, this layer writes it out: verdict.json per
 * case, and per run (or per merge of runs) results.json, junit.xml,
 * results.tap and summary.md.  Every string in a KdhResult is valid UTF-8:
 * guest text was made so where it entered (kdh_guest_text). */
#ifndef KDH_REPORT_H
#define KDH_REPORT_H

#include <glib.h>
#include <json-glib/json-glib.h>

typedef enum {
	KDH_VERDICT_PASS,
	KDH_VERDICT_FAIL,    /* an expectation not met: the kernel's or the setup's fault */
	KDH_VERDICT_ERROR,   /* the harness or the host broke */
	KDH_VERDICT_SKIP,    /* a requirement is missing */
	KDH_VERDICT_TIMEOUT, /* the guest did not reach the next marker in time */
	KDH_VERDICT_NOT_RUN, /* an interruption kept the case from starting */
} KdhVerdict;

#define KDH_VERDICT_COUNT (KDH_VERDICT_NOT_RUN + 1)

/* "PASS", "FAIL", "ERROR", "SKIP", "TIMEOUT", "NOT-RUN". */
const char *kdh_verdict_name(KdhVerdict v);

/* The verdict named NAME (exactly as kdh_verdict_name writes it) into *V;
 * FALSE for anything else. */
gboolean kdh_verdict_from_name(const char *name, KdhVerdict *v);

/* How many cases got each verdict (indexed by KdhVerdict). */
typedef struct {
	guint n[KDH_VERDICT_COUNT];
} KdhVerdictCounts;

/* The exit status a CI job gates on (DESIGN.md; the values of cli's
 * KDH_EXIT_*): 1 when any case FAILed, else 3 when any is ERROR, TIMEOUT
 * or NOT-RUN, else 0 (everything passed or was skipped, or no case).  A run
 * that was interrupted exits 128 + the signal instead; the runner decides. */
int kdh_report_exit_status(const KdhVerdictCounts *counts);

typedef struct {
	char *name;
	double seconds;
} KdhPhase;

/* What a case asked for, from its scenario (run/'s kdh_run_result_ask), so
 * a result reads without its scenario file.  NULL, 0 and -1: not recorded. */
typedef struct {
	guint64 memory; /* bytes */
	guint cpus;
	char *crashkernel;
	char *trigger;
	char *collector;
	int dump_level;
	char *compression;
	char *outcome;      /* "dump" | "no-dump" */
	char *expect_panic; /* the panic line the dump must hold; NULL: none asked */
	char *image;
	int cpu;               /* the CPU the trigger fires on; -1: any */
	char *expect_function; /* in the panic's call trace; NULL: none asked */
	char *expect_reason;   /* why no dump, with outcome no-dump; else NULL */
	char *verify_crash;    /* "auto" | "yes" | "no" */
} KdhAsked;

/* What the guest showed of its kdump readiness before the crash, as the
 * seeds check it by hand; unknown items stay unset. */
typedef struct {
	char *crashkernel;    /* crashkernel= as /proc/cmdline holds it, or NULL */
	char *reserved;       /* the first kernel's reservation line, or NULL */
	gint64 reserved_mb;   /* the size it names, MiB; -1: no line */
	gint loaded;          /* /sys/kernel/kexec_crash_loaded: 0, 1; -1: not told */
	gint64 crash_size;    /* /sys/kernel/kexec_crash_size, bytes; -1: not told */
	gint service_ready;   /* the distro's kdump service ready: 0, 1; -1: none asked */
	char *service_status; /* its own words (kdump-config status), or NULL */
} KdhReadiness;

/* What a case ran from, so a later run can tell whether it would run the
 * same thing again (kdh matrix --resume); NULL: not known. */
typedef struct {
	char *kernel;   /* the kernel's cache entry and package version: "<id> <version>" */
	char *image;    /* what the guest booted: the image's cache files' names */
	char *scenario; /* the case's scenario: SHA-256 of its file's text, and its name */
} KdhInputs;

/* Frees IN's strings and sets them to NULL. */
void kdh_inputs_clear(KdhInputs *in);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(KdhInputs, kdh_inputs_clear)

typedef struct {
	char *case_name;
	char *scenario_file;
	KdhVerdict verdict;
	GPtrArray *reasons; /* char*: why the verdict is not PASS (empty for a PASS) */
	GPtrArray *checks;  /* char*: what passed, what a PASS rests on */
	GPtrArray *phases;  /* KdhPhase*, in order */
	char *phase;        /* the phase under way (kdh_result_enter_phase), or NULL */
	char *failed_phase; /* PHASE when the verdict left PASS, or NULL */
	KdhAsked asked;
	char *started_at;  /* ISO 8601 UTC, when the case started (kdh_timestamp_now) */
	char *kdh_version; /* kdh_version() of the kdh that ran it */
	char *accel;
	/* The libvirt host the case's VM ran on (kdh_uri_label), or NULL when
	 * none was given one; what its files cost to move there and back
	 * (bytes; -1: they did not travel: a local host). */
	char *host;
	gint64 uploaded_bytes;
	gint64 downloaded_bytes;
	char *kernel_ref;
	char *kernel_release;
	char *kernel_package;
	char *kernel_version;
	char *results_dir;
	GPtrArray *files;       /* retrieved files, local paths */
	GPtrArray *serial_tail; /* the last serial lines, for diagnosis */
	/* Console markers kdh saw and did not act on (out of order, repeated,
	 * not in the case's plan), each with why; bounded by the runner. */
	GPtrArray *ignored_markers;
	/* char*: what the collector or the capture kernel warned about (a
	 * dump can pass with warnings; they never change the verdict), at
	 * most KDH_RESULT_WARNINGS_MAX and then "... and N more". */
	GPtrArray *warnings;
	guint warnings_more; /* the warnings past KDH_RESULT_WARNINGS_MAX */
	KdhReadiness readiness;
	/* Why no dump, as the console tells it (verdict/'s diagnosis: a
	 * kdh_reason_name, "capture-kernel-oom"), and the line it rests on;
	 * NULL when the console shows none of those reasons. */
	char *diagnosis;
	char *diagnosis_line;
	KdhInputs inputs;
	/* The case's cell in a kernel x scenario grid (kdh matrix): its row's
	 * kernel and its column's scenario; NULL outside a matrix. */
	char *matrix_kernel;
	char *matrix_scenario;
	char *dump_file;  /* the dump verified, as the guest named it ("/var/crash/.../dump.N") */
	char *dump_local; /* its copy in the results folder (not in verdict.json) */
	char *dump_format;
	char *dump_compression;
	int dump_level;            /* -1: not recorded */
	char *dump_osrelease;      /* VMCOREINFO */
	char *dump_release_memory; /* init_uts_ns, read from the dump's memory */
	guint64 dump_pages_total;
	guint64 dump_pages_dumped;
	guint64 dump_pages_checked; /* decompressed and found sane */
	char *dump_panic;           /* the panic line found in the dump's own dmesg */
	char *dump_panic_task;      /* "cpu N pid N comm NAME" */
	char *dump_dmesg_file;      /* the dump's dmesg as kdh's reader read it, a file
	                             * of the case's folder (its name), or NULL */
} KdhResult;

/* A PASS result for CASE_NAME with nothing recorded yet. */
KdhResult *kdh_result_new(const char *case_name);
void kdh_result_free(KdhResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhResult, kdh_result_free)

/* Appends a phase and its duration. */
void kdh_result_add_phase(KdhResult *r, const char *name, double seconds);

/* Records that phase NAME starts (it replaces the one under way); a
 * failure from now on is said to happen in it. */
void kdh_result_enter_phase(KdhResult *r, const char *name);

/* Sets VERDICT unless a verdict other than PASS is already set (the first
 * failure is the one that explains the rest), and appends the reason.  The
 * first time the verdict leaves PASS, the phase under way becomes
 * failed_phase.  A case an interruption kept from starting is
 * kdh_result_fail(r, KDH_VERDICT_NOT_RUN, "interrupted by SIGINT"). */
void kdh_result_fail(KdhResult *r, KdhVerdict verdict, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Appends to the checks: something verified that a PASS rests on.  Leaves
 * the verdict alone. */
void kdh_result_check(KdhResult *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* The most warnings a result lists. */
#define KDH_RESULT_WARNINGS_MAX 20

/* Appends a warning to R (bounded: past KDH_RESULT_WARNINGS_MAX the last
 * entry becomes "... and N more").  Leaves the verdict alone. */
void kdh_result_warn(KdhResult *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Writes R as JSON (verdict.json; the same object results.json lists) to
 * PATH, atomically (g_file_set_contents). */
gboolean kdh_report_write_json(const KdhResult *r, const char *path, GError **error);

/* R as its verdict.json object (also one of results.json's "cases"). */
JsonNode *kdh_result_to_json(const KdhResult *r);

/* The case object of the verdict.json file PATH, read as hostile input as
 * kdh_report_merge reads a case (capped, nesting bounded, every member
 * type-checked, a kdh case name); NULL with a KDH_REPORT_ERROR_INPUT error
 * naming PATH. */
JsonNode *kdh_report_read_verdict(const char *path, GError **error);

/* kdh's version, `git describe --always --dirty --tags` of the tree it was
 * built from ("unknown" outside a git tree).  Static; never NULL. */
const char *kdh_version(void);

/* Now, UTC, as ISO 8601 with milliseconds ("2026-11-28T10:36:56.123Z"), the
 * form started_at and ended_at take.  Caller frees. */
char *kdh_timestamp_now(void);

/* ---- run-level reports ---- */

#define KDH_REPORT_ERROR (kdh_report_error_quark())
GQuark kdh_report_error_quark(void);

typedef enum {
	KDH_REPORT_ERROR_INPUT,     /* a results folder to merge is missing or malformed */
	KDH_REPORT_ERROR_DUPLICATE, /* a case is in two of them (and --latest was not given) */
	KDH_REPORT_ERROR_USAGE,     /* the output folder is one of the inputs */
	KDH_REPORT_ERROR_WRITE,     /* a report could not be written */
} KdhReportError;

/* A run, for results.json, junit.xml and summary.md.  Strings are the
 * caller's and may be NULL (not known); none is guest text. */
typedef struct {
	const char *run_id;
	const char *kdh_version;
	const char *host;
	const char *accel;
	const char *started_at; /* ISO 8601 (kdh_timestamp_now) */
	const char *ended_at;
	double wall_seconds;        /* < 0: not known */
	guint jobs;                 /* 0: not known */
	const char *shard;          /* "1/4", or NULL */
	const char *filter;         /* --filter's glob, or NULL */
	const char *interrupted_by; /* "SIGINT", "SIGTERM", or NULL */
} KdhRunInfo;

/* The run-level report files, in the order kdh_report_write_run writes them
 * (NULL-terminated): results.json, junit.xml, results.tap, summary.md,
 * report.html. */
extern const char *const kdh_report_files[];

/* Writes every run-level report of INFO and RESULTS (KdhResult*, in run
 * order; cases an interruption kept from running included as NOT-RUN)
 * into the existing folder DIR, each file atomically.  results.json holds
 * INFO, the counts per verdict and each case's verdict.json object.  FALSE
 * with a KDH_REPORT_ERROR_WRITE error naming the file. */
gboolean kdh_report_write_run(const KdhRunInfo *info, GPtrArray *results, const char *dir,
                              GError **error);

/* As kdh_report_write_run, from case objects (JsonNode*: kdh_result_to_json
 * or kdh_report_read_verdict), in the order given. */
gboolean kdh_report_write_cases(const KdhRunInfo *info, GPtrArray *cases, const char *dir,
                                GError **error);

typedef struct {
	const char *const *dirs; /* results folders holding results.json; NULL-terminated */
	const char *out_dir;     /* created when missing; must not be one of DIRS */
	const char *run_id;      /* the merged set's run_id */
	gboolean latest;         /* a case in two folders: keep the later started_at */
} KdhMergeOptions;

/* The cases of every OPTS->dirs/results.json, each read as hostile input
 * (at most KDH_REPORT_MERGE_MAX_BYTES, nested at most 32 deep, every member
 * type-checked, every case name one kdh_safe_name leaves alone), written
 * as one set of run-level reports into OPTS->out_dir, cases in the order
 * read: metadata of the earliest start, the latest end (and the wall time
 * between them), the source run ids (merged_from, flattened when an input
 * is itself a merge), what every input agrees on (version, host, accel,
 * shard, filter, interrupted_by) and null for the rest and for jobs.
 * Fills *COUNTS (may be NULL) with the merged cases' verdicts.  FALSE with
 * a KDH_REPORT_ERROR naming the file and the member (INPUT), both folders
 * of a case given twice (DUPLICATE, unless OPTS->latest), or the output
 * (USAGE, WRITE); nothing is written then unless the error is WRITE. */
gboolean kdh_report_merge(const KdhMergeOptions *opts, KdhVerdictCounts *counts, GError **error);

/* The largest results.json kdh_report_merge reads. */
#define KDH_REPORT_MERGE_MAX_MIB   64
#define KDH_REPORT_MERGE_MAX_BYTES ((guint64)KDH_REPORT_MERGE_MAX_MIB << 20)

#endif
