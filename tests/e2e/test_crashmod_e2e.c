/* The crash module for real: built against debian:default's headers
 * (downloaded and unpacked into the cache the first time), its vermagic
 * naming the kernel's release, and the second call a cache hit. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "image/image.h"
#include "kernel/kernel.h"
#include "util/util.h"

Suite *crashmod_e2e_suite(void);

/* The release in the vermagic of the module at KO, read by modinfo (kmod). */
static char *vermagic_release(const char *ko)
{
	const char *argv[] = {"modinfo", "-F", "vermagic", "--", ko, NULL};
	g_autoptr(GError) error = NULL;
	char *out = NULL;

	ck_assert_msg(kdh_run(argv, NULL, &out, &error), "%s", error ? error->message : "");
	g_strstrip(out);
	out[strcspn(out, " ")] = '\0';
	return out;
}

START_TEST(builds_against_debian_default_once)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cache = kdh_cache_dir(&error);
	g_autoptr(KdhKernel) k = NULL;
	g_autofree char *ko = NULL, *again = NULL, *release = NULL, *log = NULL, *dir = NULL;
	GStatBuf before, after, log_before, log_after;

	ck_assert_msg(cache, "%s", error ? error->message : "");
	k = kdh_kernel_resolve("debian:default", cache, &error);
	ck_assert_msg(k, "%s", error ? error->message : "");
	ko = kdh_crashmod_build(k, "images/crashmod", cache, &error);
	ck_assert_msg(ko, "%s", error ? error->message : "");
	release = vermagic_release(ko);
	ck_assert_str_eq(release, k->release);
	dir = g_path_get_dirname(ko);
	log = g_build_filename(dir, "build.log", NULL);
	ck_assert_int_eq(g_stat(ko, &before), 0);
	ck_assert_int_eq(g_stat(log, &log_before), 0);

	/* Cached: the same file, untouched, and no build ran (its log would
	 * have been written anew). */
	again = kdh_crashmod_build(k, "images/crashmod", cache, &error);
	ck_assert_msg(again, "%s", error ? error->message : "");
	ck_assert_str_eq(again, ko);
	ck_assert_int_eq(g_stat(again, &after), 0);
	ck_assert_int_eq(g_stat(log, &log_after), 0);
	ck_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
	          before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
	ck_assert(log_before.st_mtim.tv_sec == log_after.st_mtim.tv_sec &&
	          log_before.st_mtim.tv_nsec == log_after.st_mtim.tv_nsec);
}
END_TEST

Suite *crashmod_e2e_suite(void)
{
	Suite *s = suite_create("crashmod_e2e");
	TCase *tc = tcase_create("debian");

	/* A ~14 MB download and a module build the first time; not slow. */
	tcase_set_tags(tc, "e2e");
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, builds_against_debian_default_once);
	suite_add_tcase(s, tc);
	return s;
}
