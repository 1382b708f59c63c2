/* Retrieval from a hostile guest disk, with real libguestfs: a /var/crash
 * whose names try to climb out of the results folder, links that point at
 * host files, a name kdh writes itself, an older dump folder.  Only the
 * newest folder's regular files may arrive, and only inside the folder. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <guestfs.h>

#include "guest/guest.h"
#include "util/util.h"

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-retrieve-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

#define OK(call) ck_assert_msg((call) != -1, "%s: %s", #call, guestfs_last_error(g))

/* A disk laid out as a hostile or broken guest might leave it. */
static void make_hostile_disk(const char *disk)
{
	guestfs_h *g = guestfs_create();

	ck_assert_ptr_nonnull(g);
	OK(guestfs_set_backend(g, "direct"));
	OK(guestfs_set_backend_setting(g, "force_tcg", "1"));
	OK(guestfs_disk_create(g, disk, "qcow2", 64 << 20, -1));
	OK(guestfs_add_drive_opts(g, disk, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1));
	OK(guestfs_launch(g));
	OK(guestfs_mkfs(g, "ext4", "/dev/sda"));
	OK(guestfs_mount(g, "/dev/sda", "/"));
	OK(guestfs_mkdir_p(g, "/var/crash/20200101T000000Z"));
	OK(guestfs_write(g, "/var/crash/20200101T000000Z/vmcore", "old", 3));
	OK(guestfs_mkdir_p(g, "/var/crash/20261126T000000Z/sub"));
	OK(guestfs_write(g, "/var/crash/20261126T000000Z/vmcore", "new", 3));
	OK(guestfs_write(g,
	                 "/var/crash/20261126T000000Z/..\x01"
	                 "evil\nname",
	                 "x", 1));
	OK(guestfs_write(g, "/var/crash/20261126T000000Z/verdict.json", "{}", 2));
	OK(guestfs_write(g, "/var/crash/20261126T000000Z/sub/inner", "x", 1));
	OK(guestfs_ln_s(g, "/etc/shadow", "/var/crash/20261126T000000Z/shadow-link"));
	OK(guestfs_ln_s(g, "../../../../..", "/var/crash/20261126T000000Z/up"));
	/* A newer link to a folder must not be taken for the newest dump. */
	OK(guestfs_ln_s(g, "/etc", "/var/crash/99999999T999999Z"));
	/* Newest by mtime, whatever the names say; the link is newer still. */
	OK(guestfs_utimens(g, "/var/crash/20200101T000000Z", 0, 0, 1577836800, 0));
	OK(guestfs_utimens(g, "/var/crash/20261126T000000Z", 0, 0, 1790000000, 0));
	OK(guestfs_shutdown(g));
	guestfs_close(g);
}

static gboolean skipped_has(KdhCrashFiles *f, const char *needle)
{
	for (guint i = 0; i < f->skipped->len; i++) {
		if (strstr(g_ptr_array_index(f->skipped, i), needle))
			return TRUE;
	}
	return FALSE;
}

START_TEST(hostile_names_stay_inside)
{
	g_autofree char *disk = g_build_filename(tmp, "hostile.qcow2", NULL);
	g_autofree char *dest = g_build_filename(tmp, "case", NULL);
	g_autofree char *vmcore = g_build_filename(dest, "vmcore", NULL);
	g_autofree char *text = NULL;
	const char *const reserved[] = {"verdict.json", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhCrashFiles) f = NULL;
	g_autoptr(GDir) d = NULL;
	const char *name;
	guint n = 0;

	make_hostile_disk(disk);
	ck_assert_int_eq(g_mkdir(dest, 0755), 0);
	f = kdh_guest_fetch_crash(disk, dest, reserved, TRUE, &error);
	ck_assert_msg(f, "%s", error ? error->message : "");
	ck_assert_str_eq(f->crash_dir, "/var/crash/20261126T000000Z");
	ck_assert(g_file_get_contents(vmcore, &text, NULL, NULL));
	ck_assert_str_eq(text, "new");
	ck_assert(skipped_has(f, "verdict.json: a name kdh writes itself"));
	ck_assert(skipped_has(f, "shadow-link: not a regular file"));
	ck_assert(skipped_has(f, "up: not a regular file"));
	ck_assert(skipped_has(f, "sub: not a regular file"));

	/* What arrived: vmcore and the evil name made harmless, nothing else,
	 * and nothing beside the destination folder. */
	d = g_dir_open(dest, 0, NULL);
	while ((name = g_dir_read_name(d))) {
		ck_assert_msg(g_str_equal(name, "vmcore") || g_str_equal(name, "_._evil_name"),
		              "unexpected file %s", name);
		n++;
	}
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(f->files->len, 2);
	g_autoptr(GDir) top = g_dir_open(tmp, 0, NULL);
	while ((name = g_dir_read_name(top)))
		ck_assert_msg(g_str_equal(name, "case") || g_str_equal(name, "hostile.qcow2"),
		              "written outside the destination: %s", name);
}
END_TEST

START_TEST(empty_var_crash_is_no_crash)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *base = g_build_filename(tmp, "cache", NULL);
	g_autofree char *disk = g_build_filename(tmp, "overlay.qcow2", NULL);
	g_autofree char *path = NULL;
	g_autoptr(KdhCrashFiles) f = NULL;

	/* The base disk every case starts from has an empty /var/crash. */
	path = kdh_guest_disk_base(base, TRUE, &error);
	ck_assert_msg(path, "%s", error ? error->message : "");
	ck_assert(kdh_guest_disk_overlay(path, disk, &error));
	f = kdh_guest_fetch_crash(disk, tmp, NULL, TRUE, &error);
	ck_assert_ptr_null(f);
	ck_assert(g_error_matches(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_NO_CRASH));
}
END_TEST

Suite *retrieve_suite(void);
Suite *retrieve_suite(void)
{
	Suite *s = suite_create("retrieve");
	TCase *tc = tcase_create("libguestfs");

	tcase_set_tags(tc, "e2e");
	tcase_set_timeout(tc, 600);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hostile_names_stay_inside);
	tcase_add_test(tc, empty_var_crash_is_no_crash);
	suite_add_tcase(s, tc);
	return s;
}
