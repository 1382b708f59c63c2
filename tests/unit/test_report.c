/* The reports: verdict.json's members, the run-level files (results.json,
 * junit.xml, results.tap, summary.md) each parsed back with a real parser
 * (json-glib, libxml2, libyaml for TAP's diagnostics), hostile guest text
 * in every one of them, NOT-RUN in every one, the exit status table.
 * Merging is test_report_merge.c's. */
#include <check.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <yaml.h>

#include "report/report.h"
#include "report_sample.h"
#include "run/run.h"
#include "scenario/scenario.h"
#include "support.h"
#include "util/util.h"

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
	r = kdh_test_result("asks", "asks.ini", "2026-11-28T10:00:00.123Z");
	kdh_run_result_ask(r, g_ptr_array_index(cases, 0));
	kdh_result_check(r, "dump verified: 12 pages");
	kdh_result_enter_phase(r, "verify");
	kdh_result_fail(r, KDH_VERDICT_FAIL, "the dump is incomplete");
	ck_assert(kdh_report_write_json(r, path, &error));

	v = kdh_test_load_json(parser, tmp, "verdict.json");
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

/* An expected no-dump case asks for "no-dump", its reason and no panic
 * line or function; a result nobody asked anything of says null, not 0. */
START_TEST(asked_no_dump_and_unrecorded)
{
	static const char text[] = "[scenario]\nname=nd\n[vm]\ncrashkernel=48M\n"
	                           "[expect]\noutcome=no-dump\nreason=kexec-load-failed\n";
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
	asked = json_object_get_object_member(kdh_test_load_json(parser, tmp, "a.json"), "asked");
	ck_assert_str_eq(json_object_get_string_member(asked, "outcome"), "no-dump");
	ck_assert(json_object_get_null_member(asked, "expect_panic"));
	ck_assert(json_object_get_null_member(asked, "expect_function"));
	ck_assert_str_eq(json_object_get_string_member(asked, "expect_reason"),
	                 "kexec-load-failed");
	ck_assert_str_eq(json_object_get_string_member(asked, "verify_crash"), "auto");
	ck_assert(json_object_get_null_member(asked, "cpu"));
	asked = json_object_get_object_member(kdh_test_load_json(parser2, tmp, "b.json"), "asked");
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
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *doc = kdh_test_load_json(parser, dir, "results.json");
	JsonObject *counts = json_object_get_object_member(doc, "counts");
	JsonArray *cases = json_object_get_array_member(doc, "cases");

	for (const char *const *f = kdh_report_files; *f; f++) {
		g_autofree char *path = g_build_filename(dir, *f, NULL);
		ck_assert_msg(g_file_test(path, G_FILE_TEST_IS_REGULAR), "no %s", path);
	}
	ck_assert_str_eq(json_object_get_string_member(doc, "run_id"), kdh_test_sample_info.run_id);
	ck_assert_str_eq(json_object_get_string_member(doc, "kdh_version"), "v1-test");
	ck_assert_str_eq(json_object_get_string_member(doc, "host"), "ci-host");
	ck_assert_str_eq(json_object_get_string_member(doc, "accel"), "tcg");
	ck_assert_str_eq(json_object_get_string_member(doc, "started_at"),
	                 kdh_test_sample_info.started_at);
	ck_assert_str_eq(json_object_get_string_member(doc, "ended_at"),
	                 kdh_test_sample_info.ended_at);
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
		kdh_test_load_json(one, tmp, name);
		ck_assert_msg(
		    json_node_equal(json_array_get_element(cases, i), json_parser_get_root(one)),
		    "case %u differs from its verdict.json", i);
	}
	/* The kdh_test_hostile reason is a JSON string, read back as written. */
	ck_assert_str_eq(json_array_get_string_element(
	                     json_object_get_array_member(kdh_test_case_at(doc, 1), "reasons"), 0),
	                 kdh_test_hostile);
}
END_TEST

/* ---- junit.xml ---- */

/* The shape CI systems read: a suite per scenario file, a testcase per
 * case with classname, name, time; failure, error, skipped by verdict. */
START_TEST(junit_has_the_ci_shape)
{
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	xmlDocPtr doc = kdh_test_load_junit(dir);

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
	for (gsize i = 0; i < G_N_ELEMENTS(kdh_test_sample_names); i++) {
		g_autofree char *expr =
		    g_strdup_printf("count(//testcase[@name='%s'])", kdh_test_sample_names[i]);
		assert_xpath_num(doc, expr, 1);
	}
	assert_xpath_str(doc, "//testcase[@name='pass-1']/@classname", "alpha");
	assert_xpath_str(doc, "//testcase[@name='error-1']/@classname", "beta");
	assert_xpath_num(doc, "//testcase[@name='pass-1']/@time", 12.75);
	assert_xpath_num(doc,
	                 "count(//testcase[@name='pass-1']/*[not(self::properties)]"
	                 "[not(self::system-out)])",
	                 0);
	/* The checks, then the warnings (warnings_in_every_report). */
	assert_xpath_str(doc,
	                 "substring-before(//testcase[@name='pass-1']/system-out, '\nwarning: ')",
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

/* The kdh_test_hostile reason and serial tail: the file stays well-formed XML, the
 * characters XML 1.0 forbids are escaped as text, markup and "]]>" come
 * back as the characters they were. */
START_TEST(junit_survives_hostile_text)
{
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *raw = kdh_test_read_file(dir, "junit.xml");
	xmlDocPtr doc = kdh_test_load_junit(dir);
	g_autofree char *message =
	    kdh_test_xpath_string(doc, "//testcase[@name='fail-1']/failure/@message");
	g_autofree char *text = kdh_test_xpath_string(doc, "//testcase[@name='fail-1']/failure");

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
 * after each whose values a YAML parser reads back exactly, kdh_test_hostile text
 * included. */
START_TEST(tap_reads_back)
{
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *text = kdh_test_read_file(dir, "results.tap");
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
			g_autofree char *want = g_strconcat(kdh_test_hostile,
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
	dir = kdh_test_write_set(tmp, "run", NULL, rs);
	text = kdh_test_read_file(dir, "results.tap");
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
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *text = kdh_test_read_file(dir, "summary.md");
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
	/* The kdh_test_hostile first reason: one cell, escaped, cut. */
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
	dir = kdh_test_write_set(tmp, "run", NULL, rs);
	text = kdh_test_read_file(dir, "summary.md");
	ck_assert_ptr_null(strstr(text, reason + 4000));
	ck_assert_ptr_nonnull(strstr(text, "xxx\xe2\x80\xa6 |"));
}
END_TEST

/* A case's warnings (the sample's PASS has two, one of them hostile text)
 * reach every report, escaped for each, and a passing case stays passed. */
START_TEST(warnings_in_every_report)
{
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *tap = kdh_test_read_file(dir, "results.tap");
	g_autofree char *md = kdh_test_read_file(dir, "summary.md");
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *doc = kdh_test_load_json(parser, dir, "results.json");
	JsonObject *pass = kdh_test_case_at(doc, 0);
	JsonArray *w = json_object_get_array_member(pass, "warnings");
	xmlDocPtr junit = kdh_test_load_junit(dir);
	g_autofree char *out = NULL;

	ck_assert_str_eq(json_object_get_string_member(pass, "verdict"), "PASS");
	ck_assert_uint_eq(json_array_get_length(w), 2);
	ck_assert_str_eq(json_array_get_string_element(w, 0),
	                 "serial.log line 741: makedumpfile: The kernel version is not supported. "
	                 "The makedumpfile operation may be incomplete.");
	ck_assert_uint_eq(json_array_get_length(
	                      json_object_get_array_member(kdh_test_case_at(doc, 1), "warnings")),
	                  0);
	out = kdh_test_xpath_string(junit, "//testcase[@name='pass-1']/system-out");
	ck_assert_msg(strstr(out, "dump VMCOREINFO OSRELEASE=6.1.0-56-amd64\nwarning: serial.log "
	                          "line 741: makedumpfile: The kernel version is not supported."),
	              "%s", out);
	xmlFreeDoc(junit);
	ck_assert_ptr_nonnull(strstr(tap, "  warnings:\n    - \"serial.log line 741: makedumpfile: "
	                                  "The kernel version is not supported."));
	ck_assert_ptr_nonnull(strstr(tap, "  warnings: []\n"));
	/* The hostile warning cannot start a test point or end the block. */
	ck_assert_ptr_null(strstr(tap, "\nnot ok 9"));
	ck_assert_ptr_nonnull(strstr(md, "\n## Warnings\n\n- pass-1: serial.log line 741: "
	                                 "makedumpfile: The kernel version is not supported."));
	ck_assert_ptr_null(strstr(md, "\n  ...\nnot ok"));
}
END_TEST

/* Past the bound, one entry counts the rest. */
START_TEST(warnings_are_bounded)
{
	g_autoptr(KdhResult) r = kdh_result_new("many");

	for (guint i = 0; i < KDH_RESULT_WARNINGS_MAX + 7; i++)
		kdh_result_warn(r, "warning %u", i);
	ck_assert_uint_eq(r->warnings->len, KDH_RESULT_WARNINGS_MAX + 1);
	ck_assert_str_eq(g_ptr_array_index(r->warnings, KDH_RESULT_WARNINGS_MAX - 1), "warning 19");
	ck_assert_str_eq(g_ptr_array_index(r->warnings, KDH_RESULT_WARNINGS_MAX), "... and 7 more");
	ck_assert_str_eq(kdh_verdict_name(r->verdict), "PASS");
}
END_TEST

/* No case at all: every report still well-formed. */
START_TEST(empty_run_writes_every_report)
{
	g_autoptr(GPtrArray) rs = g_ptr_array_new();
	g_autofree char *dir = kdh_test_write_set(tmp, "run", NULL, rs);
	g_autofree char *tap = kdh_test_read_file(dir, "results.tap");
	g_autoptr(JsonParser) parser = json_parser_new();
	xmlDocPtr doc = kdh_test_load_junit(dir);

	assert_xpath_num(doc, "/testsuites/@tests", 0);
	xmlFreeDoc(doc);
	ck_assert_str_eq(tap, "TAP version 14\n1..0\n");
	ck_assert_uint_eq(json_array_get_length(json_object_get_array_member(
	                      kdh_test_load_json(parser, dir, "results.json"), "cases")),
	                  0);
}
END_TEST

START_TEST(unwritable_folder_is_named)
{
	g_autoptr(GPtrArray) rs = kdh_test_sample();
	g_autofree char *dir = g_build_filename(tmp, "missing", "deeper", NULL);
	g_autoptr(GError) error = NULL;

	ck_assert(!kdh_report_write_run(&kdh_test_sample_info, rs, dir, &error));
	ck_assert(g_error_matches(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_WRITE));
	ck_assert_msg(strstr(error->message, dir) && strstr(error->message, "results.json"), "%s",
	              error->message);
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
	tcase_add_test(tc, warnings_in_every_report);
	tcase_add_test(tc, warnings_are_bounded);
	tcase_add_test(tc, empty_run_writes_every_report);
	tcase_add_test(tc, unwritable_folder_is_named);
	tcase_add_test(tc, timestamps_are_iso8601_utc);
	tcase_add_test(tc, cli_version);
	suite_add_tcase(s, tc);
	return s;
}
