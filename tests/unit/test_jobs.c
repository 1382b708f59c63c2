/* Many cases at once without VMs: kdh_run_cases with the fake backend and
 * host steps (tests/support/fake.h), and the host capacity kdh derives its
 * job count from. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "fake.h"
#include "support.h"
#include "run/run.h"
#include "util/util.h"

static char *tmp;
static volatile sig_atomic_t cancel_flag;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-jobs-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
	cancel_flag = 0;
	kdh_fake_ops_reset();
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

/* ---- the job count ---- */

#define MEMINFO(total, avail)                                                                      \
	"MemTotal:       " total " kB\nMemFree:         1000 kB\nMemAvailable:   " avail " kB\n"

START_TEST(capacity_parsed_strictly)
{
	KdhHostCapacity h;

	ck_assert(kdh_host_capacity_parse(MEMINFO("24000000", "23000000"), "0.50 0.4 0.3 1/80 9\n",
	                                  2, &h));
	ck_assert_uint_eq(h.cores, 2);
	ck_assert_uint_eq(h.mem_total, 24000000ULL * 1024);
	ck_assert_uint_eq(h.mem_available, 23000000ULL * 1024);
	ck_assert(h.load > 0.49 && h.load < 0.51);
	/* What the kernel never writes is refused, not guessed at. */
	ck_assert(!kdh_host_capacity_parse("MemTotal: 1 kB\n", "0.1 0 0", 2, &h));
	ck_assert(!kdh_host_capacity_parse(MEMINFO("-5", "1"), "0.1 0 0", 2, &h));
	ck_assert(!kdh_host_capacity_parse(MEMINFO("99999999999999999999", "1"), "0.1", 2, &h));
	ck_assert(!kdh_host_capacity_parse(MEMINFO("10", "1x"), "0.1", 2, &h));
	ck_assert(!kdh_host_capacity_parse(MEMINFO("10", "1"), "junk 0 0", 2, &h));
	ck_assert(!kdh_host_capacity_parse(MEMINFO("10", "1"), "-1 0 0", 2, &h));
	ck_assert(!kdh_host_capacity_parse("XMemTotal: 5 kB\nMemAvailable: 5 kB\n", "0", 2, &h));
}
END_TEST

static const struct {
	guint cores;
	double load;
	guint64 avail_mib;
	guint64 guest_mib;
	guint want;
} choices[] = {
    {2, 0.0, 23000, 1024, 2},   /* this machine, idle: a guest per core */
    {2, 1.2, 23000, 1024, 1},   /* one core busy with something else */
    {2, 5.0, 23000, 1024, 1},   /* never less than one */
    {16, 0.0, 4096, 1024, 1},   /* memory for one beside the appliance */
    {16, 0.0, 8000, 1024, 4},   /* (8000-1536)/(1024+320) = 4 */
    {16, 0.0, 1000, 1024, 1},   /* too little memory: still one (admission decides) */
    {64, 0.0, 500000, 512, 64}, /* cores are the limit */
};

START_TEST(jobs_follow_cores_and_memory)
{
	KdhHostCapacity h = {.cores = choices[_i].cores,
	                     .load = choices[_i].load,
	                     .mem_total = choices[_i].avail_mib << 20,
	                     .mem_available = choices[_i].avail_mib << 20};
	g_autofree char *why = NULL;
	guint got = kdh_jobs_choose(&h, kdh_guest_footprint(choices[_i].guest_mib << 20), &why);

	ck_assert_msg(got == choices[_i].want, "row %d: %u jobs, want %u (%s)", _i, got,
	              choices[_i].want, why);
	ck_assert_ptr_nonnull(strstr(why, "cores free"));
}
END_TEST

/* ---- many cases ---- */

#define BOOT                                                                                       \
	"[    0.06] Reserving 256MB of memory at 736MB for crashkernel (System RAM: 1023MB)\n"     \
	"KDH: boot release=" KDH_FAKE_RELEASE "\n"
#define ARMED "KDH: armed kexec_crash_loaded=1\n"
#define PANIC "[    4.302909] Kernel panic - not syncing: sysrq triggered crash\n"

static const KdhFakeLine cycle[] = {
    {5.0, FALSE, BOOT, 0},
    {8.0, FALSE, ARMED, 0},
    {8.1, FALSE, "KDH: trigger type=sysrq\n", 0},
    {8.2, FALSE, PANIC, 0},
    {12.0, FALSE, "KDH: capture-start\n", 0},
    {14.0, FALSE, "KDH: capture-done rc=0\n", 0},
    {14.1, FALSE, "KDH: poweroff\n", 0},
    {14.2, FALSE, NULL, 0},
};

/* Five cases, one of them a tiny-crashkernel negative (it expects no dump,
 * and the fake's dump makes it FAIL: a verdict of its own). */
#define SUITE                                                                                      \
	"[scenario]\nname=s\n[capture]\ncompression=zlib\ndump_level=31\n"                         \
	"[expect]\npanic=sysrq triggered crash\n"                                                  \
	"[timeouts]\nboot=20\ncrash=20\ncapture=20\nshutdown=20\n"                                 \
	"[matrix]\nmemory=1G;2G;3G;4G;5G\n"

/* The runner's context for fake VMs: cases' folders in RUN_DIR, the VMs'
 * in TMP/vm (made here), JOBS at once, memory BUDGET (0: none). */
static KdhRunContext fake_context(const char *run_dir, const char *vm_dir, const KdhRunOps *ops,
                                  guint jobs, guint64 budget)
{
	KdhRunContext ctx = {
	    .cache_dir = tmp,
	    .images_dir = tmp,
	    .run_dir = run_dir,
	    .vm_dir = vm_dir,
	    .backend = &kdh_fake_vm,
	    .ops = ops,
	    .accel = KDH_ACCEL_TCG,
	    .jobs = jobs,
	    .memory_budget = budget,
	    .cancelled = &cancel_flag,
	};

	ck_assert_int_eq(g_mkdir_with_parents(vm_dir, 0755), 0);
	return ctx;
}

static GPtrArray *run_suite(const KdhRunOps *ops, guint jobs, guint64 budget, GPtrArray **cases)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhPrepared) p = kdh_prepared_new();
	g_autofree char *run_dir = g_build_filename(tmp, "run", NULL);
	g_autofree char *vm_dir = g_build_filename(tmp, "vm", NULL);
	KdhRunContext ctx = fake_context(run_dir, vm_dir, ops, jobs, budget);

	*cases = kdh_scenario_load_data("s.ini", SUITE, &error);
	ck_assert_msg(*cases, "%s", error ? error->message : "");
	kdh_fake_vm_script(cycle, G_N_ELEMENTS(cycle));
	ck_assert(kdh_run_prepare_kernels(&ctx, p, *cases, &error));
	ck_assert(kdh_run_prepare_guests(&ctx, p, *cases, &error));
	return kdh_run_cases(&ctx, p, *cases);
}

/* The VM folders of a run are gone once it returns. */
static void assert_no_vm_files(void)
{
	g_autofree char *vm_dir = g_build_filename(tmp, "vm", NULL);
	g_autoptr(GDir) d = g_dir_open(vm_dir, 0, NULL);

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_null(g_dir_read_name(d));
}

/* As run_suite, over the N hosts HOSTS. */
static GPtrArray *run_hosts(const KdhRunHost *hosts, guint n, GPtrArray **cases)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhPrepared) p = kdh_prepared_new();
	g_autofree char *run_dir = g_build_filename(tmp, "run", NULL);
	g_autofree char *vm_dir = g_build_filename(tmp, "vm", NULL);
	KdhRunContext ctx = fake_context(run_dir, vm_dir, &kdh_fake_ops_dump, 0, 0);

	ctx.hosts = hosts;
	ctx.n_hosts = n;
	*cases = kdh_scenario_load_data("s.ini", SUITE, &error);
	ck_assert_msg(*cases, "%s", error ? error->message : "");
	kdh_fake_vm_script(cycle, G_N_ELEMENTS(cycle));
	ck_assert(kdh_run_prepare_kernels(&ctx, p, *cases, &error));
	ck_assert(kdh_run_prepare_guests(&ctx, p, *cases, &error));
	return kdh_run_cases(&ctx, p, *cases);
}

/* How many results of RESULTS have VERDICT, ran on HOST and (NEEDLE, may
 * be NULL) say NEEDLE first. */
static guint count(GPtrArray *results, const char *verdict, const char *host, const char *needle)
{
	guint n = 0;

	for (guint i = 0; i < results->len; i++) {
		const KdhResult *r = g_ptr_array_index(results, i);
		if (g_str_equal(kdh_verdict_name(r->verdict), verdict) &&
		    g_strcmp0(r->host, host) == 0 &&
		    (!needle ||
		     (r->reasons->len && strstr(g_ptr_array_index(r->reasons, 0), needle))))
			n++;
	}
	return n;
}

/* Two hosts of one job each: two VMs at once, both hosts used, and each
 * verdict names its host. */
START_TEST(cases_spread_over_hosts)
{
	const KdhRunHost hosts[] = {
	    {.uri = "fake://a", .label = "fake://a", .jobs = 1},
	    {.uri = "fake://b", .label = "fake://b", .jobs = 1},
	};
	g_autoptr(GPtrArray) cases = NULL;
	g_autoptr(GPtrArray) results = run_hosts(hosts, 2, &cases);

	ck_assert_uint_eq(kdh_fake_vm_log()->starts, 5);
	ck_assert_uint_eq(kdh_fake_vm_log()->max_running, 2);
	ck_assert_uint_ge(count(results, "PASS", "fake://a", NULL), 1);
	ck_assert_uint_ge(count(results, "PASS", "fake://b", NULL), 1);
	ck_assert_uint_eq(
	    count(results, "PASS", "fake://a", NULL) + count(results, "PASS", "fake://b", NULL), 5);
	assert_no_vm_files();
}
END_TEST

/* A host that drops its connection: its running case is ERROR "host lost"
 * with where the case was, no case goes there again, the others pass on
 * the host left. */
START_TEST(lost_host_takes_no_more_cases)
{
	const KdhRunHost hosts[] = {
	    {.uri = "fake://a", .label = "fake://a", .jobs = 1},
	    {.uri = "fake://lost", .label = "fake://lost", .jobs = 1},
	};
	g_autoptr(GPtrArray) cases = NULL;
	g_autoptr(GPtrArray) results = run_hosts(hosts, 2, &cases);
	const KdhFakeVmLog *log = kdh_fake_vm_log();

	ck_assert_uint_eq(count(results, "ERROR", "fake://lost",
	                        "host lost (fake://lost): libvirt connection lost"),
	                  1);
	ck_assert_uint_eq(count(results, "PASS", "fake://a", NULL), 4);
	/* One VM went to the lost host, none after it. */
	ck_assert_ptr_nonnull(strstr(log->uris, "fake://lost"));
	ck_assert_ptr_null(strstr(strstr(log->uris, "fake://lost") + 1, "fake://lost"));
	assert_no_vm_files();
}
END_TEST

/* Every host lost: the cases not started are ERROR saying so, none
 * hangs. */
START_TEST(every_host_lost_is_error_not_hang)
{
	const KdhRunHost hosts[] = {{.uri = "fake://lost", .label = "fake://lost", .jobs = 1}};
	g_autoptr(GPtrArray) cases = NULL;
	g_autoptr(GPtrArray) results = run_hosts(hosts, 1, &cases);

	ck_assert_uint_eq(count(results, "ERROR", "fake://lost", "host lost (fake://lost)"), 1);
	ck_assert_uint_eq(
	    count(results, "ERROR", NULL, "no host is left to run it: fake://lost was lost"), 4);
	ck_assert_uint_eq(kdh_fake_vm_log()->starts, 1);
}
END_TEST

/* A guest no host can hold is an ERROR naming the largest host; the
 * others run. */
START_TEST(guest_too_big_for_every_host_names_the_largest)
{
	const KdhRunHost hosts[] = {
	    {.uri = "fake://small",
	     .label = "fake://small",
	     .jobs = 1,
	     .memory_budget = kdh_guest_footprint(2ULL << 30)},
	    {.uri = "fake://big",
	     .label = "fake://big",
	     .jobs = 1,
	     .memory_budget = kdh_guest_footprint(4ULL << 30)},
	};
	g_autoptr(GPtrArray) cases = NULL;
	g_autoptr(GPtrArray) results = run_hosts(hosts, 2, &cases);
	const KdhResult *big = g_ptr_array_index(results, 4);

	ck_assert_str_eq(kdh_verdict_name(big->verdict), "ERROR");
	ck_assert_msg(strstr(g_ptr_array_index(big->reasons, 0),
	                     "more than any host holds: the largest, fake://big, holds"),
	              "%s", (char *)g_ptr_array_index(big->reasons, 0));
	ck_assert_uint_eq(kdh_fake_vm_log()->starts, 4);
	/* 3G and 4G fit only the big host. */
	ck_assert_uint_eq(count(results, "PASS", "fake://big", NULL) +
	                      count(results, "PASS", "fake://small", NULL),
	                  4);
	ck_assert_uint_ge(count(results, "PASS", "fake://big", NULL), 2);
}
END_TEST

START_TEST(two_jobs_run_every_case_once)
{
	g_autoptr(GPtrArray) cases = NULL;
	g_autoptr(GPtrArray) results = run_suite(&kdh_fake_ops_dump, 2, 0, &cases);

	ck_assert_uint_eq(results->len, 5);
	for (guint i = 0; i < results->len; i++) {
		const KdhResult *r = g_ptr_array_index(results, i);
		const KdhCase *c = g_ptr_array_index(cases, i);
		g_autofree char *verdict = g_build_filename(r->results_dir, "verdict.json", NULL);
		ck_assert_str_eq(r->case_name, c->name); /* in the order of the cases */
		ck_assert_str_eq(kdh_verdict_name(r->verdict), "PASS");
		ck_assert(g_file_test(verdict, G_FILE_TEST_IS_REGULAR));
	}
	ck_assert_uint_eq(kdh_fake_vm_log()->starts, 5);
	ck_assert_uint_eq(kdh_fake_vm_log()->destroys, 5);
	ck_assert_uint_eq(kdh_fake_vm_log()->max_running, 2);
	ck_assert_uint_eq(kdh_fake_retrievals(), 5);
	/* The first disk waited for the others (all within 90 s): one
	 * appliance read them all. */
	ck_assert_uint_eq(kdh_fake_batches(), 1);
	assert_no_vm_files();
}
END_TEST

/* Memory for the largest guest alone: the guests running at once never
 * take more than the budget, whatever the job count. */
START_TEST(memory_budget_holds_back_vms)
{
	g_autoptr(GPtrArray) cases = NULL;
	guint64 budget = kdh_guest_footprint(5ULL << 30) + (1 << 20);
	g_autoptr(GPtrArray) results = run_suite(&kdh_fake_ops_dump, 4, budget, &cases);

	ck_assert_uint_le(kdh_fake_vm_log()->max_footprint, budget);
	ck_assert_uint_ge(kdh_fake_vm_log()->max_running, 2); /* 1G and 2G fit together */
	ck_assert_uint_eq(kdh_fake_vm_log()->starts, 5);
	for (guint i = 0; i < results->len; i++)
		ck_assert_str_eq(
		    kdh_verdict_name(((const KdhResult *)g_ptr_array_index(results, i))->verdict),
		    "PASS");
}
END_TEST

/* A guest the budget can never hold is an ERROR that names both sizes,
 * never a hang, and the others run. */
START_TEST(guest_larger_than_budget_is_error)
{
	g_autoptr(GPtrArray) cases = NULL;
	g_autoptr(GPtrArray) results =
	    run_suite(&kdh_fake_ops_dump, 2, kdh_guest_footprint(3ULL << 30), &cases);
	const KdhResult *big = g_ptr_array_index(results, 4);

	ck_assert_str_eq(kdh_verdict_name(big->verdict), "ERROR");
	ck_assert_ptr_nonnull(strstr(g_ptr_array_index(big->reasons, 0), "free memory holds"));
	ck_assert_str_eq(
	    kdh_verdict_name(((const KdhResult *)g_ptr_array_index(results, 0))->verdict), "PASS");
	ck_assert_uint_eq(kdh_fake_vm_log()->starts, 3);
}
END_TEST

/* SIGINT once two VMs run: both are destroyed, their overlays removed,
 * the cases not started are NOT-RUN, nothing is retrieved after it (a
 * case may have passed before the second VM started). */
static void sleep_then_interrupt(gulong usec)
{
	kdh_fake_sleep(usec);
	if (kdh_fake_vm_log()->starts - kdh_fake_vm_log()->destroys == 2)
		cancel_flag = SIGINT;
}

START_TEST(interrupted_parallel_run)
{
	g_autoptr(GPtrArray) cases = NULL;
	KdhRunOps ops = kdh_fake_ops_dump;
	g_autoptr(GPtrArray) results = NULL;
	guint not_run = 0, interrupted = 0, passed = 0;

	ops.sleep = sleep_then_interrupt;
	results = run_suite(&ops, 2, 0, &cases);
	for (guint i = 0; i < results->len; i++) {
		const KdhResult *r = g_ptr_array_index(results, i);
		const char *why = r->reasons->len ? g_ptr_array_index(r->reasons, 0) : "";
		if (r->verdict == KDH_VERDICT_PASS) {
			passed++;
			continue;
		}
		ck_assert_str_eq(why, "interrupted by SIGINT");
		ck_assert_msg(r->verdict == KDH_VERDICT_ERROR || r->verdict == KDH_VERDICT_NOT_RUN,
		              "%s: %s", r->case_name, kdh_verdict_name(r->verdict));
		not_run += r->verdict == KDH_VERDICT_NOT_RUN;
		interrupted += r->verdict == KDH_VERDICT_ERROR;
	}
	ck_assert_uint_eq(interrupted, 2);
	ck_assert_uint_eq(not_run + passed, 3);
	ck_assert_uint_ge(not_run, 1);
	ck_assert_uint_eq(kdh_fake_vm_log()->destroys, kdh_fake_vm_log()->starts);
	ck_assert_uint_eq(kdh_fake_retrievals(), passed);
	assert_no_vm_files();
}
END_TEST

/* A session prepares each batch of cases as it comes (kdh sizing's rounds,
 * matrix --resume): what is already made is not made again. */
static guint base_calls;

static char *counting_base(const KdhRunContext *ctx, GError **error)
{
	base_calls++;
	return kdh_fake_base(ctx, error);
}

START_TEST(batches_prepared_once)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhPrepared) p = kdh_prepared_new();
	g_autofree char *run_dir = g_build_filename(tmp, "run", NULL);
	g_autofree char *vm_dir = g_build_filename(tmp, "vm", NULL);
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("s.ini", SUITE, &error);
	g_autoptr(GPtrArray) first = g_ptr_array_new(), second = g_ptr_array_new();
	g_autoptr(GPtrArray) results = NULL;
	KdhRunOps ops = kdh_fake_ops_dump;
	KdhRunContext ctx = fake_context(run_dir, vm_dir, &ops, 2, 0);

	ops.base = counting_base;
	base_calls = 0;
	for (guint i = 0; i < cases->len; i++)
		g_ptr_array_add(i < 2 ? first : second, g_ptr_array_index(cases, i));
	ck_assert(kdh_run_prepare_kernels(&ctx, p, first, &error));
	ck_assert(kdh_run_prepare_guests(&ctx, p, first, &error));
	ck_assert(kdh_run_prepare_kernels(&ctx, p, second, &error));
	ck_assert(kdh_run_prepare_guests(&ctx, p, second, &error));
	ck_assert_uint_eq(base_calls, 1);
	kdh_fake_vm_script(cycle, G_N_ELEMENTS(cycle));
	results = kdh_run_cases(&ctx, p, second);
	ck_assert_uint_eq(results->len, 3);
	for (guint i = 0; i < results->len; i++) {
		const KdhResult *r = g_ptr_array_index(results, i);
		const KdhCase *c = g_ptr_array_index(second, i);
		g_autofree char *scenario = g_strdup_printf("%s %s", c->source_hash, c->name);

		ck_assert_str_eq(kdh_verdict_name(r->verdict), "PASS");
		/* What --resume compares is recorded. */
		ck_assert_str_eq(r->inputs.scenario, scenario);
		ck_assert_ptr_nonnull(r->inputs.kernel);
		ck_assert_ptr_nonnull(r->inputs.image);
	}
}
END_TEST

/* ---- a long run: nothing grows from case to case ---- */

/* This process's open descriptors, and its resident memory in KiB. */
static guint open_fds(void)
{
	g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
	guint n = 0;

	ck_assert_ptr_nonnull(d);
	while (g_dir_read_name(d))
		n++;
	return n;
}

static guint64 resident_kib(void)
{
	g_autofree char *status = NULL;
	const char *at;

	ck_assert(g_file_get_contents("/proc/self/status", &status, NULL, NULL));
	at = strstr(status, "VmRSS:");
	ck_assert_ptr_nonnull(at);
	return g_ascii_strtoull(at + strlen("VmRSS:"), NULL, 10);
}

/* 20 cases in one batch of the two-job runner, the whole way from the fake
 * VM's console to verdict.json and the verified fixture dump. */
#define BATCH                                                                                      \
	"[scenario]\nname=soak\n[capture]\ncompression=zlib\n[expect]\npanic=sysrq triggered "     \
	"crash\n"                                                                                  \
	"[timeouts]\nboot=20\ncrash=20\ncapture=20\nshutdown=20\n"                                 \
	"[matrix]\nmemory=1G;2G;3G;4G;5G\ncrashkernel=160M;192M;224M;256M\n"

static void run_batch(guint n)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhPrepared) p = kdh_prepared_new();
	g_autofree char *run_dir = g_strdup_printf("%s/run-%u", tmp, n);
	g_autofree char *vm_dir = g_build_filename(tmp, "vm", NULL);
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("soak.ini", BATCH, &error);
	g_autoptr(GPtrArray) results = NULL;
	KdhRunContext ctx = fake_context(run_dir, vm_dir, &kdh_fake_ops_dump, 2, 0);

	ck_assert_msg(cases, "%s", error ? error->message : "");
	kdh_fake_vm_script(cycle, G_N_ELEMENTS(cycle));
	ck_assert(kdh_run_prepare_kernels(&ctx, p, cases, &error));
	ck_assert(kdh_run_prepare_guests(&ctx, p, cases, &error));
	results = kdh_run_cases(&ctx, p, cases);
	ck_assert_uint_eq(results->len, 20);
	for (guint i = 0; i < results->len; i++) {
		const KdhResult *r = g_ptr_array_index(results, i);
		g_autofree char *why = joined(r->reasons);
		ck_assert_msg(r->verdict == KDH_VERDICT_PASS, "%s: %s", r->case_name, why);
	}
	/* Each batch's folder goes, so only kdh's own growth is measured. */
	kdh_rm_rf(run_dir);
}

/* 140 cases after a warm-up of 60: the same descriptors open, resident
 * memory within 8 MiB (glibc's per-thread arenas jump by 2-3 MiB once, at
 * a moment threads decide; beyond that, measured here, +30 KiB in 400
 * cases; a leak of 60 KiB a case would show, small ones LeakSanitizer
 * catches in check-asan), the VM folders gone. */
START_TEST(long_run_grows_nothing)
{
	guint fds;
	guint64 rss;

	for (guint n = 0; n < 3; n++)
		run_batch(n);
	fds = open_fds();
	rss = resident_kib();
	for (guint n = 3; n < 10; n++)
		run_batch(n);
	ck_assert_uint_eq(open_fds(), fds);
	ck_assert_uint_le(resident_kib(), rss + 8192);
	ck_assert_uint_eq(kdh_fake_vm_log()->destroys, 20);
	assert_no_vm_files();
}
END_TEST

Suite *jobs_suite(void);
Suite *jobs_suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc = tcase_create("jobs");

	tcase_set_timeout(tc, 30); /* a hang guard only */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, capacity_parsed_strictly);
	tcase_add_loop_test(tc, jobs_follow_cores_and_memory, 0, G_N_ELEMENTS(choices));
	tcase_add_test(tc, two_jobs_run_every_case_once);
	tcase_add_test(tc, memory_budget_holds_back_vms);
	tcase_add_test(tc, guest_larger_than_budget_is_error);
	tcase_add_test(tc, interrupted_parallel_run);
	tcase_add_test(tc, batches_prepared_once);
	tcase_add_test(tc, long_run_grows_nothing);
	tcase_add_test(tc, cases_spread_over_hosts);
	tcase_add_test(tc, lost_host_takes_no_more_cases);
	tcase_add_test(tc, every_host_lost_is_error_not_hang);
	tcase_add_test(tc, guest_too_big_for_every_host_names_the_largest);
	suite_add_tcase(s, tc);
	return s;
}
