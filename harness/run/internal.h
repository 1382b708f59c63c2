/* Inside run/ only: one case's stages as the jobs runner drives them
 * (case.c), and the console watch (watch.c). */
#ifndef KDH_RUN_INTERNAL_H
#define KDH_RUN_INTERNAL_H

#include "run/run.h"
#include "verdict/verdict.h"

/* What a run has put on one remote host: the volume each of this
 * machine's files became there, uploaded once per run (and cached there
 * across runs by content). */
typedef struct {
	GMutex lock;
	GHashTable *volumes; /* "<local path>\n<backing volume or ''>" -> the volume's path */
} KdhHostFiles;

void kdh_host_files_init(KdhHostFiles *f);
void kdh_host_files_clear(KdhHostFiles *f);

/* One case on its way through a run. */
typedef struct {
	const KdhCase *c;
	KdhResult *r;
	const KdhKernel *k;         /* from the run's KdhPrepared */
	const KdhBootImage *img;    /* what it boots */
	const char *base;           /* the base of its overlay */
	const char *vmlinux;        /* for the crash(8) cross-check, or NULL */
	const char *crash_module;   /* the kdh_crash.ko its guest loads, or NULL */
	const char *blocked;        /* why the case cannot run on its kernel, or NULL */
	KdhVerdict blocked_verdict; /* SKIP (the kernel lacks what the trigger needs)
	                             * or ERROR (kdh could not make it) */
	char *dir;                  /* its results folder */
	char *vm_dir;               /* its VM's own folder */
	char *disk;                 /* its overlay, in VM_DIR */
	char *layer;                /* its settings layer (cached), DISK's backing file; or NULL */
	KdhConsoleEvidence console;
	gboolean started;         /* it has a folder and a result to write */
	gboolean keep_disk;       /* its disk could not be read: kept in its folder (the dump
	                           * may be in it) */
	gint64 started_unix;      /* when its guest part started (KdhRunOps.wall) */
	gint64 queued_at;         /* when it joined the retrieval queue */
	guint64 footprint;        /* what its VM takes from the host */
	const KdhRunHost *host;   /* where its VM runs, once placed */
	KdhHostFiles *host_files; /* what the run put on HOST, when remote */
	char *remote_disk;        /* its overlay on a remote host, until fetched */
	gboolean host_lost;       /* its host's connection died under it */
} KdhJob;

/* A job for case C in the run of CTX, with what P made for it. */
KdhJob *kdh_job_new(const KdhRunContext *ctx, const KdhPrepared *p, const KdhCase *c);
void kdh_job_free(KdhJob *j);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhJob, kdh_job_free)

/* Marks J started now (it gets a verdict.json and a place in the live
 * display) and makes its results folder; FALSE when that cannot be made. */
gboolean kdh_job_start(KdhJob *j);

/* The case's folders and overlay, then its VM until the domain ends.
 * TRUE when the guest's disk is to be read (kdh_job_judge next); FALSE
 * when the case's verdict is already decided (kdh_job_finish next). */
gboolean kdh_job_run_guest(const KdhRunContext *ctx, KdhJob *j);

/* ---- a case on a remote host (remote.c) ---- */

/* The paths on J's remote host of what its VM boots. */
typedef struct {
	char *kernel, *initrd;
	char *base;         /* the top of its disk's backing chain */
	char *base_backing; /* the file below BASE, or NULL */
} KdhRemoteBoot;

void kdh_remote_boot_clear(KdhRemoteBoot *b);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(KdhRemoteBoot, kdh_remote_boot_clear)

/* Puts what J's VM boots on its remote host (uploads each file the run has
 * not put there yet; the host's cache may spare the bytes) and makes J's
 * overlay there (J->remote_disk, named after DOMAIN).  *UPLOADED gets the
 * bytes sent. */
gboolean kdh_job_remote_prepare(KdhJob *j, const char *domain, KdhRemoteBoot *out,
                                guint64 *uploaded, GError **error);

/* Brings J's overlay home to J->disk (sparse), backed by this machine's
 * copy of its chain, and deletes it on the host.  *BYTES gets the bytes
 * that travelled. */
gboolean kdh_job_remote_fetch(KdhJob *j, guint64 *bytes, GError **error);

/* Deletes J's overlay on its host if it is still there. */
void kdh_job_remote_drop(KdhJob *j);

/* Judges the case from its retrieved disk (RET, after KdhRunOps.retrieve)
 * and what its console showed; SHARE is its part of the appliance's
 * start-up, WAITED the time it spent queued for it. */
void kdh_job_judge(const KdhRunContext *ctx, KdhJob *j, KdhRetrieval *ret, double share,
                   double waited);

/* The case's last step, whatever happened: the VM's files removed (or the
 * disk kept), the dump deleted when CTX->keep_dumps says so, verdict.json
 * written.  The result stays in J. */
void kdh_job_finish(const KdhRunContext *ctx, KdhJob *j);

/* The names kdh writes into a case folder itself (a guest file must not
 * take them). */
extern const char *const kdh_job_reserved_names[];

/* Records that R enters PHASE and tells the monitor. */
void kdh_run_enter_phase(const KdhRunContext *ctx, KdhResult *r, const char *phase);

/* Fails R with VERDICT (ERROR for a case under way, NOT-RUN for one never
 * started) because the run was interrupted: "interrupted by SIGINT". */
void kdh_run_fail_interrupted(const KdhRunContext *ctx, KdhResult *r, KdhVerdict verdict);

/* TRUE once the run is cancelled. */
gboolean kdh_run_cancelled(const KdhRunContext *ctx);

/* Watches the running VM of case C until it ends, a phase times out, or the
 * run is cancelled; destroys VM in every case.  Phases and their durations
 * go to R (and to the monitor), as do TIMEOUT, ERROR (a host failure, a
 * guest error at a harness step, the cancellation) and the markers ignored;
 * the console's evidence goes to EV.  Markers are acted on only in the
 * order the case's plan has them, each once: a host-fired trigger (an NMI)
 * is injected only for a case whose trigger row says so, at its place,
 * once. */
void kdh_watch_vm(const KdhRunContext *ctx, const KdhCase *c, KdhResult *r, KdhVm *vm,
                  const char *serial_path, KdhConsoleEvidence *ev);

/* The longest console line kept, in bytes (longer ones are cut, marked). */
#define KDH_SERIAL_LINE_MAX 4096

#endif
