/* The CI definitions users copy (ci/github/kdh.yml, ci/gitlab/kdh.yml),
 * read with a real YAML parser (libyaml) and checked for their shape: the
 * shard jobs cover every shard 1..N exactly once (their --shard argument
 * parsed by kdh's own parser), the merge job waits for them and merges,
 * junit.xml is uploaded, kdh is installed with README.md's command, and
 * the cache is keyed by the scenario files.  yamllint (make check-ci)
 * checks their style. */
#include <check.h>
#include <glib.h>
#include <yaml.h>

#include "scenario/scenario.h"

typedef struct {
	yaml_document_t doc;
	yaml_node_t *root;
} Yaml;

static void yaml_free(Yaml *y)
{
	yaml_document_delete(&y->doc);
	g_free(y);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Yaml, yaml_free)

/* PATH parsed: one document whose root is a mapping. */
static Yaml *yaml_load(const char *path)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	yaml_parser_t parser;
	Yaml *y = g_new0(Yaml, 1);

	ck_assert_msg(g_file_get_contents(path, &text, &len, NULL), "cannot read %s", path);
	ck_assert(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	ck_assert_msg(yaml_parser_load(&parser, &y->doc), "%s:%zu: %s", path,
	              parser.problem_mark.line + 1, parser.problem ? parser.problem : "?");
	yaml_parser_delete(&parser);
	y->root = yaml_document_get_root_node(&y->doc);
	ck_assert_msg(y->root && y->root->type == YAML_MAPPING_NODE, "%s: not a mapping", path);
	return y;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value of KEY in the mapping N, or NULL. */
static yaml_node_t *get(Yaml *y, yaml_node_t *n, const char *key)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(&y->doc, p->key));
		if (k && g_str_equal(k, key))
			return yaml_document_get_node(&y->doc, p->value);
	}
	return NULL;
}

/* N's value at PATH, mapping keys separated by '/' ("strategy/matrix"). */
static yaml_node_t *at(Yaml *y, yaml_node_t *n, const char *path)
{
	g_auto(GStrv) keys = g_strsplit(path, "/", -1);

	for (char **k = keys; n && *k; k++)
		n = get(y, n, *k);
	return n;
}

static guint seq_len(const yaml_node_t *n)
{
	return n && n->type == YAML_SEQUENCE_NODE
	           ? (guint)(n->data.sequence.items.top - n->data.sequence.items.start)
	           : 0;
}

static yaml_node_t *seq_item(Yaml *y, yaml_node_t *n, guint i)
{
	return yaml_document_get_node(&y->doc, n->data.sequence.items.start[i]);
}

/* The text of N: a scalar, or the items of a sequence of scalars joined
 * by newlines (a GitLab script); "" otherwise. */
static char *text_of(Yaml *y, yaml_node_t *n)
{
	g_autoptr(GString) out = g_string_new(scalar(n));

	for (guint i = 0; i < seq_len(n); i++)
		g_string_append_printf(out, "%s\n", scalar(seq_item(y, n, i)) ?: "");
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* The value of the --shard argument in TEXT (the quoted word after it). */
static char *shard_argument(const char *text)
{
	const char *at_shard = strstr(text, "--shard \"");

	ck_assert_msg(at_shard, "no --shard \"...\" in: %s", text);
	at_shard += strlen("--shard \"");
	return g_strndup(at_shard, strcspn(at_shard, "\""));
}

/* Every shard job's --shard ARG, with FROM_INDEX and FROM_TOTAL replaced
 * by the values the CI system gives job I of N (INDEXES[I], and N), parsed
 * by kdh: together they must name shards 1..N of N, each once. */
static void assert_shards_cover(const char *arg, const char *from_index, const char *from_total,
                                const guint *indexes, guint n)
{
	g_autofree gboolean *seen = g_new0(gboolean, n + 1);

	ck_assert_uint_ge(n, 2);
	for (guint i = 0; i < n; i++) {
		g_autoptr(GString) s = g_string_new(arg);
		g_autofree char *index_text = g_strdup_printf("%u", indexes[i]);
		g_autofree char *total_text = g_strdup_printf("%u", n);
		g_autoptr(GError) error = NULL;
		guint index = 0, count = 0;
		g_string_replace(s, from_index, index_text, 0);
		g_string_replace(s, from_total, total_text, 0);
		ck_assert_msg(kdh_shard_parse(s->str, &index, &count, &error), "%s",
		              error->message);
		ck_assert_uint_eq(count, n);
		ck_assert_msg(!seen[index], "shard %u/%u given twice", index, n);
		seen[index] = TRUE;
	}
	for (guint i = 1; i <= n; i++)
		ck_assert_msg(seen[i], "shard %u/%u is run by no job", i, n);
}

/* ---- GitHub Actions ---- */

/* The step of JOB that uses the action ACTION (e.g. "actions/cache/save"), or NULL. */
static yaml_node_t *step_using(Yaml *y, yaml_node_t *job, const char *action)
{
	yaml_node_t *steps = get(y, job, "steps");
	g_autofree char *prefix = g_strdup_printf("%s@", action);

	for (guint i = 0; i < seq_len(steps); i++) {
		const char *uses = scalar(get(y, seq_item(y, steps, i), "uses"));
		if (uses && g_str_has_prefix(uses, prefix))
			return seq_item(y, steps, i);
	}
	return NULL;
}

/* Every run: of JOB's steps, joined. */
static char *runs_of(Yaml *y, yaml_node_t *job)
{
	yaml_node_t *steps = get(y, job, "steps");
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = 0; i < seq_len(steps); i++)
		g_string_append_printf(out, "%s\n",
		                       scalar(get(y, seq_item(y, steps, i), "run")) ?: "");
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* TEXT (a step's run:, a job's script) is shell that bash can parse. */
static void assert_shell(const char *text, const char *where)
{
	const char *argv[] = {"bash", "-n", "-c", text, NULL};
	g_autofree char *err = NULL;
	g_autoptr(GError) error = NULL;
	int status = -1;

	ck_assert_msg(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
	                           &err, &status, &error),
	              "bash: %s", error ? error->message : "");
	ck_assert_msg(g_spawn_check_wait_status(status, NULL), "%s: bash -n: %s\n%s", where, err,
	              text);
}

static void assert_contains(const char *text, const char *want, const char *where)
{
	ck_assert_msg(text && strstr(text, want), "%s: no '%s' in: %s", where, want,
	              text ? text : "(nothing)");
}

/* README.md's install: ci/setup-host.sh (as root), then make. */
static void assert_installs(const char *text, const char *where)
{
	assert_contains(text, "ci/setup-host.sh", where);
	assert_contains(text, "make -C \"$KDH_DIR\"", where);
	ck_assert_msg(strstr(text, "ci/setup-host.sh") < strstr(text, "make -C"),
	              "%s: make before ci/setup-host.sh", where);
}

START_TEST(github_workflow_shape)
{
	g_autoptr(Yaml) y = yaml_load("ci/github/kdh.yml");
	yaml_node_t *shard = at(y, y->root, "jobs/shard");
	yaml_node_t *merge = at(y, y->root, "jobs/merge");
	yaml_node_t *matrix = at(y, shard, "strategy/matrix");
	yaml_node_t *list = get(y, matrix, "shard");
	yaml_node_t *restore, *save, *upload, *download, *needs;
	g_autofree char *shard_runs = runs_of(y, shard), *merge_runs = runs_of(y, merge);
	g_autofree char *arg = NULL, *results = NULL;
	g_autofree guint *indexes = NULL;
	guint n = seq_len(list);

	ck_assert_msg(shard && merge, "jobs shard and merge");
	assert_contains(scalar(at(y, y->root, "env/KDH_SCENARIOS")), ".ini", "env");

	/* The matrix: one dimension (so strategy.job-total is its length), the
	 * shard numbers, every one of 1..N once. */
	ck_assert_msg(matrix && matrix->type == YAML_MAPPING_NODE, "strategy.matrix");
	ck_assert_int_eq(matrix->data.mapping.pairs.top - matrix->data.mapping.pairs.start, 1);
	ck_assert_str_eq(scalar(at(y, shard, "strategy/fail-fast")), "false");
	indexes = g_new0(guint, n + 1);
	for (guint i = 0; i < n; i++) {
		guint64 v = 0;
		ck_assert_msg(
		    g_ascii_string_to_unsigned(scalar(seq_item(y, list, i)), 10, 1, 1000, &v, NULL),
		    "matrix.shard[%u] is not a shard number", i);
		indexes[i] = (guint)v;
	}
	ck_assert_msg(strstr(shard_runs, "build/kdh\" run --results"), "%s", shard_runs);
	arg = shard_argument(strstr(shard_runs, "build/kdh\" run"));
	ck_assert_str_eq(arg, "${{ matrix.shard }}/${{ strategy.job-total }}");
	assert_shards_cover(arg, "${{ matrix.shard }}", "${{ strategy.job-total }}", indexes, n);
	assert_installs(shard_runs, "shard");
	assert_shell(shard_runs, "shard");
	assert_shell(merge_runs, "merge");

	/* The cache: root's kdh cache, keyed by the scenario files, saved
	 * whatever the cases' verdicts. */
	restore = step_using(y, shard, "actions/cache/restore");
	save = step_using(y, shard, "actions/cache/save");
	ck_assert_msg(restore && save, "actions/cache/restore and save");
	ck_assert_str_eq(scalar(at(y, restore, "with/path")), "/var/cache/kdh");
	ck_assert_str_eq(scalar(at(y, save, "with/path")), "/var/cache/kdh");
	assert_contains(scalar(at(y, restore, "with/key")), "hashFiles('scenarios/", "key");
	ck_assert_str_eq(scalar(at(y, restore, "with/key")), scalar(at(y, save, "with/key")));
	ck_assert_str_eq(scalar(get(y, save, "if")), "always()");

	/* The shard's results folder uploaded, also after a FAIL. */
	results = g_strdup(strstr(shard_runs, "--results \"") + strlen("--results \""));
	upload = step_using(y, shard, "actions/upload-artifact");
	ck_assert_ptr_nonnull(upload);
	ck_assert_str_eq(scalar(get(y, upload, "if")), "always()");
	ck_assert_str_eq(scalar(at(y, upload, "with/name")), "kdh-shard-${{ matrix.shard }}");
	ck_assert_msg(g_str_has_prefix(results, scalar(at(y, upload, "with/path"))),
	              "the upload does not hold the --results folder %s", results);
	assert_contains(shard_runs, "summary.md >> \"$GITHUB_STEP_SUMMARY\"", "shard");

	/* The merge: after every shard, whatever their verdicts. */
	needs = get(y, merge, "needs");
	ck_assert_msg(seq_len(needs) == 1 && g_str_equal(scalar(seq_item(y, needs, 0)), "shard"),
	              "merge needs: [shard]");
	ck_assert_str_eq(scalar(get(y, merge, "if")), "always()");
	download = step_using(y, merge, "actions/download-artifact");
	ck_assert_ptr_nonnull(download);
	/* Each shard's artifact, and only those. */
	ck_assert_str_eq(scalar(at(y, download, "with/pattern")), "kdh-shard-*");
	ck_assert_str_eq(scalar(at(y, download, "with/merge-multiple")), "true");
	assert_installs(merge_runs, "merge");
	assert_contains(merge_runs, "build/kdh\" report merge", "merge");
	assert_contains(merge_runs, "--out kdh-report", "merge");
	assert_contains(merge_runs, "kdh-report/summary.md >> \"$GITHUB_STEP_SUMMARY\"", "merge");
	upload = step_using(y, merge, "actions/upload-artifact");
	ck_assert_ptr_nonnull(upload);
	ck_assert_str_eq(scalar(get(y, upload, "if")), "always()");
	assert_contains(scalar(at(y, upload, "with/path")), "kdh-report/junit.xml", "merge upload");
}
END_TEST

/* ---- GitLab CI ---- */

START_TEST(gitlab_include_shape)
{
	g_autoptr(Yaml) y = yaml_load("ci/gitlab/kdh.yml");
	yaml_node_t *install = get(y, y->root, ".kdh-install");
	yaml_node_t *shard = get(y, y->root, "kdh-shard");
	yaml_node_t *merge = get(y, y->root, "kdh-merge");
	yaml_node_t *stages = get(y, y->root, "stages");
	yaml_node_t *files, *needs;
	g_autofree char *install_text = text_of(y, get(y, install, "before_script"));
	g_autofree char *shard_text = text_of(y, get(y, shard, "script"));
	g_autofree char *merge_text = text_of(y, get(y, merge, "script"));
	g_autofree char *arg = NULL, *cache_dir = NULL;
	g_autofree guint *indexes = NULL;
	guint64 n = 0;
	gboolean keyed = FALSE;

	ck_assert_msg(install && shard && merge, ".kdh-install, kdh-shard, kdh-merge");
	assert_installs(install_text, ".kdh-install");
	assert_shell(install_text, ".kdh-install");
	assert_shell(shard_text, "kdh-shard");
	assert_shell(merge_text, "kdh-merge");
	ck_assert_str_eq(scalar(get(y, shard, "extends")), ".kdh-install");
	ck_assert_str_eq(scalar(get(y, merge, "extends")), ".kdh-install");

	/* The stages: shards before the merge. */
	ck_assert_uint_eq(seq_len(stages), 2);
	ck_assert_str_eq(scalar(seq_item(y, stages, 0)), scalar(get(y, shard, "stage")));
	ck_assert_str_eq(scalar(seq_item(y, stages, 1)), scalar(get(y, merge, "stage")));

	/* parallel: N jobs, CI_NODE_INDEX 1..N: every shard once. */
	ck_assert_msg(
	    g_ascii_string_to_unsigned(scalar(get(y, shard, "parallel")), 10, 2, 200, &n, NULL),
	    "parallel: 2..200 (GitLab's limit)");
	indexes = g_new0(guint, n);
	for (guint i = 0; i < n; i++)
		indexes[i] = i + 1;
	ck_assert_msg(strstr(shard_text, "build/kdh\" run --results"), "%s", shard_text);
	arg = shard_argument(strstr(shard_text, "build/kdh\" run"));
	ck_assert_str_eq(arg, "$CI_NODE_INDEX/$CI_NODE_TOTAL");
	assert_shards_cover(arg, "$CI_NODE_INDEX", "$CI_NODE_TOTAL", indexes, (guint)n);

	/* The cache: kdh's cache folder (KDH_CACHE_DIR, inside the project, as
	 * GitLab requires), keyed by the scenario files, saved after a FAIL too. */
	cache_dir = g_strdup(scalar(at(y, y->root, "variables/KDH_CACHE_DIR")));
	ck_assert_msg(cache_dir && g_str_has_prefix(cache_dir, "$CI_PROJECT_DIR/"),
	              "KDH_CACHE_DIR in the project");
	ck_assert_uint_eq(seq_len(at(y, shard, "cache/paths")), 1);
	{
		g_autofree char *want =
		    g_strdup_printf("%s/", cache_dir + strlen("$CI_PROJECT_DIR/"));
		ck_assert_str_eq(scalar(seq_item(y, at(y, shard, "cache/paths"), 0)), want);
	}
	files = at(y, shard, "cache/key/files");
	for (guint i = 0; i < seq_len(files); i++)
		keyed |= g_str_has_prefix(scalar(seq_item(y, files, i)), "scenarios/");
	ck_assert_msg(keyed, "cache:key:files names the scenario files");
	ck_assert_str_eq(scalar(at(y, shard, "cache/when")), "always");

	/* junit.xml as the test report of each shard, and of the merge. */
	ck_assert_str_eq(scalar(at(y, shard, "artifacts/when")), "always");
	ck_assert_str_eq(scalar(at(y, shard, "artifacts/reports/junit")),
	                 "kdh-results/shard-*/*/junit.xml");
	assert_contains(shard_text, "--results \"kdh-results/shard-$CI_NODE_INDEX\"", "kdh-shard");
	ck_assert_str_eq(scalar(seq_item(y, at(y, shard, "artifacts/paths"), 0)), "kdh-results/");

	/* The merge: after every shard (with their artifacts), whatever their verdicts. */
	needs = get(y, merge, "needs");
	ck_assert_uint_eq(seq_len(needs), 1);
	ck_assert_str_eq(scalar(get(y, seq_item(y, needs, 0), "job")), "kdh-shard");
	ck_assert_str_eq(scalar(get(y, seq_item(y, needs, 0), "artifacts")), "true");
	ck_assert_str_eq(scalar(get(y, merge, "when")), "always");
	assert_contains(merge_text, "build/kdh\" report merge", "kdh-merge");
	assert_contains(merge_text, "find kdh-results", "kdh-merge");
	assert_contains(merge_text, "--out kdh-report", "kdh-merge");
	ck_assert_str_eq(scalar(at(y, merge, "artifacts/when")), "always");
	ck_assert_str_eq(scalar(at(y, merge, "artifacts/reports/junit")), "kdh-report/junit.xml");
}
END_TEST

Suite *ci_suite(void);
Suite *ci_suite(void)
{
	Suite *s = suite_create("ci");
	TCase *tc = tcase_create("ci");

	tcase_add_test(tc, github_workflow_shape);
	tcase_add_test(tc, gitlab_include_shape);
	suite_add_tcase(s, tc);
	return s;
}
