/* Matrix files (kdh matrix): kernels x scenario files into one case per
 * cell, and every mistake named with the matrix file and its line. */
#include <check.h>
#include <glib.h>
#include <string.h>

#include "scenario/scenario.h"
#include "util/util.h"

static char *tmp;

static void put(const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(tmp, name, NULL);

	ck_assert(g_file_set_contents(path, text, -1, NULL));
}

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-matrix-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
	put("a.ini", "[scenario]\nname=sysrq\n[vm]\ncrashkernel=256M\n");
	put("b.ini", "[scenario]\nname=nmi\n[crash]\ntrigger=nmi\n[matrix]\nmemory=1G;2G\n");
	put("refs.ini",
	    "[scenario]\nname=refs\n[matrix]\nref=debian:default;debian:6.1.0-54-amd64\n");
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

static GPtrArray *load(const char *text, GError **error)
{
	g_autofree char *path = g_build_filename(tmp, "m.ini", NULL);

	put("m.ini", text);
	return kdh_matrix_load(path, error);
}

START_TEST(every_case_on_every_kernel)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = load("# the smallest\n[matrix]\nname=m\n"
	                                  "[kernels]\nnew=debian:6.1.0-56-amd64\n"
	                                  "old=debian:6.1.0-54-amd64  # an older ABI\n"
	                                  "[scenarios]\nfiles=a.ini; b.ini\n",
	                                  &error);
	static const char *const names[] = {"new+sysrq", "new+nmi-memory1G", "new+nmi-memory2G",
	                                    "old+sysrq", "old+nmi-memory1G", "old+nmi-memory2G"};

	ck_assert_msg(cases, "%s", error ? error->message : "");
	ck_assert_uint_eq(cases->len, G_N_ELEMENTS(names));
	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		ck_assert_str_eq(c->name, names[i]);
		ck_assert_str_eq(c->kernel_ref,
		                 i < 3 ? "debian:6.1.0-56-amd64" : "debian:6.1.0-54-amd64");
		ck_assert_str_eq(c->matrix_kernel, i < 3 ? "new" : "old");
		ck_assert_str_eq(c->matrix_scenario, strchr(names[i], '+') + 1);
		ck_assert_uint_eq(strlen(c->source_hash), 64);
	}
	/* Each copy owns what it holds, and the file's own settings stay. */
	ck_assert_ptr_ne(((KdhCase *)cases->pdata[0])->crashkernel,
	                 ((KdhCase *)cases->pdata[3])->crashkernel);
	ck_assert_str_eq(((KdhCase *)cases->pdata[0])->crashkernel, "256M");
	ck_assert_str_eq(((KdhCase *)cases->pdata[1])->trigger->name, "nmi");
	ck_assert_uint_eq(((KdhCase *)cases->pdata[2])->memory, 2ull << 30);
}
END_TEST

static const struct {
	const char *text;
	const char *message;
} bad[] = {
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=a.ini\n[vm]\n",
     "m.ini:5: unknown group [vm]"},
    {"[matrix]\nkernel=x\n", "m.ini:2: [matrix] kernel: unknown key"},
    {"[kernels]\na=debian:default\na=debian:default\n",
     "m.ini:3: [kernels] a: given twice (first at line 2)"},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=a.ini\nfile=b.ini\n",
     "m.ini:5: [scenarios] file: unknown key"},
    {"a=b\n", "m.ini:1: expected key=value in a group"},
    {"[scenarios]\nfiles=a.ini\n", "m.ini:1: [kernels] must list 1 to 64 kernels"},
    {"[kernels]\na=debian:default\n", "m.ini:1: [scenarios] files= must list 1 to 64"},
    {"[kernels]\nx y=debian:default\n[scenarios]\nfiles=a.ini\n",
     "m.ini:2: [kernels] x y: a label is letters, digits and ._+- only"},
    {"[kernels]\na=debian:6.1\n[scenarios]\nfiles=a.ini\n", "m.ini:2: [kernels] a: "},
    {"[kernels]\na=import:/nonexistent/k\n[scenarios]\nfiles=a.ini\n", "m.ini:2: [kernels] a: "},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=a.ini;missing.ini\n",
     "m.ini:4: [scenarios] files: "},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=refs.ini\n", "m.ini:4: [scenarios] files: "},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=a.ini;a.ini\n",
     "[scenario] name: case 'a+sysrq' is also a case of"},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=a.ini\n\x01\n", "m.ini:5: not a text file"},
    {"", "m.ini:1: [kernels] must list"},
};

START_TEST(errors_name_the_file_and_line)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = load(bad[_i].text, &error);
	g_autofree char *path = g_build_filename(tmp, "m.ini", NULL);

	ck_assert_msg(!cases, "accepted: %s", bad[_i].text);
	ck_assert_msg(g_str_has_prefix(error->message, path) || strstr(error->message, "m.ini"),
	              "%s", error->message);
	ck_assert_msg(strstr(error->message, bad[_i].message), "'%s' lacks '%s'", error->message,
	              bad[_i].message);
}
END_TEST

/* The inner file's own error says what is wrong with it. */
START_TEST(a_scenario_varying_the_kernel_is_refused)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases =
	    load("[kernels]\na=debian:default\n[scenarios]\nfiles=refs.ini\n", &error);

	ck_assert_ptr_null(cases);
	ck_assert_msg(strstr(error->message, "varies the kernel"), "%s", error->message);
}
END_TEST

START_TEST(too_many_kernels)
{
	g_autoptr(GString) text = g_string_new("[kernels]\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = NULL;

	for (guint i = 0; i <= KDH_MATRIX_MAX_KERNELS; i++)
		g_string_append_printf(text, "k%u=debian:default\n", i);
	g_string_append(text, "[scenarios]\nfiles=a.ini\n");
	cases = load(text->str, &error);
	ck_assert_ptr_null(cases);
	ck_assert_msg(strstr(error->message, "it has 65"), "%s", error->message);
}
END_TEST

/* Every matrix file shipped in scenarios/matrices/ loads (from the source
 * tree, as the tests run). */
START_TEST(shipped_matrices_load)
{
	g_autoptr(GDir) dir = g_dir_open("scenarios/matrices", 0, NULL);
	const char *name;
	guint n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *path = g_build_filename("scenarios/matrices", name, NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) cases = kdh_matrix_load(path, &error);
		ck_assert_msg(cases, "%s", error ? error->message : "");
		n++;
	}
	ck_assert_uint_ge(n, 2);
}
END_TEST

Suite *matrix_suite(void);
Suite *matrix_suite(void)
{
	Suite *s = suite_create("matrix");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_case_on_every_kernel);
	tcase_add_loop_test(tc, errors_name_the_file_and_line, 0, G_N_ELEMENTS(bad));
	tcase_add_test(tc, a_scenario_varying_the_kernel_is_refused);
	tcase_add_test(tc, too_many_kernels);
	tcase_add_test(tc, shipped_matrices_load);
	suite_add_tcase(s, tc);
	return s;
}
