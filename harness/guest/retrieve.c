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

guint64 kdh_guest_dump_cap(guint64 memory)
{
	return memory + memory / 4 + ((guint64)64 << 20);
}

/* BYTES for a message, "4.0 TiB": GLib's size with a plain space (GLib
 * puts a no-break space before the unit). */
static char *size_text(guint64 bytes)
{
	g_autofree char *text = g_format_size_full(bytes, G_FORMAT_SIZE_IEC_UNITS);
	g_auto(GStrv) parts = g_strsplit(text, "\u00a0", -1);

	return g_strjoinv(" ", parts);
}

gboolean kdh_guest_room_for(const char *dir, guint64 bytes, const char *what, GError **error)
{
	struct statvfs vfs;
	guint64 free_bytes;

	if (statvfs(dir, &vfs) != 0) {
		g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
		            "checking the free space in %s: %s", dir, g_strerror(errno));
		return FALSE;
	}
	free_bytes = (guint64)vfs.f_bavail * vfs.f_frsize;
	if (free_bytes >= KDH_GUEST_HOST_RESERVE && free_bytes - KDH_GUEST_HOST_RESERVE >= bytes)
		return TRUE;
	g_autofree char *size = size_text(bytes);
	g_autofree char *room = size_text(free_bytes);
	g_autofree char *reserve = size_text(KDH_GUEST_HOST_RESERVE);
	g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
	            "copying %s (%s) into %s would leave less than %s free there (%s free): not "
	            "copied",
	            what, size, dir, reserve, room);
	return FALSE;
}

/* What a file of MODE is, when it is not a regular one. */
static const char *kind_name(gint64 mode)
{
	static const struct {
		mode_t type;
		const char *name;
	} kinds[] = {
	    {S_IFLNK, "a symbolic link"},    {S_IFDIR, "a folder"}, {S_IFBLK, "a block device"},
	    {S_IFCHR, "a character device"}, {S_IFIFO, "a FIFO"},   {S_IFSOCK, "a socket"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
		if (((mode_t)mode & S_IFMT) == kinds[i].type)
			return kinds[i].name;
	}
	return "of an unknown type";
}

typedef struct guestfs_statns GuestfsStatns;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GuestfsStatns, guestfs_free_statns)

/* PATH as a real folder (never through a link): its status, or NULL with
 * KDH_GUEST_ERROR_NO_CRASH when it is not there, or FAILED when it is a
 * link or anything else. */
static struct guestfs_statns *real_dir(guestfs_h *g, const char *path, GError **error)
{
	g_autoptr(GuestfsStatns) st = guestfs_lstatns(g, path);

	if (!st) {
		if (guestfs_last_errno(g) == ENOENT) {
			g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_NO_CRASH,
			            "no %s on the disk", path);
			return NULL;
		}
		g_autofree char *what = g_strdup_printf("looking at %s", path);
		guest_gfs_error(g, error, what);
		return NULL;
	}
	if (!S_ISDIR(st->st_mode)) {
		g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
		            "%s on the guest disk is %s, not a folder: kdh follows no link and "
		            "reads only real folders there",
		            path, kind_name(st->st_mode));
		return NULL;
	}
	return g_steal_pointer(&st);
}

/* The names in DIR, a real folder (its status ST), within the caps. */
static char **list_dir(guestfs_h *g, const char *dir, const struct guestfs_statns *st,
                       GError **error)
{
	g_auto(GStrv) names = NULL;
	guint n;

	if (st->st_size > KDH_GUEST_DIR_BYTES_MAX) {
		g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
		            "%s on the guest disk is a folder of %" G_GINT64_FORMAT
		            " bytes, more than the %" G_GINT64_FORMAT
		            " kdh lists (tens of thousands of names, where a dump folder holds a "
		            "few files): not read",
		            dir, (gint64)st->st_size, KDH_GUEST_DIR_BYTES_MAX);
		return NULL;
	}
	if (!(names = guestfs_ls(g, dir))) {
		g_autofree char *what = g_strdup_printf("listing %s", dir);
		guest_gfs_error(g, error, what);
		return NULL;
	}
	n = g_strv_length(names);
	if (n > KDH_GUEST_ENTRIES_MAX) {
		g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
		            "%s on the guest disk has %u entries, more than the %d kdh examines: "
		            "not read",
		            dir, n, KDH_GUEST_ENTRIES_MAX);
		return NULL;
	}
	return g_steal_pointer(&names);
}

/* The newest entry of /var/crash (by mtime, then name) that is a folder
 * (not a link to one), or, with PREFIX, a regular file whose name starts
 * with PREFIX: its name.  /var and /var/crash must be real folders. */
static char *newest_crash_entry(guestfs_h *g, const char *prefix, GError **error)
{
	g_autoptr(GuestfsStatns) var = real_dir(g, "/var", error);
	g_autoptr(GuestfsStatns) crash = var ? real_dir(g, "/var/crash", error) : NULL;
	g_auto(GStrv) names = crash ? list_dir(g, "/var/crash", crash, error) : NULL;
	g_autofree char *best = NULL;
	gint64 best_mtime = G_MININT64;

	if (!names)
		return NULL;
	for (char **n = names; *n; n++) {
		g_autofree char *path = g_build_filename("/var/crash", *n, NULL);
		g_autoptr(GuestfsStatns) st = NULL;
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

/* One disk's copy under way. */
typedef struct {
	KdhCrashFiles *out;
	const KdhGuestFetch *item;
	guint64 cap;   /* the most bytes in all, and per file */
	guint64 total; /* bytes copied so far */
} Copy;

static void skip(Copy *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void skip(Copy *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(c->out->skipped, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

/* Whether a regular file SAFE of SIZE bytes fits the caps; says why not. */
static gboolean within_caps(Copy *c, const char *safe, guint64 size)
{
	g_autofree char *cap = size_text(c->cap);
	g_autofree char *human = size_text(size);

	if (c->out->files->len >= KDH_GUEST_FILES_MAX) {
		skip(c,
		     "%s: not copied: %d files were copied already, the most kdh takes from a "
		     "dump folder",
		     safe, KDH_GUEST_FILES_MAX);
		return FALSE;
	}
	if (size > c->cap) {
		skip(c,
		     "%s: not copied: %" G_GUINT64_FORMAT " bytes (%s), more than a dump of this "
		     "guest can take (%s)",
		     safe, size, human, cap);
		return FALSE;
	}
	if (size > c->cap - c->total) {
		skip(c,
		     "%s: not copied: %" G_GUINT64_FORMAT " bytes (%s) would take the files "
		     "copied past what a dump of this guest can take (%s)",
		     safe, size, human, cap);
		return FALSE;
	}
	return TRUE;
}

/* Copies NAME of the guest folder C->out->crash_dir into the item's
 * dest_dir when it is a regular file within the caps whose safe name is
 * free there; else says why not.  FALSE when the copy fails. */
static gboolean fetch_file(guestfs_h *g, Copy *c, const char *name, GError **error)
{
	const char *const *reserved = c->item->reserved;
	g_autofree char *path = g_build_filename(c->out->crash_dir, name, NULL);
	g_autoptr(GError) why = NULL;
	g_autofree char *safe = kdh_safe_name(name, &why);
	g_autofree char *local = NULL;
	g_autoptr(GuestfsStatns) st = NULL;

	if (!safe) {
		skip(c, "%s", why->message);
		return TRUE;
	}
	st = guestfs_lstatns(g, path);
	if (!st || !S_ISREG(st->st_mode)) {
		skip(c, "%s: not a regular file (%s): not copied", safe,
		     st ? kind_name(st->st_mode) : "gone");
		return TRUE;
	}
	local = g_build_filename(c->item->dest_dir, safe, NULL);
	if (reserved && g_strv_contains(reserved, safe)) {
		skip(c, "%s: a name kdh writes itself", safe);
		return TRUE;
	}
	if (g_file_test(local, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK)) {
		/* Two guest names that sanitise alike: keep the first. */
		skip(c, "%s: name clashes after sanitising", safe);
		return TRUE;
	}
	if (!within_caps(c, safe, (guint64)st->st_size) ||
	    !kdh_guest_room_for(c->item->dest_dir, (guint64)st->st_size, safe, error))
		return !*error;
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
	c->total += (guint64)st->st_size;
	g_ptr_array_add(c->out->files, g_steal_pointer(&local));
	return TRUE;
}

static gboolean fetch_dir(guestfs_h *g, Copy *c, GError **error)
{
	g_autoptr(GuestfsStatns) st = real_dir(g, c->out->crash_dir, error);
	g_auto(GStrv) names = st ? list_dir(g, c->out->crash_dir, st, error) : NULL;

	if (!names)
		return FALSE;
	for (char **n = names; *n; n++) {
		if (!fetch_file(g, c, *n, error))
			return FALSE;
	}
	return TRUE;
}

/* Mounts DEVICE (ITEM's disk) read-only at / and copies its dump folder. */
static KdhCrashFiles *fetch_one(guestfs_h *g, const char *device, const KdhGuestFetch *item,
                                GError **error)
{
	g_autoptr(KdhCrashFiles) out = g_new0(KdhCrashFiles, 1);
	Copy c = {.out = out,
	          .item = item,
	          .cap = item->max_bytes ? item->max_bytes : KDH_GUEST_DUMP_MAX_DEFAULT};

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
		if (!fetch_file(g, &c, entry, error))
			return NULL;
		return g_steal_pointer(&out);
	}
	out->crash_dir = g_build_filename("/var/crash", entry, NULL);
	if (!fetch_dir(g, &c, error))
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
