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

gboolean kdh_run_folder_note(const char *run_dir, const char *started_at, const char *accel,
                             GPtrArray *names, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *path = g_build_filename(run_dir, NOTE_FILE, NULL);

	g_key_file_set_string(kf, "run", "started_at", started_at);
	if (accel)
		g_key_file_set_string(kf, "run", "accel", accel);
	g_key_file_set_string_list(kf, "run", "cases", (const char *const *)names->pdata,
	                           names->len);
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

/* The verdict of case NAME of the killed run in RUN_DIR: its verdict.json
 * when kdh wrote one, else a new one (ERROR: it was running; NOT-RUN: it
 * had not started), written into its folder.  NULL with ERROR when that
 * cannot be written. */
static JsonNode *case_verdict(const char *run_dir, const char *name, GError **error)
{
	g_autofree char *dir = g_build_filename(run_dir, name, NULL);
	g_autofree char *path = g_build_filename(dir, "verdict.json", NULL);
	g_autoptr(KdhResult) r = NULL;
	g_autoptr(GError) local = NULL;
	JsonNode *node;

	if (g_file_test(path, G_FILE_TEST_EXISTS) && (node = kdh_report_read_verdict(path, &local)))
		return node;
	r = kdh_result_new(name);
	r->results_dir = g_strdup(dir);
	if (local) {
		kdh_result_fail(r, KDH_VERDICT_ERROR,
		                "kdh was killed and its verdict.json is unreadable: %s",
		                local->message);
	} else if (g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		const char *phase = last_phase(dir);
		kdh_result_fail(r, KDH_VERDICT_ERROR,
		                "kdh was killed (no verdict was written; last phase seen: %s)",
		                phase ? phase : "preparing the disk (before boot)");
	} else {
		kdh_result_fail(r, KDH_VERDICT_NOT_RUN, "kdh was killed before the case started");
	}
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "creating %s: %s",
		            dir, g_strerror(saved));
		return NULL;
	}
	if (!kdh_report_write_json(r, path, error))
		return NULL;
	return kdh_result_to_json(r);
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

/* Finishes the killed run in RUN_DIR (its lock held by the caller). */
static gboolean finish_one(const char *run_dir, guint *unjudged, GError **error)
{
	g_autofree char *note = g_build_filename(run_dir, NOTE_FILE, NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *text = NULL, *started_at = NULL, *accel = NULL, *ended_at = NULL;
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
	for (guint i = 0; names[i]; i++) {
		g_autofree char *path = g_build_filename(run_dir, names[i], "verdict.json", NULL);
		JsonNode *node;

		if (!plain_name(names[i]))
			continue;
		if (!g_file_test(path, G_FILE_TEST_EXISTS))
			(*unjudged)++;
		if (!(node = case_verdict(run_dir, names[i], error)))
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

guint kdh_run_folders_finish_killed(const char *results_root, const char *own, const char *command)
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
			if (finish_one(dir, &unjudged, &error)) {
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
