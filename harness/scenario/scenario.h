/* kdh scenario model: parse and validate scenario files, expand matrices,
 * the trigger table.
 *
 * A scenario file is a GKeyFile (see DESIGN.md) of UTF-8 text, at most 64 KiB,
 * with one comment rule (README.md, "Scenario files").  Every error names
 * the file, and the line and key when there is one, so a user can go
 * straight to the mistake; no error quotes the file's bytes raw.
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

/* How a trigger is fired: its row decides what the host does during a case,
 * so nothing a guest prints can make the host act otherwise. */
typedef enum {
	KDH_FIRE_GUEST,    /* the guest crashes itself (its init script) */
	KDH_FIRE_HOST_NMI, /* the host injects an NMI once the guest says "trigger" */
} KdhTriggerFire;

/* One row of the trigger table. */
typedef struct {
	const char *name; /* as [crash] trigger= names it */
	KdhTriggerFire fire;
	const char *how; /* one line, for people */
} KdhTrigger;

/* The row named NAME, or NULL. */
const KdhTrigger *kdh_trigger_find(const char *name);

typedef enum {
	KDH_OUTCOME_DUMP,
	KDH_OUTCOME_NO_DUMP,
} KdhOutcome;

/* One runnable case: a scenario with every matrix value fixed. */
typedef struct {
	char *name;        /* kdh_safe_name of the scenario name plus its matrix suffix;
	                    * unique among the cases kdh_scenario_load_all returns */
	char *description; /* may be NULL */
	char *source;      /* the file it came from */
	guint name_line;   /* the line of its [scenario] name= */

	char *kernel_ref; /* "debian:default", "debian:6.1.0-56-amd64", ... */

	guint64 memory; /* bytes */
	guint cpus;
	char *crashkernel; /* validated, passed to the kernel as written */
	char *image;       /* "mini" */

	const KdhTrigger *trigger; /* a row of the trigger table */

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
 * Returns a GPtrArray of KdhCase (owning them), at least one, each with its
 * own name, or NULL with an error naming PATH, the line and the key at
 * fault.  A value listed twice in a [matrix] list, or two values that give
 * the same case name once made safe for a folder, is an error. */
GPtrArray *kdh_scenario_load(const char *path, GError **error);

/* As kdh_scenario_load, from TEXT (nul-terminated) that claims to come
 * from NAME. */
GPtrArray *kdh_scenario_load_data(const char *name, const char *text, GError **error);

/* Loads every file of PATHS (NULL-terminated) with kdh_scenario_load and
 * returns all their cases in order; NULL with an error at the first bad
 * file, or when two cases of different files have the same name (they
 * would share a results folder). */
GPtrArray *kdh_scenario_load_all(const char *const *paths, GError **error);

/* Parses a size "512", "64K", "256M", "1G", "2T" (binary units) into bytes.
 * FALSE for anything else, including overflow. */
gboolean kdh_parse_size(const char *text, guint64 *bytes);

/* TRUE when TEXT is a crashkernel= value the kernel accepts: a size with an
 * optional @offset, or a range list "start-[end]:size,..." with an optional
 * @offset; "auto" is rejected (the kernel removed it). */
gboolean kdh_crashkernel_valid(const char *text);

#endif
