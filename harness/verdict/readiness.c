/* Readiness: what the seeds check by hand before crashing a machine
 * (/proc/cmdline holds crashkernel=, the kernel reserved the memory, the
 * capture kernel is loaded, the distro's service says it is ready), read
 * from the console and judged one item at a time. */
#include "util/util.h"
#include "verdict/verdict.h"

#include <string.h>

/* The most of a guest's words kept in the readiness record. */
#define READY_TEXT_MAX 256

gboolean kdh_verdict_reservation_line(const char *line, gint64 *mb)
{
	static const struct {
		const char *marker; /* where the line says it */
		const char *before; /* what comes right before the number */
	} forms[] = {
	    {"for crashkernel (System RAM:", "Reserving "},
	    {"crashkernel reserved: ", "("},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(forms); i++) {
		const char *at = strstr(line, forms[i].marker);
		const char *num = at ? strstr(line, forms[i].before) : NULL;
		guint64 n;
		char *end;

		if (!num)
			continue;
		num += strlen(forms[i].before);
		if (!g_ascii_isdigit(*num))
			continue;
		n = g_ascii_strtoull(num, &end, 10);
		while (*end == ' ')
			end++;
		if (end == num || !g_str_has_prefix(end, "MB") || n > G_MAXINT32)
			continue;
		*mb = (gint64)n;
		return TRUE;
	}
	return FALSE;
}

char *kdh_verdict_reservation(const KdhSerialLog *log, gint64 *mb)
{
	for (guint i = 0; log && i < log->capture_from && i < log->lines->len; i++) {
		const char *line = kdh_serial_log_line(log, i);
		if (kdh_verdict_reservation_line(line, mb))
			return g_strstrip(g_strdup(line));
	}
	return NULL;
}

/* The value of crashkernel= in CMDLINE, or NULL. */
static char *cmdline_crashkernel(const char *cmdline)
{
	g_auto(GStrv) words = g_strsplit(cmdline, " ", -1);

	for (char **w = words; *w; w++) {
		if (g_str_has_prefix(*w, "crashkernel="))
			return kdh_guest_text(*w + strlen("crashkernel="), -1, READY_TEXT_MAX);
	}
	return NULL;
}

/* A "0"/"1" the guest wrote as 0 or 1; -1 for anything else. */
static gint flag(const char *s)
{
	guint64 n;

	if (!s || !g_ascii_string_to_unsigned(s, 10, 0, 1, &n, NULL))
		return -1;
	return (gint)n;
}

void kdh_verdict_readiness(KdhResult *r, const KdhCase *c, const KdhSerialLog *log,
                           const KdhConsoleEvidence *con)
{
	KdhReadiness *ready = &r->readiness;
	gboolean judge = c->outcome == KDH_OUTCOME_DUMP;
	guint64 size;

	if (con->cmdline) {
		ready->crashkernel = cmdline_crashkernel(con->cmdline);
		if (ready->crashkernel)
			kdh_result_check(r, "ready: /proc/cmdline has crashkernel=%s",
			                 ready->crashkernel);
		else if (judge)
			kdh_result_fail(r, KDH_VERDICT_FAIL,
			                "not ready: /proc/cmdline has no crashkernel= (%s)",
			                con->cmdline);
	}
	/* The line as the watch saw it go by, else from the log's files (a
	 * case judged again, with no watch): the watch sees every line, the
	 * files keep only as many as virtlogd does. */
	if (con->reservation && kdh_verdict_reservation_line(con->reservation, &ready->reserved_mb))
		ready->reserved = g_strdup(con->reservation);
	else if (log && log->capture_from > 0)
		ready->reserved = kdh_verdict_reservation(log, &ready->reserved_mb);
	if (ready->reserved)
		kdh_result_check(r, "ready: the kernel reserved %" G_GINT64_FORMAT " MB: %s",
		                 ready->reserved_mb, ready->reserved);
	else if (judge && con->booted_release && log && log->capture_from > 0)
		/* Only a log that shows the first kernel booting can lack it. */
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "not ready: the kernel log has no crashkernel reservation line");
	ready->loaded = flag(con->loaded);
	if (con->loaded && ready->loaded != 1 && judge)
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "not ready: /sys/kernel/kexec_crash_loaded is %s, not 1",
		                con->loaded);
	if (con->crash_size &&
	    g_ascii_string_to_unsigned(con->crash_size, 10, 0, G_MAXINT64, &size, NULL)) {
		ready->crash_size = (gint64)size;
		if (size == 0 && judge)
			kdh_result_fail(r, KDH_VERDICT_FAIL,
			                "not ready: /sys/kernel/kexec_crash_size is 0 (nothing "
			                "reserved)");
	} else if (con->crash_size && judge) {
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "not ready: /sys/kernel/kexec_crash_size is '%s', not a number",
		                con->crash_size);
	}
	if (ready->loaded == 1 && ready->crash_size > 0)
		kdh_result_check(r,
		                 "ready: capture kernel loaded, kexec_crash_size=%" G_GINT64_FORMAT,
		                 ready->crash_size);
	ready->service_ready = flag(con->service_ready);
	if (con->service)
		ready->service_status = kdh_guest_text(con->service, -1, READY_TEXT_MAX);
	if (ready->service_ready == 1)
		kdh_result_check(r, "ready: the %s service: %s", c->collector,
		                 ready->service_status ? ready->service_status : "ready");
	else if (con->service_ready && judge)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "not ready: the %s service says: %s",
		                c->collector,
		                ready->service_status ? ready->service_status : "(nothing)");
}
