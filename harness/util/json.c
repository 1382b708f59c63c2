/* Members of a JSON object being built with json-glib, as every writer of
 * kdh's JSON (verdict.json, results.json, kdh list --json) adds them. */
#include "util/util.h"

void kdh_json_add_string(JsonBuilder *b, const char *key, const char *value)
{
	json_builder_set_member_name(b, key);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

void kdh_json_add_int(JsonBuilder *b, const char *key, gint64 value)
{
	json_builder_set_member_name(b, key);
	json_builder_add_int_value(b, value);
}
