/* Text for reports: what a results document holds (guest text, or anything
 * a merged results.json says) made safe for each format by one escaper. */
#include "report/internal.h"

#include <string.h>

gboolean kdh_report_unprintable(gunichar c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 || c == 0xfeff ||
	       c == 0xfffe || c == 0xffff;
}

gboolean kdh_report_unprintable_in_xml(gunichar c)
{
	return c != '\t' && c != '\n' && c != '\r' && kdh_report_unprintable(c);
}

char *kdh_report_escape(const char *s, gboolean (*escape)(gunichar c), const char *backslashed,
                        gsize max_chars)
{
	g_autofree char *valid = g_utf8_make_valid(s ? s : "", -1);
	GString *out = g_string_sized_new(strlen(valid) + 16);
	gsize n = 0;

	for (const char *p = valid; *p; p = g_utf8_next_char(p), n++) {
		gunichar c = g_utf8_get_char(p);

		if (max_chars && n == max_chars) {
			g_string_append(out, "\xe2\x80\xa6"); /* … */
			break;
		}
		if (escape(c))
			g_string_append_printf(out, c < 0x100 ? "\\x%02x" : "\\u%04x", c);
		else if (c < 0x80 && backslashed && strchr(backslashed, (int)c)) {
			g_string_append_c(out, '\\');
			g_string_append_c(out, (char)c);
		} else
			g_string_append_unichar(out, c);
	}
	return g_string_free(out, FALSE);
}

char *kdh_report_duration(double seconds)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	guint64 s;

	if (!(seconds >= 0) || seconds > 1e9)
		return g_strdup("?");
	if (seconds < 60)
		return g_strdup_printf("%s s", g_ascii_formatd(buf, sizeof(buf), "%.1f", seconds));
	s = (guint64)(seconds + 0.5);
	if (s < 3600)
		return g_strdup_printf("%um %02us", (guint)(s / 60), (guint)(s % 60));
	return g_strdup_printf("%uh %02um %02us", (guint)(s / 3600), (guint)(s / 60 % 60),
	                       (guint)(s % 60));
}
