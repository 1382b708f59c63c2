/* Why a case has no dump, from its console: one table of the lines that
 * say so, each with the kernel (or tool) that prints it.  The table's order
 * is the diagnosis's priority: a reservation that failed explains the kexec
 * error after it, and an out-of-memory panic in the capture kernel is an
 * OOM before it is a panic.  Texts from Debian's linux-source-6.1 (6.1.192)
 * and linux-source-6.12 (6.12.117), kexec-tools 2.0.25 and the mini guest's
 * init (images/mini/init). */
#include "verdict/verdict.h"

#include <string.h>

/* Which kernel's part of the log a line must be in. */
typedef enum {
	IN_FIRST,   /* before the capture kernel's banner */
	IN_CAPTURE, /* from the capture kernel's banner on */
} Where;

typedef struct {
	KdhNoDumpReason reason;
	Where where;
	const char *needle;
} Sign;

static const Sign signs[] = {
    /* 6.1 arch/x86/kernel/setup.c reserve_crashkernel(): "crashkernel
     * reservation failed - No suitable area found." and "... - memory is in
     * use."; 6.12 kernel/crash_reserve.c: "... - memory is in use." */
    {KDH_REASON_RESERVATION_FAILED, IN_FIRST, "crashkernel reservation failed"},
    /* 6.12 kernel/crash_reserve.c: "cannot allocate crashkernel (size:0x...)"
     * and "cannot allocate crashkernel low memory (size:0x...)" */
    {KDH_REASON_RESERVATION_FAILED, IN_FIRST, "cannot allocate crashkernel"},
    /* 6.1 setup.c: "Cannot reserve %ldMB crashkernel low memory, please try
     * smaller size." */
    {KDH_REASON_RESERVATION_FAILED, IN_FIRST, "crashkernel low memory, please try smaller"},
    /* 6.1 kernel/crash_core.c, 6.12 kernel/crash_reserve.c */
    {KDH_REASON_RESERVATION_FAILED, IN_FIRST, "crashkernel size resulted in zero bytes"},
    /* kexec-tools when /sys/kernel/kexec_crash_size is 0: the only word a
     * 6.12 kernel leaves when crashkernel= is at least the RAM (its
     * parse_crashkernel() refuses that silently) or no range matches. */
    {KDH_REASON_RESERVATION_FAILED, IN_FIRST, "Memory for crashkernel is not reserved"},
    /* The mini guest: "KDH: error step=arm msg=..." (kexec -p failed, or
     * kexec_crash_loaded stayed 0); the console watch words it "the guest
     * failed at step arm: ..." in the evidence. */
    {KDH_REASON_KEXEC_LOAD_FAILED, IN_FIRST, "KDH: error step=arm "},
    {KDH_REASON_KEXEC_LOAD_FAILED, IN_FIRST, "failed at step arm:"},
    {KDH_REASON_KEXEC_LOAD_FAILED, IN_FIRST, "no capture kernel loaded"},
    /* mm/oom_kill.c (6.1, 6.12): the panic "System is deadlocked on memory",
     * "Out of memory and no killable processes...", "Out of memory: Killed
     * process", "Out of memory: ... panic_on_oom is enabled",
     * "<comm> invoked oom-killer: gfp_mask=..." */
    {KDH_REASON_CAPTURE_KERNEL_OOM, IN_CAPTURE, "System is deadlocked on memory"},
    {KDH_REASON_CAPTURE_KERNEL_OOM, IN_CAPTURE, "Out of memory"},
    {KDH_REASON_CAPTURE_KERNEL_OOM, IN_CAPTURE, " invoked oom-killer: "},
    /* mm/page_alloc.c warn_alloc(): "<comm>: page allocation failure: order:N" */
    {KDH_REASON_CAPTURE_KERNEL_OOM, IN_CAPTURE, ": page allocation failure: order:"},
    /* init/initramfs.c: the panics "can't allocate buffers", "can't allocate
     * link hash entry", "can't allocate dir_entry buffer"; "Initramfs
     * unpacking failed: write error" is the rootfs (tmpfs) full. */
    {KDH_REASON_CAPTURE_KERNEL_OOM, IN_CAPTURE, "Kernel panic - not syncing: can't allocate"},
    {KDH_REASON_CAPTURE_KERNEL_OOM, IN_CAPTURE, "Initramfs unpacking failed: write error"},
    /* kernel/panic.c: any other panic of the capture kernel. */
    {KDH_REASON_CAPTURE_KERNEL_PANIC, IN_CAPTURE, "Kernel panic - not syncing"},
};

/* The first line of LINES (from FROM to TO) holding NEEDLE, or -1. */
static gint find(GPtrArray *lines, guint from, guint to, const char *needle)
{
	for (guint i = from; i < to; i++) {
		if (strstr(g_ptr_array_index(lines, i), needle))
			return (gint)i;
	}
	return -1;
}

static gboolean phase_is(const KdhConsoleEvidence *con, const char *phase)
{
	return con->timeout_phase && g_str_equal(con->timeout_phase, phase);
}

KdhNoDumpReason kdh_verdict_diagnose(const KdhSerialLog *log, const KdhConsoleEvidence *con,
                                     char **evidence)
{
	g_autoptr(GPtrArray) own = NULL;
	GPtrArray *lines;
	guint capture_from;
	gboolean capture_ran;

	*evidence = NULL;
	if (log) {
		lines = log->lines;
		capture_from = log->capture_from;
	} else {
		/* No log: what the watch kept of the console is all there is.
		 * Its failure is the first one: the capture kernel's when the
		 * capture started (the first kernel armed and crashed). */
		own = g_ptr_array_new();
		if (con->guest_failure)
			g_ptr_array_add(own, con->guest_failure);
		lines = own;
		capture_from = con->capture_started ? 0 : own->len;
	}
	capture_ran = capture_from < lines->len || con->capture_started;
	for (gsize s = 0; s < G_N_ELEMENTS(signs); s++) {
		const Sign *sign = &signs[s];
		gint at;

		/* A kernel that armed kexec reserved its memory and loaded the
		 * capture kernel, whatever a line says. */
		if (sign->where == IN_FIRST && con->armed)
			continue;
		at = sign->where == IN_FIRST ? find(lines, 0, capture_from, sign->needle)
		                             : find(lines, capture_from, lines->len, sign->needle);
		if (at >= 0) {
			*evidence = g_strstrip(g_strdup(g_ptr_array_index(lines, at)));
			return sign->reason;
		}
	}
	/* The capture kernel came up and said nothing fatal: it ran out of
	 * time, or (the crash phase timing out after its banner) booted too
	 * slowly to start the capture. */
	if (phase_is(con, "capture") || (capture_ran && phase_is(con, "crash"))) {
		*evidence = g_strdup(con->timeout_message ? con->timeout_message
		                                          : "the capture phase timed out");
		return KDH_REASON_CAPTURE_TIMEOUT;
	}
	return KDH_REASON_NONE;
}
