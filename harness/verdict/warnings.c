/* Collector and capture-kernel warnings: lines of the capture kernel's
 * console that do not stop the dump but that a person should see (the
 * Fedora wiki: makedumpfile's "The kernel version is not supported" is easy
 * to miss in the console output).  One table of what to look for; each
 * line found becomes a warning of the result, which never changes the
 * verdict. */
#include "verdict/verdict.h"

#include <string.h>

typedef struct {
	const char *needle;
	/* A line that, when it comes next, belongs to the same warning. */
	const char *next;
	const char *who; /* what prints it, for the reader of the warning */
} WarningSign;

static const WarningSign warning_signs[] = {
    /* makedumpfile 1.7.2 (Debian 12) on every kernel newer than it knows
     * (6.1 and 6.12 here), on two lines. */
    {"The kernel version is not supported.", "The makedumpfile operation may be incomplete.",
     "makedumpfile"},
    /* makedumpfile: "WARNING: Cannot determine page size (no vmcoreinfo).",
     * "WARNING: PFN out of cycle range.", "WARNING: Invalid free page
     * order: ..."; the kernel: "WARNING: CPU: 0 PID: 1 at file:line func" */
    {"WARNING: ", NULL, NULL},
    {"This is an incomplete dumpfile", NULL, "makedumpfile"},
    {"Retry to create a dumpfile by dump_level", NULL, "makedumpfile"},
    {"finished incompletely", NULL, "makedumpfile"},
    {"compression unsupported", NULL, "makedumpfile"},
    /* The capture kernel: a bug, an oops, memory trouble or a disk error
     * that the capture survived. */
    {"BUG: ", NULL, NULL},
    {"Oops: ", NULL, NULL},
    {" invoked oom-killer: ", NULL, NULL},
    {"Out of memory: Killed process", NULL, NULL},
    {": page allocation failure: ", NULL, NULL},
    {"I/O error", NULL, NULL},
    {"EXT4-fs error", NULL, NULL},
    {"Unknown symbol", NULL, NULL},
};

static const WarningSign *sign_of(const char *line)
{
	/* The guest's own markers are the protocol, not warnings. */
	if (strstr(line, "KDH: "))
		return NULL;
	for (gsize s = 0; s < G_N_ELEMENTS(warning_signs); s++) {
		if (strstr(line, warning_signs[s].needle))
			return &warning_signs[s];
	}
	return NULL;
}

void kdh_verdict_warnings(KdhResult *r, const KdhSerialLog *log)
{
	for (guint i = log->capture_from; i < log->lines->len; i++) {
		const char *line = kdh_serial_log_line(log, i);
		const WarningSign *sign = sign_of(line);
		guint number = kdh_serial_log_number(log, i);
		g_autofree char *where = NULL, *text = NULL;

		if (!sign)
			continue;
		text = g_strstrip(g_strdup(line));
		if (sign->next && i + 1 < log->lines->len &&
		    strstr(kdh_serial_log_line(log, i + 1), sign->next)) {
			g_autofree char *next = g_strstrip(g_strdup(kdh_serial_log_line(log, ++i)));
			char *joined = g_strconcat(text, " ", next, NULL);
			g_free(text);
			text = joined;
		}
		where =
		    number ? g_strdup_printf("serial.log line %u", number) : g_strdup("serial.log");
		kdh_result_warn(r, "%s: %s%s%s", where, sign->who ? sign->who : "",
		                sign->who ? ": " : "", text);
	}
}
