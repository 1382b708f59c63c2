/* kdh report merge: the results.json of several folders (CI shards, or any
 * runs) into one set of reports.  A results.json to merge came from
 * elsewhere, so it is read as hostile: bounded in size and nesting, every
 * member checked against a table of what kdh writes, errors naming the file
 * and the member.  The merged document is built from the checked cases as
 * they were, so it says exactly what its inputs said. */
#include "report/internal.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper than anything kdh writes (4 levels), shallow enough that
 * json-glib's recursive parser cannot exhaust the stack. */
#define MAX_DEPTH 32u
/* Error messages show strings from the file escaped and this long at most. */
#define SHOWN_MAX 80

typedef enum {
	M_STRING,
	M_STRING_OR_NULL,
	M_TIME_OR_NULL, /* an ISO 8601 string (GDateTime reads it) or null */
	M_SECONDS,      /* a finite number >= 0 */
	M_SECONDS_OR_NULL,
	M_INT, /* an integer */
	M_INT_OR_NULL,
	M_OBJECT,
	M_OBJECT_OR_MISSING, /* an object newer kdh versions write; its members
	                      * are then checked only when it is there */
	M_STRINGS,           /* an array of strings */
	/* an array of strings, or missing: a member newer kdh versions write,
	 * so results of an older kdh still merge */
	M_STRINGS_OR_MISSING,
	/* likewise for a string or null, an integer or null */
	M_STRING_OR_NULL_OR_MISSING,
	M_INT_OR_NULL_OR_MISSING,
	M_VERDICT, /* a verdict name */
	M_PHASES,  /* an array of {name: string, seconds: M_SECONDS} */
	M_CASES,   /* an array of objects, each checked with case_members */
} MemberKind;

typedef struct {
	const char *path; /* dotted: a parent object comes first in its table */
	MemberKind kind;
} Member;

/* A case: what kdh_result_to_json writes. */
static const Member case_members[] = {
    {"case", M_STRING},
    {"scenario", M_STRING_OR_NULL},
    {"verdict", M_VERDICT},
    {"reasons", M_STRINGS},
    {"checks", M_STRINGS},
    {"warnings", M_STRINGS_OR_MISSING},
    {"failed_phase", M_STRING_OR_NULL},
    {"started_at", M_TIME_OR_NULL},
    {"kdh_version", M_STRING_OR_NULL},
    {"asked", M_OBJECT},
    {"asked.memory", M_INT_OR_NULL},
    {"asked.cpus", M_INT_OR_NULL},
    {"asked.crashkernel", M_STRING_OR_NULL},
    {"asked.trigger", M_STRING_OR_NULL},
    {"asked.collector", M_STRING_OR_NULL},
    {"asked.dump_level", M_INT_OR_NULL},
    {"asked.compression", M_STRING_OR_NULL},
    {"asked.outcome", M_STRING_OR_NULL},
    {"asked.expect_panic", M_STRING_OR_NULL},
    {"asked.image", M_STRING_OR_NULL},
    {"asked.cpu", M_INT_OR_NULL_OR_MISSING},
    {"asked.expect_function", M_STRING_OR_NULL_OR_MISSING},
    {"asked.expect_reason", M_STRING_OR_NULL_OR_MISSING},
    {"asked.verify_crash", M_STRING_OR_NULL_OR_MISSING},
    {"phases", M_PHASES},
    {"total_seconds", M_SECONDS},
    {"acceleration", M_STRING_OR_NULL},
    {"host", M_STRING_OR_NULL_OR_MISSING},
    {"uploaded_bytes", M_INT_OR_NULL_OR_MISSING},
    {"downloaded_bytes", M_INT_OR_NULL_OR_MISSING},
    {"kernel", M_OBJECT},
    {"kernel.ref", M_STRING_OR_NULL},
    {"kernel.release", M_STRING_OR_NULL},
    {"kernel.package", M_STRING_OR_NULL},
    {"kernel.version", M_STRING_OR_NULL},
    {"readiness", M_OBJECT_OR_MISSING},
    {"readiness.crashkernel", M_STRING_OR_NULL_OR_MISSING},
    {"readiness.reserved", M_STRING_OR_NULL_OR_MISSING},
    {"readiness.reserved_mb", M_INT_OR_NULL_OR_MISSING},
    {"readiness.kexec_crash_loaded", M_INT_OR_NULL_OR_MISSING},
    {"readiness.kexec_crash_size", M_INT_OR_NULL_OR_MISSING},
    {"readiness.service_ready", M_INT_OR_NULL_OR_MISSING},
    {"readiness.service_status", M_STRING_OR_NULL_OR_MISSING},
    {"diagnosis", M_OBJECT_OR_MISSING},
    {"diagnosis.reason", M_STRING_OR_NULL_OR_MISSING},
    {"diagnosis.line", M_STRING_OR_NULL_OR_MISSING},
    {"inputs", M_OBJECT_OR_MISSING},
    {"inputs.kernel", M_STRING_OR_NULL_OR_MISSING},
    {"inputs.image", M_STRING_OR_NULL_OR_MISSING},
    {"inputs.scenario", M_STRING_OR_NULL_OR_MISSING},
    {"resumed_from", M_STRING_OR_NULL_OR_MISSING},
    {"matrix", M_OBJECT_OR_MISSING},
    {"matrix.kernel", M_STRING_OR_NULL_OR_MISSING},
    {"matrix.scenario", M_STRING_OR_NULL_OR_MISSING},
    {"dump", M_OBJECT},
    {"dump.file", M_STRING_OR_NULL_OR_MISSING},
    {"dump.format", M_STRING_OR_NULL},
    {"dump.compression", M_STRING_OR_NULL},
    {"dump.dump_level", M_INT},
    {"dump.osrelease", M_STRING_OR_NULL},
    {"dump.release_in_memory", M_STRING_OR_NULL},
    {"dump.pages_total", M_INT},
    {"dump.pages_dumped", M_INT},
    {"dump.pages_checked", M_INT},
    {"dump.panic", M_STRING_OR_NULL},
    {"dump.panic_task", M_STRING_OR_NULL},
    {"dump.dmesg_file", M_STRING_OR_NULL_OR_MISSING},
    {"results_dir", M_STRING_OR_NULL},
    {"files", M_STRINGS},
    {"serial_tail", M_STRINGS},
    {"ignored_markers", M_STRINGS},
};

/* results.json itself: what kdh_report_doc_new writes ("counts" is
 * recomputed, so only its type matters). */
static const Member doc_members[] = {
    {"run_id", M_STRING},
    {"merged_from", M_STRINGS},
    {"kdh_version", M_STRING_OR_NULL},
    {"host", M_STRING_OR_NULL},
    {"accel", M_STRING_OR_NULL},
    {"started_at", M_TIME_OR_NULL},
    {"ended_at", M_TIME_OR_NULL},
    {"wall_seconds", M_SECONDS_OR_NULL},
    {"jobs", M_INT_OR_NULL},
    {"shard", M_STRING_OR_NULL},
    {"filter", M_STRING_OR_NULL},
    {"interrupted_by", M_STRING_OR_NULL},
    {"counts", M_OBJECT},
    {"cases", M_CASES},
};

static char *shown(const char *s)
{
	return kdh_guest_text(s, -1, SHOWN_MAX);
}

static GType value_type(JsonNode *n)
{
	return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
}

static gboolean is_seconds(JsonNode *n)
{
	GType t = value_type(n);

	if (t == G_TYPE_INT64)
		return json_node_get_int(n) >= 0;
	return t == G_TYPE_DOUBLE && isfinite(json_node_get_double(n)) &&
	       json_node_get_double(n) >= 0;
}

static gboolean is_strings(JsonNode *n)
{
	JsonArray *a = n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		if (value_type(json_array_get_element(a, i)) != G_TYPE_STRING)
			return FALSE;
	}
	return a != NULL;
}

static gboolean is_time(JsonNode *n)
{
	g_autoptr(GDateTime) t = NULL;

	if (value_type(n) != G_TYPE_STRING)
		return FALSE;
	t = g_date_time_new_from_iso8601(json_node_get_string(n), NULL);
	return t != NULL;
}

static gboolean is_phases(JsonNode *n)
{
	JsonArray *a = n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonNode *p = json_array_get_element(a, i);
		JsonObject *o = JSON_NODE_HOLDS_OBJECT(p) ? json_node_get_object(p) : NULL;
		if (!o || value_type(json_object_get_member(o, "name")) != G_TYPE_STRING ||
		    !is_seconds(json_object_get_member(o, "seconds")))
			return FALSE;
	}
	return a != NULL;
}

/* What KIND means, for an error. */
static const char *kind_text(MemberKind kind)
{
	static const char *const texts[] = {
	    [M_STRING] = "a string",
	    [M_STRING_OR_NULL] = "a string or null",
	    [M_TIME_OR_NULL] = "an ISO 8601 time or null",
	    [M_SECONDS] = "a number of seconds (>= 0)",
	    [M_SECONDS_OR_NULL] = "a number of seconds (>= 0) or null",
	    [M_INT] = "an integer",
	    [M_INT_OR_NULL] = "an integer or null",
	    [M_OBJECT] = "an object",
	    [M_OBJECT_OR_MISSING] = "an object (or absent)",
	    [M_STRINGS] = "an array of strings",
	    [M_STRINGS_OR_MISSING] = "an array of strings (or absent)",
	    [M_STRING_OR_NULL_OR_MISSING] = "a string or null (or absent)",
	    [M_INT_OR_NULL_OR_MISSING] = "an integer or null (or absent)",
	    [M_VERDICT] = "a verdict (PASS, FAIL, ERROR, SKIP, TIMEOUT, NOT-RUN)",
	    [M_PHASES] = "an array of {\"name\": string, \"seconds\": number}",
	    [M_CASES] = "an array of case objects",
	};
	return texts[kind];
}

/* N (NULL: missing) is of KIND. */
static gboolean has_kind(JsonNode *n, MemberKind kind)
{
	KdhVerdict v;
	gboolean null = n && JSON_NODE_HOLDS_NULL(n);

	switch (kind) {
	case M_STRING:
		return value_type(n) == G_TYPE_STRING;
	case M_STRING_OR_NULL:
		return null || value_type(n) == G_TYPE_STRING;
	case M_TIME_OR_NULL:
		return null || is_time(n);
	case M_SECONDS:
		return is_seconds(n);
	case M_SECONDS_OR_NULL:
		return null || is_seconds(n);
	case M_INT:
		return value_type(n) == G_TYPE_INT64;
	case M_INT_OR_NULL:
		return null || value_type(n) == G_TYPE_INT64;
	case M_STRING_OR_NULL_OR_MISSING:
		return !n || has_kind(n, M_STRING_OR_NULL);
	case M_INT_OR_NULL_OR_MISSING:
		return !n || has_kind(n, M_INT_OR_NULL);
	case M_OBJECT:
		return n && JSON_NODE_HOLDS_OBJECT(n);
	case M_OBJECT_OR_MISSING:
		return !n || JSON_NODE_HOLDS_OBJECT(n);
	case M_STRINGS:
		return is_strings(n);
	case M_STRINGS_OR_MISSING:
		return !n || is_strings(n);
	case M_VERDICT:
		return value_type(n) == G_TYPE_STRING &&
		       kdh_verdict_from_name(json_node_get_string(n), &v);
	case M_PHASES:
		return is_phases(n);
	case M_CASES:
		return n && JSON_NODE_HOLDS_ARRAY(n);
	}
	return FALSE;
}

/* The member at dotted PATH of O (NULL: missing); its parents were
 * checked to be objects, or absent where that is allowed. */
static JsonNode *member_at(JsonObject *o, const char *path)
{
	const char *dot = strchr(path, '.');
	g_autofree char *head = NULL;

	if (!o)
		return NULL;
	if (!dot)
		return json_object_get_member(o, path);
	head = g_strndup(path, dot - path);
	return member_at(json_object_has_member(o, head) ? json_object_get_object_member(o, head)
	                                                 : NULL,
	                 dot + 1);
}

/* Checks O against MEMBERS; WHERE says where O is ("cases[3] (\"name\")"). */
static gboolean check_members(const char *file, const char *where, JsonObject *o,
                              const Member *members, gsize n, GError **error)
{
	for (gsize i = 0; i < n; i++) {
		JsonNode *node = member_at(o, members[i].path);
		if (!has_kind(node, members[i].kind)) {
			g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT,
			            "%s: %s%s'%s' is %s, not %s", file, where, *where ? ": " : "",
			            members[i].path, node ? "wrong" : "missing",
			            kind_text(members[i].kind));
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean check_case(const char *file, guint i, JsonNode *node, GError **error)
{
	JsonObject *c = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
	const char *name = c && value_type(json_object_get_member(c, "case")) == G_TYPE_STRING
	                       ? json_object_get_string_member(c, "case")
	                       : NULL;
	g_autofree char *name_shown = name ? shown(name) : NULL;
	g_autofree char *where = name_shown ? g_strdup_printf("cases[%u] (\"%s\")", i, name_shown)
	                                    : g_strdup_printf("cases[%u]", i);
	g_autofree char *safe = NULL;

	if (!c) {
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT,
		            "%s: %s is not an object", file, where);
		return FALSE;
	}
	if (!check_members(file, where, c, case_members, G_N_ELEMENTS(case_members), error))
		return FALSE;
	/* kdh names cases with kdh_safe_name: anything else was not written by
	 * kdh, and a name is what merging matches cases by. */
	safe = kdh_safe_name(name, NULL);
	if (!name || !safe || !g_str_equal(safe, name)) {
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT,
		            "%s: %s: 'case' is not a kdh case name", file, where);
		return FALSE;
	}
	return TRUE;
}

/* The deepest nesting of arrays and objects in TEXT (LEN bytes), counted
 * outside strings, stopping once past MAX_DEPTH. */
static guint nesting(const char *text, gsize len)
{
	guint depth = 0, deepest = 0;
	gboolean in_string = FALSE;

	for (gsize i = 0; i < len && deepest <= MAX_DEPTH; i++) {
		char ch = text[i];
		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = FALSE;
		} else if (ch == '"') {
			in_string = TRUE;
		} else if (ch == '[' || ch == '{') {
			depth++;
			deepest = MAX(deepest, depth);
		} else if ((ch == ']' || ch == '}') && depth) {
			depth--;
		}
	}
	return deepest;
}

/* FILE's bytes (nul-terminated, *LEN of them) when it is a regular file of
 * at most KDH_REPORT_MERGE_MAX_BYTES. */
static char *read_capped(const char *file, gsize *len, GError **error)
{
	/* O_NONBLOCK: opening a FIFO planted as results.json must not hang. */
	int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st = {0};
	const char *problem = NULL;
	g_autofree char *text = NULL;
	gsize got = 0, size;

	if (fd < 0 || fstat(fd, &st) != 0)
		problem = g_strerror(errno);
	else if (!S_ISREG(st.st_mode))
		problem = "not a regular file";
	else if ((guint64)st.st_size > KDH_REPORT_MERGE_MAX_BYTES)
		problem = "larger than " G_STRINGIFY(KDH_REPORT_MERGE_MAX_MIB) " MiB";
	if (problem) {
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT, "%s: %s", file,
		            problem);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	size = (gsize)st.st_size;
	/* One byte more than fstat said is read: a file that grew is refused. */
	text = g_malloc(size + 2);
	for (;;) {
		ssize_t n = read(fd, text + got, size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (gsize)n) > size)
			break;
	}
	close(fd);
	if (got != size) {
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT,
		            "%s: it changed while being read", file);
		return NULL;
	}
	text[got] = '\0';
	*len = got;
	return g_steal_pointer(&text);
}

/* One input: its parsed, checked results.json. */
typedef struct {
	char *dir;
	char *file;
	JsonParser *parser;
	JsonObject *doc;
} Input;

static void input_free(Input *in)
{
	g_free(in->dir);
	g_free(in->file);
	if (in->parser)
		g_object_unref(in->parser);
	g_free(in);
}

static Input *input_load(const char *dir, GError **error)
{
	Input *in = g_new0(Input, 1);
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;
	JsonNode *root;
	JsonArray *cases;
	gsize len = 0;

	in->dir = g_strdup(dir);
	in->file = g_build_filename(dir, "results.json", NULL);
	if (!(text = read_capped(in->file, &len, error)))
		goto fail;
	if (nesting(text, len) > MAX_DEPTH) {
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT,
		            "%s: nested deeper than %u levels", in->file, MAX_DEPTH);
		goto fail;
	}
	in->parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(in->parser, text, (gssize)len, &local)) {
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT, "%s: %s", in->file,
		            local->message);
		goto fail;
	}
	root = json_parser_get_root(in->parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT,
		            "%s: not a JSON object", in->file);
		goto fail;
	}
	in->doc = json_node_get_object(root);
	if (!check_members(in->file, "", in->doc, doc_members, G_N_ELEMENTS(doc_members), error))
		goto fail;
	cases = json_object_get_array_member(in->doc, "cases");
	for (guint i = 0; i < json_array_get_length(cases); i++) {
		if (!check_case(in->file, i, json_array_get_element(cases, i), error))
			goto fail;
	}
	return in;
fail:
	input_free(in);
	return NULL;
}

JsonNode *kdh_report_read_verdict(const char *path, GError **error)
{
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree char *text = NULL;
	gsize len = 0;
	JsonNode *root;

	if (!(text = read_capped(path, &len, error)))
		return NULL;
	if (nesting(text, len) > MAX_DEPTH) {
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT,
		            "%s: nested deeper than %u levels", path, MAX_DEPTH);
		return NULL;
	}
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, text, (gssize)len, &local)) {
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_INPUT, "%s: %s", path,
		            local->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (!root || !check_case(path, 0, root, error))
		return NULL;
	return json_node_copy(root);
}

/* A merged case: its object and where it came from. */
typedef struct {
	JsonNode *node;
	const Input *from;
} Merged;

/* TRUE when case A started after B (a missing time is the earliest). */
static gboolean started_later(JsonNode *a, JsonNode *b)
{
	const char *ta = kdh_doc_str(json_node_get_object(a), "started_at");
	const char *tb = kdh_doc_str(json_node_get_object(b), "started_at");
	g_autoptr(GDateTime) da = ta ? g_date_time_new_from_iso8601(ta, NULL) : NULL;
	g_autoptr(GDateTime) db = tb ? g_date_time_new_from_iso8601(tb, NULL) : NULL;

	if (!da || !db)
		return da != NULL;
	return g_date_time_compare(da, db) > 0;
}

/* Adds IN's cases to MERGED (name -> Merged*) and ORDER (names in order). */
static gboolean add_cases(const Input *in, gboolean latest, GHashTable *merged, GPtrArray *order,
                          GError **error)
{
	JsonArray *cases = json_object_get_array_member(in->doc, "cases");

	for (guint i = 0; i < json_array_get_length(cases); i++) {
		JsonNode *node = json_array_get_element(cases, i);
		const char *name = kdh_doc_str(json_node_get_object(node), "case");
		Merged *m = g_hash_table_lookup(merged, name);

		if (!m) {
			m = g_new0(Merged, 1);
			m->node = node;
			m->from = in;
			g_hash_table_insert(merged, (gpointer)name, m);
			g_ptr_array_add(order, (gpointer)name);
			continue;
		}
		if (!latest) {
			g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_DUPLICATE,
			            "case %s is in both %s and %s (--latest keeps the later one)",
			            name, m->from->dir, in->dir);
			return FALSE;
		}
		/* A tie keeps the folder named later. */
		if (!started_later(m->node, node)) {
			m->node = node;
			m->from = in;
		}
	}
	return TRUE;
}

/* The member NAME shared by every input, or NULL when they differ. */
static const char *common(GPtrArray *inputs, const char *name)
{
	const char *first = NULL;

	for (guint i = 0; i < inputs->len; i++) {
		const Input *in = g_ptr_array_index(inputs, i);
		const char *v = kdh_doc_str(in->doc, name);
		if (!v || (first && !g_str_equal(first, v)))
			return NULL;
		first = v;
	}
	return first;
}

/* The earliest (SIGN < 0) or latest (SIGN > 0) time member NAME of INPUTS. */
static GDateTime *extreme_time(GPtrArray *inputs, const char *name, int sign)
{
	GDateTime *best = NULL;

	for (guint i = 0; i < inputs->len; i++) {
		const Input *in = g_ptr_array_index(inputs, i);
		const char *text = kdh_doc_str(in->doc, name);
		GDateTime *t = text ? g_date_time_new_from_iso8601(text, NULL) : NULL;

		if (t && (!best || g_date_time_compare(t, best) * sign > 0)) {
			if (best)
				g_date_time_unref(best);
			best = t;
		} else if (t) {
			g_date_time_unref(t);
		}
	}
	return best;
}

static char *iso(GDateTime *t)
{
	g_autofree char *stamp = t ? g_date_time_format(t, "%Y-%m-%dT%H:%M:%S") : NULL;

	return t ? g_strdup_printf("%s.%03dZ", stamp, g_date_time_get_microsecond(t) / 1000) : NULL;
}

/* The run ids INPUTS came from: each input's merged_from, or its run_id. */
static GPtrArray *source_runs(GPtrArray *inputs)
{
	GPtrArray *ids = g_ptr_array_new();

	for (guint i = 0; i < inputs->len; i++) {
		const Input *in = g_ptr_array_index(inputs, i);
		g_autoptr(GPtrArray) from = kdh_doc_strings(in->doc, "merged_from");
		if (!from->len)
			g_ptr_array_add(from, (gpointer)kdh_doc_str(in->doc, "run_id"));
		for (guint j = 0; j < from->len; j++) {
			if (!g_ptr_array_find_with_equal_func(ids, g_ptr_array_index(from, j),
			                                      g_str_equal, NULL))
				g_ptr_array_add(ids, g_ptr_array_index(from, j));
		}
	}
	return ids;
}

/* Refuses OUT when it is one of DIRS (the same folder, by device and inode). */
static gboolean out_is_not_an_input(const KdhMergeOptions *opts, GError **error)
{
	struct stat out, in;

	if (stat(opts->out_dir, &out) != 0)
		return TRUE; /* it does not exist yet: no input is it */
	for (const char *const *d = opts->dirs; *d; d++) {
		if (stat(*d, &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
			g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_USAGE,
			            "the output folder %s is the input %s: it would overwrite "
			            "what it merges",
			            opts->out_dir, *d);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean write_merged(const KdhMergeOptions *opts, GPtrArray *inputs, GPtrArray *cases,
                             KdhVerdictCounts *counts, GError **error)
{
	g_autoptr(GDateTime) start = extreme_time(inputs, "started_at", -1);
	g_autoptr(GDateTime) end = extreme_time(inputs, "ended_at", 1);
	g_autofree char *started = iso(start), *ended = iso(end);
	g_autoptr(GPtrArray) runs = source_runs(inputs);
	KdhRunInfo info = {
	    .run_id = opts->run_id,
	    .kdh_version = common(inputs, "kdh_version"),
	    .host = common(inputs, "host"),
	    .accel = common(inputs, "accel"),
	    .started_at = started,
	    .ended_at = ended,
	    .wall_seconds = start && end ? g_date_time_difference(end, start) / 1e6 : -1,
	    .shard = common(inputs, "shard"),
	    .filter = common(inputs, "filter"),
	    .interrupted_by = common(inputs, "interrupted_by"),
	};
	g_autoptr(JsonNode) doc = kdh_report_doc_new(&info, runs, cases);

	if (g_mkdir_with_parents(opts->out_dir, 0755) != 0) {
		int err = errno;
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_WRITE, "creating %s: %s",
		            opts->out_dir, g_strerror(err));
		return FALSE;
	}
	if (counts)
		kdh_report_doc_counts(json_node_get_object(doc), counts);
	return kdh_report_write_all(json_node_get_object(doc), opts->out_dir, error);
}

gboolean kdh_report_merge(const KdhMergeOptions *opts, KdhVerdictCounts *counts, GError **error)
{
	g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func((GDestroyNotify)input_free);
	g_autoptr(GHashTable) merged = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	g_autoptr(GPtrArray) order = g_ptr_array_new();
	g_autoptr(GPtrArray) cases = g_ptr_array_new();

	if (!out_is_not_an_input(opts, error))
		return FALSE;
	for (const char *const *d = opts->dirs; *d; d++) {
		Input *in = input_load(*d, error);
		if (!in)
			return FALSE;
		g_ptr_array_add(inputs, in);
		if (!add_cases(in, opts->latest, merged, order, error))
			return FALSE;
	}
	for (guint i = 0; i < order->len; i++)
		g_ptr_array_add(cases,
		                ((Merged *)g_hash_table_lookup(merged, order->pdata[i]))->node);
	return write_merged(opts, inputs, cases, counts, error);
}
