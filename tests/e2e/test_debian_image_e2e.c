/* The Debian image for real: built from the host's Debian mirror for
 * debian:default (minutes the first time), the second call a cache hit,
 * `kdh image list` showing it; and a build failing halfway leaving nothing
 * in the cache. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "image/image.h"
#include "kernel/kernel.h"
#include "support.h"
#include "util/util.h"

Suite *debian_image_e2e_suite(void);

START_TEST(builds_once_and_lists)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cache = kdh_cache_dir(&error);
	g_autoptr(KdhKernel) k = NULL;
	g_autoptr(KdhDiskImage) img = NULL, again = NULL;
	g_autofree char *info = NULL, *ini = NULL, *out = NULL;
	const char *list[] = {"image", "list", NULL};
	GStatBuf before, after;

	ck_assert_msg(cache, "%s", error ? error->message : "");
	k = kdh_kernel_resolve("debian:default", cache, &error);
	ck_assert_msg(k, "%s", error ? error->message : "");
	img = kdh_image_debian(k, "images/debian", cache, TRUE, &error);
	ck_assert_msg(img, "%s", error ? error->message : "");
	ck_assert(g_str_has_prefix(img->id, "debian-"));
	ck_assert_str_eq(img->release, k->release);
	ck_assert(g_file_test(img->disk, G_FILE_TEST_IS_REGULAR));
	ck_assert(g_file_test(img->initrd, G_FILE_TEST_IS_REGULAR));
	ini = g_build_filename(img->dir, "kdh-image.ini", NULL);
	ck_assert(g_file_get_contents(ini, &info, NULL, NULL));
	ck_assert(strstr(info, "kind=debian"));
	ck_assert_int_eq(g_stat(img->disk, &before), 0);

	/* Same inputs: the same entry, untouched, and nothing built. */
	again = kdh_image_debian(k, "images/debian", cache, TRUE, &error);
	ck_assert_msg(again, "%s", error ? error->message : "");
	ck_assert(!again->built);
	ck_assert_str_eq(again->dir, img->dir);
	ck_assert_int_eq(g_stat(again->disk, &after), 0);
	ck_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
	          before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
	ck_assert(before.st_ctim.tv_sec == after.st_ctim.tv_sec &&
	          before.st_ctim.tv_nsec == after.st_ctim.tv_nsec);

	ck_assert_int_eq(kdh_test_run_output(list, &out, NULL), 0);
	ck_assert_msg(strstr(out, img->id), "%s", out);
}
END_TEST

/* Copies the recipe into DIR with a customize hook that fails at its end,
 * after mmdebstrap has done all of its work. */
static void broken_recipe(const char *dir)
{
	g_autofree char *script = NULL, *broken = NULL;
	g_autofree char *path = g_build_filename(dir, "customize.sh", NULL);

	ck_assert(kdh_copy_tree("images/debian", dir, NULL));
	ck_assert(g_file_get_contents(path, &script, NULL, NULL));
	broken = g_strconcat(script, "\necho 'kdh test: failing on purpose' >&2\nexit 7\n", NULL);
	ck_assert(g_file_set_contents(path, broken, -1, NULL));
}

START_TEST(failed_build_leaves_nothing)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cache = g_dir_make_tmp("kdh-cache-XXXXXX", NULL);
	g_autofree char *recipe = g_dir_make_tmp("kdh-recipe-XXXXXX", NULL);
	g_autofree char *real_cache = kdh_cache_dir(&error);
	g_autofree char *images = g_build_filename(cache, "images", NULL);
	g_autoptr(KdhKernel) k = NULL;
	g_autoptr(KdhDiskImage) img = NULL;
	g_autoptr(GDir) d = NULL;
	const char *name;

	k = kdh_kernel_resolve("debian:default", real_cache, &error);
	ck_assert_msg(k, "%s", error ? error->message : "");
	broken_recipe(recipe);
	img = kdh_image_debian(k, recipe, cache, TRUE, &error);
	ck_assert_ptr_null(img);
	ck_assert_msg(strstr(error->message, "mmdebstrap") &&
	                  strstr(error->message, "failing on purpose"),
	              "%s", error->message);
	/* Only the package lists' scratch folder and the locks remain. */
	d = g_dir_open(images, 0, NULL);
	ck_assert_ptr_nonnull(d);
	while ((name = g_dir_read_name(d)))
		ck_assert_msg(g_str_has_prefix(name, ".apt-") || g_str_has_prefix(name, ".lock-"),
		              "left in the cache: %s", name);
	kdh_rm_rf(cache);
	kdh_rm_rf(recipe);
}
END_TEST

Suite *debian_image_e2e_suite(void)
{
	Suite *s = suite_create("debian_image_e2e");
	TCase *tc = tcase_create("build");
	TCase *failing = tcase_create("failing");

	tcase_set_tags(tc, "e2e");
	/* A cold build: mmdebstrap, a libguestfs appliance, under TCG. */
	tcase_set_timeout(tc, 1200);
	tcase_add_test(tc, builds_once_and_lists);
	suite_add_tcase(s, tc);
	/* mmdebstrap's whole run (~1 min) every time: check-full only. */
	tcase_set_tags(failing, "e2e slow");
	tcase_set_timeout(failing, 1200);
	tcase_add_test(failing, failed_build_leaves_nothing);
	suite_add_tcase(s, failing);
	return s;
}
