/* kdh sizing's logic without a VM: the bisection played with fake probes
 * (monotone, noisy, all-fail, all-pass, bad bounds), crashkernel= read as
 * the kernel reads it (the 128M rounding), the suggested range list, the
 * distribution defaults and estimators judged, and the report's files
 * (sizing.json read back with json-glib, sizing.svg and junit.xml with
 * libxml2). */
#include <check.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <string.h>

#include "report_sample.h"
#include "sizing/sizing.h"
#include "util/util.h"

#define M KDH_MIB

/* A fake probe: sizes from THRESHOLD up work; NOISE (a size) fails for
 * another reason NOISE_TIMES times first. */
typedef struct {
	guint64 threshold, noise;
	guint noise_times;
} Fake;

static KdhProbeOutcome fake_probe(Fake *f, guint64 size, const char **why)
{
	if (size == f->noise && f->noise_times) {
		f->noise_times--;
		*why = "capture-timeout";
		return KDH_PROBE_OTHER;
	}
	*why = size >= f->threshold ? NULL : "capture-kernel-oom";
	return size >= f->threshold ? KDH_PROBE_PASS : KDH_PROBE_TOO_SMALL;
}

/* Plays a whole search; the sizes probed, in order, into SEEN. */
static void play(KdhSizingSearch *s, Fake *f, GArray *seen)
{
	guint64 size;

	while ((size = kdh_sizing_search_next(s))) {
		const char *why;
		KdhProbeOutcome out = fake_probe(f, size, &why);
		g_array_append_val(seen, size);
		kdh_sizing_search_record(s, size, out, why, 30);
		ck_assert_uint_le(s->probes, 64);
	}
}

START_TEST(bisection_finds_the_boundary)
{
	/* Every threshold on and between the grid's points, 64M..512M by 8M. */
	for (guint64 t = 65 * M; t <= 512 * M; t += 3 * M) {
		KdhSizingSearch s;
		Fake f = {.threshold = t};
		g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(guint64));
		guint64 want = (t + 8 * M - 1) / (8 * M) * (8 * M);

		ck_assert(kdh_sizing_search_init(&s, 1024 * M, 64 * M, 512 * M, 8 * M, NULL));
		play(&s, &f, seen);
		ck_assert_int_eq(s.state, KDH_SEARCH_ANSWERED);
		ck_assert_uint_eq(s.pass, want);
		/* Confirmed: the answer and one step below were both probed. */
		ck_assert_uint_eq(s.fail, want - 8 * M);
		ck_assert_str_eq(s.fail_diagnosis, "capture-kernel-oom");
		ck_assert_uint_eq(g_array_index(seen, guint64, 0), 512 * M);
		ck_assert_uint_eq(g_array_index(seen, guint64, 1), 64 * M);
		ck_assert_uint_le(s.probes, kdh_sizing_bisect_bound(64 * M, 512 * M, 8 * M) + 2);
		kdh_sizing_search_clear(&s);
	}
	/* (512 - 64) / 8 = 56 steps: 6 halvings. */
	ck_assert_uint_eq(kdh_sizing_bisect_bound(64 * M, 512 * M, 8 * M), 6);
	ck_assert_uint_eq(kdh_sizing_bisect_bound(96 * M, 104 * M, 8 * M), 0);
	ck_assert_uint_eq(kdh_sizing_bisect_bound(0, 64 * M, 8 * M), 3);
}
END_TEST

START_TEST(the_bounds_decide_alone)
{
	KdhSizingSearch s;
	Fake all_fail = {.threshold = 1024 * M}, all_pass = {.threshold = 0};
	g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(guint64));

	ck_assert(kdh_sizing_search_init(&s, 1024 * M, 64 * M, 512 * M, 8 * M, NULL));
	play(&s, &all_fail, seen);
	ck_assert_int_eq(s.state, KDH_SEARCH_NONE_WORKS);
	ck_assert_uint_eq(s.probes, 1);
	kdh_sizing_search_clear(&s);

	ck_assert(kdh_sizing_search_init(&s, 1024 * M, 64 * M, 512 * M, 8 * M, NULL));
	play(&s, &all_pass, seen);
	ck_assert_int_eq(s.state, KDH_SEARCH_LOW_PASSES);
	ck_assert_uint_eq(s.pass, 64 * M);
	ck_assert_uint_eq(s.probes, 2);
	kdh_sizing_search_clear(&s);

	/* One step apart: two probes decide. */
	ck_assert(kdh_sizing_search_init(&s, 1024 * M, 96 * M, 104 * M, 8 * M, NULL));
	play(&s, &(Fake){.threshold = 100 * M}, seen);
	ck_assert_int_eq(s.state, KDH_SEARCH_ANSWERED);
	ck_assert_uint_eq(s.pass, 104 * M);
	ck_assert_uint_eq(s.probes, 2);
	kdh_sizing_search_clear(&s);
}
END_TEST

START_TEST(noise_is_retried_never_taken_for_too_small)
{
	KdhSizingSearch s;
	g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(guint64));
	/* 288M (the first middle) times out once: retried, then it works. */
	Fake once = {.threshold = 100 * M, .noise = 288 * M, .noise_times = 1};
	Fake twice = {.threshold = 100 * M, .noise = 288 * M, .noise_times = 2};

	ck_assert(kdh_sizing_search_init(&s, 1024 * M, 64 * M, 512 * M, 8 * M, NULL));
	play(&s, &once, seen);
	ck_assert_int_eq(s.state, KDH_SEARCH_ANSWERED);
	ck_assert_uint_eq(s.pass, 104 * M);
	ck_assert_uint_eq(s.retries, 1);
	ck_assert_uint_le(s.probes, kdh_sizing_bisect_bound(64 * M, 512 * M, 8 * M) + 2 + 1);
	kdh_sizing_search_clear(&s);

	ck_assert(kdh_sizing_search_init(&s, 1024 * M, 64 * M, 512 * M, 8 * M, NULL));
	play(&s, &twice, seen);
	ck_assert_int_eq(s.state, KDH_SEARCH_BLOCKED);
	ck_assert_ptr_nonnull(strstr(s.why, "crashkernel=288M failed twice"));
	ck_assert_ptr_nonnull(strstr(s.why, "capture-timeout"));
	/* Never recorded as too small. */
	ck_assert_uint_ne(s.fail, 288 * M);
	kdh_sizing_search_clear(&s);
}
END_TEST

START_TEST(bad_bounds_refused)
{
	KdhSizingSearch s;
	g_autoptr(GError) error = NULL;

	ck_assert(!kdh_sizing_search_init(&s, M, 128 * M, 64 * M, 8 * M, &error));
	ck_assert_ptr_nonnull(strstr(error->message, "--low < --high"));
	ck_assert(!kdh_sizing_search_init(&s, M, 100 * M, 200 * M, 8 * M, NULL));
	ck_assert(!kdh_sizing_search_init(&s, M, 64 * M, 64 * M, 8 * M, NULL));
	ck_assert(!kdh_sizing_search_init(&s, M, 0, 64 * M, 1024, NULL));
}
END_TEST

START_TEST(probe_outcomes)
{
	ck_assert_int_eq(kdh_sizing_probe_outcome(TRUE, NULL), KDH_PROBE_PASS);
	ck_assert_int_eq(kdh_sizing_probe_outcome(FALSE, "capture-kernel-oom"),
	                 KDH_PROBE_TOO_SMALL);
	ck_assert_int_eq(kdh_sizing_probe_outcome(FALSE, "kexec-load-failed"), KDH_PROBE_TOO_SMALL);
	ck_assert_int_eq(kdh_sizing_probe_outcome(FALSE, "reservation-failed"),
	                 KDH_PROBE_TOO_LARGE);
	ck_assert_int_eq(kdh_sizing_probe_outcome(FALSE, "capture-kernel-panic"), KDH_PROBE_OTHER);
	ck_assert_int_eq(kdh_sizing_probe_outcome(FALSE, "capture-timeout"), KDH_PROBE_OTHER);
	ck_assert_int_eq(kdh_sizing_probe_outcome(FALSE, NULL), KDH_PROBE_OTHER);
}
END_TEST

/* A small guest cannot give --high: sizes from CEILING up cannot be
 * reserved (reservation-failed), and the search looks below them. */
static KdhProbeOutcome capped_probe(guint64 size, guint64 threshold, guint64 ceiling)
{
	return size >= ceiling     ? KDH_PROBE_TOO_LARGE
	       : size >= threshold ? KDH_PROBE_PASS
	                           : KDH_PROBE_TOO_SMALL;
}

START_TEST(too_large_is_searched_below)
{
	static const struct {
		guint64 threshold, ceiling;
		KdhSearchState state;
		guint64 pass;
	} plays[] = {
	    {100 * M, 448 * M, KDH_SEARCH_ANSWERED, 104 * M},
	    {100 * M, 120 * M, KDH_SEARCH_ANSWERED, 104 * M},
	    /* Needs 300M, cannot reserve more than 296M: nothing works. */
	    {300 * M, 297 * M, KDH_SEARCH_NONE_WORKS, 0},
	    /* Even 64M cannot be reserved. */
	    {100 * M, 64 * M, KDH_SEARCH_NONE_WORKS, 0},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(plays); i++) {
		KdhSizingSearch s;
		guint64 size;

		ck_assert(kdh_sizing_search_init(&s, 512 * M, 64 * M, 512 * M, 8 * M, NULL));
		while ((size = kdh_sizing_search_next(&s))) {
			kdh_sizing_search_record(
			    &s, size, capped_probe(size, plays[i].threshold, plays[i].ceiling),
			    "reservation-failed", 30);
			ck_assert_uint_le(s.probes, 16);
		}
		ck_assert_int_eq(s.state, plays[i].state);
		ck_assert_uint_eq(s.pass, plays[i].pass);
		if (plays[i].state == KDH_SEARCH_ANSWERED)
			ck_assert_uint_le(s.probes,
			                  kdh_sizing_bisect_bound(64 * M, 512 * M, 8 * M) + 3);
		else
			ck_assert_ptr_nonnull(s.why);
		kdh_sizing_search_clear(&s);
	}
}
END_TEST

/* ---- crashkernel= as the kernel reads it ---- */

static guint64 eval(const char *expr, guint64 ram)
{
	guint64 size = 1;

	ck_assert_msg(kdh_crashkernel_eval(expr, ram, &size), "%s", expr);
	return size;
}

START_TEST(crashkernel_eval_rounds_ram_to_128M)
{
	const char *fedora = "2G-64G:256M,64G-:512M";

	ck_assert_uint_eq(eval("256M", 1024 * M), 256 * M);
	ck_assert_uint_eq(eval("256M@16M", 1024 * M), 256 * M);
	ck_assert_uint_eq(eval(fedora, 1024 * M), 0);
	ck_assert_uint_eq(eval(fedora, 2048 * M), 256 * M);
	/* A 2 GiB guest shows a little less: rounded up, it matches 2G-. */
	ck_assert_uint_eq(eval(fedora, 2047 * M), 256 * M);
	ck_assert_uint_eq(eval(fedora, 1920 * M), 0);
	ck_assert_uint_eq(eval(fedora, 1921 * M), 256 * M);
	ck_assert_uint_eq(eval(fedora, 64ull * 1024 * M), 512 * M);
	ck_assert_uint_eq(eval("384M-:128M", 383 * M), 128 * M);
	ck_assert_uint_eq(eval("384M-:128M", 256 * M), 0);
	ck_assert_uint_eq(eval("1G-4G:192M,4G-64G:256M,64G-:512M", 4096 * M), 256 * M);
	{
		guint64 size;
		ck_assert(!kdh_crashkernel_eval("", M, &size));
		ck_assert(!kdh_crashkernel_eval("lots", M, &size));
		ck_assert(!kdh_crashkernel_eval("1G-512M:64M", M, &size));
		ck_assert(!kdh_crashkernel_eval("1G:64M", M, &size));
		ck_assert(!kdh_crashkernel_eval("1G-2G:", M, &size));
	}
}
END_TEST

START_TEST(suggestion_covers_every_ram_in_its_ranges)
{
	const KdhSizingPoint points[] = {
	    {2048 * M, 112 * M}, {512 * M, 104 * M}, {1024 * M, 104 * M}, {4096 * M, 136 * M}};
	g_autofree char *s = kdh_sizing_suggest(points, G_N_ELEMENTS(points), 20, 8 * M);

	ck_assert_str_eq(s, "512M-1G:128M,1G-2G:136M,2G-4G:168M,4G-:168M");
	/* Every measured guest and every RAM between two measured ones gets at
	 * least what was measured at or above it. */
	for (gsize i = 0; i < G_N_ELEMENTS(points); i++)
		ck_assert_uint_ge(eval(s, points[i].ram), points[i].size);
	ck_assert_uint_ge(eval(s, 1536 * M), 112 * M);
	ck_assert_uint_eq(eval(s, 384 * M), 0);
	ck_assert_uint_ge(eval(s, 3000 * M), 136 * M);
	{
		/* Sizes never fall as RAM grows; no margin keeps the measurement. */
		const KdhSizingPoint odd[] = {{512 * M, 160 * M}, {1024 * M, 104 * M}};
		g_autofree char *t = kdh_sizing_suggest(odd, 2, 0, 8 * M);
		ck_assert_str_eq(t, "512M-1G:104M,1G-:104M");
		g_autofree char *u = kdh_sizing_suggest(odd, 2, 50, 8 * M);
		ck_assert_str_eq(u, "512M-1G:160M,1G-:160M");
	}
}
END_TEST

START_TEST(defaults_and_estimators)
{
	gsize n;
	const KdhSizingDefault *d = kdh_sizing_defaults(&n);
	const KdhSizingEstimator *e;
	KdhSizingInputs in = {.vmlinuz = 8 * M, .initrd = 30 * M, .modules = 0};

	ck_assert_uint_ge(n, 5);
	for (gsize i = 0; i < n; i++) {
		guint64 size;
		ck_assert_msg(kdh_crashkernel_eval(d[i].expr, 1024 * M, &size), "%s", d[i].expr);
	}
	ck_assert_str_eq(d[2].expr, "384M-:128M");
	e = kdh_sizing_estimators(&n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(e[0].estimate(&in, 1024 * M), 8 * M + 90 * M + 16 * M);
	ck_assert_uint_eq(e[1].estimate(&in, 1024 * M), 4 * 38 * M + 64 * M + 4 * M);
}
END_TEST

/* ---- the report ---- */

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-sizing-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

static KdhSizingRow *row_new(guint64 ram, guint64 threshold, guint noise)
{
	KdhSizingRow *row = g_new0(KdhSizingRow, 1);
	Fake f = {.threshold = threshold, .noise = 512 * M, .noise_times = noise};
	g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(guint64));

	row->probes = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(row->probes, g_strdup("512M works"));
	ck_assert(kdh_sizing_search_init(&row->search, ram, 64 * M, 512 * M, 8 * M, NULL));
	play(&row->search, &f, seen);
	return row;
}

static void row_free(KdhSizingRow *row)
{
	kdh_sizing_search_clear(&row->search);
	g_ptr_array_unref(row->probes);
	g_free(row);
}

static KdhSizingReport sample(GPtrArray *rows)
{
	return (KdhSizingReport){.kernel = "debian:default (6.1.0-56-amd64)",
	                         .image = "mini",
	                         .collector = "makedumpfile",
	                         .trigger = "sysrq",
	                         .low = 64 * M,
	                         .high = 512 * M,
	                         .step = 8 * M,
	                         .margin_pct = 20,
	                         .inputs = {.vmlinuz = 8 * M, .initrd = 30 * M},
	                         .wall_seconds = 300,
	                         .rows = rows};
}

START_TEST(report_files)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)row_free);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	KdhSizingReport r;
	JsonObject *doc, *row0, *debian;
	xmlDocPtr svg, junit;
	g_autofree char *text = NULL, *svg_path = g_build_filename(tmp, "sizing.svg", NULL);
	g_autofree char *junit_path = g_build_filename(tmp, "junit.xml", NULL);

	g_ptr_array_add(rows, row_new(512 * M, 100 * M, 0));
	g_ptr_array_add(rows, row_new(1024 * M, 108 * M, 0));
	g_ptr_array_add(rows, row_new(2048 * M, 1024 * M, 0)); /* none works */
	g_ptr_array_add(rows, row_new(4096 * M, 120 * M, 2));  /* blocked at 512M */
	r = sample(rows);
	ck_assert_int_eq(kdh_sizing_report_status(&r), 1);
	ck_assert_msg(kdh_sizing_report_write(&r, tmp, &error), "%s", error ? error->message : "");

	doc = kdh_test_load_json(parser, tmp, "sizing.json");
	row0 = json_array_get_object_element(json_object_get_array_member(doc, "rows"), 0);
	ck_assert_int_eq(json_object_get_int_member(row0, "smallest_working"), 104 * M);
	ck_assert_int_eq(json_object_get_int_member(row0, "first_failing"), 96 * M);
	ck_assert_str_eq(json_object_get_string_member(row0, "diagnosis"), "capture-kernel-oom");
	ck_assert_str_eq(json_object_get_string_member(doc, "suggestion"), "512M-1G:136M,1G-:136M");
	debian = json_array_get_object_element(json_object_get_array_member(doc, "defaults"), 2);
	ck_assert_str_eq(json_object_get_string_member(debian, "crashkernel"), "384M-:128M");
	{
		JsonObject *at512 = json_array_get_object_element(
		    json_object_get_array_member(debian, "per_ram"), 0);
		ck_assert_int_eq(json_object_get_int_member(at512, "reserves"), 128 * M);
		ck_assert_str_eq(json_object_get_string_member(at512, "verdict"), "enough");
		ck_assert_int_eq(json_object_get_int_member(at512, "wasted"), 24 * M);
	}
	ck_assert_str_eq(
	    json_object_get_string_member(
	        json_array_get_object_element(json_object_get_array_member(doc, "rows"), 3),
	        "state"),
	    "blocked");

	/* The chart is SVG that libxml2 reads: cairo drew the defaults and the
	 * measurement as paths. */
	svg = xmlReadFile(svg_path, NULL, XML_PARSE_NONET);
	ck_assert_ptr_nonnull(svg);
	ck_assert_double_ge(kdh_test_xpath_number(svg, "count(//*[local-name()='path'])"), 6);
	assert_xpath_str(svg, "local-name(/*)", "svg");
	xmlFreeDoc(svg);

	junit = xmlReadFile(junit_path, NULL, XML_PARSE_NONET);
	ck_assert_ptr_nonnull(junit);
	assert_xpath_num(junit, "count(//testcase)", 4);
	assert_xpath_num(junit, "count(//testcase/failure)", 1);
	assert_xpath_num(junit, "count(//testcase/error)", 1);
	assert_xpath_str(junit, "string(//testcase[failure]/@name)", "ram-2G");
	xmlFreeDoc(junit);

	text = kdh_sizing_report_text(&r, FALSE);
	ck_assert_ptr_nonnull(strstr(text, "suggested crashkernel=512M-1G:136M,1G-:136M"));
	ck_assert_ptr_nonnull(strstr(text, "no working size up to --high 512M"));
	ck_assert_ptr_nonnull(strstr(text, "Debian 12 kdump-tools "));
	ck_assert_ptr_nonnull(strstr(text, "128M enough (+24M)"));
	ck_assert_ptr_nonnull(strstr(text, "\n      384M-:128M\n"));
}
END_TEST

START_TEST(report_status)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)row_free);
	KdhSizingReport r;

	g_ptr_array_add(rows, row_new(512 * M, 100 * M, 0));
	r = sample(rows);
	ck_assert_int_eq(kdh_sizing_report_status(&r), 0);
	g_ptr_array_add(rows, row_new(1024 * M, 100 * M, 2));
	ck_assert_int_eq(kdh_sizing_report_status(&r), 3);
}
END_TEST

Suite *sizing_suite(void);
Suite *sizing_suite(void)
{
	Suite *s = suite_create("sizing");
	TCase *tc = tcase_create("logic");

	tcase_add_test(tc, bisection_finds_the_boundary);
	tcase_add_test(tc, the_bounds_decide_alone);
	tcase_add_test(tc, noise_is_retried_never_taken_for_too_small);
	tcase_add_test(tc, bad_bounds_refused);
	tcase_add_test(tc, probe_outcomes);
	tcase_add_test(tc, too_large_is_searched_below);
	tcase_add_test(tc, crashkernel_eval_rounds_ram_to_128M);
	tcase_add_test(tc, suggestion_covers_every_ram_in_its_ranges);
	tcase_add_test(tc, defaults_and_estimators);
	suite_add_tcase(s, tc);
	tc = tcase_create("report");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, report_files);
	tcase_add_test(tc, report_status);
	suite_add_tcase(s, tc);
	return s;
}
