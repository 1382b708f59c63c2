/* Retrieval: /var/crash out of guest disks, several disks per libguestfs
 * appliance (its launch is most of the cost), and cancelling a batch. */
#include "guest/guest.h"
#include "guest/internal.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

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

void kdh_guest_fetch_clear(KdhGuestFetch *item)
{
	/* Not g_clear_pointer: clang-tidy's sizeof check flags its assertion. */
	kdh_crash_files_free(item->files);
	item->files = NULL;
	g_clear_error(&item->error);
	item->seconds = 0;
}

/* ---- cancellation ----
 * libguestfs offers guestfs_user_cancel, which stops a transfer only, not a
 * launch (10 s here), and every other call on a handle waits for the call
 * in progress (the handle's lock), guestfs_get_pid included.  So kdh kills
 * the appliance from outside: a running batch publishes the id of its
 * thread, and the processes that thread started (QEMU and libguestfs's
 * recovery process) are listed in /proc/self/task/<tid>/children.  Only
 * plain stores, reads and system calls: async-signal-safe. */

#define RUNNING_MAX 8
static volatile sig_atomic_t running[RUNNING_MAX]; /* thread ids, 0: free */

static int running_claim(void)
{
	sig_atomic_t tid = (sig_atomic_t)syscall(SYS_gettid);

	for (int i = 0; i < RUNNING_MAX; i++) {
		sig_atomic_t free_slot = 0;
		if (__atomic_compare_exchange_n(&running[i], &free_slot, tid, FALSE,
		                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return i;
	}
	return -1; /* more batches at once than slots: this one is not killable */
}

static void running_release(int slot)
{
	if (slot >= 0)
		__atomic_store_n(&running[slot], 0, __ATOMIC_SEQ_CST);
}

/* DIGITS of V, written backwards from END; returns the first. */
static char *put_uint(char *end, unsigned long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void kill_children(sig_atomic_t tid)
{
	static const char head[] = "/proc/self/task/";
	static const char tail[] = "/children";
	char path[64], num[24], buf[512];
	char *p = path, *digits = put_uint(num + sizeof(num), (unsigned long)tid);
	ssize_t len;
	int fd;

	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	memcpy(p, digits, (size_t)(num + sizeof(num) - digits));
	p += num + sizeof(num) - digits;
	memcpy(p, tail, sizeof(tail)); /* with its NUL */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return;
	buf[len] = '\0';
	for (char *s = buf; *s;) {
		long pid = 0;
		while (*s == ' ' || *s == '\n')
			s++;
		while (*s >= '0' && *s <= '9' && pid < 1L << 30)
			pid = pid * 10 + (*s++ - '0');
		if (pid > 1)
			kill((pid_t)pid, SIGKILL);
		while (*s && *s != ' ')
			s++;
	}
}

void kdh_guest_cancel(void)
{
	int saved = errno;

	for (int i = 0; i < RUNNING_MAX; i++) {
		sig_atomic_t tid = __atomic_load_n(&running[i], __ATOMIC_SEQ_CST);
		if (tid)
			kill_children(tid);
	}
	errno = saved;
}

/* ---- one disk ---- */

/* The newest entry of /var/crash (by mtime, then name) that is a folder
 * (not a link to one), or, with PREFIX, a regular file whose name starts
 * with PREFIX: its name. */
static char *newest_crash_entry(guestfs_h *g, const char *prefix, GError **error)
{
	g_auto(GStrv) names = guestfs_ls(g, "/var/crash");
	g_autofree char *best = NULL;
	gint64 best_mtime = G_MININT64;

	if (!names) {
		/* No /var/crash at all is no dump, like an empty one. */
		if (guestfs_is_dir(g, "/var/crash") == 0 && guestfs_is_ready(g) > 0) {
			g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_NO_CRASH,
			            "no /var/crash on the disk");
			return NULL;
		}
		guest_gfs_error(g, error, "listing /var/crash");
		return NULL;
	}
	for (char **n = names; *n; n++) {
		g_autofree char *path = g_build_filename("/var/crash", *n, NULL);
		struct guestfs_statns *st;
		gboolean wanted;

		if (prefix && !g_str_has_prefix(*n, prefix))
			continue;
		if (!(st = guestfs_lstatns(g, path)))
			continue;
		wanted = prefix ? S_ISREG(st->st_mode) : S_ISDIR(st->st_mode);
		if (wanted && (st->st_mtime_sec > best_mtime ||
		               (st->st_mtime_sec == best_mtime && g_strcmp0(*n, best) > 0))) {
			best_mtime = st->st_mtime_sec;
			g_free(best);
			best = g_strdup(*n);
		}
		guestfs_free_statns(st);
	}
	if (!best) {
		g_autofree char *what = prefix
		                            ? g_strdup_printf("no %s* file in /var/crash", prefix)
		                            : g_strdup("no dump folder in /var/crash");
		g_set_error_literal(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_NO_CRASH, what);
		return NULL;
	}
	return g_steal_pointer(&best);
}

/* Less than this free on the destination after a failed copy: it failed
 * because the disk is full. */
#define FULL_SLACK ((guint64)1 << 20)

/* "<folder>: No space left on device" when the file system holding LOCAL
 * is full, else "": libguestfs reports a download the host could not
 * write only as "file receive cancelled by daemon". */
static char *full_disk(const char *local)
{
	g_autofree char *dir = g_path_get_dirname(local);
	struct statvfs vfs;

	if (statvfs(dir, &vfs) != 0 || (guint64)vfs.f_bavail * vfs.f_frsize >= FULL_SLACK)
		return g_strdup("");
	return g_strdup_printf("%s: %s", dir, g_strerror(ENOSPC));
}

/* Copies NAME of the guest folder OUT->crash_dir into DEST_DIR when it is
 * a regular file whose safe name is free there; else says why not. */
static gboolean fetch_file(guestfs_h *g, KdhCrashFiles *out, const char *name, const char *dest_dir,
                           const char *const *reserved, GError **error)
{
	g_autofree char *path = g_build_filename(out->crash_dir, name, NULL);
	g_autoptr(GError) why = NULL;
	g_autofree char *safe = kdh_safe_name(name, &why);
	g_autofree char *local = NULL;
	struct guestfs_statns *st;

	if (!safe) {
		g_ptr_array_add(out->skipped, g_strdup(why->message));
		return TRUE;
	}
	st = guestfs_lstatns(g, path);
	if (!st || !S_ISREG(st->st_mode)) {
		g_ptr_array_add(out->skipped, g_strdup_printf("%s: not a regular file", safe));
		if (st)
			guestfs_free_statns(st);
		return TRUE;
	}
	guestfs_free_statns(st);
	local = g_build_filename(dest_dir, safe, NULL);
	if (reserved && g_strv_contains(reserved, safe)) {
		g_ptr_array_add(out->skipped,
		                g_strdup_printf("%s: a name kdh writes itself", safe));
		return TRUE;
	}
	if (g_file_test(local, G_FILE_TEST_EXISTS)) {
		/* Two guest names that sanitise alike: keep the first. */
		g_ptr_array_add(out->skipped,
		                g_strdup_printf("%s: name clashes after sanitising", safe));
		return TRUE;
	}
	if (guestfs_download(g, path, local) < 0) {
		/* Half a file (the host's disk filled up, say) must not pass
		 * for the dump: it goes, and the error names it. */
		g_autofree char *full = full_disk(local);
		g_autofree char *what = g_strdup_printf(
		    "copying %s out to %s (the partial file was removed)", path, local);
		g_unlink(local);
		guest_gfs_error(g, error, what);
		if (*full)
			g_prefix_error(error, "%s: ", full);
		return FALSE;
	}
	g_ptr_array_add(out->files, g_steal_pointer(&local));
	return TRUE;
}

static gboolean fetch_dir(guestfs_h *g, KdhCrashFiles *out, const char *dest_dir,
                          const char *const *reserved, GError **error)
{
	g_auto(GStrv) names = guestfs_ls(g, out->crash_dir);

	if (!names)
		return guest_gfs_error(g, error, "listing the dump folder");
	for (char **n = names; *n; n++) {
		if (!fetch_file(g, out, *n, dest_dir, reserved, error))
			return FALSE;
	}
	return TRUE;
}

/* Mounts DEVICE (ITEM's disk) read-only at / and copies its dump folder. */
static KdhCrashFiles *fetch_one(guestfs_h *g, const char *device, const KdhGuestFetch *item,
                                GError **error)
{
	g_autoptr(KdhCrashFiles) out = g_new0(KdhCrashFiles, 1);

	out->files = g_ptr_array_new_with_free_func(g_free);
	out->skipped = g_ptr_array_new_with_free_func(g_free);
	if (guestfs_mount_ro(g, device, "/") < 0) {
		guest_gfs_error(g, error, "mounting the guest disk");
		return NULL;
	}
	g_autofree char *entry = newest_crash_entry(g, item->file_prefix, error);

	if (!entry)
		return NULL;
	if (item->file_prefix) {
		/* The dump alone, straight from /var/crash. */
		out->crash_dir = g_strdup("/var/crash");
		if (!fetch_file(g, out, entry, item->dest_dir, item->reserved, error))
			return NULL;
		return g_steal_pointer(&out);
	}
	out->crash_dir = g_build_filename("/var/crash", entry, NULL);
	if (!fetch_dir(g, out, item->dest_dir, item->reserved, error))
		return NULL;
	return g_steal_pointer(&out);
}

/* ---- the batch ---- */

static double seconds_since(gint64 start)
{
	return (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
}

static gboolean is_cancelled(volatile sig_atomic_t *cancelled)
{
	return cancelled && *cancelled;
}

/* Gives every item from FROM on (not read) a copy of WHY. */
static void fail_rest(KdhGuestFetch *items, guint from, guint n, const GError *why)
{
	for (guint i = from; i < n; i++) {
		if (!items[i].files && !items[i].error)
			items[i].error = g_error_copy(why);
	}
}

/* Sets ERROR to a cancellation; CAUSE (may be NULL): what the cancellation
 * broke, e.g. a launch that was killed. */
static gboolean cancel_error(GError **error, const GError *cause)
{
	g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_CANCELLED, "retrieval cancelled%s%s",
	            cause ? ": " : "", cause ? cause->message : "");
	return FALSE;
}

/* Launches G with ITEMS' disks and returns its devices in add order. */
static char **launch(guestfs_h *g, const KdhGuestFetch *items, guint n, GError **error)
{
	g_auto(GStrv) devices = NULL;

	for (guint i = 0; i < n; i++) {
		if (guestfs_add_drive_opts(g, items[i].disk, GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
		                           GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1) < 0) {
			g_autofree char *what =
			    g_strdup_printf("adding the disk %s", items[i].disk);
			guest_gfs_error(g, error, what);
			return NULL;
		}
	}
	if (guestfs_launch(g) < 0) {
		guest_gfs_error(g, error, "launching libguestfs");
		return NULL;
	}
	/* libguestfs lists the devices in the order the drives were added. */
	devices = guestfs_list_devices(g);
	if (!devices) {
		guest_gfs_error(g, error, "listing the disks");
		return NULL;
	}
	if (g_strv_length(devices) != n) {
		g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
		            "libguestfs shows %u disks, %u were added", g_strv_length(devices), n);
		return NULL;
	}
	return g_steal_pointer(&devices);
}

/* Reads each item in turn with G launched; FALSE when the appliance fails. */
static gboolean read_all(guestfs_h *g, char **devices, KdhGuestFetch *items, guint n,
                         volatile sig_atomic_t *cancelled, GError **error)
{
	for (guint i = 0; i < n; i++) {
		gint64 start = g_get_monotonic_time();

		if (is_cancelled(cancelled))
			return cancel_error(error, NULL);
		items[i].files = fetch_one(g, devices[i], &items[i], &items[i].error);
		items[i].seconds = seconds_since(start);
		if (guestfs_is_ready(g) <= 0) {
			/* The appliance died on this disk (or was killed): the disks
			 * after it have no result. */
			if (is_cancelled(cancelled)) {
				cancel_error(error, items[i].error);
				if (items[i].error) {
					g_clear_error(&items[i].error);
					items[i].error = g_error_copy(*error);
				}
				return FALSE;
			}
			g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
			            "libguestfs's appliance ended while reading %s: %s",
			            items[i].disk,
			            items[i].error ? items[i].error->message : "no error given");
			return FALSE;
		}
		if (guestfs_umount_all(g) < 0) {
			kdh_guest_fetch_clear(&items[i]);
			guest_gfs_error(g, &items[i].error, "unmounting the guest disk");
			g_propagate_error(error, g_error_copy(items[i].error));
			return FALSE;
		}
		items[i].seconds = seconds_since(start);
	}
	return TRUE;
}

gboolean kdh_guest_fetch_crash_batch(KdhGuestFetch *items, guint n, gboolean force_tcg,
                                     volatile sig_atomic_t *cancelled, double *launch_seconds,
                                     GError **error)
{
	g_autoptr(GError) local = NULL;
	g_auto(GStrv) devices = NULL;
	gint64 start = g_get_monotonic_time();
	guestfs_h *g = NULL;
	gboolean ok = FALSE;
	int slot = -1;

	g_return_val_if_fail(n >= 1 && n <= KDH_GUEST_BATCH_MAX, FALSE);
	for (guint i = 0; i < n; i++)
		kdh_guest_fetch_clear(&items[i]);
	if (launch_seconds)
		*launch_seconds = 0;
	if (is_cancelled(cancelled)) {
		cancel_error(&local, NULL);
		goto out;
	}
	if (!(g = guest_gfs_open(force_tcg, &local)))
		goto out;
	slot = running_claim();
	devices = launch(g, items, n, &local);
	if (launch_seconds)
		*launch_seconds = seconds_since(start);
	if (is_cancelled(cancelled)) {
		g_autoptr(GError) cause = g_steal_pointer(&local);
		cancel_error(&local, cause);
	} else if (devices) {
		ok = read_all(g, devices, items, n, cancelled, &local);
	}
out:
	/* Before guestfs_close reaps QEMU: kdh_guest_cancel must never see
	 * this thread's children once their ids may be reused. */
	running_release(slot);
	if (g)
		guestfs_close(g);
	if (!ok) {
		fail_rest(items, 0, n, local);
		g_propagate_error(error, g_steal_pointer(&local));
	}
	return ok;
}

KdhCrashFiles *kdh_guest_fetch_crash(const char *disk, const char *dest_dir,
                                     const char *const *reserved, gboolean force_tcg,
                                     GError **error)
{
	KdhGuestFetch item = {.disk = disk, .dest_dir = dest_dir, .reserved = reserved};

	/* The batch's own error is also the item's: report the item's. */
	kdh_guest_fetch_crash_batch(&item, 1, force_tcg, NULL, NULL, NULL);
	if (item.error)
		g_propagate_error(error, g_steal_pointer(&item.error));
	return g_steal_pointer(&item.files);
}
