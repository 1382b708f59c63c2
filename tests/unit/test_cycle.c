/* Whole cases without VMs: kdh_run_case with the fake VM backend and fake
 * host steps (tests/support/fake.h), so console markers -> phases ->
 * verdict -> verdict.json run in milliseconds.  The PASS path reads a real
 * dump (tests/fixtures/dump); the rest: phase timeouts, error markers,
 * markers a hostile guest prints, invalid UTF-8, expected no-dump outcomes,
 * cancellation during retrieval. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cycle.h"
#include "run/run.h"
#include "util/util.h"

static const KdhFakeLine sysrq_cycle[] = {
    {0.1, FALSE, "[    0.000000] Linux version " FIXTURE_RELEASE "\n", 0},
    {5.0, FALSE, BOOT, 0},
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE, "KDH: trigger type=sysrq\n", 0},
    {8.2, FALSE, PANIC, 0},
    {12.0, FALSE, CSTART, 0},
    {14.0, FALSE, CDONE, 0},
    {14.1, FALSE, POWEROFF, 0},
    {14.2, FALSE, NULL, 0},
};

START_TEST(sysrq_cycle_passes_on_the_dump)
{
	g_auto(Played) p = play(NULL, sysrq_cycle, G_N_ELEMENTS(sysrq_cycle), &kdh_fake_ops_dump);
	JsonObject *dump = json_object_get_object_member(p.json, "dump");

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "PASS");
	assert_phases(&p, "disk boot crash capture shutdown retrieve-wait retrieve verify");
	assert_check(&p, "dump VMCOREINFO OSRELEASE=" FIXTURE_RELEASE);
	assert_check(&p, "dump dmesg: [");
	assert_check(&p, "Kernel panic - not syncing: sysrq triggered crash");
	ck_assert_str_eq(json_object_get_string_member(dump, "release_in_memory"), FIXTURE_RELEASE);
	ck_assert_int_gt(json_object_get_int_member(dump, "pages_checked"), 1000);
	ck_assert_uint_eq(kdh_fake_vm_log()->injected[KDH_VM_NMI], 0);
	ck_assert_uint_eq(p.r->ignored_markers->len, 0);
	ck_assert_ptr_nonnull(strstr(kdh_fake_vm_log()->cmdline, "kdh.trigger=sysrq"));
	/* Phase times come from the console: boot ended at "armed", 8 s. */
	const KdhPhase *boot = g_ptr_array_index(p.r->phases, 1);
	ck_assert_str_eq(boot->name, "boot");
	ck_assert(boot->seconds > 7.9 && boot->seconds < 8.2);
}
END_TEST

/* The NMI trigger: the host injects once, at "trigger", in the crash phase;
 * the guest panics only then.  The guest repeats the marker and prints it
 * early: neither makes a second NMI. */
static const KdhFakeLine nmi_cycle[] = {
    {1.0, FALSE, "KDH: trigger type=nmi\n", 0}, /* before boot: out of order */
    {5.0, FALSE, BOOT, 0},
    {5.5, FALSE, "KDH: trigger type=nmi\n", 0}, /* before armed */
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE, "KDH: trigger type=nmi\n", 0},
    {8.2, FALSE, "KDH: trigger type=nmi\n", 0},
    {8.3, FALSE, "KDH: trigger type=nmi\n", 0},
    {0.5, TRUE, "[    9.1] Kernel panic - not syncing: NMI: Not continuing\n", 0},
    {0.6, TRUE, "KDH: trigger type=nmi\n", 0},
    {3.0, TRUE, CSTART, 0},
    {4.0, TRUE, CDONE, 0},
    {4.1, TRUE, POWEROFF, 0},
    {4.2, TRUE, NULL, 0},
};

START_TEST(nmi_injected_once_in_its_place)
{
	g_auto(Played) p =
	    play("[crash]\ntrigger=nmi\n", nmi_cycle, G_N_ELEMENTS(nmi_cycle), &kdh_fake_ops_dump);

	ck_assert_uint_eq(kdh_fake_vm_log()->injected[KDH_VM_NMI], 1);
	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "PASS");
	assert_ignored(&p, "out of order: 'boot' was expected first");
	assert_ignored(&p, "out of order: 'armed' was expected first");
	assert_ignored(&p, "'trigger' was seen before");
	ck_assert_uint_eq(p.r->ignored_markers->len, 5);
	ck_assert_uint_eq(
	    json_array_get_length(json_object_get_array_member(p.json, "ignored_markers")), 5);
}
END_TEST

/* A sysrq case whose guest asks for an NMI, at the trigger's place and
 * elsewhere: the host does not inject one. */
static const KdhFakeLine sysrq_asking_nmi[] = {
    {5.0, FALSE, BOOT, 0},
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE, "KDH: trigger type=nmi\n", 0},
    {8.2, FALSE, "KDH: trigger type=sysrq\n", 0},
    {8.3, FALSE, "KDH: trigger type=nmi\n", 0},
    {8.4, FALSE, PANIC, 0},
    {12.0, FALSE, CSTART, 0},
    {12.1, FALSE, "KDH: trigger type=nmi\n", 0},
    {14.0, FALSE, CDONE, 0},
    {14.2, FALSE, NULL, 0},
};

START_TEST(guest_cannot_ask_for_an_nmi)
{
	g_auto(Played) p =
	    play(NULL, sysrq_asking_nmi, G_N_ELEMENTS(sysrq_asking_nmi), &kdh_fake_ops_dump);

	ck_assert_uint_eq(kdh_fake_vm_log()->injected[KDH_VM_NMI], 0);
	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "PASS");
	assert_ignored(&p, "this case's trigger is sysrq");
	assert_ignored(&p, "'trigger' was seen before");
}
END_TEST

/* The collector's exit status is parsed strictly: only "0" is success. */
static const struct {
	const char *rc; /* NULL: no rc= at all */
	const char *verdict;
	const char *reason; /* for a PASS: a check */
} statuses[] = {
    {"0", "PASS", "dump verified"},
    {"abc", "FAIL", "capture-done rc='abc' is not an exit status"},
    {"", "FAIL", "capture-done rc='' is not an exit status"},
    {"-0", "FAIL", "capture-done rc='-0' is not an exit status"},
    {"0x0", "FAIL", "capture-done rc='0x0' is not an exit status"},
    {"256", "FAIL", "capture-done rc='256' is not an exit status"},
    {"99999999999999999999", "FAIL", "is not an exit status"},
    {"1", "FAIL", "the collector exited with status 1"},
    {NULL, "FAIL", "capture-done rc='' is not an exit status"},
};

START_TEST(collector_status_parsed_strictly)
{
	g_autofree char *done =
	    statuses[_i].rc
	        ? g_strdup_printf("KDH: capture-done rc=%s files=vmcore\n", statuses[_i].rc)
	        : g_strdup("KDH: capture-done files=vmcore\n");
	const KdhFakeLine script[] = {
	    {1, FALSE, BOOT, 0},
	    {2, FALSE, ARMED, 0},
	    {2.1, FALSE, "KDH: trigger type=sysrq\n", 0},
	    {3, FALSE, CSTART, 0},
	    {4, FALSE, done, 0},
	    {5, FALSE, NULL, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_dump);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), statuses[_i].verdict);
	if (p.r->verdict == KDH_VERDICT_PASS)
		assert_check(&p, statuses[_i].reason);
	else
		assert_reason(&p, statuses[_i].reason);
}
END_TEST

/* "armed" with anything but kexec_crash_loaded=1: no capture kernel, said
 * so; a dump on the disk after that is not a PASS. */
static const char *const loaded_values[] = {"0", "", "01x", "2", NULL};

START_TEST(armed_needs_a_loaded_capture_kernel)
{
	g_autofree char *armed =
	    loaded_values[_i]
	        ? g_strdup_printf("KDH: armed kexec_crash_loaded=%s\n", loaded_values[_i])
	        : g_strdup("KDH: armed\n");
	const KdhFakeLine script[] = {
	    {1, FALSE, BOOT, 0},
	    {2, FALSE, armed, 0},
	    {2.1, FALSE, "KDH: trigger type=sysrq\n", 0},
	    {3, FALSE, CSTART, 0},
	    {4, FALSE, CDONE, 0},
	    {5, FALSE, NULL, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_dump);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "FAIL");
	assert_reason(&p, "the guest armed with kexec_crash_loaded=");
}
END_TEST

/* No "capture-done" at all, yet a dump on the disk: not a PASS. */
START_TEST(no_capture_done_is_not_success)
{
	const KdhFakeLine script[] = {
	    {1, FALSE, BOOT, 0},
	    {2, FALSE, ARMED, 0},
	    {2.1, FALSE, "KDH: trigger type=sysrq\n", 0},
	    {3, FALSE, CSTART, 0},
	    {4, FALSE, NULL, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_dump);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "FAIL");
	assert_reason(&p, "the domain ended in phase capture (no 'capture-done' marker)");
	assert_reason(&p, "no 'capture-done' marker");
}
END_TEST

/* A phase that does not reach its marker in time: TIMEOUT, the VM
 * destroyed; the disk is still read, since what a capture cut short left
 * is evidence too (and a negative case may expect the timeout). */
START_TEST(phase_timeout)
{
	const KdhFakeLine script[] = {
	    {1, FALSE, BOOT, 0},
	    {2, FALSE, ARMED, 0},
	    {2.1, FALSE, "KDH: trigger type=sysrq\n", 0},
	    {1000, FALSE, CSTART, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_dump);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "TIMEOUT");
	assert_reason(&p, "phase crash: no 'capture-start' marker within 20 s");
	assert_phases(&p, "disk boot crash retrieve-wait retrieve verify");
	ck_assert_uint_eq(kdh_fake_vm_log()->destroys, 1);
	ck_assert_uint_eq(kdh_fake_retrievals(), 1);
	ck_assert_uint_gt(p.r->serial_tail->len, 0);
}
END_TEST

START_TEST(boot_timeout_on_a_silent_guest)
{
	const KdhFakeLine script[] = {{0, FALSE, "", 0}};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_dump);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "TIMEOUT");
	assert_reason(&p, "phase boot: no 'armed' marker within 20 s");
}
END_TEST

START_TEST(shutdown_timeout)
{
	const KdhFakeLine script[] = {
	    {1, FALSE, BOOT, 0},
	    {2, FALSE, ARMED, 0},
	    {2.1, FALSE, "KDH: trigger type=sysrq\n", 0},
	    {3, FALSE, CSTART, 0},
	    {4, FALSE, CDONE, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_dump);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "TIMEOUT");
	assert_reason(&p, "phase shutdown: the domain did not end within 20 s");
}
END_TEST

/* kexec -p fails: the guest says why and powers off. */
static const KdhFakeLine arm_fails[] = {
    {1, FALSE, BOOT, 0},
    {2, FALSE, "KDH: error step=arm msg=\"kexec -p: Could not find a free area\"\n", 0},
    {2.1, FALSE, "KDH: error step=capture msg=\"second\"\n", 0},
    {2.2, FALSE, NULL, 0},
};

START_TEST(error_marker_fails_a_dump_case)
{
	g_auto(Played) p = play(NULL, arm_fails, G_N_ELEMENTS(arm_fails), &kdh_fake_ops_nothing);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "FAIL");
	assert_reason(&p, "no dump on the guest disk (no dump folder in /var/crash): the guest "
	                  "failed at step arm: kexec -p: Could not find a free area");
	assert_ignored(&p, "an error was reported before");
	ck_assert_uint_eq(kdh_fake_retrievals(), 1);
}
END_TEST

START_TEST(error_marker_is_the_expected_no_dump)
{
	g_auto(Played) p = play(NO_DUMP, arm_fails, G_N_ELEMENTS(arm_fails), &kdh_fake_ops_nothing);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "PASS");
	assert_check(&p, "no dump, as expected: kexec-load-failed: KDH: error step=arm");
	ck_assert_uint_eq(p.r->reasons->len, 0);
}
END_TEST

/* Expected no dump, but the disk has one: FAIL. */
START_TEST(unexpected_dump_fails)
{
	g_auto(Played) p =
	    play(NO_DUMP, sysrq_cycle, G_N_ELEMENTS(sysrq_cycle), &kdh_fake_ops_dump);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "FAIL");
	assert_reason(&p, "a dump was written to /var/crash/20261126T091500Z, none was expected");
}
END_TEST

/* A failure at a step that is the harness's (modules, disk): ERROR. */
START_TEST(harness_step_error_is_error)
{
	const KdhFakeLine script[] = {
	    {1, FALSE, BOOT, 0},
	    {2, FALSE, "KDH: error step=modules msg=\"insmod virtio.ko failed\"\n", 0},
	    {2.2, FALSE, NULL, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_nothing);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "ERROR");
	assert_reason(&p, "the guest failed at step modules: insmod virtio.ko failed");
	ck_assert_uint_eq(kdh_fake_retrievals(), 0);
}
END_TEST

/* Invalid UTF-8 and escape sequences on the console become text where they
 * enter: verdict.json parses and shows the replacement. */
static const char bad_bytes[] = "[    1.0] garbage \xff\xfe\xc3 \x1b[31mred\x1b[0m\n"
                                "KDH: error step=arm msg=\"bad \xff byte\"\n";

START_TEST(invalid_utf8_console_gives_valid_json)
{
	const KdhFakeLine script[] = {
	    {1, FALSE, BOOT, 0},
	    {2, FALSE, bad_bytes, 0},
	    {3, FALSE, "no newline at the end \xff", 0},
	    {4, FALSE, NULL, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_nothing);
	JsonArray *tail = json_object_get_array_member(p.json, "serial_tail");
	g_autoptr(GString) all = g_string_new(NULL);

	for (guint i = 0; i < json_array_get_length(tail); i++)
		g_string_append_printf(all, "%s\n", json_array_get_string_element(tail, i));
	ck_assert_msg(strstr(all->str, "garbage \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
	                               "\\x1b[31mred\\x1b[0m"),
	              "%s", all->str);
	ck_assert_ptr_nonnull(strstr(all->str, "no newline at the end \xef\xbf\xbd"));
	assert_reason(&p, "the guest failed at step arm: bad \xef\xbf\xbd byte");
	/* The serial log itself keeps the guest's bytes as they were. */
	ck_assert_ptr_nonnull(strstr(p.serial, "garbage \xff\xfe"));
}
END_TEST

/* A console line longer than kdh keeps, and thousands of bogus markers: both
 * bounded. */
START_TEST(console_flood_is_bounded)
{
	g_autoptr(GString) flood = g_string_new(NULL);
	g_autofree char *longline = g_strnfill(100000, 'x');

	for (int i = 0; i < 5000; i++)
		g_string_append_printf(flood, "KDH: bogus n=%d\n", i);
	g_string_append_printf(flood, "%s\n", longline);
	const KdhFakeLine script[] = {{1, FALSE, flood->str, 0}, {2, FALSE, NULL, 0}};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_nothing);

	ck_assert_uint_eq(p.r->ignored_markers->len, 21);
	ck_assert_str_eq(g_ptr_array_index(p.r->ignored_markers, 20), "... and 4980 more");
	assert_ignored(&p, "not a marker kdh knows");
	for (guint i = 0; i < p.r->serial_tail->len; i++)
		ck_assert_uint_le(strlen(g_ptr_array_index(p.r->serial_tail, i)), 4096);
}
END_TEST

/* A guest that writes hundreds of MiB without a newline: streamed through
 * the watch (its memory does not grow with it), said in the result, and
 * the case still judged on its dump; virtlogd rotates the log meanwhile. */
#define FLOOD_BYTES ((gssize)300 << 20)

static const KdhFakeLine flood_cycle[] = {
    {5.0, FALSE, BOOT, 0},
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE, "KDH: trigger type=sysrq\n", 0},
    {8.15, FALSE, kdh_fake_flood, FLOOD_BYTES},
    {8.16, FALSE, "\n", 0},
    {8.17, FALSE, kdh_fake_rotate, 0},
    {8.2, FALSE, PANIC, 0},
    {12.0, FALSE, CSTART, 0},
    {14.0, FALSE, CDONE, 0},
    {14.1, FALSE, POWEROFF, 0},
    {14.2, FALSE, NULL, 0},
};

static glong max_rss_kib(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

START_TEST(console_flood_without_newline_is_streamed)
{
	glong before = max_rss_kib();
	g_auto(Played) p = play(NULL, flood_cycle, G_N_ELEMENTS(flood_cycle), &kdh_fake_ops_dump);

	assert_verdict(&p, "PASS");
	ck_assert_msg(has(p.r->warnings, "console flood: the guest wrote 300 MiB to its console"),
	              "no flood warning");
	ck_assert(has(p.r->warnings, "the console log was rotated 1 times by virtlogd"));
	/* The 300 MiB line became one line cut at the limit. */
	for (guint i = 0; i < p.r->serial_tail->len; i++)
		ck_assert_uint_le(strlen(g_ptr_array_index(p.r->serial_tail, i)), 4096);
	/* Bounded: half the flood at most (the fake's own 1 MiB writes and
	 * the dump check included; ~40 MiB measured, ~64 MiB under ASan,
	 * whose quarantine keeps freed blocks a while). */
	ck_assert_int_lt(max_rss_kib() - before, 150 * 1024);
}
END_TEST

/* virtlogd renames serial.log to serial.log.0 and starts a new one (at
 * 2 MiB by default): the watch follows, in the middle of a phase and with
 * markers written just before and just after, and the case passes. */
static const KdhFakeLine rotating_cycle[] = {
    {5.0, FALSE, BOOT, 0},
    {5.0, FALSE, kdh_fake_rotate, 0},
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE, "KDH: trigger type=sysrq\n", 0},
    {8.1, FALSE, kdh_fake_rotate, 0},
    {8.1, FALSE, "KDH: unknown-after-rotation\n", 0},
    {8.2, FALSE, PANIC, 0},
    {12.0, FALSE, CSTART, 0},
    {12.0, FALSE, "half a ", 0},
    {12.0, FALSE, kdh_fake_rotate, 0},
    {12.1, FALSE, "line\n", 0},
    {14.0, FALSE, CDONE, 0},
    {14.1, FALSE, POWEROFF, 0},
    {14.2, FALSE, NULL, 0},
};

START_TEST(console_rotation_is_followed)
{
	g_auto(Played) p =
	    play(NULL, rotating_cycle, G_N_ELEMENTS(rotating_cycle), &kdh_fake_ops_dump);

	assert_verdict(&p, "PASS");
	assert_phases(&p, "disk boot crash capture shutdown retrieve-wait retrieve verify");
	assert_ignored(&p, "'KDH: unknown-after-rotation': not a marker kdh knows");
	/* A line split across two files is one line. */
	ck_assert(has(p.r->serial_tail, "half a line"));
	ck_assert(has(p.r->warnings, "the console log was rotated 3 times by virtlogd"));
	/* The last part only is in serial.log, as virtlogd leaves it. */
	ck_assert_str_eq(p.serial, "line\n" CDONE POWEROFF);
}
END_TEST

/* Markers forged by a module or userspace: the whole capture announced
 * right after the trigger, with no dump written.  A PASS rests on the dump
 * alone: FAIL, and the rest of the forged lines change nothing. */
static const KdhFakeLine forged_capture[] = {
    {5.0, FALSE, BOOT, 0},
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE, "KDH: trigger type=sysrq\n", 0},
    {8.2, FALSE, CSTART CDONE POWEROFF, 0},
    {8.3, FALSE, "KDH: capture-done rc=0 files=vmcore\n" CDONE POWEROFF, 0},
    {8.4, FALSE, NULL, 0},
};

START_TEST(forged_capture_markers_do_not_pass)
{
	g_auto(Played) p =
	    play(NULL, forged_capture, G_N_ELEMENTS(forged_capture), &kdh_fake_ops_nothing);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "FAIL");
	assert_reason(&p, "no dump on the guest disk (no dump folder in /var/crash)");
	assert_ignored(&p, "'capture-done' was seen before");
	ck_assert_uint_eq(kdh_fake_retrievals(), 1);
}
END_TEST

/* An NMI case whose capture kernel and whose guest after the capture
 * print every marker again, a trigger and a skip among them: one NMI, at
 * the trigger's place, no skip, and the case passes on its dump. */
static const KdhFakeLine forged_after_capture[] = {
    {5.0, FALSE, BOOT, 0},
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE, "KDH: trigger type=nmi\n", 0},
    {0.5, TRUE, "[    9.1] Kernel panic - not syncing: NMI: Not continuing\n", 0},
    {3.0, TRUE, CSTART, 0},
    {3.1, TRUE, BOOT ARMED "KDH: trigger type=nmi\nKDH: skip reason=forged\n", 0},
    {4.0, TRUE, CDONE, 0},
    {4.1, TRUE, "KDH: trigger type=nmi\nKDH: skip reason=forged\n" CSTART CDONE, 0},
    {4.2, TRUE, POWEROFF, 0},
    {4.3, TRUE, NULL, 0},
};

START_TEST(forged_markers_after_the_trigger_do_nothing)
{
	g_auto(Played) p = play("[crash]\ntrigger=nmi\n", forged_after_capture,
	                        G_N_ELEMENTS(forged_after_capture), &kdh_fake_ops_dump);

	ck_assert_uint_eq(kdh_fake_vm_log()->injected[KDH_VM_NMI], 1);
	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "PASS");
	assert_ignored(&p, "'trigger' was seen before");
	assert_ignored(&p, "trigger nmi cannot be skipped");
	assert_ignored(&p, "'capture-start' was seen before");
	assert_ignored(&p, "'capture-done' was seen before");
}
END_TEST

/* virtlogd rotates serial.log at 2 MiB: a guest that wrote 3 MiB before
 * its trigger and rotated twice is still read to the last marker, and the
 * result says where the console went.  Markers forged after the capture
 * (another trigger, a second capture) make kdh do nothing. */
START_TEST(rotated_console_is_followed)
{
	const KdhFakeLine script[] = {
	    {0.1, FALSE, "[    0.000000] Linux version " FIXTURE_RELEASE "\n", 0},
	    {5.0, FALSE, BOOT, 0},
	    {8.0, FALSE, ARMED, 0},
	    {8.01, FALSE, kdh_fake_flood, 3 << 20},
	    {8.02, FALSE, "\n", 0},
	    {8.03, FALSE, kdh_fake_rotate, 0},
	    {8.1, FALSE, "KDH: trigger type=sysrq\n", 0},
	    {8.2, FALSE, PANIC, 0},
	    {12.0, FALSE, CSTART, 0},
	    {12.5, FALSE, kdh_fake_rotate, 0},
	    {14.0, FALSE, CDONE, 0},
	    {14.05, FALSE, "KDH: trigger type=nmi\nKDH: capture-start\n", 0},
	    {14.1, FALSE, POWEROFF, 0},
	    {14.2, FALSE, NULL, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_dump);
	g_autofree char *first = g_build_filename(p.r->results_dir, "serial.log.1", NULL);
	g_autofree char *all = joined(p.r->warnings);

	assert_verdict(&p, "PASS");
	assert_phases(&p, "disk boot crash capture shutdown retrieve-wait retrieve verify");
	ck_assert_msg(has(p.r->warnings, "rotated 2 times by virtlogd (3 MiB written)"), "%s", all);
	ck_assert(g_file_test(first, G_FILE_TEST_IS_REGULAR));
	ck_assert_uint_eq(kdh_fake_vm_log()->injected[KDH_VM_NMI], 0);
	assert_ignored(&p, "KDH: trigger type=nmi");
}
END_TEST

/* A flood that makes virtlogd rotate the log more often than it keeps
 * files: the first kernel's reservation line is in none of them, and the
 * readiness check rests on the line as the watch saw it go by. */
START_TEST(reservation_rotated_away_is_still_seen)
{
	const KdhFakeLine script[] = {
	    {0.1, FALSE, "[    0.000000] Linux version " FIXTURE_RELEASE "\n", 0},
	    {5.0, FALSE, BOOT, 0},
	    {8.0, FALSE, ARMED, 0},
	    {8.01, FALSE, kdh_fake_flood, 1 << 20},
	    {8.02, FALSE, "\n", 0},
	    {8.03, FALSE, kdh_fake_rotate, 0},
	    {8.04, FALSE, kdh_fake_flood, 1 << 20},
	    {8.05, FALSE, "\n", 0},
	    {8.06, FALSE, kdh_fake_rotate, 0},
	    {8.07, FALSE, kdh_fake_flood, 1 << 20},
	    {8.08, FALSE, "\n", 0},
	    {8.09, FALSE, kdh_fake_rotate, 0},
	    {8.10, FALSE, kdh_fake_rotate, 0},
	    {8.2, FALSE, "KDH: trigger type=sysrq\n", 0},
	    {8.3, FALSE, PANIC, 0},
	    {12.0, FALSE, CSTART, 0},
	    {14.0, FALSE, CDONE, 0},
	    {14.1, FALSE, POWEROFF, 0},
	    {14.2, FALSE, NULL, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_dump);
	g_autofree char *checks = joined(p.r->checks);
	g_autofree char *log = g_build_filename(p.r->results_dir, "serial.log", NULL);
	g_autofree char *gone = g_build_filename(p.r->results_dir, "serial.log.3", NULL);

	assert_verdict(&p, "PASS");
	ck_assert_msg(has(p.r->checks, "ready: the kernel reserved 256 MB: [    0.060333] "
	                               "Reserving 256MB of memory at 736MB"),
	              "%s", checks);
	ck_assert(!g_file_test(gone, G_FILE_TEST_EXISTS));
	for (int k = -1; k < 3; k++) {
		g_autofree char *path = k < 0 ? g_strdup(log) : g_strdup_printf("%s.%d", log, k);
		g_autofree char *text = NULL;
		ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "%s", path);
		ck_assert_msg(!strstr(text, "Reserving"), "%s still has the line", path);
	}
}
END_TEST

/* A flood of 100 MiB without a newline, then markers forged by a guest
 * that never crashed: kdh names the flood, holds at most a line of it, and
 * a case without a dump on its disk is not a PASS whatever the console
 * claims. */
START_TEST(flood_and_forged_capture_do_not_pass)
{
	const KdhFakeLine script[] = {
	    {1, FALSE, BOOT, 0},
	    {2, FALSE, ARMED, 0},
	    {2.1, FALSE, kdh_fake_flood, 100 << 20},
	    {2.2, FALSE, "\nKDH: trigger type=sysrq\n" CSTART CDONE POWEROFF, 0},
	    {3, FALSE, NULL, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_nothing);
	g_autofree char *all = joined(p.r->warnings);

	assert_verdict(&p, "FAIL");
	assert_reason(&p, "no dump");
	ck_assert_msg(has(p.r->warnings, "console flood: the guest wrote 100 MiB"), "%s", all);
	for (guint i = 0; i < p.r->serial_tail->len; i++)
		ck_assert_uint_le(strlen(g_ptr_array_index(p.r->serial_tail, i)), 4096);
}
END_TEST

/* The guest says it booted another kernel than the case's. */
START_TEST(wrong_kernel_booted)
{
	const KdhFakeLine script[] = {
	    {1, FALSE, "KDH: boot release=5.10.0-evil\n", 0},
	    {2, FALSE, NULL, 0},
	};
	g_auto(Played) p = play(NULL, script, G_N_ELEMENTS(script), &kdh_fake_ops_nothing);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "ERROR");
	assert_reason(&p, "the guest booted 5.10.0-evil, not " FIXTURE_RELEASE);
}
END_TEST

/* Ctrl-C during retrieval: the case is cancelled, whatever libguestfs says. */
START_TEST(cancel_during_retrieval_says_cancelled)
{
	g_auto(Played) p =
	    play(NULL, sysrq_cycle, G_N_ELEMENTS(sysrq_cycle), &kdh_fake_ops_interrupted);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "ERROR");
	ck_assert_uint_eq(p.r->reasons->len, 1);
	ck_assert_str_eq(g_ptr_array_index(p.r->reasons, 0), "interrupted by SIGINT");
	ck_assert_uint_eq(kdh_fake_retrievals(), 1);
}
END_TEST

/* Ctrl-C while the VM runs: the watch stops, the VM is destroyed. */
static void sleep_then_cancel(gulong usec)
{
	kdh_fake_sleep(usec);
	if (kdh_fake_now() > 3 * G_USEC_PER_SEC)
		kdh_cycle_cancel = SIGTERM;
}

START_TEST(cancel_during_the_watch)
{
	KdhRunOps ops = kdh_fake_ops_dump;
	ops.sleep = sleep_then_cancel;
	g_auto(Played) p = play(NULL, sysrq_cycle, G_N_ELEMENTS(sysrq_cycle), &ops);

	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), "ERROR");
	assert_reason(&p, "interrupted by SIGTERM");
	ck_assert_uint_eq(kdh_fake_vm_log()->destroys, 1);
	ck_assert_uint_eq(kdh_fake_retrievals(), 0);
}
END_TEST

/* Domain names carry the pid and a hash of the case folder: two cases whose
 * names share a long prefix still get different domains, with no counter. */
START_TEST(domain_names_unique_per_case)
{
	g_autofree char *prefix = g_strnfill(80, 'n');
	g_autofree char *text =
	    g_strdup_printf("[scenario]\nname=%s\n[matrix]\nmemory=1G;2G\n", prefix);
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("d.ini", text, NULL);
	g_autofree char *want = g_strdup_printf("kdh-%d-", (int)getpid());
	g_autofree char *first = NULL;
	const KdhFakeLine script[] = {{0, FALSE, NULL, 0}};
	KdhRunContext ctx = {.cache_dir = kdh_cycle_tmp,
	                     .images_dir = kdh_cycle_tmp,
	                     .run_dir = kdh_cycle_tmp,
	                     .backend = &kdh_fake_vm,
	                     .ops = &kdh_fake_ops_nothing,
	                     .cancelled = &kdh_cycle_cancel};

	for (guint i = 0; i < cases->len; i++) {
		kdh_fake_vm_script(script, G_N_ELEMENTS(script));
		g_autoptr(KdhResult) r = kdh_run_case(&ctx, g_ptr_array_index(cases, i));
		const char *name = kdh_fake_vm_log()->name;
		ck_assert_str_eq(r->case_name, ((KdhCase *)g_ptr_array_index(cases, i))->name);
		ck_assert(g_str_has_prefix(name, want));
		if (!first)
			first = g_strdup(name);
		else
			ck_assert_str_ne(first, name);
	}
}
END_TEST

Suite *cycle_suite(void);
Suite *cycle_suite(void)
{
	Suite *s = suite_create("cycle");
	TCase *tc = tcase_create("fake-vm");

	/* A hang guard only: each case plays in milliseconds of real time. */
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, kdh_cycle_setup, kdh_cycle_teardown);
	tcase_add_test(tc, sysrq_cycle_passes_on_the_dump);
	tcase_add_test(tc, nmi_injected_once_in_its_place);
	tcase_add_test(tc, guest_cannot_ask_for_an_nmi);
	tcase_add_loop_test(tc, collector_status_parsed_strictly, 0, G_N_ELEMENTS(statuses));
	tcase_add_test(tc, no_capture_done_is_not_success);
	tcase_add_loop_test(tc, armed_needs_a_loaded_capture_kernel, 0,
	                    G_N_ELEMENTS(loaded_values));
	tcase_add_test(tc, phase_timeout);
	tcase_add_test(tc, boot_timeout_on_a_silent_guest);
	tcase_add_test(tc, shutdown_timeout);
	tcase_add_test(tc, error_marker_fails_a_dump_case);
	tcase_add_test(tc, error_marker_is_the_expected_no_dump);
	tcase_add_test(tc, unexpected_dump_fails);
	tcase_add_test(tc, harness_step_error_is_error);
	tcase_add_test(tc, invalid_utf8_console_gives_valid_json);
	tcase_add_test(tc, console_flood_is_bounded);
	tcase_add_test(tc, console_flood_without_newline_is_streamed);
	tcase_add_test(tc, console_rotation_is_followed);
	tcase_add_test(tc, forged_capture_markers_do_not_pass);
	tcase_add_test(tc, forged_markers_after_the_trigger_do_nothing);
	tcase_add_test(tc, rotated_console_is_followed);
	tcase_add_test(tc, reservation_rotated_away_is_still_seen);
	tcase_add_test(tc, flood_and_forged_capture_do_not_pass);
	tcase_add_test(tc, wrong_kernel_booted);
	tcase_add_test(tc, cancel_during_retrieval_says_cancelled);
	tcase_add_test(tc, cancel_during_the_watch);
	tcase_add_test(tc, domain_names_unique_per_case);
	suite_add_tcase(s, tc);
	return s;
}
