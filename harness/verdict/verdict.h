/* kdh verdicts: judging one case's evidence (what the console showed, what
 * was found on the guest disk, what the dump itself holds) against what the
 * case expects.  This layer reads evidence only; it never drives a VM. */
#ifndef KDH_VERDICT_H
#define KDH_VERDICT_H

#include <glib.h>

#include "report/report.h"
#include "scenario/scenario.h"

/* What the console showed of a case; run/ fills it while it watches, every
 * string already made text by kdh_guest_text. */
typedef struct {
	char *booted_release;  /* from "KDH: boot release=...", or NULL */
	gboolean capture_done; /* a "capture-done" marker came, in its place */
	char *capture_rc;      /* its rc= as written (NULL when absent) */
	/* Why the guest did not complete its cycle, when it did not: the first
	 * error marker, or the domain ending early with the last panic line.
	 * The expected outcome decides whether that is a failure. */
	char *guest_failure;
	gboolean armed;           /* "armed" came with kexec_crash_loaded=1 */
	gboolean capture_started; /* "capture-start" came: the capture kernel ran */
	/* The phase that ran out of time ("boot", "crash", "capture",
	 * "shutdown"), or NULL; the watch stops there. */
	char *timeout_phase;
	char *timeout_message; /* "phase crash: no 'capture-start' marker within 120 s" */
	/* The guest said it cannot fire this trigger here (a row with
	 * may_skip): why, as text; NULL otherwise. */
	char *skip_reason;
} KdhConsoleEvidence;

/* Frees what E holds (not E). */
void kdh_console_evidence_clear(KdhConsoleEvidence *e);

/* Everything a case left to judge once its VM has ended. */
typedef struct {
	const char *release;               /* the kernel the case booted */
	const KdhConsoleEvidence *console; /* never NULL */
	const char *crash_dir;             /* the guest's dump folder, as text; NULL: none */
	const char *no_crash;              /* when CRASH_DIR is NULL: why none was found */
	const char *vmcore;                /* the dump copied out of it, or NULL */
	const char *serial_log;            /* the whole console log (guest bytes), or NULL */
	gint64 started_unix;               /* when the case started, seconds since 1970 */
	const char *vmlinux;               /* the kernel's vmlinux with debug info, or NULL */
	const char *case_dir;              /* the case's results folder (crash.txt goes there) */
} KdhEvidence;

/* Judges E against C into R (kdh_result_fail for each expectation not met;
 * what a PASS rests on is added to R's checks): the expected outcome (a
 * dump, or none for the console's reason), the collector's exit status
 * (parsed strictly: only "0" is success), and, for a dump, everything the
 * reader checks in it: VMCOREINFO and init_uts_ns name the booted kernel,
 * every kept page decompresses, no incomplete marker, the dump level and
 * compression asked for, and C's panic line in the dump's own dmesg.
 * Strings taken from the dump pass through kdh_guest_text. */
void kdh_verdict_judge(KdhResult *r, const KdhCase *c, const KdhEvidence *e);

#endif
