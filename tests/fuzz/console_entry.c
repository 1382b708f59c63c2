/* A console log through everything that judges one: the serial log reader
 * (whole, or cut with a tail from mid-line), the markers the watch reads
 * from it, the no-dump diagnosis, the reservation and readiness checks and
 * the warnings, for a case expecting a dump and one expecting none. */
#include "entry.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "run/run.h"
#include "scenario/scenario.h"
#include "verdict/verdict.h"

static const KdhCase *case_of(const char *text)
{
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("console.ini", text, NULL);

	if (!cases)
		abort();
	return g_ptr_array_steal_index(cases, 0);
}

static void set(char **field, const KdhMarker *m, const char *key)
{
	const char *value = kdh_marker_get(m, key);

	if (value && !*field)
		*field = g_strdup(value);
}

/* What the watch would have noted from LOG's markers. */
static void evidence_of(const KdhSerialLog *log, KdhConsoleEvidence *e)
{
	for (guint i = 0; i < log->lines->len; i++) {
		g_autoptr(KdhMarker) m = kdh_marker_parse(kdh_serial_log_line(log, i));
		if (!m)
			continue;
		if (g_str_equal(m->event, "boot")) {
			set(&e->booted_release, m, "release");
			set(&e->cmdline, m, "cmdline");
		} else if (g_str_equal(m->event, "armed")) {
			set(&e->loaded, m, "kexec_crash_loaded");
			set(&e->crash_size, m, "crash_size");
			set(&e->service_ready, m, "service_ready");
			set(&e->service, m, "service");
			e->armed = g_strcmp0(e->loaded, "1") == 0;
		} else if (g_str_equal(m->event, "capture-start")) {
			e->capture_started = TRUE;
		} else if (g_str_equal(m->event, "capture-done")) {
			e->capture_done = TRUE;
			set(&e->capture_rc, m, "rc");
		} else if (g_str_equal(m->event, "error")) {
			set(&e->guest_failure, m, "msg");
		}
	}
}

int kdh_fuzz_console(const uint8_t *data, size_t size)
{
	static const KdhCase *dump, *no_dump;
	const char *text = (const char *)data;
	/* The first byte chooses: a whole log, or a cut one (head, tail). */
	gboolean cut = size > 0 && (data[0] & 1);
	gsize head = cut ? size / 2 : size;
	g_autoptr(KdhSerialLog) log =
	    kdh_serial_log_parse(text, head, cut ? text + head : NULL, cut ? size - head : 0);
	KdhConsoleEvidence e = {0};
	g_autofree char *evidence = NULL, *reservation = NULL;
	gint64 mb = -1;

	if (!dump) {
		dump = case_of("[scenario]\nname=dump\n");
		no_dump = case_of("[scenario]\nname=no-dump\n[expect]\noutcome=no-dump\n"
		                  "reason=capture-kernel-oom\n");
	}
	if (!log || log->capture_from > log->lines->len || log->numbers->len != log->lines->len)
		abort();
	for (guint i = 0; i < log->lines->len; i++) {
		if (!g_utf8_validate(kdh_serial_log_line(log, i), -1, NULL))
			abort();
	}
	evidence_of(log, &e);
	if (size > 0 && (data[0] & 2))
		e.timeout_phase = g_strdup("capture");
	kdh_verdict_diagnose(log, &e, &evidence);
	reservation = kdh_verdict_reservation(log, &mb);
	if (reservation && mb < 0)
		abort();
	for (int i = 0; i < 2; i++) {
		g_autoptr(KdhResult) r = kdh_result_new("fuzz");
		kdh_verdict_readiness(r, i ? no_dump : dump, log, &e);
		kdh_verdict_warnings(r, log);
	}
	kdh_console_evidence_clear(&e);
	return 0;
}
