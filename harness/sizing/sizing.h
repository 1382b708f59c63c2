/* kdh sizing: the smallest crashkernel= that really works, per RAM size,
 * found by bisection over real crash-and-capture cycles; the range
 * expression it suggests (with the kernel's rounding of RAM); the
 * distributions' defaults and two size-based estimators judged against the
 * measurement; the report (sizing.json, sizing.md, sizing.svg, junit.xml).
 * The search is pure logic over probe outcomes, so a test plays it with a
 * fake probe; cli/cmd_sizing.c feeds it real cases through the runner. */
#ifndef KDH_SIZING_H
#define KDH_SIZING_H

#include <glib.h>

#define KDH_MIB (G_GUINT64_CONSTANT(1) << 20)

/* ---- one RAM size's search (bisect.c) ---- */

/* What one probe (a full cycle at one crashkernel= size) said. */
typedef enum {
	KDH_PROBE_PASS,      /* a dump was captured and verified */
	KDH_PROBE_TOO_SMALL, /* no dump for want of memory: kexec-load-failed (the capture
	                      * kernel and initramfs do not fit), capture-kernel-oom */
	KDH_PROBE_TOO_LARGE, /* reservation-failed: more than the kernel can reserve on
	                      * this RAM (a 512M guest cannot give 512M) */
	KDH_PROBE_OTHER,     /* anything else: never counted as either */
} KdhProbeOutcome;

/* The outcome of a probe that PASSED or not, with the console's DIAGNOSIS
 * (KdhResult.diagnosis, may be NULL). */
KdhProbeOutcome kdh_sizing_probe_outcome(gboolean passed, const char *diagnosis);

typedef enum {
	KDH_SEARCH_RUNNING,
	KDH_SEARCH_ANSWERED,   /* answer passes, answer - step fails: both seen */
	KDH_SEARCH_LOW_PASSES, /* even LOW passes: the answer is LOW or less */
	KDH_SEARCH_NONE_WORKS, /* HIGH is too small, or nothing between what is too small and
	                        * what the kernel cannot reserve works: WHY says which */
	KDH_SEARCH_BLOCKED,    /* a probe failed for another reason twice */
} KdhSearchState;

/* "running", "answered", "low-passes", "none-works", "blocked". */
const char *kdh_search_state_name(KdhSearchState s);

typedef struct {
	guint64 ram, low, high, step; /* bytes; low < high, both multiples of step */
	KdhSearchState state;
	guint64 pass;                 /* the smallest size seen passing (0: none) */
	guint64 fail;                 /* the largest size seen too small (0: none) */
	char *fail_diagnosis;         /* FAIL's diagnosis */
	guint64 too_large;            /* the smallest size the kernel could not reserve (0: none) */
	gboolean high_done, low_done; /* the bounds' answers are in */
	guint probes;                 /* probes recorded, retries included */
	guint retries;                /* of those, retries of a probe that failed otherwise */
	guint64 retrying;             /* the size being retried (0: none) */
	char *why;                    /* with KDH_SEARCH_BLOCKED and _NONE_WORKS: why */
	double seconds;               /* the probes' own time, summed */
} KdhSizingSearch;

/* A search for RAM between LOW and HIGH in STEPs; FALSE with an error when
 * the bounds are not LOW < HIGH, multiples of STEP, STEP >= 1 MiB. */
gboolean kdh_sizing_search_init(KdhSizingSearch *s, guint64 ram, guint64 low, guint64 high,
                                guint64 step, GError **error);
void kdh_sizing_search_clear(KdhSizingSearch *s);

/* The crashkernel= size to probe next, or 0 once the search is over: HIGH
 * first, then LOW, then the middle of what is left (a multiple of STEP):
 * between the largest size too small and the smallest that worked, or,
 * while none worked because HIGH could not be reserved, the smallest size
 * the kernel could not reserve; a size again after it failed otherwise
 * once. */
guint64 kdh_sizing_search_next(const KdhSizingSearch *s);

/* Records that SIZE (the one kdh_sizing_search_next gave) came out as
 * OUTCOME, with DIAGNOSIS (the console's reason, or what went wrong; may be
 * NULL) and the probe's SECONDS. */
void kdh_sizing_search_record(KdhSizingSearch *s, guint64 size, KdhProbeOutcome outcome,
                              const char *diagnosis, double seconds);

/* The most probes a search needs after its two bounds:
 * ceil(log2((HIGH - LOW) / STEP)). */
guint kdh_sizing_bisect_bound(guint64 low, guint64 high, guint64 step);

/* ---- crashkernel= expressions (ranges.c) ---- */

/* The size crashkernel=EXPR reserves on a machine of RAM bytes, as the
 * kernel decides (kernel/crash_reserve.c, parse_crashkernel_mem): a plain
 * size is that size; for a range list, RAM rounded up to 128 MiB is
 * matched against each "start-[end]:size" (start <= RAM < end) in order,
 * and no match reserves nothing.  FALSE when EXPR does not parse. */
gboolean kdh_crashkernel_eval(const char *expr, guint64 ram, guint64 *size);

/* BYTES (a whole number of MiB, not 0) as the kernel's memparse and
 * people read it: "1G" when whole gibibytes, else "104M". */
char *kdh_sizing_size_text(guint64 bytes);

/* One measured RAM size and the smallest crashkernel= that worked there. */
typedef struct {
	guint64 ram;
	guint64 size;
} KdhSizingPoint;

/* The crashkernel= range list suggested by the N points (any order, RAM
 * sizes distinct): ranges start at each measured RAM (the kernel rounds a
 * machine's RAM up to 128 MiB, and a guest of M bytes has a little less, so
 * it matches the range starting at M); a range [r_i, r_i+1) reserves what
 * r_i+1 needed (needs grow with RAM, so every machine in the range is
 * covered), the last one ("r_n-") what r_n needed; every size raised by
 * MARGIN_PCT percent, rounded up to STEP and never less than the range
 * below it.  Below the first RAM size nothing is reserved. */
char *kdh_sizing_suggest(const KdhSizingPoint *points, guint n, guint margin_pct, guint64 step);

/* ---- what others reserve or estimate (defaults.c) ---- */

typedef struct {
	const char *name; /* "Fedora/RHEL kdump-utils (2025-)" */
	const char *expr; /* its crashkernel= */
	const char *where;
} KdhSizingDefault;

/* Every distribution default kdh compares with; *N receives their number. */
const KdhSizingDefault *kdh_sizing_defaults(gsize *n);

/* What a size-based estimator asks from what the capture kernel loads. */
typedef struct {
	guint64 vmlinuz; /* the kernel image file */
	guint64 initrd;  /* the capture kernel's initramfs file */
	guint64 modules; /* the modules it loads (0 when its initramfs has them) */
} KdhSizingInputs;

typedef struct {
	const char *name;
	const char *how; /* the formula, for the report */
	guint64 (*estimate)(const KdhSizingInputs *in, guint64 ram);
} KdhSizingEstimator;

const KdhSizingEstimator *kdh_sizing_estimators(gsize *n);

/* ---- the report (report.c, chart.c) ---- */

/* One RAM size's outcome with everything the report says of it. */
typedef struct {
	KdhSizingSearch search;
	GPtrArray *probes; /* char*: "104M works (PASS, 52 s)", "96M too small: ..." */
	guint unneeded;    /* probes run whose answer the search no longer needed (the
	                    * low bound probed beside a high one that failed) */
} KdhSizingRow;

/* A row searching RAM between LOW and HIGH in STEPs (kdh_sizing_search_init);
 * NULL with its error. */
KdhSizingRow *kdh_sizing_row_new(guint64 ram, guint64 low, guint64 high, guint64 step,
                                 GError **error);
void kdh_sizing_row_free(KdhSizingRow *row);

typedef struct {
	const char *kernel; /* the ref and release probed */
	const char *image;  /* mini | debian */
	const char *collector;
	const char *trigger;
	guint64 low, high, step;
	guint margin_pct;
	KdhSizingInputs inputs; /* for the estimators */
	double wall_seconds;
	GPtrArray *rows; /* KdhSizingRow*, by RAM */
} KdhSizingReport;

/* The suggested expression of REPORT's answered rows (NULL: none). */
char *kdh_sizing_report_suggestion(const KdhSizingReport *report);

/* The report as text for the terminal and sizing.md (MARKDOWN: tables in
 * Markdown). */
char *kdh_sizing_report_text(const KdhSizingReport *report, gboolean markdown);

/* sizing.json, sizing.md, sizing.svg and junit.xml (a testcase per RAM
 * size: an expected too-small probe is no failure) into DIR. */
gboolean kdh_sizing_report_write(const KdhSizingReport *report, const char *dir, GError **error);

/* sizing.svg: RAM against the smallest working crashkernel=, with the
 * distribution defaults as steps, drawn with cairo into PATH. */
gboolean kdh_sizing_chart(const KdhSizingReport *report, const char *path, GError **error);

/* The exit status of the sizing (cli's KDH_EXIT_*): 0 every RAM size
 * answered (or LOW passes), 1 none works up to HIGH somewhere (kdump is
 * broken there), 3 a search blocked by other failures. */
int kdh_sizing_report_status(const KdhSizingReport *report);

#endif
