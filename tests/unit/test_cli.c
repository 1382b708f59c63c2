/* build/kdh itself, where nothing starts: the command table, scenario files
 * that are not scenarios (exit 2, clear errors, never their raw bytes on the
 * terminal), and --accel kvm on a host whose probe found KVM broken. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "report/report.h"
#include "scenario/scenario.h"
#include "support.h"
#include "util/util.h"

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-cli-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

/* What `kdh COMMAND --help` lists as its subcommands, read from its own
 * help: the dump reader's "kdh dump NAME ..." lines, the kernel command's
 * "usage: kdh kernel a|b|c ..." line. */
static GPtrArray *subcommands_of(const char *command)
{
	const char *args[] = {command, "--help", NULL};
	g_autofree char *out = NULL, *err = NULL, *all = NULL;
	g_autofree char *prefix = g_strdup_printf("kdh %s ", command);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

	kdh_test_run_output(args, &out, &err);
	all = g_strconcat(out, "\n", err, NULL);
	g_auto(GStrv) lines = g_strsplit(all, "\n", -1);
	for (char **l = lines; *l; l++) {
		const char *at = strstr(*l, prefix);
		if (!at)
			continue;
		g_auto(GStrv) words = g_strsplit(at + strlen(prefix), " ", 2);
		g_auto(GStrv) alts = g_strsplit(words[0], "|", -1);
		for (char **a = alts; *a; a++) {
			if (**a && g_ascii_isalpha(**a) &&
			    !g_ptr_array_find_with_equal_func(names, *a, g_str_equal, NULL))
				g_ptr_array_add(names, g_strdup(*a));
		}
	}
	return names;
}

/* `kdh --help` shows every command and every subcommand each one has. */
START_TEST(help_lists_every_command)
{
	const char *args[] = {"--help", NULL};
	const char *commands[] = {"run", "list", "dump", "kernel", "report", "help"};
	const char *with_subcommands[] = {"dump", "kernel"};
	g_autofree char *out = NULL;

	ck_assert_int_eq(kdh_test_run_output(args, &out, NULL), 0);
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_autofree char *line = g_strdup_printf("  kdh %s ", commands[i]);
		ck_assert_msg(strstr(out, line), "no '%s' in:\n%s", commands[i], out);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(with_subcommands); i++) {
		g_autoptr(GPtrArray) subs = subcommands_of(with_subcommands[i]);
		g_autofree char *line = g_strdup_printf("  kdh %s ", with_subcommands[i]);
		const char *row = strstr(out, line);
		g_autofree char *row_line = g_strndup(row, strcspn(row, "\n"));
		ck_assert_uint_ge(subs->len, 4);
		for (guint j = 0; j < subs->len; j++) {
			const char *sub = g_ptr_array_index(subs, j);
			ck_assert_msg(strstr(row_line, sub), "kdh %s %s is not in '%s'",
			              with_subcommands[i], sub, row_line);
		}
	}
}
END_TEST

START_TEST(unknown_command_is_usage)
{
	const char *args[] = {"frobnicate\x1b[2J", NULL};
	const char *help_args[] = {"help", "nope", NULL};
	g_autofree char *err = NULL, *err2 = NULL;

	ck_assert_int_eq(kdh_test_run_output(args, NULL, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown command 'frobnicate\\033[2J'"));
	ck_assert_ptr_nonnull(strstr(err, "kdh kernel "));
	ck_assert_int_eq(kdh_test_run_output(help_args, NULL, &err2), 2);
}
END_TEST

/* No byte of ERR is a control character (but newline) or outside ASCII:
 * nothing from a file reaches the terminal raw. */
static void assert_plain(const char *err)
{
	for (const char *p = err; *p; p++)
		ck_assert_msg(*p == '\n' || ((guchar)*p >= 0x20 && (guchar)*p < 0x7f),
		              "raw byte 0x%02x at %td of: %s", (guchar)*p, p - err, err);
}

/* Runs `kdh run --results TMP/results PATH`, wants exit 2 with WANT in its
 * standard error, and nothing started: the results folder stays empty. */
static void assert_refused(const char *path, const char *want)
{
	g_autofree char *results = g_build_filename(tmp, "results", NULL);
	const char *args[] = {"run", "--results", results, path, NULL};
	g_autofree char *out = NULL, *err = NULL, *left = NULL;

	ck_assert_int_eq(g_mkdir(results, 0755), 0);
	ck_assert_int_eq(kdh_test_run_output(args, &out, &err), 2);
	ck_assert_msg(strstr(err, want), "want '%s' in: %s", want, err);
	assert_plain(err);
	ck_assert_str_eq(out, "");
	left = kdh_test_list_dir(results);
	ck_assert_str_eq(left, "");
}

START_TEST(directory_as_scenario)
{
	g_autofree char *dir = g_build_filename(tmp, "scenarios", NULL);
	g_autofree char *given = g_strconcat(dir, "/", NULL);
	g_autofree char *want = g_strdup_printf("kdh: %s: is a directory\n", given);

	ck_assert_int_eq(g_mkdir(dir, 0755), 0);
	assert_refused(given, want);
}
END_TEST

START_TEST(binary_file_as_scenario)
{
	static const char elf[] = "\x7f"
	                          "ELF\x02\x01\x01\x00\x00\x1b[2J\x9b"
	                          "c";
	g_autofree char *path = g_build_filename(tmp, "x.ini", NULL);
	g_autofree char *want =
	    g_strdup_printf("kdh: %s:1: not a text file (byte 0x7f at offset 0)", path);

	ck_assert(g_file_set_contents(path, elf, sizeof(elf) - 1, NULL));
	assert_refused(path, want);
}
END_TEST

START_TEST(escape_sequence_in_scenario)
{
	g_autofree char *path = g_build_filename(tmp, "x.ini", NULL);
	g_autofree char *want =
	    g_strdup_printf("%s:3: not a text file (byte 0x1b at offset 22)", path);

	ck_assert(
	    g_file_set_contents(path, "[scenario]\nname=x\n[vm]\x1b]0;pwned\x07\n", -1, NULL));
	assert_refused(path, want);
}
END_TEST

START_TEST(huge_file_as_scenario)
{
	g_autofree char *path = g_build_filename(tmp, "big.ini", NULL);
	g_autoptr(GString) text = g_string_new("[scenario]\nname=big\n");
	g_autofree char *want = NULL;

	while (text->len <= 64 * 1024)
		g_string_append(text, "# a comment line, over and over again\n");
	ck_assert(g_file_set_contents(path, text->str, text->len, NULL));
	want =
	    g_strdup_printf("kdh: %s:1727: larger than a scenario file may be (65536 bytes)", path);
	assert_refused(path, want);
}
END_TEST

START_TEST(missing_and_special_files)
{
	g_autofree char *missing = g_build_filename(tmp, "none.ini", NULL);
	g_autofree char *want = g_strdup_printf("kdh: %s: No such file or directory", missing);

	assert_refused(missing, want);
	kdh_rm_rf(tmp);
	ck_assert_int_eq(g_mkdir(tmp, 0755), 0);
	assert_refused("/dev/null", "kdh: /dev/null: not a regular file");
}
END_TEST

/* Two scenario files whose cases share a name: refused, both places named. */
START_TEST(same_case_name_in_two_files)
{
	g_autofree char *a = g_build_filename(tmp, "a.ini", NULL);
	g_autofree char *b = g_build_filename(tmp, "b.ini", NULL);
	g_autofree char *results = g_build_filename(tmp, "results", NULL);
	const char *args[] = {"run", "--results", results, a, b, NULL};
	g_autofree char *err = NULL;

	ck_assert(g_file_set_contents(a, "[scenario]\nname=a b\n", -1, NULL));
	ck_assert(g_file_set_contents(b, "[scenario]\nname=a_b\n", -1, NULL));
	ck_assert_int_eq(kdh_test_run_output(args, NULL, &err), 2);
	ck_assert_msg(strstr(err, "b.ini:2: [scenario] name: case 'a_b' is also a case of"), "%s",
	              err);
	ck_assert(!g_file_test(results, G_FILE_TEST_EXISTS));
}
END_TEST

/* A cache holding a kernel entry (no real kernel: nothing boots) and the
 * acceleration probe's answer for this boot: KVM broken. */
static char *cache_with_broken_kvm(void)
{
	char *cache = g_build_filename(tmp, "cache", NULL);
	g_autofree char *entry = g_build_filename(cache, "kernels", "import-kdhtest", NULL);
	g_autofree char *boot = g_build_filename(entry, "boot", NULL);
	g_autofree char *modules = g_build_filename(entry, "lib", "modules", "9.9.9-kdhtest", NULL);
	g_autofree char *vmlinuz = g_build_filename(boot, "vmlinuz-9.9.9-kdhtest", NULL);
	g_autofree char *meta = g_build_filename(entry, "kdh-kernel.ini", NULL);
	g_autofree char *probe = g_build_filename(cache, "accel-probe", NULL);
	g_autofree char *boot_id = NULL, *answer = NULL;

	ck_assert_int_eq(g_mkdir_with_parents(boot, 0755), 0);
	ck_assert_int_eq(g_mkdir_with_parents(modules, 0755), 0);
	ck_assert(g_file_set_contents(vmlinuz, "not a kernel", -1, NULL));
	ck_assert(g_file_set_contents(
	    meta, "[kernel]\nsource=import\nrelease=9.9.9-kdhtest\nref=import:kdhtest\n", -1,
	    NULL));
	ck_assert(g_file_get_contents("/proc/sys/kernel/random/boot_id", &boot_id, NULL, NULL));
	answer = g_strdup_printf("%s\ntcg\ntest: KVM hangs in this probe", g_strstrip(boot_id));
	ck_assert(g_file_set_contents(probe, answer, -1, NULL));
	return cache;
}

START_TEST(accel_kvm_refused_where_kvm_is_broken)
{
	g_autofree char *cache = cache_with_broken_kvm();
	g_autofree char *results = g_build_filename(tmp, "results", NULL);
	g_autofree char *scenario = g_build_filename(tmp, "s.ini", NULL);
	const char *args[] = {"run",     "--cache", cache,    "--results", results,
	                      "--accel", "kvm",     scenario, NULL};
	g_autofree char *err = NULL;

	ck_assert(g_file_set_contents(
	    scenario, "[scenario]\nname=s\n[kernel]\nref=import:import-kdhtest\n", -1, NULL));
	ck_assert_int_eq(kdh_test_run_output(args, NULL, &err), 2);
	ck_assert_msg(strstr(err, "--accel kvm: KVM does not work on this host: test: KVM hangs "
	                          "in this probe"),
	              "%s", err);
	ck_assert(!g_file_test(results, G_FILE_TEST_EXISTS));
}
END_TEST

/* A kernel ref that does not exist, in the second of two files: exit 2
 * naming that file and line, before the first case's VM (nothing is
 * written in the results folder). */
START_TEST(missing_kernel_ref_is_usage_before_any_vm)
{
	g_autofree char *cache = cache_with_broken_kvm();
	g_autofree char *results = g_build_filename(tmp, "results", NULL);
	g_autofree char *good = g_build_filename(tmp, "good.ini", NULL);
	g_autofree char *bad = g_build_filename(tmp, "bad.ini", NULL);
	const char *args[] = {"run", "--cache", cache, "--results", results, good, bad, NULL};
	g_autofree char *err = NULL;

	ck_assert(g_file_set_contents(
	    good, "[scenario]\nname=good\n[kernel]\nref=import:import-kdhtest\n", -1, NULL));
	ck_assert(g_file_set_contents(
	    bad, "[scenario]\nname=bad\n[kernel]\nref=import:import-nosuchkernel\n", -1, NULL));
	ck_assert_int_eq(kdh_test_run_output(args, NULL, &err), 2);
	ck_assert_msg(strstr(err, "bad.ini:") && strstr(err, "ref=import:import-nosuchkernel"),
	              "%s", err);
	ck_assert_ptr_null(strstr(err, "CRITICAL"));
	ck_assert(!g_file_test(results, G_FILE_TEST_EXISTS));
}
END_TEST

/* Every scenario the repository ships loads and expands (kdh list, which
 * starts nothing): a shipped file broken by a change to the checks fails
 * here, not in a user's run. */
START_TEST(every_shipped_scenario_loads)
{
	g_autoptr(GDir) dir = g_dir_open("scenarios", 0, NULL);
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *out = NULL, *err = NULL;
	const char *name;
	guint files = 0;

	ck_assert_ptr_nonnull(dir);
	g_ptr_array_add(args, g_strdup("list"));
	while ((name = g_dir_read_name(dir))) {
		if (g_str_has_suffix(name, ".ini")) {
			g_ptr_array_add(args, g_build_filename("scenarios", name, NULL));
			files++;
		}
	}
	g_ptr_array_add(args, NULL);
	ck_assert_uint_ge(files, 8);
	ck_assert_msg(kdh_test_run_output((const char *const *)args->pdata, &out, &err) == 0, "%s",
	              err);
	ck_assert_ptr_nonnull(strstr(out, "smoke-sysrq "));
	ck_assert_ptr_nonnull(strstr(out, "suite-basic"));
}
END_TEST

/* A shard that holds none of the cases (another CI job has them) starts
 * nothing and still leaves a complete, empty set of reports for the merge
 * job; exit 0. */
START_TEST(empty_shard_leaves_empty_reports)
{
	g_autofree char *cache = g_build_filename(tmp, "cache", NULL);
	g_autofree char *results = g_build_filename(tmp, "results", NULL);
	g_autofree char *scenario = g_build_filename(tmp, "s.ini", NULL);
	g_autofree char *shard = NULL, *err = NULL, *json = NULL;
	guint empty = kdh_case_in_shard("s", 1, 2) ? 2 : 1;
	g_autoptr(GDir) dir = NULL;
	const char *run;

	shard = g_strdup_printf("%u/2", empty);
	const char *args[] = {"run",     "--cache", cache,    "--results", results,
	                      "--shard", shard,     scenario, NULL};
	ck_assert(g_file_set_contents(scenario, "[scenario]\nname=s\n", -1, NULL));
	ck_assert_int_eq(kdh_test_run_output(args, NULL, &err), 0);
	ck_assert_msg(strstr(err, "holds none of the 1 case"), "%s", err);
	dir = g_dir_open(results, 0, NULL);
	ck_assert_ptr_nonnull(dir);
	run = g_dir_read_name(dir);
	ck_assert_ptr_nonnull(run);
	for (const char *const *f = kdh_report_files; *f; f++) {
		g_autofree char *path = g_build_filename(results, run, *f, NULL);
		ck_assert_msg(g_file_test(path, G_FILE_TEST_IS_REGULAR), "no %s", path);
	}
	g_autofree char *path = g_build_filename(results, run, "results.json", NULL);
	ck_assert(g_file_get_contents(path, &json, NULL, NULL));
	ck_assert_msg(strstr(json, "\"cases\" : [") && strstr(json, "\"total\" : 0"), "%s", json);
}
END_TEST

/* kdh sizing, matrix and reproduce refuse what they cannot run before any
 * VM starts (exit 2, the reason named). */
static const struct {
	const char *args[10];
	const char *message;
} refusals[] = {
    {{"sizing", NULL}, "--memory is required"},
    {{"sizing", "--memory", "1G,1G", NULL}, "--memory lists 1G twice"},
    {{"sizing", "--memory", "1G,lots", NULL}, "--memory 'lots': a size in whole MiB"},
    {{"sizing", "--memory", "1G", "--step", "1500K", NULL}, "--step '1500K'"},
    {{"sizing", "--memory", "1G", "--margin", "500", NULL}, "--margin must be 0 to 400"},
    {{"sizing", "--memory", "1G", "--image", "bogus", NULL}, "[vm] image: 'bogus'"},
    {{"sizing", "--memory", "1G", "--low", "128M", "--high", "64M", NULL}, "--low < --high"},
    {{"sizing", "--memory", "1G", "scenarios/nmi.ini", "scenarios/nmi.ini", NULL},
     "at most one SCENARIO"},
    {{"sizing", "--memory", "1G", "scenarios/trigger-module.ini", NULL},
     "a sizing scenario has one case"},
    {{"matrix", NULL}, "name a matrix file"},
    {{"matrix", "scenarios/matrices/smoke.ini", "scenarios/matrices/smoke.ini", NULL},
     "name one matrix file"},
    {{"matrix", "--resume", "/nonexistent", "scenarios/matrices/smoke.ini", NULL},
     "--resume /nonexistent: not a folder"},
    {{"matrix", "scenarios/nmi.ini", NULL}, "unknown group [scenario]"},
    {{"reproduce", NULL}, "one FIELD"},
    {{"reproduce", "images/mini/init", NULL}, "images/mini/init: no kernel crash"},
    {{"reproduce", "README.md", NULL}, "is not a Debian kernel kdh can fetch"},
};

START_TEST(answers_refuse_before_starting)
{
	g_autofree char *err = NULL;

	ck_assert_int_eq(kdh_test_run_output(refusals[_i].args, NULL, &err), 2);
	ck_assert_msg(strstr(err, refusals[_i].message), "'%s' lacks '%s'", err,
	              refusals[_i].message);
}
END_TEST

/* A user's sizing scenario is read by the scenario files' own rules: its
 * ';' comment lines and inline comments do not reach GKeyFile (the bounds
 * error comes after the template loaded). */
START_TEST(sizing_reads_a_commented_scenario)
{
	g_autofree char *path = g_build_filename(tmp, "s.ini", NULL);
	const char *args[] = {"sizing", "--memory", "1G", "--low", "128M",
	                      "--high", "64M",      path, NULL};
	g_autofree char *err = NULL;

	ck_assert(g_file_set_contents(path,
	                              "; a comment line\n[scenario]\nname=mine  # inline\n"
	                              "[crash]\ntrigger=nmi\n",
	                              -1, NULL));
	ck_assert_int_eq(kdh_test_run_output(args, NULL, &err), 2);
	ck_assert_msg(strstr(err, "--low < --high"), "%s", err);
}
END_TEST

Suite *cli_suite(void);
Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, help_lists_every_command);
	tcase_add_test(tc, unknown_command_is_usage);
	tcase_add_test(tc, directory_as_scenario);
	tcase_add_test(tc, binary_file_as_scenario);
	tcase_add_test(tc, escape_sequence_in_scenario);
	tcase_add_test(tc, huge_file_as_scenario);
	tcase_add_test(tc, missing_and_special_files);
	tcase_add_test(tc, same_case_name_in_two_files);
	tcase_add_test(tc, accel_kvm_refused_where_kvm_is_broken);
	tcase_add_test(tc, missing_kernel_ref_is_usage_before_any_vm);
	tcase_add_test(tc, every_shipped_scenario_loads);
	tcase_add_test(tc, empty_shard_leaves_empty_reports);
	tcase_add_loop_test(tc, answers_refuse_before_starting, 0, G_N_ELEMENTS(refusals));
	tcase_add_test(tc, sizing_reads_a_commented_scenario);
	suite_add_tcase(s, tc);
	return s;
}
