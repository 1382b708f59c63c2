/* Choosing cases: --shard (stable, complete, by name alone), --filter,
 * --timeout-scale, each parsed strictly; and `kdh list`, the expansion
 * printed without starting anything, through the real binary. */
#include <check.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "scenario/scenario.h"
#include "support.h"
#include "util/util.h"

static const struct {
	const char *text;
	guint index, count; /* 0: refused */
} shards[] = {
    {"1/1", 1, 1},
    {"2/4", 2, 4},
    {"4/4", 4, 4},
    {"7/10", 7, 10},
    {"1000/1000", 1000, 1000},
    {"", 0, 0},
    {"1", 0, 0},
    {"/2", 0, 0},
    {"1/", 0, 0},
    {"0/1", 0, 0},
    {"2/1", 0, 0},
    {"1/0", 0, 0},
    {"1/1001", 0, 0},
    {"1001/1001", 0, 0},
    {"+1/2", 0, 0},
    {"1/+2", 0, 0},
    {"-1/2", 0, 0},
    {" 1/2", 0, 0},
    {"1/2 ", 0, 0},
    {"1 /2", 0, 0},
    {"1/ 2", 0, 0},
    {"01/2", 0, 0},
    {"1/02", 0, 0},
    {"1/2/3", 0, 0},
    {"1//2", 0, 0},
    {"a/2", 0, 0},
    {"1/2x", 0, 0},
    {"1.0/2", 0, 0},
    {"0x1/2", 0, 0},
    {"4294967297/4294967298", 0, 0},
    {"1/18446744073709551617", 0, 0},
    {"1/2\n", 0, 0},
};

START_TEST(shard_parse_is_strict)
{
	g_autoptr(GError) error = NULL;
	guint index = 99, count = 99;
	gboolean ok = kdh_shard_parse(shards[_i].text, &index, &count, &error);

	if (shards[_i].count) {
		ck_assert_msg(ok, "'%s': %s", shards[_i].text, error ? error->message : "");
		ck_assert_uint_eq(index, shards[_i].index);
		ck_assert_uint_eq(count, shards[_i].count);
		return;
	}
	ck_assert_msg(!ok, "'%s' accepted as %u/%u", shards[_i].text, index, count);
	ck_assert_uint_eq(index, 99);
	ck_assert_msg(g_str_has_prefix(error->message, "--shard '"), "%s", error->message);
	ck_assert_ptr_nonnull(strstr(error->message, "1 <= I <= N <= 1000"));
	ck_assert_ptr_null(strchr(error->message, '\n'));
}
END_TEST

/* ~50 names of the kind a matrix makes. */
static GPtrArray *names(void)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
	const char *memories[] = {"512M", "1G", "2G", "4G", "8G"};

	for (gsize m = 0; m < G_N_ELEMENTS(memories); m++) {
		for (guint ck = 64; ck <= 640; ck += 64)
			g_ptr_array_add(list, g_strdup_printf("sizing-memory%s-crashkernel%uM",
			                                      memories[m], ck));
	}
	return list;
}

/* Every case in exactly one shard, for every N from 1 to 7; and for N up
 * to 3 no shard empty (50 names: any rule that sends all to one is wrong). */
START_TEST(every_case_in_exactly_one_shard)
{
	g_autoptr(GPtrArray) list = names();

	ck_assert_uint_eq(list->len, 50);
	for (guint n = 1; n <= 7; n++) {
		guint per_shard[8] = {0};
		for (guint i = 0; i < list->len; i++) {
			guint in = 0;
			for (guint s = 1; s <= n; s++) {
				if (kdh_case_in_shard(g_ptr_array_index(list, i), s, n)) {
					in++;
					per_shard[s]++;
				}
			}
			ck_assert_msg(in == 1, "%s is in %u of %u shards",
			              (char *)g_ptr_array_index(list, i), in, n);
		}
		for (guint s = 1; n <= 3 && s <= n; s++)
			ck_assert_msg(per_shard[s] > 0, "shard %u/%u is empty", s, n);
	}
}
END_TEST

/* The rule README.md gives other tools: SHA-256 of the name, first 8 bytes
 * big-endian, mod N, plus 1.  These were computed with Python's hashlib:
 *   int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % n + 1 */
START_TEST(shard_rule_is_fixed)
{
	static const struct {
		const char *name;
		guint n2, n3, n4, n7, n1000;
	} fixed[] = {
	    {"smoke-sysrq", 2, 2, 2, 4, 466},
	    {"nmi", 2, 3, 4, 2, 216},
	    {"no-dump-tiny-crashkernel", 1, 3, 3, 5, 703},
	    {"m-memory1G-crashkernel128M", 2, 1, 2, 4, 934},
	    {"kernel-debian-54", 2, 3, 2, 1, 618},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++) {
		ck_assert(kdh_case_in_shard(fixed[i].name, fixed[i].n2, 2));
		ck_assert(kdh_case_in_shard(fixed[i].name, fixed[i].n3, 3));
		ck_assert(kdh_case_in_shard(fixed[i].name, fixed[i].n4, 4));
		ck_assert(kdh_case_in_shard(fixed[i].name, fixed[i].n7, 7));
		ck_assert(kdh_case_in_shard(fixed[i].name, fixed[i].n1000, 1000));
		ck_assert(kdh_case_in_shard(fixed[i].name, 1, 1));
	}
}
END_TEST

static const char *const matrix = "[scenario]\nname=m\n"
                                  "[matrix]\nmemory=1G;2G\ncrashkernel=128M;256M;384M\n";

static GPtrArray *matrix_cases(void)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *cases = kdh_scenario_load_data("m.ini", matrix, &error);

	ck_assert_msg(cases, "%s", error ? error->message : "");
	ck_assert_uint_eq(cases->len, 6);
	return cases;
}

static char *case_names(GPtrArray *cases)
{
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = 0; i < cases->len; i++)
		g_string_append_printf(out, "%s%s", i ? " " : "",
		                       ((KdhCase *)g_ptr_array_index(cases, i))->name);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

START_TEST(filter_keeps_order)
{
	static const struct {
		const char *glob;
		const char *kept;
	} filters[] = {
	    {NULL, "m-memory1G-crashkernel128M m-memory1G-crashkernel256M "
	           "m-memory1G-crashkernel384M m-memory2G-crashkernel128M "
	           "m-memory2G-crashkernel256M m-memory2G-crashkernel384M"},
	    {"*256M", "m-memory1G-crashkernel256M m-memory2G-crashkernel256M"},
	    {"m-memory2G-*", "m-memory2G-crashkernel128M m-memory2G-crashkernel256M "
	                     "m-memory2G-crashkernel384M"},
	    {"m-memory?G-crashkernel384M", "m-memory1G-crashkernel384M m-memory2G-crashkernel384M"},
	    {"256M", ""},
	    {"M-*", ""},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(filters); i++) {
		g_autoptr(GPtrArray) cases = matrix_cases();
		g_autofree char *kept = NULL;
		kdh_cases_select(cases, filters[i].glob, 0, 0);
		kept = case_names(cases);
		ck_assert_str_eq(kept, filters[i].kept);
	}
}
END_TEST

/* Shards of a filtered list: each case where kdh_case_in_shard puts it,
 * in the original order, the union of the shards the whole. */
START_TEST(select_shards_and_filter)
{
	guint total = 0;

	for (guint s = 1; s <= 3; s++) {
		g_autoptr(GPtrArray) cases = matrix_cases();
		g_autoptr(GPtrArray) want = matrix_cases();
		g_autofree char *got_names = NULL, *want_names = NULL;
		kdh_cases_select(cases, "m-*", s, 3);
		for (guint i = want->len; i-- > 0;) {
			if (!kdh_case_in_shard(((KdhCase *)g_ptr_array_index(want, i))->name, s, 3))
				g_ptr_array_remove_index(want, i);
		}
		got_names = case_names(cases);
		want_names = case_names(want);
		ck_assert_str_eq(got_names, want_names);
		total += cases->len;
	}
	ck_assert_uint_eq(total, 6);
}
END_TEST

static const struct {
	const char *text;
	double x; /* 0: refused */
} scales[] = {
    {"1", 1},
    {"3", 3},
    {"2.5", 2.5},
    {"0.1", 0.1},
    {"100", 100},
    {"100.0", 100},
    {"1.000001", 1.000001},
    {"", 0},
    {"0", 0},
    {"0.0", 0},
    {"0.09", 0},
    {"100.1", 0},
    {"101", 0},
    {"1000", 0},
    {"1e2", 0},
    {"inf", 0},
    {"nan", 0},
    {"+2", 0},
    {"-1", 0},
    {" 2", 0},
    {"2 ", 0},
    {"2.", 0},
    {".5", 0},
    {"0x10", 0},
    {"1,5", 0},
    {"2.5.1", 0},
    {"1.0000001", 0},
    {"2x", 0},
    {"2\n", 0},
};

START_TEST(timeout_scale_parse_is_strict)
{
	g_autoptr(GError) error = NULL;
	double x = -1;
	gboolean ok = kdh_parse_timeout_scale(scales[_i].text, &x, &error);

	if (scales[_i].x > 0) {
		ck_assert_msg(ok, "'%s': %s", scales[_i].text, error ? error->message : "");
		ck_assert_double_eq_tol(x, scales[_i].x, 1e-9);
		return;
	}
	ck_assert_msg(!ok, "'%s' accepted as %g", scales[_i].text, x);
	ck_assert_double_eq(x, -1);
	ck_assert_msg(g_str_has_prefix(error->message, "--timeout-scale '"), "%s", error->message);
	ck_assert_ptr_null(strchr(error->message, '\n'));
}
END_TEST

START_TEST(timeouts_scale_up_and_stay_bounded)
{
	static const struct {
		guint seconds;
		double x;
		guint want;
	} table[] = {
	    {240, 1, 240},
	    {120, 1.1, 132}, /* not 133: 120 * 1.1 is 132.00000000000003 */
	    {600, 2.5, 1500},
	    {7, 0.5, 4},
	    {1, 0.1, 1},
	    {60, 0.1, 6},
	    {9, 0.1, 1},
	    {86400, 100, KDH_TIMEOUT_MAX},
	    {86400, 7, KDH_TIMEOUT_MAX},
	    {86400, 6.999, 604714},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
		KdhCase c = {
		    .timeout_boot = table[i].seconds,
		    .timeout_crash = table[i].seconds,
		    .timeout_capture = table[i].seconds,
		    .timeout_shutdown = table[i].seconds,
		};
		kdh_case_scale_timeouts(&c, table[i].x);
		ck_assert_msg(c.timeout_boot == table[i].want, "%u * %g = %u, want %u",
		              table[i].seconds, table[i].x, c.timeout_boot, table[i].want);
		ck_assert_uint_eq(c.timeout_crash, table[i].want);
		ck_assert_uint_eq(c.timeout_capture, table[i].want);
		ck_assert_uint_eq(c.timeout_shutdown, table[i].want);
	}
}
END_TEST

/* ---- kdh list, through build/kdh ---- */

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-list-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

/* TMP/NAME holding TEXT. */
static char *scenario_file(const char *name, const char *text)
{
	char *path = g_build_filename(tmp, name, NULL);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static const char *const suite_a = "[scenario]\n"
                                   "name=a\n"
                                   "description=two sizes\n"
                                   "[vm]\n"
                                   "memory=1536M\n"
                                   "cpus=2\n"
                                   "[capture]\n"
                                   "compression=zlib\n"
                                   "dump_level=1\n"
                                   "[expect]\n"
                                   "panic=sysrq triggered crash\n"
                                   "[matrix]\n"
                                   "crashkernel=128M;256M\n";

static const char *const suite_b = "# the negative case\n"
                                   "[scenario]\n"
                                   "name=b\n"
                                   "[kernel]\n"
                                   "ref=debian:6.1.0-56-cloud-amd64\n"
                                   "[crash]\n"
                                   "trigger=nmi\n"
                                   "[capture]\n"
                                   "collector=cp\n"
                                   "[vm]\n"
                                   "crashkernel=48M\n"
                                   "[expect]\n"
                                   "outcome=no-dump\n"
                                   "reason=kexec-load-failed\n";

/* The text table: a header, then one line per case; every column starts
 * where its header does. */
START_TEST(list_text_is_aligned)
{
	g_autofree char *a = scenario_file("a.ini", suite_a);
	g_autofree char *b = scenario_file("b.ini", suite_b);
	const char *args[] = {"list", a, b, NULL};
	const char *headers[] = {"NAME",    "KERNEL",    "MEMORY", "CPUS",     "CRASHKERNEL",
	                         "TRIGGER", "COLLECTOR", "EXPECT", "FILE:LINE"};
	g_autofree char *out = NULL, *err = NULL;
	g_autofree char *where_a = g_strdup_printf("%s:2", a),
	                *where_b = g_strdup_printf("%s:3", b);
	const char *rows[3][9] = {
	    {"a-crashkernel128M", "debian:default", "1536M", "2", "128M", "sysrq",
	     "makedumpfile(1,zlib)", "dump", where_a},
	    {"a-crashkernel256M", "debian:default", "1536M", "2", "256M", "sysrq",
	     "makedumpfile(1,zlib)", "dump", where_a},
	    {"b", "debian:6.1.0-56-cloud-amd64", "1G", "1", "48M", "nmi", "cp", "no-dump", where_b},
	};
	g_auto(GStrv) lines = NULL;
	gsize start[9];

	ck_assert_int_eq(kdh_test_run_output(args, &out, &err), 0);
	ck_assert_str_eq(err, "");
	lines = g_strsplit(out, "\n", -1);
	ck_assert_uint_eq(g_strv_length(lines), 5); /* header, 3 cases, "" after the last \n */
	ck_assert_str_eq(lines[4], "");
	for (gsize col = 0; col < 9; col++) {
		const char *at = strstr(lines[0], headers[col]);
		ck_assert_msg(at, "no %s in '%s'", headers[col], lines[0]);
		start[col] = at - lines[0];
	}
	for (gsize r = 0; r < 3; r++) {
		const char *line = lines[r + 1];
		for (gsize col = 0; col < 9; col++) {
			gsize len = strlen(rows[r][col]);
			ck_assert_msg(
			    strlen(line) >= start[col] + len &&
			        strncmp(line + start[col], rows[r][col], len) == 0 &&
			        (line[start[col] + len] == ' ' || line[start[col] + len] == '\0'),
			    "row %zu column %s: want '%s' at %zu in '%s'", r, headers[col],
			    rows[r][col], start[col], line);
		}
	}
}
END_TEST

static const char *member_string(JsonObject *o, const char *key)
{
	ck_assert_msg(json_object_has_member(o, key), "no %s", key);
	return json_object_get_null_member(o, key) ? NULL : json_object_get_string_member(o, key);
}

/* --json parsed back: every field of every case. */
START_TEST(list_json_has_every_field)
{
	g_autofree char *a = scenario_file("a.ini", suite_a);
	g_autofree char *b = scenario_file("b.ini", suite_b);
	const char *args[] = {"list", "--json", "--timeout-scale", "1.5", a, b, NULL};
	g_autofree char *out = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	JsonArray *list;
	JsonObject *o, *t;

	ck_assert_int_eq(kdh_test_run_output(args, &out, NULL), 0);
	ck_assert_msg(json_parser_load_from_data(parser, out, -1, &error), "%s: %s",
	              error ? error->message : "", out);
	list = json_node_get_array(json_parser_get_root(parser));
	ck_assert_uint_eq(json_array_get_length(list), 3);

	o = json_array_get_object_element(list, 1);
	ck_assert_str_eq(member_string(o, "name"), "a-crashkernel256M");
	ck_assert_str_eq(member_string(o, "description"), "two sizes");
	ck_assert_str_eq(member_string(o, "file"), a);
	ck_assert_int_eq(json_object_get_int_member(o, "line"), 2);
	ck_assert_str_eq(member_string(o, "kernel_ref"), "debian:default");
	ck_assert_int_eq(json_object_get_int_member(o, "kernel_line"), 2);
	ck_assert_int_eq(json_object_get_int_member(o, "memory"), 1536LL << 20);
	ck_assert_int_eq(json_object_get_int_member(o, "cpus"), 2);
	ck_assert_str_eq(member_string(o, "crashkernel"), "256M");
	ck_assert_str_eq(member_string(o, "image"), "mini");
	ck_assert_str_eq(member_string(o, "trigger"), "sysrq");
	ck_assert_str_eq(member_string(o, "collector"), "makedumpfile");
	ck_assert_int_eq(json_object_get_int_member(o, "dump_level"), 1);
	ck_assert_str_eq(member_string(o, "compression"), "zlib");
	ck_assert_str_eq(member_string(o, "outcome"), "dump");
	ck_assert_str_eq(member_string(o, "panic"), "sysrq triggered crash");
	t = json_object_get_object_member(o, "timeouts");
	ck_assert_int_eq(json_object_get_int_member(t, "boot"), 360);
	ck_assert_int_eq(json_object_get_int_member(t, "crash"), 180);
	ck_assert_int_eq(json_object_get_int_member(t, "capture"), 900);
	ck_assert_int_eq(json_object_get_int_member(t, "shutdown"), 90);

	o = json_array_get_object_element(list, 2);
	ck_assert_str_eq(member_string(o, "name"), "b");
	ck_assert_ptr_null(member_string(o, "description"));
	ck_assert_int_eq(json_object_get_int_member(o, "kernel_line"), 5);
	ck_assert_str_eq(member_string(o, "kernel_ref"), "debian:6.1.0-56-cloud-amd64");
	ck_assert_str_eq(member_string(o, "trigger"), "nmi");
	ck_assert_str_eq(member_string(o, "collector"), "cp");
	ck_assert(json_object_get_null_member(o, "dump_level"));
	ck_assert_ptr_null(member_string(o, "compression"));
	ck_assert_str_eq(member_string(o, "outcome"), "no-dump");
	ck_assert_ptr_null(member_string(o, "panic"));
}
END_TEST

/* The case names `kdh list --json ARGS... FILE` prints, space-separated. */
static char *listed(const char *const *extra, const char *file)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_autofree char *out = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GString) joined = g_string_new(NULL);
	JsonArray *list;

	g_ptr_array_add(args, "list");
	g_ptr_array_add(args, "--json");
	for (const char *const *e = extra; *e; e++)
		g_ptr_array_add(args, (gpointer)*e);
	g_ptr_array_add(args, (gpointer)file);
	g_ptr_array_add(args, NULL);
	ck_assert_int_eq(kdh_test_run_output((const char *const *)args->pdata, &out, NULL), 0);
	ck_assert_msg(json_parser_load_from_data(parser, out, -1, NULL), "%s", out);
	list = json_node_get_array(json_parser_get_root(parser));
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonObject *o = json_array_get_object_element(list, i);
		const char *name = json_object_get_string_member(o, "name");
		g_string_append_printf(joined, "%s%s", i ? " " : "", name);
	}
	return g_string_free(g_steal_pointer(&joined), FALSE);
}

/* --shard through the binary: the shards' lists together are the whole
 * list, each case once, each where the rule puts it; with --filter. */
START_TEST(list_shards_cover_the_list)
{
	g_autofree char *m = scenario_file("m.ini", matrix);
	const char *none[] = {NULL};
	g_autofree char *whole = listed(none, m);
	g_auto(GStrv) all = g_strsplit(whole, " ", -1);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	ck_assert_uint_eq(g_strv_length(all), 6);
	for (guint s = 1; s <= 4; s++) {
		g_autofree char *shard = g_strdup_printf("%u/4", s);
		const char *extra[] = {"--shard", shard, "--filter", "m-*", NULL};
		g_autofree char *part = listed(extra, m);
		g_auto(GStrv) names = g_strsplit(part, " ", -1);
		for (char **n = names; *n && **n; n++) {
			ck_assert_msg(kdh_case_in_shard(*n, s, 4), "%s listed in shard %u/4", *n,
			              s);
			ck_assert_msg(g_hash_table_add(seen, g_strdup(*n)), "%s in two shards", *n);
		}
	}
	ck_assert_uint_eq(g_hash_table_size(seen), 6);
}
END_TEST

/* Mistakes: exit 2, the place named, nothing on standard output. */
START_TEST(list_refuses_mistakes)
{
	g_autofree char *m = scenario_file("m.ini", matrix);
	g_autofree char *bad = scenario_file(
	    "bad.ini", "[scenario]\nname=x\n[capture]\ncollector=cp\ncompression=lzo\n");
	g_autofree char *bad_ref =
	    scenario_file("ref.ini", "[scenario]\nname=r\n[kernel]\nref=import:/nonexistent.deb\n");
	g_autofree char *want_bad =
	    g_strdup_printf("kdh list: %s:5: [capture] compression: does not apply", bad);
	g_autofree char *want_ref = g_strdup_printf(
	    "kdh list: %s:4: [kernel] ref: '/nonexistent.deb': no such file", bad_ref);
	const struct {
		const char *args[8];
		const char *want;
	} cases[] = {
	    {{"list", bad, NULL}, want_bad},
	    {{"list", m, bad_ref, NULL}, want_ref},
	    {{"list", "--filter", "nothing*", m, NULL},
	     "kdh list: --filter 'nothing*' matches none of the 6 cases"},
	    {{"list", "--filter", "", m, NULL}, "kdh list: --filter: an empty pattern"},
	    {{"list", "--shard", "0/2", m, NULL}, "kdh list: --shard '0/2': expected I/N"},
	    {{"list", "--shard", "1/2\x1b[2J", m, NULL}, "kdh list: --shard '1/2\\033[2J'"},
	    {{"list", "--timeout-scale", "1e3", m, NULL}, "kdh list: --timeout-scale '1e3'"},
	    {{"list", NULL}, "kdh list: name at least one scenario file"},
	    {{"list", "--bogus", m, NULL}, "kdh list: Unknown option --bogus"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *out = NULL, *err = NULL;
		ck_assert_int_eq(kdh_test_run_output(cases[i].args, &out, &err), 2);
		ck_assert_msg(g_str_has_prefix(err, cases[i].want), "case %zu: want '%s' in: %s", i,
		              cases[i].want, err);
		ck_assert_str_eq(out, "");
	}
}
END_TEST

/* A shard that holds no case is no error: another job has them. */
START_TEST(list_empty_shard_is_fine)
{
	g_autofree char *one = scenario_file("one.ini", "[scenario]\nname=smoke-sysrq\n");
	/* smoke-sysrq is in shard 2 of 2 (shard_rule_is_fixed). */
	const char *args[] = {"list", "--json", "--shard", "1/2", one, NULL};
	g_autofree char *out = NULL, *err = NULL;

	ck_assert_int_eq(kdh_test_run_output(args, &out, &err), 0);
	ck_assert_str_eq(g_strstrip(out), "[]");
	ck_assert_msg(strstr(err, "shard 1/2 holds none of the 1 case:"), "%s", err);
}
END_TEST

Suite *select_suite(void);
Suite *select_suite(void)
{
	Suite *s = suite_create("select");
	TCase *tc = tcase_create("select");
	TCase *list = tcase_create("list");

	tcase_add_loop_test(tc, shard_parse_is_strict, 0, G_N_ELEMENTS(shards));
	tcase_add_test(tc, every_case_in_exactly_one_shard);
	tcase_add_test(tc, shard_rule_is_fixed);
	tcase_add_test(tc, filter_keeps_order);
	tcase_add_test(tc, select_shards_and_filter);
	tcase_add_loop_test(tc, timeout_scale_parse_is_strict, 0, G_N_ELEMENTS(scales));
	tcase_add_test(tc, timeouts_scale_up_and_stay_bounded);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(list, setup, teardown);
	tcase_add_test(list, list_text_is_aligned);
	tcase_add_test(list, list_json_has_every_field);
	tcase_add_test(list, list_shards_cover_the_list);
	tcase_add_test(list, list_refuses_mistakes);
	tcase_add_test(list, list_empty_shard_is_fine);
	suite_add_tcase(s, list);
	return s;
}
