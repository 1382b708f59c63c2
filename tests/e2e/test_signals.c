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
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		if (g_str_has_prefix(name, "libguestfs"))
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
	g_ptr_array_add(names, NULL);
	return g_strjoinv(" ", (char **)names->pdata);
}

/* Starts kdh with ARGS (after "run"), reads its output until a line holds
 * NEEDLE, sends SIG, reads the rest and returns the exit status (128 +
 * signal when killed); *PID its process id.  Fails when NEEDLE never
 * shows: the signal would not be at the phase the row names. */
static int run_until(const char *const *args, const char *needle, int sig, GPid *pid)
{
	const char *bin = g_getenv("KDH_BIN");
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOChannel) out = NULL;
	gboolean sent = FALSE;
	int fd, status;
	char *line;

	g_ptr_array_add(argv, (char *)(bin && *bin ? bin : "build/kdh"));
	g_ptr_array_add(argv, "run");
	for (guint i = 0; args[i]; i++)
		g_ptr_array_add(argv, (char *)args[i]);
	g_ptr_array_add(argv, NULL);
	ck_assert_msg(g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
	                                       G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, pid, NULL,
	                                       &fd, NULL, &error),
	              "%s", error ? error->message : "");
	out = g_io_channel_unix_new(fd);
	g_io_channel_set_close_on_unref(out, TRUE);
	g_io_channel_set_encoding(out, NULL, NULL);
	while (g_io_channel_read_line(out, &line, NULL, NULL, NULL) == G_IO_STATUS_NORMAL) {
		fputs(line, stdout);
		if (!sent && strstr(line, needle)) {
			kill(*pid, sig);
			sent = TRUE;
		}
		g_free(line);
	}
	ck_assert_int_eq(waitpid(*pid, &status, 0), *pid);
	ck_assert_msg(sent, "no line held \"%s\": the signal was never sent", needle);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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

/* Every case of RUN's plan (NAMES) has a verdict.json with a verdict in
 * WANT (a space-separated list) whose reasons hold WHY unless it PASSed. */
static void assert_every_case(const char *run, const char *const *names, const char *want,
                              const char *why)
{
	for (guint i = 0; names[i]; i++) {
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autofree char *dir = g_build_filename(run, names[i], NULL);
		JsonObject *v = kdh_test_read_verdict(dir, parser);
		const char *verdict = json_object_get_string_member(v, "verdict");
		g_autoptr(GString) reasons = g_string_new(NULL);
		JsonArray *r = json_object_get_array_member(v, "reasons");

		for (guint j = 0; r && j < json_array_get_length(r); j++)
			g_string_append_printf(reasons, "[%s]",
			                       json_array_get_string_element(r, j));
		ck_assert_msg(strstr(want, verdict), "%s: %s, wanted one of %s", names[i], verdict,
		              want);
		if (!g_str_equal(verdict, "PASS") && !g_str_equal(verdict, "NOT-RUN"))
			ck_assert_msg(strstr(reasons->str, why), "%s: %s", names[i], reasons->str);
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
    {": configure", SIGTERM, 1},
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
	ck_assert_str_eq(vm_after, vm_before);
	ck_assert_str_eq(tmp_after, tmp_before);
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
static void killed_at(const char *phase)
{
	const char *args[] = {"--jobs", "1", "--keep-disk", "--results", results, TWO_CASES, NULL};
	const char *names[] = {"smoke-sysrq", "nmi", NULL};
	g_autofree char *vm_before = vm_folders(), *tmp_before = tmp_libguestfs();
	g_autofree char *vm_after = NULL, *tmp_after = NULL, *run = NULL, *live = NULL;
	g_autofree char *live_note = NULL, *live_results = NULL, *disk = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	const char *next[] = {"run", "--results", results, "scenarios/smoke-sysrq.ini", NULL};
	GPid pid, second;
	int live_fd, i;

	ck_assert_int_eq(run_until(args, phase, SIGKILL, &pid), 128 + SIGKILL);
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
	ck_assert_str_eq(vm_after, vm_before);
	ck_assert_str_eq(tmp_after, tmp_before);
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
	killed_at("smoke-sysrq: capture");
}
END_TEST

START_TEST(killed_mid_retrieval_is_finished_by_the_next_run)
{
	killed_at("smoke-sysrq: retrieve");
}
END_TEST

Suite *signals_suite(void);
Suite *signals_suite(void)
{
	Suite *s = suite_create("e2e");
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
