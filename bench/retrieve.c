/* Retrieval cost per case against batch size: for each size N given, N
 * copies of one guest disk holding a dump are read by one
 * kdh_guest_fetch_crash_batch, and the launch, per-disk and per-case times
 * are printed side by side.  Driven by bench/retrieve.sh.
 *
 * Usage: bench-retrieve WORKDIR [DISK] -- N...
 * DISK: a case's disk.qcow2 (`kdh run --keep-disk`); without it a disk is
 * made with a 40 MiB vmcore of random bytes (a makedumpfile -d 31 dump is
 * compressed pages: about as incompressible, and about that size here). */
#include "guest/guest.h"
#include "util/util.h"

#include <glib/gstdio.h>
#include <guestfs.h>
#include <stdio.h>
#include <stdlib.h>

#define DUMP_BYTES (40u << 20)

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench-retrieve: %s: %s\n", what, why ? why : "failed");
	exit(1);
}

#define GFS(call)                                                                                  \
	do {                                                                                       \
		if ((call) < 0)                                                                    \
			die(#call, guestfs_last_error(g));                                         \
	} while (0)

/* A 4 GiB qcow2 like the base disk, with /var/crash/<stamp>/vmcore. */
static void make_disk(const char *disk, const char *workdir)
{
	g_autofree char *dump = g_build_filename(workdir, "vmcore", NULL);
	g_autofree guint32 *bytes = g_new(guint32, DUMP_BYTES / 4);
	g_autoptr(GError) error = NULL;
	guestfs_h *g = guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);

	for (guint i = 0; i < DUMP_BYTES / 4; i++)
		bytes[i] = g_random_int();
	if (!g_file_set_contents(dump, (const char *)bytes, DUMP_BYTES, &error))
		die(dump, error->message);
	if (!g)
		die("guestfs_create", NULL);
	GFS(guestfs_set_backend(g, "direct"));
	GFS(guestfs_set_backend_setting(g, "force_tcg", "1"));
	GFS(guestfs_disk_create(g, disk, "qcow2", 4LL << 30, -1));
	GFS(guestfs_add_drive_opts(g, disk, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1));
	GFS(guestfs_launch(g));
	GFS(guestfs_mkfs(g, "ext4", "/dev/sda"));
	GFS(guestfs_mount(g, "/dev/sda", "/"));
	GFS(guestfs_mkdir_p(g, "/var/crash/20261128T101500Z"));
	GFS(guestfs_upload(g, dump, "/var/crash/20261128T101500Z/vmcore"));
	GFS(guestfs_shutdown(g));
	guestfs_close(g);
	g_unlink(dump);
}

/* One batch of N copies of DISK; prints one row. */
static void bench(const char *workdir, const char *disk, guint n)
{
	KdhGuestFetch items[KDH_GUEST_BATCH_MAX] = {{0}};
	g_autofree char *paths[KDH_GUEST_BATCH_MAX] = {NULL};
	g_autofree char *dests[KDH_GUEST_BATCH_MAX] = {NULL};
	g_autoptr(GError) error = NULL;
	double launch = 0, disks = 0, total;
	gint64 start;

	for (guint i = 0; i < n; i++) {
		g_autofree char *name = g_strdup_printf("copy%u.qcow2", i);
		g_autofree char *dir = g_strdup_printf("case%u", i);
		paths[i] = g_build_filename(workdir, name, NULL);
		dests[i] = g_build_filename(workdir, dir, NULL);
		if (!kdh_copy_file(disk, paths[i], 0644, &error))
			die(paths[i], error->message);
		if (g_mkdir(dests[i], 0755) < 0)
			die(dests[i], g_strerror(errno));
		items[i] = (KdhGuestFetch){.disk = paths[i], .dest_dir = dests[i]};
	}
	start = g_get_monotonic_time();
	if (!kdh_guest_fetch_crash_batch(items, n, TRUE, NULL, &launch, &error))
		die("the batch", error->message);
	total = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
	for (guint i = 0; i < n; i++) {
		if (!items[i].files || !items[i].files->files->len)
			die(paths[i], items[i].error ? items[i].error->message : "no file copied");
		disks += items[i].seconds;
		kdh_guest_fetch_clear(&items[i]);
		g_unlink(paths[i]);
		kdh_rm_rf(dests[i]);
	}
	printf("%5u  %9.1f  %11.1f  %8.1f  %11.1f\n", n, launch, disks / n, total, total / n);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	g_autofree char *made = NULL;
	const char *disk = NULL;
	int sizes = 2;

	if (argc < 3)
		die("usage", "bench-retrieve WORKDIR [DISK] -- N...");
	if (!g_str_equal(argv[2], "--")) {
		disk = argv[2];
		sizes = 3;
	}
	if (sizes >= argc || !g_str_equal(argv[sizes], "--"))
		die("usage", "bench-retrieve WORKDIR [DISK] -- N...");
	if (!disk) {
		made = g_build_filename(argv[1], "dump.qcow2", NULL);
		make_disk(made, argv[1]);
		disk = made;
	}
	printf("%5s  %9s  %11s  %8s  %11s\n", "disks", "launch(s)", "per-disk(s)", "batch(s)",
	       "per-case(s)");
	for (int i = sizes + 1; i < argc; i++) {
		guint64 n;
		if (!g_ascii_string_to_unsigned(argv[i], 10, 1, KDH_GUEST_BATCH_MAX, &n, NULL))
			die(argv[i], "not a batch size in 1..KDH_GUEST_BATCH_MAX");
		bench(argv[1], disk, (guint)n);
	}
	return 0;
}
