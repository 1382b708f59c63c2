/* Text from outside: the one name sanitiser (scenario names, guest file
 * names) and guest bytes made into text kdh can store, print and put in JSON. */
#include <check.h>
#include <glib.h>
#include <string.h>

#include "util/util.h"

static const struct {
	const char *in;
	const char *out; /* NULL: must be refused */
} names[] = {
    {"vmcore", "vmcore"},
    {"vmcore-dmesg.txt", "vmcore-dmesg.txt"},
    {"dump.202611260915", "dump.202611260915"},
    {"smoke-memory1G-crashkernel128M", "smoke-memory1G-crashkernel128M"},
    {"..", NULL},
    {".", NULL},
    {"", NULL},
    {"../../etc/passwd", "_._.._etc_passwd"},
    {"/etc/passwd", "_etc_passwd"},
    {"a/b", "a_b"},
    {"...", "_.."},
    {".hidden", "_hidden"},
    {"-rf", "_rf"},
    {"a b", "a_b"},
    {"sp ace\n\x1b[31m", "sp_ace___31m"},
    {"\xc3\xa9t\xc3\xa9", "__t__"},
    {"\xff", "_"},
    {"ref-debian:6.1.0-56-amd64", "ref-debian_6.1.0-56-amd64"},
};

START_TEST(sanitises_names)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *got = kdh_safe_name(names[_i].in, &error);

	if (!names[_i].out) {
		ck_assert_msg(got == NULL, "'%s' was accepted as '%s'", names[_i].in, got);
		ck_assert_ptr_nonnull(error);
		ck_assert_msg(g_utf8_validate(error->message, -1, NULL), "%s", error->message);
	} else {
		ck_assert_msg(got != NULL, "'%s' refused: %s", names[_i].in, error->message);
		ck_assert_str_eq(got, names[_i].out);
	}
}
END_TEST

START_TEST(refuses_overlong_names)
{
	g_autofree char *longest = g_strnfill(KDH_NAME_MAX, 'a');
	g_autofree char *longname = g_strnfill(KDH_NAME_MAX + 1, 'a');
	g_autofree char *ok = kdh_safe_name(longest, NULL);
	g_autoptr(GError) error = NULL;
	g_autofree char *got = kdh_safe_name(longname, &error);

	ck_assert_str_eq(ok, longest);
	ck_assert_ptr_null(got);
	ck_assert_ptr_nonnull(strstr(error->message, "too long"));
	ck_assert_ptr_null(kdh_safe_name(NULL, NULL));
}
END_TEST

static const struct {
	const char *in;
	gssize len;
	gsize max;
	const char *out;
} texts[] = {
    {"Kernel panic - not syncing: sysrq triggered crash", -1, 4096,
     "Kernel panic - not syncing: sysrq triggered crash"},
    {"caf\xc3\xa9 \xe2\x82\xac", -1, 4096, "caf\xc3\xa9 \xe2\x82\xac"},
    {"a\xff"
     "b",
     -1, 4096,
     "a\xef\xbf\xbd"
     "b"},
    /* A truncated sequence at the end, and an overlong encoding of '/'. */
    {"x\xe2\x82", -1, 4096, "x\xef\xbf\xbd\xef\xbf\xbd"},
    {"\xc0\xaf", -1, 4096, "\xef\xbf\xbd\xef\xbf\xbd"},
    {"\x1b[31mred\x1b[0m", -1, 4096, "\\x1b[31mred\\x1b[0m"},
    {"tab\there\r", -1, 4096, "tab\there\\x0d"},
    {"nul\0byte", 8, 4096,
     "nul\xef\xbf\xbd"
     "byte"},
    /* C1 controls and a bidi override, as UTF-8. */
    {"\xc2\x9b"
     "2J",
     -1, 4096, "\\x9b2J"},
    {"a\xe2\x80\xae"
     "b",
     -1, 4096, "a\\u202eb"},
    {"abcdefghij", -1, 8, "abcde\xe2\x80\xa6"},
    {"abcdefgh", -1, 8, "abcdefgh"},
    {"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", -1, 6, "\xc3\xa9\xe2\x80\xa6"},
    {"\x1b\x1b\x1b", -1, 9, "\\x1b\xe2\x80\xa6"},
    {"", -1, 10, ""},
};

START_TEST(makes_guest_text_valid)
{
	g_autofree char *got = kdh_guest_text(texts[_i].in, texts[_i].len, texts[_i].max);

	ck_assert(g_utf8_validate(got, -1, NULL));
	ck_assert_uint_le(strlen(got), texts[_i].max);
	ck_assert_msg(g_str_equal(got, texts[_i].out), "case %d: got \"%s\", want \"%s\"", _i,
	              g_strescape(got, NULL), g_strescape(texts[_i].out, NULL));
}
END_TEST

/* Every byte value, alone and in pairs: the result is always valid UTF-8 with
 * no control character left but tab. */
START_TEST(any_bytes_give_clean_text)
{
	for (guint a = 0; a < 256; a++) {
		for (guint b = 0; b < 256; b++) {
			char in[3] = {(char)a, (char)b, 'z'};
			g_autofree char *got = kdh_guest_text(in, 3, 64);
			ck_assert(g_utf8_validate(got, -1, NULL));
			for (const char *p = got; *p; p = g_utf8_next_char(p)) {
				gunichar c = g_utf8_get_char(p);
				ck_assert(c == '\t' || !g_unichar_iscntrl(c));
			}
		}
	}
	ck_assert_ptr_null(kdh_guest_text(NULL, -1, 10));
}
END_TEST

Suite *text_suite(void);
Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");

	tcase_add_loop_test(tc, sanitises_names, 0, G_N_ELEMENTS(names));
	tcase_add_test(tc, refuses_overlong_names);
	tcase_add_loop_test(tc, makes_guest_text_valid, 0, G_N_ELEMENTS(texts));
	tcase_add_test(tc, any_bytes_give_clean_text);
	suite_add_tcase(s, tc);
	return s;
}
