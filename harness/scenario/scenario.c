/* Scenario files: GKeyFile syntax, our schema, matrices, errors with
 * file:line. */
#include "scenario/internal.h"
#include "scenario/scenario.h"
#include "util/util.h"

#include <errno.h>
#include <string.h>

KDH_DEFINE_QUARK("kdh-scenario-error-quark", kdh_scenario_error)

/* The schema.  MATRIX marks keys a [matrix] section may vary. */
typedef struct {
	const char *group;
	const char *key;
	gboolean matrix;
} KeySpec;

static const KeySpec schema[] = {
    {"scenario", "name", FALSE},
    {"scenario", "description", FALSE},
    {"kernel", "ref", TRUE},
    {"vm", "memory", TRUE},
    {"vm", "cpus", TRUE},
    {"vm", "crashkernel", TRUE},
    {"vm", "image", TRUE},
    {"crash", "trigger", TRUE},
    {"crash", "cpu", TRUE},
    {"crash", "hang_detect", FALSE},
    {"capture", "collector", TRUE},
    {"capture", "dump_level", TRUE},
    {"capture", "compression", TRUE},
    {"expect", "outcome", FALSE},
    {"expect", "panic", FALSE},
    {"expect", "function", FALSE},
    {"expect", "reason", TRUE},
    {"verify", "crash", FALSE},
    {"timeouts", "boot", FALSE},
    {"timeouts", "crash", FALSE},
    {"timeouts", "capture", FALSE},
    {"timeouts", "shutdown", FALSE},
};

static const KdhCollector collectors[] = {
    {"makedumpfile", "mini", TRUE, NULL,
     "filters pages by dump level, compresses them (kdump format)"},
    {"cp", "mini", FALSE, NULL, "copies /proc/vmcore as it is (an ELF file)"},
    {"kdump-tools", "debian", TRUE, NULL,
     "Debian's kdump-tools service: makedumpfile into /var/crash/<YYYYMMDDHHMM>/"},
    {"simple-kdump", "debian", TRUE, NULL,
     "simple-kdump's setup and collect units: makedumpfile into "
     "/var/crash/<date>/vmcore.kdump"},
    {"arch-wiki", "debian", TRUE, "crashdump-",
     "the Arch wiki's kdump.service and kdump-save.service: makedumpfile into "
     "/var/crash/crashdump-<date>"},
    {"manual", "debian", FALSE, NULL,
     "kexec -p by hand, cp /proc/vmcore into /var/crash/<date>/ (an ELF file)"},
};

const KdhCollector *kdh_collector_find(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(collectors); i++) {
		if (g_strcmp0(collectors[i].name, name) == 0)
			return &collectors[i];
	}
	return NULL;
}

static const char *const compressions[] = {"lzo", "zlib", "none", NULL};
static const char *const images[] = {"mini", "debian", NULL};
static const char *const outcomes[] = {"dump", "no-dump", NULL};
static const char *const verify_crash[] = {"auto", "yes", "no", NULL};

static const KeySpec *schema_find(const char *group, const char *key)
{
	for (gsize i = 0; i < G_N_ELEMENTS(schema); i++) {
		if (g_str_equal(schema[i].key, key) &&
		    (!group || g_str_equal(schema[i].group, group)))
			return &schema[i];
	}
	return NULL;
}

static gboolean group_known(const char *group)
{
	if (g_str_equal(group, "matrix"))
		return TRUE;
	for (gsize i = 0; i < G_N_ELEMENTS(schema); i++) {
		if (g_str_equal(schema[i].group, group))
			return TRUE;
	}
	return FALSE;
}

void kdh_case_free(KdhCase *c)
{
	if (!c)
		return;
	g_free(c->name);
	g_free(c->description);
	g_free(c->source);
	g_free(c->source_hash);
	g_free(c->matrix_kernel);
	g_free(c->matrix_scenario);
	g_free(c->kernel_ref);
	g_free(c->crashkernel);
	g_free(c->image);
	g_free(c->collector);
	g_free(c->compression);
	g_free(c->expect_panic);
	g_free(c->expect_function);
	g_free(c);
}

gboolean kdh_parse_size(const char *text, guint64 *bytes)
{
	char *end = NULL;
	guint64 value, unit = 1;

	if (!text || !g_ascii_isdigit(*text))
		return FALSE;
	errno = 0;
	value = g_ascii_strtoull(text, &end, 10);
	if (errno == ERANGE)
		return FALSE;
	switch (*end) {
	case '\0':
		break;
	case 'K':
	case 'k':
		unit = 1ULL << 10;
		end++;
		break;
	case 'M':
	case 'm':
		unit = 1ULL << 20;
		end++;
		break;
	case 'G':
	case 'g':
		unit = 1ULL << 30;
		end++;
		break;
	case 'T':
	case 't':
		unit = 1ULL << 40;
		end++;
		break;
	default:
		return FALSE;
	}
	if (*end != '\0' || value > G_MAXUINT64 / unit)
		return FALSE;
	*bytes = value * unit;
	return TRUE;
}

/* One "start-[end]:size" element of a crashkernel range list. */
static gboolean crashkernel_range_valid(const char *range)
{
	g_auto(GStrv) halves = g_strsplit(range, ":", 2);
	g_auto(GStrv) bounds = NULL;
	guint64 start, end, size;

	if (g_strv_length(halves) != 2 || !kdh_parse_size(halves[1], &size))
		return FALSE;
	bounds = g_strsplit(halves[0], "-", 2);
	if (g_strv_length(bounds) != 2 || !kdh_parse_size(bounds[0], &start))
		return FALSE;
	if (bounds[1][0] == '\0')
		return TRUE;
	return kdh_parse_size(bounds[1], &end) && end > start;
}

gboolean kdh_crashkernel_valid(const char *text)
{
	g_auto(GStrv) at = NULL;
	guint64 size;

	if (!text || !*text)
		return FALSE;
	at = g_strsplit(text, "@", 2);
	if (at[1] && !kdh_parse_size(at[1], &size))
		return FALSE;
	if (!strchr(at[0], ':'))
		return kdh_parse_size(at[0], &size) && size > 0;
	g_auto(GStrv) ranges = g_strsplit(at[0], ",", -1);
	for (char **r = ranges; *r; r++) {
		if (!crashkernel_range_valid(*r))
			return FALSE;
	}
	return TRUE;
}

/* Where each key was written, for error messages. */
typedef struct {
	const char *name; /* the file */
	char *hash;       /* SHA-256 of its text (KdhCase.source_hash) */
	GKeyFile *kf;
	GHashTable *lines;     /* "group/key" -> line (GUINT_TO_POINTER) */
	GHashTable *overrides; /* "group/key" -> value, from one matrix combination */
} Source;

static guint source_line(const Source *src, const char *group, const char *key)
{
	g_autofree char *id = g_strdup_printf("%s/%s", group, key);
	return GPOINTER_TO_UINT(g_hash_table_lookup(src->lines, id));
}

/* A value, from the matrix combination being expanded or the file (whose
 * comments scenario_strip_comments removed); NULL when absent. */
static char *source_get(const Source *src, const char *group, const char *key)
{
	g_autofree char *id = g_strdup_printf("%s/%s", group, key);
	const char *override = src->overrides ? g_hash_table_lookup(src->overrides, id) : NULL;
	char *value;

	if (override)
		return g_strdup(override);
	value = g_key_file_get_string(src->kf, group, key, NULL);
	return value ? g_strstrip(value) : NULL;
}

static gboolean value_error(const Source *src, const char *group, const char *key, GError **error,
                            const char *fmt, ...) G_GNUC_PRINTF(5, 6);

/* The line of GROUP's header ("group/" in LINES: no key is empty); 0 when
 * the file has no such group. */
static guint group_line(const Source *src, const char *group)
{
	return source_line(src, group, "");
}

/* The line the value of [GROUP] KEY came from: its [matrix] line when the
 * combination being expanded sets it, else its own; 0 when absent. */
static guint value_line(const Source *src, const char *group, const char *key)
{
	g_autofree char *id = g_strdup_printf("%s/%s", group, key);

	if (src->overrides && g_hash_table_contains(src->overrides, id))
		return source_line(src, "matrix", key);
	return source_line(src, group, key);
}

static gboolean value_error(const Source *src, const char *group, const char *key, GError **error,
                            const char *fmt, ...)
{
	guint line = value_line(src, group, key);
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line)
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
		            "%s:%u: [%s] %s: %s", src->name, line, group, key, msg);
	else
		/* Absent: where it belongs, its group's header (line 1 without). */
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_MISSING,
		            "%s:%u: [%s] %s: %s", src->name, MAX(group_line(src, group), 1), group,
		            key, msg);
	return FALSE;
}

static gboolean get_string(const Source *src, const char *group, const char *key,
                           const char *fallback, char **out, GError **error)
{
	g_autofree char *value = source_get(src, group, key);

	if (!value && !fallback)
		return value_error(src, group, key, error, "required, but missing");
	if (value && !*value)
		return value_error(src, group, key, error, "empty value");
	*out = value ? g_steal_pointer(&value) : g_strdup(fallback);
	return TRUE;
}

static gboolean get_choice(const Source *src, const char *group, const char *key,
                           const char *fallback, const char *const *allowed, char **out,
                           GError **error)
{
	g_autofree char *value = NULL;

	if (!get_string(src, group, key, fallback, &value, error))
		return FALSE;
	if (!g_strv_contains(allowed, value)) {
		g_autofree char *list = g_strjoinv(", ", (char **)allowed);
		return value_error(src, group, key, error, "'%s' is not one of: %s", value, list);
	}
	*out = g_steal_pointer(&value);
	return TRUE;
}

static gboolean get_uint(const Source *src, const char *group, const char *key, guint fallback,
                         guint min, guint max, guint *out, GError **error)
{
	g_autofree char *value = source_get(src, group, key);
	guint64 n;

	if (!value) {
		*out = fallback;
		return TRUE;
	}
	if (!g_ascii_string_to_unsigned(value, 10, min, max, &n, NULL))
		return value_error(src, group, key, error, "'%s' is not a number in %u..%u", value,
		                   min, max);
	*out = (guint)n;
	return TRUE;
}

static gboolean get_size(const Source *src, const char *group, const char *key,
                         const char *fallback, guint64 *out, GError **error)
{
	g_autofree char *value = NULL;

	if (!get_string(src, group, key, fallback, &value, error))
		return FALSE;
	if (!kdh_parse_size(value, out))
		return value_error(src, group, key, error,
		                   "'%s' is not a size (a number with K, M, G or T)", value);
	return TRUE;
}

/* The collector named by [capture] collector=: by default the first row
 * of C's image; one of another image is refused. */
static gboolean get_collector(const Source *src, KdhCase *c, GError **error)
{
	g_autofree char *value = NULL;
	g_autoptr(GString) names = g_string_new(NULL);
	const KdhCollector *row = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(collectors) && !row; i++) {
		if (g_str_equal(collectors[i].image, c->image))
			row = &collectors[i];
	}
	if (!get_string(src, "capture", "collector", row->name, &value, error))
		return FALSE;
	row = kdh_collector_find(value);
	if (row && g_str_equal(row->image, c->image)) {
		c->collector = g_steal_pointer(&value);
		return TRUE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(collectors); i++) {
		if (g_str_equal(collectors[i].image, c->image))
			g_string_append_printf(names, "%s%s", names->len ? ", " : "",
			                       collectors[i].name);
	}
	if (row)
		return value_error(src, "capture", "collector", error,
		                   "'%s' runs in image=%s, not %s: image=%s has %s", value,
		                   row->image, c->image, c->image, names->str);
	return value_error(src, "capture", "collector", error,
	                   "'%s' is not one of image=%s's collectors: %s", value, c->image,
	                   names->str);
}

/* [kernel] ref=, its syntax checked, and where it was written. */
static gboolean get_kernel_ref(const Source *src, KdhCase *c, GError **error)
{
	g_autofree char *why = NULL;

	if (!get_string(src, "kernel", "ref", "debian:default", &c->kernel_ref, error))
		return FALSE;
	c->kernel_line = value_line(src, "kernel", "ref");
	if (!c->kernel_line)
		c->kernel_line = c->name_line;
	if (!scenario_kernel_ref_check(c->kernel_ref, &why))
		return value_error(src, "kernel", "ref", error, "%s", why);
	return TRUE;
}

/* TRUE when [GROUP] KEY has a value in the combination being expanded. */
static gboolean value_given(const Source *src, const char *group, const char *key)
{
	g_autofree char *value = source_get(src, group, key);
	return value != NULL;
}

/* Settings of C that cannot hold together, refused at the line of the one
 * that does not apply, naming the line of the one that rules it out. */
static gboolean check_contradictions(const Source *src, const KdhCase *c, GError **error)
{
	static const char *const filter_keys[] = {"dump_level", "compression"};

	if (!kdh_collector_find(c->collector)->filters) {
		for (gsize i = 0; i < G_N_ELEMENTS(filter_keys); i++) {
			if (value_given(src, "capture", filter_keys[i]))
				return value_error(
				    src, "capture", filter_keys[i], error,
				    "does not apply to collector=%s (line %u), which %s: remove "
				    "it, or give cases of that collector a file (or a [matrix]) of "
				    "their own",
				    c->collector, value_line(src, "capture", "collector"),
				    kdh_collector_find(c->collector)->how);
		}
	}
	return TRUE;
}

/* The trigger named by [crash] trigger=. */
static gboolean get_trigger(const Source *src, const KdhTrigger **out, GError **error)
{
	g_autofree char *value = NULL;
	g_autoptr(GString) names = g_string_new(NULL);
	const KdhTrigger *rows;
	gsize n;

	if (!get_string(src, "crash", "trigger", "sysrq", &value, error))
		return FALSE;
	*out = kdh_trigger_find(value);
	if (*out)
		return TRUE;
	rows = kdh_triggers(&n);
	for (gsize i = 0; i < n; i++)
		g_string_append_printf(names, "%s%s", i ? ", " : "", rows[i].name);
	return value_error(src, "crash", "trigger", error, "'%s' is not one of: %s", value,
	                   names->str);
}

/* [crash] cpu= and hang_detect=, each only where the trigger uses it. */
static gboolean get_crash_options(const Source *src, KdhCase *c, GError **error)
{
	guint cpu = 0;

	c->cpu = -1;
	if (value_given(src, "crash", "cpu")) {
		if (!c->trigger->pins_cpu)
			return value_error(src, "crash", "cpu", error,
			                   "trigger=%s does not run on a chosen CPU (%s)",
			                   c->trigger->name, c->trigger->how);
		if (!get_uint(src, "crash", "cpu", 0, 0, 63, &cpu, error))
			return FALSE;
		if (cpu >= c->cpus) {
			guint line = value_line(src, "vm", "cpus");
			g_autofree char *where = line ? g_strdup_printf("cpus=, line %u", line)
			                              : g_strdup("the default cpus=1");
			return value_error(src, "crash", "cpu", error,
			                   "CPU %u does not exist in a guest of %u CPU%s (%s)", cpu,
			                   c->cpus, c->cpus == 1 ? "" : "s", where);
		}
		c->cpu = (gint)cpu;
	}
	if (value_given(src, "crash", "hang_detect") && c->trigger->fire != KDH_FIRE_HOST_WATCHDOG)
		return value_error(src, "crash", "hang_detect", error,
		                   "applies only to trigger=hang, not %s", c->trigger->name);
	return get_uint(src, "crash", "hang_detect", 10, 1, 3600, &c->hang_detect, error);
}

/* [expect] and [verify]: what the case must show, with the trigger's
 * defaults. */
static gboolean get_expectations(const Source *src, KdhCase *c, GError **error)
{
	g_autofree char *outcome = NULL, *reason = NULL, *crash = NULL;

	if (!get_choice(src, "expect", "outcome", "dump", outcomes, &outcome, error) ||
	    !get_choice(src, "verify", "crash", "auto", verify_crash, &crash, error))
		return FALSE;
	c->outcome = g_strcmp0(outcome, "dump") == 0 ? KDH_OUTCOME_DUMP : KDH_OUTCOME_NO_DUMP;
	c->verify_crash = g_strcmp0(crash, "yes") == 0  ? KDH_VERIFY_CRASH_YES
	                  : g_strcmp0(crash, "no") == 0 ? KDH_VERIFY_CRASH_NO
	                                                : KDH_VERIFY_CRASH_AUTO;
	if (c->outcome == KDH_OUTCOME_NO_DUMP) {
		static const char *const dump_only[] = {"panic", "function"};
		for (gsize i = 0; i < G_N_ELEMENTS(dump_only); i++) {
			if (value_given(src, "expect", dump_only[i]))
				return value_error(
				    src, "expect", dump_only[i], error,
				    "contradicts outcome=no-dump (line %u): it is "
				    "looked for in the dump, and no dump is expected",
				    value_line(src, "expect", "outcome"));
		}
		if (!get_string(src, "expect", "reason", NULL, &reason, error))
			return FALSE;
		if (!kdh_reason_parse(reason, &c->expect_reason))
			return value_error(src, "expect", "reason", error,
			                   "'%s' is not one of: reservation-failed, "
			                   "kexec-load-failed, capture-kernel-oom, "
			                   "capture-kernel-panic, capture-timeout",
			                   reason);
		return TRUE;
	}
	if (value_given(src, "expect", "reason"))
		return value_error(src, "expect", "reason", error,
		                   "applies only to outcome=no-dump: why no dump is written");
	c->expect_panic = source_get(src, "expect", "panic");
	if (!c->expect_panic)
		c->expect_panic = g_strdup(c->trigger->signature);
	c->expect_function = source_get(src, "expect", "function");
	if (!c->expect_function)
		c->expect_function = g_strdup(c->trigger->function);
	return TRUE;
}

static KdhCase *build_case(const Source *src, const char *suffix, GError **error)
{
	g_autoptr(KdhCase) c = g_new0(KdhCase, 1);
	g_autofree char *name = NULL;

	c->source = g_strdup(src->name);
	c->source_hash = g_strdup(src->hash);
	c->name_line = source_line(src, "scenario", "name");
	if (!get_string(src, "scenario", "name", NULL, &name, error))
		return NULL;
	/* Case names become folder and domain names. */
	g_autofree char *given = g_strdup_printf("%s%s", name, suffix ? suffix : "");
	g_autoptr(GError) why = NULL;
	c->name = kdh_safe_name(given, &why);
	if (!c->name) {
		value_error(src, "scenario", "name", error, "%s", why->message);
		return NULL;
	}
	c->description = source_get(src, "scenario", "description");
	if (!get_kernel_ref(src, c, error) ||
	    !get_size(src, "vm", "memory", "1G", &c->memory, error) ||
	    !get_uint(src, "vm", "cpus", 1, 1, 64, &c->cpus, error) ||
	    !get_string(src, "vm", "crashkernel", "256M", &c->crashkernel, error) ||
	    !get_choice(src, "vm", "image", "mini", images, &c->image, error) ||
	    !get_trigger(src, &c->trigger, error) || !get_collector(src, c, error) ||
	    !get_uint(src, "capture", "dump_level", 31, 0, 31, &c->dump_level, error) ||
	    !get_choice(src, "capture", "compression", "lzo", compressions, &c->compression,
	                error) ||
	    !get_uint(src, "timeouts", "boot", 240, 1, 86400, &c->timeout_boot, error) ||
	    !get_uint(src, "timeouts", "crash", 120, 1, 86400, &c->timeout_crash, error) ||
	    !get_uint(src, "timeouts", "capture", 600, 1, 86400, &c->timeout_capture, error) ||
	    !get_uint(src, "timeouts", "shutdown", 60, 1, 86400, &c->timeout_shutdown, error))
		return NULL;
	if (!kdh_crashkernel_valid(c->crashkernel)) {
		value_error(src, "vm", "crashkernel", error,
		            "'%s' is not a crashkernel= size or range list", c->crashkernel);
		return NULL;
	}
	if (c->memory < 64ULL << 20 || c->memory > KDH_SCENARIO_MAX_MEMORY) {
		value_error(src, "vm", "memory", error,
		            "at least 64M is needed, at most %" G_GUINT64_FORMAT "T",
		            KDH_SCENARIO_MAX_MEMORY >> 40);
		return NULL;
	}
	if (!get_crash_options(src, c, error) || !get_expectations(src, c, error) ||
	    !check_contradictions(src, c, error))
		return NULL;
	return g_steal_pointer(&c);
}

/* Line-level syntax and schema check, recording where each key is. */
static gboolean scan_lines(Source *src, const char *text, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autofree char *group = NULL;

	for (guint i = 0; lines[i]; i++) {
		guint lineno = i + 1;
		char *line = lines[i]; /* scenario_strip_comments stripped it */
		char *eq;

		if (!*line)
			continue;
		if (*line == '[') {
			char *close = strchr(line, ']');
			if (!close || close[1] != '\0') {
				g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_SYNTAX,
				            "%s:%u: malformed group header '%s'", src->name, lineno,
				            line);
				return FALSE;
			}
			g_free(group);
			group = g_strndup(line + 1, close - line - 1);
			if (!group_known(group)) {
				g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_KEY,
				            "%s:%u: unknown group [%s]", src->name, lineno, group);
				return FALSE;
			}
			/* GKeyFile would merge a group written twice: say where both are. */
			g_autofree char *header = g_strdup_printf("%s/", group);
			guint first = GPOINTER_TO_UINT(g_hash_table_lookup(src->lines, header));
			if (first) {
				g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_KEY,
				            "%s:%u: [%s] given twice (first at line %u)", src->name,
				            lineno, group, first);
				return FALSE;
			}
			g_hash_table_insert(src->lines, g_steal_pointer(&header),
			                    GUINT_TO_POINTER(lineno));
			continue;
		}
		eq = strchr(line, '=');
		if (!eq || eq == line) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_SYNTAX,
			            "%s:%u: expected key=value, got '%s'", src->name, lineno, line);
			return FALSE;
		}
		if (!group) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_SYNTAX,
			            "%s:%u: key outside of any [group]", src->name, lineno);
			return FALSE;
		}
		*eq = '\0';
		g_strchomp(line);
		const KeySpec *spec =
		    schema_find(g_str_equal(group, "matrix") ? NULL : group, line);
		if (!spec || (g_str_equal(group, "matrix") && !spec->matrix)) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_KEY,
			            "%s:%u: [%s] %s: unknown key", src->name, lineno, group, line);
			return FALSE;
		}
		g_autofree char *id = g_strdup_printf("%s/%s", group, line);
		guint first = GPOINTER_TO_UINT(g_hash_table_lookup(src->lines, id));
		if (first) {
			/* GKeyFile would keep the last silently. */
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_KEY,
			            "%s:%u: [%s] %s: given twice (first at line %u)", src->name,
			            lineno, group, line, first);
			return FALSE;
		}
		g_hash_table_insert(src->lines, g_steal_pointer(&id), GUINT_TO_POINTER(lineno));
	}
	return TRUE;
}

/* The part of a case name a matrix VALUE gives, as it will be in the
 * folder name; NULL when the name would be unusable anyway (too long). */
static char *matrix_name_part(const char *value)
{
	/* A prefix, so "." or ".." alone are compared as folder name parts,
	 * not refused as whole names. */
	g_autofree char *part = g_strdup_printf("x%s", value);
	return kdh_safe_name(part, NULL);
}

/* Each of the VALUES of [matrix] KEY gives its cases their own name: a
 * value listed twice, or two values that differ only in characters a folder
 * name cannot hold ("a b" and "a_b"), would put two cases in one folder. */
static gboolean matrix_values_distinct(const Source *src, const char *key, GError **error)
{
	guint line = source_line(src, "matrix", key);
	g_auto(GStrv) values = g_key_file_get_string_list(src->kf, "matrix", key, NULL, NULL);
	/* value -> itself, folder name part -> the value that gave it */
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) parts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (!values)
		return TRUE; /* expand() says what is wrong */
	for (guint i = 0; values[i]; i++) {
		char *a = g_strstrip(values[i]);
		char *part = matrix_name_part(a);
		const char *b = part ? g_hash_table_lookup(parts, part) : NULL;

		if (g_hash_table_contains(seen, a)) {
			g_free(part);
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
			            "%s:%u: [matrix] %s: '%s' is listed twice", src->name, line,
			            key, a);
			return FALSE;
		}
		if (b) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
			            "%s:%u: [matrix] %s: '%s' and '%s' give cases the same "
			            "name ('%s' in a folder name)",
			            src->name, line, key, b, a, part + 1);
			g_free(part);
			return FALSE;
		}
		g_hash_table_add(seen, g_strdup(a));
		if (part)
			g_hash_table_insert(parts, part, a);
	}
	return TRUE;
}

/* FALSE with the line of the first [matrix] key past the limit when the
 * cross product of KEYS' values is more than KDH_SCENARIO_MAX_CASES cases:
 * counted, never allocated. */
static gboolean matrix_size_bounded(const Source *src, char **keys, GError **error)
{
	guint64 cases = 1;

	for (char **k = keys; k && *k; k++) {
		g_auto(GStrv) values =
		    g_key_file_get_string_list(src->kf, "matrix", *k, NULL, NULL);
		guint n = values ? g_strv_length(values) : 0;
		/* each factor is bounded by the file's size: no overflow */
		cases *= MAX(n, 1);
		if (cases > KDH_SCENARIO_MAX_CASES) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
			            "%s:%u: [matrix] %s: the matrix expands to more than %u cases "
			            "(%" G_GUINT64_FORMAT " with this key)",
			            src->name, source_line(src, "matrix", *k), *k,
			            KDH_SCENARIO_MAX_CASES, cases);
			return FALSE;
		}
	}
	return TRUE;
}

/* Expands the [matrix] group by recursion over its keys: one case for each
 * combination, named after the values it fixes. */
static gboolean expand(Source *src, char **keys, guint depth, GString *suffix, GPtrArray *out,
                       GError **error)
{
	if (!keys || !keys[depth]) {
		KdhCase *c = build_case(src, suffix->len ? suffix->str : NULL, error);
		if (!c)
			return FALSE;
		g_ptr_array_add(out, c);
		return TRUE;
	}
	const char *key = keys[depth];
	const KeySpec *spec = schema_find(NULL, key);
	g_autofree char *id = g_strdup_printf("%s/%s", spec->group, key);
	gsize n = 0;
	g_auto(GStrv) values = g_key_file_get_string_list(src->kf, "matrix", key, &n, NULL);

	if (n == 0) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
		            "%s:%u: [matrix] %s: no values", src->name,
		            source_line(src, "matrix", key), key);
		return FALSE;
	}
	for (gsize i = 0; i < n; i++) {
		gsize len = suffix->len;
		g_strstrip(values[i]);
		g_hash_table_insert(src->overrides, g_strdup(id), g_strdup(values[i]));
		g_string_append_printf(suffix, "-%s%s", key, values[i]);
		if (!expand(src, keys, depth + 1, suffix, out, error))
			return FALSE;
		g_string_truncate(suffix, len);
	}
	g_hash_table_remove(src->overrides, id);
	return TRUE;
}

/* Whether GKeyFile reads [GROUP] KEY of KF: a list in [matrix], a string
 * elsewhere; FALSE with its error (a bad escape such as "\q") when not.
 * GKeyFile may return a value and an error both: the error decides. */
static gboolean value_readable(GKeyFile *kf, const char *group, const char *key, GError **error)
{
	g_autoptr(GError) local = NULL;
	gboolean read;

	if (g_str_equal(group, "matrix")) {
		g_auto(GStrv) list = g_key_file_get_string_list(kf, group, key, NULL, &local);
		read = list != NULL;
	} else {
		g_autofree char *value = g_key_file_get_string(kf, group, key, &local);
		read = value != NULL;
	}
	if (local) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	return read;
}

/* Every value GKeyFile would refuse to read, refused here with its line:
 * read later, it would look like a missing key. */
static gboolean values_readable(const Source *src, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(src->kf, NULL);

	for (char **g = groups; *g; g++) {
		g_auto(GStrv) keys = g_key_file_get_keys(src->kf, *g, NULL, NULL);
		for (char **k = keys; k && *k; k++) {
			g_autoptr(GError) local = NULL;
			if (!value_readable(src->kf, *g, *k, &local)) {
				g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
				            "%s:%u: [%s] %s: %s", src->name,
				            source_line(src, *g, *k), *g, *k,
				            local ? local->message : "unreadable");
				return FALSE;
			}
		}
	}
	return TRUE;
}

/* FALSE with an error naming both places when two of CASES have the same
 * name: they would share a results folder. */
GPtrArray *kdh_scenario_load_data(const char *name, const char *text, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GHashTable) lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) overrides =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_case_free);
	g_autoptr(GString) suffix = g_string_new(NULL);
	g_autoptr(GError) local = NULL;
	g_auto(GStrv) keys = NULL;
	g_autofree char *clean = NULL;
	g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
	Source src = {.name = name, .hash = hash, .kf = kf, .lines = lines, .overrides = overrides};

	if (!scenario_check_text(name, text, strlen(text), error))
		return NULL;
	/* GKeyFile sees no comment: ours are not all its own (inline ones). */
	clean = scenario_strip_comments(text);
	if (!scan_lines(&src, clean, error))
		return NULL;
	if (!g_key_file_load_from_data(kf, clean, -1, G_KEY_FILE_NONE, &local)) {
		/* scan_lines checked what GKeyFile would refuse; should it still
		 * refuse, say where at least the file is. */
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_SYNTAX, "%s: %s", name,
		            local->message);
		return NULL;
	}
	if (!values_readable(&src, error))
		return NULL;
	if (!g_key_file_has_group(kf, "scenario")) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_MISSING,
		            "%s:1: no [scenario] group", name);
		return NULL;
	}
	keys = g_key_file_get_keys(kf, "matrix", NULL, NULL);
	if (!matrix_size_bounded(&src, keys, error))
		return NULL;
	for (char **k = keys; k && *k; k++) {
		if (!matrix_values_distinct(&src, *k, error))
			return NULL;
	}
	if (!expand(&src, keys, 0, suffix, cases, error) || !kdh_cases_names_unique(cases, error))
		return NULL;
	return g_steal_pointer(&cases);
}

GPtrArray *kdh_scenario_load(const char *path, GError **error)
{
	g_autofree char *text = scenario_read_file(path, error);

	return text ? kdh_scenario_load_data(path, text, error) : NULL;
}

GPtrArray *kdh_scenario_load_all(const char *const *paths, GError **error)
{
	g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_case_free);

	for (const char *const *p = paths; *p; p++) {
		g_autoptr(GPtrArray) more = kdh_scenario_load(*p, error);
		if (!more)
			return NULL;
		for (guint i = 0; i < more->len; i++)
			g_ptr_array_add(cases, g_steal_pointer(&more->pdata[i]));
	}
	return kdh_cases_names_unique(cases, error) ? g_steal_pointer(&cases) : NULL;
}
