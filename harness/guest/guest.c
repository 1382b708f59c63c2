/* libguestfs at the boundary: every guestfs error becomes one GError here.
 * This file: the handle, the base disk and overlays; retrieve.c reads them. */
#include "guest/guest.h"
#include "guest/internal.h"
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

gboolean guest_gfs_error(guestfs_h *g, GError **error, const char *what)
{
	const char *msg = g ? guestfs_last_error(g) : NULL;
	/* libguestfs appends how to debug it to a failed launch: not ours to
	 * repeat in a verdict. */
	const char *advice = msg ? strstr(msg, "\nTo see full error messages") : NULL;

	if (!msg)
		msg = "libguestfs failed";
	g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED, "%s: %.*s", what,
	            (int)(advice ? advice - msg : (ptrdiff_t)strlen(msg)), msg);
	return FALSE;
}

/* Where every handle of this process keeps its temporary files (NULL:
 * libguestfs's default, /tmp).  Set once before the first handle. */
static char *gfs_tmpdir;

void kdh_guest_set_tmpdir(const char *dir)
{
	g_free(gfs_tmpdir);
	gfs_tmpdir = g_strdup(dir);
}

/* A handle that prints nothing itself and, where KVM does not work, does not
 * try it (the appliance would hang or abort otherwise). */
guestfs_h *guest_gfs_open(gboolean force_tcg, GError **error)
{
	guestfs_h *g = guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);

	if (!g) {
		guest_gfs_error(NULL, error, "creating a libguestfs handle");
		return NULL;
	}
	guestfs_set_error_handler(g, NULL, NULL);
	/* libguestfs's own variables (LIBGUESTFS_HV, TMPDIR, ...) count, under
	 * the settings kdh needs; the per-handle folder is the run's (the
	 * appliance cache, cachedir, stays shared by every run). */
	if (guestfs_parse_environment(g) < 0 ||
	    (gfs_tmpdir && guestfs_set_tmpdir(g, gfs_tmpdir) < 0) ||
	    guestfs_set_backend(g, "direct") < 0 ||
	    (force_tcg && guestfs_set_backend_setting(g, "force_tcg", "1") < 0)) {
		guest_gfs_error(g, error, "configuring libguestfs");
		guestfs_close(g);
		return NULL;
	}
	return g;
}

guestfs_h *guest_gfs_new_ext4(const char *out, gint64 size, gboolean force_tcg, GError **error)
{
	guestfs_h *g = guest_gfs_open(force_tcg, error);
	gboolean ok;

	ok = g && (guestfs_disk_create(g, out, "qcow2", size, -1) == 0 ||
	           guest_gfs_error(g, error, "creating the disk"));
	ok = ok &&
	     (guestfs_add_drive_opts(g, out, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1) == 0 ||
	      guest_gfs_error(g, error, "adding the disk"));
	ok = ok && (guestfs_launch(g) == 0 || guest_gfs_error(g, error, "launching libguestfs"));
	ok = ok && (guestfs_mkfs(g, "ext4", "/dev/sda") == 0 ||
	            guest_gfs_error(g, error, "making the ext4 file system"));
	ok =
	    ok && (guestfs_mount(g, "/dev/sda", "/") == 0 || guest_gfs_error(g, error, "mounting"));
	if (!ok && g) {
		guestfs_close(g);
		g = NULL;
	}
	return g;
}

gboolean guest_gfs_finish(guestfs_h *g, gboolean ok, GError **error)
{
	ok = ok && (guestfs_shutdown(g) == 0 || guest_gfs_error(g, error, "closing the disk"));
	guestfs_close(g);
	return ok;
}

/* Makes the empty ext4 base disk at OUT. */
static gboolean fill_base(const char *out, const char *scratch, gpointer data, GError **error)
{
	gboolean force_tcg = *(const gboolean *)data;
	guestfs_h *g = guest_gfs_new_ext4(out, BASE_SIZE, force_tcg, error);

	(void)scratch;
	if (!g)
		return FALSE;
	return guest_gfs_finish(g,
	                        guestfs_mkdir_p(g, "/var/crash") == 0 ||
	                            guest_gfs_error(g, error, "creating /var/crash"),
	                        error);
}

char *kdh_guest_disk_base(const char *cache_dir, gboolean force_tcg, GError **error)
{
	g_autofree char *dir = g_build_filename(cache_dir, "disks", NULL);
	g_autofree char *name = g_strdup_printf("base-ext4-v%d.qcow2", BASE_LAYOUT);

	return kdh_cache_entry_ensure(dir, name, fill_base, &force_tcg, error);
}

gboolean kdh_guest_disk_overlay(const char *base, const char *overlay, GError **error)
{
	guestfs_h *g = guest_gfs_open(TRUE, error);
	gboolean ok;

	if (!g)
		return FALSE;
	/* disk_create does not launch the appliance: it is cheap. */
	ok = guestfs_disk_create(g, overlay, "qcow2", -1, GUESTFS_DISK_CREATE_BACKINGFILE, base,
	                         GUESTFS_DISK_CREATE_BACKINGFORMAT, "qcow2", -1) == 0 ||
	     guest_gfs_error(g, error, "creating the overlay disk");
	guestfs_close(g);
	return ok;
}
