/* Runs that died without their reports (commands.h, "killed runs"): a run
 * folder holds a lock on itself while its kdh lives and a note of its plan
 * (.kdh-run); the next run in the same results folder finishes every run
 * folder whose lock is free and which has no results.json: each case
 * without a verdict gets one, and the run gets its reports. */
#include "cli/commands.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOTE_FILE   ".kdh-run"
#define NOTE_MAX    (4u << 20)
#define SERIAL_FILE "serial.log"
/* The end of a console log searched for the last marker. */
#define SERIAL_TAIL (64 * 1024)

/* The phase a case was in after its last console marker (the serial
 * marker protocol, DESIGN.md), in marker order. */
static const struct {
	const char *marker;
	const char *phase;
} after_marker[] = {
    {NULL, "boot"}, /* a console log without a marker */
    {"boot", "boot"},
    {"armed", "crash"},
    {"trigger", "crash"},
    {"capture-start", "capture"},
    {"capture-done", "shutdown"},
    {"poweroff", "retrieve"},
};

int kdh_run_folder_claim(const char *run_dir, GError **error)
{
	int fd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
		            "locking the run folder %s: %s", run_dir, g_strerror(saved));
		return -1;
	}
	return fd;
}

gboolean kdh_run_folder_note(const char *run_dir, const KdhRunPlan *plan, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *path = g_build_filename(run_dir, NOTE_FILE, NULL);

	g_key_file_set_string(kf, "run", "started_at", plan->started_at);
	if (plan->accel)
		g_key_file_set_string(kf, "run", "accel", plan->accel);
	if (plan->vm_dir)
		g_key_file_set_string(kf, "run", "vm_dir", plan->vm_dir);
	g_key_file_set_boolean(kf, "run", "keep_disk", plan->keep_disk);
	g_key_file_set_string_list(kf, "run", "cases", (const char *const *)plan->names->pdata,
	                           plan->names->len);
	return g_key_file_save_to_file(kf, path, error);
}

/* The last "KDH: <event>" of the end of DIR's console log, as the phase
 * after it; NULL when there is no console log (the case had not booted). */
static const char *last_phase(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, SERIAL_FILE, NULL);
	g_autofree char *tail = g_malloc0(SERIAL_TAIL + 1);
	const char *phase = after_marker[0].phase;
	FILE *f = fopen(path, "rb");
	gsize len;

	if (!f)
		return NULL;
	if (fseeko(f, 0, SEEK_END) == 0 && ftello(f) > SERIAL_TAIL)
		fseeko(f, -SERIAL_TAIL, SEEK_END);
	else
		rewind(f);
	len = fread(tail, 1, SERIAL_TAIL, f);
	fclose(f);
	/* Guest bytes: NULs end nothing here, a marker is matched by length. */
	for (gsize at = 0; at + 5 <= len; at++) {
		if (memcmp(tail + at, "KDH: ", 5) != 0)
			continue;
		for (gsize i = 1; i < G_N_ELEMENTS(after_marker); i++) {
			gsize n = strlen(after_marker[i].marker);
			if (at + 5 + n <= len &&
			    memcmp(tail + at + 5, after_marker[i].marker, n) == 0 &&
			    (at + 5 + n == len || g_ascii_isspace(tail[at + 5 + n])))
				phase = after_marker[i].phase;
		}
	}
	return phase;
}

/* DIR's newest modification time, seconds since the epoch (its own when
 * it is empty): the last sign of life of a killed run. */
static gint64 newest_mtime(const char *dir, int depth)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	struct stat st;
	gint64 newest = stat(dir, &st) == 0 ? st.st_mtime : 0;
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (lstat(path, &st) != 0)
			continue;
		newest = MAX(newest, (gint64)st.st_mtime);
		if (S_ISDIR(st.st_mode) && depth > 0)
			newest = MAX(newest, newest_mtime(path, depth - 1));
	}
	return newest;
}

/* Moves a killed case's disk DISK into its folder DIR, as --keep-disk
 * asked, and says so in R; VM_DIR (the killed run's VM folder) is locked
 * meanwhile, so a run pruning dead VM folders waits or skips it. */
static void keep_disk(const char *vm_dir, const char *disk, const char *dir, KdhResult *r)
{
	g_autofree char *kept = g_build_filename(dir, KDH_DISK_FILE, NULL);
	g_autoptr(GFile) from = g_file_new_for_path(disk), to = g_file_new_for_path(kept);
	g_autoptr(GError) error = NULL;
	int fd = open(vm_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (g_file_test(disk, G_FILE_TEST_IS_REGULAR)) {
		if (g_file_move(from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &error)) {
			g_ptr_array_add(r->reasons,
			                g_strdup_printf("the guest's disk is kept as %s", kept));
		} else {
			g_unlink(kept);
			g_ptr_array_add(r->reasons,
			                g_strdup_printf("keeping the disk: %s", error->message));
		}
	}
	close(fd);
}

/* The verdict of case NAME of the killed run in RUN_DIR: its verdict.json
 * when kdh wrote one; for a case that was running (it has a folder) a new
 * one, ERROR, written into its folder, with its disk from DISK (NULL: not
 * kept) in VM_DIR; NOT-RUN for a case that had not started.  NULL with
 * ERROR when a verdict cannot be written. */
static JsonNode *case_verdict(const char *run_dir, const char *name, const char *vm_dir,
                              const char *disk, GError **error)
{
	g_autofree char *dir = g_build_filename(run_dir, name, NULL);
	g_autofree char *path = g_build_filename(dir, "verdict.json", NULL);
	g_autoptr(KdhResult) r = kdh_result_new(name);
	g_autoptr(GError) local = NULL;
	JsonNode *node;

	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		kdh_result_fail(r, KDH_VERDICT_NOT_RUN, "kdh was killed before the case started");
		return kdh_result_to_json(r);
	}
	if (g_file_test(path, G_FILE_TEST_EXISTS) && (node = kdh_report_read_verdict(path, &local)))
		return node;
	r->results_dir = g_strdup(dir);
	if (local) {
		kdh_result_fail(r, KDH_VERDICT_ERROR,
		                "kdh was killed and its verdict.json is unreadable: %s",
		                local->message);
	} else {
		const char *phase = last_phase(dir);
		kdh_result_fail(r, KDH_VERDICT_ERROR,
		                "kdh was killed (no verdict was written; last phase seen: %s)",
		                phase ? phase : "preparing the disk (before boot)");
	}
	if (disk)
		keep_disk(vm_dir, disk, dir, r);
	if (!kdh_report_write_json(r, path, error))
		return NULL;
	return kdh_result_to_json(r);
}

/* The killed run's VM folder as its note names it, when it is one: a
 * run-* folder right in VM_ROOT (the note is a file anyone may edit). */
static char *vm_folder_of(GKeyFile *kf, const char *vm_root)
{
	g_autofree char *dir = g_key_file_get_string(kf, "run", "vm_dir", NULL);
	g_autofree char *parent = NULL, *base = NULL;

	if (!dir || !vm_root || !g_path_is_absolute(dir))
		return NULL;
	parent = g_path_get_dirname(dir);
	base = g_path_get_basename(dir);
	if (!g_str_equal(parent, vm_root) || !g_str_has_prefix(base, "run-") || strchr(base, '/'))
		return NULL;
	return g_steal_pointer(&dir);
}

/* A case name as a killed run's note gives it: one path component. */
static gboolean plain_name(const char *name)
{
	return *name && *name != '.' && !strchr(name, '/') && strlen(name) <= KDH_NAME_MAX;
}

/* ISO 8601 UTC of T (seconds since the epoch), as kdh_timestamp_now. */
static char *iso_time(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);

	return dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S.000Z") : g_strdup("unknown");
}

/* Finishes the killed run in RUN_DIR (its lock held by the caller); VM_ROOT
 * holds the VM folders. */
static gboolean finish_one(const char *run_dir, const char *vm_root, guint *unjudged,
                           GError **error)
{
	g_autofree char *note = g_build_filename(run_dir, NOTE_FILE, NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *text = NULL, *started_at = NULL, *accel = NULL, *ended_at = NULL;
	g_autofree char *vm_dir = NULL;
	g_autofree char *run_id = g_path_get_basename(run_dir);
	g_auto(GStrv) names = NULL;
	g_autoptr(GPtrArray) nodes =
	    g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	g_autoptr(GDateTime) start = NULL;
	gsize len = 0;
	gint64 ended = newest_mtime(run_dir, 1);

	if (!g_file_get_contents(note, &text, &len, error))
		return FALSE;
	if (len > NOTE_MAX) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: over %u bytes", note,
		            NOTE_MAX);
		return FALSE;
	}
	if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, error) ||
	    !(started_at = g_key_file_get_string(kf, "run", "started_at", error)) ||
	    !(names = g_key_file_get_string_list(kf, "run", "cases", NULL, error))) {
		g_prefix_error(error, "%s: ", note);
		return FALSE;
	}
	accel = g_key_file_get_string(kf, "run", "accel", NULL);
	if (g_key_file_get_boolean(kf, "run", "keep_disk", NULL))
		vm_dir = vm_folder_of(kf, vm_root);
	for (guint i = 0; names[i]; i++) {
		g_autofree char *path = g_build_filename(run_dir, names[i], "verdict.json", NULL);
		g_autofree char *disk = NULL;
		JsonNode *node;

		if (!plain_name(names[i]))
			continue;
		if (!g_file_test(path, G_FILE_TEST_EXISTS))
			(*unjudged)++;
		if (vm_dir)
			disk = g_build_filename(vm_dir, names[i], KDH_DISK_FILE, NULL);
		if (!(node = case_verdict(run_dir, names[i], vm_dir, disk, error)))
			return FALSE;
		g_ptr_array_add(nodes, node);
	}
	start = g_date_time_new_from_iso8601(started_at, NULL);
	ended_at = iso_time(ended);
	KdhRunInfo info = {
	    .run_id = run_id,
	    .kdh_version = kdh_version(),
	    .host = g_get_host_name(),
	    .accel = accel,
	    .started_at = started_at,
	    .ended_at = ended_at,
	    .wall_seconds = start ? MAX(0, ended - g_date_time_to_unix(start)) : 0,
	    /* A SIGKILL, an out-of-memory kill or a crash: which one, nothing
	     * left says. */
	    .interrupted_by = "killed",
	};
	return kdh_report_write_cases(&info, nodes, run_dir, error);
}

void kdh_run_folder_note_remove(const char *run_dir)
{
	g_autofree char *path = g_build_filename(run_dir, NOTE_FILE, NULL);

	g_unlink(path);
}

guint kdh_run_folders_finish_killed(const char *results_root, const char *own, const char *vm_root,
                                    const char *command)
{
	g_autoptr(GDir) d = g_dir_open(results_root, 0, NULL);
	const char *name;
	guint finished = 0;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *dir = g_build_filename(results_root, name, NULL);
		g_autofree char *note = g_build_filename(dir, NOTE_FILE, NULL);
		g_autofree char *done = g_build_filename(dir, "results.json", NULL);
		g_autoptr(GError) error = NULL;
		guint unjudged = 0;
		int fd;

		if (g_str_equal(dir, own) || !g_file_test(note, G_FILE_TEST_IS_REGULAR) ||
		    g_file_test(done, G_FILE_TEST_EXISTS))
			continue;
		/* A live run holds its lock: never touched. */
		if ((fd = kdh_run_folder_claim(dir, NULL)) < 0)
			continue;
		/* Checked again under the lock: its kdh may have just finished. */
		if (!g_file_test(done, G_FILE_TEST_EXISTS)) {
			if (finish_one(dir, vm_root, &unjudged, &error)) {
				kdh_run_folder_note_remove(dir);
				g_print("kdh: finished %s, a run whose kdh was killed (%u case%s "
				        "without a verdict)\n",
				        dir, unjudged, unjudged == 1 ? "" : "s");
				finished++;
			} else {
				g_printerr("%s: finishing the killed run %s: %s\n", command, dir,
				           error->message);
			}
		}
		close(fd);
	}
	return finished;
}
