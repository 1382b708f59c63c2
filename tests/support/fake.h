/* A fake VM backend and a fake clock for the runner's unit tests: the VM
 * plays a scripted console into its serial log as the clock advances,
 * reports running until its script ends it, and counts what the host
 * injected (NMI, keys, machine checks).
 * Time is virtual: the runner's sleeps advance it, so a case whose phases
 * take minutes plays in milliseconds.  Several fake VMs may run at once
 * (a runner with jobs), each playing the same script. */
#ifndef KDH_TEST_FAKE_H
#define KDH_TEST_FAKE_H

#include <glib.h>

#include "run/run.h"
#include "vm/vm.h"

typedef struct {
	double at;           /* seconds after start, or after the first injection with AFTER_HOST */
	gboolean after_host; /* played only once the host has injected something */
	const char *text;    /* bytes appended to the serial log; NULL: the VM ends */
	gssize len;          /* bytes of TEXT; 0: up to its NUL */
} KdhFakeLine;

/* A fake VM started on a host whose URI holds "lost" loses its libvirt
 * connection 3 s after its start (KDH_VM_ERROR_CONNECTION_LOST), as a
 * remote host that drops off the network. */

/* Texts a script line may hold that the fake acts on instead of writing
 * them: kdh_fake_rotate renames the serial log to <log>.0 (an older .0
 * to .1, and so on) and starts a new one, as virtlogd does at its
 * max_size; kdh_fake_flood writes LEN bytes of 'x' without a newline, a
 * MiB at a time (a flood is never held in memory). */
extern const char kdh_fake_rotate[];
extern const char kdh_fake_flood[];

/* The script the next fake VM plays (N lines, kept by reference). */
void kdh_fake_vm_script(const KdhFakeLine *lines, gsize n);

/* The next fake VMs answer KDH_VM_ERROR_UNSUPPORTED to EVENT (until
 * kdh_fake_ops_reset). */
void kdh_fake_vm_refuse(KdhVmEvent event);
void kdh_fake_vm_refuse_nothing(void);

/* What the fake VMs saw. */
typedef struct {
	guint starts;
	guint injected[KDH_VM_MCE + 1]; /* per KdhVmEvent, refused ones included */
	double first_injection;         /* virtual seconds after the VM's start; -1: none */
	guint destroys;
	guint max_running;     /* the most running at once */
	guint64 footprint;     /* kdh_guest_footprint of those running now */
	guint64 max_footprint; /* and the most at once */
	char *name;            /* the domain name the last one was started with */
	char *cmdline;         /* its kernel command line */
	char *uris;            /* the URI of each VM started, a line each */
} KdhFakeVmLog;

/* The log of what fake VMs saw since the last kdh_fake_vm_script. */
const KdhFakeVmLog *kdh_fake_vm_log(void);

extern const KdhVmBackend kdh_fake_vm;

/* The virtual clock, microseconds; kdh_fake_sleep advances it. */
gint64 kdh_fake_now(void);
void kdh_fake_sleep(gulong usec);

/* ---- fake host steps (fake_ops.c) ---- */

/* The real dump the fake guest "writes", and its kernel. */
#define KDH_FAKE_DUMP    "tests/fixtures/dump/debian12-6.1-sysrq.kdump"
#define KDH_FAKE_RELEASE "6.1.0-56-amd64"
/* Its VMCOREINFO CRASHTIME: 2026-11-26 09:15:15 UTC. */
#define KDH_FAKE_CRASH_TIME ((gint64)1795684515)

/* Kernel KDH_FAKE_RELEASE, an initrd path, a base path, an empty overlay:
 * nothing is built. */
KdhKernel *kdh_fake_kernel(const KdhRunContext *ctx, const KdhCase *c, GError **error);
char *kdh_fake_crashmod(const KdhRunContext *ctx, const KdhKernel *k, GError **error);
char *kdh_fake_vmlinux(const KdhRunContext *ctx, const KdhKernel *k, gboolean fetch,
                       GError **error);
KdhBootImage *kdh_fake_image(const KdhRunContext *ctx, const KdhCase *c, const KdhKernel *k,
                             const char *const *extras, GError **error);
char *kdh_fake_base(const KdhRunContext *ctx, GError **error);
char *kdh_fake_configure(const KdhRunContext *ctx, const KdhCase *c, const KdhBootImage *img,
                         GError **error);
gboolean kdh_fake_overlay(const KdhRunContext *ctx, const char *base, const char *disk,
                          GError **error);

/* Host steps whose retrieval finds the fixture dump, finds no dump folder,
 * or is interrupted by Ctrl-C (which it sets) while libguestfs launches. */
extern const KdhRunOps kdh_fake_ops_dump;
extern const KdhRunOps kdh_fake_ops_nothing;
extern const KdhRunOps kdh_fake_ops_interrupted;

/* Disks read and appliances launched since kdh_fake_ops_reset. */
void kdh_fake_ops_reset(void);
guint kdh_fake_retrievals(void);
guint kdh_fake_batches(void);

#endif
