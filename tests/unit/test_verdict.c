/* The verdict layer on its own: the no-dump diagnosis against real serial
 * logs (tests/fixtures/serial/), the warnings found in them, and what the
 * judge checks in a real dump (tests/fixtures/dump/) and in dumps made
 * from it: the signature, the panic's function, the crashing CPU, a hang's
 * CPU notes, the crash time. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "dump/dump.h"
#include "support.h"
#include "test_dump_gen.h"
#include "verdict/verdict.h"

#define SERIAL_DIR "tests/fixtures/serial/"
/* The fixture dump's VMCOREINFO CRASHTIME (2026-11-26 09:15:15 UTC). */
#define FIXTURE_CRASHTIME 1795684515

static KdhSerialLog *load_log(const char *name)
{
	g_autofree char *path = g_strconcat(SERIAL_DIR, name, NULL);
	g_autoptr(GError) error = NULL;
	KdhSerialLog *log = kdh_serial_log_read(path, &error);

	ck_assert_msg(log, "%s: %s", path, error ? error->message : "");
	return log;
}

/* ---- diagnosis: each real log gives its reason ---- */

static const struct {
	const char *log;
	gboolean armed;         /* what the console watch saw */
	const char *timeout;    /* the phase that timed out, or NULL */
	KdhNoDumpReason reason; /* what the diagnosis must say */
	const char *evidence;   /* a substring of the line it gives */
} diagnosed[] = {
    {"kexec-load-failed-6.1-48M.log", FALSE, NULL, KDH_REASON_KEXEC_LOAD_FAILED,
     "KDH: error step=arm msg=\"kexec -p: Could not find a free area of memory"},
    {"reservation-failed-6.1-2G.log", FALSE, NULL, KDH_REASON_RESERVATION_FAILED,
     "crashkernel reservation failed - No suitable area found."},
    {"capture-kernel-oom-6.1-96M.log", TRUE, NULL, KDH_REASON_CAPTURE_KERNEL_OOM,
     "[    3.844862] Kernel panic - not syncing: System is deadlocked on memory"},
    {"capture-kernel-panic-6.1.log", TRUE, NULL, KDH_REASON_CAPTURE_KERNEL_PANIC,
     "[    3.844293] Kernel panic - not syncing: sysrq triggered crash"},
    {"capture-timeout-6.1.log", TRUE, "capture", KDH_REASON_CAPTURE_TIMEOUT,
     "phase capture: no 'capture-done' marker within 1 s"},
    {"dump-with-warnings-6.1-160M.log", TRUE, NULL, KDH_REASON_NONE, NULL},
};

START_TEST(diagnosis_of_real_logs)
{
	g_autoptr(KdhSerialLog) log = load_log(diagnosed[_i].log);
	KdhConsoleEvidence con = {.armed = diagnosed[_i].armed};
	g_autofree char *line = NULL;
	KdhNoDumpReason got;

	con.timeout_phase = g_strdup(diagnosed[_i].timeout);
	if (diagnosed[_i].timeout)
		con.timeout_message =
		    g_strdup("phase capture: no 'capture-done' marker within 1 s");
	got = kdh_verdict_diagnose(log, &con, &line);
	ck_assert_msg(got == diagnosed[_i].reason, "%s: %s, not %s (%s)", diagnosed[_i].log,
	              kdh_reason_name(got), kdh_reason_name(diagnosed[_i].reason),
	              line ? line : "-");
	if (diagnosed[_i].evidence)
		ck_assert_msg(line && strstr(line, diagnosed[_i].evidence), "%s: '%s'",
		              diagnosed[_i].log, line ? line : "(null)");
	else
		ck_assert_ptr_null(line);
	kdh_console_evidence_clear(&con);
}
END_TEST

/* The capture kernel's part starts at its banner, in every log that has
 * one; a first kernel that never kexec'd has none. */
START_TEST(capture_part_starts_at_the_second_banner)
{
	g_autoptr(KdhSerialLog) oom = load_log("capture-kernel-oom-6.1-96M.log");
	g_autoptr(KdhSerialLog) arm = load_log("kexec-load-failed-6.1-48M.log");

	ck_assert_uint_lt(oom->capture_from, oom->lines->len);
	ck_assert_ptr_nonnull(
	    strstr(kdh_serial_log_line(oom, oom->capture_from), "] Linux version 6.1.0-56-amd64"));
	ck_assert_uint_eq(kdh_serial_log_number(oom, oom->capture_from), oom->capture_from + 1);
	ck_assert_uint_eq(arm->capture_from, arm->lines->len);
	ck_assert(!oom->cut);
}
END_TEST

/* A first kernel that armed reserved memory and loaded the capture kernel:
 * its lines do not count, whatever they say. */
START_TEST(armed_kernel_lines_do_not_count)
{
	g_autoptr(KdhSerialLog) log = load_log("reservation-failed-6.1-2G.log");
	KdhConsoleEvidence con = {.armed = TRUE};
	g_autofree char *line = NULL;

	ck_assert_int_eq(kdh_verdict_diagnose(log, &con, &line), KDH_REASON_NONE);
	ck_assert_ptr_null(line);
}
END_TEST

/* The reservation explains the kexec error after it: it wins. */
START_TEST(reservation_wins_over_kexec_error)
{
	static const char text[] = "[    0.000000] Linux version 6.12.117-amd64 (x)\n"
	                           "[    0.051765] cannot allocate crashkernel (size:0x80000000)\n"
	                           "KDH: error step=arm msg=\"kexec -p: Memory for crashkernel is "
	                           "not reserved\"\n";
	g_autoptr(KdhSerialLog) log = kdh_serial_log_parse(text, sizeof(text) - 1, NULL, 0);
	KdhConsoleEvidence con = {0};
	g_autofree char *line = NULL;

	ck_assert_int_eq(kdh_verdict_diagnose(log, &con, &line), KDH_REASON_RESERVATION_FAILED);
	ck_assert_str_eq(line, "[    0.051765] cannot allocate crashkernel (size:0x80000000)");
}
END_TEST

/* Without a log, the console watch's words are all there is. */
START_TEST(diagnosis_without_a_log)
{
	KdhConsoleEvidence con = {0};
	g_autofree char *line = NULL;

	con.guest_failure = g_strdup("the guest failed at step arm: kexec -p: Could not find a "
	                             "free area of memory");
	ck_assert_int_eq(kdh_verdict_diagnose(NULL, &con, &line), KDH_REASON_KEXEC_LOAD_FAILED);
	ck_assert_str_eq(line, con.guest_failure);
	g_clear_pointer(&line, g_free);
	g_free(con.guest_failure);
	con.guest_failure = g_strdup("the guest failed at step capture: cannot mount /dev/vda");
	ck_assert_int_eq(kdh_verdict_diagnose(NULL, &con, &line), KDH_REASON_NONE);
	/* once the capture started, the failure is the capture kernel's */
	g_free(con.guest_failure);
	con.guest_failure = g_strdup("the domain ended in phase capture (no 'capture-done' "
	                             "marker); last panic: Kernel panic - not syncing: sysrq "
	                             "triggered crash");
	con.armed = TRUE;
	ck_assert_int_eq(kdh_verdict_diagnose(NULL, &con, &line), KDH_REASON_NONE);
	con.capture_started = TRUE;
	ck_assert_int_eq(kdh_verdict_diagnose(NULL, &con, &line), KDH_REASON_CAPTURE_KERNEL_PANIC);
	ck_assert_str_eq(line, con.guest_failure);
	g_clear_pointer(&line, g_free);
	kdh_console_evidence_clear(&con);
}
END_TEST

/* The crash phase timing out is a capture timeout only once the capture
 * kernel has shown its banner. */
START_TEST(crash_timeout_needs_the_capture_banner)
{
	static const char first[] = "[    0.0] Linux version 6.1.0-56-amd64 (x)\n"
	                            "[    9.0] Kernel panic - not syncing: sysrq triggered crash\n";
	static const char both[] = "[    0.0] Linux version 6.1.0-56-amd64 (x)\n"
	                           "[    9.0] Kernel panic - not syncing: sysrq triggered crash\n"
	                           "[    0.0] Linux version 6.1.0-56-amd64 (x)\n"
	                           "[    1.0] Run /init as init process\n";
	g_autoptr(KdhSerialLog) a = kdh_serial_log_parse(first, sizeof(first) - 1, NULL, 0);
	g_autoptr(KdhSerialLog) b = kdh_serial_log_parse(both, sizeof(both) - 1, NULL, 0);
	KdhConsoleEvidence con = {.armed = TRUE};
	g_autofree char *la = NULL, *lb = NULL;

	con.timeout_phase = g_strdup("crash");
	con.timeout_message = g_strdup("phase crash: no 'capture-start' marker within 120 s");
	ck_assert_int_eq(kdh_verdict_diagnose(a, &con, &la), KDH_REASON_NONE);
	ck_assert_int_eq(kdh_verdict_diagnose(b, &con, &lb), KDH_REASON_CAPTURE_TIMEOUT);
	ck_assert_str_eq(lb, "phase crash: no 'capture-start' marker within 120 s");
	kdh_console_evidence_clear(&con);
}
END_TEST

/* A log larger than the bound: its head and tail are read, the lines after
 * the gap unnumbered, and the capture kernel still found. */
START_TEST(huge_log_is_read_in_part)
{
	g_autofree char *path = dumptest_path("huge-serial.log");
	g_autoptr(GString) s = g_string_new("[    0.0] Linux version 6.1.0-56-amd64 (x)\n");
	g_autoptr(KdhSerialLog) log = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *line = NULL;
	KdhConsoleEvidence con = {.armed = TRUE};
	guint last;

	while (s->len < KDH_SERIAL_LOG_READ_MAX + 4096)
		g_string_append(s, "spam spam spam spam spam spam spam spam spam spam spam spam\n");
	g_string_append(s,
	                "[    0.0] Linux version 6.1.0-56-amd64 (x)\n"
	                "[    2.0] Kernel panic - not syncing: System is deadlocked on memory\n");
	ck_assert(g_file_set_contents(path, s->str, s->len, NULL));
	log = kdh_serial_log_read(path, &error);
	ck_assert_msg(log, "%s", error ? error->message : "");
	ck_assert(log->cut);
	last = log->lines->len - 1;
	ck_assert_uint_eq(kdh_serial_log_number(log, 0), 1);
	ck_assert_uint_eq(kdh_serial_log_number(log, last), 0);
	ck_assert_uint_eq(log->capture_from, last - 1);
	ck_assert_int_eq(kdh_verdict_diagnose(log, &con, &line), KDH_REASON_CAPTURE_KERNEL_OOM);
}
END_TEST

/* Guest bytes become text; a long line is cut. */
START_TEST(log_lines_are_text_and_bounded)
{
	g_autoptr(GString) s = g_string_new("bad \xff\x1b[2J\r\n");
	g_autoptr(KdhSerialLog) log = NULL;

	g_string_append(s, "x");
	for (guint i = 0; i < 3 * KDH_SERIAL_LOG_LINE_MAX; i++)
		g_string_append_c(s, 'y');
	log = kdh_serial_log_parse(s->str, s->len, NULL, 0);
	ck_assert_uint_eq(log->lines->len, 2);
	ck_assert_str_eq(kdh_serial_log_line(log, 0), "bad \xef\xbf\xbd\\x1b[2J");
	ck_assert_uint_le(strlen(kdh_serial_log_line(log, 1)), KDH_SERIAL_LOG_LINE_MAX);
}
END_TEST

/* ---- warnings ---- */

START_TEST(makedumpfile_warning_from_a_real_log)
{
	g_autoptr(KdhSerialLog) log = load_log("dump-with-warnings-6.1-160M.log");
	g_autoptr(KdhResult) r = kdh_result_new("w");

	kdh_verdict_warnings(r, log);
	ck_assert_uint_eq(r->warnings->len, 1);
	ck_assert_str_eq(g_ptr_array_index(r->warnings, 0),
	                 "serial.log line 36: makedumpfile: The kernel version is not supported. "
	                 "The makedumpfile operation may be incomplete.");
	ck_assert_str_eq(kdh_verdict_name(r->verdict), "PASS");
}
END_TEST

/* Only the capture kernel's part counts; markers are no warnings; many
 * warnings are bounded. */
START_TEST(warnings_table_and_bound)
{
	g_autoptr(GString) s = g_string_new("[    0.0] Linux version 6.1.0-56-amd64 (x)\n"
	                                    "[    1.0] WARNING: CPU: 0 PID: 1 at first.c:1 f+0x1\n"
	                                    "[    0.0] Linux version 6.1.0-56-amd64 (x)\n"
	                                    "KDH: error step=capture msg=\"WARNING: not me\"\n"
	                                    "[    1.5] BUG: sleeping function called\n"
	                                    "[    2.0] blk_update_request: I/O error, dev vda\n");
	g_autoptr(KdhSerialLog) log = NULL;
	g_autoptr(KdhResult) r = kdh_result_new("w");

	for (guint i = 0; i < 30; i++)
		g_string_append_printf(s, "[    3.0] WARNING: CPU: 0 PID: 1 at x.c:%u f+0x1\n", i);
	log = kdh_serial_log_parse(s->str, s->len, NULL, 0);
	kdh_verdict_warnings(r, log);
	ck_assert_uint_eq(r->warnings->len, KDH_RESULT_WARNINGS_MAX + 1);
	ck_assert_str_eq(g_ptr_array_index(r->warnings, 0),
	                 "serial.log line 5: [    1.5] BUG: sleeping function called");
	ck_assert_str_eq(g_ptr_array_index(r->warnings, 1),
	                 "serial.log line 6: [    2.0] blk_update_request: I/O error, dev vda");
	ck_assert_str_eq(g_ptr_array_index(r->warnings, KDH_RESULT_WARNINGS_MAX),
	                 "... and 12 more");
}
END_TEST

/* ---- the judge ---- */

typedef struct {
	KdhCase *c;
	GPtrArray *cases;
	KdhConsoleEvidence con;
	KdhEvidence e;
	GPtrArray *files; /* the files retrieved: the dump, or none */
	KdhResult *r;
} Judged;

/* A case as the fixture dump answers it (zlib, level 31, sysrq), evidence
 * of a completed capture of VMCORE (NULL: no dump on the disk). */
static void judged_init(Judged *j, const char *extra, const char *vmcore)
{
	g_autofree char *text = g_strconcat("[scenario]\nname=t\n[capture]\ncompression=zlib\n"
	                                    "dump_level=31\n",
	                                    extra ? extra : "", NULL);
	g_autoptr(GError) error = NULL;

	memset(j, 0, sizeof(*j));
	j->cases = kdh_scenario_load_data("t.ini", text, &error);
	ck_assert_msg(j->cases, "%s", error ? error->message : "");
	j->c = g_ptr_array_index(j->cases, 0);
	j->con.capture_done = TRUE;
	j->con.capture_rc = g_strdup("0");
	j->con.armed = TRUE;
	j->con.capture_started = TRUE;
	j->e.release = "6.1.0-56-amd64";
	j->e.console = &j->con;
	j->e.crash_dir = vmcore ? "/var/crash/20261126T091520Z" : NULL;
	j->e.no_crash = vmcore ? NULL : "/var/crash is empty";
	j->files = g_ptr_array_new_with_free_func(g_free);
	if (vmcore)
		g_ptr_array_add(j->files, g_strdup(vmcore));
	j->e.files = j->files;
	j->e.started_unix = FIXTURE_CRASHTIME - 60;
	j->r = kdh_result_new("t");
}

static void judged_clear(Judged *j)
{
	kdh_console_evidence_clear(&j->con);
	g_ptr_array_unref(j->cases);
	g_ptr_array_unref(j->files);
	kdh_result_free(j->r);
}

static void assert_verdict(Judged *j, const char *verdict, const char *reason, const char *check)
{
	g_autofree char *reasons = joined(j->r->reasons), *checks = joined(j->r->checks);

	ck_assert_msg(g_str_equal(kdh_verdict_name(j->r->verdict), verdict), "%s, not %s: %s",
	              kdh_verdict_name(j->r->verdict), verdict, reasons);
	if (reason)
		ck_assert_msg(has(j->r->reasons, reason), "no '%s' in %s", reason, reasons);
	if (check)
		ck_assert_msg(has(j->r->checks, check), "no '%s' in %s", check, checks);
}

START_TEST(judge_passes_the_fixture_and_says_why)
{
	Judged j;

	judged_init(&j, "[crash]\ntrigger=sysrq\ncpu=0\n", DUMPTEST_FIXTURE);
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "PASS", NULL,
	               "dump dmesg: [    3.966665] Kernel panic - not syncing: "
	               "sysrq triggered crash");
	assert_verdict(&j, "PASS", NULL,
	               "dump call trace: [    3.968817]  sysrq_handle_crash+0x16/0x20");
	assert_verdict(&j, "PASS", NULL,
	               "dump crashing CPU 0 (dmesg and its PRSTATUS note), as asked");
	assert_verdict(&j, "PASS", NULL,
	               "dump crash time 2026-11-26 09:15:15 UTC (VMCOREINFO CRASHTIME) is within "
	               "this run");
	judged_clear(&j);
}
END_TEST

START_TEST(judge_wants_the_function_in_the_trace)
{
	Judged j;

	judged_init(&j, "[expect]\nfunction=handle_crash\n", DUMPTEST_FIXTURE);
	kdh_verdict_judge(j.r, j.c, &j.e);
	/* "sysrq_handle_crash+0x" holds the name, but not as a trace entry */
	assert_verdict(&j, "FAIL",
	               "the dump's dmesg shows no 'handle_crash' in the panic's call trace", NULL);
	judged_clear(&j);
}
END_TEST

START_TEST(judge_wants_the_pinned_cpu)
{
	Judged j;

	judged_init(&j, "[vm]\ncpus=2\n[crash]\ntrigger=sysrq\ncpu=1\n", DUMPTEST_FIXTURE);
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "FAIL", "the dump's crashing CPU is 0, the trigger was fired on CPU 1",
	               NULL);
	judged_clear(&j);
}
END_TEST

/* A hang: every CPU of the guest has a note with registers. */
START_TEST(judge_wants_every_frozen_cpu)
{
	Judged one, two;

	judged_init(&one,
	            "[crash]\ntrigger=hang\n[expect]\npanic=sysrq triggered crash\n"
	            "function=sysrq_handle_crash\n",
	            DUMPTEST_FIXTURE);
	kdh_verdict_judge(one.r, one.c, &one.e);
	assert_verdict(&one, "PASS", NULL, "dump holds the registers of all 1 frozen CPUs");
	judged_clear(&one);
	judged_init(&two,
	            "[vm]\ncpus=2\n[crash]\ntrigger=hang\n[expect]\npanic=sysrq triggered "
	            "crash\nfunction=sysrq_handle_crash\n",
	            DUMPTEST_FIXTURE);
	kdh_verdict_judge(two.r, two.c, &two.e);
	assert_verdict(&two, "FAIL",
	               "the dump holds 1 CPU notes (1 with registers), the guest has 2 CPUs", NULL);
	judged_clear(&two);
}
END_TEST

START_TEST(judge_refuses_an_older_dump)
{
	Judged j;

	judged_init(&j, NULL, DUMPTEST_FIXTURE);
	j.e.started_unix = FIXTURE_CRASHTIME + 121;
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(
	    &j, "FAIL",
	    "the dump's crash time 2026-11-26 09:15:15 UTC (VMCOREINFO CRASHTIME) is 121 s "
	    "before this case started (more than the 120 s allowed): an older dump",
	    NULL);
	judged_clear(&j);
	/* within the slack */
	judged_init(&j, NULL, DUMPTEST_FIXTURE);
	j.e.started_unix = FIXTURE_CRASHTIME + 120;
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "PASS", NULL, "is within this run");
	judged_clear(&j);
}
END_TEST

/* The fixture rewritten with CRASHTIME=VALUE (NULL: none) and header
 * timestamp STAMP. */
static char *dump_with_time(const char *name, const char *value, int64_t stamp)
{
	struct dumpgen g;
	struct dumpgen_opts o = {.compression = 1, .incomplete_after = -1};
	char *path = dumptest_path(name);

	dumptest_copy(&g);
	dumpgen_set_info(&g, "CRASHTIME", value);
	g.timestamp = stamp;
	ck_assert_int_eq(dumpgen_write(&g, path, &o), 0);
	dumpgen_free(&g);
	return path;
}

START_TEST(judge_refuses_a_dump_from_the_future_or_without_a_date)
{
	g_autofree char *future = dump_with_time("future.kdump", "4102444800", 0);
	g_autofree char *undated = dump_with_time("undated.kdump", NULL, 0);
	g_autofree char *header = dump_with_time("header.kdump", NULL, FIXTURE_CRASHTIME);
	Judged j;

	judged_init(&j, NULL, future);
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "FAIL",
	               "the dump's crash time 2100-01-01 00:00:00 UTC (VMCOREINFO "
	               "CRASHTIME) is ",
	               NULL);
	assert_verdict(&j, "FAIL", " s in the future (more than the 120 s allowed)", NULL);
	judged_clear(&j);
	judged_init(&j, NULL, undated);
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "FAIL", "the dump carries no crash time", NULL);
	judged_clear(&j);
	/* the kdump header's timestamp stands in for CRASHTIME */
	judged_init(&j, NULL, header);
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "PASS", NULL,
	               "dump crash time 2026-11-26 09:15:15 UTC (header timestamp)");
	judged_clear(&j);
}
END_TEST

/* ---- the judge on the console: no-dump cases, timeouts ---- */

static const char NO_DUMP_OOM[] = "[expect]\noutcome=no-dump\nreason=capture-kernel-oom\n";

START_TEST(no_dump_passes_on_its_reason)
{
	Judged j;

	judged_init(&j, NO_DUMP_OOM, NULL);
	j.e.serial_log = SERIAL_DIR "capture-kernel-oom-6.1-96M.log";
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(
	    &j, "PASS", NULL,
	    "no dump, as expected: capture-kernel-oom: [    3.844862] Kernel panic - not "
	    "syncing: System is deadlocked on memory");
	/* The diagnosis is also a field of its own (kdh sizing reads it). */
	ck_assert_str_eq(j.r->diagnosis, "capture-kernel-oom");
	ck_assert_ptr_nonnull(strstr(j.r->diagnosis_line, "System is deadlocked on memory"));
	judged_clear(&j);
}
END_TEST

START_TEST(no_dump_fails_on_another_reason)
{
	Judged j;

	judged_init(&j, NO_DUMP_OOM, NULL);
	j.con.armed = FALSE;
	j.e.serial_log = SERIAL_DIR "kexec-load-failed-6.1-48M.log";
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(
	    &j, "FAIL",
	    "expected capture-kernel-oom, diagnosed kexec-load-failed: KDH: error step=arm", NULL);
	ck_assert_str_eq(j.r->diagnosis, "kexec-load-failed");
	judged_clear(&j);
	judged_init(&j, NO_DUMP_OOM, NULL);
	j.e.serial_log = SERIAL_DIR "dump-with-warnings-6.1-160M.log";
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "FAIL",
	               "expected capture-kernel-oom, no diagnosis: the console says nothing", NULL);
	ck_assert_ptr_null(j.r->diagnosis);
	ck_assert_ptr_null(j.r->diagnosis_line);
	judged_clear(&j);
}
END_TEST

START_TEST(no_dump_expected_but_a_dump_is_there)
{
	Judged j;

	judged_init(&j, NO_DUMP_OOM, DUMPTEST_FIXTURE);
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "FAIL",
	               "a dump was written to /var/crash/20261126T091520Z, none was expected",
	               NULL);
	judged_clear(&j);
}
END_TEST

/* A capture cut short leaves part of a dump: with the timeout expected,
 * that folder is the failure seen, not a dump, and is not verified. */
START_TEST(partial_capture_is_the_expected_timeout)
{
	Judged j;

	judged_init(&j, "[expect]\noutcome=no-dump\nreason=capture-timeout\n", DUMPTEST_FIXTURE);
	j.con.capture_done = FALSE;
	j.con.timeout_phase = g_strdup("capture");
	j.con.timeout_message = g_strdup("phase capture: no 'capture-done' marker within 1 s");
	j.e.serial_log = SERIAL_DIR "capture-timeout-6.1.log";
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "PASS", NULL, "no complete dump, as expected: capture-timeout");
	judged_clear(&j);
}
END_TEST

/* A dump-expected case without one: the diagnosis is what a user reads
 * first. */
START_TEST(missing_dump_says_why_first)
{
	Judged j;

	judged_init(&j, "[vm]\ncrashkernel=96M\n", NULL);
	j.con.capture_done = FALSE;
	j.con.capture_started = FALSE;
	j.e.serial_log = SERIAL_DIR "capture-kernel-oom-6.1-96M.log";
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "FAIL", NULL, NULL);
	ck_assert_str_eq(g_ptr_array_index(j.r->reasons, 0),
	                 "capture-kernel-oom at crashkernel=96M: [    3.844862] Kernel panic - not "
	                 "syncing: System is deadlocked on memory");
	assert_verdict(&j, "FAIL", "no dump on the guest disk (/var/crash is empty)", NULL);
	judged_clear(&j);
}
END_TEST

/* A timeout stays a TIMEOUT, with the watch's message and the diagnosis;
 * the log's warnings are kept. */
START_TEST(timeout_keeps_its_verdict_and_gets_the_diagnosis)
{
	Judged j;

	judged_init(&j, "[vm]\ncrashkernel=256M\n", NULL);
	j.con.capture_done = FALSE;
	j.con.timeout_phase = g_strdup("capture");
	j.con.timeout_message = g_strdup("phase capture: no 'capture-done' marker within 1 s");
	j.e.serial_log = SERIAL_DIR "capture-timeout-6.1.log";
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "TIMEOUT", NULL, NULL);
	ck_assert_str_eq(g_ptr_array_index(j.r->reasons, 0),
	                 "phase capture: no 'capture-done' marker within 1 s");
	assert_verdict(
	    &j, "TIMEOUT",
	    "capture-timeout at crashkernel=256M: phase capture: no 'capture-done' marker", NULL);
	ck_assert_uint_eq(j.r->warnings->len, 1);
	judged_clear(&j);
}
END_TEST

/* A no-dump case whose console ran out of time and says nothing else. */
START_TEST(no_dump_timeout_without_diagnosis)
{
	static const char NO_DUMP_ARM[] = "[expect]\noutcome=no-dump\nreason=kexec-load-failed\n";
	Judged j;

	judged_init(&j, NO_DUMP_ARM, NULL);
	j.con.armed = FALSE;
	j.con.timeout_phase = g_strdup("boot");
	j.con.timeout_message = g_strdup("phase boot: no 'armed' marker within 120 s");
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "TIMEOUT",
	               "phase boot: no 'armed' marker within 120 s; expected kexec-load-failed, no "
	               "diagnosis",
	               NULL);
	judged_clear(&j);
}
END_TEST

/* A passing dump with makedumpfile's warning: still a PASS, warned. */
START_TEST(warnings_never_change_the_verdict)
{
	Judged j;

	judged_init(&j, NULL, DUMPTEST_FIXTURE);
	j.e.serial_log = SERIAL_DIR "dump-with-warnings-6.1-160M.log";
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "PASS", NULL, NULL);
	ck_assert_uint_eq(j.r->warnings->len, 1);
	ck_assert_ptr_nonnull(
	    strstr(g_ptr_array_index(j.r->warnings, 0), "The kernel version is not supported."));
	judged_clear(&j);
	/* an unreadable log is a warning too, not a failure */
	judged_init(&j, NULL, DUMPTEST_FIXTURE);
	j.e.serial_log = SERIAL_DIR "no-such.log";
	kdh_verdict_judge(j.r, j.c, &j.e);
	assert_verdict(&j, "PASS", NULL, NULL);
	ck_assert_ptr_nonnull(strstr(g_ptr_array_index(j.r->warnings, 0),
	                             "the console log was not read for warnings and diagnosis"));
	judged_clear(&j);
}
END_TEST

Suite *verdict_suite(void);

Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("diagnose");

	tcase_add_loop_test(tc, diagnosis_of_real_logs, 0, G_N_ELEMENTS(diagnosed));
	tcase_add_test(tc, capture_part_starts_at_the_second_banner);
	tcase_add_test(tc, armed_kernel_lines_do_not_count);
	tcase_add_test(tc, reservation_wins_over_kexec_error);
	tcase_add_test(tc, diagnosis_without_a_log);
	tcase_add_test(tc, crash_timeout_needs_the_capture_banner);
	tcase_add_test(tc, huge_log_is_read_in_part);
	tcase_add_test(tc, log_lines_are_text_and_bounded);
	tcase_add_test(tc, makedumpfile_warning_from_a_real_log);
	tcase_add_test(tc, warnings_table_and_bound);
	suite_add_tcase(s, tc);

	tc = tcase_create("judge");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, judge_passes_the_fixture_and_says_why);
	tcase_add_test(tc, judge_wants_the_function_in_the_trace);
	tcase_add_test(tc, judge_wants_the_pinned_cpu);
	tcase_add_test(tc, judge_wants_every_frozen_cpu);
	tcase_add_test(tc, judge_refuses_an_older_dump);
	tcase_add_test(tc, judge_refuses_a_dump_from_the_future_or_without_a_date);
	tcase_add_test(tc, no_dump_passes_on_its_reason);
	tcase_add_test(tc, no_dump_fails_on_another_reason);
	tcase_add_test(tc, no_dump_expected_but_a_dump_is_there);
	tcase_add_test(tc, partial_capture_is_the_expected_timeout);
	tcase_add_test(tc, missing_dump_says_why_first);
	tcase_add_test(tc, timeout_keeps_its_verdict_and_gets_the_diagnosis);
	tcase_add_test(tc, no_dump_timeout_without_diagnosis);
	tcase_add_test(tc, warnings_never_change_the_verdict);
	suite_add_tcase(s, tc);
	return s;
}
