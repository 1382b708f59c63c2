/* The crash(8) cross-check without crash: its real output (saved in
 * tests/fixtures/crash/) and hostile variants parsed and judged, and the
 * way it is run (timeout, bounded output, a silent failure, a missing
 * program, a signal) against small scripts standing in for crash. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "kernel/kernel.h"
#include "scenario/scenario.h"
#include "util/util.h"
#include "verdict/verdict.h"
#include "kernel_support.h"

Suite *crash_suite(void);

#define FIXTURES "tests/fixtures/crash/"

static char *fixture(const char *name, gsize *len)
{
	g_autofree char *path = g_build_filename(FIXTURES, name, NULL);
	char *text = NULL;

	ck_assert_msg(g_file_get_contents(path, &text, len, NULL), "%s missing", path);
	return text;
}

/* The sysrq case as the trigger table makes it. */
static KdhCase *sysrq_case(void)
{
	KdhCase *c = g_new0(KdhCase, 1);

	c->name = g_strdup("t");
	c->expect_panic = g_strdup("sysrq triggered crash");
	c->expect_function = g_strdup("sysrq_handle_crash");
	return c;
}

/* R's reasons joined by " | ". */
static char *reasons(const KdhResult *r)
{
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; i < r->reasons->len; i++)
		g_string_append_printf(s, "%s | ", (char *)r->reasons->pdata[i]);
	return g_strdup(s->str);
}

static char *checks(const KdhResult *r)
{
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; i < r->checks->len; i++)
		g_string_append_printf(s, "%s | ", (char *)r->checks->pdata[i]);
	return g_strdup(s->str);
}

/* Judges TEXT for the sysrq case (FUNCTION replaces its function when not
 * NULL) and returns the result. */
static KdhResult *judge_text(const char *text, gsize len, const char *function, int status)
{
	g_autoptr(KdhCase) c = sysrq_case();
	KdhResult *r = kdh_result_new("t");
	KdhCrashOutput o = {0};

	if (function) {
		g_free(c->expect_function);
		c->expect_function = g_strdup(function);
	}
	kdh_crash_parse(text, len, &o);
	kdh_crash_judge(r, c, &o, status, FALSE);
	kdh_crash_output_clear(&o);
	return r;
}

START_TEST(parses_real_output)
{
	gsize len;
	g_autofree char *text = fixture("debian12-6.1-sysrq.txt", &len);
	KdhCrashOutput o = {0};

	kdh_crash_parse(text, len, &o);
	ck_assert(o.opened);
	ck_assert_str_eq(o.release, "6.1.0-56-amd64");
	ck_assert_str_eq(o.panic, "\"Kernel panic - not syncing: sysrq triggered crash\"");
	ck_assert(o.has_task);
	ck_assert_uint_eq(o.pid, 1);
	ck_assert_uint_eq(o.cpu, 0);
	ck_assert_str_eq(o.command, "init");
	ck_assert_uint_eq(o.frames->len, 26);
	ck_assert_str_eq(o.frames->pdata[0], "machine_kexec");
	ck_assert_str_eq(o.frames->pdata[3], "sysrq_handle_crash");
	ck_assert_str_eq(o.frames->pdata[4], "__handle_sysrq.cold");
	ck_assert_str_eq(o.frames->pdata[25], "entry_SYSCALL_64_after_hwframe");
	ck_assert_uint_eq(o.errors->len, 0);
	ck_assert_uint_eq(o.warnings->len, 1);
	ck_assert_ptr_nonnull(strstr(o.warnings->pdata[0], "not found in PID hash"));
	kdh_crash_output_clear(&o);
}
END_TEST

START_TEST(real_output_passes)
{
	gsize len;
	g_autofree char *text = fixture("debian12-6.1-sysrq.txt", &len);
	g_autoptr(KdhResult) r = judge_text(text, len, NULL, 0);
	g_autofree char *why = reasons(r), *what = checks(r);

	ck_assert_msg(r->verdict == KDH_VERDICT_PASS, "%s", why);
	ck_assert_ptr_nonnull(strstr(what, "crash(8) opened the dump: RELEASE 6.1.0-56-amd64"));
	ck_assert_ptr_nonnull(strstr(what, "sysrq triggered crash"));
	ck_assert_ptr_nonnull(strstr(what, "PID 1 \"init\" CPU 0, #3 sysrq_handle_crash"));
}
END_TEST

/* The crash module's types as crash 8.0.2 shows them: the faulting
 * function in an exception frame, an oops summary as the PANIC line, a
 * stack-protector panic naming the function its unwinder lost; and the
 * wrong function still fails on each. */
static const struct {
	const char *file, *panic, *function, *check;
} module_outputs[] = {
    {"debian12-6.1-module-bug.txt", "kernel BUG at", "kdh_crash_bug", "kdh_crash_bug"},
    {"debian12-6.1-module-null-deref.txt", "BUG: kernel NULL pointer dereference",
     "kdh_crash_null_deref", "(the oops that panicked)"},
    {"debian12-6.1-module-stack-corruption.txt", "Kernel stack is corrupted in",
     "kdh_crash_stack_corruption", "crash(8) sys PANIC names kdh_crash_stack_corruption"},
};

START_TEST(module_outputs_pass)
{
	gsize len;
	g_autofree char *text = fixture(module_outputs[_i].file, &len);
	g_autoptr(KdhCase) c = sysrq_case();
	g_autoptr(KdhResult) r = kdh_result_new("t"), wrong = kdh_result_new("w");
	KdhCrashOutput o = {0};
	g_autofree char *why = NULL, *what = NULL;

	g_free(c->expect_panic);
	g_free(c->expect_function);
	c->expect_panic = g_strdup(module_outputs[_i].panic);
	c->expect_function = g_strdup(module_outputs[_i].function);
	kdh_crash_parse(text, len, &o);
	kdh_crash_judge(r, c, &o, 0, FALSE);
	why = reasons(r);
	what = checks(r);
	ck_assert_msg(r->verdict == KDH_VERDICT_PASS, "%s: %s", module_outputs[_i].file, why);
	ck_assert_msg(strstr(what, module_outputs[_i].check), "%s", what);
	g_free(c->expect_function);
	c->expect_function = g_strdup("kdh_crash_kthread");
	kdh_crash_judge(wrong, c, &o, 0, FALSE);
	ck_assert_int_eq(wrong->verdict, KDH_VERDICT_FAIL);
	kdh_crash_output_clear(&o);
}
END_TEST

/* A clone the compiler made counts as its function; a prefix does not. */
START_TEST(function_clones_count)
{
	gsize len;
	g_autofree char *text = fixture("debian12-6.1-sysrq.txt", &len);
	g_autoptr(KdhResult) clone = judge_text(text, len, "__handle_sysrq", 0);
	g_autoptr(KdhResult) prefix = judge_text(text, len, "sysrq_handle", 0);
	g_autofree char *why = reasons(prefix);

	ck_assert_int_eq(clone->verdict, KDH_VERDICT_PASS);
	ck_assert_int_eq(prefix->verdict, KDH_VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "holds no sysrq_handle: machine_kexec, __crash_kexec, "
	                                  "panic, sysrq_handle_crash"));
}
END_TEST

START_TEST(wrong_panic_fails_with_crash_words)
{
	gsize len;
	g_autofree char *text = fixture("debian12-6.1-sysrq.txt", &len);
	g_autoptr(KdhCase) c = sysrq_case();
	g_autoptr(KdhResult) r = kdh_result_new("t");
	KdhCrashOutput o = {0};
	g_autofree char *why = NULL;

	g_free(c->expect_panic);
	c->expect_panic = g_strdup("NMI: Not continuing");
	kdh_crash_parse(text, len, &o);
	kdh_crash_judge(r, c, &o, 0, FALSE);
	kdh_crash_output_clear(&o);
	why = reasons(r);
	ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "crash(8)'s sys says PANIC: \"Kernel panic - not "
	                                  "syncing: sysrq triggered crash\", without 'NMI: Not "
	                                  "continuing'"));
}
END_TEST

/* The output without the line that holds NEEDLE. */
static char *without_line(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle), *start, *end;

	ck_assert_ptr_nonnull(hit);
	for (start = hit; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	return g_strdup_printf("%.*s%s", (int)(start - text), text, end ? end + 1 : "");
}

START_TEST(missing_panic_line_fails)
{
	gsize len;
	g_autofree char *text = fixture("debian12-6.1-sysrq.txt", &len);
	g_autofree char *cut = without_line(text, "PANIC:");
	g_autoptr(KdhResult) r = judge_text(cut, strlen(cut), NULL, 0);
	g_autofree char *why = reasons(r);

	ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "crash(8)'s sys shows no PANIC line"));
}
END_TEST

/* The real output cut short at every line: a FAIL saying what is missing,
 * never a PASS and never a crash of the parser. */
START_TEST(truncated_output_never_passes)
{
	gsize len;
	g_autofree char *text = fixture("debian12-6.1-sysrq.txt", &len);
	const char *frame3 = strstr(text, " #3 [");

	ck_assert_ptr_nonnull(frame3);
	for (gsize n = 0; n < (gsize)(frame3 - text); n++) {
		g_autoptr(KdhResult) r = judge_text(text, n, NULL, 0);
		ck_assert_msg(r->verdict == KDH_VERDICT_FAIL, "cut at %zu: %s", n,
		              kdh_verdict_name(r->verdict));
	}
	{
		g_autoptr(KdhResult) r = judge_text(text, 0, NULL, 1);
		g_autofree char *why = reasons(r);
		ck_assert_ptr_nonnull(
		    strstr(why, "crash(8) cannot open the dump (exit status 1): it said nothing"));
	}
}
END_TEST

/* Malformed headers and frames are not taken: a bt whose header is not of
 * crash's form is no bt, a frame with a bad address is no frame. */
START_TEST(malformed_lines_are_not_taken)
{
	static const char *const bad_headers[] = {
	    "PID: 01 TASK: ffff8a2dc1206100  CPU: 0 COMMAND: \"init\"",
	    "PID: -1 TASK: ffff8a2dc1206100  CPU: 0 COMMAND: \"init\"",
	    "PID: 1 TASK: xyz  CPU: 0 COMMAND: \"init\"",
	    "PID: 1 TASK: ffff8a2dc1206100  CPU: 0 COMMAND: init",
	    "PID: 1 TASK: ffff8a2dc1206100  CPU: 99999 COMMAND: \"init\"",
	    "PID: 1 TASK: ffff8a2dc1206100 COMMAND: \"init\"",
	    "PID: 99999999999999999999 TASK: ffff8a2dc1206100  CPU: 0 COMMAND: \"init\"",
	};
	static const char *const bad_frames[] = {
	    " #3 [zz] sysrq_handle_crash at ffffffff86290926",
	    " #3 [ffffce05c0013a10] sysrq_handle_crash at",
	    " #3 [ffffce05c0013a10] sysrq_handle_crash",
	    " #x [ffffce05c0013a10] sysrq_handle_crash at ffffffff86290926",
	    " #3 [ffffce05c0013a10] sysrq_handle_crash() at ffffffff86290926",
	    " #3 [ffffce05c0013a10] sysrq_handle_crash at ffffffff86290926g",
	    " #3 [ffffce05c0013a10]  at ffffffff86290926",
	};
	const char *sys =
	    "      KERNEL: v\n    DUMPFILE: d\n       PANIC: \"sysrq triggered crash\"\n";

	for (guint i = 0; i < G_N_ELEMENTS(bad_headers); i++) {
		g_autofree char *text = g_strdup_printf(
		    "%s%s\n #3 [ffffce05c0013a10] sysrq_handle_crash at ffffffff86290926\n", sys,
		    bad_headers[i]);
		g_autoptr(KdhResult) r = judge_text(text, strlen(text), NULL, 0);
		g_autofree char *why = reasons(r);
		ck_assert_msg(strstr(why, "no backtrace of the panic task"), "%s: %s",
		              bad_headers[i], why);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad_frames); i++) {
		g_autofree char *text = g_strdup_printf(
		    "%sPID: 1 TASK: ffff8a2dc1206100  CPU: 0 COMMAND: \"init\"\n%s\n", sys,
		    bad_frames[i]);
		g_autoptr(KdhResult) r = judge_text(text, strlen(text), NULL, 0);
		g_autofree char *why = reasons(r);
		ck_assert_msg(strstr(why, "holds no sysrq_handle_crash: no frame"), "%s: %s",
		              bad_frames[i], why);
	}
	{
		/* The well-formed ones pass, so the loops above test the form. */
		g_autofree char *text = g_strdup_printf(
		    "%sPID: 1 TASK: ffff8a2dc1206100  CPU: 0 COMMAND: \"in it\"\n #3 "
		    "[ffffce05c0013a10] sysrq_handle_crash at ffffffff86290926 [kdh_crash]\n",
		    sys);
		g_autoptr(KdhResult) r = judge_text(text, strlen(text), NULL, 0);
		g_autofree char *why = reasons(r);
		ck_assert_msg(r->verdict == KDH_VERDICT_PASS, "%s", why);
	}
}
END_TEST

/* Garbage, control characters, invalid UTF-8 and a 4 MiB line: whatever is
 * kept is valid, bounded text. */
START_TEST(hostile_bytes_become_bounded_text)
{
	g_autoptr(GString) s = g_string_new("      KERNEL: v\n    DUMPFILE: d\n       PANIC: \"");
	KdhCrashOutput o = {0};
	g_autoptr(KdhResult) r = kdh_result_new("t");
	g_autoptr(KdhCase) c = sysrq_case();
	g_autofree char *why = NULL;

	for (guint i = 0; i < (4u << 20); i++)
		g_string_append_c(s, (char)('A' + i % 26));
	g_string_append(
	    s, "\"\nPID: 1 TASK: ffff8a2dc1206100  CPU: 0 COMMAND: \"\x1b[31m\xff\xfe\"\n");
	g_string_append(s, "crash: \x01\x02 bad \xc3\x28\n");
	for (guint i = 0; i < 1000; i++)
		g_string_append_printf(s, " #%u [ffff0000] f%u at ffff\n", i, i);
	g_string_append_len(s, "\0\0\0garbage\n", 11);
	kdh_crash_parse(s->str, s->len, &o);
	ck_assert(o.opened);
	ck_assert(g_utf8_validate(o.panic, -1, NULL));
	ck_assert_uint_le(strlen(o.panic), 4096);
	ck_assert(o.has_task);
	ck_assert(g_utf8_validate(o.command, -1, NULL));
	ck_assert_ptr_null(strchr(o.command, '\x1b'));
	ck_assert_uint_eq(o.errors->len, 1);
	ck_assert(g_utf8_validate(o.errors->pdata[0], -1, NULL));
	ck_assert_ptr_null(strchr(o.errors->pdata[0], '\x01'));
	ck_assert_uint_eq(o.frames->len, 256);
	kdh_crash_judge(r, c, &o, 0, TRUE);
	kdh_crash_output_clear(&o);
	why = reasons(r);
	ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
	ck_assert(g_utf8_validate(why, -1, NULL));
	ck_assert_uint_le(strlen(why), 16384);
	ck_assert_ptr_nonnull(strstr(why, "cut at kdh's bound"));
}
END_TEST

/* crash's words when it cannot open the dump: its error lines (real: the
 * tail of `crash -d 1` with a 6.12 vmlinux on a 6.1 dump). */
START_TEST(unusable_dump_fails_with_its_words)
{
	gsize len;
	g_autofree char *text = fixture("vmlinux-mismatch-d1-tail.txt", &len);
	g_autoptr(KdhResult) r = judge_text(text, len, NULL, 1);
	g_autofree char *why = reasons(r);

	ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "crash(8) cannot open the dump (exit status 1): crash: "
	                                  "seek error: kernel virtual address: ffffffff816d6138  "
	                                  "type: \"page_offset_base\""));
}
END_TEST

/* A non-zero exit after good output is still a FAIL. */
START_TEST(nonzero_exit_fails)
{
	gsize len;
	g_autofree char *text = fixture("debian12-6.1-sysrq.txt", &len);
	g_autoptr(KdhResult) r = judge_text(text, len, NULL, 1);
	g_autofree char *why = reasons(r);

	ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "crash(8) exited with status 1"));
}
END_TEST

/* ---- running it: scripts stand in for crash ---- */

static char *dir;

static void setup(void)
{
	dir = g_dir_make_tmp("kdh-crash-XXXXXX", NULL);
	ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
	kdh_rm_rf(dir);
	g_free(dir);
}

/* A script in DIR named NAME with BODY after "#!/bin/sh". */
static char *script(const char *name, const char *body)
{
	char *path = g_build_filename(dir, name, NULL);
	g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);

	ck_assert(g_file_set_contents(path, text, -1, NULL));
	ck_assert_int_eq(g_chmod(path, 0755), 0);
	return path;
}

/* Runs the cross-check with PROGRAM on a vmlinux that is ELF without a
 * build-id clash (this test binary) and a vmcore that is no dump (so no
 * BUILD-ID): only crash's output decides.  *TXT gets crash.txt. */
static KdhResult *cross_check(const char *program, guint timeout, gsize max, char **txt)
{
	g_autoptr(KdhCase) c = sysrq_case();
	g_autofree char *vmcore = g_build_filename(dir, "vmcore", NULL);
	g_autofree char *out = g_build_filename(dir, "crash.txt", NULL);
	KdhCrashOptions opts = {.program = program, .timeout_seconds = timeout, .max_output = max};
	KdhResult *r = kdh_result_new("t");

	ck_assert(g_file_set_contents(vmcore, "not a dump", -1, NULL));
	kdh_verdict_crash_full(r, c, "/proc/self/exe", vmcore, out, &opts);
	if (txt && !g_file_get_contents(out, txt, NULL, NULL))
		*txt = NULL;
	return r;
}

START_TEST(runs_crash_and_keeps_its_output)
{
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *body = g_strdup_printf(
	    "case \"$*\" in *'-s --no_crashrc --no_scroll -i '*) ;; *) exit 9;; esac\n"
	    "grep -qx sys \"$5\" && grep -qx bt \"$5\" || exit 8\n"
	    "cat '%s/" FIXTURES "debian12-6.1-sysrq.txt'",
	    cwd);
	g_autofree char *fake = script("crash", body);
	g_autofree char *txt = NULL, *why = NULL;
	g_autoptr(KdhResult) r = cross_check(fake, 60, 0, &txt);

	why = reasons(r);
	ck_assert_msg(r->verdict == KDH_VERDICT_PASS, "%s", why);
	ck_assert_ptr_nonnull(txt);
	ck_assert_ptr_nonnull(strstr(txt, "# kdh: ran "));
	ck_assert_ptr_nonnull(strstr(txt, "# kdh: exit status 0\n"));
	ck_assert_ptr_nonnull(strstr(txt, " #3 [ffffce05c0013a10] sysrq_handle_crash at "));
}
END_TEST

/* Silent on the first run, it is asked again at debug level 1, whose last
 * "crash: " line is its word (real: crash 8.0.2 on Debian's 6.12.107). */
START_TEST(silent_failure_gets_its_words_at_debug_level)
{
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *body =
	    g_strdup_printf("case \"$*\" in *'-d 1'*) cat '%s/" FIXTURES
	                    "debian12-6.12.107-cloud-sysrq-d1-tail.txt';; esac\nexit 1",
	                    cwd);
	g_autofree char *fake = script("crash", body);
	g_autofree char *txt = NULL, *why = NULL;
	g_autoptr(KdhResult) r = cross_check(fake, 60, 0, &txt);

	why = reasons(r);
	ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "cannot open the dump (exit status 1): (crash -d 1) "
	                                  "crash: page excluded: kernel virtual address: "
	                                  "ffffffff825515a8  type: \"page_offset_base\""));
	ck_assert_ptr_null(strstr(why, "pv_ops"));
	ck_assert_ptr_nonnull(strstr(txt, "once more at debug level 1"));
	ck_assert_ptr_nonnull(strstr(txt, "crash: pv_ops exists"));
}
END_TEST

START_TEST(timeout_kills_it_and_is_an_error)
{
	g_autofree char *fake = script("crash", "exec sleep 600");
	g_autofree char *txt = NULL, *why = NULL;
	g_autoptr(KdhResult) r = cross_check(fake, 1, 0, &txt);

	why = reasons(r);
	ck_assert_int_eq(r->verdict, KDH_VERDICT_ERROR);
	ck_assert_ptr_nonnull(strstr(why, "did not finish within 1 s and was killed"));
	ck_assert_ptr_nonnull(strstr(txt, "did not finish"));
}
END_TEST

START_TEST(output_is_bounded)
{
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *body =
	    g_strdup_printf("head -c 300000 /dev/zero | tr '\\0' x; echo; cat '%s/" FIXTURES
	                    "debian12-6.1-sysrq.txt'",
	                    cwd);
	g_autofree char *fake = script("crash", body);
	g_autofree char *txt = NULL, *why = NULL;
	g_autoptr(KdhResult) r = cross_check(fake, 60, 65536, &txt);

	why = reasons(r);
	ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "cut at kdh's bound"));
	ck_assert_ptr_nonnull(strstr(txt, "output cut at kdh's bound"));
	ck_assert_uint_lt(strlen(txt), 70000);
}
END_TEST

START_TEST(signal_is_an_error)
{
	g_autofree char *fake = script("crash", "kill -SEGV $$");
	g_autofree char *why = NULL;
	g_autoptr(KdhResult) r = cross_check(fake, 60, 0, NULL);

	why = reasons(r);
	ck_assert_int_eq(r->verdict, KDH_VERDICT_ERROR);
	ck_assert_ptr_nonnull(strstr(why, "was killed by signal 11"));
}
END_TEST

START_TEST(missing_crash_is_an_error)
{
	g_autoptr(KdhResult) r = cross_check("kdh-no-such-crash-program", 60, 0, NULL);
	g_autofree char *why = reasons(r);

	ck_assert_int_eq(r->verdict, KDH_VERDICT_ERROR);
	ck_assert_ptr_nonnull(strstr(why, "kdh-no-such-crash-program is not installed (Debian "
	                                  "package crash)"));
}
END_TEST

/* An ELF file with DWARF and the build-id HEX, compiled on the spot (gcc
 * from build-essential): a stand-in vmlinux whose identity the test picks. */
static char *elf_with_build_id(const char *hex)
{
	g_autofree char *src = g_build_filename(dir, "v.c", NULL);
	g_autofree char *flag = g_strdup_printf("-Wl,--build-id=0x%s", hex);
	char *out = g_build_filename(dir, hex, NULL);
	const char *argv[] = {"cc", "-g", flag, "-o", out, src, NULL};

	ck_assert(g_file_set_contents(src, "int main(void) { return 0; }\n", -1, NULL));
	kdh_test_run_tool(argv);
	return out;
}

/* An ELF file without DWARF. */
static char *elf_without_dwarf(void)
{
	g_autofree char *src = g_build_filename(dir, "s.c", NULL);
	char *out = g_build_filename(dir, "stripped", NULL);
	const char *argv[] = {"cc", "-g0", "-o", out, src, NULL};

	ck_assert(g_file_set_contents(src, "int main(void) { return 0; }\n", -1, NULL));
	kdh_test_run_tool(argv);
	return out;
}

/* The real dump fixture (VMCOREINFO BUILD-ID eb4fbcd0..., OSRELEASE
 * 6.1.0-56-amd64) with a crash that opens nothing and says nothing. */
static KdhResult *cross_check_dump(const char *build_id)
{
	g_autoptr(KdhCase) c = sysrq_case();
	g_autofree char *vmlinux = elf_with_build_id(build_id);
	g_autofree char *fake = script(
	    "crash", "[ \"$1\" = --version ] && { echo; echo 'crash 8.0.2'; exit 0; }; exit 1");
	g_autofree char *out = g_build_filename(dir, "crash.txt", NULL);
	KdhCrashOptions opts = {.program = fake, .timeout_seconds = 60};
	KdhResult *r = kdh_result_new("t");

	kdh_verdict_crash_full(r, c, vmlinux, "tests/fixtures/dump/debian12-6.1-sysrq.kdump", out,
	                       &opts);
	return r;
}

START_TEST(build_id_mismatch_fails)
{
	g_autoptr(KdhResult) r = cross_check_dump("00112233445566778899aabbccddeeff00112233");
	g_autofree char *why = reasons(r);

	ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "(build-id 00112233445566778899aabbccddeeff00112233) is "
	                                  "not the dump's kernel (VMCOREINFO BUILD-ID "
	                                  "eb4fbcd037e7253717950bf2b93bd5566f47c56f)"));
	ck_assert_ptr_null(strstr(why, "may not support"));
}
END_TEST

/* The right vmlinux and still no dump: crash's age is named. */
START_TEST(matching_vmlinux_that_crash_cannot_open_names_crash)
{
	g_autoptr(KdhResult) r = cross_check_dump("eb4fbcd037e7253717950bf2b93bd5566f47c56f");
	g_autofree char *why = reasons(r), *what = checks(r);

	ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(what,
	                             "vmlinux build-id eb4fbcd037e7253717950bf2b93bd5566f47c56f "
	                             "= the dump's VMCOREINFO BUILD-ID"));
	ck_assert_ptr_nonnull(strstr(why, "crash(8) cannot open the dump (exit status 1)"));
	ck_assert_ptr_nonnull(strstr(why, "yet crash cannot open it: crash 8.0.2 may not support "
	                                  "kernel 6.1.0-56-amd64"));
}
END_TEST

/* The real 6.12 case: crash 8.0.2 with a kdh-built 6.12.117 and its own
 * vmlinux says only this, at debug level 1. */
START_TEST(crash_802_on_612_fails_with_its_words)
{
	gsize len;
	g_autofree char *text = fixture("build-6.12.117-sysrq-d1-tail.txt", &len);
	g_autoptr(KdhResult) r = judge_text(text, len, NULL, 1);
	g_autofree char *why = reasons(r);

	ck_assert_int_eq(r->verdict, KDH_VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "crash: page excluded: kernel virtual address: "
	                                  "ffffffff816d6138  type: \"page_offset_base\""));
}
END_TEST

/* libelf's view of a vmlinux: this test binary (built with -g) has DWARF
 * and a build-id; a text file is refused. */
START_TEST(elf_inspect)
{
	g_autofree char *id = NULL, *none = NULL;
	g_autoptr(GError) error = NULL, refused = NULL;
	g_autofree char *text = g_build_filename(dir, "x", NULL);
	gboolean dwarf = FALSE;

	ck_assert(kdh_elf_inspect("/proc/self/exe", &id, &dwarf, &error));
	ck_assert(dwarf);
	ck_assert_ptr_nonnull(id);
	ck_assert_uint_eq(strlen(id), 40);
	ck_assert(g_file_set_contents(text, "not elf", -1, NULL));
	ck_assert(!kdh_elf_inspect(text, &none, &dwarf, &refused));
	ck_assert_ptr_nonnull(strstr(refused->message, "is not an ELF file"));
	ck_assert_ptr_null(none);
	ck_assert(!dwarf);
}
END_TEST

/* ---- the debug vmlinux of a kernel (kernel/debuginfo.c) ---- */

/* kdh_kernel_debug_vmlinux on a kernel of SOURCE whose entry holds
 * VMLINUX (may be NULL), without fetching: the path, or NULL with *CODE
 * and *MESSAGE. */
static char *debug_vmlinux(const char *source, const char *vmlinux, gint *code, char **message)
{
	KdhKernel k = {.ref = (char *)"debian:default",
	               .release = (char *)"6.1.0-56-amd64",
	               .source = (char *)source,
	               .vmlinux = (char *)vmlinux};
	g_autoptr(GError) error = NULL;
	char *path = kdh_kernel_debug_vmlinux(&k, FALSE, dir, &error);

	*code = error ? error->code : -1;
	*message = error ? g_strdup(error->message) : NULL;
	if (error)
		ck_assert(error->domain == KDH_KERNEL_ERROR);
	return path;
}

START_TEST(debug_vmlinux_is_the_cached_one_with_dwarf)
{
	g_autofree char *elf = elf_with_build_id("aa");
	g_autofree char *msg = NULL;
	gint code;
	g_autofree char *path = debug_vmlinux("build", elf, &code, &msg);

	ck_assert_str_eq(path, elf);
}
END_TEST

START_TEST(debug_vmlinux_none_to_be_had)
{
	static const struct {
		const char *source;
		gboolean with_file; /* a vmlinux without DWARF */
		const char *says;
	} cases[] = {
	    {"debian", FALSE, "`kdh kernel fetch --debug debian:6.1.0-56-amd64`"},
	    {"build", FALSE, "was built without debug info"},
	    {"import", FALSE, "has no vmlinux with debug info"},
	    {"build", TRUE, "has no DWARF debug info"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *elf = cases[i].with_file ? elf_without_dwarf() : NULL;
		g_autofree char *msg = NULL;
		gint code;
		g_autofree char *path = debug_vmlinux(cases[i].source, elf, &code, &msg);

		ck_assert_ptr_null(path);
		ck_assert_int_eq(code, KDH_KERNEL_ERROR_NO_DEBUG_INFO);
		ck_assert_msg(strstr(msg, cases[i].says), "%s", msg);
	}
}
END_TEST

/* An unreadable vmlinux is a failure, not "none available". */
START_TEST(debug_vmlinux_unreadable_is_a_failure)
{
	g_autofree char *text = g_build_filename(dir, "vmlinux", NULL);
	g_autofree char *msg = NULL;
	gint code;
	g_autofree char *path = NULL;

	ck_assert(g_file_set_contents(text, "not elf", -1, NULL));
	path = debug_vmlinux("build", text, &code, &msg);
	ck_assert_ptr_null(path);
	ck_assert_int_eq(code, KDH_KERNEL_ERROR_FAILED);
	ck_assert_ptr_nonnull(strstr(msg, "is not an ELF file"));
}
END_TEST

Suite *crash_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *parse = tcase_create("parse");
	TCase *run = tcase_create("run");

	tcase_add_test(parse, parses_real_output);
	tcase_add_test(parse, real_output_passes);
	tcase_add_loop_test(parse, module_outputs_pass, 0, G_N_ELEMENTS(module_outputs));
	tcase_add_test(parse, function_clones_count);
	tcase_add_test(parse, wrong_panic_fails_with_crash_words);
	tcase_add_test(parse, missing_panic_line_fails);
	tcase_add_test(parse, truncated_output_never_passes);
	tcase_add_test(parse, malformed_lines_are_not_taken);
	tcase_add_test(parse, hostile_bytes_become_bounded_text);
	tcase_add_test(parse, unusable_dump_fails_with_its_words);
	tcase_add_test(parse, nonzero_exit_fails);
	tcase_add_test(parse, crash_802_on_612_fails_with_its_words);
	tcase_add_checked_fixture(run, setup, teardown);
	tcase_add_test(run, runs_crash_and_keeps_its_output);
	tcase_add_test(run, silent_failure_gets_its_words_at_debug_level);
	tcase_add_test(run, timeout_kills_it_and_is_an_error);
	tcase_add_test(run, output_is_bounded);
	tcase_add_test(run, signal_is_an_error);
	tcase_add_test(run, missing_crash_is_an_error);
	tcase_add_test(run, elf_inspect);
	tcase_add_test(run, build_id_mismatch_fails);
	tcase_add_test(run, matching_vmlinux_that_crash_cannot_open_names_crash);
	tcase_add_test(run, debug_vmlinux_is_the_cached_one_with_dwarf);
	tcase_add_test(run, debug_vmlinux_none_to_be_had);
	tcase_add_test(run, debug_vmlinux_unreadable_is_a_failure);
	suite_add_tcase(s, parse);
	suite_add_tcase(s, run);
	return s;
}
