/* A sample of results and readers of reports, for the report suites
 * (test_report.c, test_report_merge.c). */
#include "report_sample.h"

#include <check.h>
#include <libxml/xpath.h>

#include "util/util.h"

/* Everything a guest (or a forged results.json) can put in a string that
 * survives into a KdhResult: C0 controls, an escape sequence, markup of
 * every format, a CDATA end, quotes, YAML and TAP syntax, line breaks, C1
 * and Unicode line separators. */
const char kdh_test_hostile[] = "evil \x01\x02 \x1b[31mred\x1b[0m ]]> <b>&amp; \"q\" 's' "
                                "# SKIP | pipe \\ back\n  ...\nnot ok 9 - forged\r\n\t"
                                "\x7f \xc2\x85 \xe2\x80\xa8 ---: [x] *y* end";

KdhResult *kdh_test_result(const char *name, const char *scenario, const char *started)
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

/* The FAIL carries kdh_test_hostile in a reason and in its serial tail,
 * beside guest bytes made text the way kdh makes them (kdh_guest_text). */
GPtrArray *kdh_test_sample(void)
{
	GPtrArray *rs = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_result_free);
	KdhResult *r;

	r = kdh_test_result("pass-1", "scenarios/alpha.ini", "2026-11-28T10:00:00.000Z");
	r->dump_format = g_strdup("kdump-compressed");
	kdh_result_check(r, "dump VMCOREINFO OSRELEASE=6.1.0-56-amd64");
	kdh_result_warn(r, "serial.log line 741: makedumpfile: The kernel version is not "
	                   "supported. The makedumpfile operation may be incomplete.");
	kdh_result_warn(r, "serial.log line 9: %s", kdh_test_hostile);
	g_ptr_array_add(rs, r);

	r = kdh_test_result("fail-1", "scenarios/alpha.ini", "2026-11-28T10:01:00.000Z");
	kdh_result_enter_phase(r, "capture");
	kdh_result_fail(r, KDH_VERDICT_FAIL, "%s", kdh_test_hostile);
	kdh_result_fail(r, KDH_VERDICT_FAIL, "second reason");
	g_ptr_array_add(r->serial_tail, g_strdup(kdh_test_hostile));
	g_ptr_array_add(r->serial_tail, kdh_guest_text("bad \xff\xfe utf8 \x1b[2J", -1, 4096));
	g_ptr_array_add(rs, r);

	r = kdh_test_result("error-1", "dir/beta.ini", "2026-11-28T10:02:00.000Z");
	kdh_result_fail(r, KDH_VERDICT_ERROR, "libvirt: connection refused");
	g_ptr_array_add(rs, r);

	r = kdh_test_result("timeout-1", "dir/beta.ini", "2026-11-28T10:03:00.000Z");
	kdh_result_enter_phase(r, "boot");
	kdh_result_fail(r, KDH_VERDICT_TIMEOUT, "phase boot: no 'armed' marker within 20 s");
	g_ptr_array_add(rs, r);

	r = kdh_test_result("skip-1", "dir/beta.ini", "2026-11-28T10:04:00.000Z");
	kdh_result_fail(r, KDH_VERDICT_SKIP, "lkdtm is not in this kernel");
	g_ptr_array_add(rs, r);

	r = kdh_result_new("notrun-1");
	r->scenario_file = g_strdup("dir/beta.ini");
	kdh_result_fail(r, KDH_VERDICT_NOT_RUN, "interrupted by SIGINT");
	g_ptr_array_add(rs, r);
	return rs;
}

const char *const kdh_test_sample_names[KDH_TEST_SAMPLE_CASES] = {
    "pass-1", "fail-1", "error-1", "timeout-1", "skip-1", "notrun-1"};

const KdhRunInfo kdh_test_sample_info = {
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

/* Writes the run-level reports of RS (INFO: NULL for kdh_test_sample_info) into the
 * new folder PARENT/NAME and returns its path. */
char *kdh_test_write_set(const char *parent, const char *name, const KdhRunInfo *info,
                         GPtrArray *rs)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_build_filename(parent, name, NULL);

	ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
	ck_assert_msg(kdh_report_write_run(info ? info : &kdh_test_sample_info, rs, dir, &error),
	              "%s", error ? error->message : "");
	return dir;
}

char *kdh_test_read_file(const char *dir, const char *file)
{
	g_autofree char *path = g_build_filename(dir, file, NULL);
	char *text = NULL;

	ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "no %s", path);
	return text;
}

JsonObject *kdh_test_load_json(JsonParser *parser, const char *dir, const char *file)
{
	g_autofree char *path = g_build_filename(dir, file, NULL);
	g_autoptr(GError) error = NULL;

	ck_assert_msg(json_parser_load_from_file(parser, path, &error), "%s: %s", path,
	              error ? error->message : "");
	ck_assert(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
	return json_node_get_object(json_parser_get_root(parser));
}

JsonObject *kdh_test_case_at(JsonObject *doc, guint i)
{
	return json_array_get_object_element(json_object_get_array_member(doc, "cases"), i);
}

xmlDocPtr kdh_test_load_junit(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "junit.xml", NULL);
	/* No recovery: anything not well-formed XML 1.0 fails to load. */
	xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);

	ck_assert_msg(doc, "%s is not well-formed XML", path);
	return doc;
}

double kdh_test_xpath_number(xmlDocPtr doc, const char *expr)
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

char *kdh_test_xpath_string(xmlDocPtr doc, const char *expr)
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
