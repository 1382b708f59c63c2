/* crashkernel= as the kernel reads it, and the range list kdh suggests. */
#include "scenario/scenario.h"
#include "sizing/sizing.h"

#include <string.h>

/* The kernel rounds the RAM it counts up to this before matching a range
 * (parse_crashkernel_mem: "Firmware sometimes reserves some memory regions
 * for its own use ... rounding up the total size to 128M"). */
#define RAM_ROUND (128 * KDH_MIB)

gboolean kdh_crashkernel_eval(const char *expr, guint64 ram, guint64 *size)
{
	g_auto(GStrv) at = g_strsplit(expr ? expr : "", "@", 2);
	g_auto(GStrv) ranges = NULL;
	guint64 rounded = (ram + RAM_ROUND - 1) / RAM_ROUND * RAM_ROUND;

	*size = 0;
	if (!at[0] || !*at[0])
		return FALSE;
	if (!strchr(at[0], ':'))
		return kdh_parse_size(at[0], size);
	ranges = g_strsplit(at[0], ",", -1);
	for (char **r = ranges; *r; r++) {
		g_auto(GStrv) colon = g_strsplit(*r, ":", 2);
		g_auto(GStrv) dash = NULL;
		guint64 start, end = G_MAXUINT64, value;

		if (!colon[0] || !colon[1] || !strchr(colon[0], '-'))
			return FALSE;
		dash = g_strsplit(colon[0], "-", 2);
		if (!kdh_parse_size(dash[0], &start) ||
		    (*dash[1] && !kdh_parse_size(dash[1], &end)) || end <= start ||
		    !kdh_parse_size(colon[1], &value))
			return FALSE;
		if (rounded >= start && rounded < end) {
			*size = value;
			/* Later ranges still have to parse, as the kernel's loop
			 * would not read them: stop here, as it does. */
			return TRUE;
		}
	}
	return TRUE;
}

static gint by_ram(gconstpointer a, gconstpointer b)
{
	const KdhSizingPoint *pa = a, *pb = b;

	return pa->ram < pb->ram ? -1 : pa->ram > pb->ram;
}

char *kdh_sizing_size_text(guint64 bytes)
{
	if (bytes % (1024 * KDH_MIB) == 0)
		return g_strdup_printf("%" G_GUINT64_FORMAT "G", bytes / (1024 * KDH_MIB));
	return g_strdup_printf("%" G_GUINT64_FORMAT "M", bytes / KDH_MIB);
}

/* Appends BYTES as kdh_sizing_size_text writes it. */
static void append_size(GString *out, guint64 bytes)
{
	g_autofree char *text = kdh_sizing_size_text(bytes);

	g_string_append(out, text);
}

char *kdh_sizing_suggest(const KdhSizingPoint *points, guint n, guint margin_pct, guint64 step)
{
	g_autofree KdhSizingPoint *sorted = g_memdup2(points, n * sizeof(*points));
	GString *out = g_string_new(NULL);
	guint64 floor = 0;

	if (!n)
		return g_string_free(out, TRUE);
	qsort(sorted, n, sizeof(*sorted), by_ram);
	for (guint i = 0; i < n; i++) {
		/* [r_i, r_i+1) takes what r_i+1 needed: the most any RAM in it
		 * needs; the open last range what r_n needed. */
		guint64 need = sorted[i + 1 < n ? i + 1 : i].size;
		guint64 with_margin = need + (need * margin_pct + 99) / 100;
		guint64 size = (with_margin + step - 1) / step * step;

		size = MAX(size, floor);
		floor = size;
		if (out->len)
			g_string_append_c(out, ',');
		append_size(out, sorted[i].ram);
		g_string_append_c(out, '-');
		if (i + 1 < n)
			append_size(out, sorted[i + 1].ram);
		g_string_append_c(out, ':');
		append_size(out, size);
	}
	return g_string_free(out, FALSE);
}
