/* Serial marker lines ("KDH: <event> key=value ..."), each line as the
 * guest wrote it and as the watch hands it on (made text). */
#include "entry.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "run/run.h"
#include "util/util.h"
#include "verdict/verdict.h"

static void check(const char *line)
{
	g_autoptr(KdhMarker) m = kdh_marker_parse(line);
	GHashTableIter it;
	gpointer key, value;

	if (!m)
		return;
	/* an event is a word: lower-case letters, digits, '-' and '_' */
	if (!m->event[0] ||
	    strspn(m->event, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(m->event))
		abort();
	g_hash_table_iter_init(&it, m->args);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		if (!((const char *)key)[0] || kdh_marker_get(m, key) != value)
			abort();
	}
}

int kdh_fuzz_marker(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		gsize len = (nl ? nl : end) - p;
		g_autofree char *raw = g_malloc(len + 1);
		g_autofree char *text = kdh_guest_text(p, len, KDH_SERIAL_LOG_LINE_MAX);

		memcpy(raw, p, len);
		raw[len] = '\0';
		check(raw);
		check(text);
		p += len + 1;
	}
	return 0;
}
