/* crash(8)'s output, parsed and judged.  Its output is hostile text (it
 * quotes the dump's memory: a task's comm, the panic message), so every line
 * is bounded and made text before anything looks at it, and a header or
 * frame that is not exactly of crash's form is not taken.  The formats, as
 * crash 8.0.2 prints them for a Debian 6.1 dump:
 *
 *           KERNEL: /path/vmlinux-6.1.0-56-amd64
 *         DUMPFILE: vmcore  [PARTIAL DUMP]
 *          RELEASE: 6.1.0-56-amd64
 *            PANIC: "Kernel panic - not syncing: sysrq triggered crash"
 *     PID: 1        TASK: ffff8a2dc1206100  CPU: 0    COMMAND: "init"
 *      #3 [ffffce05c0013a10] sysrq_handle_crash at ffffffff86290926
 */
#include "verdict/verdict.h"
#include "util/util.h"

#include <string.h>

/* One line of crash's output, at most, as text. */
#define LINE_MAX_BYTES 4096
/* Frames, errors, warnings kept of one run (the first ones). */
#define KEEP_MAX 256
/* A kernel symbol name; longer is not one. */
#define FUNCTION_MAX 256
/* crash's words quoted in a reason. */
#define WORDS_MAX 1024
/* Frames named in a reason. */
#define FRAMES_SHOWN 16

void kdh_crash_output_clear(KdhCrashOutput *o)
{
	g_clear_pointer(&o->release, g_free);
	g_clear_pointer(&o->panic, g_free);
	g_clear_pointer(&o->command, g_free);
	/* g_clear_pointer's size check reads as suspicious to clang-tidy on
	 * pointers to GPtrArray: plain unrefs. */
	if (o->frames)
		g_ptr_array_unref(o->frames);
	if (o->errors)
		g_ptr_array_unref(o->errors);
	if (o->warnings)
		g_ptr_array_unref(o->warnings);
	memset(o, 0, sizeof(*o));
}

static void keep(GPtrArray *list, const char *line)
{
	if (list->len < KEEP_MAX)
		g_ptr_array_add(list, g_strdup(line));
}

/* A run of [0-9a-f] of 1..16 digits, the whole of S. */
static gboolean is_hex_address(const char *s, gsize len)
{
	if (len == 0 || len > 16)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isxdigit(s[i]))
			return FALSE;
	}
	return TRUE;
}

/* A decimal number without sign, space or leading zero, the whole of S. */
static gboolean parse_decimal(const char *s, guint64 max, guint64 *out)
{
	if (!s[0] || (s[0] == '0' && s[1]))
		return FALSE;
	return g_ascii_string_to_unsigned(s, 10, 0, max, out, NULL);
}

/* sys's "      KEY: value" line: KEY is uppercase letters and spaces. */
static gboolean sys_field(const char *line, char **key, char **value)
{
	const char *p = line, *colon;

	while (*p == ' ')
		p++;
	colon = strstr(p, ": ");
	if (!colon || colon == p)
		return FALSE;
	for (const char *q = p; q < colon; q++) {
		if (!g_ascii_isupper(*q) && *q != ' ')
			return FALSE;
	}
	*key = g_strndup(p, colon - p);
	*value = g_strstrip(g_strdup(colon + 2));
	return TRUE;
}

/* bt's header "PID: N TASK: HEX CPU: N COMMAND: "NAME"" into O. */
static gboolean bt_header(const char *line, KdhCrashOutput *o)
{
	const char *cmd = strstr(line, " COMMAND: ");
	g_autofree char *head = NULL;
	g_auto(GStrv) tok = NULL;
	const char *name, *words[6];
	gsize name_len;
	guint64 pid, cpu;
	guint n = 0;

	if (!cmd)
		return FALSE;
	name = cmd + strlen(" COMMAND: ");
	name_len = strlen(name);
	while (name_len > 0 && name[name_len - 1] == ' ')
		name_len--;
	if (name_len < 2 || name[0] != '"' || name[name_len - 1] != '"')
		return FALSE;
	head = g_strndup(line, cmd - line);
	tok = g_strsplit(head, " ", -1);
	/* The column padding makes empty tokens: look at the others only. */
	for (guint i = 0; tok[i]; i++) {
		if (*tok[i] && n < G_N_ELEMENTS(words))
			words[n] = tok[i];
		if (*tok[i])
			n++;
	}
	if (n != 6 || !g_str_equal(words[0], "PID:") || !g_str_equal(words[2], "TASK:") ||
	    !g_str_equal(words[4], "CPU:") || !parse_decimal(words[1], G_MAXINT32, &pid) ||
	    !is_hex_address(words[3], strlen(words[3])) || !parse_decimal(words[5], 8192, &cpu))
		return FALSE;
	o->has_task = TRUE;
	o->pid = pid;
	o->cpu = (guint)cpu;
	o->command = g_strndup(name + 1, name_len - 2);
	return TRUE;
}

/* A frame " #N [HEX] FUNCTION at HEX[ more]": its function, or NULL. */
static char *bt_frame(const char *line)
{
	const char *p = line, *num, *addr, *fn, *fn_end, *at;
	guint64 n;

	while (*p == ' ')
		p++;
	if (*p++ != '#')
		return NULL;
	for (num = p; g_ascii_isdigit(*p); p++)
		;
	{
		g_autofree char *digits = g_strndup(num, p - num);
		if (!parse_decimal(digits, 100000, &n))
			return NULL;
	}
	if (p[0] != ' ' || p[1] != '[')
		return NULL;
	addr = p + 2;
	p = strchr(addr, ']');
	if (!p || !is_hex_address(addr, p - addr) || p[1] != ' ')
		return NULL;
	fn = p + 2;
	for (fn_end = fn; *fn_end && (g_ascii_isalnum(*fn_end) || strchr("_.$", *fn_end)); fn_end++)
		;
	if (fn_end == fn || fn_end - fn > FUNCTION_MAX || !g_str_has_prefix(fn_end, " at "))
		return NULL;
	at = fn_end + strlen(" at ");
	for (p = at; g_ascii_isxdigit(*p); p++)
		;
	if (!is_hex_address(at, p - at) || (*p && *p != ' '))
		return NULL;
	return g_strndup(fn, fn_end - fn);
}

/* An exception frame's "[exception RIP: FUNCTION+0x5]" (the function that
 * faulted: a BUG, an oops, a trap): its function, or NULL. */
static char *exception_rip(const char *line)
{
	const char *p = strstr(line, "[exception RIP: "), *fn, *end;

	if (!p)
		return NULL;
	fn = p + strlen("[exception RIP: ");
	for (end = fn; *end && (g_ascii_isalnum(*end) || strchr("_.$", *end)); end++)
		;
	if (end == fn || end - fn > FUNCTION_MAX || (*end != '+' && *end != ']'))
		return NULL;
	return g_strndup(fn, end - fn);
}

/* Takes one line (already text) of crash's output. */
static void parse_line(const char *line, KdhCrashOutput *o, gboolean *saw_kernel,
                       gboolean *saw_dumpfile, gboolean *bt_done)
{
	g_autofree char *key = NULL, *value = NULL;

	if (g_str_has_prefix(line, "crash: ") || g_str_has_prefix(line, "bt: ") ||
	    g_str_has_prefix(line, "sys: ")) {
		keep(o->errors, line);
		return;
	}
	if (g_str_has_prefix(line, "WARNING: ")) {
		keep(o->warnings, line);
		return;
	}
	if (g_str_has_prefix(line, "PID: ")) {
		/* Only the first backtrace is the panic task's. */
		if (o->has_task)
			*bt_done = TRUE;
		else
			bt_header(line, o);
		return;
	}
	if (o->has_task) {
		char *fn = *bt_done ? NULL : bt_frame(line);
		if (!fn && !*bt_done)
			fn = exception_rip(line);
		if (fn && o->frames->len < KEEP_MAX)
			g_ptr_array_add(o->frames, fn);
		else
			g_free(fn);
		return;
	}
	if (!sys_field(line, &key, &value))
		return;
	if (g_str_equal(key, "KERNEL"))
		*saw_kernel = TRUE;
	else if (g_str_equal(key, "DUMPFILE"))
		*saw_dumpfile = TRUE;
	else if (g_str_equal(key, "RELEASE") && !o->release)
		o->release = g_steal_pointer(&value);
	else if (g_str_equal(key, "PANIC") && !o->panic)
		o->panic = g_steal_pointer(&value);
}

void kdh_crash_parse(const char *text, gsize len, KdhCrashOutput *o)
{
	const char *p = text, *end = text + len;
	gboolean saw_kernel = FALSE, saw_dumpfile = FALSE, bt_done = FALSE;

	kdh_crash_output_clear(o);
	o->frames = g_ptr_array_new_with_free_func(g_free);
	o->errors = g_ptr_array_new_with_free_func(g_free);
	o->warnings = g_ptr_array_new_with_free_func(g_free);
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *line_end = nl ? nl : end;
		gsize line_len = line_end - p;
		g_autofree char *line = NULL;

		if (line_len > 0 && p[line_len - 1] == '\r')
			line_len--;
		line = kdh_guest_text(p, line_len, LINE_MAX_BYTES);
		parse_line(line, o, &saw_kernel, &saw_dumpfile, &bt_done);
		p = nl ? nl + 1 : end;
	}
	o->opened = saw_kernel && saw_dumpfile;
}

/* The first MAX_ITEMS lines of A then B (B may be NULL) joined by SEP,
 * bounded; NULL when there are none. */
static char *join(GPtrArray *a, GPtrArray *b, guint max_items, const char *sep)
{
	GString *s = g_string_new(NULL);
	GPtrArray *lists[] = {a, b};
	guint n = 0;

	for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
		for (guint i = 0; lists[l] && i < lists[l]->len && n < max_items; i++, n++) {
			if (s->len)
				g_string_append(s, sep);
			g_string_append(s, lists[l]->pdata[i]);
		}
	}
	if (!s->len) {
		g_string_free(s, TRUE);
		return NULL;
	}
	{
		char *bounded = kdh_guest_text(s->str, s->len, WORDS_MAX);
		g_string_free(s, TRUE);
		return bounded;
	}
}

/* FRAME is FUNCTION or a compiler's clone of it ("f.cold", "f.isra.0"). */
static gboolean frame_is(const char *frame, const char *function)
{
	size_t n = strlen(function);

	return strncmp(frame, function, n) == 0 && (frame[n] == '\0' || frame[n] == '.');
}

static const char *cut_note(gboolean cut)
{
	return cut ? " (crash's output was cut at kdh's bound)" : "";
}

void kdh_crash_judge(KdhResult *r, const KdhCase *c, const KdhCrashOutput *o, int status,
                     gboolean cut)
{
	g_autofree char *words = join(o->errors, o->warnings, 8, "; ");
	guint hit = 0;

	if (!o->opened) {
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "crash(8) cannot open the dump (exit status %d): %s%s", status,
		                words ? words : "it said nothing", cut_note(cut));
		return;
	}
	{
		g_autofree char *warned = join(o->warnings, NULL, 4, "; ");
		kdh_result_check(r, "crash(8) opened the dump: RELEASE %s%s%s",
		                 o->release ? o->release : "(none)", warned ? "; " : "",
		                 warned ? warned : "");
	}
	if (c->expect_panic) {
		if (!o->panic)
			kdh_result_fail(r, KDH_VERDICT_FAIL,
			                "crash(8)'s sys shows no PANIC line%s%s%s",
			                words ? ": " : "", words ? words : "", cut_note(cut));
		else if (!strstr(o->panic, c->expect_panic) &&
		         g_str_has_prefix(o->panic, "\"Oops: "))
			/* A panic after an oops (panic_on_oops): crash names the oops
			 * summary, not the log's first line, which the reader checked. */
			kdh_result_check(r, "crash(8) sys PANIC: %s (the oops that panicked)",
			                 o->panic);
		else if (!strstr(o->panic, c->expect_panic))
			kdh_result_fail(r, KDH_VERDICT_FAIL,
			                "crash(8)'s sys says PANIC: %s, without '%s'", o->panic,
			                c->expect_panic);
		else
			kdh_result_check(r, "crash(8) sys PANIC: %s", o->panic);
	}
	if (!o->has_task) {
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "crash(8) printed no backtrace of the panic task: %s%s",
		                words ? words : "it said nothing", cut_note(cut));
	} else if (c->expect_function) {
		while (hit < o->frames->len && !frame_is(o->frames->pdata[hit], c->expect_function))
			hit++;
		if (hit < o->frames->len) {
			kdh_result_check(
			    r, "crash(8) bt: PID %" G_GUINT64_FORMAT " \"%s\" CPU %u, #%u %s",
			    o->pid, o->command, o->cpu, hit, (char *)o->frames->pdata[hit]);
		} else if (o->panic && strstr(o->panic, c->expect_function)) {
			/* The unwinder lost the frame (a stack-protector panic from
			 * the function's epilogue), but crash's panic line names it. */
			kdh_result_check(r, "crash(8) sys PANIC names %s", c->expect_function);
		} else {
			g_autofree char *frames = join(o->frames, NULL, FRAMES_SHOWN, ", ");
			kdh_result_fail(r, KDH_VERDICT_FAIL,
			                "crash(8)'s backtrace of PID %" G_GUINT64_FORMAT
			                " \"%s\" on CPU %u holds no %s: %s%s%s%s",
			                o->pid, o->command, o->cpu, c->expect_function,
			                frames ? frames : "no frame", words ? "; crash says: " : "",
			                words ? words : "", cut_note(cut));
		}
	}
	if (status != 0)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "crash(8) exited with status %d: %s", status,
		                words ? words : "it said nothing");
}
