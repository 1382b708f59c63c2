/* A field crash's console text -> KdhField.  The text is hostile (a
 * console catches anything): it is bounded, made valid UTF-8, split into
 * bounded lines, stripped of the prefixes consoles and log collectors add,
 * and every number in it parsed strictly; a fact that does not parse is
 * left unknown with a note naming the line. */
#include "reproduce/reproduce.h"

#include "dump/dump.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

GQuark kdh_reproduce_error_quark(void)
{
	return g_quark_from_static_string("kdh-reproduce-error-quark");
}

#define PANIC_MARK "Kernel panic - not syncing: "
/* How far before a generic panic ("Fatal exception") the oops that caused
 * it is looked for. */
#define OOPS_WINDOW 150
/* How far after the crash line its "CPU: N PID: N Comm:" line and call trace are. */
#define CONTEXT_WINDOW 80

typedef struct {
	GPtrArray *lines; /* char*, prefixes stripped */
	const char *name;
	KdhField *f;
} Parse;

static GRegex *rx(const char *pattern)
{
	/* Patterns are constants of this file: a failure is a bug here. */
	GRegex *r = g_regex_new(pattern, G_REGEX_OPTIMIZE, 0, NULL);

	g_assert(r);
	return r;
}

static void note(Parse *p, guint line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void note(Parse *p, guint line, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line)
		g_ptr_array_add(p->f->notes, g_strdup_printf("%s:%u: %s", p->name, line, msg));
	else
		g_ptr_array_add(p->f->notes, g_strdup_printf("%s: %s", p->name, msg));
}

/* Splits TEXT (valid UTF-8, no NUL) into lines, each cut at
 * KDH_FIELD_MAX_LINE bytes (on a character boundary) and stripped of a
 * syslog level, a journal/syslog "host kernel:" prefix, a printk timestamp
 * and a caller id. */
static void split_lines(Parse *p, char *text)
{
	g_autoptr(GRegex) prefix =
	    rx("^(?:<\\d{1,3}>)?(?:[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ kernel: "
	       "|\\d{4}-\\d\\d-\\d\\dT\\S+ \\S+ kernel: )?(?:<\\d{1,3}>)?"
	       "(?:\\[ *\\d+\\.\\d+\\] ?)?(?:\\[ *[TC]\\d+\\] ?)?");
	guint cut = 0;
	char *line = text;

	while (line && *line) {
		char *nl;

		if (p->lines->len == KDH_FIELD_MAX_LINES) {
			p->f->truncated = TRUE;
			note(p, KDH_FIELD_MAX_LINES, "more than %u lines: the rest ignored",
			     KDH_FIELD_MAX_LINES);
			break;
		}
		nl = strchr(line, '\n');
		char *end = nl ? nl : line + strlen(line);
		g_autoptr(GMatchInfo) m = NULL;
		int start = 0, stop = 0;
		gsize n;

		while (end > line && (end[-1] == '\r' || end[-1] == '\n'))
			end--;
		n = (gsize)(end - line);
		if (n > KDH_FIELD_MAX_LINE) {
			const char *at = g_utf8_find_prev_char(line, line + KDH_FIELD_MAX_LINE + 1);

			n = (gsize)(at - line);
			cut++;
		}
		{
			g_autofree char *raw = g_strndup(line, n);

			/* \r inside a line (a progress bar, a console that moved the
			 * cursor) hides nothing a kernel line needs: spaces. */
			g_strdelimit(raw, "\r\t", ' ');
			if (g_regex_match(prefix, raw, 0, &m) &&
			    g_match_info_fetch_pos(m, 0, &start, &stop))
				g_ptr_array_add(p->lines, g_strdup(raw + stop));
			else
				g_ptr_array_add(p->lines, g_strdup(raw));
		}
		line = nl ? nl + 1 : NULL;
	}
	if (cut)
		note(p, 0, "%u line%s longer than %u bytes cut", cut, cut == 1 ? "" : "s",
		     KDH_FIELD_MAX_LINE);
}

static const char *L(const Parse *p, guint i)
{
	return g_ptr_array_index(p->lines, i);
}

/* g_regex_match into *M, freeing what *M held (it is set even when
 * nothing matches, so a chain of tries would leak every earlier one). */
static gboolean match(GRegex *r, const char *s, GMatchInfo **m)
{
	if (*m)
		g_match_info_free(*m);
	*m = NULL;
	return g_regex_match(r, s, 0, m);
}

/* A strictly parsed decimal or hex number within [MIN, MAX]. */
static gboolean number(const char *text, guint base, guint64 min, guint64 max, guint64 *out)
{
	return g_ascii_string_to_unsigned(text, base, min, max, out, NULL);
}

/* The generic rows: a panic or oops line that does not say what went wrong. */
static gboolean generic(const KdhPanicClass *k)
{
	return k == kdh_panic_class_find("panic") || k == kdh_panic_class_find("oops");
}

/* Finds the crash: the first panic line (its class from its reason, or,
 * for "Fatal exception", from the most specific class line of the oops
 * before it), else the first class line of all.  FALSE when none. */
static gboolean find_crash(Parse *p, guint *crash)
{
	KdhField *f = p->f;
	guint n = p->lines->len, panic = n;

	for (guint i = 0; i < n; i++) {
		if (strstr(L(p, i), PANIC_MARK)) {
			panic = i;
			break;
		}
	}
	if (panic < n) {
		const char *r = strstr(L(p, panic), PANIC_MARK) + strlen(PANIC_MARK);
		gsize nclass; /* the table's order is what counts here */
		const KdhPanicClass *table = kdh_panic_classes(&nclass);

		f->reason = g_strstrip(g_strdup(r));
		f->klass = kdh_panic_class_of_line(L(p, panic));
		*crash = panic;
		/* The oops or warning before the panic: for a generic panic ("Fatal
		 * exception") its most specific class; for any, the first line of
		 * the class, whose context (the stuck CPU of a soft lockup, the
		 * faulting code of an oops) is the crash's own.  Back to the end of
		 * an earlier oops, a kdh marker or the boot. */
		for (guint i = panic; i-- > 0 && panic - i <= OOPS_WINDOW;) {
			const KdhPanicClass *k = kdh_panic_class_of_line(L(p, i));

			if (strstr(L(p, i), "---[ end ") || g_str_has_prefix(L(p, i), "KDH: ") ||
			    strstr(L(p, i), "Linux version "))
				break;
			if (k && (k == f->klass ||
			          (generic(f->klass) && k - table < f->klass - table))) {
				f->klass = k;
				*crash = i;
			}
		}
		return TRUE;
	}
	for (guint i = 0; i < n; i++) {
		const KdhPanicClass *k = kdh_panic_class_of_line(L(p, i));

		if (k && k != kdh_panic_class_find("panic")) {
			f->klass = k;
			*crash = i;
			/* kdump starts from an oops before panic() prints its line
			 * (panic_on_oops): the oops line is the reason. */
			f->reason = g_strstrip(g_strdup(L(p, i)));
			note(p, i + 1, "no \"%s\" line: the crash is the first %s line", PANIC_MARK,
			     k->name);
			return TRUE;
		}
	}
	return FALSE;
}

/* The crashing context: the first "CPU: N PID: N Comm: X" line at or after
 * the crash line (an oops's register dump, a panic's dump_stack), else the
 * last one before it; then the frames of the call trace after it. */
static void find_context(Parse *p, guint crash, guint boot)
{
	g_autoptr(GRegex) ctx =
	    rx("CPU: (\\d{1,5}) (?:UID: \\d+ )?PID: (\\d{1,10}) Comm: (\\S{1,64})");
	g_autoptr(GRegex) frame =
	    rx("^\\s*(\\? )?([A-Za-z_][A-Za-z0-9_.]{0,127})\\+0x[0-9a-f]{1,16}/0x[0-9a-f]{1,16}"
	       "(?: \\[[^\\]]{1,64}\\])?\\s*$");
	g_autoptr(GRegex) rip = rx("RIP: [0-9a-f]{4}:([A-Za-z_][A-Za-z0-9_.]{0,127})\\+0x");
	KdhField *f = p->f;
	guint n = p->lines->len, at = n;

	for (guint i = crash; i < n && i - crash <= CONTEXT_WINDOW && at == n; i++) {
		if (g_regex_match(ctx, L(p, i), 0, NULL))
			at = i;
	}
	for (guint i = crash; at == n && i-- > boot && crash - i <= OOPS_WINDOW;) {
		if (g_regex_match(ctx, L(p, i), 0, NULL))
			at = i;
	}
	if (at == n)
		return;
	{
		g_autoptr(GMatchInfo) m = NULL;
		g_autofree char *cpu = NULL, *pid = NULL;
		guint64 v;

		g_regex_match(ctx, L(p, at), 0, &m);
		cpu = g_match_info_fetch(m, 1);
		pid = g_match_info_fetch(m, 2);
		f->comm = g_match_info_fetch(m, 3);
		f->cpu = number(cpu, 10, 0, 65535, &v) ? (gint)v : -1;
		f->pid = number(pid, 10, 0, G_MAXINT32, &v) ? (gint)v : -1;
	}
	for (guint i = at + 1; i < n && i - at <= CONTEXT_WINDOW; i++) {
		g_autoptr(GMatchInfo) m = NULL;

		if (g_regex_match(rip, L(p, i), 0, &m) && !f->frames->len) {
			g_ptr_array_add(f->frames, g_match_info_fetch(m, 1));
			continue;
		}
		if (!strstr(L(p, i), "Call Trace:"))
			continue;
		/* The trace ends at a register dump (the interrupted context's),
		 * an end marker, or two lines that are not frames (a line of other
		 * output interleaved on a console is passed over). */
		for (guint j = i + 1, other = 0; j < n && f->frames->len < KDH_FIELD_FRAMES; j++) {
			g_autoptr(GMatchInfo) fm = NULL;
			const char *s = L(p, j);

			while (*s == ' ')
				s++;
			if (s[0] == '<' && strchr(s, '>') && strlen(s) < 12)
				continue; /* <TASK>, </IRQ>, <NMI>: where the stack switched */
			if (g_str_has_prefix(s, "RIP: ") || strstr(s, "---[ end ") ||
			    g_str_has_prefix(s, "Kernel Offset:"))
				break;
			if (!g_regex_match(frame, L(p, j), 0, &fm)) {
				if (++other == 2)
					break;
				continue;
			}
			other = 0;
			if (g_match_info_get_match_count(fm) > 1) {
				g_autofree char *q = g_match_info_fetch(fm, 1);

				if (q && *q)
					continue; /* "? name": a stale address, not a frame */
			}
			g_ptr_array_add(f->frames, g_match_info_fetch(fm, 2));
		}
		break;
	}
	/* .cold, .isra.0, .constprop.0: the same function, split by the compiler. */
	for (guint i = 0; i < f->frames->len; i++) {
		char *dot = strchr(g_ptr_array_index(f->frames, i), '.');

		if (dot && dot != g_ptr_array_index(f->frames, i))
			*dot = '\0';
	}
}

static char *crashkernel_of(const char *cmdline)
{
	g_auto(GStrv) words = g_strsplit_set(cmdline, " ", -1);
	const char *last = NULL;

	/* The kernel honours the last crashkernel= it is given. */
	for (char **w = words; *w; w++) {
		if (g_str_has_prefix(*w, "crashkernel="))
			last = *w + strlen("crashkernel=");
	}
	return last && *last ? g_strdup(last) : NULL;
}

/* The facts of the crashed boot: the last of each in lines [BOOT, CRASH). */
static void find_facts(Parse *p, guint boot, guint crash)
{
	g_autoptr(GRegex) version = rx("Linux version ([A-Za-z0-9._+~-]{1,64}) (.{1,1024})$");
	g_autoptr(GRegex) debian = rx("#\\d+ .*\\bDebian ([0-9][0-9A-Za-z.+~:-]{0,63})");
	g_autoptr(GRegex) memory = rx("Memory: (\\d{1,15})K/(\\d{1,15})K available");
	g_autoptr(GRegex) e820 =
	    rx("e820: \\[mem 0x([0-9a-f]{1,16})-0x([0-9a-f]{1,16})\\] usable$");
	g_autoptr(GRegex) brought = rx("smp: Brought up \\d+ nodes?, (\\d{1,6}) CPUs?");
	g_autoptr(GRegex) allowing = rx("smpboot: Allowing (\\d{1,6}) CPUs");
	KdhField *f = p->f;
	guint64 e820_sum = 0, mem_total = 0, up = 0, allowed = 0;
	gboolean e820_bad = FALSE;

	for (guint i = boot; i < crash; i++) {
		const char *s = L(p, i);
		g_autoptr(GMatchInfo) m = NULL;
		const char *c;

		if (match(version, s, &m)) {
			g_autoptr(GMatchInfo) d = NULL;

			g_free(f->release);
			g_free(f->build);
			g_clear_pointer(&f->debian_version, g_free);
			f->release = g_match_info_fetch(m, 1);
			f->build = g_match_info_fetch(m, 2);
			if (g_regex_match(debian, f->build, 0, &d))
				f->debian_version = g_match_info_fetch(d, 1);
		} else if (match(memory, s, &m)) {
			g_autofree char *k = g_match_info_fetch(m, 2);

			if (!number(k, 10, 1, G_GUINT64_CONSTANT(1) << 40, &mem_total)) {
				note(p, i + 1, "Memory: size %s out of range, ignored", k);
				mem_total = 0;
			}
		} else if (match(e820, s, &m)) {
			g_autofree char *a = g_match_info_fetch(m, 1),
			                *b = g_match_info_fetch(m, 2);
			guint64 lo, hi;

			if (number(a, 16, 0, G_MAXUINT64, &lo) &&
			    number(b, 16, 0, G_MAXUINT64, &hi) && hi >= lo &&
			    hi - lo < G_MAXUINT64 - e820_sum)
				e820_sum += hi - lo + 1;
			else if (!e820_bad) {
				e820_bad = TRUE;
				note(p, i + 1, "e820 range %s-%s not a range, ignored", a, b);
			}
		} else if (match(brought, s, &m)) {
			g_autofree char *v = g_match_info_fetch(m, 1);

			if (!number(v, 10, 1, 65536, &up))
				up = 0;
		} else if (match(allowing, s, &m)) {
			g_autofree char *v = g_match_info_fetch(m, 1);

			if (!number(v, 10, 1, 65536, &allowed))
				allowed = 0;
		} else if ((c = strstr(s, "Kernel command line: "))) {
			g_free(f->cmdline);
			g_free(f->crashkernel);
			f->cmdline = g_strstrip(g_strdup(c + strlen("Kernel command line: ")));
			f->crashkernel = crashkernel_of(f->cmdline);
		}
	}
	if (mem_total) {
		f->ram_bytes = mem_total << 10;
		f->ram_from = "Memory: line (total)";
	} else if (e820_sum) {
		f->ram_bytes = e820_sum;
		f->ram_from = "e820 usable ranges";
	}
	if (up) {
		f->cpus = (guint)up;
		f->cpus_from = "smp: Brought up";
	} else if (allowed) {
		f->cpus = (guint)allowed;
		f->cpus_from = "smpboot: Allowing";
	}
}

static KdhField *field_new(const char *name)
{
	KdhField *f = g_new0(KdhField, 1);

	f->source = g_strdup(name);
	f->notes = g_ptr_array_new_with_free_func(g_free);
	f->frames = g_ptr_array_new_with_free_func(g_free);
	f->cpu = f->pid = -1;
	return f;
}

/* TEXT (valid UTF-8, taken) with every control character but a tab, a
 * newline and a CR before one made '?': what the parse keeps reaches the
 * terminal and the scenario written from it, whose description must load
 * as a scenario file's text (a fuzzer found a field log whose crash line
 * held 0x01 make an unloadable scenario). */
static char *controls_replaced(char *text)
{
	char *w = text;

	/* In place: '?' is never longer than what it replaces.  ASCII first,
	 * byte by byte; only the rest is decoded (an 8 MiB log stays fast). */
	for (const char *c = text; *c;) {
		if ((guchar)*c < 0x80) {
			gboolean ctl = g_ascii_iscntrl(*c) && *c != '\t' && *c != '\n' &&
			               !(*c == '\r' && c[1] == '\n');
			*w++ = ctl ? '?' : *c;
			c++;
			continue;
		}
		const char *next = g_utf8_next_char(c);
		if (g_unichar_iscntrl(g_utf8_get_char(c))) {
			*w++ = '?';
		} else {
			memmove(w, c, (gsize)(next - c));
			w += next - c;
		}
		c = next;
	}
	*w = '\0';
	return text;
}

KdhField *kdh_field_parse(const char *name, const char *data, gsize len, GError **error)
{
	g_autoptr(KdhField) f = field_new(name);
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	Parse p = {lines, name, f};
	g_autofree char *copy = NULL, *text = NULL;
	guint crash = 0, boot = 0;

	if (len > KDH_FIELD_MAX_BYTES) {
		len = KDH_FIELD_MAX_BYTES;
		f->truncated = TRUE;
		note(&p, 0, "larger than %u MiB: only its first %u MiB read",
		     KDH_FIELD_MAX_BYTES >> 20, KDH_FIELD_MAX_BYTES >> 20);
	}
	/* NUL bytes (a console's line noise, a binary file) would end the
	 * text early: they become '?' before the UTF-8 repair. */
	copy = g_malloc(len + 1);
	for (gsize i = 0; i < len; i++)
		copy[i] = data[i] ? data[i] : '?';
	copy[len] = '\0';
	text = g_utf8_make_valid(copy, (gssize)len);
	text = controls_replaced(text);
	split_lines(&p, text);
	f->lines = lines->len;
	/* A crash line whose class the table does not give (the fuzzer found a
	 * panic line so cut) is no crash kdh can reproduce: every user of a
	 * field reads its class. */
	if (!find_crash(&p, &crash) || !f->klass) {
		g_set_error(
		    error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_INPUT,
		    "%s: no kernel crash in its %u line%s: no \"%s\" line, no oops, lockup, "
		    "BUG or other crash line kdh knows (kdh reproduce needs the console log or "
		    "dmesg of the crash)",
		    name, lines->len, lines->len == 1 ? "" : "s", "Kernel panic - not syncing:");
		return NULL;
	}
	f->crash_line = crash + 1;
	f->crash_text = g_strdup(L(&p, crash));
	for (guint i = crash; i-- > 0;) {
		if (strstr(L(&p, i), "Linux version ")) {
			boot = i;
			break;
		}
	}
	find_facts(&p, boot, crash);
	find_context(&p, crash, boot);
	return g_steal_pointer(&f);
}

/* Reads at most KDH_FIELD_MAX_BYTES + 1 bytes of PATH (the one byte more
 * tells a file just too large). */
static gboolean read_bounded(const char *path, char **data, gsize *len, GError **error)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!fp) {
		int e = errno;

		g_set_error(error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_INPUT, "%s: %s", path,
		            g_strerror(e));
		return FALSE;
	}
	buf = g_malloc(KDH_FIELD_MAX_BYTES + 1);
	n = fread(buf, 1, KDH_FIELD_MAX_BYTES + 1, fp);
	if (ferror(fp)) {
		g_set_error(error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_INPUT, "%s: read error",
		            path);
		fclose(fp);
		g_free(buf);
		return FALSE;
	}
	fclose(fp);
	*data = buf;
	*len = n;
	return TRUE;
}

KdhField *kdh_field_load(const char *path, GError **error)
{
	dump_t *d = dump_new();
	dump_status st;
	KdhField *f = NULL;

	if (!d) {
		g_set_error(error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_INPUT,
		            "%s: out of memory", path);
		return NULL;
	}
	st = dump_open(d, path);
	if (st == DUMP_OK) {
		char *text = NULL;
		size_t len = 0;

		if (dump_dmesg(d, &text, &len) != DUMP_OK) {
			g_set_error(error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_INPUT,
			            "%s: a dump, but its kernel log cannot be read: %s", path,
			            dump_error(d));
		} else if ((f = kdh_field_parse(path, text, len, error))) {
			const char *rel = dump_vmcoreinfo(d, "OSRELEASE");

			f->vmcore = TRUE;
			if (!f->release && rel && *rel && strlen(rel) < 65 &&
			    g_utf8_validate(rel, -1, NULL)) {
				f->release = g_strdup(rel);
				g_ptr_array_add(
				    f->notes,
				    g_strdup_printf("%s: the release is VMCOREINFO's (the log "
				                    "lost its \"Linux version\" line)",
				                    path));
			}
		}
		free(text);
	} else if (st == DUMP_ERR_FORMAT) {
		g_autofree char *data = NULL;
		gsize len = 0;

		if (read_bounded(path, &data, &len, error))
			f = kdh_field_parse(path, data, len, error);
	} else {
		g_set_error(error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_INPUT, "%s: %s", path,
		            dump_error(d));
	}
	dump_free(d);
	return f;
}

void kdh_field_free(KdhField *f)
{
	if (!f)
		return;
	g_free(f->source);
	g_ptr_array_unref(f->notes);
	g_free(f->release);
	g_free(f->build);
	g_free(f->debian_version);
	g_free(f->cmdline);
	g_free(f->crashkernel);
	g_free(f->reason);
	g_free(f->crash_text);
	g_free(f->comm);
	g_ptr_array_unref(f->frames);
	g_free(f);
}
