/* Merging results folders: kdh_report_merge (the union, duplicates,
 * --latest, a results.json from elsewhere read as hostile input) and
 * `kdh report merge` with its exit status. */
#include <check.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/report.h"
#include "report_sample.h"
#include "support.h"
#include "util/util.h"

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-merge-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

/* ---- merge ---- */

/* Two result sets, A (cases 0-2 of the sample) and B (3-5). */
static void write_two_sets(char **a, char **b)
{
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autoptr(GPtrArray) first = g_ptr_array_new();
	g_autoptr(GPtrArray) second = g_ptr_array_new();
	KdhRunInfo ia = kdh_test_sample_info, ib = kdh_test_sample_info;

	for (guint i = 0; i < rs->len; i++)
		g_ptr_array_add(i < 3 ? first : second, g_ptr_array_index(rs, i));
	ia.run_id = "run-a";
	ia.shard = "1/2";
	ia.started_at = "2026-11-28T10:00:00.000Z";
	ia.ended_at = "2026-11-28T10:03:00.000Z";
	ib.run_id = "run-b";
	ib.shard = "2/2";
	ib.started_at = "2026-11-28T09:59:00.000Z";
	ib.ended_at = "2026-11-28T10:02:00.000Z";
	*a = kdh_test_write_set(tmp, "a", &ia, first);
	*b = kdh_test_write_set(tmp, "b", &ib, second);
}

static gboolean merge(const char *const *dirs, const char *out, gboolean latest,
                      KdhVerdictCounts *counts, GError **error)
{
	KdhMergeOptions opts = {.dirs = dirs, .out_dir = out, .run_id = "merged", .latest = latest};

	return kdh_report_merge(&opts, counts, error);
}

/* The merged set equals the union: every case object as its source had
 * it, in order, metadata of the earliest start and latest end. */
START_TEST(merge_is_the_union)
{
	g_autofree char *a = NULL, *b = NULL;
	g_autofree char *out = g_build_filename(tmp, "out", NULL);
	g_autofree char *whole = NULL;
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autoptr(JsonParser) pm = json_parser_new();
	g_autoptr(JsonParser) pw = json_parser_new();
	g_autoptr(GError) error = NULL;
	KdhVerdictCounts counts;
	JsonObject *merged, *unsharded;
	JsonArray *from;
	xmlDocPtr doc;

	write_two_sets(&a, &b);
	whole = kdh_test_write_set(tmp, "whole", NULL, rs);
	ck_assert_msg(merge((const char *[]){a, b, NULL}, out, FALSE, &counts, &error), "%s",
	              error ? error->message : "");
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++)
		ck_assert_uint_eq(counts.n[v], 1);
	merged = kdh_test_load_json(pm, out, "results.json");
	unsharded = kdh_test_load_json(pw, whole, "results.json");
	ck_assert(json_node_equal(json_object_get_member(merged, "cases"),
	                          json_object_get_member(unsharded, "cases")));
	ck_assert(json_node_equal(json_object_get_member(merged, "counts"),
	                          json_object_get_member(unsharded, "counts")));
	ck_assert_str_eq(json_object_get_string_member(merged, "run_id"), "merged");
	from = json_object_get_array_member(merged, "merged_from");
	ck_assert_uint_eq(json_array_get_length(from), 2);
	ck_assert_str_eq(json_array_get_string_element(from, 0), "run-a");
	ck_assert_str_eq(json_array_get_string_element(from, 1), "run-b");
	ck_assert_str_eq(json_object_get_string_member(merged, "started_at"),
	                 "2026-11-28T09:59:00.000Z");
	ck_assert_str_eq(json_object_get_string_member(merged, "ended_at"),
	                 "2026-11-28T10:03:00.000Z");
	ck_assert(json_object_get_double_member(merged, "wall_seconds") == 240);
	/* What both shards say is kept; what they disagree on is null. */
	ck_assert_str_eq(json_object_get_string_member(merged, "host"), "ci-host");
	ck_assert(json_object_get_null_member(merged, "shard"));
	ck_assert(json_object_get_null_member(merged, "jobs"));

	doc = kdh_test_load_junit(out);
	assert_xpath_num(doc, "count(//testcase)", 6);
	assert_xpath_num(doc, "/testsuites/@failures", 1);
	for (gsize i = 0; i < G_N_ELEMENTS(kdh_test_sample_names); i++) {
		g_autofree char *expr =
		    g_strdup_printf("count(//testcase[@name='%s'])", kdh_test_sample_names[i]);
		assert_xpath_num(doc, expr, 1);
	}
	xmlFreeDoc(doc);
}
END_TEST

/* A merge of merges lists the original runs, each once. */
START_TEST(merge_of_merges_lists_the_runs)
{
	g_autofree char *a = NULL, *b = NULL;
	g_autofree char *m1 = g_build_filename(tmp, "m1", NULL);
	g_autofree char *m2 = g_build_filename(tmp, "m2", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *from;

	write_two_sets(&a, &b);
	ck_assert(merge((const char *[]){a, NULL}, m1, FALSE, NULL, NULL));
	ck_assert(merge((const char *[]){m1, b, NULL}, m2, FALSE, NULL, NULL));
	from = json_object_get_array_member(kdh_test_load_json(parser, m2, "results.json"),
	                                    "merged_from");
	ck_assert_uint_eq(json_array_get_length(from), 2);
	ck_assert_str_eq(json_array_get_string_element(from, 0), "run-a");
	ck_assert_str_eq(json_array_get_string_element(from, 1), "run-b");
}
END_TEST

/* The same case in two folders, the second started later and failed. */
static void write_rerun(char **a, char **rerun)
{
	g_autoptr(GPtrArray) first = kdh_test_sample();
	g_autoptr(GPtrArray) again =
	    g_ptr_array_new_with_free_func((GDestroyNotify)kdh_result_free);
	KdhResult *r = kdh_test_result("pass-1", "scenarios/alpha.ini", "2026-11-28T11:00:00.000Z");
	KdhRunInfo info = kdh_test_sample_info;

	kdh_result_fail(r, KDH_VERDICT_FAIL, "failed the second time");
	g_ptr_array_add(again, r);
	*a = kdh_test_write_set(tmp, "a", NULL, first);
	info.run_id = "rerun";
	*rerun = kdh_test_write_set(tmp, "rerun", &info, again);
}

START_TEST(merge_refuses_a_duplicate)
{
	g_autofree char *a = NULL, *rerun = NULL;
	g_autofree char *out = g_build_filename(tmp, "out", NULL);
	g_autoptr(GError) error = NULL;

	write_rerun(&a, &rerun);
	ck_assert(!merge((const char *[]){a, rerun, NULL}, out, FALSE, NULL, &error));
	ck_assert(g_error_matches(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_DUPLICATE));
	ck_assert_msg(strstr(error->message, "pass-1") && strstr(error->message, a) &&
	                  strstr(error->message, rerun),
	              "%s", error->message);
	ck_assert(!g_file_test(out, G_FILE_TEST_EXISTS));
}
END_TEST

/* --latest keeps the later start, whichever folder is named first. */
START_TEST(merge_latest_keeps_the_later_start)
{
	g_autofree char *a = NULL, *rerun = NULL;

	write_rerun(&a, &rerun);
	for (int order = 0; order < 2; order++) {
		g_autofree char *name = g_strdup_printf("out%d", order);
		g_autofree char *out = g_build_filename(tmp, name, NULL);
		const char *dirs[] = {order ? rerun : a, order ? a : rerun, NULL};
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autoptr(GError) error = NULL;
		KdhVerdictCounts counts;
		JsonArray *cases;
		JsonObject *pass1 = NULL;

		ck_assert_msg(merge(dirs, out, TRUE, &counts, &error), "%s",
		              error ? error->message : "");
		cases = json_object_get_array_member(
		    kdh_test_load_json(parser, out, "results.json"), "cases");
		ck_assert_uint_eq(json_array_get_length(cases), 6);
		for (guint i = 0; i < 6; i++) {
			JsonObject *c = json_array_get_object_element(cases, i);
			if (g_str_equal(json_object_get_string_member(c, "case"), "pass-1"))
				pass1 = c;
		}
		ck_assert_ptr_nonnull(pass1);
		ck_assert_str_eq(json_object_get_string_member(pass1, "started_at"),
		                 "2026-11-28T11:00:00.000Z");
		ck_assert_str_eq(json_object_get_string_member(pass1, "verdict"), "FAIL");
		ck_assert_uint_eq(counts.n[KDH_VERDICT_PASS], 0);
		ck_assert_uint_eq(counts.n[KDH_VERDICT_FAIL], 2);
	}
}
END_TEST

START_TEST(merge_refuses_its_input_as_output)
{
	g_autofree char *a = NULL, *b = NULL;
	g_autofree char *same = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *before = NULL, *after = NULL;

	write_two_sets(&a, &b);
	/* The same folder by another name. */
	same = g_build_filename(tmp, ".", "b", NULL);
	before = kdh_test_read_file(b, "results.json");
	ck_assert(!merge((const char *[]){a, b, NULL}, same, FALSE, NULL, &error));
	ck_assert(g_error_matches(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_USAGE));
	after = kdh_test_read_file(b, "results.json");
	ck_assert_str_eq(before, after);
}
END_TEST

/* A valid results.json with one member replaced: MEMBER is a top-level
 * member, or "case." + a dotted member of the first case; JSON its new
 * value (NULL: removed). */
static const struct {
	const char *member;
	const char *json;
	const char *error; /* what the message must say besides the file */
} broken[] = {
    {"cases", NULL, "'cases' is missing"},
    {"cases", "{}", "'cases' is wrong, not an array of case objects"},
    {"run_id", "7", "'run_id' is wrong, not a string"},
    {"started_at", "\"yesterday\"", "'started_at' is wrong, not an ISO 8601 time"},
    {"wall_seconds", "-1", "'wall_seconds' is wrong"},
    {"counts", "[]", "'counts' is wrong, not an object"},
    {"case.verdict", "\"MAYBE\"", "cases[0] (\"pass-1\"): 'verdict' is wrong"},
    {"case.reasons", "[1]", "cases[0] (\"pass-1\"): 'reasons' is wrong, not an array of strings"},
    {"case.checks", NULL, "'checks' is missing"},
    {"case.warnings", "[\"a\", null]", "'warnings' is wrong, not an array of strings (or absent)"},
    {"case.warnings", "\"one\"", "'warnings' is wrong"},
    {"case.total_seconds", "\"12\"", "'total_seconds' is wrong"},
    {"case.phases", "[{\"name\": \"boot\"}]", "'phases' is wrong"},
    {"case.kernel", "\"6.1\"", "'kernel' is wrong, not an object"},
    {"case.kernel.release", "[]", "'kernel.release' is wrong, not a string or null"},
    {"case.asked.memory", "1.5", "'asked.memory' is wrong, not an integer or null"},
    {"case.dump.pages_total", "null", "'dump.pages_total' is wrong, not an integer"},
    {"case.started_at", "\"2026-13-45T99:00:00Z\"", "'started_at' is wrong"},
    {"case.case", "\"../escape\"", "'case' is not a kdh case name"},
    {"case.case", "\"a\\u001b[2Jb\"", "'case' is not a kdh case name"},
    {"case.case", "null", "cases[0]: 'case' is wrong, not a string"},
};

/* The JSON object at dotted PATH below O (creating nothing). */
static JsonObject *parent_of(JsonObject *o, const char *path, const char **last)
{
	g_auto(GStrv) parts = g_strsplit(path, ".", -1);
	guint n = g_strv_length(parts);

	for (guint i = 0; i + 1 < n; i++)
		o = json_object_get_object_member(o, parts[i]);
	*last = path + strlen(path) - strlen(parts[n - 1]);
	return o;
}

static void write_text(const char *dir, const char *text)
{
	g_autofree char *path = g_build_filename(dir, "results.json", NULL);

	g_mkdir_with_parents(dir, 0755);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
}

/* Merges the folder DIR alone and returns the error (never a success). */
static GError *merge_error(const char *dir)
{
	g_autofree char *out = g_build_filename(tmp, "out", NULL);
	GError *error = NULL;

	ck_assert(!merge((const char *[]){dir, NULL}, out, FALSE, NULL, &error));
	ck_assert_ptr_nonnull(error);
	ck_assert(!g_file_test(out, G_FILE_TEST_EXISTS));
	return error;
}

START_TEST(merge_names_the_broken_member)
{
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *file = g_build_filename(dir, "results.json", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *text = NULL;
	JsonObject *doc = kdh_test_load_json(parser, dir, "results.json");
	JsonObject *o =
	    g_str_has_prefix(broken[_i].member, "case.") ? kdh_test_case_at(doc, 0) : doc;
	const char *path = g_str_has_prefix(broken[_i].member, "case.") ? broken[_i].member + 5
	                                                                : broken[_i].member;
	const char *last;

	o = parent_of(o, path, &last);
	json_object_remove_member(o, last);
	if (broken[_i].json)
		json_object_set_member(o, last, json_from_string(broken[_i].json, NULL));
	json_generator_set_root(gen, json_parser_get_root(parser));
	text = json_generator_to_data(gen, NULL);
	write_text(dir, text);

	error = merge_error(dir);
	ck_assert(g_error_matches(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT));
	ck_assert_msg(g_str_has_prefix(error->message, file) &&
	                  strstr(error->message, broken[_i].error),
	              "%s: %s", broken[_i].member, error->message);
}
END_TEST

/* A results.json from a kdh before warnings existed still merges, and
 * the merged case has none. */
START_TEST(merge_takes_results_without_warnings)
{
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *out = g_build_filename(tmp, "out", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonParser) merged = json_parser_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	JsonObject *doc = kdh_test_load_json(parser, dir, "results.json");

	ck_assert(json_object_has_member(kdh_test_case_at(doc, 0), "warnings"));
	json_object_remove_member(kdh_test_case_at(doc, 0), "warnings");
	json_generator_set_root(gen, json_parser_get_root(parser));
	text = json_generator_to_data(gen, NULL);
	write_text(dir, text);
	ck_assert_msg(merge((const char *[]){dir, NULL}, out, FALSE, NULL, &error), "%s",
	              error ? error->message : "");
	doc = kdh_test_load_json(merged, out, "results.json");
	ck_assert(!json_object_has_member(kdh_test_case_at(doc, 0), "warnings"));
	ck_assert_uint_eq(json_array_get_length(
	                      json_object_get_array_member(kdh_test_case_at(doc, 1), "warnings")),
	                  0);
}
END_TEST

/* Files that are not a results.json at all. */
static const struct {
	const char *text;
	const char *error;
} not_results[] = {
    {"", "results.json: "},           {"{\"cases\": [", "results.json: "},
    {"[]", "not a JSON object"},      {"\"text\"", "not a JSON object"},
    {"\xff\xfe{}", "results.json: "},
};

START_TEST(merge_refuses_what_is_not_results)
{
	g_autofree char *dir = g_build_filename(tmp, "bad", NULL);
	g_autoptr(GError) error = NULL;

	write_text(dir, not_results[_i].text);
	error = merge_error(dir);
	ck_assert(g_error_matches(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT));
	ck_assert_msg(g_str_has_prefix(error->message, dir) &&
	                  strstr(error->message, not_results[_i].error),
	              "%s", error->message);
}
END_TEST

/* Nesting deep enough to exhaust a recursive parser's stack is refused
 * before parsing. */
START_TEST(merge_refuses_deep_nesting)
{
	g_autofree char *dir = g_build_filename(tmp, "deep", NULL);
	g_autofree char *open = g_strnfill(1000000, '[');
	g_autoptr(GError) error = NULL;

	write_text(dir, open);
	error = merge_error(dir);
	ck_assert_msg(strstr(error->message, "nested deeper than"), "%s", error->message);
}
END_TEST

START_TEST(merge_refuses_a_huge_file)
{
	g_autofree char *dir = g_build_filename(tmp, "huge", NULL);
	g_autofree char *file = g_build_filename(dir, "results.json", NULL);
	g_autoptr(GError) error = NULL;

	write_text(dir, "{}");
	/* Sparse: no disk is spent on it. */
	ck_assert_int_eq(truncate(file, KDH_REPORT_MERGE_MAX_BYTES + 1), 0);
	error = merge_error(dir);
	ck_assert_msg(strstr(error->message, "larger than 64 MiB"), "%s", error->message);
}
END_TEST

START_TEST(merge_refuses_special_files)
{
	g_autofree char *missing = g_build_filename(tmp, "missing", NULL);
	g_autofree char *fifo_dir = g_build_filename(tmp, "fifo", NULL);
	g_autofree char *fifo = g_build_filename(fifo_dir, "results.json", NULL);
	g_autofree char *dir_dir = g_build_filename(tmp, "dir", NULL);
	g_autofree char *dir = g_build_filename(dir_dir, "results.json", NULL);
	g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;

	e1 = merge_error(missing);
	ck_assert_msg(strstr(e1->message, "No such file"), "%s", e1->message);
	ck_assert_int_eq(g_mkdir_with_parents(fifo_dir, 0755), 0);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	e2 = merge_error(fifo_dir);
	ck_assert_msg(strstr(e2->message, "not a regular file"), "%s", e2->message);
	ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
	e3 = merge_error(dir_dir);
	ck_assert_msg(strstr(e3->message, "not a regular file"), "%s", e3->message);
}
END_TEST

/* ---- the command line ---- */

/* `kdh report merge` exits with the merged cases' gating status: the
 * sample has a FAIL, so 1; without it, ERROR/TIMEOUT/NOT-RUN give 3. */
START_TEST(cli_merge_gates_on_the_merged_cases)
{
	g_autofree char *a = NULL, *b = NULL, *out = g_build_filename(tmp, "out", NULL);
	g_autofree char *out2 = g_build_filename(tmp, "out2", NULL);
	g_autofree char *stdout_text = NULL;
	const char *args[] = {"report", "merge", NULL, NULL, "--out", out, NULL};
	const char *only_b[] = {"report", "merge", NULL, "--out", out2, NULL};

	write_two_sets(&a, &b);
	args[2] = a;
	args[3] = b;
	ck_assert_int_eq(kdh_test_run_output(args, &stdout_text, NULL), 1);
	ck_assert_msg(strstr(stdout_text, "6 cases from 2 folders"), "%s", stdout_text);
	for (const char *const *f = kdh_report_files; *f; f++) {
		g_autofree char *path = g_build_filename(out, *f, NULL);
		ck_assert_msg(g_file_test(path, G_FILE_TEST_IS_REGULAR), "no %s", path);
	}
	only_b[2] = b;
	ck_assert_int_eq(kdh_test_run(only_b, NULL), 3);
}
END_TEST

START_TEST(cli_merge_all_passed_is_0)
{
	g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_result_free);
	g_autofree char *dir = NULL, *out = g_build_filename(tmp, "out", NULL);
	const char *args[] = {"report", "merge", NULL, "--out", out, NULL};
	KdhResult *skipped = kdh_test_result("skip-1", "s.ini", NULL);

	kdh_result_fail(skipped, KDH_VERDICT_SKIP, "no lkdtm");
	g_ptr_array_add(rs, kdh_test_result("pass-1", "s.ini", NULL));
	g_ptr_array_add(rs, skipped);
	dir = kdh_test_write_set(tmp, "run", NULL, rs);
	args[2] = dir;
	ck_assert_int_eq(kdh_test_run(args, NULL), 0);
}
END_TEST

START_TEST(cli_merge_bad_input_is_2)
{
	g_autofree char *a = NULL, *rerun = NULL, *err = NULL;
	g_autofree char *out = g_build_filename(tmp, "out", NULL);
	g_autofree char *bad = g_build_filename(tmp, "bad", NULL);
	const char *dup[] = {"report", "merge", NULL, NULL, "--out", out, NULL};
	const char *broken_args[] = {"report", "merge", bad, "--out", out, NULL};
	const char *no_out[] = {"report", "merge", NULL, NULL};
	const char *no_dirs[] = {"report", "merge", "--out", out, NULL};
	const char *no_sub[] = {"report", NULL};
	const char *latest[] = {"report", "merge", "--latest", NULL, NULL, "--out", out, NULL};

	write_rerun(&a, &rerun);
	dup[2] = a;
	dup[3] = rerun;
	ck_assert_int_eq(kdh_test_run_output(dup, NULL, &err), 2);
	ck_assert_msg(strstr(err, a) && strstr(err, rerun) && strstr(err, "pass-1"), "%s", err);
	ck_assert(!g_file_test(out, G_FILE_TEST_EXISTS));
	write_text(bad, "{");
	ck_assert_int_eq(kdh_test_run(broken_args, NULL), 2);
	no_out[2] = a;
	ck_assert_int_eq(kdh_test_run(no_out, NULL), 2);
	ck_assert_int_eq(kdh_test_run(no_dirs, NULL), 2);
	ck_assert_int_eq(kdh_test_run(no_sub, NULL), 2);
	latest[3] = a;
	latest[4] = rerun;
	ck_assert_int_eq(kdh_test_run(latest, NULL), 1);
}
END_TEST

Suite *report_merge_suite(void);
Suite *report_merge_suite(void)
{
	Suite *s = suite_create("report_merge");
	TCase *tc = tcase_create("report_merge");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, merge_is_the_union);
	tcase_add_test(tc, merge_of_merges_lists_the_runs);
	tcase_add_test(tc, merge_refuses_a_duplicate);
	tcase_add_test(tc, merge_latest_keeps_the_later_start);
	tcase_add_test(tc, merge_refuses_its_input_as_output);
	tcase_add_loop_test(tc, merge_names_the_broken_member, 0, G_N_ELEMENTS(broken));
	tcase_add_loop_test(tc, merge_refuses_what_is_not_results, 0, G_N_ELEMENTS(not_results));
	tcase_add_test(tc, merge_takes_results_without_warnings);
	tcase_add_test(tc, merge_refuses_deep_nesting);
	tcase_add_test(tc, merge_refuses_a_huge_file);
	tcase_add_test(tc, merge_refuses_special_files);
	tcase_add_test(tc, cli_merge_gates_on_the_merged_cases);
	tcase_add_test(tc, cli_merge_all_passed_is_0);
	tcase_add_test(tc, cli_merge_bad_input_is_2);
	suite_add_tcase(s, tc);
	return s;
}
