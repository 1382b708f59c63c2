/* kdh ended from outside at a known phase of a run: SIGINT and SIGTERM
 * (kdh exits 128 + the signal, every case has a verdict, the reports say
 * interrupted_by), and SIGKILL (the next run in the same results folder
 * finishes the killed run's folder).  The signal goes out when kdh's
 * progress output (a pipe: a line per phase change) shows the phase; what
 * is left is read from outside kdh: libvirt's domain list, /proc, /tmp and
 * the cache's VM folders. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report_sample.h"
#include "support.h"
#include "util/util.h"

/* Two mini-guest cases (sysrq and NMI): with --jobs 2 both run at once. */
#define TWO_CASES "scenarios/smoke-sysrq.ini", "scenarios/nmi.ini"

static char *results;

static void setup(void)
{
	results = g_dir_make_tmp("kdh-signals-XXXXXX", NULL);
	ck_assert_ptr_nonnull(results);
}

static void teardown(void)
{
	kdh_rm_rf(results);
	g_free(results);
}

/* The entries of the cache's VM folder and the libguestfs folders of /tmp:
 * what a run may leave on the host. */
static char *vm_folders(void)
{
	g_autofree char *cache = kdh_cache_dir(NULL);
	g_autofree char *vm = g_build_filename(cache, "vm", NULL);

	return kdh_test_list_dir(vm);
}

static char *tmp_libguestfs(void)
{
	g_autoptr(GDir) dir = g_dir_open("/tmp", 0, NULL);
	g_autoptr(GString) names = g_string_new(NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		if (g_str_has_prefix(name, "libguestfs"))
			g_string_append_printf(names, "%s%s", names->len ? " " : "", name);
	}
	return g_string_free(g_steal_pointer(&names), FALSE);
}

/* Every name of the space-separated AFTER was already in BEFORE: the run
 * left nothing new in WHAT (it may have removed what killed runs left). */
static void assert_nothing_new(const char *what, const char *before, const char *after)
{
	g_auto(GStrv) old = g_strsplit(before, " ", -1);
	g_auto(GStrv) now = g_strsplit(after, " ", -1);

	for (guint i = 0; now[i]; i++)
		ck_assert_msg(!*now[i] || g_strv_contains((const char *const *)old, now[i]),
		              "%s: %s is new (before: %s)", what, now[i], before);
}

/* Starts kdh with ARGS (after "run"), reads its output until a line holds
 * NEEDLE, sends SIG, reads the rest and returns the exit status (128 +
 * signal when killed); *PID its process id.  Fails when NEEDLE never
 * shows: the signal would not be at the phase the row names. */
typedef gboolean (*Ready)(gpointer data);

static int run_until_ready(const char *const *args, const char *needle, Ready ready, gpointer data,
                           int sig, GPid *pid)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GIOChannel) out = NULL;
	gboolean sent = FALSE;
	int status;
	char *line;

	g_ptr_array_add(argv, "run");
	for (guint i = 0; args[i]; i++)
		g_ptr_array_add(argv, (char *)args[i]);
	g_ptr_array_add(argv, NULL);
	out = kdh_test_spawn((const char *const *)argv->pdata, pid);
	while (g_io_channel_read_line(out, &line, NULL, NULL, NULL) == G_IO_STATUS_NORMAL) {
		fputs(line, stdout);
		if (!sent && strstr(line, needle)) {
			/* Then up to 5 minutes for what READY waits for. */
			for (guint i = 0; ready && i < 3000 && !ready(data); i++)
				g_usleep(100 * 1000);
			ck_assert_msg(!ready || ready(data), "after \"%s\", never ready", needle);
			kill(*pid, sig);
			sent = TRUE;
		}
		g_free(line);
	}
	ck_assert_int_eq(waitpid(*pid, &status, 0), *pid);
	ck_assert_msg(sent, "no line held \"%s\": the signal was never sent", needle);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_until(const char *const *args, const char *needle, int sig, GPid *pid)
{
	return run_until_ready(args, needle, NULL, NULL, sig, pid);
}

/* The libguestfs socket folder of a live appliance that was not in
 * BEFORE (the names of /tmp/libguestfs*), or NULL. */
static char *new_sockdir(const char *before)
{
	g_autofree char *now = tmp_libguestfs();
	g_auto(GStrv) old = g_strsplit(before, " ", -1), names = g_strsplit(now, " ", -1);

	for (guint i = 0; names[i]; i++) {
		g_autofree char *sock = g_build_filename("/tmp", names[i], "guestfsd.sock", NULL);
		if (*names[i] && !g_strv_contains((const char *const *)old, names[i]) &&
		    g_file_test(sock, G_FILE_TEST_EXISTS))
			return g_build_filename("/tmp", names[i], NULL);
	}
	return NULL;
}

static gboolean appliance_up(gpointer before)
{
	g_autofree char *dir = new_sockdir(before);

	return dir != NULL;
}

/* results.json of RUN, parsed by PARSER. */
static JsonObject *read_results(const char *run, JsonParser *parser)
{
	g_autofree char *path = g_build_filename(run, "results.json", NULL);
	g_autoptr(GError) error = NULL;

	ck_assert_msg(json_parser_load_from_file(parser, path, &error), "%s: %s", path,
	              error ? error->message : "");
	return json_node_get_object(json_parser_get_root(parser));
}

/* Every case of RUN's plan (NAMES) is in its results.json with a verdict
 * in WANT (a space-separated list) whose reasons hold WHY unless it PASSed
 * or had not started (NOT-RUN); a case that started has its verdict.json,
 * saying the same. */
static void assert_every_case(const char *run, const char *const *names, const char *want,
                              const char *why)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *cases = json_object_get_array_member(read_results(run, parser), "cases");

	ck_assert_uint_eq(json_array_get_length(cases), g_strv_length((char **)names));
	for (guint i = 0; names[i]; i++) {
		JsonObject *c = json_array_get_object_element(cases, i);
		const char *verdict = json_object_get_string_member(c, "verdict");
		JsonArray *r = json_object_get_array_member(c, "reasons");
		g_autoptr(GString) reasons = g_string_new(NULL);

		ck_assert_str_eq(json_object_get_string_member(c, "case"), names[i]);
		for (guint j = 0; r && j < json_array_get_length(r); j++)
			g_string_append_printf(reasons, "[%s]",
			                       json_array_get_string_element(r, j));
		ck_assert_msg(strstr(want, verdict), "%s: %s, wanted one of %s", names[i], verdict,
		              want);
		if (!g_str_equal(verdict, "PASS") && !g_str_equal(verdict, "NOT-RUN"))
			ck_assert_msg(strstr(reasons->str, why), "%s: %s", names[i], reasons->str);
		if (!g_str_equal(verdict, "NOT-RUN")) {
			g_autoptr(JsonParser) own = json_parser_new();
			g_autofree char *dir = g_build_filename(run, names[i], NULL);
			ck_assert_str_eq(json_object_get_string_member(
			                     kdh_test_read_verdict(dir, own), "verdict"),
			                 verdict);
		}
	}
}

typedef struct {
	const char *phase; /* the progress line's text that starts the phase */
	int sig;
	int jobs;
} Row;

/* Phases of a run as its progress output shows them: the kernel and
 * accelerator ("kdh: acceleration" once the kernel is ready; the images
 * follow), each case phase (": boot" is the watch's first), the
 * retrieval's libguestfs launch and crash(8)'s verification. */
static const Row rows[] = {
    {"kdh: acceleration", SIGINT, 1},
    {"kdh: acceleration", SIGTERM, 2},
    {": shutdown", SIGTERM, 1},
    {": disk", SIGINT, 2},
    {": boot", SIGINT, 1},
    {": boot", SIGTERM, 2},
    {": crash", SIGTERM, 1},
    {": crash", SIGINT, 2},
    {": capture", SIGTERM, 1},
    {": capture", SIGINT, 2},
    {": retrieve", SIGINT, 1},
    {": retrieve", SIGTERM, 2},
    {": verify", SIGTERM, 1},
    {": verify", SIGINT, 2},
};

/* The rows make check runs: one in the guest, one in the appliance. */
static const Row quick_rows[] = {
    {": capture", SIGTERM, 1},
    {": retrieve", SIGINT, 2},
};

static void interrupt_at(const Row *row)
{
	g_autofree char *jobs = g_strdup_printf("%d", row->jobs);
	const char *args[] = {"--jobs", jobs, "--results", results, TWO_CASES, NULL};
	const char *names[] = {"smoke-sysrq", "nmi", NULL};
	g_autofree char *vm_before = vm_folders(), *tmp_before = tmp_libguestfs();
	g_autofree char *vm_after = NULL, *tmp_after = NULL, *run = NULL;
	g_autofree char *signame = g_strdup_printf("SIG%s", sigabbrev_np(row->sig));
	g_autoptr(JsonParser) parser = json_parser_new();
	GPid pid;

	ck_assert_int_eq(run_until(args, row->phase, row->sig, &pid), 128 + row->sig);
	kdh_test_assert_nothing_left(pid);
	vm_after = vm_folders();
	tmp_after = tmp_libguestfs();
	assert_nothing_new("the cache's VM folder", vm_before, vm_after);
	assert_nothing_new("/tmp", tmp_before, tmp_after);
	run = kdh_test_run_folder(results);
	/* A case may have finished before the signal (jobs 1: the first). */
	assert_every_case(run, names, "PASS ERROR NOT-RUN", "interrupted by");
	ck_assert_str_eq(json_object_get_string_member(read_results(run, parser), "interrupted_by"),
	                 signame);
	for (guint i = 0; kdh_report_files[i]; i++) {
		g_autofree char *path = g_build_filename(run, kdh_report_files[i], NULL);
		ck_assert_msg(g_file_test(path, G_FILE_TEST_IS_REGULAR), "%s missing", path);
	}
}

START_TEST(interrupted_at_a_phase_quick)
{
	interrupt_at(&quick_rows[_i]);
}
END_TEST

START_TEST(interrupted_at_every_phase)
{
	interrupt_at(&rows[_i]);
}
END_TEST

/* SIGKILL of kdh at PHASE with --keep-disk: from outside, libvirt
 * destroys its domain (AUTODESTROY) and its QEMU dies; the next run in the
 * same results folder and cache removes the killed run's leftovers
 * (VM folder, libguestfs folders) and finishes its folder: the running
 * case ERROR "kdh was killed", the other NOT-RUN, results.json and every
 * report with interrupted_by "killed"; the disk kept as asked.  A folder
 * of a live run (its lock held, here by this test) is never touched. */
static void killed_at(const char *phase, gboolean in_appliance)
{
	const char *args[] = {"--jobs", "1", "--keep-disk", "--results", results, TWO_CASES, NULL};
	const char *names[] = {"smoke-sysrq", "nmi", NULL};
	g_autofree char *vm_before = vm_folders(), *tmp_before = tmp_libguestfs();
	g_autofree char *vm_after = NULL, *tmp_after = NULL, *run = NULL, *live = NULL;
	g_autofree char *live_note = NULL, *live_results = NULL, *disk = NULL, *sockdir = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	const char *next[] = {"run", "--results", results, "scenarios/smoke-sysrq.ini", NULL};
	GPid pid, second;
	int live_fd, i;

	/* In the retrieval: once its appliance is up, so that kdh leaves the
	 * appliance's socket folder in /tmp (libguestfs removes it only in
	 * guestfs_close). */
	ck_assert_int_eq(run_until_ready(args, phase, in_appliance ? appliance_up : NULL,
	                                 tmp_before, SIGKILL, &pid),
	                 128 + SIGKILL);
	if (in_appliance) {
		sockdir = new_sockdir(tmp_before);
		ck_assert_msg(sockdir, "the killed kdh's appliance left no socket folder");
	}
	/* libvirt notices the closed connection on its own time. */
	for (i = 0; i < 300 && (kdh_test_domains_of(pid) || kdh_test_qemu_of(pid)); i++)
		g_usleep(100 * 1000);
	kdh_test_assert_nothing_left(pid);
	run = kdh_test_run_folder(results);

	/* A live run beside it: its folder locked, no results yet. */
	live = g_build_filename(results, "live-run", NULL);
	live_note = g_build_filename(live, ".kdh-run", NULL);
	live_results = g_build_filename(live, "results.json", NULL);
	ck_assert_int_eq(g_mkdir(live, 0755), 0);
	ck_assert(g_file_set_contents(live_note, "[run]\nstarted_at=x\ncases=a\n", -1, NULL));
	live_fd = open(live, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(flock(live_fd, LOCK_EX | LOCK_NB), 0);

	/* The next run, one cheap case with the same cache and results. */
	ck_assert_int_eq(kdh_test_run(next, &second), 0);
	kdh_test_assert_nothing_left(second);
	vm_after = vm_folders();
	tmp_after = tmp_libguestfs();
	assert_nothing_new("the cache's VM folder", vm_before, vm_after);
	assert_nothing_new("/tmp", tmp_before, tmp_after);
	ck_assert_msg(!sockdir || !g_file_test(sockdir, G_FILE_TEST_EXISTS),
	              "the killed run's %s is still there", sockdir);
	assert_every_case(run, names, "ERROR NOT-RUN", "kdh was killed (no verdict was written");
	ck_assert_str_eq(json_object_get_string_member(read_results(run, parser), "interrupted_by"),
	                 "killed");
	disk = g_build_filename(run, "smoke-sysrq", "disk.qcow2", NULL);
	ck_assert_msg(g_file_test(disk, G_FILE_TEST_EXISTS), "--keep-disk's disk was removed");
	ck_assert_msg(!g_file_test(live_results, G_FILE_TEST_EXISTS), "the live run was finished");
	close(live_fd);
}

START_TEST(killed_mid_capture_is_finished_by_the_next_run)
{
	killed_at("smoke-sysrq: capture", FALSE);
}
END_TEST

START_TEST(killed_mid_retrieval_is_finished_by_the_next_run)
{
	killed_at("smoke-sysrq: retrieve", TRUE);
}
END_TEST

Suite *signals_suite(void);
Suite *signals_suite(void)
{
	Suite *s = suite_create("signals");
	TCase *quick = tcase_create("signals");
	TCase *full = tcase_create("signals-full");

	tcase_set_tags(quick, "e2e");
	tcase_set_timeout(quick, 900);
	tcase_add_checked_fixture(quick, setup, teardown);
	tcase_add_loop_test(quick, interrupted_at_a_phase_quick, 0, G_N_ELEMENTS(quick_rows));
	tcase_add_test(quick, killed_mid_retrieval_is_finished_by_the_next_run);
	suite_add_tcase(s, quick);

	tcase_set_tags(full, "e2e slow");
	tcase_set_timeout(full, 3600);
	tcase_add_checked_fixture(full, setup, teardown);
	tcase_add_loop_test(full, interrupted_at_every_phase, 0, G_N_ELEMENTS(rows));
	tcase_add_test(full, killed_mid_capture_is_finished_by_the_next_run);
	suite_add_tcase(s, full);
	return s;
}
