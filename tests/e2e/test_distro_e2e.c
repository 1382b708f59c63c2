/* End to end, every part real, the distro guest: build/kdh builds (or finds)
 * the Debian 12 image for the default kernel, boots it with libvirt, the
 * distribution's own kdump workflow saves the dump, kdh reads it back
 * through libguestfs and verifies it.  `make check` runs Debian's
 * kdump-tools with sysrq; `make check-full` (tag slow) the seeds' other
 * workflows, the host's NMI and a module crash under kdump-tools, and the
 * capture kernel running out of memory at crashkernel=128M. */
#include <check.h>
#include <glib.h>
#include <string.h>

#include "support.h"
#include "util/util.h"

static char *results;

static void setup(void)
{
	results = g_dir_make_tmp("kdh-distro-XXXXXX", NULL);
	ck_assert_ptr_nonnull(results);
}

static void teardown(void)
{
	kdh_rm_rf(results);
	g_free(results);
}

static void run_kdh(const char *const *args, int want_exit)
{
	GPid pid = 0;

	ck_assert_int_eq(kdh_test_run(args, &pid), want_exit);
	kdh_test_assert_nothing_left(pid);
}

/* V's dump.file matches the glob PATTERN, and its format holds FORMAT. */
static void assert_dump(JsonObject *v, const char *pattern, const char *format)
{
	JsonObject *dump = json_object_get_object_member(v, "dump");
	const char *file = json_object_get_string_member(dump, "file");
	const char *got = json_object_get_string_member(dump, "format");

	ck_assert_msg(file && g_pattern_match_simple(pattern, file), "dump file %s, not %s",
	              file ? file : "(none)", pattern);
	ck_assert_msg(got && strstr(got, format), "format %s, not %s", got ? got : "(none)",
	              format);
}

START_TEST(kdump_tools_saves_a_dump_of_the_sysrq_crash)
{
	const char *args[] = {"run",       "--keep-dumps", "never",
	                      "--results", results,        "scenarios/distro-kdump-tools.ini",
	                      NULL};
	const char *const needles[] = {"ready: /proc/cmdline has crashkernel=256M",
	                               "ready: the kernel reserved 256 MB",
	                               "ready: capture kernel loaded",
	                               "ready: the kdump-tools service",
	                               "dump dmesg: ",
	                               "sysrq triggered crash",
	                               "found by its content",
	                               NULL};
	const char *list[] = {"image", "list", NULL};
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *out = NULL;
	JsonObject *v, *ready;

	run_kdh(args, 0);
	v = kdh_test_assert_case(results, "distro-kdump-tools", "PASS", needles, parser);
	/* kdump-tools' own layout: /var/crash/<YYYYMMDDHHMM>/dump.<stamp>. */
	assert_dump(v, "/var/crash/20*/dump.*", "kdump-compressed");
	ready = json_object_get_object_member(v, "readiness");
	ck_assert_int_eq(json_object_get_int_member(ready, "kexec_crash_loaded"), 1);
	ck_assert_int_eq(json_object_get_int_member(ready, "reserved_mb"), 256);
	ck_assert_int_eq(json_object_get_int_member(ready, "service_ready"), 1);

	/* The image the run built is in the cache's list. */
	ck_assert_int_eq(kdh_test_run_output(list, &out, NULL), 0);
	ck_assert_msg(strstr(out, "debian-"), "%s", out);
}
END_TEST

START_TEST(every_workflow_and_a_capture_oom)
{
	const char *args[] = {"run",
	                      "--jobs",
	                      "2",
	                      "--keep-dumps",
	                      "never",
	                      "--results",
	                      results,
	                      "scenarios/distro-simple-kdump.ini",
	                      "scenarios/distro-arch-wiki.ini",
	                      "scenarios/distro-manual.ini",
	                      "scenarios/distro-triggers.ini",
	                      "scenarios/distro-capture-oom.ini",
	                      NULL};
	static const struct {
		const char *name, *verdict, *needle, *file, *format;
	} want[] = {
	    {"distro-simple-kdump", "PASS", "sysrq triggered crash", "/var/crash/*/vmcore.kdump",
	     "kdump-compressed"},
	    {"distro-arch-wiki", "PASS", "sysrq triggered crash", "/var/crash/crashdump-*",
	     "kdump-compressed"},
	    {"distro-manual", "PASS", "sysrq triggered crash", "/var/crash/*/vmcore", "ELF"},
	    {"distro-triggers-triggernmi", "PASS", "exc_nmi", "/var/crash/*/dump.*",
	     "kdump-compressed"},
	    {"distro-triggers-triggermodule_bug", "PASS", "kernel BUG at", "/var/crash/*/dump.*",
	     "kdump-compressed"},
	    {"distro-capture-oom", "PASS", "capture-kernel-oom", NULL, NULL},
	};

	run_kdh(args, 0);
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		const char *const needles[] = {want[i].needle, NULL};
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonObject *v =
		    kdh_test_assert_case(results, want[i].name, want[i].verdict, needles, parser);
		if (want[i].file)
			assert_dump(v, want[i].file, want[i].format);
	}
}
END_TEST

Suite *distro_e2e_suite(void);
Suite *distro_e2e_suite(void)
{
	Suite *s = suite_create("distro-e2e");
	TCase *tc = tcase_create("kdump-tools");

	tcase_set_tags(tc, "e2e");
	/* A cold image build is minutes (the packages, the kdump initramfs). */
	tcase_set_timeout(tc, 2400);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, kdump_tools_saves_a_dump_of_the_sysrq_crash);
	suite_add_tcase(s, tc);

	tc = tcase_create("workflows");
	tcase_set_tags(tc, "e2e slow");
	tcase_set_timeout(tc, 3600);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_workflow_and_a_capture_oom);
	suite_add_tcase(s, tc);
	return s;
}
