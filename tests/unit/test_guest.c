/* Guest-supplied names: nothing may reach outside the results folder. */
#include <check.h>
#include <glib.h>

#include "guest/guest.h"

static const struct {
	const char *in;
	const char *out; /* NULL: must be refused */
} names[] = {
    {"vmcore", "vmcore"},
    {"vmcore-dmesg.txt", "vmcore-dmesg.txt"},
    {"dump.202611260915", "dump.202611260915"},
    {"..", NULL},
    {".", NULL},
    {"", NULL},
    {"../../etc/passwd", NULL},
    {"/etc/passwd", NULL},
    {"a/b", NULL},
    {".hidden", "_hidden"},
    {"-rf", "_rf"},
    {"sp ace\n\x1b[31m", "sp_ace___31m"},
    {"\xc3\xa9t\xc3\xa9", "__t__"},
};

START_TEST(sanitises_names)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *got = kdh_guest_safe_name(names[_i].in, &error);

	if (!names[_i].out) {
		ck_assert_msg(got == NULL, "'%s' was accepted as '%s'", names[_i].in, got);
		ck_assert_ptr_nonnull(error);
	} else {
		ck_assert_msg(got != NULL, "'%s' refused: %s", names[_i].in, error->message);
		ck_assert_str_eq(got, names[_i].out);
	}
}
END_TEST

START_TEST(refuses_overlong_names)
{
	g_autofree char *longname = g_strnfill(256, 'a');
	g_autoptr(GError) error = NULL;
	g_autofree char *got = kdh_guest_safe_name(longname, &error);

	ck_assert_ptr_null(got);
	ck_assert_ptr_null(kdh_guest_safe_name(NULL, NULL));
}
END_TEST

Suite *guest_suite(void);
Suite *guest_suite(void)
{
	Suite *s = suite_create("guest");
	TCase *tc = tcase_create("names");

	tcase_add_loop_test(tc, sanitises_names, 0, G_N_ELEMENTS(names));
	tcase_add_test(tc, refuses_overlong_names);
	suite_add_tcase(s, tc);
	return s;
}
