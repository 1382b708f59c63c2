/* Inside run/ only: the console watch, as case.c drives it. */
#ifndef KDH_RUN_INTERNAL_H
#define KDH_RUN_INTERNAL_H

#include "run/run.h"
#include "verdict/verdict.h"

/* Watches the running VM of case C until it ends, a phase times out, or the
 * run is cancelled; destroys VM in every case.  Phases and their durations
 * go to R (and are printed), as do TIMEOUT, ERROR (a host failure, a guest
 * error at a harness step, the cancellation) and the markers ignored; the
 * console's evidence goes to EV.  Markers are acted on only in the order
 * the case's plan has them, each once: a host-fired trigger (an NMI) is
 * injected only for a case whose trigger row says so, at its place, once. */
void kdh_watch_vm(const KdhRunContext *ctx, const KdhCase *c, KdhResult *r, KdhVm *vm,
                  const char *serial_path, KdhConsoleEvidence *ev);

/* The longest console line kept, in bytes (longer ones are cut, marked). */
#define KDH_SERIAL_LINE_MAX 4096

#endif
