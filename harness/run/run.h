/* kdh runner: one case from kernel to verdict, phase by phase, with timeouts
 * enforced from outside the guest and cancellation that leaves nothing
 * running.  The runner reports progress on standard output. */
#ifndef KDH_RUN_H
#define KDH_RUN_H

#include <glib.h>
#include <signal.h>
#include <stdio.h>

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

typedef struct {
	const char *cache_dir;
	const char *images_dir; /* the repository's images/ (recipes) */
	const char *run_dir;    /* results/<run-id>; a folder per case below */
	const char *vm_dir;     /* a KdhVmRunDir: a folder per case's VM below */
	const char *uri;        /* the libvirt connection */
	const KdhVmBackend *backend;
	KdhAccel accel;
	gboolean keep_disk;               /* keep the case's overlay disk after retrieval */
	volatile sig_atomic_t *cancelled; /* set from a signal handler */
} KdhRunContext;

/* Runs C and returns its result (never NULL); verdict.json and the serial
 * log are in the case's folder when it returns. */
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

#endif
