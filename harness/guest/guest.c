/* libguestfs at the boundary: every guestfs error becomes one GError here. */
#include "guest/guest.h"
#include "util/util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <guestfs.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

KDH_DEFINE_QUARK("kdh-guest-error-quark", kdh_guest_error)

/* Bumped when the base disk's layout changes. */
#define BASE_LAYOUT 1
#define BASE_SIZE   (4LL << 30)

void kdh_crash_files_free(KdhCrashFiles *f)
{
	if (!f)
		return;
	g_free(f->crash_dir);
	if (f->files)
		g_ptr_array_unref(f->files);
	if (f->skipped)
		g_ptr_array_unref(f->skipped);
	g_free(f);
}

static gboolean gfs_error(guestfs_h *g, GError **error, const char *what)
{
	const char *msg = g ? guestfs_last_error(g) : NULL;

	g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED, "%s: %s", what,
	            msg ? msg : "libguestfs failed");
	return FALSE;
}

/* A handle that prints nothing itself and, where KVM does not work, does not
 * try it (the appliance would hang or abort otherwise). */
static guestfs_h *gfs_open(gboolean force_tcg, GError **error)
{
	guestfs_h *g = guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);

	if (!g) {
		gfs_error(NULL, error, "creating a libguestfs handle");
		return NULL;
	}
	guestfs_set_error_handler(g, NULL, NULL);
	if (guestfs_set_backend(g, "direct") < 0 ||
	    (force_tcg && guestfs_set_backend_setting(g, "force_tcg", "1") < 0)) {
		gfs_error(g, error, "configuring libguestfs");
		guestfs_close(g);
		return NULL;
	}
	return g;
}

/* Makes the empty ext4 base disk at OUT. */
static gboolean fill_base(const char *out, const char *scratch, gpointer data, GError **error)
{
	gboolean force_tcg = *(const gboolean *)data;
	guestfs_h *g = gfs_open(force_tcg, error);
	gboolean ok;

	(void)scratch;
	ok = g && (guestfs_disk_create(g, out, "qcow2", BASE_SIZE, -1) == 0 ||
	           gfs_error(g, error, "creating the disk"));
	ok = ok &&
	     (guestfs_add_drive_opts(g, out, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1) == 0 ||
	      gfs_error(g, error, "adding the disk"));
	ok = ok && (guestfs_launch(g) == 0 || gfs_error(g, error, "launching libguestfs"));
	ok = ok && (guestfs_mkfs(g, "ext4", "/dev/sda") == 0 ||
	            gfs_error(g, error, "making the ext4 file system"));
	ok = ok && (guestfs_mount(g, "/dev/sda", "/") == 0 || gfs_error(g, error, "mounting"));
	ok = ok &&
	     (guestfs_mkdir_p(g, "/var/crash") == 0 || gfs_error(g, error, "creating /var/crash"));
	ok = ok && (guestfs_shutdown(g) == 0 || gfs_error(g, error, "closing the disk"));
	if (g)
		guestfs_close(g);
	return ok;
}

char *kdh_guest_disk_base(const char *cache_dir, gboolean force_tcg, GError **error)
{
	g_autofree char *dir = g_build_filename(cache_dir, "disks", NULL);
	g_autofree char *name = g_strdup_printf("base-ext4-v%d.qcow2", BASE_LAYOUT);

	return kdh_cache_entry_ensure(dir, name, fill_base, &force_tcg, error);
}

gboolean kdh_guest_disk_overlay(const char *base, const char *overlay, GError **error)
{
	guestfs_h *g = gfs_open(TRUE, error);
	gboolean ok;

	if (!g)
		return FALSE;
	/* disk_create does not launch the appliance: it is cheap. */
	ok = guestfs_disk_create(g, overlay, "qcow2", -1, GUESTFS_DISK_CREATE_BACKINGFILE, base,
	                         GUESTFS_DISK_CREATE_BACKINGFORMAT, "qcow2", -1) == 0 ||
	     gfs_error(g, error, "creating the overlay disk");
	guestfs_close(g);
	return ok;
}

/* The newest entry of /var/crash that is a folder (not a link to one). */
static char *newest_crash_dir(guestfs_h *g, GError **error)
{
	g_auto(GStrv) names = guestfs_ls(g, "/var/crash");
	g_autofree char *best = NULL;
	gint64 best_mtime = G_MININT64;

	if (!names) {
		gfs_error(g, error, "listing /var/crash");
		return NULL;
	}
	for (char **n = names; *n; n++) {
		g_autofree char *path = g_build_filename("/var/crash", *n, NULL);
		struct guestfs_statns *st = guestfs_lstatns(g, path);
		if (!st)
			continue;
		if (S_ISDIR(st->st_mode) &&
		    (st->st_mtime_sec > best_mtime ||
		     (st->st_mtime_sec == best_mtime && g_strcmp0(*n, best) > 0))) {
			best_mtime = st->st_mtime_sec;
			g_free(best);
			best = g_strdup(*n);
		}
		guestfs_free_statns(st);
	}
	if (!best) {
		g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_NO_CRASH,
		            "no dump folder in /var/crash");
		return NULL;
	}
	return g_build_filename("/var/crash", best, NULL);
}

static gboolean fetch_dir(guestfs_h *g, KdhCrashFiles *out, const char *dest_dir,
                          const char *const *reserved, GError **error)
{
	g_auto(GStrv) names = guestfs_ls(g, out->crash_dir);

	if (!names)
		return gfs_error(g, error, "listing the dump folder");
	for (char **n = names; *n; n++) {
		g_autofree char *path = g_build_filename(out->crash_dir, *n, NULL);
		g_autoptr(GError) why = NULL;
		g_autofree char *safe = kdh_safe_name(*n, &why);
		struct guestfs_statns *st;

		if (!safe) {
			g_ptr_array_add(out->skipped, g_strdup(why->message));
			continue;
		}
		st = guestfs_lstatns(g, path);
		if (!st || !S_ISREG(st->st_mode)) {
			g_ptr_array_add(out->skipped,
			                g_strdup_printf("%s: not a regular file", safe));
			if (st)
				guestfs_free_statns(st);
			continue;
		}
		guestfs_free_statns(st);
		g_autofree char *local = g_build_filename(dest_dir, safe, NULL);
		if (reserved && g_strv_contains(reserved, safe)) {
			g_ptr_array_add(out->skipped,
			                g_strdup_printf("%s: a name kdh writes itself", safe));
			continue;
		}
		if (g_file_test(local, G_FILE_TEST_EXISTS)) {
			/* Two guest names that sanitise alike: keep the first. */
			g_ptr_array_add(out->skipped,
			                g_strdup_printf("%s: name clashes after sanitising", safe));
			continue;
		}
		if (guestfs_download(g, path, local) < 0)
			return gfs_error(g, error, "copying a dump file out");
		g_ptr_array_add(out->files, g_steal_pointer(&local));
	}
	return TRUE;
}

KdhCrashFiles *kdh_guest_fetch_crash(const char *disk, const char *dest_dir,
                                     const char *const *reserved, gboolean force_tcg,
                                     GError **error)
{
	g_autoptr(KdhCrashFiles) out = g_new0(KdhCrashFiles, 1);
	guestfs_h *g = gfs_open(force_tcg, error);
	gboolean ok;

	if (!g)
		return NULL;
	out->files = g_ptr_array_new_with_free_func(g_free);
	out->skipped = g_ptr_array_new_with_free_func(g_free);
	ok = (guestfs_add_drive_opts(g, disk, GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
	                             GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1) == 0 ||
	      gfs_error(g, error, "adding the disk")) &&
	     (guestfs_launch(g) == 0 || gfs_error(g, error, "launching libguestfs")) &&
	     (guestfs_mount_ro(g, "/dev/sda", "/") == 0 ||
	      gfs_error(g, error, "mounting the guest disk"));
	if (ok) {
		out->crash_dir = newest_crash_dir(g, error);
		ok = out->crash_dir && fetch_dir(g, out, dest_dir, reserved, error);
	}
	guestfs_close(g);
	return ok ? g_steal_pointer(&out) : NULL;
}

gboolean kdh_guest_fetch_crash_batch(KdhGuestFetch *items, guint n, gboolean force_tcg,
                                     volatile sig_atomic_t *cancelled, double *launch_seconds,
                                     GError **error)
{
	(void)error;
	*launch_seconds = 0;
	for (guint i = 0; i < n; i++) {
		gint64 start = g_get_monotonic_time();
		if (cancelled && *cancelled) {
			g_set_error(&items[i].error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
			            "cancelled");
			continue;
		}
		items[i].files =
		    kdh_guest_fetch_crash(items[i].disk, items[i].dest_dir, items[i].reserved,
		                          force_tcg, &items[i].error);
		items[i].seconds = (g_get_monotonic_time() - start) / 1e6;
	}
	return TRUE;
}
