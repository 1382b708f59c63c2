/* kdh runner: one case from kernel to verdict, phase by phase (case.c), with
 * the guest watched through its serial markers and its phases timed out
 * from outside the guest (watch.c), and cancellation that leaves nothing
 * running.  The runner reports progress on standard output; the verdict
 * itself is verdict/'s. */
#ifndef KDH_RUN_H
#define KDH_RUN_H

#include <glib.h>
#include <signal.h>
#include <stdio.h>

#include "guest/guest.h"
#include "kernel/kernel.h"
#include "report/report.h"
#include "scenario/scenario.h"
#include "vm/vm.h"

/* One serial marker line, "KDH: <event> [key=value ...]" (DESIGN.md). */
typedef struct {
	char *event;
	GHashTable *args; /* key -> value, both owned */
} KdhMarker;

/* Parses LINE (a serial console line, possibly with kernel output before
 * the marker); NULL when it holds no well-formed marker.  The line is
 * guest-controlled: anything malformed is simply not a marker. */
KdhMarker *kdh_marker_parse(const char *line);
void kdh_marker_free(KdhMarker *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhMarker, kdh_marker_free)

/* A marker's value for KEY, or NULL. */
const char *kdh_marker_get(const KdhMarker *m, const char *key);

typedef struct KdhRunContext KdhRunContext;

/* The steps of a case that reach outside kdh's own memory: making what the
 * guest boots, reading its disk afterwards, and the clock phases are timed
 * by.  kdh_run_host_ops does them for real (kernel/, image/, guest/, the
 * monotonic clock); a test passes its own table to play a case in
 * milliseconds.  Each step returns NULL/FALSE with an error on failure. */
typedef struct {
	/* The case's kernel, made or found in the cache. */
	KdhKernel *(*kernel)(const KdhRunContext *ctx, const KdhCase *c, GError **error);
	/* The initrd the guest boots with kernel K. */
	char *(*image)(const KdhRunContext *ctx, const KdhCase *c, const KdhKernel *k,
	               GError **error);
	/* Creates the case's guest disk at DISK (a fresh overlay) and returns
	 * the base it is backed by (shared, only read). */
	char *(*disk)(const KdhRunContext *ctx, const char *disk, GError **error);
	/* Copies the guest's newest dump folder from DISK into DEST_DIR, as
	 * kdh_guest_fetch_crash does (KDH_GUEST_ERROR_NO_CRASH: none). */
	KdhCrashFiles *(*retrieve)(const KdhRunContext *ctx, const char *disk, const char *dest_dir,
	                           const char *const *reserved, GError **error);
	gint64 (*now)(void);        /* microseconds, monotonic */
	void (*sleep)(gulong usec); /* between two looks at the VM */
} KdhRunOps;

/* The real steps. */
extern const KdhRunOps kdh_run_host_ops;

struct KdhRunContext {
	const char *cache_dir;
	const char *images_dir; /* the repository's images/ (recipes) */
	const char *run_dir;    /* results/<run-id>; a folder per case below */
	const char *vm_dir;     /* a KdhVmRunDir: a folder per case's VM below;
	                         * NULL: the case folder (tests, where QEMU is
	                         * not another user) */
	const char *uri;        /* the libvirt connection */
	const KdhVmBackend *backend;
	const KdhRunOps *ops;
	KdhAccel accel;
	gboolean keep_disk;               /* keep the case's overlay disk after retrieval */
	volatile sig_atomic_t *cancelled; /* set (non-zero) from a signal handler */
};

/* Runs C and returns its result (never NULL); verdict.json and the serial
 * log are in the case's folder (RUN_DIR/<case name>) when it returns.  Once
 * *CTX->cancelled is set, the case ends as ERROR "cancelled by a signal",
 * whatever error the step under way returns.  Keeps no state between
 * calls: domain names come from the case folder, not a counter. */
KdhResult *kdh_run_case(const KdhRunContext *ctx, const KdhCase *c);

/* Where and how kdh_run_kernel_progress shows a kernel build. */
typedef struct {
	FILE *out;
	const char *prefix; /* put before each line, e.g. "  kernel   " */
	gboolean tty;       /* redraw one line instead of appending lines */
	double last_print;
	guint last_done;
} KdhProgressPrinter;

/* A printer writing to OUT (stdout or stderr), lines starting with PREFIX. */
KdhProgressPrinter kdh_progress_printer(FILE *out, const char *prefix);

/* Shows a kernel build's progress (a KdhKernelProgressFunc whose DATA is a
 * KdhProgressPrinter): one line redrawn on a terminal; in a log (CI), each
 * new phase and a line every 30 s while compiling. */
void kdh_run_kernel_progress(const char *step, double elapsed, guint done, gpointer data);

/* A fresh run id: UTC time plus the process id, sortable. */
char *kdh_run_id(void);

/* ---- what a case asked for (asked.c) ---- */

/* Fills R->asked from C (replacing what it held): memory, cpus,
 * crashkernel, trigger, collector, dump level, compression, expected
 * outcome, expected panic line, image. */
void kdh_run_result_ask(KdhResult *r, const KdhCase *c);

#endif
