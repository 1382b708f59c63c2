/* A field log as kdh reproduce reads it; when it parses, the scenario
 * written from it must load, and it must match itself. */
#include "entry.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "reproduce/reproduce.h"
#include "scenario/scenario.h"

int kdh_fuzz_field(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhField) f = kdh_field_parse("field.log", (const char *)data, size, &error);
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	const KdhReproduceOptions opts = {.name = "fuzz"};
	g_autofree char *scenario = NULL;
	KdhReproduceMatch m;

	if (!f == !error)
		abort();
	if (!f)
		return 0;
	kdh_reproduce_compare(f, f, &m);
	if (!m.klass || m.frames_common != m.frames_field || m.frames_in_order != m.frames_field)
		abort();
	scenario = kdh_reproduce_scenario(f, &opts, notes, NULL);
	if (scenario) {
		g_autoptr(GError) why = NULL;
		g_autoptr(GPtrArray) cases =
		    kdh_scenario_load_data("reproduce.ini", scenario, &why);
		if (!cases)
			abort();
	}
	return 0;
}
