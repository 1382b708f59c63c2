/* Retrieval from a hostile guest disk, with real libguestfs: a /var/crash
 * whose names try to climb out of the results folder, links that point at
 * host files, a name kdh writes itself, an older dump folder.  Only the
 * newest folder's regular files may arrive, and only inside the folder.
 * And batches: several disks through one appliance, each with its own
 * outcome, and a batch cancelled mid-launch. */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <guestfs.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "guest/guest.h"
#include "util/util.h"
#include "support.h"

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

/* Fills the ext4 file system of disk I, mounted at / of G. */
typedef void (*DiskFill)(guestfs_h *g, guint i);

/* Laid out as a hostile or broken guest might leave it. */
static void fill_hostile(guestfs_h *g, guint i)
{
	(void)i;
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
	/* Special files: never opened (a FIFO would block a reader). */
	OK(guestfs_mknod_b(g, 0600, 8, 0, "/var/crash/20261126T000000Z/blk"));
	OK(guestfs_mknod_c(g, 0600, 1, 3, "/var/crash/20261126T000000Z/chr"));
	OK(guestfs_mkfifo(g, 0600, "/var/crash/20261126T000000Z/fifo"));
	OK(guestfs_mknod(g, 0140600, 0, 0, "/var/crash/20261126T000000Z/sock"));
	/* 4 TiB that take no room on the guest's disk, and would on the host's. */
	OK(guestfs_touch(g, "/var/crash/20261126T000000Z/sparse"));
	OK(guestfs_truncate_size(g, "/var/crash/20261126T000000Z/sparse", (gint64)4 << 40));
	/* Names: invalid UTF-8, the longest a file system takes, deep folders. */
	OK(guestfs_write(g, "/var/crash/20261126T000000Z/bad\xff\xfename", "x", 1));
	g_autofree char *longest = g_strnfill(255, 'l');
	g_autofree char *long_path = g_strdup_printf("/var/crash/20261126T000000Z/%s", longest);
	OK(guestfs_write(g, long_path, "x", 1));
	g_autoptr(GString) deep = g_string_new("/var/crash/20261126T000000Z/sub");
	for (int d = 0; d < 100; d++)
		g_string_append(deep, "/d");
	OK(guestfs_mkdir_p(g, deep->str));
	/* A newer link to a folder must not be taken for the newest dump. */
	OK(guestfs_ln_s(g, "/etc", "/var/crash/99999999T999999Z"));
	/* Newest by mtime, whatever the names say; the link is newer still. */
	OK(guestfs_utimens(g, "/var/crash/20200101T000000Z", 0, 0, 1577836800, 0));
	OK(guestfs_utimens(g, "/var/crash/20261126T000000Z", 0, 0, 1790000000, 0));
}

/* A dump folder as the capture kernel leaves it; the vmcore says which disk
 * it is on ("dump of disk I"), so a mix-up of disks shows. */
static void fill_dump(guestfs_h *g, guint i)
{
	g_autofree char *text = g_strdup_printf("dump of disk %u", i);

	OK(guestfs_mkdir_p(g, "/var/crash/20261128T101500Z"));
	OK(guestfs_write(g, "/var/crash/20261128T101500Z/vmcore", text, strlen(text)));
	OK(guestfs_write(g, "/var/crash/20261128T101500Z/vmcore-dmesg.txt", "log", 3));
}

/* /var/crash as the Arch wiki's kdump-save.service leaves it: the dump a
 * file of its own beside older ones, a newer folder and other files that
 * are not it, and a newer link named like a dump. */
static void fill_file_dumps(guestfs_h *g, guint i)
{
	(void)i;
	OK(guestfs_mkdir_p(g, "/var/crash/20261128T101500Z"));
	OK(guestfs_write(g, "/var/crash/crashdump-2020-01-01-00:00:00", "old", 3));
	OK(guestfs_write(g, "/var/crash/crashdump-2026-11-28-17:00:00", "new", 3));
	OK(guestfs_write(g, "/var/crash/kexec_cmd", "kexec -p", 8));
	OK(guestfs_ln_s(g, "/etc/shadow", "/var/crash/crashdump-9999"));
	OK(guestfs_utimens(g, "/var/crash/crashdump-2020-01-01-00:00:00", 0, 0, 1577836800, 0));
	OK(guestfs_utimens(g, "/var/crash/crashdump-2026-11-28-17:00:00", 0, 0, 1790000000, 0));
	OK(guestfs_utimens(g, "/var/crash/kexec_cmd", 0, 0, 1890000000, 0));
	OK(guestfs_utimens(g, "/var/crash/20261128T101500Z", 0, 0, 1890000000, 0));
}

/* A file system where no capture kernel ever wrote: no /var/crash. */
static void fill_nothing(guestfs_h *g, guint i)
{
	(void)i;
	OK(guestfs_mkdir_p(g, "/var/log"));
}

/* Creates the N disks PATHS (64 MiB qcow2) with one appliance; disk I gets
 * an ext4 file system filled by FILLS[I], or stays blank (no file system at
 * all) when FILLS[I] is NULL. */
static void make_disks(const char *const *paths, const DiskFill *fills, guint n)
{
	guestfs_h *g = guestfs_create();
	g_auto(GStrv) devices = NULL;

	ck_assert_ptr_nonnull(g);
	OK(guestfs_set_backend(g, "direct"));
	OK(guestfs_set_backend_setting(g, "force_tcg", "1"));
	for (guint i = 0; i < n; i++) {
		OK(guestfs_disk_create(g, paths[i], "qcow2", 64 << 20, -1));
		OK(guestfs_add_drive_opts(g, paths[i], GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1));
	}
	OK(guestfs_launch(g));
	devices = guestfs_list_devices(g);
	ck_assert_ptr_nonnull(devices);
	for (guint i = 0; i < n; i++) {
		if (!fills[i])
			continue;
		/* 4K blocks, as a guest's root file system has them: mke2fs
		 * gives a disk this small 1K blocks, whose files stop at 16 GiB. */
		OK(guestfs_mkfs_opts(g, "ext4", devices[i], GUESTFS_MKFS_OPTS_BLOCKSIZE, 4096, -1));
		OK(guestfs_mount(g, devices[i], "/"));
		fills[i](g, i);
		OK(guestfs_umount_all(g));
	}
	OK(guestfs_shutdown(g));
	guestfs_close(g);
}

static void make_hostile_disk(const char *disk)
{
	const DiskFill fill = fill_hostile;

	make_disks(&disk, &fill, 1);
}

/* What a fetch of make_hostile_disk's disk into DEST must give: only the
 * newest folder's vmcore and the evil name made harmless arrive. */
static void check_hostile(KdhCrashFiles *f, const char *dest)
{
	g_autofree char *vmcore = g_build_filename(dest, "vmcore", NULL);
	g_autofree char *text = NULL;
	g_autoptr(GDir) d = g_dir_open(dest, 0, NULL);
	const char *name;
	guint n = 0;

	ck_assert_str_eq(f->crash_dir, "/var/crash/20261126T000000Z");
	ck_assert(g_file_get_contents(vmcore, &text, NULL, NULL));
	ck_assert_str_eq(text, "new");
	ck_assert(has(f->skipped, "verdict.json: a name kdh writes itself"));
	ck_assert(has(f->skipped, "shadow-link: not a regular file"));
	ck_assert(has(f->skipped, "up: not a regular file"));
	ck_assert(has(f->skipped, "sub: not a regular file (a folder): not copied"));
	ck_assert(has(f->skipped, "shadow-link: not a regular file (a symbolic link): not copied"));
	ck_assert(has(f->skipped, "blk: not a regular file (a block device): not copied"));
	ck_assert(has(f->skipped, "chr: not a regular file (a character device): not copied"));
	ck_assert(has(f->skipped, "fifo: not a regular file (a FIFO): not copied"));
	ck_assert(has(f->skipped, "sock: not a regular file (a socket): not copied"));
	ck_assert_msg(has(f->skipped, "sparse: not copied: 4398046511104 bytes (4.0 TiB), more "
	                              "than a dump of this guest can take (16.0 GiB)"),
	              "%s", joined(f->skipped));
	while ((name = g_dir_read_name(d))) {
		ck_assert_msg(g_str_equal(name, "vmcore") || g_str_equal(name, "_._evil_name") ||
		                  g_str_equal(name, "bad__name") ||
		                  (strlen(name) == 255 && name[0] == 'l'),
		              "unexpected file %s", name);
		n++;
	}
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(f->files->len, 4);
	ck_assert_uint_eq(f->skipped->len, 9);
}

START_TEST(hostile_names_stay_inside)
{
	g_autofree char *disk = g_build_filename(tmp, "hostile.qcow2", NULL);
	g_autofree char *dest = g_build_filename(tmp, "case", NULL);
	const char *const reserved[] = {"verdict.json", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhCrashFiles) f = NULL;
	const char *name;

	make_hostile_disk(disk);
	ck_assert_int_eq(g_mkdir(dest, 0755), 0);
	f = kdh_guest_fetch_crash(disk, dest, reserved, TRUE, &error);
	ck_assert_msg(f, "%s", error ? error->message : "");
	check_hostile(f, dest);

	/* Nothing beside the destination folder. */
	g_autoptr(GDir) top = g_dir_open(tmp, 0, NULL);
	while ((name = g_dir_read_name(top)))
		ck_assert_msg(g_str_equal(name, "case") || g_str_equal(name, "hostile.qcow2"),
		              "written outside the destination: %s", name);
}
END_TEST

/* /var/crash a link to a folder with a dump in it. */
static void fill_crash_link(guestfs_h *g, guint i)
{
	(void)i;
	OK(guestfs_mkdir_p(g, "/var/lib/dumps/20261128T101500Z"));
	OK(guestfs_write(g, "/var/lib/dumps/20261128T101500Z/vmcore", "x", 1));
	OK(guestfs_ln_s(g, "/var/lib/dumps", "/var/crash"));
}

/* /var itself a link. */
static void fill_var_link(guestfs_h *g, guint i)
{
	(void)i;
	OK(guestfs_mkdir_p(g, "/elsewhere/crash/20261128T101500Z"));
	OK(guestfs_write(g, "/elsewhere/crash/20261128T101500Z/vmcore", "x", 1));
	OK(guestfs_ln_s(g, "/elsewhere", "/var"));
}

/* More files than kdh copies from one folder. */
static void fill_many_files(guestfs_h *g, guint i)
{
	(void)i;
	OK(guestfs_mkdir_p(g, "/var/crash/20261128T101500Z"));
	for (int f = 0; f < KDH_GUEST_FILES_MAX + 6; f++) {
		g_autofree char *path = g_strdup_printf("/var/crash/20261128T101500Z/f%03d", f);
		OK(guestfs_write(g, path, "x", 1));
	}
}

/* Runs ARGV; the test fails with its output when it fails. */
static void run_tool(const char *const *argv)
{
	g_autofree char *out = NULL;
	g_autoptr(GError) error = NULL;
	int status = 0;

	ck_assert_msg(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
	                           &out, &status, &error),
	              "%s: %s", argv[0], error ? error->message : "");
	ck_assert_msg(g_spawn_check_wait_status(status, NULL), "%s: %s", argv[0], out);
}

/* Fills ROOT with /var/crash/<FOLDERS folders>/ and, in the first, one
 * vmcore and LINKS hard links to it named NAME_LEN bytes long. */
static void populate(const char *root, guint folders, guint links, guint name_len)
{
	g_autofree char *vmcore = NULL, *target = NULL;
	const int width = (int)name_len - (int)strlen("vmcore.");

	ck_assert_int_gt(width, 0);
	for (guint f = 0; f < folders; f++) {
		g_autofree char *dir = g_strdup_printf("%s/var/crash/2026%08u", root, f);
		ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
		if (f == 0)
			vmcore = g_build_filename(dir, "vmcore", NULL);
	}
	ck_assert(g_file_set_contents(vmcore, "x", 1, NULL));
	/* ext4 takes 65000 links to one file: a new target every 60000. */
	target = g_strdup(vmcore);
	for (guint l = 0; l < links; l++) {
		g_autofree char *name = g_strdup_printf("%s.%0*u", vmcore, width, l);
		if (l && l % 60000 == 0) {
			g_free(target);
			target = g_strdup(name);
			ck_assert(g_file_set_contents(target, "x", 1, NULL));
			continue;
		}
		ck_assert_msg(link(target, name) == 0, "link %s: %s", name, g_strerror(errno));
	}
}

/* DISK (qcow2): a 1 GiB ext4 file system with populate()'s tree, made on
 * the host with no appliance: by mke2fs -d (seconds for thousands of
 * entries, but it adds each name by a walk of the folder), or for a folder
 * of a million names on the file system loop-mounted (as root). */
static void make_volume_disk(const char *disk, guint folders, guint links, guint name_len,
                             gboolean mounted)
{
	g_autofree char *root = g_strconcat(disk, ".root", NULL);
	g_autofree char *raw = g_strconcat(disk, ".raw", NULL);
	g_autofree char *inodes = g_strdup_printf("%u", folders + links / 60000 + 1024);
	const char *mkfs_d[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-N",
	                        inodes,   "-d", root, raw,  "1G",   NULL};
	const char *mkfs[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-N", inodes, raw, "1G", NULL};
	const char *mount[] = {"mount", "-o", "loop", raw, root, NULL};
	const char *umount[] = {"umount", root, NULL};
	const char *convert[] = {"qemu-img", "convert", "-f", "raw", "-O",
	                         "qcow2",    raw,       disk, NULL};

	ck_assert_int_eq(g_mkdir_with_parents(root, 0755), 0);
	if (mounted) {
		run_tool(mkfs);
		run_tool(mount);
		populate(root, folders, links, name_len);
		run_tool(umount);
	} else {
		populate(root, folders, links, name_len);
		run_tool(mkfs_d);
	}
	run_tool(convert);
	kdh_rm_rf(root);
	ck_assert_int_eq(g_unlink(raw), 0);
}

/* Each layout a hostile guest can leave, its outcome: with one appliance. */
START_TEST(hostile_layouts_fail_clearly)
{
	const DiskFill fills[] = {fill_crash_link, fill_var_link, fill_dump, fill_many_files};
	enum { MADE = G_N_ELEMENTS(fills), N = MADE + 2 };
	g_autofree char *paths[N] = {NULL}, *dests[N] = {NULL};
	KdhGuestFetch items[N] = {{0}};
	g_autoptr(GError) error = NULL;
	gint64 start = g_get_monotonic_time();

	for (guint i = 0; i < N; i++) {
		g_autofree char *name = g_strdup_printf("disk%u.qcow2", i);
		g_autofree char *dir = g_strdup_printf("case%u", i);
		paths[i] = g_build_filename(tmp, name, NULL);
		dests[i] = g_build_filename(tmp, dir, NULL);
		ck_assert_int_eq(g_mkdir(dests[i], 0755), 0);
		items[i] = (KdhGuestFetch){.disk = paths[i], .dest_dir = dests[i]};
	}
	/* fill_dump's vmcore is 14 bytes, its dmesg 3 more. */
	items[2].max_bytes = 16;
	make_disks((const char *const *)paths, fills, MADE);
	/* 4400 names of 255 bytes: a folder of more than 1 MiB (ext4 gives
	 * each 264 bytes); then one entry past the count. */
	make_volume_disk(paths[MADE], 1, 4400, 255, FALSE);
	make_volume_disk(paths[MADE + 1], KDH_GUEST_ENTRIES_MAX + 1, 0, 14, FALSE);
	printf("hostile_layouts_fail_clearly: disks made in %.1f s\n",
	       (g_get_monotonic_time() - start) / 1e6);

	start = g_get_monotonic_time();
	ck_assert_msg(kdh_guest_fetch_crash_batch(items, N, TRUE, NULL, NULL, &error), "%s",
	              error ? error->message : "");
	printf("hostile_layouts_fail_clearly: read in %.1f s (the folder over 1 MiB in %.1f s)\n",
	       (g_get_monotonic_time() - start) / 1e6, items[MADE].seconds);
	static const char *const want[N] = {
	    "/var/crash on the guest disk is a symbolic link, not a folder: kdh follows no "
	    "link and reads only real folders there",
	    "/var on the guest disk is a symbolic link, not a folder",
	    NULL,
	    NULL,
	    "more than the 1048576 kdh lists (tens of thousands of names, where a dump folder "
	    "holds a few files): not read",
	    "/var/crash on the guest disk has 4097 entries, more than the 4096 kdh examines: "
	    "not read",
	};
	for (guint i = 0; i < N; i++) {
		if (!want[i])
			continue;
		ck_assert_msg(items[i].error, "disk %u was read", i);
		ck_assert(g_error_matches(items[i].error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED));
		ck_assert_msg(strstr(items[i].error->message, want[i]), "disk %u: %s", i,
		              items[i].error->message);
		g_autofree char *listing = kdh_test_list_dir(dests[i]);
		ck_assert_str_eq(listing, "");
	}
	ck_assert_msg(strstr(items[MADE].error->message,
	                     "/var/crash/202600000000 on the guest disk is a folder of "),
	              "%s", items[MADE].error->message);
	/* The total: the vmcore fits, the dmesg beside it would not. */
	ck_assert_msg(items[2].files, "%s", items[2].error ? items[2].error->message : "");
	ck_assert_uint_eq(items[2].files->files->len, 1);
	ck_assert_msg(has(items[2].files->skipped,
	                  "vmcore-dmesg.txt: not copied: 3 bytes (3 bytes) would take the files "
	                  "copied past what a dump of this guest can take (16 bytes)"),
	              "%s", joined(items[2].files->skipped));
	/* The file count. */
	ck_assert_msg(items[3].files, "%s", items[3].error ? items[3].error->message : "");
	ck_assert_uint_eq(items[3].files->files->len, KDH_GUEST_FILES_MAX);
	ck_assert_uint_eq(items[3].files->skipped->len, 6);
	ck_assert(has(items[3].files->skipped,
	              "f069: not copied: 64 files were copied already, the most kdh takes from a "
	              "dump folder"));
	for (guint i = 0; i < N; i++)
		kdh_guest_fetch_clear(&items[i]);
}
END_TEST

/* A million entries in the dump folder: kdh refuses it from the folder's
 * size, before listing.  The listing kdh did not do is then done, to show
 * the disk holds what the test says (and how long it takes). */
START_TEST(million_entries_refused_before_listing)
{
	g_autofree char *disk = g_build_filename(tmp, "million.qcow2", NULL);
	g_autofree char *dest = g_build_filename(tmp, "case", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhCrashFiles) f = NULL;
	gint64 start = g_get_monotonic_time();
	guestfs_h *g;

	make_volume_disk(disk, 1, 1000000, 14, TRUE);
	printf("million_entries: disk made in %.1f s\n", (g_get_monotonic_time() - start) / 1e6);
	ck_assert_int_eq(g_mkdir(dest, 0755), 0);
	start = g_get_monotonic_time();
	f = kdh_guest_fetch_crash(disk, dest, NULL, TRUE, &error);
	printf("million_entries: refused in %.1f s\n", (g_get_monotonic_time() - start) / 1e6);
	ck_assert_ptr_null(f);
	ck_assert_msg(strstr(error->message, "/var/crash/202600000000 on the guest disk is a "
	                                     "folder of "),
	              "%s", error->message);

	g = guestfs_create();
	ck_assert_ptr_nonnull(g);
	OK(guestfs_set_backend(g, "direct"));
	OK(guestfs_set_backend_setting(g, "force_tcg", "1"));
	OK(guestfs_add_drive_opts(g, disk, GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
	                          GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1));
	OK(guestfs_launch(g));
	OK(guestfs_mount_ro(g, "/dev/sda", "/"));
	start = g_get_monotonic_time();
	g_auto(GStrv) names = guestfs_ls(g, "/var/crash/202600000000");
	ck_assert_msg(names, "%s", guestfs_last_error(g));
	printf("million_entries: guestfs_ls listed %u names in %.1f s\n", g_strv_length(names),
	       (g_get_monotonic_time() - start) / 1e6);
	ck_assert_uint_eq(g_strv_length(names), 1000001);
	guestfs_close(g);
}
END_TEST

/* The host's free space is checked before a copy: a size no disk has. */
START_TEST(no_copy_past_the_host_free_space)
{
	g_autoptr(GError) error = NULL;

	ck_assert(kdh_guest_room_for(tmp, 1, "vmcore", &error));
	ck_assert(!kdh_guest_room_for(tmp, (guint64)1 << 60, "vmcore", &error));
	ck_assert(g_error_matches(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED));
	g_autofree char *want = g_strdup_printf("copying vmcore (1.0 EiB) into %s would leave less "
	                                        "than 64.0 MiB free there (",
	                                        tmp);
	ck_assert_msg(g_str_has_prefix(error->message, want), "%s", error->message);
	ck_assert_uint_eq(kdh_guest_dump_cap((guint64)1 << 30), ((guint64)1344) << 20);
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

/* A case's settings go into its overlay (files, modes, links, replacing
 * what the base had), and a collector that leaves its dump as a file in
 * /var/crash has that file fetched, the newest regular one of its name. */
START_TEST(settings_written_and_file_dump_fetched)
{
	g_autofree char *base = g_build_filename(tmp, "base.qcow2", NULL);
	g_autofree char *disk = g_build_filename(tmp, "overlay.qcow2", NULL);
	g_autofree char *dest = g_build_filename(tmp, "case", NULL);
	g_autofree char *got = g_build_filename(dest, "crashdump-2026-11-28-17_00_00", NULL);
	g_autoptr(GPtrArray) files =
	    g_ptr_array_new_with_free_func((GDestroyNotify)kdh_guest_file_free);
	const DiskFill fill = fill_file_dumps;
	g_autoptr(GError) error = NULL;
	KdhGuestFetch item = {.disk = disk, .dest_dir = dest, .file_prefix = "crashdump-"};
	g_autofree char *text = NULL;
	guestfs_h *g;

	make_disks((const char *const *)&base, &fill, 1);
	ck_assert(kdh_guest_disk_overlay(base, disk, &error));
	g_ptr_array_add(files,
	                kdh_guest_file_new("/etc/kdh/case.conf", "KDH_TRIGGER='sysrq'\n", 0600));
	g_ptr_array_add(files, kdh_guest_file_new("/var/crash/kexec_cmd", "replaced", 0644));
	g_ptr_array_add(
	    files,
	    kdh_guest_link_new("/etc/systemd/system/multi-user.target.wants/kdump-tools.service",
	                       "/lib/systemd/system/kdump-tools.service"));
	ck_assert_msg(kdh_guest_disk_write(disk, files, TRUE, &error), "%s",
	              error ? error->message : "");

	/* Read back through libguestfs, and the base left as it was. */
	g = guestfs_create();
	ck_assert_ptr_nonnull(g);
	OK(guestfs_set_backend(g, "direct"));
	OK(guestfs_set_backend_setting(g, "force_tcg", "1"));
	OK(guestfs_add_drive_opts(g, disk, GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
	                          GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1));
	OK(guestfs_add_drive_opts(g, base, GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
	                          GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1));
	OK(guestfs_launch(g));
	OK(guestfs_mount_ro(g, "/dev/sda", "/"));
	g_autofree char *conf = guestfs_cat(g, "/etc/kdh/case.conf");
	ck_assert_str_eq(conf, "KDH_TRIGGER='sysrq'\n");
	struct guestfs_statns *st = guestfs_statns(g, "/etc/kdh/case.conf");
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(st->st_mode & 07777, 0600);
	guestfs_free_statns(st);
	g_autofree char *link =
	    guestfs_readlink(g, "/etc/systemd/system/multi-user.target.wants/kdump-tools.service");
	ck_assert_str_eq(link, "/lib/systemd/system/kdump-tools.service");
	g_autofree char *cmd = guestfs_cat(g, "/var/crash/kexec_cmd");
	ck_assert_str_eq(cmd, "replaced");
	OK(guestfs_umount_all(g));
	OK(guestfs_mount_ro(g, "/dev/sdb", "/"));
	ck_assert_int_eq(guestfs_exists(g, "/etc/kdh/case.conf"), 0);
	guestfs_close(g);

	/* A path that is not absolute is refused, naming it. */
	g_ptr_array_set_size(files, 0);
	g_ptr_array_add(files, kdh_guest_file_new("etc/x", "", 0644));
	ck_assert(!kdh_guest_disk_write(disk, files, TRUE, &error));
	ck_assert_msg(strstr(error->message, "'etc/x' is not an absolute guest path"), "%s",
	              error->message);

	ck_assert_int_eq(g_mkdir(dest, 0755), 0);
	ck_assert(kdh_guest_fetch_crash_batch(&item, 1, TRUE, NULL, NULL, NULL));
	ck_assert_msg(item.files, "%s", item.error ? item.error->message : "");
	ck_assert_str_eq(item.files->crash_dir, "/var/crash");
	ck_assert_uint_eq(item.files->files->len, 1);
	ck_assert_str_eq(g_ptr_array_index(item.files->files, 0), got);
	ck_assert(g_file_get_contents(got, &text, NULL, NULL));
	ck_assert_str_eq(text, "new");
	kdh_guest_fetch_clear(&item);
}
END_TEST

/* One appliance, five disks, five outcomes, each the item's own and each
 * item's files in its own folder: two dumps (at both ends, so a mix-up of
 * disk order shows), no /var/crash, the hostile disk, and a disk with no
 * file system at all. */
START_TEST(batch_gives_each_disk_its_own_outcome)
{
	const DiskFill fills[] = {fill_dump, fill_nothing, fill_hostile, NULL, fill_dump};
	enum { N = G_N_ELEMENTS(fills) };
	const char *const reserved[] = {"verdict.json", NULL};
	g_autofree char *paths[N] = {NULL}, *dests[N] = {NULL};
	KdhGuestFetch items[N] = {{0}};
	g_autoptr(GError) error = NULL;
	double launch = -1;

	for (guint i = 0; i < N; i++) {
		g_autofree char *name = g_strdup_printf("disk%u.qcow2", i);
		g_autofree char *dir = g_strdup_printf("case%u", i);
		paths[i] = g_build_filename(tmp, name, NULL);
		dests[i] = g_build_filename(tmp, dir, NULL);
		ck_assert_int_eq(g_mkdir(dests[i], 0755), 0);
		items[i] =
		    (KdhGuestFetch){.disk = paths[i], .dest_dir = dests[i], .reserved = reserved};
	}
	make_disks((const char *const *)paths, fills, N);

	ck_assert_msg(kdh_guest_fetch_crash_batch(items, N, TRUE, NULL, &launch, &error), "%s",
	              error ? error->message : "");
	ck_assert(launch > 0);
	for (guint i = 0; i < N; i += N - 1) {
		g_autofree char *vmcore = g_build_filename(dests[i], "vmcore", NULL);
		g_autofree char *want = g_strdup_printf("dump of disk %u", i);
		g_autofree char *text = NULL;
		g_autofree char *listing = kdh_test_list_dir(dests[i]);

		ck_assert_msg(items[i].files, "disk %u: %s", i, items[i].error->message);
		ck_assert_ptr_null(items[i].error);
		ck_assert_str_eq(items[i].files->crash_dir, "/var/crash/20261128T101500Z");
		ck_assert_uint_eq(items[i].files->files->len, 2);
		ck_assert(g_file_get_contents(vmcore, &text, NULL, NULL));
		ck_assert_str_eq(text, want);
		ck_assert_str_eq(listing, "vmcore vmcore-dmesg.txt");
		ck_assert(items[i].seconds > 0);
	}
	ck_assert_ptr_null(items[1].files);
	ck_assert_msg(g_error_matches(items[1].error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_NO_CRASH),
	              "%s", items[1].error->message);
	ck_assert_msg(items[2].files, "%s", items[2].error ? items[2].error->message : "");
	check_hostile(items[2].files, dests[2]);
	ck_assert_ptr_null(items[3].files);
	ck_assert(g_error_matches(items[3].error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED));
	ck_assert_msg(strstr(items[3].error->message, "mounting the guest disk"), "%s",
	              items[3].error->message);
	/* Failed items left their folders empty. */
	for (guint i = 1; i < N; i += 2) {
		g_autofree char *listing = kdh_test_list_dir(dests[i]);
		ck_assert_str_eq(listing, "");
	}
	for (guint i = 0; i < N; i++)
		kdh_guest_fetch_clear(&items[i]);
}
END_TEST

/* A run already cancelled starts no appliance: every item says so. */
START_TEST(batch_cancelled_before_start)
{
	volatile sig_atomic_t cancelled = SIGINT;
	KdhGuestFetch items[2] = {{.disk = "/nonexistent/a.qcow2", .dest_dir = tmp},
	                          {.disk = "/nonexistent/b.qcow2", .dest_dir = tmp}};
	g_autoptr(GError) error = NULL;

	ck_assert(!kdh_guest_fetch_crash_batch(items, 2, TRUE, &cancelled, NULL, &error));
	ck_assert(g_error_matches(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_CANCELLED));
	for (guint i = 0; i < 2; i++) {
		ck_assert_ptr_null(items[i].files);
		ck_assert(
		    g_error_matches(items[i].error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_CANCELLED));
		kdh_guest_fetch_clear(&items[i]);
	}
}
END_TEST

typedef struct {
	KdhGuestFetch item;
	volatile sig_atomic_t cancelled;
	volatile pid_t tid; /* the batch's thread, once it runs */
	GError *error;
	gboolean ok;
} CancelRun;

static gpointer run_batch(gpointer data)
{
	CancelRun *run = data;

	run->tid = gettid();
	run->ok =
	    kdh_guest_fetch_crash_batch(&run->item, 1, TRUE, &run->cancelled, NULL, &run->error);
	return NULL;
}

/* Whether thread TID has started the appliance's QEMU (not only qemu-img,
 * which adding a read-only drive runs) and not reaped it yet. */
static gboolean runs_qemu(pid_t tid)
{
	g_autofree char *path = g_strdup_printf("/proc/self/task/%d/children", (int)tid);
	g_autofree char *text = NULL;
	g_auto(GStrv) pids = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return FALSE;
	pids = g_strsplit(g_strstrip(text), " ", -1);
	for (char **p = pids; *p && **p; p++) {
		g_autofree char *comm_path = g_strdup_printf("/proc/%s/comm", *p);
		g_autofree char *comm = NULL;
		if (g_file_get_contents(comm_path, &comm, NULL, NULL) &&
		    g_str_has_prefix(comm, "qemu-system"))
			return TRUE;
	}
	return FALSE;
}

/* The processes every thread of this process started and has not reaped
 * (a thread's orphans go to another thread of the process). */
static char *all_children(void)
{
	g_autoptr(GDir) tasks = g_dir_open("/proc/self/task", 0, NULL);
	GString *all = g_string_new(NULL);
	const char *tid;

	while (tasks && (tid = g_dir_read_name(tasks))) {
		g_autofree char *path = g_strdup_printf("/proc/self/task/%s/children", tid);
		g_autofree char *text = NULL;
		if (g_file_get_contents(path, &text, NULL, NULL))
			g_string_append(all, g_strstrip(text));
	}
	return g_string_free(all, FALSE);
}

/* kdh_guest_cancel while the appliance boots: the launch itself fails (it
 * was killed, not waited for), the batch reports a cancellation, and no
 * process of the batch is left. */
START_TEST(batch_cancelled_during_launch)
{
	g_autofree char *disk = g_build_filename(tmp, "blank.qcow2", NULL);
	const DiskFill none = NULL;
	CancelRun run = {.item = {.disk = disk, .dest_dir = tmp}};
	GThread *thread;

	make_disks((const char *const *)&disk, &none, 1);
	thread = g_thread_new("batch", run_batch, &run);
	/* Wait for QEMU to exist, whatever the machine's speed. */
	while (!run.tid || !runs_qemu(run.tid))
		g_usleep(20 * 1000);
	run.cancelled = SIGINT;
	kdh_guest_cancel();
	g_thread_join(thread);

	ck_assert(!run.ok);
	ck_assert_msg(g_error_matches(run.error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_CANCELLED), "%s",
	              run.error->message);
	ck_assert_msg(strstr(run.error->message, "launching libguestfs"), "%s", run.error->message);
	ck_assert(g_error_matches(run.item.error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_CANCELLED));
	g_autofree char *left = all_children();
	ck_assert_str_eq(left, "");
	g_error_free(run.error);
	kdh_guest_fetch_clear(&run.item);
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
	tcase_add_test(tc, hostile_layouts_fail_clearly);
	tcase_add_test(tc, batch_gives_each_disk_its_own_outcome);
	tcase_add_test(tc, batch_cancelled_during_launch);
	suite_add_tcase(s, tc);

	/* Paths the end-to-end suites also take (faults_e2e's cases without a
	 * dump; the distro workflows' arch-wiki file dump, in check-full):
	 * 2.5 min of appliance launches, in make check-full. */
	tc = tcase_create("libguestfs-more");
	tcase_set_tags(tc, "e2e slow");
	tcase_set_timeout(tc, 600);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, empty_var_crash_is_no_crash);
	tcase_add_test(tc, settings_written_and_file_dump_fetched);
	suite_add_tcase(s, tc);

	tc = tcase_create("million");
	/* root: its disk is filled loop-mounted. */
	tcase_set_tags(tc, "e2e slow root");
	tcase_set_timeout(tc, 1800);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, million_entries_refused_before_listing);
	suite_add_tcase(s, tc);

	/* Starts nothing: with the unit tests. */
	tc = tcase_create("batch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, batch_cancelled_before_start);
	tcase_add_test(tc, no_copy_past_the_host_free_space);
	suite_add_tcase(s, tc);
	return s;
}
