/* report.html and the matrix grid: the page as headless Chromium renders it
 * (cells coloured by verdict, links to each case's files, hostile text shown
 * as text and never as markup), the same page read by libxml2's HTML parser,
 * and the kernel x scenario table of summary.md. */
#include <check.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <libxml/HTMLparser.h>
#include <string.h>

#include "browser.h"
#include "report/report.h"
#include "report_sample.h"
#include "util/util.h"

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-html-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

/* The sample (a case of every verdict, the FAIL's reason hostile) laid out
 * as a matrix of two kernels x three scenarios, one column named by hostile
 * text (a forged results.json may hold anything a type check lets by). */
static GPtrArray *matrix_sample(void)
{
	GPtrArray *rs = kdh_test_sample();

	for (guint i = 0; i < rs->len; i++) {
		KdhResult *r = g_ptr_array_index(rs, i);
		r->matrix_kernel = g_strdup(i < 3 ? "k-one" : "k-two");
		r->matrix_scenario = g_strdup(i % 3 == 2 ? kdh_test_hostile
		                              : i % 3    ? "nmi"
		                                         : "sysrq");
		r->dump_dmesg_file = g_strdup("dump-dmesg.txt");
	}
	return rs;
}

static JsonArray *array_of(JsonObject *o, const char *name)
{
	ck_assert_msg(json_object_has_member(o, name), "no %s", name);
	return json_object_get_array_member(o, name);
}

START_TEST(chromium_renders_the_grid_coloured_by_verdict)
{
	g_autoptr(GPtrArray) rs = matrix_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *html = g_build_filename(dir, "report.html", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *page = kdh_test_browser_render(html, parser);
	JsonArray *rows = array_of(page, "matrix");

	/* Nothing active: the hostile text's "<b>" stayed text. */
	ck_assert_int_eq(json_object_get_int_member(page, "active"), 0);
	ck_assert_uint_eq(json_array_get_length(rows), 2);
	for (guint row = 0; row < 2; row++) {
		JsonObject *tr = json_array_get_object_element(rows, row);
		JsonArray *cells = array_of(tr, "cells");

		ck_assert_str_eq(json_object_get_string_member(tr, "kernel"),
		                 row ? "k-two" : "k-one");
		ck_assert_uint_eq(json_array_get_length(cells), 3);
		for (guint col = 0; col < 3; col++) {
			const KdhResult *r = g_ptr_array_index(rs, row * 3 + col);
			const char *verdict = kdh_verdict_name(r->verdict);
			JsonObject *td = json_array_get_object_element(cells, col);
			JsonArray *links = array_of(td, "links");
			g_autofree char *href = g_strdup_printf("%s/verdict.json", r->case_name);

			ck_assert_str_eq(json_object_get_string_member(td, "verdict"), verdict);
			ck_assert_str_eq(json_object_get_string_member(td, "background"),
			                 kdh_test_verdict_colour(verdict));
			ck_assert(
			    g_str_has_prefix(json_object_get_string_member(td, "text"), verdict));
			ck_assert_uint_eq(json_array_get_length(links), 3);
			ck_assert_str_eq(json_array_get_string_element(links, 0), href);
			ck_assert(g_str_has_suffix(json_array_get_string_element(links, 2),
			                           "/dump-dmesg.txt"));
		}
	}
}
END_TEST

START_TEST(chromium_shows_hostile_text_as_text)
{
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *html = g_build_filename(dir, "report.html", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *page = kdh_test_browser_render(html, parser);
	JsonArray *cases = array_of(page, "cases");
	gboolean seen = FALSE;

	ck_assert_int_eq(json_object_get_int_member(page, "active"), 0);
	/* No matrix cell in a plain run: no grid. */
	ck_assert_uint_eq(json_array_get_length(array_of(page, "matrix")), 0);
	ck_assert_uint_eq(json_array_get_length(cases), rs->len);
	for (guint i = 0; i < rs->len; i++) {
		const KdhResult *r = g_ptr_array_index(rs, i);
		JsonObject *row = json_array_get_object_element(cases, i);
		const char *reason = json_object_get_string_member(row, "reason");

		ck_assert_str_eq(json_object_get_string_member(row, "case"), r->case_name);
		ck_assert_str_eq(json_object_get_string_member(row, "background"),
		                 kdh_test_verdict_colour(kdh_verdict_name(r->verdict)));
		/* The markup of the hostile reason is on the screen as characters. */
		if (strstr(reason, "<b>&amp; \"q\""))
			seen = TRUE;
	}
	ck_assert_msg(seen, "the hostile reason is not shown as text");
}
END_TEST

/* libxml2's own HTML parser reads the page strictly: the grid's shape and
 * the escaping without a browser. */
START_TEST(libxml2_reads_the_grid)
{
	g_autoptr(GPtrArray) rs = matrix_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *text = kdh_test_read_file(dir, "report.html");
	htmlDocPtr doc =
	    htmlReadMemory(text, (int)strlen(text), "report.html", "UTF-8", HTML_PARSE_NONET);

	ck_assert_ptr_nonnull(doc);
	ck_assert(g_str_has_prefix(text, "<!DOCTYPE html>"));
	assert_xpath_num(doc, "count(//table[@id='matrix']/tbody/tr)", 2);
	assert_xpath_num(doc, "count(//table[@id='matrix']/thead/tr/th)", 4);
	assert_xpath_num(doc, "count(//table[@id='cases']/tbody/tr)", 6);
	assert_xpath_num(doc, "count(//script|//img|//b)", 0);
	assert_xpath_str(doc, "string(//table[@id='matrix']/tbody/tr[1]/td[1]/@data-verdict)",
	                 kdh_verdict_name(((KdhResult *)g_ptr_array_index(rs, 0))->verdict));
	/* Not one byte of the page comes from a network. */
	assert_xpath_num(doc, "count(//*[@src]|//link)", 0);
	ck_assert_ptr_null(strstr(text, "http"));
	xmlFreeDoc(doc);
}
END_TEST

START_TEST(summary_md_has_the_grid)
{
	g_autoptr(GPtrArray) rs = matrix_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *md = kdh_test_read_file(dir, "summary.md");
	g_auto(GStrv) lines = g_strsplit(md, "\n", -1);
	guint grid = 0;

	ck_assert_ptr_nonnull(strstr(md, "## Kernels × scenarios\n\n| Kernel | sysrq | nmi | "));
	for (char **l = lines; *l; l++) {
		if (g_str_has_prefix(*l, "| k-one") || g_str_has_prefix(*l, "| k-two")) {
			grid++;
			/* One cell per scenario: three, whatever the hostile header. */
			g_auto(GStrv) cells = g_strsplit(*l, " |", -1);
			ck_assert_uint_eq(g_strv_length(cells) - 1, 4);
		}
	}
	ck_assert_uint_eq(grid, 2);
	ck_assert_ptr_nonnull(strstr(md, "| k-one (6.1.0-56-amd64) | PASS | **FAIL** |"));
}
END_TEST

Suite *report_html_suite(void);
Suite *report_html_suite(void)
{
	Suite *s = suite_create("report_html");
	TCase *tc = tcase_create("html");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, chromium_renders_the_grid_coloured_by_verdict);
	tcase_add_test(tc, chromium_shows_hostile_text_as_text);
	tcase_add_test(tc, libxml2_reads_the_grid);
	tcase_add_test(tc, summary_md_has_the_grid);
	suite_add_tcase(s, tc);
	return s;
}
