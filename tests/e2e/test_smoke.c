/* End to end, with every part real: build/kdh runs a small suite with two
 * jobs (Debian kernel, libvirt VMs, sysrq and NMI crashes, capture kernel,
 * batched libguestfs retrieval, our reader; a negative case expected and
 * one not), and the test reads what it left behind.  Also the ways a run
 * can end badly: a bad scenario, a phase timeout, Ctrl-C with two VMs
 * running, each checked from outside (libvirt's domain list, /proc). */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"
#include "report_sample.h"
#include "support.h"

static char *results;

static void setup(void)
{
	results = g_dir_make_tmp("kdh-e2e-XXXXXX", NULL);
	ck_assert_ptr_nonnull(results);
}

static void teardown(void)
{
	kdh_rm_rf(results);
	g_free(results);
}

/* The pid of the last kdh that kdh() ran: its domains are named kdh-<pid>-. */
static GPid last_pid;

static int kdh(const char *const *args)
{
	return kdh_test_run(args, &last_pid);
}

static char *case_dir(const char *case_name)
{
	g_autofree char *run = kdh_test_run_folder(results);

	return g_build_filename(run, case_name, NULL);
}

/* Runs SCENARIO, expects exit status WANT_EXIT and nothing left running,
 * and returns the verdict of its case CASE_NAME (owned by PARSER). */
static JsonObject *run_scenario(const char *scenario, const char *case_name, int want_exit,
                                JsonParser *parser, char **dir)
{
	const char *args[] = {"run", "--results", results, scenario, NULL};

	ck_assert_int_eq(kdh(args), want_exit);
	kdh_test_assert_nothing_left(last_pid);
	*dir = case_dir(case_name);
	return kdh_test_read_verdict(*dir, parser);
}

/* As run_scenario, for a scenario named NAME written on the spot. */
static JsonObject *run_text(const char *name, const char *text, int want_exit, JsonParser *parser,
                            char **dir)
{
	g_autofree char *file = g_strdup_printf("%s.ini", name);
	g_autofree char *path = g_build_filename(results, file, NULL);

	ck_assert(g_file_set_contents(path, text, -1, NULL));
	return run_scenario(path, name, want_exit, parser, dir);
}

/* The case CASE_NAME of the run in RESULTS passed on its dump: its
 * OSRELEASE is the booted kernel's, its own dmesg holds PANIC, every kept
 * page was checked, the capture kernel's files were copied out. */
static void assert_case_passed(const char *case_name, const char *panic)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *dir = case_dir(case_name);
	g_autofree char *vmcore = NULL, *dmesg = NULL, *serial = NULL, *serial_text = NULL;
	JsonObject *v = kdh_test_read_verdict(dir, parser);
	JsonObject *dump = json_object_get_object_member(v, "dump");

	ck_assert_str_eq(json_object_get_string_member(v, "verdict"), "PASS");
	ck_assert_str_eq(
	    json_object_get_string_member(dump, "osrelease"),
	    json_object_get_string_member(json_object_get_object_member(v, "kernel"), "release"));
	ck_assert_str_eq(json_object_get_string_member(dump, "release_in_memory"),
	                 json_object_get_string_member(dump, "osrelease"));
	ck_assert_ptr_nonnull(strstr(json_object_get_string_member(dump, "panic"), panic));
	ck_assert_int_gt(json_object_get_int_member(dump, "pages_checked"), 1000);
	ck_assert_int_eq(json_object_get_int_member(dump, "pages_checked"),
	                 json_object_get_int_member(dump, "pages_dumped"));
	/* The real guest prints its markers in the order of the case's plan. */
	ck_assert_uint_eq(json_array_get_length(json_object_get_array_member(v, "ignored_markers")),
	                  0);
	vmcore = g_build_filename(dir, "vmcore", NULL);
	dmesg = g_build_filename(dir, "vmcore-dmesg.txt", NULL);
	serial = g_build_filename(dir, "serial.log", NULL);
	ck_assert(g_file_test(vmcore, G_FILE_TEST_IS_REGULAR)); /* --keep-dumps=always */
	ck_assert(g_file_test(dmesg, G_FILE_TEST_IS_REGULAR));
	ck_assert(g_file_get_contents(serial, &serial_text, NULL, NULL));
	ck_assert_ptr_nonnull(strstr(serial_text, "KDH: capture-done rc=0"));
}

/* The list MEMBER ("reasons" or "checks") of case CASE_NAME, which must
 * have verdict WANT, as JSON text. */
static char *case_list(const char *case_name, const char *want, const char *member)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *dir = case_dir(case_name);
	JsonObject *v = kdh_test_read_verdict(dir, parser);

	ck_assert_str_eq(json_object_get_string_member(v, "verdict"), want);
	return json_to_string(json_object_get_member(v, member), FALSE);
}

static char *case_reasons(const char *case_name, const char *want)
{
	return case_list(case_name, want, "reasons");
}

static gint strcmp_ptr(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The test cases of RUN/junit.xml as sorted "classname/name" lines, and
 * those of RUN/results.json as "case verdict" lines. */
static char *junit_cases(const char *run)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *doc = kdh_test_load_json(parser, run, "results.json");
	JsonArray *cases = json_object_get_array_member(doc, "cases");
	xmlDocPtr junit = kdh_test_load_junit(run);
	guint n = (guint)kdh_test_xpath_number(junit, "count(//testcase)");
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) all = g_string_new(NULL);

	ck_assert_uint_eq(n, json_array_get_length(cases));
	for (guint i = 1; i <= n; i++) {
		g_autofree char *expr = g_strdup_printf(
		    "concat((//testcase)[%u]/@classname, '/', (//testcase)[%u]/@name)", i, i);
		g_ptr_array_add(lines, kdh_test_xpath_string(junit, expr));
	}
	for (guint i = 0; i < json_array_get_length(cases); i++) {
		JsonObject *c = json_array_get_object_element(cases, i);
		g_ptr_array_add(lines,
		                g_strdup_printf("%s %s", json_object_get_string_member(c, "case"),
		                                json_object_get_string_member(c, "verdict")));
	}
	xmlFreeDoc(junit);
	g_ptr_array_sort(lines, (GCompareFunc)strcmp_ptr);
	for (guint i = 0; i < lines->len; i++)
		g_string_append_printf(all, "%s\n", (char *)g_ptr_array_index(lines, i));
	return g_strdup(all->str);
}

#define SUITE_FILES                                                                                \
	"scenarios/smoke-sysrq.ini", "scenarios/nmi.ini", "scenarios/no-dump-tiny-crashkernel.ini"

/* The same suite in two shards, as two CI jobs would run it, merged with
 * `kdh report merge`: the merged junit.xml and results.json hold the same
 * cases with the same verdicts as the unsharded run in RESULTS. */
static void assert_shards_merge_to(const char *tiny)
{
	g_autofree char *unsharded = kdh_test_run_folder(results);
	g_autofree char *want = junit_cases(unsharded), *got = NULL;
	g_autofree char *base = g_strconcat(results, "-shards", NULL);
	g_autofree char *merged = g_build_filename(base, "merged", NULL);
	g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 1; i <= 2; i++) {
		g_autofree char *shard = g_strdup_printf("%u/2", i);
		g_autofree char *name = g_strdup_printf("shard%u", i);
		g_autofree char *dir = g_build_filename(base, name, NULL);
		const char *args[] = {"run",       "--jobs", "2",         "--shard", shard,
		                      "--results", dir,      SUITE_FILES, tiny,      NULL};
		ck_assert_int_le(kdh(args), 1); /* 1: the shard holding "tiny" */
		kdh_test_assert_nothing_left(last_pid);
		g_ptr_array_add(runs, kdh_test_run_folder(dir));
	}
	const char *merge[] = {
	    "report", "merge", g_ptr_array_index(runs, 0), g_ptr_array_index(runs, 1), "--out",
	    merged,   NULL};
	ck_assert_int_eq(kdh(merge), 1); /* the merged set holds the FAIL */
	got = junit_cases(merged);
	ck_assert_str_eq(got, want);
	kdh_rm_rf(base);
}

/* Both triggers, a negative case expected (no dump: PASS) and one not (a
 * dump expected: FAIL with the console's reason), two VMs at a time; the
 * extra scenario's path (TINY, in the results folder). */
static char *run_parallel_suite(void)
{
	char *tiny = g_build_filename(results, "tiny.ini", NULL);
	const char *args[] = {"run",       "--jobs", "2",         "--keep-dumps", "always",
	                      "--results", results,  SUITE_FILES, tiny,           NULL};
	g_autofree char *no_dump = NULL, *fail = NULL;

	ck_assert(
	    g_file_set_contents(tiny, "[scenario]\nname=tiny\n[vm]\ncrashkernel=48M\n", -1, NULL));
	/* Exit 1: a FAIL among them. */
	ck_assert_int_eq(kdh(args), 1);
	kdh_test_assert_nothing_left(last_pid);
	assert_case_passed("smoke-sysrq", "sysrq triggered crash");
	assert_case_passed("nmi", "NMI: Not continuing");
	no_dump = case_list("no-dump-tiny-crashkernel", "PASS", "checks");
	ck_assert_msg(strstr(no_dump, "no dump, as expected: kexec-load-failed: "), "%s", no_dump);
	fail = case_reasons("tiny", "FAIL");
	/* FAIL is the reasons as a JSON array: the diagnosis comes first. */
	ck_assert_msg(g_str_has_prefix(fail, "[\"kexec-load-failed at crashkernel=48M: KDH: error "
	                                     "step=arm") &&
	                  strstr(fail, "no dump on the guest disk") &&
	                  strstr(fail, "the guest failed at step arm: kexec -p"),
	              "reasons: %s", fail);
	return tiny;
}

START_TEST(parallel_suite_judges_every_case)
{
	g_free(run_parallel_suite());
}
END_TEST

/* The same suite, then in two shards merged (slow: it runs it twice). */
START_TEST(shards_merge_to_the_unsharded_run)
{
	g_autofree char *tiny = run_parallel_suite();

	assert_shards_merge_to(tiny);
}
END_TEST

START_TEST(bad_scenario_exits_2_before_any_vm)
{
	g_autofree char *path = g_build_filename(results, "bad.ini", NULL);
	const char *args[] = {"run", "--results", results, path, NULL};

	ck_assert(
	    g_file_set_contents(path, "[scenario]\nname=bad\n[vm]\ncrashkernel=12Q\n", -1, NULL));
	ck_assert_int_eq(kdh(args), 2);
	/* Nothing ran, so no run folder was made. */
	g_autoptr(GDir) dir = g_dir_open(results, 0, NULL);
	const char *name;
	while ((name = g_dir_read_name(dir)))
		ck_assert_str_eq(name, "bad.ini");
}
END_TEST

START_TEST(phase_timeout_gives_timeout_and_destroys_the_domain)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *dir = NULL;
	/* No capture kernel takes over within 1 s of the crash under TCG. */
	/* Exit 3: no FAIL, but a TIMEOUT (DESIGN.md's exit codes). */
	JsonObject *v =
	    run_text("slow", "[scenario]\nname=slow\n[timeouts]\ncrash=1\n", 3, parser, &dir);

	ck_assert_str_eq(json_object_get_string_member(v, "verdict"), "TIMEOUT");
	ck_assert_ptr_nonnull(
	    strstr(json_array_get_string_element(json_object_get_array_member(v, "reasons"), 0),
	           "phase crash: no 'capture-start' marker within 1 s"));
	ck_assert_uint_gt(json_array_get_length(json_object_get_array_member(v, "serial_tail")), 0);
}
END_TEST

/* The entries of the cache's VM folder (a run's own VM folders live there
 * while it runs). */
static char *vm_folders(void)
{
	g_autofree char *cache = kdh_cache_dir(NULL);
	g_autofree char *vm = g_build_filename(cache, "vm", NULL);

	return kdh_test_list_dir(vm);
}

/* SIGINT with two VMs running: exit 130, no domain, no QEMU, no VM folder
 * left; the two running cases are ERROR "interrupted", the third never
 * started and every report says so. */
START_TEST(interrupted_parallel_run_leaves_nothing)
{
	const char *bin = g_getenv("KDH_BIN");
	const char *argv[] = {bin && *bin ? bin : "build/kdh",
	                      "run",
	                      "--jobs",
	                      "2",
	                      "--results",
	                      results,
	                      SUITE_FILES,
	                      NULL};
	g_autofree char *before = vm_folders(), *after = NULL, *why = NULL;
	g_autoptr(GError) error = NULL;
	GPid pid;
	int status;
	guint running = 0;

	ck_assert(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
	                        &pid, &error));
	/* Wait until both domains exist, then interrupt as a user at a terminal. */
	for (int i = 0; i < 3000 && running < 2; i++) {
		running = kdh_test_domains_of(pid);
		if (running < 2)
			g_usleep(100 * 1000);
	}
	ck_assert_msg(running == 2, "two domains never ran at once");
	kill(pid, SIGINT);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 130);
	kdh_test_assert_nothing_left(pid);
	after = vm_folders();
	ck_assert_str_eq(after, before);
	why = case_reasons("smoke-sysrq", "ERROR");
	ck_assert_msg(strstr(why, "interrupted by SIGINT"), "%s", why);
	g_free(why);
	why = case_reasons("nmi", "ERROR");
	ck_assert_msg(strstr(why, "interrupted by SIGINT"), "%s", why);
	/* Every report lists the case that never started. */
	g_autofree char *run = kdh_test_run_folder(results);
	g_autofree char *cases = junit_cases(run);
	g_autofree char *tap = kdh_test_read_file(run, "results.tap");
	ck_assert_msg(strstr(cases, "no-dump-tiny-crashkernel NOT-RUN\n"), "%s", cases);
	ck_assert_msg(strstr(cases, "nmi ERROR\n") && strstr(cases, "smoke-sysrq ERROR\n"), "%s",
	              cases);
	ck_assert_ptr_nonnull(strstr(tap, "no-dump-tiny-crashkernel # SKIP"));
}
END_TEST

Suite *smoke_suite(void);
Suite *smoke_suite(void)
{
	Suite *s = suite_create("smoke");
	TCase *tc = tcase_create("smoke");
	TCase *slow = tcase_create("smoke-slow");

	tcase_set_tags(tc, "e2e");
	tcase_set_timeout(tc, 1200);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bad_scenario_exits_2_before_any_vm);
	tcase_add_test(tc, parallel_suite_judges_every_case);
	tcase_add_test(tc, interrupted_parallel_run_leaves_nothing);
	suite_add_tcase(s, tc);

	/* What faults_e2e (a hang: TIMEOUT, the domain destroyed) and the
	 * report merge's unit tests cover too: in make check-full. */
	tcase_set_tags(slow, "e2e slow");
	tcase_set_timeout(slow, 1800);
	tcase_add_checked_fixture(slow, setup, teardown);
	tcase_add_test(slow, shards_merge_to_the_unsharded_run);
	tcase_add_test(slow, phase_timeout_gives_timeout_and_destroys_the_domain);
	suite_add_tcase(s, slow);
	return s;
}
