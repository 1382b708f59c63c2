/* The reports: verdict.json's members, the run-level files (results.json,
 * junit.xml, results.tap, summary.md) each parsed back with a real parser
 * (json-glib, libxml2, libyaml for TAP's diagnostics), hostile guest text
 * in every one of them, NOT-RUN in every one, the exit status table, and
 * merging results folders (the API and `kdh report merge`). */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "report/report.h"
#include "run/run.h"
#include "scenario/scenario.h"
#include "support.h"
#include "util/util.h"

/* Everything a guest (or a forged results.json) can put in a string that
 * survives into a KdhResult: C0 controls, an escape sequence, markup of
 * every format, a CDATA end, quotes, YAML and TAP syntax, line breaks, C1
 * and Unicode line separators. */
static const char hostile[] = "evil \x01\x02 \x1b[31mred\x1b[0m ]]> <b>&amp; \"q\" 's' "
                              "# SKIP | pipe \\ back\n  ...\nnot ok 9 - forged\r\n\t"
                              "\x7f \xc2\x85 \xe2\x80\xa8 ---: [x] *y* end";

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-report-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

static KdhResult *result(const char *name, const char *scenario, const char *started)
{
	KdhResult *r = kdh_result_new(name);

	r->scenario_file = g_strdup(scenario);
	r->started_at = g_strdup(started);
	r->kdh_version = g_strdup(kdh_version());
	r->accel = g_strdup("tcg");
	r->kernel_ref = g_strdup("debian:default");
	r->kernel_release = g_strdup("6.1.0-56-amd64");
	r->asked.crashkernel = g_strdup("256M");
	kdh_result_add_phase(r, "boot", 10.5);
	kdh_result_add_phase(r, "crash", 2.25);
	return r;
}

/* One case of every verdict, over two scenario files; the FAIL carries
 * the hostile text in a reason and in its serial tail, beside guest bytes
 * made text the way kdh makes them (kdh_guest_text). */
static GPtrArray *sample(void)
{
	GPtrArray *rs = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_result_free);
	KdhResult *r;

	r = result("pass-1", "scenarios/alpha.ini", "2026-11-28T10:00:00.000Z");
	r->dump_format = g_strdup("kdump-compressed");
	kdh_result_check(r, "dump VMCOREINFO OSRELEASE=6.1.0-56-amd64");
	g_ptr_array_add(rs, r);

	r = result("fail-1", "scenarios/alpha.ini", "2026-11-28T10:01:00.000Z");
	kdh_result_enter_phase(r, "capture");
	kdh_result_fail(r, KDH_VERDICT_FAIL, "%s", hostile);
	kdh_result_fail(r, KDH_VERDICT_FAIL, "second reason");
	g_ptr_array_add(r->serial_tail, g_strdup(hostile));
	g_ptr_array_add(r->serial_tail, kdh_guest_text("bad \xff\xfe utf8 \x1b[2J", -1, 4096));
	g_ptr_array_add(rs, r);

	r = result("error-1", "dir/beta.ini", "2026-11-28T10:02:00.000Z");
	kdh_result_fail(r, KDH_VERDICT_ERROR, "libvirt: connection refused");
	g_ptr_array_add(rs, r);

	r = result("timeout-1", "dir/beta.ini", "2026-11-28T10:03:00.000Z");
	kdh_result_enter_phase(r, "boot");
	kdh_result_fail(r, KDH_VERDICT_TIMEOUT, "phase boot: no 'armed' marker within 20 s");
	g_ptr_array_add(rs, r);

	r = result("skip-1", "dir/beta.ini", "2026-11-28T10:04:00.000Z");
	kdh_result_fail(r, KDH_VERDICT_SKIP, "lkdtm is not in this kernel");
	g_ptr_array_add(rs, r);

	r = kdh_result_new("notrun-1");
	r->scenario_file = g_strdup("dir/beta.ini");
	kdh_result_fail(r, KDH_VERDICT_NOT_RUN, "interrupted by SIGINT");
	g_ptr_array_add(rs, r);
	return rs;
}

static const char *const sample_names[] = {"pass-1",    "fail-1", "error-1",
                                           "timeout-1", "skip-1", "notrun-1"};

static const KdhRunInfo sample_info = {
    .run_id = "20261128T100000Z-1",
    .kdh_version = "v1-test",
    .host = "ci-host",
    .accel = "tcg",
    .started_at = "2026-11-28T10:00:00.000Z",
    .ended_at = "2026-11-28T10:05:00.000Z",
    .wall_seconds = 300,
    .jobs = 2,
    .shard = "1/2",
    .interrupted_by = "SIGINT",
};

/* Writes the run-level reports of RS (INFO: NULL for sample_info) into the
 * new folder TMP/NAME and returns its path. */
static char *write_set(const char *name, const KdhRunInfo *info, GPtrArray *rs)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_build_filename(tmp, name, NULL);

	ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
	ck_assert_msg(kdh_report_write_run(info ? info : &sample_info, rs, dir, &error), "%s",
	              error ? error->message : "");
	return dir;
}

static char *read_in(const char *dir, const char *file)
{
	g_autofree char *path = g_build_filename(dir, file, NULL);
	char *text = NULL;

	ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "no %s", path);
	return text;
}

static JsonObject *load_json(JsonParser *parser, const char *dir, const char *file)
{
	g_autofree char *path = g_build_filename(dir, file, NULL);
	g_autoptr(GError) error = NULL;

	ck_assert_msg(json_parser_load_from_file(parser, path, &error), "%s: %s", path,
	              error ? error->message : "");
	ck_assert(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
	return json_node_get_object(json_parser_get_root(parser));
}

static JsonObject *case_at(JsonObject *doc, guint i)
{
	return json_array_get_object_element(json_object_get_array_member(doc, "cases"), i);
}

/* ---- KdhResult ---- */

START_TEST(verdict_names_round_trip)
{
	static const char *const names[] = {"PASS", "FAIL", "ERROR", "SKIP", "TIMEOUT", "NOT-RUN"};
	KdhVerdict v;

	ck_assert_uint_eq(G_N_ELEMENTS(names), KDH_VERDICT_COUNT);
	for (guint i = 0; i < KDH_VERDICT_COUNT; i++) {
		ck_assert_str_eq(kdh_verdict_name((KdhVerdict)i), names[i]);
		ck_assert(kdh_verdict_from_name(names[i], &v));
		ck_assert_int_eq(v, (KdhVerdict)i);
	}
	ck_assert(!kdh_verdict_from_name("pass", &v));
	ck_assert(!kdh_verdict_from_name("NOT_RUN", &v));
	ck_assert(!kdh_verdict_from_name(NULL, &v));
}
END_TEST

/* The first failure names the phase it happened in; later ones, in other
 * phases, change neither the verdict nor that phase; checks stay apart. */
START_TEST(first_failure_records_its_phase)
{
	g_autoptr(KdhResult) r = kdh_result_new("c");

	kdh_result_fail(r, KDH_VERDICT_PASS, "not a failure");
	ck_assert_ptr_null(r->failed_phase);
	kdh_result_enter_phase(r, "boot");
	kdh_result_check(r, "booted %s", "6.1");
	ck_assert_int_eq(r->verdict, KDH_VERDICT_PASS);
	kdh_result_enter_phase(r, "capture");
	kdh_result_fail(r, KDH_VERDICT_TIMEOUT, "no capture-start");
	kdh_result_enter_phase(r, "retrieve");
	kdh_result_fail(r, KDH_VERDICT_ERROR, "guestfs broke");
	ck_assert_int_eq(r->verdict, KDH_VERDICT_TIMEOUT);
	ck_assert_str_eq(r->failed_phase, "capture");
	ck_assert_uint_eq(r->reasons->len, 3);
	ck_assert_uint_eq(r->checks->len, 1);
	ck_assert_str_eq(g_ptr_array_index(r->checks, 0), "booted 6.1");
}
END_TEST

START_TEST(failure_before_any_phase_has_none)
{
	g_autoptr(KdhResult) r = kdh_result_new("c");

	kdh_result_fail(r, KDH_VERDICT_NOT_RUN, "interrupted by SIGTERM");
	ck_assert_int_eq(r->verdict, KDH_VERDICT_NOT_RUN);
	ck_assert_ptr_null(r->failed_phase);
}
END_TEST

/* verdict.json: the new members beside the old ones, what the case asked
 * for taken from its scenario by kdh_run_result_ask. */
START_TEST(verdict_json_has_what_was_asked)
{
	static const char text[] = "[scenario]\nname=asks\n[vm]\nmemory=2G\ncpus=2\n"
	                           "crashkernel=384M\n[capture]\ndump_level=17\ncompression=zlib\n"
	                           "[expect]\npanic=sysrq triggered crash\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("asks.ini", text, &error);
	g_autoptr(KdhResult) r = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *path = g_build_filename(tmp, "verdict.json", NULL);
	JsonObject *v, *asked;

	ck_assert_msg(cases, "%s", error ? error->message : "");
	r = result("asks", "asks.ini", "2026-11-28T10:00:00.123Z");
	kdh_run_result_ask(r, g_ptr_array_index(cases, 0));
	kdh_result_check(r, "dump verified: 12 pages");
	kdh_result_enter_phase(r, "verify");
	kdh_result_fail(r, KDH_VERDICT_FAIL, "the dump is incomplete");
	ck_assert(kdh_report_write_json(r, path, &error));

	v = load_json(parser, tmp, "verdict.json");
	asked = json_object_get_object_member(v, "asked");
	ck_assert_int_eq(json_object_get_int_member(asked, "memory"), 2LL << 30);
	ck_assert_int_eq(json_object_get_int_member(asked, "cpus"), 2);
	ck_assert_str_eq(json_object_get_string_member(asked, "crashkernel"), "384M");
	ck_assert_str_eq(json_object_get_string_member(asked, "trigger"), "sysrq");
	ck_assert_str_eq(json_object_get_string_member(asked, "collector"), "makedumpfile");
	ck_assert_int_eq(json_object_get_int_member(asked, "dump_level"), 17);
	ck_assert_str_eq(json_object_get_string_member(asked, "compression"), "zlib");
	ck_assert_str_eq(json_object_get_string_member(asked, "outcome"), "dump");
	ck_assert_str_eq(json_object_get_string_member(asked, "expect_panic"),
	                 "sysrq triggered crash");
	ck_assert_str_eq(json_object_get_string_member(asked, "image"), "mini");
	ck_assert_str_eq(json_object_get_string_member(v, "failed_phase"), "verify");
	ck_assert_str_eq(json_object_get_string_member(v, "started_at"),
	                 "2026-11-28T10:00:00.123Z");
	ck_assert_str_eq(json_object_get_string_member(v, "kdh_version"), kdh_version());
	ck_assert_str_eq(
	    json_array_get_string_element(json_object_get_array_member(v, "checks"), 0),
	    "dump verified: 12 pages");
	ck_assert_str_eq(
	    json_array_get_string_element(json_object_get_array_member(v, "reasons"), 0),
	    "the dump is incomplete");
	/* The members other readers already use are still there. */
	ck_assert_str_eq(json_object_get_string_member(v, "verdict"), "FAIL");
	ck_assert(json_object_has_member(v, "phases"));
	ck_assert(json_object_has_member(v, "serial_tail"));
	ck_assert(
	    json_object_has_member(json_object_get_object_member(v, "dump"), "pages_checked"));
}
END_TEST

/* An expected no-dump case asks for "no-dump" and no panic line; a result
 * nobody asked anything of says null, not 0. */
START_TEST(asked_no_dump_and_unrecorded)
{
	static const char text[] = "[scenario]\nname=nd\n[vm]\ncrashkernel=48M\n"
	                           "[expect]\noutcome=no-dump\n";
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("nd.ini", text, NULL);
	g_autoptr(KdhResult) r = kdh_result_new("nd");
	g_autoptr(KdhResult) empty = kdh_result_new("empty");
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonParser) parser2 = json_parser_new();
	g_autofree char *p1 = g_build_filename(tmp, "a.json", NULL);
	g_autofree char *p2 = g_build_filename(tmp, "b.json", NULL);
	JsonObject *asked;

	ck_assert_ptr_nonnull(cases);
	kdh_run_result_ask(r, g_ptr_array_index(cases, 0));
	ck_assert(kdh_report_write_json(r, p1, NULL));
	ck_assert(kdh_report_write_json(empty, p2, NULL));
	asked = json_object_get_object_member(load_json(parser, tmp, "a.json"), "asked");
	ck_assert_str_eq(json_object_get_string_member(asked, "outcome"), "no-dump");
	ck_assert(json_object_get_null_member(asked, "expect_panic"));
	asked = json_object_get_object_member(load_json(parser2, tmp, "b.json"), "asked");
	ck_assert(json_object_get_null_member(asked, "memory"));
	ck_assert(json_object_get_null_member(asked, "dump_level"));
	ck_assert(json_object_get_null_member(asked, "outcome"));
}
END_TEST

/* ---- exit status ---- */

START_TEST(exit_status_table)
{
	static const struct {
		guint pass, fail, error, skip, timeout, not_run;
		int status;
	} rows[] = {
	    {0, 0, 0, 0, 0, 0, 0}, {3, 0, 0, 0, 0, 0, 0}, {3, 0, 0, 2, 0, 0, 0},
	    {0, 0, 0, 2, 0, 0, 0}, {3, 1, 0, 0, 0, 0, 1}, {0, 1, 1, 0, 1, 1, 1},
	    {3, 0, 1, 0, 0, 0, 3}, {3, 0, 0, 0, 1, 0, 3}, {3, 0, 0, 1, 0, 1, 3},
	    {0, 0, 0, 0, 0, 1, 3},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(rows); i++) {
		KdhVerdictCounts c = {{0}};
		c.n[KDH_VERDICT_PASS] = rows[i].pass;
		c.n[KDH_VERDICT_FAIL] = rows[i].fail;
		c.n[KDH_VERDICT_ERROR] = rows[i].error;
		c.n[KDH_VERDICT_SKIP] = rows[i].skip;
		c.n[KDH_VERDICT_TIMEOUT] = rows[i].timeout;
		c.n[KDH_VERDICT_NOT_RUN] = rows[i].not_run;
		ck_assert_msg(kdh_report_exit_status(&c) == rows[i].status, "row %zu: %d, not %d",
		              i, kdh_report_exit_status(&c), rows[i].status);
	}
}
END_TEST

/* ---- results.json ---- */

/* Run metadata, counts, and each case exactly as its verdict.json. */
START_TEST(results_json_holds_every_verdict_json)
{
	g_autoptr(GPtrArray) rs = sample();
	g_autofree char *dir = write_set("run", NULL, rs);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *doc = load_json(parser, dir, "results.json");
	JsonObject *counts = json_object_get_object_member(doc, "counts");
	JsonArray *cases = json_object_get_array_member(doc, "cases");

	for (const char *const *f = kdh_report_files; *f; f++) {
		g_autofree char *path = g_build_filename(dir, *f, NULL);
		ck_assert_msg(g_file_test(path, G_FILE_TEST_IS_REGULAR), "no %s", path);
	}
	ck_assert_str_eq(json_object_get_string_member(doc, "run_id"), sample_info.run_id);
	ck_assert_str_eq(json_object_get_string_member(doc, "kdh_version"), "v1-test");
	ck_assert_str_eq(json_object_get_string_member(doc, "host"), "ci-host");
	ck_assert_str_eq(json_object_get_string_member(doc, "accel"), "tcg");
	ck_assert_str_eq(json_object_get_string_member(doc, "started_at"), sample_info.started_at);
	ck_assert_str_eq(json_object_get_string_member(doc, "ended_at"), sample_info.ended_at);
	ck_assert(json_object_get_double_member(doc, "wall_seconds") == 300);
	ck_assert_int_eq(json_object_get_int_member(doc, "jobs"), 2);
	ck_assert_str_eq(json_object_get_string_member(doc, "shard"), "1/2");
	ck_assert(json_object_get_null_member(doc, "filter"));
	ck_assert_str_eq(json_object_get_string_member(doc, "interrupted_by"), "SIGINT");
	ck_assert_uint_eq(json_array_get_length(json_object_get_array_member(doc, "merged_from")),
	                  0);
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++)
		ck_assert_int_eq(json_object_get_int_member(counts, kdh_verdict_name(v)), 1);
	ck_assert_int_eq(json_object_get_int_member(counts, "total"), 6);

	ck_assert_uint_eq(json_array_get_length(cases), rs->len);
	for (guint i = 0; i < rs->len; i++) {
		g_autofree char *name = g_strdup_printf("v%u.json", i);
		g_autofree char *path = g_build_filename(tmp, name, NULL);
		g_autoptr(JsonParser) one = json_parser_new();
		ck_assert(kdh_report_write_json(g_ptr_array_index(rs, i), path, NULL));
		load_json(one, tmp, name);
		ck_assert_msg(
		    json_node_equal(json_array_get_element(cases, i), json_parser_get_root(one)),
		    "case %u differs from its verdict.json", i);
	}
	/* The hostile reason is a JSON string, read back as written. */
	ck_assert_str_eq(json_array_get_string_element(
	                     json_object_get_array_member(case_at(doc, 1), "reasons"), 0),
	                 hostile);
}
END_TEST

/* ---- junit.xml ---- */

static xmlDocPtr load_xml(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "junit.xml", NULL);
	/* No recovery: anything not well-formed XML 1.0 fails to load. */
	xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);

	ck_assert_msg(doc, "%s is not well-formed XML", path);
	return doc;
}

static double xpath_number(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	double n;

	ck_assert_msg(o, "xpath %s", expr);
	n = xmlXPathCastToNumber(o);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return n;
}

static char *xpath_string(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	xmlChar *s;
	char *out;

	ck_assert_msg(o, "xpath %s", expr);
	s = xmlXPathCastToString(o);
	out = g_strdup((const char *)s);
	xmlFree(s);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return out;
}

#define assert_xpath_num(doc, expr, want)                                                          \
	ck_assert_msg(xpath_number(doc, expr) == (want), "%s = %g, not %g", expr,                  \
	              xpath_number(doc, expr), (double)(want))

#define assert_xpath_str(doc, expr, want)                                                          \
	do {                                                                                       \
		g_autofree char *got_ = xpath_string(doc, expr);                                   \
		ck_assert_msg(g_str_equal(got_, want), "%s = '%s', not '%s'", expr, got_, want);   \
	} while (0)

/* The shape CI systems read: a suite per scenario file, a testcase per
 * case with classname, name, time; failure, error, skipped by verdict. */
START_TEST(junit_has_the_ci_shape)
{
	g_autoptr(GPtrArray) rs = sample();
	g_autofree char *dir = write_set("run", NULL, rs);
	xmlDocPtr doc = load_xml(dir);

	assert_xpath_num(doc, "count(/testsuites)", 1);
	assert_xpath_num(doc, "/testsuites/@tests", 6);
	assert_xpath_num(doc, "/testsuites/@failures", 1);
	assert_xpath_num(doc, "/testsuites/@errors", 2);
	assert_xpath_num(doc, "/testsuites/@skipped", 2);
	assert_xpath_num(doc, "count(/testsuites/testsuite)", 2);
	assert_xpath_str(doc, "/testsuites/testsuite[1]/@name", "alpha");
	assert_xpath_str(doc, "/testsuites/testsuite[2]/@name", "beta");
	assert_xpath_num(doc, "/testsuites/testsuite[1]/@tests", 2);
	assert_xpath_num(doc, "/testsuites/testsuite[1]/@failures", 1);
	assert_xpath_num(doc, "/testsuites/testsuite[1]/@errors", 0);
	assert_xpath_num(doc, "/testsuites/testsuite[2]/@tests", 4);
	assert_xpath_num(doc, "/testsuites/testsuite[2]/@errors", 2);
	assert_xpath_num(doc, "/testsuites/testsuite[2]/@skipped", 2);
	assert_xpath_num(doc, "/testsuites/testsuite[1]/@time", 25.5);
	assert_xpath_str(doc, "/testsuites/testsuite[1]/@timestamp", "2026-11-28T10:00:00");
	assert_xpath_num(doc, "count(//testcase)", 6);
	for (gsize i = 0; i < G_N_ELEMENTS(sample_names); i++) {
		g_autofree char *expr =
		    g_strdup_printf("count(//testcase[@name='%s'])", sample_names[i]);
		assert_xpath_num(doc, expr, 1);
	}
	assert_xpath_str(doc, "//testcase[@name='pass-1']/@classname", "alpha");
	assert_xpath_str(doc, "//testcase[@name='error-1']/@classname", "beta");
	assert_xpath_num(doc, "//testcase[@name='pass-1']/@time", 12.75);
	assert_xpath_num(doc,
	                 "count(//testcase[@name='pass-1']/*[not(self::properties)]"
	                 "[not(self::system-out)])",
	                 0);
	assert_xpath_str(doc, "//testcase[@name='pass-1']/system-out",
	                 "dump VMCOREINFO OSRELEASE=6.1.0-56-amd64");
	assert_xpath_str(doc, "//testcase[@name='fail-1']/failure/@type", "FAIL");
	assert_xpath_str(doc, "//testcase[@name='error-1']/error/@type", "ERROR");
	assert_xpath_str(doc, "//testcase[@name='error-1']/error/@message",
	                 "libvirt: connection refused");
	assert_xpath_str(doc, "//testcase[@name='timeout-1']/error/@type", "TIMEOUT");
	assert_xpath_str(doc, "//testcase[@name='skip-1']/skipped/@message",
	                 "lkdtm is not in this kernel");
	assert_xpath_str(doc, "//testcase[@name='notrun-1']/skipped/@message",
	                 "not run: interrupted by SIGINT");
	assert_xpath_str(doc,
	                 "//testcase[@name='pass-1']/properties/property[@name='kernel.release']"
	                 "/@value",
	                 "6.1.0-56-amd64");
	assert_xpath_str(
	    doc, "//testcase[@name='pass-1']/properties/property[@name='accel']/@value", "tcg");
	assert_xpath_str(
	    doc, "//testcase[@name='pass-1']/properties/property[@name='dump.format']/@value",
	    "kdump-compressed");
	assert_xpath_str(
	    doc, "//testcase[@name='fail-1']/properties/property[@name='phase']/@value", "capture");
	assert_xpath_str(doc,
	                 "/testsuites/testsuite[1]/properties/property[@name='kdh.version']"
	                 "/@value",
	                 "v1-test");
	xmlFreeDoc(doc);
}
END_TEST

/* The hostile reason and serial tail: the file stays well-formed XML, the
 * characters XML 1.0 forbids are escaped as text, markup and "]]>" come
 * back as the characters they were. */
START_TEST(junit_survives_hostile_text)
{
	g_autoptr(GPtrArray) rs = sample();
	g_autofree char *dir = write_set("run", NULL, rs);
	g_autofree char *raw = read_in(dir, "junit.xml");
	xmlDocPtr doc = load_xml(dir);
	g_autofree char *message = xpath_string(doc, "//testcase[@name='fail-1']/failure/@message");
	g_autofree char *text = xpath_string(doc, "//testcase[@name='fail-1']/failure");

	for (const char *p = raw; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 || *p == '\n' || *p == '\t' || *p == '\r',
		              "junit.xml holds byte 0x%02x", (unsigned char)*p);
	ck_assert_msg(g_utf8_validate(raw, -1, NULL), "junit.xml is not UTF-8");
	ck_assert_msg(g_str_has_prefix(message, "evil \\x01\\x02 \\x1b[31mred\\x1b[0m ]]> "
	                                        "<b>&amp; \"q\" 's' # SKIP | pipe \\ back\n"),
	              "message: %s", message);
	ck_assert_ptr_nonnull(strstr(message, "\\x7f \\x85 \\u2028"));
	/* All reasons, then the serial tail, with kdh_guest_text's repairs. */
	ck_assert_ptr_nonnull(strstr(text, "second reason"));
	ck_assert_ptr_nonnull(strstr(text, "phase: capture"));
	ck_assert_ptr_nonnull(strstr(text, "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \\x1b[2J"));
	ck_assert_ptr_nonnull(strstr(text, "not ok 9 - forged\r\n\t"));
	xmlFreeDoc(doc);
}
END_TEST

/* ---- results.tap ---- */

/* The YAML block of TEXT's lines [FROM, TO) as libyaml reads it: a mapping
 * of scalars and sequences of scalars, into KEY -> value ("a\x1fb" for a
 * sequence). */
static GHashTable *yaml_block(char **lines, guint from, guint to)
{
	g_autoptr(GString) text = g_string_new(NULL);
	GHashTable *map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;

	for (guint i = from; i < to; i++)
		g_string_append_printf(text, "%s\n", lines[i]);
	ck_assert(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text->str, text->len);
	ck_assert_msg(yaml_parser_load(&parser, &doc), "YAML error: %s\n%s", parser.problem,
	              text->str);
	root = yaml_document_get_root_node(&doc);
	ck_assert_msg(root && root->type == YAML_MAPPING_NODE, "not a mapping:\n%s", text->str);
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&doc, p->value);
		GString *value = g_string_new(NULL);

		ck_assert_int_eq(k->type, YAML_SCALAR_NODE);
		if (v->type == YAML_SCALAR_NODE) {
			g_string_append_len(value, (const char *)v->data.scalar.value,
			                    v->data.scalar.length);
		} else {
			ck_assert_int_eq(v->type, YAML_SEQUENCE_NODE);
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				yaml_node_t *e = yaml_document_get_node(&doc, *it);
				ck_assert_int_eq(e->type, YAML_SCALAR_NODE);
				if (it != v->data.sequence.items.start)
					g_string_append_c(value, '\x1f');
				g_string_append_len(value, (const char *)e->data.scalar.value,
				                    e->data.scalar.length);
			}
		}
		g_hash_table_insert(map, g_strdup((const char *)k->data.scalar.value),
		                    g_string_free(value, FALSE));
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return map;
}

/* TAP 14 read line by line: version, plan = cases, one test point per
 * case in order, ok/not ok by verdict, SKIP directives, and a YAML block
 * after each whose values a YAML parser reads back exactly, hostile text
 * included. */
START_TEST(tap_reads_back)
{
	g_autoptr(GPtrArray) rs = sample();
	g_autofree char *dir = write_set("run", NULL, rs);
	g_autofree char *text = read_in(dir, "results.tap");
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	static const char *const points[] = {
	    "ok 1 - pass-1",
	    "not ok 2 - fail-1",
	    "not ok 3 - error-1",
	    "not ok 4 - timeout-1",
	    "ok 5 - skip-1 # SKIP lkdtm is not in this kernel",
	    "ok 6 - notrun-1 # SKIP not run: interrupted by SIGINT",
	};
	guint n = 0, i = 2;

	ck_assert_str_eq(lines[0], "TAP version 14");
	ck_assert_str_eq(lines[1], "1..6");
	while (lines[i] && lines[i][0]) {
		guint start;
		g_autoptr(GHashTable) yaml = NULL;

		ck_assert_uint_lt(n, G_N_ELEMENTS(points));
		ck_assert_str_eq(lines[i], points[n]);
		ck_assert_str_eq(lines[++i], "  ---");
		start = ++i;
		while (lines[i] && !g_str_equal(lines[i], "  ...")) {
			ck_assert_msg(g_str_has_prefix(lines[i], "  "), "line %u not indented: %s",
			              i, lines[i]);
			i++;
		}
		ck_assert_ptr_nonnull(lines[i]);
		yaml = yaml_block(lines, start, i++);
		ck_assert_str_eq(
		    g_hash_table_lookup(yaml, "verdict"),
		    kdh_verdict_name(((KdhResult *)g_ptr_array_index(rs, n))->verdict));
		if (n == 1) {
			g_autofree char *want = g_strconcat(hostile,
			                                    "\x1f"
			                                    "second reason",
			                                    NULL);
			ck_assert_str_eq(g_hash_table_lookup(yaml, "reasons"), want);
			ck_assert_str_eq(g_hash_table_lookup(yaml, "phase"), "capture");
			ck_assert_str_eq(g_hash_table_lookup(yaml, "total_seconds"), "12.750");
		}
		if (n == 0)
			ck_assert_str_eq(g_hash_table_lookup(yaml, "checks"),
			                 "dump VMCOREINFO OSRELEASE=6.1.0-56-amd64");
		n++;
	}
	ck_assert_uint_eq(n, G_N_ELEMENTS(points));
	ck_assert_ptr_null(lines[i + 1]);
}
END_TEST

/* A case name and a SKIP reason with '#', '\' and a line break cannot
 * forge a directive or a test point. */
START_TEST(tap_escapes_the_test_point_line)
{
	g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_result_free);
	KdhResult *r = kdh_result_new("a#b\\c");
	g_autofree char *dir = NULL, *text = NULL;

	kdh_result_fail(r, KDH_VERDICT_SKIP, "needs # lkdtm\nok 2 - forged");
	g_ptr_array_add(rs, r);
	dir = write_set("run", NULL, rs);
	text = read_in(dir, "results.tap");
	ck_assert_ptr_nonnull(
	    strstr(text, "\nok 1 - a\\#b\\\\c # SKIP needs \\# lkdtm\\x0aok 2 - forged\n"));
	ck_assert_ptr_null(strstr(text, "\nok 2"));
}
END_TEST

/* ---- summary.md ---- */

/* The cells of a Markdown table row: split at '|' not escaped by '\'. */
static GPtrArray *md_cells(const char *row)
{
	GPtrArray *cells = g_ptr_array_new_with_free_func(g_free);
	GString *cell = NULL;

	ck_assert_msg(row[0] == '|', "not a row: %s", row);
	for (const char *p = row + 1; *p; p++) {
		if (!cell)
			cell = g_string_new(NULL);
		if (*p == '\\' && p[1]) {
			g_string_append_c(cell, *p++);
			g_string_append_c(cell, *p);
		} else if (*p == '|') {
			g_ptr_array_add(cells, g_strdup(g_strstrip(cell->str)));
			g_string_free(cell, TRUE);
			cell = NULL;
		} else {
			g_string_append_c(cell, *p);
		}
	}
	ck_assert_msg(!cell || !*g_strstrip(cell->str), "text after the last '|': %s", row);
	if (cell)
		g_string_free(cell, TRUE);
	return cells;
}

START_TEST(summary_is_one_row_per_case)
{
	g_autoptr(GPtrArray) rs = sample();
	g_autofree char *dir = write_set("run", NULL, rs);
	g_autofree char *text = read_in(dir, "summary.md");
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint rows = 0;

	ck_assert_msg(strstr(text, "**6 cases**: 1 PASS, 1 FAIL, 1 ERROR, 1 SKIP, 1 TIMEOUT, "
	                           "1 NOT-RUN in 5m 00s wall time"),
	              "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "Interrupted by SIGINT"));
	for (char **l = lines; *l; l++) {
		g_autoptr(GPtrArray) cells = NULL;
		if ((*l)[0] != '|')
			continue;
		cells = md_cells(*l);
		ck_assert_msg(cells->len == 6, "%u cells: %s", cells->len, *l);
		if (rows >= 2) {
			const KdhResult *r = g_ptr_array_index(rs, rows - 2);
			g_autofree char *verdict = g_strdup(g_ptr_array_index(cells, 1));
			ck_assert_str_eq(g_ptr_array_index(cells, 0), r->case_name);
			/* Bold or not, the verdict's name. */
			g_strdelimit(verdict, "*", ' ');
			ck_assert_str_eq(g_strstrip(verdict), kdh_verdict_name(r->verdict));
		}
		rows++;
	}
	ck_assert_uint_eq(rows, 2 + rs->len);
	/* The hostile first reason: one cell, escaped, cut. */
	ck_assert_ptr_nonnull(strstr(text, "\\x01\\x02 \\x1b\\[31mred\\x1b\\[0m \\]\\]\\> "
	                                   "\\<b\\>\\&amp; \"q\" 's' \\# SKIP \\| pipe \\\\ back"));
	ck_assert_ptr_nonnull(strstr(text, "| 6.1.0-56-amd64 | 256M | 12.8 s |"));
	ck_assert_ptr_nonnull(strstr(text, "| notrun-1 | **NOT-RUN** |"));
}
END_TEST

START_TEST(summary_bounds_the_reason)
{
	g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_result_free);
	KdhResult *r = kdh_result_new("long");
	g_autofree char *reason = g_strnfill(5000, 'x');
	g_autofree char *dir = NULL, *text = NULL;

	kdh_result_fail(r, KDH_VERDICT_FAIL, "%s", reason);
	g_ptr_array_add(rs, r);
	dir = write_set("run", NULL, rs);
	text = read_in(dir, "summary.md");
	ck_assert_ptr_null(strstr(text, reason + 4000));
	ck_assert_ptr_nonnull(strstr(text, "xxx\xe2\x80\xa6 |"));
}
END_TEST

/* No case at all: every report still well-formed. */
START_TEST(empty_run_writes_every_report)
{
	g_autoptr(GPtrArray) rs = g_ptr_array_new();
	g_autofree char *dir = write_set("run", NULL, rs);
	g_autofree char *tap = read_in(dir, "results.tap");
	g_autoptr(JsonParser) parser = json_parser_new();
	xmlDocPtr doc = load_xml(dir);

	assert_xpath_num(doc, "/testsuites/@tests", 0);
	xmlFreeDoc(doc);
	ck_assert_str_eq(tap, "TAP version 14\n1..0\n");
	ck_assert_uint_eq(json_array_get_length(json_object_get_array_member(
	                      load_json(parser, dir, "results.json"), "cases")),
	                  0);
}
END_TEST

START_TEST(unwritable_folder_is_named)
{
	g_autoptr(GPtrArray) rs = sample();
	g_autofree char *dir = g_build_filename(tmp, "missing", "deeper", NULL);
	g_autoptr(GError) error = NULL;

	ck_assert(!kdh_report_write_run(&sample_info, rs, dir, &error));
	ck_assert(g_error_matches(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_WRITE));
	ck_assert_msg(strstr(error->message, dir) && strstr(error->message, "results.json"), "%s",
	              error->message);
}
END_TEST

/* ---- merge ---- */

/* Two result sets, A (cases 0-2 of the sample) and B (3-5). */
static void write_two_sets(char **a, char **b)
{
	g_autoptr(GPtrArray) rs = sample();
	g_autoptr(GPtrArray) first = g_ptr_array_new();
	g_autoptr(GPtrArray) second = g_ptr_array_new();
	KdhRunInfo ia = sample_info, ib = sample_info;

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
	*a = write_set("a", &ia, first);
	*b = write_set("b", &ib, second);
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
	g_autoptr(GPtrArray) rs = sample();
	g_autoptr(JsonParser) pm = json_parser_new();
	g_autoptr(JsonParser) pw = json_parser_new();
	g_autoptr(GError) error = NULL;
	KdhVerdictCounts counts;
	JsonObject *merged, *unsharded;
	JsonArray *from;
	xmlDocPtr doc;

	write_two_sets(&a, &b);
	whole = write_set("whole", NULL, rs);
	ck_assert_msg(merge((const char *[]){a, b, NULL}, out, FALSE, &counts, &error), "%s",
	              error ? error->message : "");
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++)
		ck_assert_uint_eq(counts.n[v], 1);
	merged = load_json(pm, out, "results.json");
	unsharded = load_json(pw, whole, "results.json");
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

	doc = load_xml(out);
	assert_xpath_num(doc, "count(//testcase)", 6);
	assert_xpath_num(doc, "/testsuites/@failures", 1);
	for (gsize i = 0; i < G_N_ELEMENTS(sample_names); i++) {
		g_autofree char *expr =
		    g_strdup_printf("count(//testcase[@name='%s'])", sample_names[i]);
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
	from = json_object_get_array_member(load_json(parser, m2, "results.json"), "merged_from");
	ck_assert_uint_eq(json_array_get_length(from), 2);
	ck_assert_str_eq(json_array_get_string_element(from, 0), "run-a");
	ck_assert_str_eq(json_array_get_string_element(from, 1), "run-b");
}
END_TEST

/* The same case in two folders, the second started later and failed. */
static void write_rerun(char **a, char **rerun)
{
	g_autoptr(GPtrArray) first = sample();
	g_autoptr(GPtrArray) again =
	    g_ptr_array_new_with_free_func((GDestroyNotify)kdh_result_free);
	KdhResult *r = result("pass-1", "scenarios/alpha.ini", "2026-11-28T11:00:00.000Z");
	KdhRunInfo info = sample_info;

	kdh_result_fail(r, KDH_VERDICT_FAIL, "failed the second time");
	g_ptr_array_add(again, r);
	*a = write_set("a", NULL, first);
	info.run_id = "rerun";
	*rerun = write_set("rerun", &info, again);
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
		cases =
		    json_object_get_array_member(load_json(parser, out, "results.json"), "cases");
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
	before = read_in(b, "results.json");
	ck_assert(!merge((const char *[]){a, b, NULL}, same, FALSE, NULL, &error));
	ck_assert(g_error_matches(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_USAGE));
	after = read_in(b, "results.json");
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
	g_autoptr(GPtrArray) rs = sample();
	g_autofree char *dir = write_set("run", NULL, rs);
	g_autofree char *file = g_build_filename(dir, "results.json", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *text = NULL;
	JsonObject *doc = load_json(parser, dir, "results.json");
	JsonObject *o = g_str_has_prefix(broken[_i].member, "case.") ? case_at(doc, 0) : doc;
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
	KdhResult *skipped = result("skip-1", "s.ini", NULL);

	kdh_result_fail(skipped, KDH_VERDICT_SKIP, "no lkdtm");
	g_ptr_array_add(rs, result("pass-1", "s.ini", NULL));
	g_ptr_array_add(rs, skipped);
	dir = write_set("run", NULL, rs);
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

/* started_at's form: UTC, milliseconds, readable back as ISO 8601. */
START_TEST(timestamps_are_iso8601_utc)
{
	g_autofree char *now = kdh_timestamp_now();
	g_autoptr(GDateTime) t = g_date_time_new_from_iso8601(now, NULL);

	ck_assert_msg(t, "%s", now);
	ck_assert_uint_eq(strlen(now), strlen("2026-11-28T10:36:56.123Z"));
	ck_assert(g_str_has_suffix(now, "Z"));
}
END_TEST

/* The binary and this test are built from one tree by one make. */
START_TEST(cli_version)
{
	const char *args[] = {"--version", NULL};
	g_autofree char *out = NULL;
	g_autofree char *want = g_strdup_printf("kdh %s\n", kdh_version());

	ck_assert_int_eq(kdh_test_run_output(args, &out, NULL), 0);
	ck_assert_str_eq(out, want);
	ck_assert_str_ne(kdh_version(), "");
}
END_TEST

Suite *report_suite(void);
Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, verdict_names_round_trip);
	tcase_add_test(tc, first_failure_records_its_phase);
	tcase_add_test(tc, failure_before_any_phase_has_none);
	tcase_add_test(tc, verdict_json_has_what_was_asked);
	tcase_add_test(tc, asked_no_dump_and_unrecorded);
	tcase_add_test(tc, exit_status_table);
	tcase_add_test(tc, results_json_holds_every_verdict_json);
	tcase_add_test(tc, junit_has_the_ci_shape);
	tcase_add_test(tc, junit_survives_hostile_text);
	tcase_add_test(tc, tap_reads_back);
	tcase_add_test(tc, tap_escapes_the_test_point_line);
	tcase_add_test(tc, summary_is_one_row_per_case);
	tcase_add_test(tc, summary_bounds_the_reason);
	tcase_add_test(tc, empty_run_writes_every_report);
	tcase_add_test(tc, unwritable_folder_is_named);
	tcase_add_test(tc, merge_is_the_union);
	tcase_add_test(tc, merge_of_merges_lists_the_runs);
	tcase_add_test(tc, merge_refuses_a_duplicate);
	tcase_add_test(tc, merge_latest_keeps_the_later_start);
	tcase_add_test(tc, merge_refuses_its_input_as_output);
	tcase_add_loop_test(tc, merge_names_the_broken_member, 0, G_N_ELEMENTS(broken));
	tcase_add_loop_test(tc, merge_refuses_what_is_not_results, 0, G_N_ELEMENTS(not_results));
	tcase_add_test(tc, merge_refuses_deep_nesting);
	tcase_add_test(tc, merge_refuses_a_huge_file);
	tcase_add_test(tc, merge_refuses_special_files);
	tcase_add_test(tc, cli_merge_gates_on_the_merged_cases);
	tcase_add_test(tc, cli_merge_all_passed_is_0);
	tcase_add_test(tc, cli_merge_bad_input_is_2);
	tcase_add_test(tc, timestamps_are_iso8601_utc);
	tcase_add_test(tc, cli_version);
	suite_add_tcase(s, tc);
	return s;
}
