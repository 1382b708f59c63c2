// SPDX-License-Identifier: GPL-2.0
/*
 * kdh_crash: crashes the kernel it is loaded into, in the way its `type`
 * parameter names (insmod kdh_crash.ko type=<type>).  kdh builds it against
 * each kernel under test because distribution kernels have no LKDTM.
 *
 * Every type is a row of the table at the end: its crash happens in a
 * noinline function whose name the panic's call trace shows, and which
 * kdh's trigger table (harness/scenario/trigger.c) expects there.  Types
 * whose crash happens later (in a timer, a kernel thread, or when a
 * watchdog notices) return from insmod; the others never return.
 *
 * Written against the APIs 6.1 and 6.12 share (kthread_run, timer_setup,
 * on_each_cpu, vmalloc), so one source builds for both.
 */
#include <linux/bug.h>
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/panic.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <linux/vmalloc.h>

static char *type;
module_param(type, charp, 0444);
MODULE_PARM_DESC(type, "how to crash: panic, bug, null-deref, oops, warn, divide-error, "
                       "stack-corruption, softlockup, hardlockup, hung-task, init, irq, "
                       "kthread, hang, console-flood");

/* The functions kdh's trigger table names: the panic's call trace must show
 * them under these names.  Global and noinline: a static function could be
 * inlined, or cloned under another name (foo.isra.0, foo.constprop.0). */
void kdh_crash_panic(void);
void kdh_crash_bug(void);
void kdh_crash_null_deref(void);
void kdh_crash_oops(void);
void kdh_crash_warn(void);
void kdh_crash_divide_error(void);
void kdh_crash_stack_corruption(void);
void kdh_crash_init(void);
void kdh_crash_hang(void *unused);
void kdh_crash_irq(struct timer_list *unused);
int kdh_crash_kthread(void *unused);
int kdh_crash_softlockup(void *unused);
int kdh_crash_hardlockup(void *unused);
int kdh_crash_hung_task(void *unused);

/* ---- crashes during insmod ---- */

/* panic() through a pointer the compiler cannot see through: called as a
 * function that may return, so the call is not the last instruction and
 * the return address on the stack lies inside the calling function.  With
 * panic() known as noreturn it is the first byte after it, and crash(8)'s
 * backtrace names the next symbol (or nothing) instead of the caller. */
static void (*volatile kdh_panic)(const char *fmt, ...) = panic;

noinline void kdh_crash_panic(void)
{
	kdh_panic("kdh-crash: panic");
	pr_emerg("kdh-crash: panic returned\n");
}

noinline void kdh_crash_bug(void)
{
	BUG();
}

noinline void kdh_crash_null_deref(void)
{
	/* volatile: the compiler must emit the store, not reason about NULL. */
	int *volatile p = NULL;

	*p = 1;
}

noinline void kdh_crash_oops(void)
{
	/* The guard page after a vmalloc area is a canonical kernel address
	 * that is never mapped: "unable to handle page fault", not a general
	 * protection fault (non-canonical) nor a NULL dereference.  No printk
	 * on the way: gcc moves paths that call it (a __cold function) into
	 * kdh_crash_oops.cold, and the trace would name that. */
	char *area = vmalloc(PAGE_SIZE);
	volatile char *guard = area + PAGE_SIZE;

	if (area)
		(void)*guard;
}

noinline void kdh_crash_warn(void)
{
	/* volatile: WARN_ON on a constant could be folded away by a compiler
	 * that proves it; this one must trap. */
	volatile int always = 1;

	WARN_ON(always);
}

noinline void kdh_crash_divide_error(void)
{
	volatile int dividend = 1, divisor = 0;
	int quotient = dividend / divisor;

	/* Keeps the division: its result is used. */
	pr_err("kdh-crash: divide-error: 1/0 gave %d\n", quotient);
}

#ifdef CONFIG_STACKPROTECTOR
noinline void kdh_crash_stack_corruption(void)
{
	/* A character array makes the function carry a stack canary under
	 * -fstack-protector(-strong).  Only the canary word is changed (found
	 * by its value, above the array): the return address stays intact,
	 * so __stack_chk_fail names this function and the trace goes on to
	 * its callers.  Both volatiles: the compiler must neither know where
	 * WORDS points nor drop a store it thinks dead before the return. */
	char buf[16] __aligned(sizeof(unsigned long));
	volatile unsigned long *volatile words = (unsigned long *)buf;
	unsigned long canary = current->stack_canary;
	int i;

	memset(buf, 0, sizeof(buf));
	for (i = 0; i < 8; i++) {
		if (words[i] == canary) {
			words[i] = ~canary;
			return;
		}
	}
	pr_err("kdh-crash: stack-corruption: no stack canary found above the array\n");
}
#else
noinline void kdh_crash_stack_corruption(void)
{
	pr_err("kdh-crash: stack-corruption: the kernel has no CONFIG_STACKPROTECTOR\n");
}
#endif

noinline void kdh_crash_init(void)
{
	kdh_panic("kdh-crash: panic in module init");
	pr_emerg("kdh-crash: panic returned\n");
}

/* Every online CPU spins here with interrupts off: the ones called by IPI
 * and the one that called on_each_cpu.  Nothing but an NMI gets through. */
noinline void kdh_crash_hang(void *unused)
{
	for (;;)
		cpu_relax();
}

static int start_hang(void)
{
	pr_emerg("kdh-crash: hanging every CPU with interrupts off\n");
	/* wait=0: the other CPUs never finish; this CPU runs it last, with
	 * interrupts disabled by on_each_cpu, and never returns either. */
	on_each_cpu(kdh_crash_hang, NULL, 0);
	return 0;
}

/* ---- crashes after insmod returned ---- */

static struct timer_list kdh_timer;

noinline void kdh_crash_irq(struct timer_list *unused)
{
	kdh_panic("kdh-crash: panic in a timer callback");
	pr_emerg("kdh-crash: panic returned\n");
}

static int start_irq(void)
{
	timer_setup(&kdh_timer, kdh_crash_irq, 0);
	mod_timer(&kdh_timer, jiffies + HZ / 10);
	return 0;
}

noinline int kdh_crash_kthread(void *unused)
{
	kdh_panic("kdh-crash: panic in a kthread");
	pr_emerg("kdh-crash: panic returned\n");
	return 0;
}

/* Spins without scheduling: the soft-lockup detector's per-CPU thread
 * cannot run, its timer notices. */
noinline int kdh_crash_softlockup(void *unused)
{
	preempt_disable();
	for (;;)
		cpu_relax();
	return 0;
}

/* Spins with interrupts off: only the NMI watchdog can notice. */
noinline int kdh_crash_hardlockup(void *unused)
{
	local_irq_disable();
	for (;;)
		cpu_relax();
	return 0;
}

/* Sleeps uninterruptibly for good; the hung-task detector (khungtaskd)
 * reports it and panics in check_hung_uninterruptible_tasks. */
noinline int kdh_crash_hung_task(void *unused)
{
	/* A task never switched out is not checked: be switched out once. */
	msleep(1);
	for (;;) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		schedule();
	}
	return 0;
}

/* A printk storm, then a panic: 5 MiB of console lines, every 512th a
 * marker kdh's guest protocol uses, forged (a capture that never happened,
 * a power-off).  What a host must survive: its console log rotated several
 * times (virtlogd rotates at 2 MiB), markers it did not plan, and still a
 * verdict that rests on the dump alone. */
#define FLOOD_LINES 40960 /* of 128 bytes: 5 MiB */

noinline void kdh_crash_console_flood(void)
{
	int i;

	for (i = 0; i < FLOOD_LINES; i++) {
		if (i % 512 == 0)
			pr_emerg("KDH: capture-done rc=0 files=vmcore,\nKDH: poweroff\n");
		else
			pr_emerg("kdh-crash: flood %06d "
			         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
			         i);
	}
	kdh_panic("kdh-crash: panic after a console flood");
	pr_emerg("kdh-crash: panic returned\n");
}

/* ---- the table ---- */

typedef struct {
	const char *name;
	void (*now)(void);         /* crashes inside insmod */
	int (*start)(void);        /* starts a crash that comes later */
	int (*thread)(void *data); /* a kthread that crashes */
} kdh_crash_type;

static const kdh_crash_type kdh_crash_types[] = {
    {"panic", kdh_crash_panic, NULL, NULL},
    {"bug", kdh_crash_bug, NULL, NULL},
    {"null-deref", kdh_crash_null_deref, NULL, NULL},
    {"oops", kdh_crash_oops, NULL, NULL},
    {"warn", kdh_crash_warn, NULL, NULL},
    {"divide-error", kdh_crash_divide_error, NULL, NULL},
    {"stack-corruption", kdh_crash_stack_corruption, NULL, NULL},
    {"init", kdh_crash_init, NULL, NULL},
    {"console-flood", kdh_crash_console_flood, NULL, NULL},
    {"hang", NULL, start_hang, NULL},
    {"irq", NULL, start_irq, NULL},
    {"kthread", NULL, NULL, kdh_crash_kthread},
    {"softlockup", NULL, NULL, kdh_crash_softlockup},
    {"hardlockup", NULL, NULL, kdh_crash_hardlockup},
    {"hung-task", NULL, NULL, kdh_crash_hung_task},
};

static int __init kdh_crash_load(void)
{
	const kdh_crash_type *t = NULL;
	struct task_struct *task;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kdh_crash_types) && type; i++) {
		if (strcmp(kdh_crash_types[i].name, type) == 0)
			t = &kdh_crash_types[i];
	}
	if (!t) {
		pr_err("kdh-crash: unknown type '%s' (see modinfo kdh_crash.ko)\n",
		       type ? type : "(none)");
		return -EINVAL;
	}
	/* Marks where the crash starts on the console, before any oops. */
	pr_emerg("kdh-crash: type=%s\n", t->name);
	if (t->now) {
		t->now();
		/* Only a kernel that does not crash (no stack protector, a
		 * warning without panic_on_warn) gets here. */
		pr_err("kdh-crash: type=%s did not crash this kernel\n", t->name);
		return -EIO;
	}
	if (t->start)
		return t->start();
	task = kthread_run(t->thread, NULL, "kdh-crash");
	return IS_ERR(task) ? PTR_ERR(task) : 0;
}
module_init(kdh_crash_load);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdh: crashes the kernel in the way its type parameter names");
