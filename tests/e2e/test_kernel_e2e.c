/* The kernel side of the compatibility matrix, for real.  Quick: the
 * Debian fetch and check-config.  Slow (`make check-full`): a 6.12 kernel built from Debian's
 * linux-source-6.12 and kdh's kconfig fragments, and two fetched Debian kernels of other ABIs and
 * flavours, each through a full cycle in the mini guest.  The build takes
 * 5-12 minutes on 2 cores the first time; the cache makes later runs a
 * no-op (the same inputs hash to the same entry). */
#include <check.h>
#include <glib.h>

#include "support.h"
#include "util/util.h"

Suite *kernel_e2e_suite(void);

static char *results;

static void setup(void)
{
	results = g_dir_make_tmp("kdh-kernel-e2e-XXXXXX", NULL);
	ck_assert_ptr_nonnull(results);
}

static void teardown(void)
{
	kdh_rm_rf(results);
	g_free(results);
}

static int kdh(const char *const *args)
{
	return kdh_test_run(args, NULL);
}

START_TEST(built_612_kernel_passes_the_cycle)
{
	const char *build[] = {
	    "kernel",           "build", "--source", "linux-source-6.12", "--kconfig",
	    "kdump,virt,lkdtm", NULL};
	const char *check[] = {"kernel", "check-config", "build:linux-source-6.12+kdump,virt,lkdtm",
	                       NULL};
	const char *run[] = {"run", "--results", results, "scenarios/kernel-build-612.ini", NULL};

	ck_assert_int_eq(kdh(build), 0);
	/* Cached now: the scenario's ref resolves to the same entry. */
	ck_assert_int_eq(kdh(check), 0);
	ck_assert_int_eq(kdh(run), 0);
}
END_TEST

START_TEST(fetched_debian_kernels_pass_the_cycle)
{
	const char *cloud[] = {"run", "--results", results, "scenarios/kernel-debian-cloud.ini",
	                       NULL};
	const char *older[] = {"run", "--results", results, "scenarios/kernel-debian-54.ini", NULL};

	ck_assert_int_eq(kdh(cloud), 0);
	ck_assert_int_eq(kdh(older), 0);
}
END_TEST

/* The real Debian fetch (apt-get download, libarchive unpack, depmod) and
 * check-config on what it made: seconds once the package is cached, a
 * 70 MB download the first time. */
START_TEST(debian_kernel_is_fetched_and_checked)
{
	const char *fetch[] = {"kernel", "fetch", "debian:default", NULL};
	const char *check[] = {"kernel", "check-config", "debian:default", NULL};
	const char *list[] = {"kernel", "list", NULL};

	ck_assert_int_eq(kdh(fetch), 0);
	ck_assert_int_eq(kdh(check), 0);
	ck_assert_int_eq(kdh(list), 0);
}
END_TEST

Suite *kernel_e2e_suite(void)
{
	Suite *s = suite_create("kernel_e2e");
	TCase *fast = tcase_create("fetch");
	TCase *tc = tcase_create("matrix");

	/* Not slow: part of `make check`. */
	tcase_set_tags(fast, "e2e");
	tcase_set_timeout(fast, 600);
	tcase_add_test(fast, debian_kernel_is_fetched_and_checked);
	suite_add_tcase(s, fast);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "slow e2e");
	tcase_set_timeout(tc, 3600);
	tcase_add_test(tc, fetched_debian_kernels_pass_the_cycle);
	tcase_add_test(tc, built_612_kernel_passes_the_cycle);
	suite_add_tcase(s, tc);
	return s;
}
