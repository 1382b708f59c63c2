/* The crash(8) cross-check for real (`make check-full`): a sysrq dump of
 * the default Debian kernel made by build/kdh, the kernel's -dbg vmlinux
 * fetched (~770 MB download the first time, cached after), Debian's crash
 * on both: PASS with sysrq_handle_crash in the panic task's backtrace.
 * Then the negatives, with crash's words: a function the trace does not
 * hold, and the vmlinux of another kernel (kdh's 6.12 build, made by the
 * kernel_e2e suite before, or here when missing). */
#include <check.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "kernel/kernel.h"
#include "scenario/scenario.h"
#include "support.h"
#include "util/util.h"
#include "verdict/verdict.h"

Suite *crash_e2e_suite(void);

static char *results;

static void setup(void)
{
	results = g_dir_make_tmp("kdh-crash-e2e-XXXXXX", NULL);
	ck_assert_ptr_nonnull(results);
}

static void teardown(void)
{
	kdh_rm_rf(results);
	g_free(results);
}

/* The debug vmlinux of REF, fetched or built when missing. */
static char *vmlinux_of(const char *ref, const char *cache)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = kdh_kernel_resolve(ref, cache, &error);
	char *path;

	ck_assert_msg(k != NULL, "%s: %s", ref, error ? error->message : "");
	path = kdh_kernel_debug_vmlinux(k, TRUE, cache, &error);
	ck_assert_msg(path != NULL, "%s: %s", ref, error ? error->message : "");
	return path;
}

START_TEST(crash_opens_a_real_dump_and_finds_the_function)
{
	const char *run[] = {"run",       "--keep-dumps", "always",
	                     "--results", results,        "scenarios/smoke-sysrq.ini",
	                     NULL};
	g_autoptr(GError) error = NULL;
	g_autofree char *cache = kdh_cache_dir(&error);
	g_autofree char *dir = NULL, *vmcore = NULL, *txt = NULL, *text = NULL;
	g_autofree char *vmlinux = NULL, *other = NULL;
	g_autoptr(GPtrArray) cases = NULL;
	KdhCase *c;
	gint64 t0;

	ck_assert_ptr_nonnull(cache);
	ck_assert_int_eq(kdh_test_run(run, NULL), 0);
	{
		g_autofree char *run_dir = kdh_test_run_folder(results);
		dir = g_build_filename(run_dir, "smoke-sysrq", NULL);
	}
	vmcore = g_build_filename(dir, "vmcore", NULL);
	txt = g_build_filename(dir, "crash.txt", NULL);
	ck_assert(g_file_test(vmcore, G_FILE_TEST_IS_REGULAR));

	t0 = g_get_monotonic_time();
	vmlinux = vmlinux_of("debian:default", cache);
	fprintf(stderr, "crash_e2e: debug vmlinux of debian:default in %.1f s (%s)\n",
	        (g_get_monotonic_time() - t0) / 1e6, vmlinux);
	cases = kdh_scenario_load("scenarios/smoke-sysrq.ini", &error);
	ck_assert_msg(cases != NULL, "%s", error ? error->message : "");
	c = cases->pdata[0];
	/* The function comes from the trigger table's sysrq row. */
	ck_assert_str_eq(c->expect_function, "sysrq_handle_crash");

	{
		g_autoptr(KdhResult) r = kdh_result_new(c->name);
		g_autofree char *why = NULL, *what = NULL;

		t0 = g_get_monotonic_time();
		kdh_verdict_crash(r, c, vmlinux, vmcore, txt);
		fprintf(stderr, "crash_e2e: crash(8) on the dump in %.1f s\n",
		        (g_get_monotonic_time() - t0) / 1e6);
		why = joined(r->reasons);
		what = joined(r->checks);
		ck_assert_msg(r->verdict == KDH_VERDICT_PASS, "%s", why);
		ck_assert_ptr_nonnull(strstr(what, "= the dump's VMCOREINFO BUILD-ID"));
		ck_assert_ptr_nonnull(strstr(what,
		                             "crash(8) sys PANIC: \"Kernel panic - not syncing: "
		                             "sysrq triggered crash\""));
		ck_assert_ptr_nonnull(strstr(what, " sysrq_handle_crash]"));
		ck_assert(g_file_get_contents(txt, &text, NULL, NULL));
		ck_assert_ptr_nonnull(strstr(text, "] sysrq_handle_crash at "));
	}
	{
		g_autoptr(KdhResult) r = kdh_result_new(c->name);
		g_autofree char *why = NULL;

		g_free(c->expect_function);
		c->expect_function = g_strdup("kdh_no_such_function");
		kdh_verdict_crash(r, c, vmlinux, vmcore, txt);
		why = joined(r->reasons);
		ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
		ck_assert_msg(strstr(why, "holds no kdh_no_such_function: machine_kexec, "), "%s",
		              why);
		ck_assert_ptr_nonnull(strstr(why, "sysrq_handle_crash"));
	}
	{
		g_autoptr(KdhResult) r = kdh_result_new(c->name);
		g_autofree char *why = NULL;

		other = vmlinux_of("build:linux-source-6.12+kdump,virt,lkdtm", cache);
		g_free(c->expect_function);
		c->expect_function = g_strdup("sysrq_handle_crash");
		kdh_verdict_crash(r, c, other, vmcore, txt);
		why = joined(r->reasons);
		ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
		ck_assert_msg(strstr(why, "is not the dump's kernel (VMCOREINFO BUILD-ID "), "%s",
		              why);
		/* crash's own words, from its debug level since it says nothing
		 * otherwise. */
		ck_assert_msg(strstr(why,
		                     "crash(8) cannot open the dump (exit status 1): (crash -d "
		                     "1) crash: "),
		              "%s", why);
	}
}
END_TEST

Suite *crash_e2e_suite(void)
{
	Suite *s = suite_create("crash_e2e");
	TCase *tc = tcase_create("crash");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "e2e slow");
	/* A download of ~770 MB the first time, a VM cycle, and perhaps a
	 * 6.12 build (minutes on 2 cores). */
	tcase_set_timeout(tc, 3600);
	tcase_add_test(tc, crash_opens_a_real_dump_and_finds_the_function);
	suite_add_tcase(s, tc);
	return s;
}
