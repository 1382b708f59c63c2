/* Scenario parsing: the schema, defaults, matrix expansion and every error
 * naming file, line and key. */
#include <check.h>
#include <glib.h>

#include "scenario/scenario.h"

static const char *const good = "[scenario]\n"
                                "name=smoke\n"
                                "[kernel]\n"
                                "ref=debian:6.1.0-56-amd64   # a comment\n"
                                "[vm]\n"
                                "memory=2G\n"
                                "crashkernel=512M-2G:128M,2G-:256M\n"
                                "[expect]\n"
                                "panic=sysrq triggered crash\n";

START_TEST(parses_values_and_defaults)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("good.ini", good, &error);

	ck_assert_msg(cases, "%s", error ? error->message : "");
	ck_assert_uint_eq(cases->len, 1);
	const KdhCase *c = g_ptr_array_index(cases, 0);
	ck_assert_str_eq(c->name, "smoke");
	ck_assert_str_eq(c->kernel_ref, "debian:6.1.0-56-amd64");
	ck_assert_uint_eq(c->memory, 2ULL << 30);
	ck_assert_uint_eq(c->cpus, 1);
	ck_assert_str_eq(c->crashkernel, "512M-2G:128M,2G-:256M");
	ck_assert_str_eq(c->trigger, "sysrq");
	ck_assert_str_eq(c->collector, "makedumpfile");
	ck_assert_uint_eq(c->dump_level, 31);
	ck_assert_str_eq(c->expect_panic, "sysrq triggered crash");
	ck_assert_int_eq(c->outcome, KDH_OUTCOME_DUMP);
}
END_TEST

/* Each bad file and the exact place its error must name. */
static const struct {
	const char *text;
	const char *message;
} bad[] = {
    {"[scenario]\nname=x\n[vm]\ncrashkernel=12Q\n", "bad.ini:4: [vm] crashkernel: '12Q'"},
    {"[scenario]\nname=x\n[vm]\nmemory=1X\n", "bad.ini:4: [vm] memory: '1X' is not a size"},
    {"[scenario]\nname=x\n[vm]\ncolour=red\n", "bad.ini:4: [vm] colour: unknown key"},
    {"[scenario]\nname=x\n[flavour]\n", "bad.ini:3: unknown group [flavour]"},
    {"[scenario]\nname=x\nname=y\n", "bad.ini:3: [scenario] name: given twice"},
    {"[scenario]\nname=x\njunk\n", "bad.ini:3: expected key=value"},
    {"name=x\n", "bad.ini:1: key outside of any [group]"},
    {"[scenario]\nname=x\n[crash]\ntrigger=bomb\n",
     "bad.ini:4: [crash] trigger: 'bomb' is not one of: sysrq, nmi"},
    {"[scenario]\nname=x\n[capture]\ndump_level=32\n",
     "bad.ini:4: [capture] dump_level: '32' is not a number in 0..31"},
    {"[vm]\nmemory=1G\n", "bad.ini: no [scenario] group"},
    {"[scenario]\ndescription=d\n", "bad.ini: [scenario] name: required, but missing"},
    {"[scenario]\nname=x\n[matrix]\nmemory=1G;3Z\n", "bad.ini:4: [vm] memory: '3Z'"},
    {"[scenario]\nname=x\n[matrix]\nname=a;b\n", "bad.ini:4: [matrix] name: unknown key"},
    {"[scenario]\nname=x\n[vm]\ncrashkernel=auto\n", "bad.ini:4: [vm] crashkernel: 'auto'"},
    {"[scenario]\nname=x\n[vm]\ncpus=0\n", "bad.ini:4: [vm] cpus: '0' is not a number"},
};

START_TEST(errors_name_file_line_and_key)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("bad.ini", bad[_i].text, &error);

	ck_assert_ptr_null(cases);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(g_str_has_prefix(error->message, bad[_i].message),
	              "case %d: got \"%s\", want prefix \"%s\"", _i, error->message,
	              bad[_i].message);
}
END_TEST

START_TEST(matrix_expands_cross_product)
{
	const char *text = "[scenario]\nname=m\n[vm]\nmemory=1G\n"
	                   "[matrix]\nmemory=1G;2G\ncrashkernel=128M;256M;384M\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("m.ini", text, &error);

	ck_assert_msg(cases, "%s", error ? error->message : "");
	ck_assert_uint_eq(cases->len, 6);
	const KdhCase *first = g_ptr_array_index(cases, 0);
	const KdhCase *last = g_ptr_array_index(cases, 5);
	ck_assert_str_eq(first->name, "m-memory1G-crashkernel128M");
	ck_assert_uint_eq(first->memory, 1ULL << 30);
	ck_assert_str_eq(last->name, "m-memory2G-crashkernel384M");
	ck_assert_uint_eq(last->memory, 2ULL << 30);
	ck_assert_str_eq(last->crashkernel, "384M");
}
END_TEST

START_TEST(missing_file_is_an_error)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load("/nonexistent/x.ini", &error);

	ck_assert_ptr_null(cases);
	ck_assert_ptr_nonnull(strstr(error->message, "/nonexistent/x.ini"));
}
END_TEST

START_TEST(names_are_path_safe)
{
	const char *text = "[scenario]\nname=../../etc/x y\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("n.ini", text, &error);

	ck_assert_ptr_nonnull(cases);
	const KdhCase *c = g_ptr_array_index(cases, 0);
	ck_assert_ptr_null(strchr(c->name, '/'));
	ck_assert_str_eq(c->name, ".._.._etc_x_y");
}
END_TEST

START_TEST(sizes)
{
	guint64 b = 0;

	ck_assert(kdh_parse_size("256M", &b) && b == 256ULL << 20);
	ck_assert(kdh_parse_size("4096", &b) && b == 4096);
	ck_assert(kdh_parse_size("1g", &b) && b == 1ULL << 30);
	ck_assert(!kdh_parse_size("12Q", &b));
	ck_assert(!kdh_parse_size("", &b));
	ck_assert(!kdh_parse_size("-1M", &b));
	ck_assert(!kdh_parse_size("1MB", &b));
	ck_assert(!kdh_parse_size("99999999999999999999", &b));
	ck_assert(!kdh_parse_size("20000000000T", &b));
	ck_assert(kdh_crashkernel_valid("256M@16M"));
	ck_assert(kdh_crashkernel_valid("1G-4G:256M,4G-:512M"));
	ck_assert(!kdh_crashkernel_valid("4G-1G:256M"));
	ck_assert(!kdh_crashkernel_valid("0"));
	ck_assert(!kdh_crashkernel_valid("256M@"));
}
END_TEST

Suite *scenario_suite(void);
Suite *scenario_suite(void)
{
	Suite *s = suite_create("scenario");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parses_values_and_defaults);
	tcase_add_loop_test(tc, errors_name_file_line_and_key, 0, G_N_ELEMENTS(bad));
	tcase_add_test(tc, matrix_expands_cross_product);
	tcase_add_test(tc, missing_file_is_an_error);
	tcase_add_test(tc, names_are_path_safe);
	tcase_add_test(tc, sizes);
	suite_add_tcase(s, tc);
	return s;
}
