/* kdh scenario model: parse and validate scenario files, expand matrices.
 *
 * A scenario file is a GKeyFile (see DESIGN.md).  Every error names the file,
 * the line and the key, so a user can go straight to the mistake.
 */
#ifndef KDH_SCENARIO_H
#define KDH_SCENARIO_H

#include <glib.h>

#define KDH_SCENARIO_ERROR (kdh_scenario_error_quark())
GQuark kdh_scenario_error_quark(void);

typedef enum {
	KDH_SCENARIO_ERROR_IO,
	KDH_SCENARIO_ERROR_SYNTAX,
	KDH_SCENARIO_ERROR_KEY,   /* unknown group or key */
	KDH_SCENARIO_ERROR_VALUE, /* a value out of its domain */
	KDH_SCENARIO_ERROR_MISSING,
} KdhScenarioError;

typedef enum {
	KDH_OUTCOME_DUMP,
	KDH_OUTCOME_NO_DUMP,
} KdhOutcome;

/* One runnable case: a scenario with every matrix value fixed. */
typedef struct {
	char *name;        /* filesystem-safe: [A-Za-z0-9._-] plus matrix suffix */
	char *description; /* may be NULL */
	char *source;      /* the file it came from */

	char *kernel_ref; /* "debian:default", "debian:6.1.0-56-amd64", ... */

	guint64 memory; /* bytes */
	guint cpus;
	char *crashkernel; /* validated, passed to the kernel as written */
	char *image;       /* "mini" */

	char *trigger; /* "sysrq" | "nmi" */

	char *collector; /* "makedumpfile" | "cp" */
	guint dump_level;
	char *compression; /* "lzo" | "zlib" | "none" */

	KdhOutcome outcome;
	char *expect_panic; /* substring the dump's dmesg must hold; may be NULL */

	/* phase timeouts, seconds */
	guint timeout_boot;
	guint timeout_crash;
	guint timeout_capture;
	guint timeout_shutdown;
} KdhCase;

void kdh_case_free(KdhCase *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhCase, kdh_case_free)

/* Parses the scenario file PATH and expands its [matrix] into cases.
 * Returns a GPtrArray of KdhCase (owning them), at least one, or NULL with
 * an error naming PATH, the line and the key at fault. */
GPtrArray *kdh_scenario_load(const char *path, GError **error);

/* As kdh_scenario_load, from TEXT that claims to come from NAME. */
GPtrArray *kdh_scenario_load_data(const char *name, const char *text, GError **error);

/* Parses a size "512", "64K", "256M", "1G", "2T" (binary units) into bytes.
 * FALSE for anything else, including overflow. */
gboolean kdh_parse_size(const char *text, guint64 *bytes);

/* TRUE when TEXT is a crashkernel= value the kernel accepts: a size with an
 * optional @offset, or a range list "start-[end]:size,..." with an optional
 * @offset; "auto" is rejected (the kernel removed it). */
gboolean kdh_crashkernel_valid(const char *text);

#endif
