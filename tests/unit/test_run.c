/* Serial marker parsing: well-formed markers, kernel noise before them, and
 * guest-controlled garbage that must not parse; the run's monitor on a
 * terminal and in a log.  Whole cases played through the fake VM backend
 * are in test_cycle.c and test_jobs.c. */
#include <check.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "run/run.h"

START_TEST(parses_markers)
{
	g_autoptr(KdhMarker) m = kdh_marker_parse(
	    "KDH: boot release=6.1.0-56-amd64 cmdline=\"console=ttyS0 crashkernel=256M\"");

	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->event, "boot");
	ck_assert_str_eq(kdh_marker_get(m, "release"), "6.1.0-56-amd64");
	ck_assert_str_eq(kdh_marker_get(m, "cmdline"), "console=ttyS0 crashkernel=256M");
	ck_assert_ptr_null(kdh_marker_get(m, "absent"));
}
END_TEST

START_TEST(marker_after_kernel_output)
{
	g_autoptr(KdhMarker) m = kdh_marker_parse("[    3.9] random: crng initKDH: armed "
	                                          "kexec_crash_loaded=1 crash_size=268435456");

	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->event, "armed");
	ck_assert_str_eq(kdh_marker_get(m, "crash_size"), "268435456");
}
END_TEST

START_TEST(marker_without_arguments)
{
	g_autoptr(KdhMarker) m = kdh_marker_parse("KDH: poweroff");

	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->event, "poweroff");
	ck_assert_uint_eq(g_hash_table_size(m->args), 0);
}
END_TEST

static const char *const not_markers[] = {
    "",
    "[    0.000000] Linux version 6.1.0",
    "KDH:",
    "KDH: ",
    "KDH: Boot",
    "KDH: boot release",
    "KDH: boot =x",
    "KDH: boot re$lease=x",
    "KDH: error msg=\"unterminated",
    "kdh: boot release=x",
};

START_TEST(rejects_malformed)
{
	g_autoptr(KdhMarker) m = kdh_marker_parse(not_markers[_i]);

	ck_assert_msg(m == NULL, "'%s' parsed as a marker", not_markers[_i]);
}
END_TEST

START_TEST(run_ids_sort_by_time)
{
	g_autofree char *id = kdh_run_id();

	ck_assert_uint_ge(strlen(id), 17);
	ck_assert(g_ascii_isdigit(id[0]));
	ck_assert_ptr_null(strchr(id, '/'));
}
END_TEST

/* What MONITOR wrote to OUT once freed, as text. */
static char *monitor_output(gboolean tty)
{
	FILE *out = tmpfile();
	g_autoptr(KdhResult) r = kdh_result_new("a");
	char *text = g_malloc0(65536);
	KdhRunMonitor *m;

	ck_assert_ptr_nonnull(out);
	m = kdh_run_monitor_new(out, tty, 2);
	kdh_run_monitor_phase(m, "a", "boot");
	kdh_run_monitor_phase(m, "b", "boot");
	kdh_run_monitor_phase(m, "a", "crash");
	r->results_dir = g_strdup("/r/a");
	kdh_result_add_phase(r, "boot", 8.25);
	kdh_result_fail(r, KDH_VERDICT_FAIL, "why it failed");
	kdh_result_warn(r, "serial.log line 7: makedumpfile: The kernel version is not supported.");
	kdh_run_monitor_finished(m, r);
	kdh_run_monitor_free(m);
	rewind(out);
	ck_assert_uint_gt(fread(text, 1, 65535, out), 0);
	fclose(out);
	return text;
}

/* In a log: a line per phase change, the verdict, nothing redrawn. */
START_TEST(monitor_plain_lines_in_a_log)
{
	g_autofree char *text = monitor_output(FALSE);

	ck_assert_ptr_null(strchr(text, '\033'));
	ck_assert_ptr_nonnull(strstr(text, "a: boot\n"));
	ck_assert_ptr_nonnull(strstr(text, "b: boot\n"));
	ck_assert_ptr_nonnull(strstr(text, "a: crash (boot took "));
	ck_assert_ptr_nonnull(strstr(text, "FAIL a (8.2 s): why it failed\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n    warning: serial.log line 7: makedumpfile: "
	                                   "The kernel version is not supported.\n"));
	ck_assert_ptr_nonnull(strstr(text, " boot 8.2\n"));
	ck_assert_ptr_nonnull(strstr(text, "results: /r/a\n"));
}
END_TEST

/* On a terminal: the running lines are redrawn in place (cursor up, clear
 * below), the finished case stays, and the last picture has no running
 * lines left. */
START_TEST(monitor_redraws_on_a_terminal)
{
	g_autofree char *text = monitor_output(TRUE);
	const char *last = g_strrstr(text, "\033[J");

	ck_assert_ptr_nonnull(strstr(text, "\033[J"));
	ck_assert_ptr_nonnull(strstr(text, "FAIL a (8.2 s): why it failed\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n    warning: serial.log line 7: makedumpfile: "
	                                   "The kernel version is not supported.\n"));
	ck_assert_ptr_nonnull(last);
	ck_assert_ptr_null(strstr(last, " crash "));
	ck_assert_ptr_nonnull(strstr(last, "[1/2 done, 0 running"));
}
END_TEST

Suite *run_suite(void);
Suite *run_suite(void)
{
	Suite *s = suite_create("run");
	TCase *tc = tcase_create("marker");

	tcase_add_test(tc, parses_markers);
	tcase_add_test(tc, marker_after_kernel_output);
	tcase_add_test(tc, marker_without_arguments);
	tcase_add_loop_test(tc, rejects_malformed, 0, G_N_ELEMENTS(not_markers));
	tcase_add_test(tc, run_ids_sort_by_time);
	tcase_add_test(tc, monitor_plain_lines_in_a_log);
	tcase_add_test(tc, monitor_redraws_on_a_terminal);
	suite_add_tcase(s, tc);
	return s;
}
