/* Distro guests on the host's side: which collectors an image kind has,
 * the dump found by its content whatever its name, the readiness items
 * judged one by one, and a whole distro case played with the fake VM (its
 * settings written into the overlay before boot, its command line). */
#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

#include "cycle.h"
#include "support.h"
#include "scenario/scenario.h"
#include "verdict/verdict.h"

/* ---- the collector table against the image kinds ---- */

static const struct {
	const char *text;  /* the scenario's [vm] and [capture] */
	const char *error; /* NULL: loads; else a piece of the error */
	const char *collector;
} collector_cases[] = {
    {"", NULL, "makedumpfile"},
    {"[vm]\nimage=debian\n", NULL, "kdump-tools"},
    {"[vm]\nimage=debian\n[capture]\ncollector=simple-kdump\n", NULL, "simple-kdump"},
    {"[vm]\nimage=debian\n[capture]\ncollector=arch-wiki\n", NULL, "arch-wiki"},
    {"[vm]\nimage=debian\n[capture]\ncollector=manual\n", NULL, "manual"},
    {"[capture]\ncollector=kdump-tools\n",
     "t.ini:4: [capture] collector: 'kdump-tools' runs in "
     "image=debian, not mini: image=mini has makedumpfile, cp",
     NULL},
    {"[vm]\nimage=debian\n[capture]\ncollector=cp\n",
     "'cp' runs in image=mini, not debian: image=debian has kdump-tools, simple-kdump, "
     "arch-wiki, manual",
     NULL},
    {"[vm]\nimage=debian\n[capture]\ncollector=kdumpctl\n",
     "'kdumpctl' is not one of image=debian's collectors", NULL},
    {"[vm]\nimage=fedora\n", "[vm] image", NULL},
    /* manual copies /proc/vmcore: nothing to filter. */
    {"[vm]\nimage=debian\n[capture]\ncollector=manual\ndump_level=1\n",
     "does not apply to collector=manual", NULL},
};

START_TEST(collectors_belong_to_their_image)
{
	g_autofree char *text = g_strconcat("[scenario]\nname=t\n", collector_cases[_i].text, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("t.ini", text, &error);

	if (!collector_cases[_i].error) {
		ck_assert_msg(cases, "%s", error ? error->message : "");
		ck_assert_str_eq(((KdhCase *)g_ptr_array_index(cases, 0))->collector,
		                 collector_cases[_i].collector);
		return;
	}
	ck_assert_ptr_null(cases);
	ck_assert_msg(strstr(error->message, collector_cases[_i].error), "'%s' not in '%s'",
	              collector_cases[_i].error, error->message);
}
END_TEST

/* Every collector row is complete and has a scenario that runs it. */
START_TEST(every_collector_has_an_image_and_a_scenario)
{
	static const char *const names[] = {"makedumpfile", "cp",        "kdump-tools",
	                                    "simple-kdump", "arch-wiki", "manual"};
	g_autoptr(GPtrArray) cases = kdh_test_shipped_cases();
	g_autoptr(GHashTable) used = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; i < cases->len; i++)
		g_hash_table_add(used, ((KdhCase *)g_ptr_array_index(cases, i))->collector);
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		const KdhCollector *row = kdh_collector_find(names[i]);
		ck_assert_ptr_nonnull(row);
		ck_assert_ptr_nonnull(kdh_image_kind_find(row->image));
		ck_assert_msg(row->how && *row->how, "%s", names[i]);
		ck_assert_msg(g_hash_table_contains(used, names[i]), "no scenario runs %s",
		              names[i]);
	}
}
END_TEST

/* ---- the dump, found by what it holds ---- */

START_TEST(dump_found_by_content_not_name)
{
	g_autofree char *dump_data = NULL;
	gsize len;
	g_autofree char *vmcore = g_build_filename(kdh_cycle_tmp, "vmcore", NULL);
	g_autofree char *dumpfile = g_build_filename(kdh_cycle_tmp, "dump.202611281700", NULL);
	g_autofree char *dmesg = g_build_filename(kdh_cycle_tmp, "dmesg.202611281700", NULL);
	g_autoptr(GPtrArray) files = g_ptr_array_new();
	g_autofree char *why = NULL;

	ck_assert(g_file_get_contents(KDH_FAKE_DUMP, &dump_data, &len, NULL));
	/* A text file named like a dump is not one. */
	ck_assert(g_file_set_contents(vmcore, "not a dump\n", -1, NULL));
	ck_assert(g_file_set_contents(dmesg, "[ 0.000000] Linux version\n", -1, NULL));
	ck_assert(g_file_set_contents(dumpfile, dump_data, len, NULL));
	g_ptr_array_add(files, vmcore);
	g_ptr_array_add(files, dmesg);
	g_ptr_array_add(files, dumpfile);
	ck_assert_str_eq(kdh_verdict_find_dump(files, &why), dumpfile);
	ck_assert_ptr_null(why);

	g_ptr_array_remove_index(files, 2);
	ck_assert_ptr_null(kdh_verdict_find_dump(files, &why));
	ck_assert_msg(strstr(why, "vmcore: ") && strstr(why, "dmesg.202611281700: "), "%s", why);
}
END_TEST

/* ---- readiness ---- */

static KdhSerialLog *log_of(const char *text)
{
	return kdh_serial_log_parse(text, strlen(text), NULL, 0);
}

static const struct {
	const char *line;
	gint64 mb; /* -1: not a reservation line */
} reservations[] = {
    {"[    0.060333] Reserving 256MB of memory at 736MB for crashkernel (System RAM: 1023MB)", 256},
    {"[    0.001136] crashkernel reserved: 0x00000000bf000000 - 0x00000000df000000 (512 MB)", 512},
    {"[    0.0] crashkernel reserved: 0x0 - 0x0 (MB)", -1},
    {"[    0.0] Reserving -5MB of memory at 736MB for crashkernel (System RAM: 1023MB)", -1},
    {"[    0.0] Reserving 99999999999MB of memory at 1MB for crashkernel (System RAM: 1MB)", -1},
    {"[    0.0] Reserving 256MB of memory for something else", -1},
};

START_TEST(reservation_line_parsed_strictly)
{
	g_autofree char *text = g_strconcat(reservations[_i].line, "\n", NULL);
	g_autoptr(KdhSerialLog) log = log_of(text);
	gint64 mb = -1;
	g_autofree char *line = kdh_verdict_reservation(log, &mb);

	ck_assert_int_eq(mb, reservations[_i].mb);
	ck_assert(!line == (reservations[_i].mb < 0));
}
END_TEST

/* The capture kernel's own lines never count as the first kernel's. */
START_TEST(reservation_only_from_the_first_kernel)
{
	g_autoptr(KdhSerialLog) log = log_of(
	    "KDH: boot release=6.1.0-56-amd64\nKDH: capture-start vmcore_size=1\n"
	    "[    0.0] Reserving 256MB of memory at 736MB for crashkernel (System RAM: 1023MB)\n");
	gint64 mb = -1;
	g_autofree char *line = kdh_verdict_reservation(log, &mb);

	ck_assert_ptr_null(line);
}
END_TEST

static const struct {
	const char *cmdline, *loaded, *crash_size, *service_ready, *service;
	gboolean reserved;
	const char *reason; /* NULL: ready */
} readiness[] = {
    {"root=/dev/vda crashkernel=256M", "1", "268435456", "1", "ready to kdump", TRUE, NULL},
    {"root=/dev/vda", "1", "268435456", NULL, NULL, TRUE, "/proc/cmdline has no crashkernel="},
    {"crashkernel=256M", "1", "268435456", NULL, NULL, FALSE, "no crashkernel reservation"},
    {"crashkernel=256M", "0", "268435456", NULL, NULL, TRUE, "kexec_crash_loaded is 0, not 1"},
    {"crashkernel=256M", "1", "0", NULL, NULL, TRUE, "kexec_crash_size is 0"},
    {"crashkernel=256M", "1", "12x", NULL, NULL, TRUE, "'12x', not a number"},
    {"crashkernel=256M", "1", "268435456", "0", "Invalid kdump kernel", TRUE,
     "the kdump-tools service says: Invalid kdump kernel"},
};

START_TEST(readiness_items_fail_one_by_one)
{
	g_autoptr(GPtrArray) cases =
	    kdh_scenario_load_data("t.ini", "[scenario]\nname=t\n[vm]\nimage=debian\n", NULL);
	g_autofree char *text = g_strdup_printf(
	    "%sKDH: boot release=6.1.0-56-amd64\nKDH: capture-start vmcore_size=1\n",
	    readiness[_i].reserved ? "[    0.0] Reserving 256MB of memory at 736MB for "
	                             "crashkernel (System RAM: 1023MB)\n"
	                           : "");
	g_autoptr(KdhSerialLog) log = log_of(text);
	KdhConsoleEvidence con = {
	    .booted_release = g_strdup("6.1.0-56-amd64"),
	    .cmdline = g_strdup(readiness[_i].cmdline),
	    .loaded = g_strdup(readiness[_i].loaded),
	    .crash_size = g_strdup(readiness[_i].crash_size),
	    .service_ready = g_strdup(readiness[_i].service_ready),
	    .service = g_strdup(readiness[_i].service),
	};
	KdhResult *r = kdh_result_new("t");
	g_autofree char *reasons = NULL;

	kdh_verdict_readiness(r, g_ptr_array_index(cases, 0), log, &con);
	reasons = joined(r->reasons);
	if (!readiness[_i].reason) {
		ck_assert_msg(r->verdict == KDH_VERDICT_PASS, "%s", reasons);
		ck_assert(has(r->checks, "ready: the kdump-tools service: ready to kdump"));
		ck_assert_int_eq(r->readiness.reserved_mb, 256);
		ck_assert_int_eq(r->readiness.loaded, 1);
		ck_assert_int_eq(r->readiness.crash_size, 268435456);
		ck_assert_str_eq(r->readiness.crashkernel, "256M");
	} else {
		ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
		ck_assert_uint_eq(r->reasons->len, 1);
		ck_assert_msg(has(r->reasons, readiness[_i].reason), "'%s' not in %s",
		              readiness[_i].reason, reasons);
	}
	kdh_console_evidence_clear(&con);
	kdh_result_free(r);
}
END_TEST

/* A case expecting no dump records what it saw and fails nothing on it:
 * its diagnosis is what it is judged on. */
START_TEST(readiness_only_recorded_without_a_dump_expected)
{
	g_autoptr(GPtrArray) cases =
	    kdh_scenario_load_data("t.ini",
	                           "[scenario]\nname=t\n[expect]\noutcome=no-dump\n"
	                           "reason=kexec-load-failed\n",
	                           NULL);
	KdhConsoleEvidence con = {.booted_release = g_strdup("6.1.0-56-amd64"),
	                          .cmdline = g_strdup("console=ttyS0"),
	                          .loaded = g_strdup("0")};
	g_autoptr(KdhSerialLog) log = log_of("KDH: boot release=6.1.0-56-amd64\n");
	KdhResult *r = kdh_result_new("t");

	kdh_verdict_readiness(r, g_ptr_array_index(cases, 0), log, &con);
	ck_assert_int_eq(r->verdict, KDH_VERDICT_PASS);
	ck_assert_int_eq(r->readiness.loaded, 0);
	ck_assert_ptr_null(r->readiness.crashkernel);
	kdh_console_evidence_clear(&con);
	kdh_result_free(r);
}
END_TEST

/* ---- the settings layer's cache key ---- */

static char *key_of(const char *path, const char *content, guint mode, const char *link)
{
	KdhBootImage img = {.disk = (char *)"/cache/images/debian-x/disk.qcow2"};
	g_autoptr(GPtrArray) files =
	    g_ptr_array_new_with_free_func((GDestroyNotify)kdh_guest_file_free);

	g_ptr_array_add(files, kdh_guest_file_new(path, content, mode));
	if (link)
		g_ptr_array_add(files, kdh_guest_link_new("/etc/l", link));
	return kdh_run_settings_key(&img, files);
}

START_TEST(settings_key_follows_every_byte)
{
	g_autofree char *a = key_of("/etc/kdh/case.conf", "X=1", 0644, NULL);
	g_autofree char *same = key_of("/etc/kdh/case.conf", "X=1", 0644, NULL);
	const char *const others[] = {
	    key_of("/etc/kdh/case.conf", "X=2", 0644, NULL),
	    key_of("/etc/kdh/case.conf", "X=1", 0600, NULL),
	    key_of("/etc/kdh/case.confX", "=1", 0644, NULL), /* a byte moved across fields */
	    key_of("/etc/kdh/case.conf", "X=1", 0644, "/lib/a"),
	};

	ck_assert_str_eq(a, same);
	ck_assert(g_str_has_prefix(a, "image-") && g_str_has_suffix(a, ".qcow2"));
	for (gsize i = 0; i < G_N_ELEMENTS(others); i++) {
		ck_assert_str_ne(a, others[i]);
		g_free((char *)others[i]);
	}
}
END_TEST

/* ---- a distro case played ---- */

static guint configured; /* configure steps the last play asked for */

static char *last_overlay_base; /* what the last case's overlay was made over */

static char *counting_configure(const KdhRunContext *ctx, const KdhCase *c, const KdhBootImage *img,
                                GError **error)
{
	configured++;
	return kdh_fake_configure(ctx, c, img, error);
}

static gboolean noting_overlay(const KdhRunContext *ctx, const char *base, const char *disk,
                               GError **error)
{
	g_free(last_overlay_base);
	last_overlay_base = g_strdup(base);
	return kdh_fake_overlay(ctx, base, disk, error);
}

static char *refusing_configure(const KdhRunContext *ctx, const KdhCase *c, const KdhBootImage *img,
                                GError **error)
{
	(void)ctx, (void)c, (void)img;
	g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED, "launching libguestfs: boom");
	return NULL;
}

#define ARMED_READY                                                                                \
	"KDH: armed kexec_crash_loaded=1 crash_size=268435456 service_ready=1 "                    \
	"service=\"current state   : ready to kdump\"\n"

static const KdhFakeLine distro_cycle[] = {
    {10.0, FALSE, BOOT, 0},
    {18.0, FALSE, ARMED_READY, 0},
    {18.1, FALSE, "KDH: trigger type=sysrq\n", 0},
    {18.2, FALSE, PANIC, 0},
    {30.0, FALSE, CSTART, 0},
    {42.0, FALSE, "KDH: capture-done rc=0 files=dump.202611281700,dmesg.202611281700,\n", 0},
    {44.0, FALSE, NULL, 0},
};

#define DISTRO "[vm]\nimage=debian\n"

START_TEST(distro_case_configured_before_boot)
{
	KdhRunOps ops = kdh_fake_ops_dump;
	g_auto(Played) p =
	    (ops.configure = counting_configure, ops.overlay = noting_overlay, configured = 0,
	     play(DISTRO, distro_cycle, G_N_ELEMENTS(distro_cycle), &ops));
	const char *cmdline = kdh_fake_vm_log()->cmdline;

	assert_verdict(&p, "PASS");
	ck_assert_uint_eq(configured, 1);
	assert_phases(&p, "configure disk boot crash capture shutdown retrieve-wait retrieve "
	                  "verify");
	/* The case's disk is an overlay of its settings layer. */
	ck_assert_str_eq(last_overlay_base, "/layers/case.qcow2");
	g_clear_pointer(&last_overlay_base, g_free);
	/* Its instructions travel in its disk, not on the command line. */
	ck_assert_msg(!strstr(cmdline, "kdh."), "%s", cmdline);
	ck_assert_msg(strstr(cmdline, "crashkernel=256M"), "%s", cmdline);
	ck_assert(has(p.r->checks, "ready: the kdump-tools service: current state   : ready "
	                           "to kdump"));
	ck_assert(has(p.r->checks, "dump file /var/crash/20261126T091500Z/vmcore"));
}
END_TEST

START_TEST(settings_not_written_is_an_error)
{
	KdhRunOps ops = kdh_fake_ops_dump;
	g_auto(Played) p = (ops.configure = refusing_configure,
	                    play(DISTRO, distro_cycle, G_N_ELEMENTS(distro_cycle), &ops));

	assert_verdict(&p, "ERROR");
	assert_reason(&p, "writing the case's settings into its disk: launching libguestfs: boom");
	ck_assert_uint_eq(kdh_fake_vm_log()->starts, 0);
}
END_TEST

/* A service that never became ready: the guest says so and stops. */
static const KdhFakeLine not_ready_cycle[] = {
    {5.0, FALSE, BOOT, 0},
    {15.0, FALSE,
     "KDH: armed kexec_crash_loaded=0 crash_size=268435456 service_ready=0 "
     "service=\"current state   : Not ready to kdump\"\n",
     0},
    {15.1, FALSE, "KDH: error step=arm msg=\"kdump-tools not ready after 240 s\"\n", 0},
    {16.0, FALSE, NULL, 0},
};

START_TEST(service_never_ready_fails_with_its_words)
{
	g_auto(Played) p =
	    play(DISTRO, not_ready_cycle, G_N_ELEMENTS(not_ready_cycle), &kdh_fake_ops_nothing);

	assert_verdict(&p, "FAIL");
	assert_reason(&p, "not ready: /sys/kernel/kexec_crash_loaded is 0, not 1");
	assert_reason(&p, "not ready: the kdump-tools service says: current state   : Not ready "
	                  "to kdump");
}
END_TEST

Suite *distro_suite(void);
Suite *distro_suite(void)
{
	Suite *s = suite_create("distro");
	TCase *tc = tcase_create("collectors");

	tcase_add_loop_test(tc, collectors_belong_to_their_image, 0, G_N_ELEMENTS(collector_cases));
	tcase_add_test(tc, every_collector_has_an_image_and_a_scenario);
	tcase_add_test(tc, settings_key_follows_every_byte);
	suite_add_tcase(s, tc);

	tc = tcase_create("readiness");
	tcase_add_loop_test(tc, reservation_line_parsed_strictly, 0, G_N_ELEMENTS(reservations));
	tcase_add_test(tc, reservation_only_from_the_first_kernel);
	tcase_add_loop_test(tc, readiness_items_fail_one_by_one, 0, G_N_ELEMENTS(readiness));
	tcase_add_test(tc, readiness_only_recorded_without_a_dump_expected);
	suite_add_tcase(s, tc);

	tc = tcase_create("cases");
	tcase_add_checked_fixture(tc, kdh_cycle_setup, kdh_cycle_teardown);
	tcase_add_test(tc, dump_found_by_content_not_name);
	tcase_add_test(tc, distro_case_configured_before_boot);
	tcase_add_test(tc, settings_not_written_is_an_error);
	tcase_add_test(tc, service_never_ready_fails_with_its_words);
	suite_add_tcase(s, tc);
	return s;
}
