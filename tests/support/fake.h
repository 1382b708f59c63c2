/* A fake VM backend and a fake clock for the runner's unit tests: the VM
 * plays a scripted console into its serial log as the clock advances,
 * reports running until its script ends it, and counts the NMIs injected.
 * Time is virtual: the runner's sleeps advance it, so a case whose phases
 * take minutes plays in milliseconds.  One fake VM at a time (Check runs
 * each test in its own process). */
#ifndef KDH_TEST_FAKE_H
#define KDH_TEST_FAKE_H

#include <glib.h>

#include "vm/vm.h"

typedef struct {
	double at;          /* seconds after start, or after the first NMI with AFTER_NMI */
	gboolean after_nmi; /* played only once the host has injected an NMI */
	const char *text;   /* bytes appended to the serial log; NULL: the VM ends */
	gssize len;         /* bytes of TEXT; 0: up to its NUL */
} KdhFakeLine;

/* The script the next fake VM plays (N lines, kept by reference). */
void kdh_fake_vm_script(const KdhFakeLine *lines, gsize n);

/* What the last fake VM saw. */
typedef struct {
	guint starts;
	guint nmis;
	gboolean destroyed;
	char *name;    /* the domain name it was started with */
	char *cmdline; /* the kernel command line */
} KdhFakeVmLog;

/* The log of what fake VMs saw since the last kdh_fake_vm_script. */
const KdhFakeVmLog *kdh_fake_vm_log(void);

extern const KdhVmBackend kdh_fake_vm;

/* The virtual clock, microseconds; kdh_fake_sleep advances it. */
gint64 kdh_fake_now(void);
void kdh_fake_sleep(gulong usec);

#endif
