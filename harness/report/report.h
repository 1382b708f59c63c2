/* kdh results and their reports.  A KdhResult is what one case produced; the
 * run and verdict layers fill it, this layer writes it out (verdict.json).
 * Every string in a KdhResult is valid UTF-8: guest text was made so where
 * it entered (kdh_guest_text). */
#ifndef KDH_REPORT_H
#define KDH_REPORT_H

#include <glib.h>

typedef enum {
	KDH_VERDICT_PASS,
	KDH_VERDICT_FAIL,    /* an expectation not met: the kernel's or the setup's fault */
	KDH_VERDICT_ERROR,   /* the harness or the host broke */
	KDH_VERDICT_SKIP,    /* a requirement is missing */
	KDH_VERDICT_TIMEOUT, /* the guest did not reach the next marker in time */
} KdhVerdict;

/* "PASS", "FAIL", ... */
const char *kdh_verdict_name(KdhVerdict v);

typedef struct {
	char *name;
	double seconds;
} KdhPhase;

typedef struct {
	char *case_name;
	char *scenario_file;
	KdhVerdict verdict;
	GPtrArray *reasons; /* char*: why the verdict is not PASS, or what PASS rests on */
	GPtrArray *phases;  /* KdhPhase*, in order */
	char *accel;
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
} KdhResult;

KdhResult *kdh_result_new(const char *case_name);
void kdh_result_free(KdhResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhResult, kdh_result_free)

/* Appends a phase and its duration. */
void kdh_result_add_phase(KdhResult *r, const char *name, double seconds);

/* Sets VERDICT unless a verdict other than PASS is already set (the first
 * failure is the one that explains the rest), and appends the reason. */
void kdh_result_fail(KdhResult *r, KdhVerdict verdict, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Writes R as JSON to PATH (atomically: g_file_set_contents). */
gboolean kdh_report_write_json(const KdhResult *r, const char *path, GError **error);

#endif
