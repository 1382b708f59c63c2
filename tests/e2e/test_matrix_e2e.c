/* kdh matrix end to end: two real Debian kernels x the sysrq smoke case
 * (libvirt, capture kernel, retrieval, kdh's reader), the report.html read
 * in headless Chromium (every cell's colour and links, every link a file of
 * the run), then --resume: cells whose inputs still match are carried over
 * without a VM (make check); one whose scenario changed runs again
 * (check-full). */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "browser.h"
#include "support.h"
#include "util/util.h"

#define MATRIX "scenarios/matrices/smoke.ini"

static char *results;

static void setup(void)
{
	results = g_dir_make_tmp("kdh-matrix-e2e-XXXXXX", NULL);
	ck_assert_ptr_nonnull(results);
}

static void teardown(void)
{
	kdh_rm_rf(results);
	g_free(results);
}

static const char *const cells[][2] = {
    {"6.1.0-56+smoke-sysrq", "6.1.0-56-amd64"},
    {"6.1.0-54+smoke-sysrq", "6.1.0-54-amd64"},
};

/* Runs `kdh matrix` with ARGS and expects status 0 and nothing of it left
 * running (libvirt's domain list, /proc). */
static void matrix(const char *const *args)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	GPid pid = 0;

	g_ptr_array_add(argv, "matrix");
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (char *)*a);
	g_ptr_array_add(argv, NULL);
	ck_assert_int_eq(kdh_test_run((const char *const *)argv->pdata, &pid), 0);
	kdh_test_assert_nothing_left(pid);
}

/* The rendered grid of the run in RUN: a row per kernel, its one cell
 * PASS in PASS's colour, each link a file of the run. */
static void assert_rendered(const char *run)
{
	g_autofree char *html = g_build_filename(run, "report.html", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *page = kdh_test_browser_render(html, parser);
	JsonArray *rows = json_object_get_array_member(page, "matrix");

	ck_assert_int_eq(json_object_get_int_member(page, "active"), 0);
	ck_assert_uint_eq(json_array_get_length(rows), G_N_ELEMENTS(cells));
	for (guint i = 0; i < G_N_ELEMENTS(cells); i++) {
		JsonObject *tr = json_array_get_object_element(rows, i);
		JsonObject *td =
		    json_array_get_object_element(json_object_get_array_member(tr, "cells"), 0);
		JsonArray *links = json_object_get_array_member(td, "links");

		ck_assert(
		    g_str_has_prefix(cells[i][0], json_object_get_string_member(tr, "kernel")));
		ck_assert_str_eq(json_object_get_string_member(td, "verdict"), "PASS");
		ck_assert_str_eq(json_object_get_string_member(td, "background"),
		                 kdh_test_verdict_colour("PASS"));
		ck_assert_uint_eq(json_array_get_length(links), 3);
		for (guint l = 0; l < 3; l++) {
			g_autofree char *file =
			    g_build_filename(run, json_array_get_string_element(links, l), NULL);
			ck_assert_msg(g_file_test(file, G_FILE_TEST_IS_REGULAR), "%s: no file",
			              file);
		}
	}
}

/* Runs the smoke matrix into RESULTS and checks every cell passed on its
 * own kernel's dump; returns the run folder. */
static char *first_run(void)
{
	const char *first[] = {"--results", results, MATRIX, NULL};
	char *run;

	matrix(first);
	run = kdh_test_run_folder(results);
	for (guint i = 0; i < G_N_ELEMENTS(cells); i++) {
		g_autoptr(JsonParser) p = json_parser_new();
		g_autofree char *osrelease = g_strdup_printf("OSRELEASE=%s", cells[i][1]);
		g_autofree char *dmesg = g_build_filename(run, cells[i][0], "dump-dmesg.txt", NULL);
		g_autofree char *text = NULL;
		const char *needles[] = {osrelease, "sysrq triggered crash", NULL};

		kdh_test_assert_case(results, cells[i][0], "PASS", needles, p);
		ck_assert(g_file_get_contents(dmesg, &text, NULL, NULL));
		ck_assert_ptr_nonnull(strstr(text, "sysrq triggered crash"));
	}
	return run;
}

/* Resumes RUN into RESULTS/second and returns the cases of its
 * results.json (owned by PARSER), checked to be the matrix's two cells in
 * order, each a PASS whose folder is the new run's; *RERUN gets that run. */
static JsonArray *resume_from(const char *run, JsonParser *parser, char **rerun)
{
	g_autofree char *second = g_build_filename(results, "second", NULL);
	g_autofree char *results_json = NULL;
	const char *resume[] = {"--results", second, "--resume", run, MATRIX, NULL};
	JsonArray *cases;

	matrix(resume);
	*rerun = kdh_test_run_folder(second);
	results_json = g_build_filename(*rerun, "results.json", NULL);
	ck_assert(json_parser_load_from_file(parser, results_json, NULL));
	cases = json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)),
	                                     "cases");
	ck_assert_uint_eq(json_array_get_length(cases), G_N_ELEMENTS(cells));
	for (guint i = 0; i < G_N_ELEMENTS(cells); i++) {
		JsonObject *c = json_array_get_object_element(cases, i);
		ck_assert_str_eq(json_object_get_string_member(c, "case"), cells[i][0]);
		ck_assert_str_eq(json_object_get_string_member(c, "verdict"), "PASS");
		ck_assert(
		    g_str_has_prefix(json_object_get_string_member(c, "results_dir"), *rerun));
	}
	assert_rendered(*rerun);
	return cases;
}

START_TEST(two_kernels_rendered_then_carried_over)
{
	g_autofree char *run = first_run(), *rerun = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonArray *cases;

	assert_rendered(run);
	/* Nothing changed: both cells carried over, no VM started. */
	cases = resume_from(run, parser, &rerun);
	for (guint i = 0; i < G_N_ELEMENTS(cells); i++) {
		JsonObject *c = json_array_get_object_element(cases, i);
		g_autofree char *dmesg =
		    g_build_filename(rerun, cells[i][0], "dump-dmesg.txt", NULL);
		ck_assert_str_eq(json_object_get_string_member(c, "resumed_from"), run);
		ck_assert(g_file_test(dmesg, G_FILE_TEST_IS_REGULAR));
	}
}
END_TEST

START_TEST(a_changed_cell_runs_again)
{
	g_autofree char *run = first_run(), *rerun = NULL;
	g_autofree char *verdict = g_build_filename(run, cells[1][0], "verdict.json", NULL);
	g_autoptr(JsonParser) parser = json_parser_new(), resumed = json_parser_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	JsonObject *v;
	JsonArray *cases;

	/* The second cell's scenario "changed": its recorded hash differs. */
	ck_assert(json_parser_load_from_file(parser, verdict, NULL));
	v = json_node_get_object(json_parser_get_root(parser));
	json_object_set_string_member(json_object_get_object_member(v, "inputs"), "scenario",
	                              "0000 changed");
	json_generator_set_root(gen, json_parser_get_root(parser));
	ck_assert(json_generator_to_file(gen, verdict, NULL));

	cases = resume_from(run, resumed, &rerun);
	for (guint i = 0; i < G_N_ELEMENTS(cells); i++) {
		JsonObject *c = json_array_get_object_element(cases, i);
		ck_assert_int_eq(json_object_has_member(c, "resumed_from"), i == 0);
		ck_assert_str_ne(json_object_get_string_member(
		                     json_object_get_object_member(c, "inputs"), "scenario"),
		                 "0000 changed");
	}
}
END_TEST

Suite *matrix_e2e_suite(void);
Suite *matrix_e2e_suite(void)
{
	Suite *s = suite_create("matrix_e2e");
	TCase *tc = tcase_create("smoke");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 1200);
	tcase_set_tags(tc, "e2e");
	tcase_add_test(tc, two_kernels_rendered_then_carried_over);
	suite_add_tcase(s, tc);
	tc = tcase_create("rerun");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 1200);
	tcase_set_tags(tc, "e2e slow");
	tcase_add_test(tc, a_changed_cell_runs_again);
	suite_add_tcase(s, tc);
	return s;
}
