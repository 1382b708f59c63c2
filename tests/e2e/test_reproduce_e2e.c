/* kdh reproduce end to end: a sysrq crash kdh captured earlier
 * (tests/fixtures/field/sysrq.log) reproduced on the same Debian kernel in
 * a real VM; the dump is captured with the field's settings, and the
 * reproduced crash, read from that dump's own kernel log, has the field's
 * class, reason, context and frames.  Also the refusals that start nothing. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "scenario/scenario.h"
#include "support.h"
#include "util/util.h"

START_TEST(sysrq_field_reproduced)
{
	g_autofree char *results = g_dir_make_tmp("kdh-e2e-reproduce-XXXXXX", NULL);
	g_autofree char *out = g_build_filename(results, "regression.ini", NULL);
	g_autofree char *res = g_build_filename(results, "results", NULL);
	const char *args[] = {
	    "reproduce", "--results", res, "--out", out, "tests/fixtures/field/sysrq.log", NULL};
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = NULL;
	g_autofree char *run = NULL, *json = NULL, *md = NULL, *stdout_text = NULL;
	JsonObject *o, *match, *repro;

	ck_assert_int_eq(kdh_test_run_output(args, &stdout_text, NULL), 0);
	/* the regression test written with --out loads as kdh run's would */
	cases = kdh_scenario_load(out, &error);
	ck_assert_msg(cases, "%s", error ? error->message : "");
	ck_assert_str_eq(((KdhCase *)g_ptr_array_index(cases, 0))->kernel_ref,
	                 "debian:6.1.0-56-amd64");
	ck_assert_str_eq(((KdhCase *)g_ptr_array_index(cases, 0))->trigger->name, "sysrq");
	run = kdh_test_run_folder(res);
	json = g_build_filename(run, "reproduce.json", NULL);
	md = g_build_filename(run, "reproduce.md", NULL);
	{
		g_autofree char *md_text = NULL;

		ck_assert(g_file_get_contents(md, &md_text, NULL, NULL));
		ck_assert_ptr_nonnull(strstr(md_text, "same panic class:    yes"));
		ck_assert_ptr_nonnull(strstr(md_text, "The reproduced crash:"));
	}
	ck_assert_msg(json_parser_load_from_file(parser, json, &error), "%s",
	              error ? error->message : "");
	o = json_node_get_object(json_parser_get_root(parser));
	ck_assert_str_eq(json_object_get_string_member(o, "verdict"), "PASS");
	ck_assert(json_object_get_boolean_member(o, "dump_captured"));
	repro = json_object_get_object_member(o, "reproduced");
	/* read from the kept dump's kernel log, not the console */
	ck_assert(json_object_get_boolean_member(repro, "vmcore"));
	ck_assert_str_eq(json_object_get_string_member(repro, "class"), "sysrq");
	ck_assert_str_eq(json_object_get_string_member(repro, "reason"), "sysrq triggered crash");
	match = json_object_get_object_member(o, "match");
	ck_assert(json_object_get_boolean_member(match, "release"));
	ck_assert(json_object_get_boolean_member(match, "class"));
	ck_assert(json_object_get_boolean_member(match, "reason"));
	/* sysrq pins the CPU: the field's CPU 0 */
	ck_assert(json_object_get_boolean_member(match, "cpu"));
	ck_assert(json_object_get_boolean_member(match, "comm"));
	/* the same trigger: the panic path's frames are the field's */
	ck_assert_int_ge(json_object_get_int_member(match, "frames_in_order"), 4);
	ck_assert_ptr_nonnull(strstr(stdout_text, "same panic class:    yes"));
	kdh_rm_rf(results);
}
END_TEST

START_TEST(refusals_start_nothing)
{
	g_autofree char *dir = g_dir_make_tmp("kdh-e2e-reproduce-XXXXXX", NULL);
	g_autofree char *field = g_build_filename(dir, "field.log", NULL);
	g_autofree char *res = g_build_filename(dir, "results", NULL);
	g_autofree char *err = NULL;
	const char *custom[] = {"reproduce", "--results", res, field, NULL};
	const char *fine[] = {"reproduce", "--results", res, "tests/fixtures/field/README", NULL};

	ck_assert(g_file_set_contents(field,
	                              "Linux version 6.12.3-custom (me@host) #4 SMP PREEMPT\n"
	                              "Kernel panic - not syncing: sysrq triggered crash\n",
	                              -1, NULL));
	ck_assert_int_eq(kdh_test_run_output(custom, NULL, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "--kernel import:"));
	g_clear_pointer(&err, g_free);
	ck_assert_int_eq(kdh_test_run_output(fine, NULL, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "no kernel crash"));
	ck_assert(!g_file_test(res, G_FILE_TEST_EXISTS));
	kdh_rm_rf(dir);
}
END_TEST

Suite *reproduce_e2e_suite(void);
Suite *reproduce_e2e_suite(void)
{
	Suite *s = suite_create("reproduce_e2e");
	TCase *tc = tcase_create("reproduce_e2e");
	TCase *refusals = tcase_create("reproduce_refusals");

	/* A full cycle whose parts reproduce's unit tests cover: check-full. */
	tcase_set_tags(tc, "e2e slow");
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, sysrq_field_reproduced);
	suite_add_tcase(s, tc);
	/* No VM starts, but it runs build/kdh: with the end-to-end tests. */
	tcase_set_tags(refusals, "e2e");
	tcase_add_test(refusals, refusals_start_nothing);
	suite_add_tcase(s, refusals);
	return s;
}
