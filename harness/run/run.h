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
#include "image/image.h"
#include "kernel/kernel.h"
#include "report/report.h"
#include "scenario/scenario.h"
#include "vm/vm.h"

/* A case's disk (its overlay) as kept in its folder by --keep-disk. */
#define KDH_DISK_FILE "disk.qcow2"
/* The domain XML its VM was started with, in its folder: which files QEMU
 * opened, and where. */
#define KDH_DOMAIN_FILE "domain.xml"

typedef struct KdhRunContext KdhRunContext;

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

/* One finished case's disk to read, and what reading it gave. */
typedef struct {
	const char *disk;            /* the case's overlay */
	const char *dest_dir;        /* its results folder */
	const char *const *reserved; /* names kdh writes there itself */
	const char *file_prefix;     /* the collector's (KdhCollector.file_prefix) */
	guint64 max_bytes;           /* the most its dump may take (kdh_guest_dump_cap) */
	KdhCrashFiles *files;        /* out: what was copied */
	GError *error;               /* out: why not (KDH_GUEST_ERROR_NO_CRASH: no dump) */
	double seconds;              /* out: this disk's own time, the launch not counted */
} KdhRetrieval;

/* The steps of a case that reach outside kdh's own memory: making what the
 * guest boots, reading its disk afterwards, and the clock phases are timed
 * by.  kdh_run_host_ops does them for real (kernel/, image/, guest/, the
 * monotonic clock); a test passes its own table to play cases in
 * milliseconds.  Each step returns NULL/FALSE with an error on failure.
 * Every step may be called from several threads at once. */
/* What the cases of one kernel and image kind boot: made once per run. */
typedef struct {
	char *initrd; /* the first kernel's initramfs */
	/* The base of each case's overlay (only read); NULL: the run's shared
	 * empty disk (KdhRunOps.base). */
	char *disk;
	char *cmdline; /* the image's own part of the kernel command line, or NULL */
	/* Host files each case's overlay carries in /lib/kdh/ (the crash
	 * module, LKDTM) when the image does not hold them itself; NULL: none. */
	GStrv extras;
	KdhDiskImage *debian; /* a Debian image (its per-case settings), else NULL */
} KdhBootImage;

void kdh_boot_image_free(KdhBootImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhBootImage, kdh_boot_image_free)

/* One row of the image kinds ([vm] image=): how its guest is made, booted
 * and told what a case asks. */
typedef struct KdhImageKind {
	const char *name;
	/* Makes (or finds in the cache) what C's guest boots with kernel K,
	 * EXTRAS going into /lib/kdh/ (KdhRunOps.image, for real). */
	KdhBootImage *(*make)(const KdhRunContext *ctx, const KdhCase *c, const KdhKernel *k,
	                      const char *const *extras, GError **error);
	/* The kernel command line of case C booting IMG (console, crashkernel=,
	 * the guest's instructions where they travel on it). */
	char *(*cmdline)(const KdhCase *c, const KdhBootImage *img);
	/* TRUE: each case's settings are written into its overlay before boot
	 * (KdhRunOps.configure); FALSE: the command line carries them. */
	gboolean configured;
} KdhImageKind;

/* The row named NAME (a validated scenario's image=), or NULL. */
const KdhImageKind *kdh_image_kind_find(const char *name);

/* The files case C's overlay of IMG gets before boot (KdhGuestFile*): the
 * image's settings for C and IMG's extras in /lib/kdh/.  NULL with an
 * error when an extra cannot be read or the image refuses C. */
GPtrArray *kdh_run_case_settings(const KdhCase *c, const KdhBootImage *img, GError **error);

/* The name of the settings layer of FILES (KdhGuestFile*) over IMG's disk:
 * "<image id>-<16 hex digits>.qcow2", the digits a hash of the disk's path
 * and every file's path, link target, mode and content. */
char *kdh_run_settings_key(const KdhBootImage *img, GPtrArray *files);

typedef struct {
	/* The case's kernel, made or found in the cache. */
	KdhKernel *(*kernel)(const KdhRunContext *ctx, const KdhCase *c, GError **error);
	/* The crash module (images/crashmod/) built against K; an error of
	 * code KDH_IMAGE_ERROR_UNSUPPORTED when K has no build tree. */
	char *(*crashmod)(const KdhRunContext *ctx, const KdhKernel *k, GError **error);
	/* A vmlinux with debug info for K (kdh_kernel_debug_vmlinux; FETCH: a
	 * Debian kernel's -dbg is fetched when missing); an error of code
	 * KDH_KERNEL_ERROR_NO_DEBUG_INFO when none is to be had. */
	char *(*vmlinux)(const KdhRunContext *ctx, const KdhKernel *k, gboolean fetch,
	                 GError **error);
	/* What C's guest boots with kernel K (C's image kind), carrying the
	 * files EXTRAS (NULL-terminated, may be NULL) in /lib/kdh/. */
	KdhBootImage *(*image)(const KdhRunContext *ctx, const KdhCase *c, const KdhKernel *k,
	                       const char *const *extras, GError **error);
	/* The base disk every case's overlay is backed by (shared, only read). */
	char *(*base)(const KdhRunContext *ctx, GError **error);
	/* Creates a case's guest disk at DISK, a fresh overlay of BASE. */
	gboolean (*overlay)(const KdhRunContext *ctx, const char *base, const char *disk,
	                    GError **error);
	/* For an image kind that is configured: the settings layer of case C,
	 * a qcow2 over IMG's disk with C's settings (kdh_run_case_settings)
	 * written in through libguestfs, which C's own overlay is then made
	 * over.  Cached by the settings' content (kdh_run_settings_key): a
	 * case run again, or another case with the same settings, pays no
	 * appliance launch. */
	char *(*configure)(const KdhRunContext *ctx, const KdhCase *c, const KdhBootImage *img,
	                   GError **error);
	/* Reads the N disks of ITEMS with one libguestfs appliance, as
	 * kdh_guest_fetch_crash does for one; *LAUNCH_SECONDS gets the
	 * appliance's start-up.  FALSE when the appliance itself failed (each
	 * item's error says so too). */
	gboolean (*retrieve)(const KdhRunContext *ctx, KdhRetrieval *items, guint n,
	                     double *launch_seconds, GError **error);
	gint64 (*now)(void);        /* microseconds, monotonic */
	gint64 (*wall)(void);       /* seconds since 1970: when a case starts */
	void (*sleep)(gulong usec); /* between two looks at a VM */
} KdhRunOps;

/* The real steps. */
extern const KdhRunOps kdh_run_host_ops;

/* What becomes of a case's dump once it is verified. */
typedef enum {
	KDH_KEEP_DUMPS_FAILED, /* kept for every case that did not PASS (default) */
	KDH_KEEP_DUMPS_ALWAYS,
	KDH_KEEP_DUMPS_NEVER,
} KdhKeepDumps;

/* Shows a run as it goes: a line per running case redrawn in place on a
 * terminal, plain lines (one per phase change and per verdict) elsewhere.
 * Every function may be called from any thread. */
typedef struct KdhRunMonitor KdhRunMonitor;

/* A monitor writing to OUT; TTY redraws.  TOTAL: the cases of the run. */
KdhRunMonitor *kdh_run_monitor_new(FILE *out, gboolean tty, guint total);
/* Stops redrawing (the running lines are left as they were) and frees M;
 * accepts NULL. */
void kdh_run_monitor_free(KdhRunMonitor *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhRunMonitor, kdh_run_monitor_free)
/* Case NAME enters PHASE (the previous one, if any, ended). */
void kdh_run_monitor_phase(KdhRunMonitor *m, const char *name, const char *phase);
/* Case R has its verdict: one line, and the case's phases. */
void kdh_run_monitor_finished(KdhRunMonitor *m, const KdhResult *r);

/* One libvirt host a run's VMs go to. */
typedef struct {
	const char *uri;
	const char *label;     /* as reports name it (kdh_uri_label) */
	guint jobs;            /* VMs at once there; 0 counts as 1 */
	guint64 memory_budget; /* bytes its guests may take together; 0: no limit */
	/* Its storage pool when this machine's files mean nothing there (a
	 * remote host: kernel, initrd and disks travel through libvirt), else
	 * NULL. */
	KdhRemote *remote;
} KdhRunHost;

struct KdhRunContext {
	const char *cache_dir;
	const char *images_dir; /* the repository's images/ (recipes) */
	const char *run_dir;    /* results/<run-id>; a folder per case below */
	const char *vm_dir;     /* a KdhVmRunDir: a folder per case's VM below;
	                         * NULL: the case folder (tests, where QEMU is
	                         * not another user) */
	const char *uri;        /* the libvirt connection (without HOSTS) */
	/* The hosts the cases are spread over (N_HOSTS); NULL: the one host
	 * URI, with JOBS and MEMORY_BUDGET. */
	const KdhRunHost *hosts;
	guint n_hosts;
	const KdhVmBackend *backend;
	const KdhRunOps *ops;
	KdhAccel accel;
	gboolean keep_disk; /* keep the case's overlay disk after retrieval */
	KdhKeepDumps keep_dumps;
	guint jobs;                       /* VMs at once; 0 counts as 1 */
	guint64 memory_budget;            /* bytes all running guests may take together
	                                   * (kdh_guest_footprint each); 0: no limit */
	KdhRunMonitor *monitor;           /* NULL: the run is silent */
	volatile sig_atomic_t *cancelled; /* set to the signal from a handler */
};

/* What the cases of a run share, made once before the first VM: each
 * kernel ref resolved once, each (kernel, image) built once (with the
 * crash module or LKDTM when a case of that kernel needs them), the base
 * disk; and, per case, whether its kernel lacks what its trigger needs. */
typedef struct KdhPrepared KdhPrepared;

KdhPrepared *kdh_prepared_new(void);
void kdh_prepared_free(KdhPrepared *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhPrepared, kdh_prepared_free)

/* Resolves the kernel of every case of CASES (KdhCase*) into P, each ref
 * once, with the vmlinux crash(8) needs for its cases' [verify] crash=;
 * FALSE with an error naming the case's file and line at the first kernel
 * that does not resolve. */
gboolean kdh_run_prepare_kernels(const KdhRunContext *ctx, KdhPrepared *p, GPtrArray *cases,
                                 GError **error);

/* After kdh_run_prepare_kernels: the image of every case and the base disk
 * (which needs CTX->accel).  A kernel that cannot have what a trigger
 * needs (no build tree for the crash module, no LKDTM) does not stop the
 * run: those cases are blocked (kdh_prepared_blocked). */
gboolean kdh_run_prepare_guests(const KdhRunContext *ctx, KdhPrepared *p, GPtrArray *cases,
                                GError **error);

/* C's kernel in P (after kdh_run_prepare_kernels), or NULL. */
const KdhKernel *kdh_prepared_kernel(const KdhPrepared *p, const KdhCase *c);

/* What C boots (after kdh_run_prepare_guests), or NULL. */
const KdhBootImage *kdh_prepared_image(const KdhPrepared *p, const KdhCase *c);
/* The base disk of C's overlay: its image's own, else the run's shared
 * empty disk; NULL before kdh_run_prepare_guests. */
const char *kdh_prepared_base(const KdhPrepared *p, const KdhCase *c);

/* The vmlinux crash(8) cross-checks C's dump with, or NULL: none asked
 * ([verify] crash=no), none to be had (crash=auto), or a crash that cannot
 * read C's kernel. */
const char *kdh_prepared_vmlinux(const KdhPrepared *p, const KdhCase *c);

/* The crash module C's guest loads (kdh_crash.ko), or NULL. */
const char *kdh_prepared_crashmod(const KdhPrepared *p, const KdhCase *c);

/* Why C cannot run on its kernel (owned by P), with *VERDICT the verdict
 * it gets (SKIP: the kernel lacks it; ERROR: kdh failed to make it); NULL
 * when it can. */
const char *kdh_prepared_blocked(const KdhPrepared *p, const KdhCase *c, KdhVerdict *verdict);

/* Runs CASES (prepared in P) with up to CTX->jobs VMs at once (or on
 * CTX->hosts, each case on the least busy host with room for it: one that
 * none can ever hold is an ERROR naming the largest, and a host whose
 * connection dies takes no more cases) and returns
 * one result per case, in the order of CASES; verdict.json and serial.log
 * are in each case's folder (RUN_DIR/<case name>).  A VM starts only when
 * CTX->memory_budget holds it beside the VMs already running.  Finished
 * cases wait for one libguestfs appliance that reads the disks of every
 * case waiting at once; their VM slot is free meanwhile.  Once
 * *CTX->cancelled is set, running cases end as ERROR "interrupted", every
 * domain is destroyed and every overlay removed, and cases not started yet
 * are NOT-RUN. */
GPtrArray *kdh_run_cases(const KdhRunContext *ctx, const KdhPrepared *p, GPtrArray *cases);

/* What C runs from once prepared in P (KdhResult.inputs; OUT's strings
 * are the caller's): its kernel's cache entry and package version, its
 * image's and crash module's cache entries, its scenario file's hash and
 * its name.  Two runs of equal inputs run the same thing. */
void kdh_run_case_inputs(const KdhPrepared *p, const KdhCase *c, KdhInputs *out);

/* Prepares and runs the single case C (tests, one-off callers): a step that
 * fails makes the case an ERROR. */
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
