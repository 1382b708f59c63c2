/* The trigger table: every way kdh crashes a guest, one row each.  A row
 * says what the guest does, what the host does, what the kernel must have,
 * which sysctls turn the crash into a panic, and what the dump must then
 * show.  Signatures are the kernel's own panic texts (6.1 and 6.12 print the
 * same ones) or the crash module's (images/crashmod/kdh_crash.c). */
#include "scenario/scenario.h"

/* What turns an oops (a BUG, a bad access, a trap) into a panic. */
#define PANIC_ON_OOPS "kernel.panic_on_oops=1"

/* A NULL function: the kernel prints no call trace for that panic (a
 * fatal machine check: mce_panic() panics without one, measured on 6.1). */
static const KdhTrigger triggers[] = {
    {"sysrq", KDH_FIRE_GUEST, KDH_ACTION_SYSRQ, NULL, KDH_NEEDS_NOTHING, "kernel.sysrq=1",
     "sysrq triggered crash", "sysrq_handle_crash", TRUE, FALSE,
     "the guest writes 'c' to /proc/sysrq-trigger"},
    {"sysrq-key", KDH_FIRE_HOST_KEY, KDH_ACTION_WAIT, NULL, KDH_NEEDS_NOTHING, "kernel.sysrq=1",
     "sysrq triggered crash", "sysrq_filter", FALSE, FALSE,
     "the host presses Alt+SysRq+C on the guest's keyboard (libvirt send-key)"},
    /* exc_nmi, the NMI entry every x86 NMI passes: unknown_nmi_error, which
     * Debian's 6.1 and 6.12 show, is inlined into it by kdh's own 6.12 build
     * (found by the kernel matrix: its trace went exc_nmi -> nmi_panic). */
    {"nmi", KDH_FIRE_HOST_NMI, KDH_ACTION_WAIT, NULL, KDH_NEEDS_NOTHING,
     "kernel.unknown_nmi_panic=1", "NMI: Not continuing", "exc_nmi", FALSE, FALSE,
     "the host injects an NMI (kernel.unknown_nmi_panic=1)"},
    {"hang", KDH_FIRE_HOST_WATCHDOG, KDH_ACTION_MODULE, "hang", KDH_NEEDS_CRASHMOD,
     "kernel.unknown_nmi_panic=1", "NMI: Not continuing", "kdh_crash_hang", FALSE, FALSE,
     "every CPU spins with interrupts off; the host injects an NMI once the console has "
     "been silent for hang_detect seconds, as a hardware watchdog would"},
    {"mce", KDH_FIRE_HOST_MCE, KDH_ACTION_WAIT, NULL, KDH_NEEDS_NOTHING, "",
     "Fatal local machine check", NULL, FALSE, FALSE,
     "the host injects a fatal machine check on CPU 0 (QEMU monitor 'mce')"},
    {"oom", KDH_FIRE_GUEST, KDH_ACTION_OOM, NULL, KDH_NEEDS_NOTHING, "vm.panic_on_oom=1",
     "panic_on_oom is enabled", "out_of_memory", FALSE, FALSE,
     "the guest fills a tmpfs until the OOM killer runs (vm.panic_on_oom=1)"},

    /* The crash module, built against the kernel under test. */
    {"module:panic", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "panic", KDH_NEEDS_CRASHMOD, "",
     "kdh-crash: panic", "kdh_crash_panic", TRUE, FALSE, "the crash module calls panic()"},
    {"module:bug", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "bug", KDH_NEEDS_CRASHMOD, PANIC_ON_OOPS,
     "kernel BUG at", "kdh_crash_bug", TRUE, FALSE, "the crash module hits BUG()"},
    {"module:null-deref", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "null-deref", KDH_NEEDS_CRASHMOD,
     PANIC_ON_OOPS, "BUG: kernel NULL pointer dereference", "kdh_crash_null_deref", TRUE, FALSE,
     "the crash module writes through a NULL pointer"},
    {"module:oops", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "oops", KDH_NEEDS_CRASHMOD, PANIC_ON_OOPS,
     "BUG: unable to handle page fault for address", "kdh_crash_oops", TRUE, FALSE,
     "the crash module reads an unmapped kernel address (oops, kernel.panic_on_oops=1)"},
    {"module:warn", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "warn", KDH_NEEDS_CRASHMOD,
     "kernel.panic_on_warn=1", "panic_on_warn set", "kdh_crash_warn", TRUE, FALSE,
     "the crash module hits WARN_ON() (kernel.panic_on_warn=1)"},
    {"module:divide-error", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "divide-error", KDH_NEEDS_CRASHMOD,
     PANIC_ON_OOPS, "divide error", "kdh_crash_divide_error", TRUE, FALSE,
     "the crash module divides by zero"},
    {"module:stack-corruption", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "stack-corruption",
     KDH_NEEDS_CRASHMOD, PANIC_ON_OOPS, "Kernel stack is corrupted in",
     "kdh_crash_stack_corruption", TRUE, FALSE,
     "the crash module overwrites its stack canary (stack protector)"},
    {"module:softlockup", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "softlockup", KDH_NEEDS_CRASHMOD,
     "kernel.softlockup_panic=1,kernel.watchdog_thresh=2", "softlockup: hung tasks",
     "kdh_crash_softlockup", FALSE, FALSE,
     "a kthread of the crash module spins without scheduling (kernel.softlockup_panic=1)"},
    {"module:hardlockup", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "hardlockup", KDH_NEEDS_CRASHMOD,
     "kernel.hardlockup_panic=1,kernel.watchdog_thresh=2", "Hard LOCKUP", "kdh_crash_hardlockup",
     FALSE, TRUE,
     "a kthread of the crash module spins with interrupts off (kernel.hardlockup_panic=1; a "
     "SKIP when the guest has no working NMI watchdog, as under TCG)"},
    {"module:hung-task", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "hung-task", KDH_NEEDS_CRASHMOD,
     "kernel.hung_task_panic=1,kernel.hung_task_timeout_secs=5", "hung_task: blocked tasks",
     "watchdog", FALSE, FALSE,
     "a kthread of the crash module sleeps uninterruptibly (kernel.hung_task_panic=1)"},
    {"module:console-flood", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "console-flood", KDH_NEEDS_CRASHMOD,
     "", "kdh-crash: panic after a console flood", "kdh_crash_console_flood", TRUE, FALSE,
     "the crash module writes 5 MiB of lines to the console, forged KDH: markers among them, "
     "then panics (a printk storm: the console log rotates, the verdict rests on the dump)"},
    {"module:init", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "init", KDH_NEEDS_CRASHMOD, "",
     "kdh-crash: panic in module init", "kdh_crash_init", TRUE, FALSE,
     "the crash module panics inside its init function (a driver crashing while loading)"},
    {"module:irq", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "irq", KDH_NEEDS_CRASHMOD, "",
     "kdh-crash: panic in a timer callback", "kdh_crash_irq", FALSE, FALSE,
     "the crash module panics in a timer callback (interrupt context)"},
    {"module:kthread", KDH_FIRE_GUEST, KDH_ACTION_MODULE, "kthread", KDH_NEEDS_CRASHMOD, "",
     "kdh-crash: panic in a kthread", "kdh_crash_kthread", FALSE, FALSE,
     "the crash module panics in a kernel thread it started"},

    /* LKDTM, on kernels built with it (kconfigs/lkdtm.config). */
    {"lkdtm:PANIC", KDH_FIRE_GUEST, KDH_ACTION_LKDTM, "PANIC", KDH_NEEDS_LKDTM, "", "dumptest",
     "lkdtm_PANIC", TRUE, FALSE, "LKDTM calls panic()"},
    {"lkdtm:BUG", KDH_FIRE_GUEST, KDH_ACTION_LKDTM, "BUG", KDH_NEEDS_LKDTM, PANIC_ON_OOPS,
     "kernel BUG at", "lkdtm_BUG", TRUE, FALSE, "LKDTM hits BUG()"},
    {"lkdtm:WARNING", KDH_FIRE_GUEST, KDH_ACTION_LKDTM, "WARNING", KDH_NEEDS_LKDTM,
     "kernel.panic_on_warn=1", "panic_on_warn set", "lkdtm_WARNING", TRUE, FALSE,
     "LKDTM hits WARN_ON() (kernel.panic_on_warn=1)"},
    {"lkdtm:EXCEPTION", KDH_FIRE_GUEST, KDH_ACTION_LKDTM, "EXCEPTION", KDH_NEEDS_LKDTM,
     PANIC_ON_OOPS, "BUG: kernel NULL pointer dereference", "lkdtm_EXCEPTION", TRUE, FALSE,
     "LKDTM writes through a NULL pointer"},
    {"lkdtm:CORRUPT_STACK", KDH_FIRE_GUEST, KDH_ACTION_LKDTM, "CORRUPT_STACK", KDH_NEEDS_LKDTM,
     PANIC_ON_OOPS, "Kernel stack is corrupted in", NULL, TRUE, FALSE,
     "LKDTM overwrites a stack canary"},
    {"lkdtm:SOFTLOCKUP", KDH_FIRE_GUEST, KDH_ACTION_LKDTM, "SOFTLOCKUP", KDH_NEEDS_LKDTM,
     "kernel.softlockup_panic=1,kernel.watchdog_thresh=2", "softlockup: hung tasks",
     "lkdtm_SOFTLOCKUP", FALSE, FALSE, "LKDTM spins with preemption off"},
    {"lkdtm:HUNG_TASK", KDH_FIRE_GUEST, KDH_ACTION_LKDTM, "HUNG_TASK", KDH_NEEDS_LKDTM,
     "kernel.hung_task_panic=1,kernel.hung_task_timeout_secs=5", "hung_task: blocked tasks",
     "watchdog", FALSE, FALSE, "LKDTM sleeps uninterruptibly (kernel.hung_task_panic=1)"},
};

const KdhTrigger *kdh_trigger_find(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(triggers); i++) {
		if (g_strcmp0(triggers[i].name, name) == 0)
			return &triggers[i];
	}
	return NULL;
}

const KdhTrigger *kdh_triggers(gsize *n)
{
	*n = G_N_ELEMENTS(triggers);
	return triggers;
}

static const char *const reason_names[KDH_REASON_COUNT] = {
    [KDH_REASON_NONE] = "none",
    [KDH_REASON_RESERVATION_FAILED] = "reservation-failed",
    [KDH_REASON_KEXEC_LOAD_FAILED] = "kexec-load-failed",
    [KDH_REASON_CAPTURE_KERNEL_OOM] = "capture-kernel-oom",
    [KDH_REASON_CAPTURE_KERNEL_PANIC] = "capture-kernel-panic",
    [KDH_REASON_CAPTURE_TIMEOUT] = "capture-timeout",
};

const char *kdh_reason_name(KdhNoDumpReason reason)
{
	return reason < KDH_REASON_COUNT ? reason_names[reason] : "none";
}

gboolean kdh_reason_parse(const char *name, KdhNoDumpReason *out)
{
	for (guint i = KDH_REASON_NONE + 1; i < KDH_REASON_COUNT; i++) {
		if (g_strcmp0(reason_names[i], name) == 0) {
			*out = i;
			return TRUE;
		}
	}
	return FALSE;
}
