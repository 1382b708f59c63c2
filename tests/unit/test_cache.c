/* util/ cache entries and their manifests: an entry damaged after it was
 * published (truncated, changed in place, a file missing or added, a
 * manifest broken) is found the next time a run takes it and made again,
 * never handed out; an entry of an older kdh (no manifest) is adopted. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

Suite *cache_suite(void);

static char *tmpdir;
static GPtrArray *notices;

static void on_notice(const char *message, gpointer data)
{
	(void)data;
	g_ptr_array_add(notices, g_strdup(message));
}

static void setup(void)
{
	tmpdir = g_dir_make_tmp("kdh-cache-test-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmpdir);
	notices = g_ptr_array_new_with_free_func(g_free);
	kdh_cache_set_notice(on_notice, NULL);
	kdh_cache_forget_checks();
}

static void teardown(void)
{
	kdh_cache_set_notice(NULL, NULL);
	kdh_cache_forget_checks();
	g_ptr_array_unref(notices);
	kdh_rm_rf(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
}

/* The fake recipe: a folder with a kernel-like file, a file below a
 * subfolder and a symlink; CALLS counts the builds. */
static gboolean fill_tree(const char *out, const char *scratch, gpointer data, GError **error)
{
	g_autofree char *boot = g_build_filename(out, "boot", NULL);
	g_autofree char *vmlinuz = g_build_filename(boot, "vmlinuz", NULL);
	g_autofree char *meta = g_build_filename(out, "kdh-kernel.ini", NULL);
	g_autofree char *link = g_build_filename(out, "build", NULL);
	g_autofree char *big = g_malloc(100000);

	(void)scratch;
	g_atomic_int_inc((gint *)data);
	memset(big, 'k', 100000);
	return g_mkdir_with_parents(boot, 0755) == 0 &&
	       g_file_set_contents(vmlinuz, big, 100000, error) &&
	       g_file_set_contents(meta, "[kernel]\n", -1, error) &&
	       symlink("boot/vmlinuz", link) == 0;
}

static gboolean fill_disk(const char *out, const char *scratch, gpointer data, GError **error)
{
	(void)scratch;
	g_atomic_int_inc((gint *)data);
	return g_file_set_contents(out, "QFI\xfb disk", -1, error);
}

static char *path_in(const char *rel)
{
	return g_build_filename(tmpdir, rel, NULL);
}

/* The entry is made once, then taken by a "new run" (the checks
 * forgotten) after DAMAGE: made again, whole, with the notice naming the
 * file and what differs. */
static void assert_damage_mended(void (*damage)(void), const char *file, const char *said)
{
	gint calls = 0;
	g_autofree char *made = kdh_cache_entry_ensure(tmpdir, "k", fill_tree, &calls, NULL);
	g_autofree char *again = NULL, *content = NULL;
	g_autofree char *vmlinuz = path_in("k/boot/vmlinuz");
	gsize len = 0;
	g_autoptr(GError) error = NULL;

	ck_assert_ptr_nonnull(made);
	ck_assert_int_eq(calls, 1);
	damage();
	kdh_cache_forget_checks();
	again = kdh_cache_entry_ensure(tmpdir, "k", fill_tree, &calls, &error);
	ck_assert_msg(again, "%s", error ? error->message : "");
	ck_assert_int_eq(calls, 2);
	ck_assert(g_file_get_contents(vmlinuz, &content, &len, NULL));
	ck_assert_uint_eq(len, 100000);
	ck_assert_uint_eq(notices->len, 1);
	ck_assert_msg(strstr(g_ptr_array_index(notices, 0), file) &&
	                  strstr(g_ptr_array_index(notices, 0), said) &&
	                  strstr(g_ptr_array_index(notices, 0), "made again"),
	              "%s", (char *)g_ptr_array_index(notices, 0));
	/* Nothing of the damaged entry or the rebuild is left beside it. */
	g_autoptr(GDir) d = g_dir_open(tmpdir, 0, NULL);
	const char *name;
	while ((name = g_dir_read_name(d)))
		ck_assert_msg(!g_str_has_prefix(name, ".tmp-") && !g_str_has_suffix(name, ".new"),
		              "left: %s", name);
}

static void truncate_kernel(void)
{
	g_autofree char *p = path_in("k/boot/vmlinuz");
	ck_assert_int_eq(truncate(p, 4096), 0);
}

static void change_kernel_in_place(void)
{
	g_autofree char *p = path_in("k/boot/vmlinuz");
	g_autofree char *junk = g_malloc0(100000);
	ck_assert(g_file_set_contents(p, junk, 100000, NULL));
}

static void remove_meta(void)
{
	g_autofree char *p = path_in("k/kdh-kernel.ini");
	ck_assert_int_eq(g_unlink(p), 0);
}

static void add_stray_file(void)
{
	g_autofree char *p = path_in("k/boot/stray");
	ck_assert(g_file_set_contents(p, "x", -1, NULL));
}

static void repoint_link(void)
{
	g_autofree char *p = path_in("k/build");
	ck_assert_int_eq(g_unlink(p), 0);
	ck_assert_int_eq(symlink("/etc/passwd", p), 0);
}

static void break_manifest(void)
{
	g_autofree char *p = path_in(".manifest-k");
	ck_assert(g_file_set_contents(p, "kdh-cache-manifest 1\nf 12 zz boot\n", -1, NULL));
}

START_TEST(truncated_file_is_made_again)
{
	assert_damage_mended(truncate_kernel, "k/boot/vmlinuz",
	                     "4096 bytes, the manifest says 100000");
}
END_TEST

START_TEST(file_changed_in_place_is_made_again)
{
	assert_damage_mended(change_kernel_in_place, "k/boot/vmlinuz", "content changed");
}
END_TEST

START_TEST(missing_added_or_repointed_files_are_made_again)
{
	assert_damage_mended(remove_meta, "k/kdh-kernel.ini", "missing");
	kdh_rm_rf(tmpdir);
	g_mkdir(tmpdir, 0700);
	g_ptr_array_set_size(notices, 0);
	kdh_cache_forget_checks();
	assert_damage_mended(add_stray_file, "k/boot/stray", "not in the manifest");
	kdh_rm_rf(tmpdir);
	g_mkdir(tmpdir, 0700);
	g_ptr_array_set_size(notices, 0);
	kdh_cache_forget_checks();
	assert_damage_mended(repoint_link, "k/build", "a symlink to /etc/passwd");
}
END_TEST

START_TEST(broken_manifest_is_damage)
{
	assert_damage_mended(break_manifest, ".manifest-k", "not a manifest line");
}
END_TEST

START_TEST(file_entry_damaged_is_made_again)
{
	gint calls = 0;
	g_autofree char *made =
	    kdh_cache_entry_ensure(tmpdir, "disk.qcow2", fill_disk, &calls, NULL);
	g_autofree char *again = NULL, *content = NULL;

	ck_assert_ptr_nonnull(made);
	ck_assert_int_eq(truncate(made, 2), 0);
	kdh_cache_forget_checks();
	again = kdh_cache_entry_ensure(tmpdir, "disk.qcow2", fill_disk, &calls, NULL);
	ck_assert_int_eq(calls, 2);
	ck_assert(g_file_get_contents(again, &content, NULL, NULL));
	ck_assert_str_eq(content, "QFI\xfb disk");
}
END_TEST

/* The cost rule: an entry is checked the first time a process takes it,
 * not every time (a damage after that is the next run's to find). */
START_TEST(entry_is_checked_once_per_process)
{
	gint calls = 0;
	g_autofree char *made = kdh_cache_entry_ensure(tmpdir, "k", fill_tree, &calls, NULL);
	g_autofree char *again = NULL, *third = NULL;

	ck_assert_ptr_nonnull(made);
	truncate_kernel();
	again = kdh_cache_entry_ensure(tmpdir, "k", fill_tree, &calls, NULL);
	ck_assert_ptr_nonnull(again);
	ck_assert_int_eq(calls, 1);
	kdh_cache_forget_checks();
	third = kdh_cache_entry_ensure(tmpdir, "k", fill_tree, &calls, NULL);
	ck_assert_ptr_nonnull(third);
	ck_assert_int_eq(calls, 2);
}
END_TEST

/* An entry of an older kdh has no manifest: trusted as it is (not made
 * again: a kernel build may take an hour), given one, and from then on
 * checked like any other. */
START_TEST(entry_without_manifest_is_adopted_then_checked)
{
	gint calls = 0;
	g_autofree char *made = kdh_cache_entry_ensure(tmpdir, "k", fill_tree, &calls, NULL);
	g_autofree char *manifest = path_in(".manifest-k");
	g_autofree char *adopted = NULL, *mended = NULL;

	ck_assert_ptr_nonnull(made);
	ck_assert_int_eq(g_unlink(manifest), 0);
	kdh_cache_forget_checks();
	adopted = kdh_cache_entry_ensure(tmpdir, "k", fill_tree, &calls, NULL);
	ck_assert_ptr_nonnull(adopted);
	ck_assert_int_eq(calls, 1);
	ck_assert(g_file_test(manifest, G_FILE_TEST_IS_REGULAR));
	ck_assert_uint_eq(notices->len, 1);
	ck_assert_ptr_nonnull(strstr(g_ptr_array_index(notices, 0), "had no manifest"));
	truncate_kernel();
	kdh_cache_forget_checks();
	mended = kdh_cache_entry_ensure(tmpdir, "k", fill_tree, &calls, NULL);
	ck_assert_ptr_nonnull(mended);
	ck_assert_int_eq(calls, 2);
}
END_TEST

/* An entry no recipe can make again (a kernel built or imported earlier,
 * taken by its id): refused with the difference, left for the user. */
START_TEST(check_refuses_a_damaged_entry_it_cannot_make)
{
	gint calls = 0;
	g_autofree char *made = kdh_cache_entry_ensure(tmpdir, "k", fill_tree, &calls, NULL);
	g_autoptr(GError) error = NULL;

	kdh_cache_forget_checks();
	ck_assert(kdh_cache_entry_check(tmpdir, "k", NULL));
	truncate_kernel();
	kdh_cache_forget_checks();
	ck_assert(!kdh_cache_entry_check(tmpdir, "k", &error));
	ck_assert(g_error_matches(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE_DAMAGED));
	ck_assert_msg(
	    strstr(error->message, "k/boot/vmlinuz: 4096 bytes, the manifest says 100000"), "%s",
	    error->message);
	ck_assert(g_file_test(made, G_FILE_TEST_IS_DIR));
}
END_TEST

Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("manifest");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, truncated_file_is_made_again);
	tcase_add_test(tc, file_changed_in_place_is_made_again);
	tcase_add_test(tc, missing_added_or_repointed_files_are_made_again);
	tcase_add_test(tc, broken_manifest_is_damage);
	tcase_add_test(tc, file_entry_damaged_is_made_again);
	tcase_add_test(tc, entry_is_checked_once_per_process);
	tcase_add_test(tc, entry_without_manifest_is_adopted_then_checked);
	tcase_add_test(tc, check_refuses_a_damaged_entry_it_cannot_make);
	suite_add_tcase(s, tc);
	return s;
}
