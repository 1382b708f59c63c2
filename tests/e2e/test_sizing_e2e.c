/* kdh sizing end to end: real cycles of the mini guest on debian:default.
 * In make check, one probe pair (1 GiB, 96M against 104M, both in the first
 * round): 96M is too small (the capture kernel runs out of memory), 104M
 * captures a dump, and the answer, its confirmation and the diagnosis are
 * read back from what kdh wrote.  In check-full, a whole search for 512M
 * and 1G between the default bounds. */
#include <check.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <libxml/parser.h>
#include <string.h>

#include "report_sample.h"
#include "support.h"
#include "util/util.h"

#define M (G_GUINT64_CONSTANT(1) << 20)

static char *results;

static void setup(void)
{
	results = g_dir_make_tmp("kdh-sizing-e2e-XXXXXX", NULL);
	ck_assert_ptr_nonnull(results);
}

static void teardown(void)
{
	kdh_rm_rf(results);
	g_free(results);
}

/* Runs kdh sizing with ARGS, expects WANT and nothing left running, and
 * returns sizing.json (owned by PARSER) and the run folder. */
static JsonObject *sizing(const char *const *args, int want, JsonParser *parser, char **run)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	GPid pid = 0;

	g_ptr_array_add(argv, "sizing");
	g_ptr_array_add(argv, "--results");
	g_ptr_array_add(argv, results);
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (char *)*a);
	g_ptr_array_add(argv, NULL);
	ck_assert_int_eq(kdh_test_run((const char *const *)argv->pdata, &pid), want);
	kdh_test_assert_nothing_left(pid);
	*run = kdh_test_run_folder(results);
	return kdh_test_load_json(parser, *run, "sizing.json");
}

static JsonObject *row_at(JsonObject *doc, guint i)
{
	return json_array_get_object_element(json_object_get_array_member(doc, "rows"), i);
}

START_TEST(one_probe_pair)
{
	const char *args[] = {"--memory", "1G", "--low", "96M", "--high", "104M", NULL};
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonParser) probe = json_parser_new();
	g_autofree char *run = NULL, *svg_path = NULL;
	JsonObject *doc = sizing(args, 0, parser, &run), *row = row_at(doc, 0), *v;
	xmlDocPtr svg, junit;

	ck_assert_str_eq(json_object_get_string_member(row, "state"), "answered");
	ck_assert_int_eq(json_object_get_int_member(row, "smallest_working"), 104 * M);
	ck_assert_int_eq(json_object_get_int_member(row, "first_failing"), 96 * M);
	ck_assert_str_eq(json_object_get_string_member(row, "diagnosis"), "capture-kernel-oom");
	ck_assert_int_eq(json_object_get_int_member(row, "probes"), 2);
	ck_assert_str_eq(json_object_get_string_member(doc, "suggestion"), "1G-:128M");
	/* Both rest on the probes' own verdicts: a dump at 104M, none at 96M
	 * with the console's reason. */
	v = kdh_test_assert_case(results, "sizing-ram1G-ck104M", "PASS",
	                         (const char *const[]){"dump VMCOREINFO OSRELEASE=", NULL}, probe);
	(void)v;
	{
		g_autoptr(JsonParser) p = json_parser_new();
		JsonObject *small = kdh_test_assert_case(
		    results, "sizing-ram1G-ck96M", "FAIL",
		    (const char *const[]){"capture-kernel-oom at crashkernel=96M", NULL}, p);
		ck_assert_str_eq(json_object_get_string_member(
		                     json_object_get_object_member(small, "diagnosis"), "reason"),
		                 "capture-kernel-oom");
	}
	/* The chart and sizing's own junit: no failure for an expected
	 * too-small probe. */
	svg_path = g_build_filename(run, "sizing.svg", NULL);
	svg = xmlReadFile(svg_path, NULL, XML_PARSE_NONET);
	ck_assert_ptr_nonnull(svg);
	xmlFreeDoc(svg);
	junit = kdh_test_load_junit(run);
	assert_xpath_num(junit, "count(//testcase)", 1);
	assert_xpath_num(junit, "count(//failure|//error)", 0);
	xmlFreeDoc(junit);
}
END_TEST

START_TEST(two_ram_sizes_searched)
{
	const char *args[] = {"--memory", "512M,1G", "--jobs", "2", NULL};
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *run = NULL;
	JsonObject *doc = sizing(args, 0, parser, &run);

	for (guint i = 0; i < 2; i++) {
		JsonObject *row = row_at(doc, i);
		gint64 works = json_object_get_int_member(row, "smallest_working");

		ck_assert_str_eq(json_object_get_string_member(row, "state"), "answered");
		ck_assert_int_eq(json_object_get_int_member(row, "first_failing"),
		                 works - 8 * (gint64)M);
		/* Measured here: 100M..160M wrote a dump on a 1 GiB mini guest. */
		ck_assert_int_ge(works, 72 * (gint64)M);
		ck_assert_int_le(works, 200 * (gint64)M);
		ck_assert_int_le(json_object_get_int_member(row, "probes"),
		                 json_object_get_int_member(row, "bisect_bound") + 1);
	}
}
END_TEST

Suite *sizing_e2e_suite(void);
Suite *sizing_e2e_suite(void)
{
	Suite *s = suite_create("sizing_e2e");
	TCase *tc = tcase_create("pair");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 900);
	/* Two full cycles that sizing's unit tests play with fakes: check-full,
	 * so make check stays within its half hour. */
	tcase_set_tags(tc, "e2e slow");
	tcase_add_test(tc, one_probe_pair);
	suite_add_tcase(s, tc);
	tc = tcase_create("search");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 3600);
	tcase_set_tags(tc, "e2e slow");
	tcase_add_test(tc, two_ram_sizes_searched);
	suite_add_tcase(s, tc);
	return s;
}
