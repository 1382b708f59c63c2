/* The trigger table and what the runner does with a row: the guest's
 * instructions on its command line, the host-side firings (keys, machine
 * check, the hang watchdog's NMI), a guest's skip, a kernel lacking what a
 * trigger needs.  Whole cases play with the fake VM (cycle.h). */
#include <check.h>
#include <string.h>

#include "cycle.h"
#include "support.h"
#include "image/image.h"
#include "scenario/scenario.h"

/* ---- the table ---- */

START_TEST(every_row_is_complete)
{
	gsize n;
	const KdhTrigger *rows = kdh_triggers(&n);
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);

	ck_assert_uint_ge(n, 20);
	for (gsize i = 0; i < n; i++) {
		const KdhTrigger *t = &rows[i];
		ck_assert_msg(t->name && *t->name, "row %zu has no name", i);
		ck_assert_msg(g_hash_table_add(names, (gpointer)t->name), "%s twice", t->name);
		ck_assert_ptr_eq(kdh_trigger_find(t->name), t);
		ck_assert_msg(t->signature && *t->signature, "%s: no signature", t->name);
		ck_assert_msg(t->how && *t->how, "%s: no description", t->name);
		ck_assert_msg(t->sysctls, "%s: sysctls NULL", t->name);
		/* A module or LKDTM action names what to fire and needs it. */
		if (t->action == KDH_ACTION_MODULE)
			ck_assert_msg(t->arg && t->needs == KDH_NEEDS_CRASHMOD, "%s", t->name);
		else if (t->action == KDH_ACTION_LKDTM)
			ck_assert_msg(t->arg && t->needs == KDH_NEEDS_LKDTM, "%s", t->name);
		else
			ck_assert_msg(!t->arg && t->needs == KDH_NEEDS_NOTHING, "%s", t->name);
		/* The host fires only where the guest waits (or freezes). */
		if (t->fire == KDH_FIRE_HOST_NMI || t->fire == KDH_FIRE_HOST_KEY ||
		    t->fire == KDH_FIRE_HOST_MCE)
			ck_assert_msg(t->action == KDH_ACTION_WAIT, "%s", t->name);
		if (t->action == KDH_ACTION_WAIT)
			ck_assert_msg(t->fire != KDH_FIRE_GUEST, "%s: nobody fires", t->name);
		/* "module:bug" names its argument, "lkdtm:BUG" too. */
		if (t->arg)
			ck_assert_msg(g_str_has_suffix(t->name, t->arg), "%s vs %s", t->name,
			              t->arg);
	}
	ck_assert_ptr_null(kdh_trigger_find("module:"));
	ck_assert_ptr_null(kdh_trigger_find("SYSRQ"));
}
END_TEST

/* Every row is proven by a shipped scenario: a trigger without one is a
 * trigger nobody ran. */
START_TEST(every_row_has_a_scenario)
{
	g_autoptr(GPtrArray) cases = kdh_test_shipped_cases();
	g_autoptr(GHashTable) used = g_hash_table_new(g_str_hash, g_str_equal);
	gsize n;
	const KdhTrigger *rows = kdh_triggers(&n);

	for (guint i = 0; i < cases->len; i++)
		g_hash_table_add(used,
		                 (gpointer)((KdhCase *)g_ptr_array_index(cases, i))->trigger->name);
	for (gsize i = 0; i < n; i++)
		ck_assert_msg(g_hash_table_contains(used, rows[i].name),
		              "no scenario in scenarios/ uses trigger %s", rows[i].name);
}
END_TEST

/* `kdh list --triggers` shows the table itself, row for row. */
START_TEST(list_shows_every_row)
{
	const char *text_args[] = {"list", "--triggers", NULL};
	const char *json_args[] = {"list", "--triggers", "--json", NULL};
	const char *bad_args[] = {"list", "--triggers", "scenarios/nmi.ini", NULL};
	g_autofree char *text = NULL, *json = NULL, *err = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	gsize n;
	const KdhTrigger *rows = kdh_triggers(&n);
	JsonArray *array;

	ck_assert_int_eq(kdh_test_run_output(text_args, &text, NULL), 0);
	ck_assert_int_eq(kdh_test_run_output(json_args, &json, NULL), 0);
	ck_assert(json_parser_load_from_data(parser, json, -1, NULL));
	array = json_node_get_array(json_parser_get_root(parser));
	ck_assert_uint_eq(json_array_get_length(array), n);
	for (gsize i = 0; i < n; i++) {
		JsonObject *o = json_array_get_object_element(array, i);
		g_autofree char *line = g_strdup_printf("\n%s ", rows[i].name);
		ck_assert_msg(strstr(text, line), "no line for %s in:\n%s", rows[i].name, text);
		ck_assert_str_eq(json_object_get_string_member(o, "name"), rows[i].name);
		ck_assert_str_eq(json_object_get_string_member(o, "panic"), rows[i].signature);
	}
	ck_assert_int_eq(kdh_test_run_output(bad_args, NULL, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "--triggers takes no scenario"));
}
END_TEST

/* ---- the guest's instructions ---- */

static const KdhFakeLine sysrq_cycle[] = {
    {5.0, FALSE, BOOT, 0},  {8.0, FALSE, ARMED, 0},   {8.1, FALSE, "KDH: trigger type=sysrq\n", 0},
    {8.2, FALSE, PANIC, 0}, {12.0, FALSE, CSTART, 0}, {14.0, FALSE, CDONE, 0},
    {14.1, FALSE, NULL, 0},
};

static const struct {
	const char *extra;
	const char *words; /* what the command line must hold */
} instructions[] = {
    {"[crash]\ntrigger=sysrq\n", "kdh.trigger=sysrq kdh.action=sysrq kdh.sysctl=kernel.sysrq=1 "},
    {"[vm]\ncpus=4\n[crash]\ntrigger=sysrq\ncpu=3\n", " kdh.cpu=3 "},
    {"[crash]\ntrigger=module:bug\n",
     "kdh.trigger=module:bug kdh.action=module kdh.arg=bug kdh.sysctl=kernel.panic_on_oops=1 "},
    {"[crash]\ntrigger=module:hung-task\n",
     "kdh.sysctl=kernel.hung_task_panic=1,kernel.hung_task_timeout_secs=5 "},
    {"[crash]\ntrigger=oom\n", "kdh.action=oom kdh.sysctl=vm.panic_on_oom=1 "},
    {"[crash]\ntrigger=mce\n", "kdh.trigger=mce kdh.action=wait kdh.collector="},
};

START_TEST(command_line_carries_the_row)
{
	g_auto(Played) p = play(instructions[_i].extra, sysrq_cycle, G_N_ELEMENTS(sysrq_cycle),
	                        &kdh_fake_ops_dump);
	const char *cmdline = kdh_fake_vm_log()->cmdline;

	/* The case ran to a verdict (what it is depends on the fixture, not on
	 * the instructions); reading P also keeps clang from calling it unused. */
	ck_assert_ptr_nonnull(p.r);
	ck_assert_uint_gt(p.r->phases->len, 0);
	ck_assert_msg(strstr(cmdline, instructions[_i].words), "'%s' not in '%s'",
	              instructions[_i].words, cmdline);
	/* Only cpu= adds kdh.cpu. */
	ck_assert(!strstr(cmdline, "kdh.cpu=") == !strstr(instructions[_i].extra, "cpu="));
}
END_TEST

/* ---- host-side firing ---- */

/* Expect the fixture dump's own panic (a sysrq crash) whatever the
 * trigger: these tests are about the host's part, not the dump's. */
#define FIXTURE_EXPECT "[expect]\npanic=sysrq triggered crash\nfunction=sysrq_handle_crash\n"

#define HOST_FIRED(type)                                                                           \
	{5.0, FALSE, BOOT, 0}, {8.0, FALSE, ARMED, 0},                                             \
	    {8.1, FALSE, "KDH: trigger type=" type "\n", 0}, {0.2, TRUE, PANIC, 0},                \
	    {3.0, TRUE, CSTART, 0}, {4.0, TRUE, CDONE, 0},                                         \
	{                                                                                          \
		4.1, TRUE, NULL, 0                                                                 \
	}

static const KdhFakeLine key_cycle[] = {HOST_FIRED("sysrq-key")};

START_TEST(sysrq_key_pressed_once_on_trigger)
{
	g_auto(Played) p = play("\n" SCENARIO_BASE "[crash]\ntrigger=sysrq-key\n" FIXTURE_EXPECT,
	                        key_cycle, G_N_ELEMENTS(key_cycle), &kdh_fake_ops_dump);

	assert_verdict(&p, "PASS");
	ck_assert_uint_eq(kdh_fake_vm_log()->injected[KDH_VM_SYSRQ_KEY], 1);
	ck_assert_uint_eq(kdh_fake_vm_log()->injected[KDH_VM_NMI], 0);
	/* Fired when the trigger marker came, not before. */
	ck_assert(kdh_fake_vm_log()->first_injection >= 8.1);
}
END_TEST

static const KdhFakeLine mce_cycle[] = {HOST_FIRED("mce")};

START_TEST(mce_the_hypervisor_cannot_inject_is_a_skip)
{
	kdh_fake_vm_refuse(KDH_VM_MCE);
	g_auto(Played) p = play("\n" SCENARIO_BASE "[crash]\ntrigger=mce\n" FIXTURE_EXPECT,
	                        mce_cycle, G_N_ELEMENTS(mce_cycle), &kdh_fake_ops_dump);

	assert_verdict(&p, "SKIP");
	assert_reason(&p, "the fake cannot do machine check");
	ck_assert_uint_eq(kdh_fake_vm_log()->injected[KDH_VM_MCE], 1);
	ck_assert_uint_eq(kdh_fake_vm_log()->destroys, 1);
	ck_assert_uint_eq(kdh_fake_retrievals(), 0);
}
END_TEST

START_TEST(mce_injected_once_on_trigger)
{
	g_auto(Played) p = play("\n" SCENARIO_BASE "[crash]\ntrigger=mce\n" FIXTURE_EXPECT,
	                        mce_cycle, G_N_ELEMENTS(mce_cycle), &kdh_fake_ops_dump);

	assert_verdict(&p, "PASS");
	ck_assert_uint_eq(kdh_fake_vm_log()->injected[KDH_VM_MCE], 1);
}
END_TEST

/* ---- the hang watchdog ---- */

/* The guest chatters until 14 s, then freezes: the watchdog's NMI comes
 * hang_detect (10) seconds after the last line, not after the trigger
 * (the crash phase's own timeout is 20 s after "armed": 28 s). */
static const KdhFakeLine hang_cycle[] = {
    {5.0, FALSE, BOOT, 0},
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE, "KDH: trigger type=hang\n", 0},
    {12.0, FALSE, "[   12.0] kdh-crash: cpu 0 spinning\n", 0},
    {14.0, FALSE, "[   14.0] still printing\n", 0},
    {0.2, TRUE, "[   25.0] Kernel panic - not syncing: NMI: Not continuing\n", 0},
    {3.0, TRUE, CSTART, 0},
    {4.0, TRUE, CDONE, 0},
    {4.1, TRUE, NULL, 0},
};

START_TEST(hang_watchdog_fires_after_silence)
{
	g_auto(Played) p =
	    play("\n" SCENARIO_BASE "[crash]\ntrigger=hang\nhang_detect=10\n" FIXTURE_EXPECT,
	         hang_cycle, G_N_ELEMENTS(hang_cycle), &kdh_fake_ops_dump);
	double at = kdh_fake_vm_log()->first_injection;

	ck_assert_uint_eq(kdh_fake_vm_log()->injected[KDH_VM_NMI], 1);
	ck_assert_msg(at >= 24.0 && at < 25.0, "NMI at %.1f s, want 10 s after the last line", at);
	assert_check(&p, "silent for 10 s");
	assert_verdict(&p, "PASS");
}
END_TEST

/* ---- a guest's skip ---- */

static const KdhFakeLine skip_cycle[] = {
    {5.0, FALSE, BOOT, 0},
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE,
     "KDH: skip reason=\"no working NMI watchdog: Perf NMI watchdog permanently "
     "disabled\"\n",
     0},
    {8.2, FALSE, "KDH: trigger type=sysrq\n", 0},
    {8.3, FALSE, PANIC, 0},
    {12.0, FALSE, CSTART, 0},
    {14.0, FALSE, CDONE, 0},
    {14.1, FALSE, NULL, 0},
};

START_TEST(skip_honoured_only_where_the_row_allows)
{
	g_auto(Played) hard = play("[crash]\ntrigger=module:hardlockup\n", skip_cycle,
	                           G_N_ELEMENTS(skip_cycle), &kdh_fake_ops_dump);

	assert_verdict(&hard, "SKIP");
	assert_reason(&hard, "the guest cannot fire module:hardlockup: no working NMI watchdog");
	ck_assert_uint_eq(kdh_fake_retrievals(), 0);

	/* sysrq cannot be skipped: the marker is noted and the case goes on. */
	g_auto(Played) sysrq = play(NULL, skip_cycle, G_N_ELEMENTS(skip_cycle), &kdh_fake_ops_dump);
	assert_verdict(&sysrq, "PASS");
	assert_ignored(&sysrq, "trigger sysrq cannot be skipped");
}
END_TEST

/* ---- crash(8) asked for where there is no vmlinux ---- */

START_TEST(crash_yes_without_debug_info_is_a_skip)
{
	g_auto(Played) yes = play("[verify]\ncrash=yes\n", sysrq_cycle, G_N_ELEMENTS(sysrq_cycle),
	                          &kdh_fake_ops_dump);

	assert_verdict(&yes, "SKIP");
	assert_reason(&yes, "crash(8) cross-check asked (crash=yes): kernel " FIXTURE_RELEASE
	                    ": the fake has no vmlinux");
	ck_assert_uint_eq(kdh_fake_vm_log()->starts, 0);

	/* auto: the case runs, without crash. */
	g_auto(Played) automatic =
	    play(NULL, sysrq_cycle, G_N_ELEMENTS(sysrq_cycle), &kdh_fake_ops_dump);
	assert_verdict(&automatic, "PASS");
	ck_assert(!has(automatic.r->checks, "crash(8)"));
}
END_TEST

/* ---- what is prepared per kernel ref ---- */

/* How many images the last preparation asked for with the crash module. */
static guint images_with_crashmod;

static KdhBootImage *image_counting_crashmod(const KdhRunContext *ctx, const KdhCase *c,
                                             const KdhKernel *k, const char *const *extras,
                                             GError **error)
{
	for (const char *const *e = extras; e && *e; e++)
		images_with_crashmod += g_str_has_suffix(*e, "kdh_crash.ko");
	return kdh_fake_image(ctx, c, k, extras, error);
}

/* Two refs of one release (debian:default and its ABI): the module case
 * of the second still gets an image with the crash module and knows its
 * .ko, whatever the first ref's cases needed. */
START_TEST(two_refs_of_one_release_prepared_apart)
{
	static const char text[] = "[scenario]\nname=r\n[kernel]\nref=debian:default\n"
	                           "[matrix]\nref=debian:default;debian:6.1.0-56-amd64\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("r.ini", text, &error);
	g_autoptr(KdhPrepared) p = kdh_prepared_new();
	KdhRunOps ops = kdh_fake_ops_dump;
	KdhRunContext ctx = {.cache_dir = kdh_cycle_tmp, .images_dir = kdh_cycle_tmp, .ops = &ops};
	KdhCase *sysrq_case, *module_case;

	ck_assert_msg(cases, "%s", error ? error->message : "");
	ck_assert_uint_eq(cases->len, 2);
	sysrq_case = g_ptr_array_index(cases, 0);
	module_case = g_ptr_array_index(cases, 1);
	module_case->trigger = kdh_trigger_find("module:panic");
	ops.image = image_counting_crashmod;
	images_with_crashmod = 0;
	ck_assert(kdh_run_prepare_kernels(&ctx, p, cases, &error));
	ck_assert(kdh_run_prepare_guests(&ctx, p, cases, &error));
	ck_assert_str_eq(kdh_prepared_kernel(p, sysrq_case)->release,
	                 kdh_prepared_kernel(p, module_case)->release);
	ck_assert_uint_eq(images_with_crashmod, 1);
	ck_assert_ptr_null(kdh_prepared_crashmod(p, sysrq_case));
	ck_assert_str_eq(kdh_prepared_crashmod(p, module_case), "/nonexistent/kdh_crash.ko");
	ck_assert_ptr_nonnull(kdh_prepared_image(p, module_case));
}
END_TEST

/* A long reason of two-byte characters: bounded, and still UTF-8. */
#define E10  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
#define E100 E10 E10 E10 E10 E10 E10 E10 E10 E10 E10
static const KdhFakeLine long_skip[] = {
    {5.0, FALSE, BOOT, 0},
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE, "KDH: skip reason=\"" E100 E100 E100 "\"\n", 0},
    {8.2, FALSE, NULL, 0},
};

START_TEST(skip_reason_bounded_as_text)
{
	g_auto(Played) p = play("[crash]\ntrigger=module:hardlockup\n", long_skip,
	                        G_N_ELEMENTS(long_skip), &kdh_fake_ops_dump);
	const char *reason = g_ptr_array_index(p.r->reasons, 0);

	assert_verdict(&p, "SKIP");
	ck_assert(g_utf8_validate(reason, -1, NULL));
	ck_assert_uint_le(strlen(reason), 200);
	ck_assert(g_str_has_prefix(reason, "the guest cannot fire module:hardlockup: " E10));
}
END_TEST

/* ---- a kernel without what the trigger needs ---- */

static char *crashmod_unsupported(const KdhRunContext *ctx, const KdhKernel *k, GError **error)
{
	(void)ctx;
	g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_UNSUPPORTED,
	            "import %s has no build tree", k->release);
	return NULL;
}

static char *crashmod_broken(const KdhRunContext *ctx, const KdhKernel *k, GError **error)
{
	(void)ctx, (void)k;
	g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
	            "make modules failed: kdh_crash.c:12: error: expected ';'");
	return NULL;
}

static const struct {
	const char *trigger;
	char *(*crashmod)(const KdhRunContext *, const KdhKernel *, GError **);
	const char *verdict;
	const char *reason;
} blocked[] = {
    {"module:panic", crashmod_unsupported, "SKIP",
     "the crash module for " FIXTURE_RELEASE ": import " FIXTURE_RELEASE " has no build tree"},
    {"module:panic", crashmod_broken, "ERROR", "make modules failed: kdh_crash.c:12"},
    /* The fake kernel has no configuration at all. */
    {"lkdtm:BUG", crashmod_broken, "SKIP", "has no configuration to tell whether it has LKDTM"},
};

START_TEST(kernel_lacking_the_trigger_blocks_its_cases)
{
	KdhRunOps ops = kdh_fake_ops_dump;
	g_autofree char *extra = g_strdup_printf("[crash]\ntrigger=%s\n", blocked[_i].trigger);

	ops.crashmod = blocked[_i].crashmod;
	g_auto(Played) p = play(extra, sysrq_cycle, G_N_ELEMENTS(sysrq_cycle), &ops);
	ck_assert_str_eq(kdh_verdict_name(p.r->verdict), blocked[_i].verdict);
	assert_reason(&p, blocked[_i].reason);
	ck_assert_uint_eq(kdh_fake_vm_log()->starts, 0);
}
END_TEST

Suite *triggers_suite(void);
Suite *triggers_suite(void)
{
	Suite *s = suite_create("triggers");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, every_row_is_complete);
	tcase_add_test(tc, every_row_has_a_scenario);
	tcase_add_test(tc, list_shows_every_row);
	suite_add_tcase(s, tc);

	tc = tcase_create("firing");
	tcase_add_checked_fixture(tc, kdh_cycle_setup, kdh_cycle_teardown);
	tcase_add_loop_test(tc, command_line_carries_the_row, 0, G_N_ELEMENTS(instructions));
	tcase_add_test(tc, sysrq_key_pressed_once_on_trigger);
	tcase_add_test(tc, mce_the_hypervisor_cannot_inject_is_a_skip);
	tcase_add_test(tc, mce_injected_once_on_trigger);
	tcase_add_test(tc, hang_watchdog_fires_after_silence);
	tcase_add_test(tc, skip_honoured_only_where_the_row_allows);
	tcase_add_test(tc, skip_reason_bounded_as_text);
	tcase_add_test(tc, crash_yes_without_debug_info_is_a_skip);
	tcase_add_test(tc, two_refs_of_one_release_prepared_apart);
	tcase_add_loop_test(tc, kernel_lacking_the_trigger_blocks_its_cases, 0,
	                    G_N_ELEMENTS(blocked));
	suite_add_tcase(s, tc);
	return s;
}
