/* Every input a fuzz target ever crashed on (tests/fuzz/regressions/<target>/,
 * committed with its fix) replayed through the very body the libFuzzer
 * program runs (tests/fuzz/entry.h), in the ordinary test build: a fixed bug
 * that comes back fails here, without libFuzzer.  Each target's folder must
 * hold at least one input, so a target cannot lose its regressions silently.
 * check-asan runs this under AddressSanitizer and UBSan as well. */
#include <check.h>
#include <glib.h>

#include "entry.h"

#define REGRESSIONS "tests/fuzz/regressions"

static const KdhFuzzTarget targets[] = {
    {"diskdump", kdh_fuzz_dump},     {"elf", kdh_fuzz_dump},      {"flat", kdh_fuzz_dump},
    {"scenario", kdh_fuzz_scenario}, {"matrix", kdh_fuzz_matrix}, {"marker", kdh_fuzz_marker},
    {"console", kdh_fuzz_console},   {"field", kdh_fuzz_field},   {"crash", kdh_fuzz_crash},
};

START_TEST(every_regression_replays)
{
	const KdhFuzzTarget *t = &targets[_i];
	g_autofree char *dir_path = g_build_filename(REGRESSIONS, t->name, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, &error);
	const char *name;
	guint n = 0;

	ck_assert_msg(dir, "%s: %s", dir_path, error ? error->message : "");
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *path = g_build_filename(dir_path, name, NULL);
		g_autofree char *data = NULL;
		gsize len = 0;

		ck_assert_msg(g_file_get_contents(path, &data, &len, &error), "%s",
		              error ? error->message : path);
		ck_assert_int_eq(t->run((const uint8_t *)data, len), 0);
		n++;
	}
	ck_assert_msg(n > 0, "%s: no regression input (each target keeps at least one)", dir_path);
}
END_TEST

/* Every fuzz program has its row above, so none is left unreplayed. */
START_TEST(every_target_is_listed)
{
	g_autoptr(GDir) dir = g_dir_open("tests/fuzz", 0, NULL);
	const char *name;
	guint n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((name = g_dir_read_name(dir))) {
		gboolean listed = FALSE;
		if (!g_str_has_prefix(name, "fuzz_") || !g_str_has_suffix(name, ".c"))
			continue;
		for (gsize i = 0; i < G_N_ELEMENTS(targets); i++) {
			g_autofree char *file = g_strdup_printf("fuzz_%s.c", targets[i].name);
			listed |= g_str_equal(file, name);
		}
		ck_assert_msg(listed, "tests/fuzz/%s has no row in test_fuzz_regressions.c", name);
		n++;
	}
	ck_assert_uint_eq(n, G_N_ELEMENTS(targets));
}
END_TEST

Suite *fuzz_regressions_suite(void);
Suite *fuzz_regressions_suite(void)
{
	Suite *s = suite_create("fuzz_regressions");
	TCase *tc = tcase_create("replay");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, every_regression_replays, 0, G_N_ELEMENTS(targets));
	tcase_add_test(tc, every_target_is_listed);
	suite_add_tcase(s, tc);
	return s;
}
