/* Sizes as scenario files and the kernel's command line write them
 * ("256M", "1G") and crashkernel= values (a size, "start-[end]:size"
 * ranges, an "@offset"): parsed strictly, an overflow refused. */
#include "scenario/scenario.h"

#include <errno.h>
#include <string.h>

gboolean kdh_parse_size(const char *text, guint64 *bytes)
{
	char *end = NULL;
	guint64 value, unit = 1;

	if (!text || !g_ascii_isdigit(*text))
		return FALSE;
	errno = 0;
	value = g_ascii_strtoull(text, &end, 10);
	if (errno == ERANGE)
		return FALSE;
	switch (*end) {
	case '\0':
		break;
	case 'K':
	case 'k':
		unit = 1ULL << 10;
		end++;
		break;
	case 'M':
	case 'm':
		unit = 1ULL << 20;
		end++;
		break;
	case 'G':
	case 'g':
		unit = 1ULL << 30;
		end++;
		break;
	case 'T':
	case 't':
		unit = 1ULL << 40;
		end++;
		break;
	default:
		return FALSE;
	}
	if (*end != '\0' || value > G_MAXUINT64 / unit)
		return FALSE;
	*bytes = value * unit;
	return TRUE;
}

/* One "start-[end]:size" element of a crashkernel range list. */
static gboolean crashkernel_range_valid(const char *range)
{
	g_auto(GStrv) halves = g_strsplit(range, ":", 2);
	g_auto(GStrv) bounds = NULL;
	guint64 start, end, size;

	if (g_strv_length(halves) != 2 || !kdh_parse_size(halves[1], &size))
		return FALSE;
	bounds = g_strsplit(halves[0], "-", 2);
	if (g_strv_length(bounds) != 2 || !kdh_parse_size(bounds[0], &start))
		return FALSE;
	if (bounds[1][0] == '\0')
		return TRUE;
	return kdh_parse_size(bounds[1], &end) && end > start;
}

gboolean kdh_crashkernel_valid(const char *text)
{
	g_auto(GStrv) at = NULL;
	guint64 size;

	if (!text || !*text)
		return FALSE;
	at = g_strsplit(text, "@", 2);
	if (at[1] && !kdh_parse_size(at[1], &size))
		return FALSE;
	if (!strchr(at[0], ':'))
		return kdh_parse_size(at[0], &size) && size > 0;
	g_auto(GStrv) ranges = g_strsplit(at[0], ",", -1);
	for (char **r = ranges; *r; r++) {
		if (!crashkernel_range_valid(*r))
			return FALSE;
	}
	return TRUE;
}
