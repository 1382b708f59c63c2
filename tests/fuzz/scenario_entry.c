/* Scenario text, [matrix] included, as kdh run reads it. */
#include "entry.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h"

int kdh_fuzz_names_file_line(const char *message, const char *name)
{
	const char *p;
	guint64 line;
	char *end = NULL;

	if (!g_str_has_prefix(message, name) || message[strlen(name)] != ':')
		return FALSE;
	p = message + strlen(name) + 1;
	if (!g_ascii_isdigit(*p))
		return FALSE;
	line = g_ascii_strtoull(p, &end, 10);
	return line >= 1 && end[0] == ':' && end[1] == ' ';
}

int kdh_fuzz_scenario(const uint8_t *data, size_t size)
{
	g_autofree char *text = g_malloc(size + 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = NULL;

	memcpy(text, data, size);
	text[size] = '\0';
	cases = kdh_scenario_load_data("fuzz.ini", text, &error);
	/* exactly one of a result and an error */
	if (!cases == !error)
		abort();
	if (error) {
		if (!kdh_fuzz_names_file_line(error->message, "fuzz.ini") ||
		    !g_utf8_validate(error->message, -1, NULL))
			abort();
		return 0;
	}
	if (cases->len == 0 || !kdh_cases_names_unique(cases, NULL))
		abort();
	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		g_autoptr(KdhCase) copy = kdh_case_copy(c);
		if (!c->name[0] || !g_str_equal(copy->name, c->name) || !c->trigger ||
		    !kdh_crashkernel_valid(c->crashkernel))
			abort();
		kdh_case_scale_timeouts(copy, 100);
		if (copy->timeout_capture > KDH_TIMEOUT_MAX)
			abort();
	}
	return 0;
}
