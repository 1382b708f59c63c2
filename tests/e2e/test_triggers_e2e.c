/* End to end, every part real, the crash types: build/kdh runs the trigger
 * scenarios with two jobs on the default Debian kernel and the test reads
 * what each case left.  `make check` runs the four the issue names (the
 * host's Alt+SysRq+C, a crash module type, OOM, a diagnosed negative case);
 * `make check-full` every trigger of scenarios/ on that kernel and the
 * LKDTM types on the built 6.12 kernel (tag slow). */
#include <check.h>
#include <glib.h>
#include <string.h>

#include "support.h"
#include "util/util.h"

static char *results;

static void setup(void)
{
	results = g_dir_make_tmp("kdh-e2e-XXXXXX", NULL);
	ck_assert_ptr_nonnull(results);
}

static void teardown(void)
{
	kdh_rm_rf(results);
	g_free(results);
}

/* Runs build/kdh with ARGS, expects WANT_EXIT and nothing left running. */
static void run_kdh(const char *const *args, int want_exit)
{
	GPid pid = 0;

	ck_assert_int_eq(kdh_test_run(args, &pid), want_exit);
	kdh_test_assert_nothing_left(pid);
}

/* Case CASE_NAME of the run has verdict WANT with NEEDLES in what it
 * rests on (kdh_test_assert_case). */
static void assert_case(const char *case_name, const char *want, const char *const *needles)
{
	g_autoptr(JsonParser) parser = json_parser_new();

	kdh_test_assert_case(results, case_name, want, needles, parser);
}

/* The negative case: a reservation the capture kernel runs out of memory
 * in (FACTS: 96M on a 1 GiB mini guest reaches "System is deadlocked on
 * memory"), expected and diagnosed as such. */
#define CAPTURE_OOM                                                                                \
	"[scenario]\nname=no-dump-capture-oom\n[vm]\nmemory=1G\ncrashkernel=96M\n"                 \
	"[expect]\noutcome=no-dump\nreason=capture-kernel-oom\n"

START_TEST(host_key_module_oom_and_a_diagnosis)
{
	g_autofree char *module = g_build_filename(results, "module-bug.ini", NULL);
	g_autofree char *oom = g_build_filename(results, "no-dump-capture-oom.ini", NULL);
	const char *args[] = {"run",
	                      "--jobs",
	                      "2",
	                      "--keep-dumps",
	                      "never",
	                      "--results",
	                      results,
	                      "scenarios/trigger-sysrq-key.ini",
	                      "scenarios/trigger-oom.ini",
	                      module,
	                      oom,
	                      NULL};
	const char *const key[] = {"sysrq triggered crash", "sysrq_filter", NULL};
	const char *const mod[] = {"kernel BUG at", "kdh_crash_bug", NULL};
	const char *const mem[] = {"panic_on_oom is enabled", "out_of_memory", NULL};
	const char *const diag[] = {"capture-kernel-oom", NULL};

	ck_assert(g_file_set_contents(
	    module, "[scenario]\nname=module-bug\n[crash]\ntrigger=module:bug\n", -1, NULL));
	ck_assert(g_file_set_contents(oom, CAPTURE_OOM, -1, NULL));
	run_kdh(args, 0);
	assert_case("trigger-sysrq-key", "PASS", key);
	assert_case("module-bug", "PASS", mod);
	assert_case("trigger-oom", "PASS", mem);
	assert_case("no-dump-capture-oom", "PASS", diag);
}
END_TEST

/* Every trigger scenario on the default kernel: each PASSes on its own
 * signature and function, except the hard lockup, which TCG cannot have
 * (no NMI watchdog): a SKIP that says so. */
START_TEST(every_trigger_on_the_default_kernel)
{
	const char *args[] = {"run",
	                      "--jobs",
	                      "2",
	                      "--keep-dumps",
	                      "never",
	                      "--results",
	                      results,
	                      "scenarios/nmi.ini",
	                      "scenarios/trigger-sysrq-cpu.ini",
	                      "scenarios/trigger-mce.ini",
	                      "scenarios/trigger-hang.ini",
	                      "scenarios/trigger-module.ini",
	                      NULL};
	static const struct {
		const char *name, *verdict, *needle;
	} want[] = {
	    {"nmi", "PASS", "exc_nmi"},
	    {"trigger-sysrq-cpu", "PASS", "sysrq_handle_crash"},
	    {"trigger-mce", "PASS", "Fatal local machine check"},
	    {"trigger-hang", "PASS", "kdh_crash_hang"},
	    {"module-triggermodule_panic", "PASS", "kdh-crash: panic"},
	    {"module-triggermodule_bug", "PASS", "kernel BUG at"},
	    {"module-triggermodule_null-deref", "PASS", "BUG: kernel NULL pointer dereference"},
	    {"module-triggermodule_oops", "PASS", "BUG: unable to handle page fault"},
	    {"module-triggermodule_warn", "PASS", "panic_on_warn set"},
	    {"module-triggermodule_divide-error", "PASS", "divide error"},
	    {"module-triggermodule_stack-corruption", "PASS", "Kernel stack is corrupted in"},
	    {"module-triggermodule_softlockup", "PASS", "softlockup: hung tasks"},
	    {"module-triggermodule_hardlockup", "SKIP", "no working NMI watchdog"},
	    {"module-triggermodule_hung-task", "PASS", "hung_task: blocked tasks"},
	    {"module-triggermodule_init", "PASS", "kdh-crash: panic in module init"},
	    {"module-triggermodule_irq", "PASS", "kdh-crash: panic in a timer callback"},
	    {"module-triggermodule_kthread", "PASS", "kdh-crash: panic in a kthread"},
	};

	/* Exit 0: SKIP counts as passed. */
	run_kdh(args, 0);
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		const char *const needles[] = {want[i].needle, NULL};
		assert_case(want[i].name, want[i].verdict, needles);
	}
}
END_TEST

/* LKDTM's crash points on the 6.12 kernel built with kconfigs/lkdtm.config
 * (built on first use: minutes): each PASSes on its own panic line and
 * LKDTM's function. */
START_TEST(lkdtm_on_the_built_kernel)
{
	const char *args[] = {"run",   "--jobs",    "2",     "--keep-dumps",
	                      "never", "--results", results, "scenarios/trigger-lkdtm.ini",
	                      NULL};
	static const struct {
		const char *name, *needle;
	} want[] = {
	    {"lkdtm-triggerlkdtm_PANIC", "lkdtm_PANIC"},
	    {"lkdtm-triggerlkdtm_BUG", "kernel BUG at"},
	    {"lkdtm-triggerlkdtm_WARNING", "panic_on_warn set"},
	    {"lkdtm-triggerlkdtm_EXCEPTION", "lkdtm_EXCEPTION"},
	    {"lkdtm-triggerlkdtm_CORRUPT_STACK",
	     "Kernel stack is corrupted in: lkdtm_CORRUPT_STACK"},
	    {"lkdtm-triggerlkdtm_SOFTLOCKUP", "lkdtm_SOFTLOCKUP"},
	    {"lkdtm-triggerlkdtm_HUNG_TASK", "hung_task: blocked tasks"},
	};

	run_kdh(args, 0);
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		const char *const needles[] = {want[i].needle, NULL};
		assert_case(want[i].name, "PASS", needles);
	}
}
END_TEST

Suite *triggers_e2e_suite(void);
Suite *triggers_e2e_suite(void)
{
	Suite *s = suite_create("triggers-e2e");
	TCase *tc = tcase_create("triggers");

	tcase_set_tags(tc, "e2e");
	tcase_set_timeout(tc, 1800);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, host_key_module_oom_and_a_diagnosis);
	suite_add_tcase(s, tc);

	tc = tcase_create("every-trigger");
	tcase_set_tags(tc, "e2e slow");
	tcase_set_timeout(tc, 3600);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_trigger_on_the_default_kernel);
	tcase_add_test(tc, lkdtm_on_the_built_kernel);
	suite_add_tcase(s, tc);
	return s;
}
