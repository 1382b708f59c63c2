/* The panic classes: one row per class, with the console lines that
 * recognise it and the kdh trigger that reproduces it.  Rows are tried in
 * order, so a specific class (a soft lockup, whose line starts "BUG:")
 * comes before a general one ("kernel BUG at"), and a warning before an
 * oops is only the oops's prelude: warn comes after the oops classes. */
#include "reproduce/reproduce.h"

#include <string.h>

#define PATTERNS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const KdhPanicClass classes[] = {
    {"soft-lockup", PATTERNS("BUG: soft lockup", "softlockup: hung tasks"), "module:softlockup",
     "a CPU stuck in kernel code with interrupts on (softlockup_panic)"},
    {"hard-lockup", PATTERNS("hard LOCKUP", "Hard LOCKUP"), "module:hardlockup",
     "a CPU stuck with interrupts off, caught by the NMI watchdog (hardlockup_panic)"},
    {"hung-task", PATTERNS("hung_task: blocked tasks", "blocked for more than"), "module:hung-task",
     "a task in D state too long (hung_task_panic)"},
    {"oom",
     PATTERNS("panic_on_oom is enabled", "Out of memory and no killable processes",
              "System is deadlocked on memory"),
     "oom", "memory exhausted with vm.panic_on_oom, or nothing left to kill"},
    {"mce", PATTERNS("machine check", "Machine check", "[Hardware Error]"), "mce",
     "a fatal machine check exception"},
    {"nmi",
     PATTERNS("NMI: Not continuing", "NMI received for unknown reason", "NMI IOCK error",
              "NMI: PCI system error"),
     "nmi", "an NMI with unknown_nmi_panic (the host's or a BMC's NMI button)"},
    {"sysrq",
     PATTERNS("sysrq triggered crash", "sysrq: Trigger a crash", "SysRq : Trigger a crash"),
     "sysrq", "a crash asked for through sysrq-c"},
    {"null-deref",
     PATTERNS("BUG: kernel NULL pointer dereference",
              "Unable to handle kernel NULL pointer dereference"),
     "module:null-deref", "an oops on a NULL pointer (panic_on_oops)"},
    {"page-fault",
     PATTERNS("BUG: unable to handle page fault", "BUG: unable to handle kernel paging request",
              "Unable to handle kernel paging request"),
     "module:oops", "an oops on a bad address (panic_on_oops)"},
    {"divide-error", PATTERNS("divide error: "), "module:divide-error",
     "a division by zero in the kernel (panic_on_oops)"},
    {"stack-corruption", PATTERNS("Kernel stack is corrupted in", "stack-protector:"),
     "module:stack-corruption", "the stack protector's canary overwritten"},
    {"bug", PATTERNS("kernel BUG at", "invalid opcode: "), "module:bug",
     "a BUG() or BUG_ON() (panic_on_oops)"},
    {"warn", PATTERNS("panic_on_warn set", "WARNING: CPU: "), "module:warn",
     "a WARN() with panic_on_warn"},
    {"general-protection", PATTERNS("general protection fault"), "module:oops",
     "a general protection fault oops (reproduced as a bad-address oops)"},
    {"oops", PATTERNS("Oops: ", "Fatal exception"), "module:oops",
     "an oops of another kind (panic_on_oops)"},
    {"panic", PATTERNS("Kernel panic - not syncing: "), "module:panic", "a direct call of panic()"},
};

const KdhPanicClass *kdh_panic_classes(gsize *n)
{
	*n = G_N_ELEMENTS(classes);
	return classes;
}

const KdhPanicClass *kdh_panic_class_find(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(classes); i++) {
		if (g_str_equal(classes[i].name, name))
			return &classes[i];
	}
	return NULL;
}

const KdhPanicClass *kdh_panic_class_of_line(const char *line)
{
	/* A command line names sysctls and options ("vm.panic_on_oom=1"), a kdh
	 * marker quotes one: neither is a crash. */
	if (strstr(line, "ommand line: ") || g_str_has_prefix(line, "KDH: "))
		return NULL;
	for (gsize i = 0; i < G_N_ELEMENTS(classes); i++) {
		for (const char *const *p = classes[i].patterns; *p; p++) {
			if (strstr(line, *p))
				return &classes[i];
		}
	}
	return NULL;
}
