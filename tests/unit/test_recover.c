/* What a killed kdh left, without VMs: its run folder finished by the next
 * run (cli/recover.c) and its libguestfs socket folders swept
 * (util/leftovers.c), a live run's and a live handle's never touched. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/commands.h"
#include "support.h"
#include "util/util.h"

static char *root;

static void setup(void)
{
	root = g_dir_make_tmp("kdh-recover-XXXXXX", NULL);
	ck_assert_ptr_nonnull(root);
}

static void teardown(void)
{
	kdh_rm_rf(root);
	g_free(root);
}

/* A run folder NAME in ROOT as a kdh killed in the middle leaves it: a
 * note planning "done", "running" and "waiting", "done" judged, "running"
 * with a console log up to MARKER, "waiting" never started; its VM folder
 * VM_DIR (may be NULL) noted, and --keep-disk when KEEP. */
static char *killed_run_kept(const char *name, const char *marker, const char *vm_dir,
                             gboolean keep)
{
	char *run = g_build_filename(root, name, NULL);
	g_autofree char *done = g_build_filename(run, "done", NULL);
	g_autofree char *running = g_build_filename(run, "running", NULL);
	g_autofree char *serial = g_build_filename(running, "serial.log", NULL);
	g_autofree char *verdict = g_build_filename(done, "verdict.json", NULL);
	g_autofree char *text = g_strdup_printf("Linux version 6.1\nKDH: boot release=6.1\n"
	                                        "KDH: armed size=256M\n%s\n[ 9.1] more\n",
	                                        marker);
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autoptr(KdhResult) r = kdh_result_new("done");

	ck_assert_int_eq(g_mkdir_with_parents(done, 0755), 0);
	ck_assert_int_eq(g_mkdir_with_parents(running, 0755), 0);
	ck_assert(g_file_set_contents(serial, text, -1, NULL));
	ck_assert(kdh_report_write_json(r, verdict, NULL));
	g_ptr_array_add(names, "done");
	g_ptr_array_add(names, "running");
	g_ptr_array_add(names, "waiting");
	KdhRunPlan plan = {.started_at = "2026-11-29T01:00:00.000Z",
	                   .accel = "tcg",
	                   .vm_dir = vm_dir,
	                   .keep_disk = keep,
	                   .names = names};
	ck_assert(kdh_run_folder_note(run, &plan, NULL));
	return run;
}

static char *killed_run(const char *name, const char *marker)
{
	return killed_run_kept(name, marker, NULL, FALSE);
}

/* The verdict and first reason of case NAME in RUN's results.json. */
static const char *reported(const char *run, const char *name, JsonParser *parser,
                            const char **reason)
{
	g_autofree char *path = g_build_filename(run, "results.json", NULL);
	JsonArray *cases;

	ck_assert(json_parser_load_from_file(parser, path, NULL));
	cases = json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)),
	                                     "cases");
	for (guint i = 0; i < json_array_get_length(cases); i++) {
		JsonObject *c = json_array_get_object_element(cases, i);
		JsonArray *reasons = json_object_get_array_member(c, "reasons");
		if (!g_str_equal(json_object_get_string_member(c, "case"), name))
			continue;
		*reason =
		    json_array_get_length(reasons) ? json_array_get_string_element(reasons, 0) : "";
		return json_object_get_string_member(c, "verdict");
	}
	ck_abort_msg("%s: no case %s", path, name);
	return NULL;
}

static const char *verdict_of(const char *run, const char *name, JsonParser *parser,
                              const char **reason)
{
	g_autofree char *dir = g_build_filename(run, name, NULL);
	JsonObject *v = kdh_test_read_verdict(dir, parser);
	JsonArray *reasons = json_object_get_array_member(v, "reasons");

	*reason = json_array_get_length(reasons) ? json_array_get_string_element(reasons, 0) : "";
	return json_object_get_string_member(v, "verdict");
}

START_TEST(killed_run_is_finished_and_live_run_untouched)
{
	g_autofree char *killed = killed_run("killed", "KDH: capture-start vmcore=1000");
	g_autofree char *live = killed_run("live", "KDH: trigger type=sysrq");
	g_autofree char *own = g_build_filename(root, "own", NULL);
	g_autofree char *live_results = g_build_filename(live, "results.json", NULL);
	g_autofree char *live_running = g_build_filename(live, "running", "verdict.json", NULL);
	g_autofree char *results_path = g_build_filename(killed, "results.json", NULL);
	g_autofree char *waiting = g_build_filename(killed, "waiting", NULL);
	g_autofree char *note = g_build_filename(killed, ".kdh-run", NULL);
	g_autoptr(JsonParser) p1 = json_parser_new(), p2 = json_parser_new(),
	                      p3 = json_parser_new(), p4 = json_parser_new();
	const char *reason;
	JsonObject *results;
	int live_lock = kdh_run_folder_claim(live, NULL);

	ck_assert_int_ge(live_lock, 0);
	/* The lock is exclusive: a second claim (another kdh) fails. */
	ck_assert_int_lt(kdh_run_folder_claim(live, NULL), 0);
	ck_assert_int_eq(g_mkdir(own, 0755), 0);
	ck_assert_uint_eq(kdh_run_folders_finish_killed(root, own, NULL, "kdh run"), 1);

	ck_assert_str_eq(verdict_of(killed, "done", p1, &reason), "PASS");
	ck_assert_str_eq(verdict_of(killed, "running", p2, &reason), "ERROR");
	ck_assert_str_eq(reason,
	                 "kdh was killed (no verdict was written; last phase seen: capture)");
	ck_assert_str_eq(reported(killed, "waiting", p3, &reason), "NOT-RUN");
	ck_assert_str_eq(reason, "kdh was killed before the case started");
	/* No folder for it, as for an interrupted run; the note is gone. */
	ck_assert(!g_file_test(waiting, G_FILE_TEST_EXISTS));
	ck_assert(!g_file_test(note, G_FILE_TEST_EXISTS));
	ck_assert(json_parser_load_from_file(p4, results_path, NULL));
	results = json_node_get_object(json_parser_get_root(p4));
	ck_assert_str_eq(json_object_get_string_member(results, "interrupted_by"), "killed");
	ck_assert_int_eq(json_array_get_length(json_object_get_array_member(results, "cases")), 3);
	for (guint i = 0; kdh_report_files[i]; i++) {
		g_autofree char *path = g_build_filename(killed, kdh_report_files[i], NULL);
		ck_assert_msg(g_file_test(path, G_FILE_TEST_IS_REGULAR), "%s", path);
	}
	/* The live run: nothing written. */
	ck_assert(!g_file_test(live_results, G_FILE_TEST_EXISTS));
	ck_assert(!g_file_test(live_running, G_FILE_TEST_EXISTS));
	/* Finished once: a second pass finds nothing to do. */
	ck_assert_uint_eq(kdh_run_folders_finish_killed(root, own, NULL, "kdh run"), 0);
	/* Its kdh gone (the lock free), the live one is finished too. */
	close(live_lock);
	ck_assert_uint_eq(kdh_run_folders_finish_killed(root, own, NULL, "kdh run"), 1);
	ck_assert(g_file_test(live_results, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST(console_marker_gives_the_phase)
{
	static const struct {
		const char *marker, *phase;
	} rows[] = {
	    {"KDH: armed size=1", "crash"},
	    {"KDH: trigger type=nmi", "crash"},
	    {"KDH: capture-start vmcore=1", "capture"},
	    {"KDH: capture-done rc=0", "shutdown"},
	    {"KDH: poweroff", "retrieve"},
	    {"KDH: armedX forged", "crash"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
		g_autofree char *name = g_strdup_printf("run-%u", i);
		g_autofree char *run = killed_run(name, rows[i].marker);
		g_autofree char *own = g_build_filename(root, "own", NULL);
		g_autofree char *want = g_strdup_printf(
		    "kdh was killed (no verdict was written; last phase seen: %s)", rows[i].phase);
		g_autoptr(JsonParser) parser = json_parser_new();
		const char *reason;

		kdh_run_folders_finish_killed(root, own, NULL, "kdh run");
		verdict_of(run, "running", parser, &reason);
		ck_assert_str_eq(reason, want);
	}
}
END_TEST

/* --keep-disk: the running case's disk is moved from the killed run's VM
 * folder into its case folder; a VM folder the note names outside the VM
 * root (an edited note) is not touched. */
START_TEST(killed_run_keeps_the_disk_as_asked)
{
	g_autofree char *vm_root = g_build_filename(root, "vm", NULL);
	g_autofree char *vm_dir = g_build_filename(vm_root, "run-AbC123", NULL);
	g_autofree char *vm_case = g_build_filename(vm_dir, "running", NULL);
	g_autofree char *disk = g_build_filename(vm_case, "disk.qcow2", NULL);
	g_autofree char *outside = g_build_filename(root, "run-elsewhere", NULL);
	g_autofree char *outside_case = g_build_filename(outside, "running", NULL);
	g_autofree char *outside_disk = g_build_filename(outside_case, "disk.qcow2", NULL);
	g_autofree char *killed = killed_run_kept("killed", "KDH: poweroff", vm_dir, TRUE);
	g_autofree char *edited = killed_run_kept("edited", "KDH: poweroff", outside, TRUE);
	g_autofree char *kept = g_build_filename(killed, "running", "disk.qcow2", NULL);
	g_autofree char *not_kept = g_build_filename(edited, "running", "disk.qcow2", NULL);
	g_autofree char *own = g_build_filename(root, "own", NULL);
	g_autofree char *text = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *dir = g_build_filename(killed, "running", NULL);
	JsonArray *reasons;

	ck_assert_int_eq(g_mkdir_with_parents(vm_case, 0755), 0);
	ck_assert_int_eq(g_mkdir_with_parents(outside_case, 0755), 0);
	ck_assert(g_file_set_contents(disk, "QFI\xfb overlay", -1, NULL));
	ck_assert(g_file_set_contents(outside_disk, "QFI\xfb other", -1, NULL));
	ck_assert_uint_eq(kdh_run_folders_finish_killed(root, own, vm_root, "kdh run"), 2);

	ck_assert(g_file_get_contents(kept, &text, NULL, NULL));
	ck_assert_str_eq(text, "QFI\xfb overlay");
	ck_assert(!g_file_test(disk, G_FILE_TEST_EXISTS));
	reasons = json_object_get_array_member(kdh_test_read_verdict(dir, parser), "reasons");
	ck_assert_uint_eq(json_array_get_length(reasons), 2);
	ck_assert(g_str_has_prefix(json_array_get_string_element(reasons, 1),
	                           "the guest's disk is kept as "));
	ck_assert(!g_file_test(not_kept, G_FILE_TEST_EXISTS));
	ck_assert(g_file_test(outside_disk, G_FILE_TEST_IS_REGULAR));
}
END_TEST

/* A unix socket bound at DIR/NAME; the descriptor (close it to leave the
 * socket file with nobody behind it). */
static int bound_socket(const char *dir, const char *name)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	g_snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", dir, name);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	return fd;
}

START_TEST(dead_libguestfs_sockdirs_are_swept)
{
	g_autofree char *dead = g_build_filename(root, "libguestfsAAAAAA", NULL);
	g_autofree char *live = g_build_filename(root, "libguestfsBBBBBB", NULL);
	g_autofree char *empty = g_build_filename(root, "libguestfsCCCCCC", NULL);
	g_autofree char *other = g_build_filename(root, "libguestfsDDDDDD", NULL);
	g_autofree char *file = g_build_filename(other, "qemu.log", NULL);
	int live_fd;

	ck_assert_int_eq(g_mkdir(dead, 0700), 0);
	ck_assert_int_eq(g_mkdir(live, 0700), 0);
	ck_assert_int_eq(g_mkdir(empty, 0700), 0);
	ck_assert_int_eq(g_mkdir(other, 0700), 0);
	close(bound_socket(dead, "guestfsd.sock"));
	close(bound_socket(other, "guestfsd.sock"));
	ck_assert(g_file_set_contents(file, "x", -1, NULL));
	live_fd = bound_socket(live, "guestfsd.sock");
	ck_assert_uint_eq(kdh_sweep_libguestfs_sockdirs(root), 1);
	ck_assert(!g_file_test(dead, G_FILE_TEST_EXISTS));
	ck_assert(g_file_test(live, G_FILE_TEST_IS_DIR));
	ck_assert(g_file_test(empty, G_FILE_TEST_IS_DIR));
	ck_assert(g_file_test(other, G_FILE_TEST_IS_DIR));
	close(live_fd);
}
END_TEST

Suite *recover_suite(void);
Suite *recover_suite(void)
{
	Suite *s = suite_create("recover");
	TCase *tc = tcase_create("recover");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, killed_run_is_finished_and_live_run_untouched);
	tcase_add_test(tc, console_marker_gives_the_phase);
	tcase_add_test(tc, killed_run_keeps_the_disk_as_asked);
	tcase_add_test(tc, dead_libguestfs_sockdirs_are_swept);
	suite_add_tcase(s, tc);
	return s;
}
