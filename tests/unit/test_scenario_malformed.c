/* Malformed scenario and matrix files, one table row each: every key with a
 * value of the wrong type or out of range, unknown names, keys and groups
 * given twice, empty files, binary junk, a line past the size limit, a
 * [matrix] too large to expand.  Each is refused with an error that names
 * the file and the line ("PATH:LINE: ...", both checked) and says what is
 * wrong; `kdh run` on them exits 2 and starts nothing. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "scenario/scenario.h"
#include "support.h"
#include "util/util.h"

/* Lines 1 and 2 of most rows. */
#define HEAD "[scenario]\nname=x\n"

typedef struct {
	const char *text; /* NULL: made by the row's MAKE */
	guint line;       /* the line the error must name; 0: the file loads */
	const char *fragment;
} Row;

static const Row rows[] = {
    /* [scenario] */
    {"[scenario]\nname=\n", 2, "[scenario] name: empty value"},
    {"[scenario]\nname=a\\qb\n", 2, "[scenario] name: "},
    {"[scenario]\nname=a/../../b\n", 0, NULL},
    {"[scenario]\ndescription=d\n", 1, "[scenario] name: required, but missing"},
    {HEAD "description=\\q\n", 3, "[scenario] description: "},
    /* [kernel] */
    {HEAD "[kernel]\nref=42\n", 4, "[kernel] ref: "},
    {HEAD "[kernel]\nref=debian:\n", 4, "[kernel] ref: "},
    {HEAD "[kernel]\nref=import:/nonexistent/vmlinuz\n", 4, "[kernel] ref: "},
    {HEAD "[kernel]\nref=\n", 4, "[kernel] ref: "},
    /* [vm] memory: wrong type, out of range, junk suffixes, overflow */
    {HEAD "[vm]\nmemory=lots\n", 4, "[vm] memory: 'lots' is not a size"},
    {HEAD "[vm]\nmemory=0\n", 4, "[vm] memory: at least 64M is needed"},
    {HEAD "[vm]\nmemory=63M\n", 4, "[vm] memory: at least 64M is needed"},
    {HEAD "[vm]\nmemory=-1G\n", 4, "[vm] memory: '-1G' is not a size"},
    {HEAD "[vm]\nmemory=1GB\n", 4, "[vm] memory: '1GB' is not a size"},
    {HEAD "[vm]\nmemory=1Q\n", 4, "[vm] memory: '1Q' is not a size"},
    {HEAD "[vm]\nmemory=1.5G\n", 4, "[vm] memory: '1.5G' is not a size"},
    {HEAD "[vm]\nmemory= 1G x\n", 4, "[vm] memory: '1G x' is not a size"},
    {HEAD "[vm]\nmemory=0x40000000\n", 4, "[vm] memory: '0x40000000' is not a size"},
    {HEAD "[vm]\nmemory=99999999999999999999\n", 4, "is not a size"},
    {HEAD "[vm]\nmemory=17179869184T\n", 4, "[vm] memory: '17179869184T' is not a size"},
    {HEAD "[vm]\nmemory=1024T\n", 4, "[vm] memory: at least 64M is needed, at most 4T"},
    {HEAD "[vm]\nmemory=\n", 4, "[vm] memory: empty value"},
    /* [vm] cpus */
    {HEAD "[vm]\ncpus=two\n", 4, "[vm] cpus: 'two' is not a number in 1..64"},
    {HEAD "[vm]\ncpus=0\n", 4, "[vm] cpus: '0' is not a number in 1..64"},
    {HEAD "[vm]\ncpus=65\n", 4, "[vm] cpus: '65' is not a number in 1..64"},
    {HEAD "[vm]\ncpus=-1\n", 4, "[vm] cpus: '-1' is not a number"},
    {HEAD "[vm]\ncpus=4294967297\n", 4, "[vm] cpus: '4294967297' is not a number"},
    {HEAD "[vm]\ncpus=1M\n", 4, "[vm] cpus: '1M' is not a number"},
    /* [vm] crashkernel: larger than memory is valid (no-dump-reservation.ini) */
    {HEAD "[vm]\nmemory=1G\ncrashkernel=2G\n", 0, NULL},
    {HEAD "[vm]\ncrashkernel=lots\n", 4, "[vm] crashkernel: 'lots' is not a crashkernel="},
    {HEAD "[vm]\ncrashkernel=0\n", 4, "[vm] crashkernel: '0' is not a crashkernel="},
    {HEAD "[vm]\ncrashkernel=auto\n", 4, "[vm] crashkernel: 'auto' is not"},
    {HEAD "[vm]\ncrashkernel=1G-512M:64M\n", 4, "[vm] crashkernel: '1G-512M:64M' is not"},
    {HEAD "[vm]\ncrashkernel=256M@junk\n", 4, "[vm] crashkernel: '256M@junk' is not"},
    {HEAD "[vm]\ncrashkernel=99999999999999999999M\n", 4, "[vm] crashkernel: "},
    {HEAD "[vm]\ncrashkernel=-256M\n", 4, "[vm] crashkernel: '-256M' is not"},
    /* [vm] image */
    {HEAD "[vm]\nimage=floppy\n", 4, "[vm] image: 'floppy' is not one of: mini, debian"},
    {HEAD "[vm]\nimage=1\n", 4, "[vm] image: '1' is not one of"},
    /* [crash] */
    {HEAD "[crash]\ntrigger=meteor\n", 4, "[crash] trigger: 'meteor' is not one of: sysrq"},
    {HEAD "[crash]\ntrigger=module:nothing\n", 4, "[crash] trigger: 'module:nothing' is not"},
    {HEAD "[crash]\ntrigger=3\n", 4, "[crash] trigger: '3' is not one of"},
    {HEAD "[crash]\ncpu=x\n", 4, "[crash] cpu: 'x' is not a number in 0..63"},
    {HEAD "[crash]\ncpu=-1\n", 4, "[crash] cpu: '-1' is not a number"},
    {HEAD "[crash]\ncpu=3\n", 4, "[crash] cpu: CPU 3 does not exist in a guest of 1 CPU"},
    {HEAD "[crash]\ntrigger=nmi\ncpu=0\n", 5, "[crash] cpu: trigger=nmi does not run on a chosen"},
    {HEAD "[crash]\ntrigger=hang\nhang_detect=soon\n", 5, "[crash] hang_detect: 'soon' is not"},
    {HEAD "[crash]\ntrigger=hang\nhang_detect=0\n", 5, "[crash] hang_detect: '0' is not"},
    {HEAD "[crash]\nhang_detect=5\n", 4, "[crash] hang_detect: applies only to trigger=hang"},
    /* [capture] */
    {HEAD "[capture]\ncollector=tape\n", 4, "[capture] collector: 'tape'"},
    {HEAD "[capture]\ncollector=kdump-tools\n", 4, "[capture] collector: "},
    {HEAD "[capture]\ndump_level=32\n", 4, "[capture] dump_level: '32' is not a number in 0..31"},
    {HEAD "[capture]\ndump_level=all\n", 4, "[capture] dump_level: 'all' is not a number"},
    {HEAD "[capture]\ncompression=gzip\n", 4, "[capture] compression: 'gzip' is not one of"},
    {HEAD "[capture]\ncollector=cp\ndump_level=1\n", 5, "[capture] dump_level: "},
    /* [expect] */
    {HEAD "[expect]\noutcome=maybe\n", 4, "[expect] outcome: 'maybe' is not one of: dump, no-dump"},
    {HEAD "[expect]\noutcome=no-dump\n", 3, "[expect] reason: required, but missing"},
    {HEAD "[expect]\noutcome=no-dump\nreason=tired\n", 5, "[expect] reason: 'tired' is not"},
    {HEAD "[expect]\nreason=capture-timeout\n", 4, "[expect] reason: applies only to outcome=no"},
    {HEAD "[expect]\noutcome=no-dump\nreason=capture-timeout\npanic=x\n", 6,
     "[expect] panic: contradicts outcome=no-dump (line 4)"},
    {HEAD "[expect]\npanic=\\q\n", 4, "[expect] panic: "},
    {HEAD "[expect]\nfunction=\\q\n", 4, "[expect] function: "},
    /* [verify], [timeouts] */
    {HEAD "[verify]\ncrash=perhaps\n", 4, "[verify] crash: 'perhaps' is not one of: auto, yes"},
    {HEAD "[timeouts]\nboot=0\n", 4, "[timeouts] boot: '0' is not a number in 1..86400"},
    {HEAD "[timeouts]\ncrash=soon\n", 4, "[timeouts] crash: 'soon' is not a number"},
    {HEAD "[timeouts]\ncapture=86401\n", 4, "[timeouts] capture: '86401' is not a number"},
    {HEAD "[timeouts]\nshutdown=-5\n", 4, "[timeouts] shutdown: '-5' is not a number"},
    {HEAD "[timeouts]\nboot=1e3\n", 4, "[timeouts] boot: '1e3' is not a number"},
    /* unknown keys and groups, syntax */
    {HEAD "[vm]\ndisk=1G\n", 4, "[vm] disk: unknown key"},
    {HEAD "[network]\nbridge=br0\n", 3, "unknown group [network]"},
    {HEAD "[vm\nmemory=1G\n", 3, "malformed group header '[vm'"},
    {HEAD "[vm]x\n", 3, "malformed group header '[vm]x'"},
    {HEAD "[vm]\njust text\n", 4, "expected key=value, got 'just text'"},
    {HEAD "[vm]\n=1G\n", 4, "expected key=value, got '=1G'"},
    {"memory=1G\n[scenario]\nname=x\n", 1, "key outside of any [group]"},
    {HEAD "[vm]\nmemory[de]=1G\n", 4, "[vm] memory[de]: unknown key"},
    /* keys and groups given twice: GKeyFile would keep the last silently */
    {HEAD "[vm]\nmemory=1G\nmemory=2G\n", 5, "[vm] memory: given twice (first at line 4)"},
    {HEAD "name=y\n", 3, "[scenario] name: given twice (first at line 2)"},
    {HEAD "[vm]\nmemory=1G\n[crash]\ntrigger=nmi\n[vm]\ncpus=2\n", 7,
     "[vm] given twice (first at line 3)"},
    {HEAD "[scenario]\n", 3, "[scenario] given twice (first at line 1)"},
    {HEAD "[vm]\nmemory=1G\n[vm]\nmemory=2G\n", 5, "[vm] given twice (first at line 3)"},
    {HEAD "[matrix]\nmemory=1G;2G\nmemory=4G\n", 5, "[matrix] memory: given twice"},
    /* empty and binary files */
    {"", 1, "no [scenario] group"},
    {"\n\n\n", 1, "no [scenario] group"},
    {"# only a comment\n; and another\n", 1, "no [scenario] group"},
    {"[vm]\nmemory=1G\n", 1, "no [scenario] group"},
    {HEAD "[vm]\nmemory=1G\x01\n", 4, "not a text file (byte 0x01 at offset"},
    {HEAD "description=caf\xc3\n", 3, "not a text file (byte 0xc3 at offset 33)"},
    {HEAD "description=\xff\xfe\n", 3, "not a text file (byte 0xff"},
    {HEAD "description=\xed\xa0\x80\n", 3, "not a text file (byte 0xed"},
    {HEAD "description=\x1b[2J\n", 3, "not a text file (byte 0x1b"},
    {"\x7f"
     "ELF\x02\x01\x01",
     1, "not a text file (byte 0x7f at offset 0)"},
    /* [matrix] */
    {HEAD "[matrix]\nmemory=\n", 4, "[matrix] memory: no values"},
    {HEAD "[matrix]\nmemory=1G;2G;1G\n", 4, "[matrix] memory: '1G' is listed twice"},
    {HEAD "[matrix]\nimage=a b;a_b\n", 4, "give cases the same name"},
    {HEAD "[matrix]\nname=a;b\n", 4, "[matrix] name: unknown key"},
    {HEAD "[matrix]\noutcome=dump;no-dump\n", 4, "[matrix] outcome: unknown key"},
    {HEAD "[matrix]\nmemory=1G;lots\n", 4, "[vm] memory: 'lots' is not a size"},
    {HEAD "[vm]\nmemory=1G\n[matrix]\nmemory=1G;0\n", 6, "[vm] memory: at least 64M"},
    {HEAD "[matrix]\ncpus=1;2\n[crash]\ncpu=1\n", 6, "[crash] cpu: CPU 1 does not exist"},
    {HEAD "[matrix]\nmemory=1G;\\q\n", 4, "[matrix] memory: "},
    /* the sizes rows: a line past the limit, a matrix past its own */
    {NULL, 0, "huge line"},
    {NULL, 0, "enormous matrix"},
};

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-malformed-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

/* The text of a row made rather than written: *LINE and *FRAGMENT are what
 * it must give. */
static GString *made_text(const char *which, guint *line, const char **fragment)
{
	GString *text = g_string_new(HEAD "description=");

	if (g_str_equal(which, "huge line")) {
		/* one line of 1 MiB: refused by the size limit, in line 3 */
		for (gsize i = 0; i < (1 << 20); i++)
			g_string_append_c(text, 'a');
		g_string_append_c(text, '\n');
		*line = 3;
		*fragment = "larger than a scenario file may be (65536 bytes)";
		return text;
	}
	/* 100 x 100 x 64 values: refused at crashkernel=, 10000 cases counted */
	g_string_assign(text, HEAD "[matrix]\nmemory=");
	for (int i = 0; i < 100; i++)
		g_string_append_printf(text, "%s%dM", i ? ";" : "", 128 + i);
	g_string_append(text, "\ncrashkernel=");
	for (int i = 0; i < 100; i++)
		g_string_append_printf(text, "%s%dM", i ? ";" : "", 64 + i);
	g_string_append(text, "\ncpus=");
	for (int i = 1; i <= 64; i++)
		g_string_append_printf(text, "%s%d", i > 1 ? ";" : "", i);
	g_string_append_c(text, '\n');
	*line = 5;
	*fragment = "[matrix] crashkernel: the matrix expands to more than 1000 cases (10000";
	return text;
}

/* Whether MESSAGE is "PATH:LINE: ..." with FRAGMENT in it. */
static void assert_names(const char *message, const char *path, guint line, const char *fragment)
{
	g_autofree char *prefix = g_strdup_printf("%s:%u: ", path, line);

	ck_assert_msg(g_str_has_prefix(message, prefix), "want '%s' first in: %s", prefix, message);
	ck_assert_msg(strstr(message, fragment), "want '%s' in: %s", fragment, message);
	ck_assert_msg(g_utf8_validate(message, -1, NULL), "not UTF-8: %s", message);
}

START_TEST(each_malformed_scenario_is_refused)
{
	const Row *row = &rows[_i];
	g_autofree char *path = g_build_filename(tmp, "bad.ini", NULL);
	g_autoptr(GString) text = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = NULL;
	guint line = row->line;
	const char *fragment = row->fragment;

	if (row->text)
		text = g_string_new(row->text);
	else
		text = made_text(row->fragment, &line, &fragment);
	ck_assert(g_file_set_contents(path, text->str, text->len, NULL));
	cases = kdh_scenario_load(path, &error);
	if (!line) {
		ck_assert_msg(cases, "refused: %s", error ? error->message : "");
		return;
	}
	ck_assert_msg(!cases, "row %d loaded", _i);
	ck_assert_ptr_nonnull(error);
	assert_names(error->message, path, line, fragment);
}
END_TEST

/* Matrix files: LINE and FRAGMENT as above; scenario files a.ini (one
 * case), six.ini (a [matrix] of 6) and bad.ini sit next to it. */
static const Row matrix_rows[] = {
    {"", 1, "[kernels] must list 1 to 64 kernels"},
    {"\x01", 1, "not a text file (byte 0x01 at offset 0)"},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=a.ini\n\xff", 5, "not a text file"},
    {"[scenarios]\nfiles=a.ini\n", 1, "[kernels] must list 1 to 64 kernels"},
    {"[kernels]\n[scenarios]\nfiles=a.ini\n", 1, "[kernels] must list 1 to 64 kernels"},
    {"[kernels]\na=debian:default\n", 1, "[scenarios] files= must list 1 to 64"},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=\n", 4, "[scenarios] files= must list"},
    {"[kernels]\na=debian:default\n[vm]\n", 3, "unknown group [vm]"},
    {"a=debian:default\n", 1, "expected key=value in a group"},
    {"[kernels]\n=debian:default\n", 2, "expected key=value in a group"},
    {"[kernels]\na=debian:default\n[kernels]\nb=debian:default\n", 3,
     "[kernels] given twice (first at line 1)"},
    {"[kernels]\na=debian:default\na=debian:6.1.0-54-amd64\n", 3,
     "[kernels] a: given twice (first at line 2)"},
    {"[kernels]\nx/y=debian:default\n[scenarios]\nfiles=a.ini\n", 2,
     "[kernels] x/y: a label is letters"},
    {"[kernels]\na=debian:6.1\n[scenarios]\nfiles=a.ini\n", 2, "[kernels] a: "},
    {"[kernels]\na=\n[scenarios]\nfiles=a.ini\n", 2, "[kernels] a: "},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=missing.ini\n", 4, "[scenarios] files: "},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=bad.ini\n", 4,
     "[vm] memory: 'lots' is not a size"},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=/dev/zero\n", 4, "not a regular file"},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=a.ini;a.ini\n", 4, "also a case of"},
    {"[kernels]\na=debian:default\n[scenarios]\nfiles=six.ini\n", 0, NULL},
    {NULL, 0, "too many cells"},
};

START_TEST(each_malformed_matrix_is_refused)
{
	const Row *row = &matrix_rows[_i];
	g_autofree char *path = g_build_filename(tmp, "m.ini", NULL);
	g_autofree char *a = g_build_filename(tmp, "a.ini", NULL);
	g_autofree char *six = g_build_filename(tmp, "six.ini", NULL);
	g_autofree char *bad = g_build_filename(tmp, "bad.ini", NULL);
	g_autoptr(GString) text = g_string_new(row->text);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = NULL;
	guint line = row->line;

	ck_assert(g_file_set_contents(a, HEAD, -1, NULL));
	ck_assert(g_file_set_contents(
	    six, HEAD "[matrix]\ndump_level=1;2;3\ncompression=lzo;zlib\n", -1, NULL));
	ck_assert(g_file_set_contents(bad, HEAD "[vm]\nmemory=lots\n", -1, NULL));
	if (!row->text) {
		/* 64 kernels times a scenario of 6 x 11 = 66 cases: 4224 cells */
		g_autofree char *big = g_build_filename(tmp, "big.ini", NULL);
		ck_assert(g_file_set_contents(big,
		                              HEAD "[matrix]\ndump_level=1;2;3;4;5;6\n"
		                                   "cpus=1;2;3;4;5;6;7;8;9;10;11\n",
		                              -1, NULL));
		g_string_assign(text, "[kernels]\n");
		for (int i = 0; i < 64; i++)
			g_string_append_printf(text, "k%d=debian:default\n", i);
		g_string_append(text, "[scenarios]\nfiles=big.ini\n");
		line = 67;
	}
	ck_assert(g_file_set_contents(path, text->str, text->len, NULL));
	cases = kdh_matrix_load(path, &error);
	if (!line) {
		ck_assert_msg(cases, "refused: %s", error ? error->message : "");
		ck_assert_uint_eq(cases->len, 6);
		return;
	}
	ck_assert_msg(!cases, "row %d loaded", _i);
	assert_names(error->message, path, line,
	             row->text ? row->fragment : "64 kernels times their cases make 4224 cases");
}
END_TEST

/* `kdh run` on a malformed file: exit 2, the error on standard error, and
 * nothing started (no run folder under --results). */
static const guint cli_rows[] = {9, 11, 19, 77, 85, 90, G_N_ELEMENTS(rows) - 1};

START_TEST(kdh_run_refuses_and_starts_nothing)
{
	const Row *row = &rows[cli_rows[_i]];
	g_autofree char *path = g_build_filename(tmp, "bad.ini", NULL);
	g_autofree char *results = g_build_filename(tmp, "results", NULL);
	const char *args[] = {"run", "--results", results, path, NULL};
	g_autofree char *out = NULL, *err = NULL, *left = NULL, *want = NULL;
	g_autoptr(GString) text = NULL;
	guint line = row->line;
	const char *fragment = row->fragment;

	if (row->text)
		text = g_string_new(row->text);
	else
		text = made_text(row->fragment, &line, &fragment);
	ck_assert(g_file_set_contents(path, text->str, text->len, NULL));
	ck_assert_int_eq(g_mkdir(results, 0755), 0);
	ck_assert_int_eq(kdh_test_run_output(args, &out, &err), 2);
	want = g_strdup_printf("kdh: %s:%u: ", path, line);
	ck_assert_msg(g_str_has_prefix(err, want), "want '%s' first in: %s", want, err);
	ck_assert_msg(strstr(err, fragment), "want '%s' in: %s", fragment, err);
	left = kdh_test_list_dir(results);
	ck_assert_str_eq(left, "");
}
END_TEST

Suite *scenario_malformed_suite(void);
Suite *scenario_malformed_suite(void)
{
	Suite *s = suite_create("scenario_malformed");
	TCase *tc = tcase_create("malformed");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, each_malformed_scenario_is_refused, 0, G_N_ELEMENTS(rows));
	tcase_add_loop_test(tc, each_malformed_matrix_is_refused, 0, G_N_ELEMENTS(matrix_rows));
	tcase_add_loop_test(tc, kdh_run_refuses_and_starts_nothing, 0, G_N_ELEMENTS(cli_rows));
	suite_add_tcase(s, tc);
	return s;
}
