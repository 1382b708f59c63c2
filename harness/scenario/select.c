/* Choosing cases: shards that every CI job computes alike from the case
 * names alone, a name filter, and scaled timeouts for slow hosts; copying
 * cases (a matrix's cells, sizing's probes) and keeping their names
 * apart. */
#include "scenario/scenario.h"

#include <string.h>

#define SHARD_COUNT_MAX 1000u
/* Digits in SHARD_COUNT_MAX: anything longer is refused before it is read. */
#define SHARD_DIGITS_MAX 4

/* TEXT, a number of 1..MAX in plain decimal without a leading zero, into
 * *OUT; the digits must end at END. */
static gboolean plain_number(const char *text, const char *end, guint max, guint *out)
{
	guint n = 0;

	if (end == text || end - text > SHARD_DIGITS_MAX || *text == '0')
		return FALSE;
	for (const char *p = text; p < end; p++) {
		if (!g_ascii_isdigit(*p))
			return FALSE;
		n = n * 10 + (guint)(*p - '0');
	}
	if (n > max)
		return FALSE;
	*out = n;
	return TRUE;
}

/* TEXT as an error message may quote it: escaped and cut. */
static char *shown(const char *text)
{
	g_autofree char *cut = g_strndup(text, 64);
	return g_strescape(cut, NULL);
}

gboolean kdh_shard_parse(const char *text, guint *index, guint *count, GError **error)
{
	const char *slash = text ? strchr(text, '/') : NULL;
	guint i = 0, n = 0;

	if (slash && plain_number(text, slash, SHARD_COUNT_MAX, &i) &&
	    plain_number(slash + 1, slash + 1 + strlen(slash + 1), SHARD_COUNT_MAX, &n) && i <= n) {
		*index = i;
		*count = n;
		return TRUE;
	}
	g_autofree char *s = shown(text ? text : "");
	g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
	            "--shard '%s': expected I/N, whole numbers with 1 <= I <= N <= %u (e.g. 2/4)",
	            s, SHARD_COUNT_MAX);
	return FALSE;
}

gboolean kdh_case_in_shard(const char *case_name, guint index, guint count)
{
	guint8 digest[32];
	gsize len = sizeof(digest);
	guint64 head = 0;
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);

	g_return_val_if_fail(count > 0 && index >= 1 && index <= count, FALSE);
	g_checksum_update(sum, (const guchar *)case_name, (gssize)strlen(case_name));
	g_checksum_get_digest(sum, digest, &len);
	for (guint b = 0; b < 8; b++)
		head = head << 8 | digest[b];
	return head % count == index - 1;
}

void kdh_cases_select(GPtrArray *cases, const char *glob, guint shard_index, guint shard_count)
{
	g_autoptr(GPatternSpec) pattern = glob ? g_pattern_spec_new(glob) : NULL;
	guint kept = 0;

	for (guint i = 0; i < cases->len; i++) {
		KdhCase *c = g_ptr_array_index(cases, i);
		gboolean keep =
		    (!pattern || g_pattern_spec_match_string(pattern, c->name)) &&
		    (shard_count == 0 || kdh_case_in_shard(c->name, shard_index, shard_count));
		if (keep)
			cases->pdata[kept++] = c;
		else
			kdh_case_free(c);
	}
	/* The pointers past KEPT were moved or freed: drop them unfreed. */
	g_ptr_array_set_free_func(cases, NULL);
	g_ptr_array_set_size(cases, kept);
	g_ptr_array_set_free_func(cases, (GDestroyNotify)kdh_case_free);
}

/* TRUE when TEXT is DIGITS[.FRACTION]: 1-3 digits, then optionally a point
 * and 1-6 digits, and nothing else.  g_ascii_strtod alone would also take
 * "inf", "1e2", "0x10", " 2" and "+2". */
static gboolean plain_decimal(const char *text)
{
	gsize whole = strspn(text, "0123456789"), fraction;

	if (whole == 0 || whole > 3)
		return FALSE;
	if (text[whole] == '\0')
		return TRUE;
	if (text[whole] != '.')
		return FALSE;
	fraction = strspn(text + whole + 1, "0123456789");
	return fraction > 0 && fraction <= 6 && text[whole + 1 + fraction] == '\0';
}

gboolean kdh_parse_timeout_scale(const char *text, double *x, GError **error)
{
	const char *p = text ? text : "";
	double value = plain_decimal(p) ? g_ascii_strtod(p, NULL) : 0;

	if (value >= 0.1 && value <= 100) {
		*x = value;
		return TRUE;
	}
	g_autofree char *s = shown(p);
	g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
	            "--timeout-scale '%s': expected a plain decimal number from 0.1 to 100 "
	            "(e.g. 2.5)",
	            s);
	return FALSE;
}

/* SECONDS times X, rounded up, within 1..KDH_TIMEOUT_MAX. */
static guint scaled(guint seconds, double x)
{
	/* The product of two exactly meant decimals carries binary rounding
	 * (120 * 1.1 = 132.00000000000003): a millionth of a second is noise,
	 * not a reason to round up. */
	double v = (double)seconds * x - 1e-6;
	guint whole;

	if (!(v > 1)) /* also NaN */
		return 1;
	if (v >= KDH_TIMEOUT_MAX)
		return KDH_TIMEOUT_MAX;
	whole = (guint)v;
	return whole < v ? whole + 1 : whole;
}

void kdh_case_scale_timeouts(KdhCase *c, double x)
{
	c->timeout_boot = scaled(c->timeout_boot, x);
	c->timeout_crash = scaled(c->timeout_crash, x);
	c->timeout_capture = scaled(c->timeout_capture, x);
	c->timeout_shutdown = scaled(c->timeout_shutdown, x);
}

KdhCase *kdh_case_copy(const KdhCase *c)
{
	KdhCase *copy = g_memdup2(c, sizeof(*c));

	copy->name = g_strdup(c->name);
	copy->description = g_strdup(c->description);
	copy->source = g_strdup(c->source);
	copy->source_hash = g_strdup(c->source_hash);
	copy->kernel_ref = g_strdup(c->kernel_ref);
	copy->crashkernel = g_strdup(c->crashkernel);
	copy->image = g_strdup(c->image);
	copy->collector = g_strdup(c->collector);
	copy->compression = g_strdup(c->compression);
	copy->expect_panic = g_strdup(c->expect_panic);
	copy->expect_function = g_strdup(c->expect_function);
	copy->matrix_kernel = g_strdup(c->matrix_kernel);
	copy->matrix_scenario = g_strdup(c->matrix_scenario);
	return copy;
}

gboolean kdh_cases_names_unique(GPtrArray *cases, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		const KdhCase *first = g_hash_table_lookup(seen, c->name);
		if (first) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
			            "%s:%u: [scenario] name: case '%s' is also a case of %s:%u; "
			            "each case needs its own results folder",
			            c->source, c->name_line, c->name, first->source,
			            first->name_line);
			return FALSE;
		}
		g_hash_table_insert(seen, c->name, (gpointer)c);
	}
	return TRUE;
}
