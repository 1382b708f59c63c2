/* Text from outside kdh: names that become paths, guest bytes that become
 * strings.  One sanitiser each, so every layer gets the same guarantees. */
#include "util/util.h"

#include <string.h>

char *kdh_safe_name(const char *name, GError **error)
{
	gsize len = name ? strlen(name) : 0;
	char *safe;

	if (len == 0 || len > KDH_NAME_MAX || g_str_equal(name, ".") || g_str_equal(name, "..")) {
		g_autofree char *shown = name ? kdh_guest_text(name, -1, 64) : g_strdup("(none)");
		g_set_error(error, KDH_UTIL_ERROR, 0, "\"%s\" is not usable as a file name%s",
		            shown, len > KDH_NAME_MAX ? " (too long)" : "");
		return NULL;
	}
	safe = g_strdup(name);
	for (char *p = safe; *p; p++) {
		if (!g_ascii_isalnum(*p) && !strchr("._+-", *p))
			*p = '_';
	}
	/* A leading dot would hide the file (and makes "." and ".."); a leading
	 * '-' reads as an option to any tool given the path. */
	if (safe[0] == '.' || safe[0] == '-')
		safe[0] = '_';
	return safe;
}

/* Appends the escape for the control or format character C. */
static void append_escape(GString *out, gunichar c)
{
	if (c < 0x100)
		g_string_append_printf(out, "\\x%02x", c);
	else
		g_string_append_printf(out, "\\u%04x", c);
}

char *kdh_guest_text(const char *text, gssize len, gsize max_bytes)
{
	static const char cut_mark[] = "\xe2\x80\xa6"; /* … */
	const gsize mark_len = sizeof(cut_mark) - 1;
	const char *p, *end;
	gsize fits_mark = 0; /* the longest whole output that leaves room for the mark */
	GString *out;

	if (!text)
		return NULL;
	if (len < 0)
		len = strlen(text);
	out = g_string_sized_new(MIN((gsize)len, max_bytes) + 1);
	for (p = text, end = text + len; p < end;) {
		gunichar c = g_utf8_get_char_validated(p, end - p);
		gsize step;

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_unichar(out, 0xfffd);
			step = 1;
		} else {
			step = g_utf8_next_char(p) - p;
			if (c != '\t' &&
			    (g_unichar_iscntrl(c) || g_unichar_type(c) == G_UNICODE_FORMAT))
				append_escape(out, c);
			else
				g_string_append_len(out, p, step);
		}
		if (out->len > max_bytes)
			break;
		if (out->len + mark_len <= max_bytes)
			fits_mark = out->len;
		p += step;
	}
	if (p < end) {
		/* Cut at a whole character or escape, and say so. */
		g_string_truncate(out, fits_mark);
		if (fits_mark + mark_len <= max_bytes)
			g_string_append(out, cut_mark);
	}
	return g_string_free(out, FALSE);
}
