/* crash(8)'s output, parsed and judged for a case as kdh's cross-check
 * does; the first byte gives crash's exit status and whether the output
 * was cut. */
#include "entry.h"

#include <glib.h>
#include <stdlib.h>

#include "scenario/scenario.h"
#include "verdict/verdict.h"

int kdh_fuzz_crash(const uint8_t *data, size_t size)
{
	static KdhCase *c;
	KdhCrashOutput o = {0};
	g_autoptr(KdhResult) r = kdh_result_new("fuzz");

	if (!c) {
		g_autoptr(GPtrArray) cases =
		    kdh_scenario_load_data("crash.ini", "[scenario]\nname=crash\n", NULL);
		if (!cases)
			abort();
		c = g_ptr_array_steal_index(cases, 0);
	}
	kdh_crash_parse((const char *)data, size, &o);
	if (o.frames->len > 256 || o.errors->len > 256 || o.warnings->len > 256)
		abort();
	kdh_crash_judge(r, c, &o, size ? data[0] >> 1 : 0, size && (data[0] & 1));
	kdh_crash_output_clear(&o);
	return 0;
}
