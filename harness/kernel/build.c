/* Building kernels from a source package or tree plus kconfig fragments.
 *
 * The entry's id hashes every input that changes the result (source and its
 * version, base config, fragment contents, compiler, linker, this recipe),
 * so equal inputs reuse the entry and different ones never share it.  The
 * build runs out of tree in a temporary folder of the cache; only the
 * finished entry is renamed into place. */
#include "kernel/internal.h"
#include "util/util.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bump when the steps below change what a build produces. */
#define RECIPE "kdh-kernel-build/1 ARCH=x86_64 bzImage modules"

typedef struct {
	const KdhKernelBuildOptions *opts;
	GTimer *timer;
	FILE *log;
	guint done;
	double last_progress; /* when progress was last reported */
	GPtrArray *failures;  /* lines that say what failed */
} Build;

static void progress(Build *b, const char *step)
{
	if (b->log)
		fprintf(b->log, "== kdh: %s (%.0f s)\n", step, g_timer_elapsed(b->timer, NULL));
	if (b->opts->progress)
		b->opts->progress(step, g_timer_elapsed(b->timer, NULL), b->done,
		                  b->opts->progress_data);
}

/* Kbuild's quiet output: "  CC      fs/ext4/inode.o" → "CC fs/ext4/inode.o". */
static char *kbuild_step(const char *line)
{
	const char *p = line;
	const char *verb;
	gsize verb_len;

	if (!g_str_has_prefix(p, "  ") || !g_ascii_isupper(p[2]))
		return NULL;
	p += 2;
	verb = p;
	while (g_ascii_isupper(*p) || g_ascii_isdigit(*p) || *p == '_' || *p == '-' || *p == '[' ||
	       *p == ']')
		p++;
	verb_len = p - verb;
	if (*p != ' ' || verb_len > 12)
		return NULL;
	while (*p == ' ')
		p++;
	if (!*p)
		return NULL;
	return g_strdup_printf("%.*s %s", (int)verb_len, verb, p);
}

static void remember(Build *b, const char *line)
{
	if ((strstr(line, "error:") || strstr(line, "Error ") || strstr(line, "*** ")) &&
	    b->failures->len < 8)
		g_ptr_array_add(b->failures, g_strdup(line));
}

/* The lines of a failed command's output that say what failed ("error:",
 * make's "***"), one per line, each after a newline; "" when none. */
static char *why_failed(Build *b)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < b->failures->len; i++)
		g_string_append_printf(s, "\n  %s", (char *)g_ptr_array_index(b->failures, i));
	return g_string_free(s, FALSE);
}

/* One line of a Kbuild command's output: into the log, the error's
 * memory, and progress when it is a build step. */
static void on_line(const char *line, gpointer data)
{
	Build *b = data;
	g_autofree char *step = kbuild_step(line);

	fputs(line, b->log);
	fputc('\n', b->log);
	remember(b, line);
	if (step) {
		double now = g_timer_elapsed(b->timer, NULL);
		b->done++;
		if (b->opts->progress && now - b->last_progress >= 0.2) {
			b->opts->progress(step, now, b->done, b->opts->progress_data);
			b->last_progress = now;
		}
	}
}

/* Runs ARGV with its output (stdout and stderr) into the log line by line,
 * reporting Kbuild steps as progress. */
static gboolean run_logged(Build *b, const char *const *argv, const char *cwd, GError **error)
{
	/* merge_config.sh runs make itself: it must target x86_64 too.
	 * Reproducible banners: the builder's name is nobody's business. */
	static const char *const env[] = {
	    "ARCH", "x86_64", "KBUILD_BUILD_USER", "kdh", "KBUILD_BUILD_HOST", "kdh", NULL};
	KdhRunOptions opts = {.cwd = cwd, .env = env, .line = on_line, .line_data = b};
	g_autofree char *cmd = g_strjoinv(" ", (char **)argv);

	fprintf(b->log, "== kdh: $ %s\n", cmd);
	fflush(b->log);
	g_ptr_array_set_size(b->failures, 0);
	b->last_progress = -1;
	if (!kdh_run_full(argv, &opts, NULL, NULL, error)) {
		/* The runner quotes the last lines, often only make's "Error 2"
		 * chain: the lines that say what failed come after them. */
		g_autofree char *why = why_failed(b);
		fflush(b->log);
		if (*why && error && *error) {
			char *msg = g_strconcat((*error)->message, why, NULL);
			g_free((*error)->message);
			(*error)->message = msg;
		}
		return FALSE;
	}
	fflush(b->log);
	return TRUE;
}

/* "6.12" and "linux-source-6.12" name the Debian package; anything with a
 * '/' or an existing folder is a tree. */
static gboolean source_is_tree(const char *source)
{
	return strchr(source, '/') || g_file_test(source, G_FILE_TEST_IS_DIR);
}

static char *source_package(const char *source, GError **error)
{
	g_autofree char *pkg = g_str_has_prefix(source, "linux-source-")
	                           ? g_strdup(source)
	                           : g_strdup_printf("linux-source-%s", source);

	for (const char *p = pkg; *p; p++) {
		if (!g_ascii_isalnum(*p) && *p != '.' && *p != '-') {
			g_set_error(
			    error, KDH_KERNEL_ERROR, 0,
			    "kernel source '%s': expected linux-source-<version> or a folder",
			    source);
			return NULL;
		}
	}
	return g_steal_pointer(&pkg);
}

typedef struct {
	Build *b;
	const char *package;
	const char *version;
} SourceFetch;

/* linux-source-X's .deb holds usr/src/linux-source-X.tar.xz: the tarball
 * comes out of the .deb, then the tree out of the tarball, as OUT. */
static gboolean fill_source(const char *out, const char *scratch, gpointer data, GError **error)
{
	const SourceFetch *sf = data;
	/* linux-source-6.12 unpacks to ~1.6 GB in ~90,000 files. */
	KdhUnpackOptions tree_limits = {.max_bytes = (guint64)6 << 30, .max_entries = 400000};
	KdhUnpackOptions deb_limits = kernel_package_limits;
	g_autofree char *member = g_strdup_printf("usr/src/%s.tar.xz", sf->package);
	g_autofree char *deb = NULL, *unpacked = g_build_filename(scratch, "deb", NULL);
	g_autofree char *tarball = g_build_filename(unpacked, member, NULL);

	progress(sf->b, "download source");
	deb = kernel_apt_download(sf->package, sf->version, scratch, error);
	if (!deb)
		return FALSE;
	progress(sf->b, "unpack source");
	deb_limits.only = member;
	return g_mkdir(unpacked, 0755) == 0 && g_mkdir(out, 0755) == 0 &&
	       kdh_unpack_package(deb, unpacked, &deb_limits, error) &&
	       kdh_unpack_package(tarball, out, &tree_limits, error);
}

/* The unpacked tree of Debian's PACKAGE at VERSION, in
 * $cache/sources/<package>_<version>/, unpacked once and shared. */
static char *unpacked_source(Build *b, const char *cache_dir, const char *package,
                             const char *version, GError **error)
{
	g_autofree char *sources = g_build_filename(cache_dir, "sources", NULL);
	g_autofree char *name = g_strdup_printf("%s_%s", package, version);
	g_autofree char *entry = NULL, *tree = NULL;
	SourceFetch sf = {b, package, version};

	entry = kdh_cache_entry_ensure(sources, name, fill_source, &sf, error);
	if (!entry) {
		g_prefix_error(error, "unpacking %s %s: ", package, version);
		return NULL;
	}
	tree = g_build_filename(entry, package, NULL);
	if (!g_file_test(tree, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "%s %s unpacked no %s", package, version,
		            tree);
		return NULL;
	}
	return g_steal_pointer(&tree);
}

/* First line of `TOOL --version`: the compiler and linker are inputs. */
static char *tool_version(const char *tool)
{
	const char *argv[] = {tool, "--version", NULL};
	g_autofree char *out = NULL;
	char *nl;

	if (!kdh_run(argv, NULL, &out, NULL))
		return g_strdup_printf("%s: unknown", tool);
	nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	return g_steal_pointer(&out);
}

/* Every symbol the tree's Kconfig files define. */
static GHashTable *known_symbols(const char *tree, GError **error)
{
	const char *argv[] = {"grep",
	                      "-rhoE",
	                      "--include=Kconfig*",
	                      "-e",
	                      "^[[:space:]]*(menu)?config[[:space:]]+[A-Za-z0-9_]+",
	                      "--",
	                      tree,
	                      NULL};
	g_autofree char *out = NULL;
	g_auto(GStrv) lines = NULL;
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (!kdh_run(argv, NULL, &out, error)) {
		g_hash_table_unref(set);
		return NULL;
	}
	lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) words = g_strsplit_set(g_strstrip(*l), " \t", -1);
		guint n = g_strv_length(words);
		if (n >= 2)
			g_hash_table_add(set, g_strdup(words[n - 1]));
	}
	return set;
}

static gint compare_lines(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* What identifies a tree the user gave: where it is, its version, and the
 * name, size and time of every file (a changed file changes the id).  The
 * digest is the SHA-256 of find's lines sorted bytewise, each ending in a
 * newline, as `find | LC_ALL=C sort | sha256sum` gave it before. */
static char *tree_identity(const char *tree, GError **error)
{
	const char *argv[] = {"find",  ".", "-path",   "./.git",      "-prune", "-o",
	                      "-type", "f", "-printf", "%T@ %s %p\n", NULL};
	g_autofree char *out = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	guint n;

	if (!kdh_run(argv, tree, &out, error))
		return NULL;
	lines = g_strsplit(out, "\n", -1);
	n = g_strv_length(lines);
	if (n > 0 && !*lines[n - 1]) {
		g_free(lines[n - 1]);
		lines[--n] = NULL;
	}
	qsort(lines, n, sizeof(char *), compare_lines);
	for (guint i = 0; i < n; i++) {
		g_checksum_update(sum, (const guchar *)lines[i], -1);
		g_checksum_update(sum, (const guchar *)"\n", 1);
	}
	return g_strdup_printf("tree %s files %s", tree, g_checksum_get_string(sum));
}

typedef struct {
	char *tree;    /* the source tree to build */
	char *package; /* Debian package, or the tree's path */
	char *version; /* package version, or the tree's kernelversion */
	char *kver;    /* upstream kernel version, for the id */
	char *identity;
} Source;

static void source_clear(Source *s)
{
	g_free(s->tree);
	g_free(s->package);
	g_free(s->version);
	g_free(s->kver);
	g_free(s->identity);
}

static gboolean resolve_source(Build *b, const char *source, const char *cache_dir, Source *s,
                               GError **error)
{
	if (source_is_tree(source)) {
		g_autofree char *makefile = NULL, *dotconfig = NULL, *files = NULL;
		const char *argv[] = {"make",          "-s", "--no-print-directory", "-C", NULL,
		                      "kernelversion", NULL};
		g_autofree char *out = NULL;
		s->tree = g_canonicalize_filename(source, NULL);
		makefile = g_build_filename(s->tree, "Makefile", NULL);
		dotconfig = g_build_filename(s->tree, ".config", NULL);
		if (!g_file_test(makefile, G_FILE_TEST_IS_REGULAR)) {
			g_set_error(error, KDH_KERNEL_ERROR, 0,
			            "kernel source %s: no such kernel tree (no Makefile)", s->tree);
			return FALSE;
		}
		if (g_file_test(dotconfig, G_FILE_TEST_EXISTS)) {
			g_set_error(
			    error, KDH_KERNEL_ERROR, 0,
			    "kernel source %s is configured in place (has .config); kdh builds "
			    "out of tree: run `make mrproper` there first",
			    s->tree);
			return FALSE;
		}
		argv[4] = s->tree;
		if (!kdh_run(argv, NULL, &out, error)) {
			g_prefix_error(error, "kernel source %s: ", s->tree);
			return FALSE;
		}
		s->kver = g_strstrip(g_strdup(out));
		s->package = g_strdup(s->tree);
		s->version = g_strdup(s->kver);
		files = tree_identity(s->tree, error);
		if (!files)
			return FALSE;
		s->identity = g_strdup_printf("source %s version %s\n", files, s->kver);
		return TRUE;
	}
	s->package = source_package(source, error);
	if (!s->package)
		return FALSE;
	s->version = kernel_apt_field(s->package, "Version", error);
	if (!s->version) {
		g_prefix_error(error, "kernel source '%s': ", source);
		return FALSE;
	}
	s->kver = g_strndup(s->version, strcspn(s->version, "-~+"));
	s->identity = g_strdup_printf("source debian %s=%s\n", s->package, s->version);
	s->tree = unpacked_source(b, cache_dir, s->package, s->version, error);
	return s->tree != NULL;
}

static gboolean is_named_base(const char *base)
{
	return g_str_equal(base, "tinyconfig") || g_str_equal(base, "allnoconfig") ||
	       g_str_equal(base, "defconfig") || g_str_equal(base, "x86_64_defconfig");
}

/* Configure in OBJ: base, fragments, olddefconfig; then hold the result
 * against what each fragment asked for. */
static gboolean configure(Build *b, const Source *s, const char *obj, const char *base,
                          GPtrArray *fragments, GPtrArray *texts, GError **error)
{
	g_autofree char *o = g_strdup_printf("O=%s", obj);
	g_autofree char *dotconfig = g_build_filename(obj, ".config", NULL);
	g_autofree char *merge =
	    g_build_filename(s->tree, "scripts", "kconfig", "merge_config.sh", NULL);
	g_autofree char *final_text = NULL;
	g_autoptr(GHashTable) final = NULL, known = NULL;
	g_autoptr(GPtrArray) unmet = g_ptr_array_new_with_free_func(g_free);

	progress(b, "configure");
	if (is_named_base(base)) {
		const char *argv[] = {"make", "-C", s->tree, o, "ARCH=x86_64", base, NULL};
		if (!run_logged(b, argv, NULL, error))
			return FALSE;
	} else if (!kdh_copy_file(base, dotconfig, 0644, error)) {
		return FALSE;
	}
	if (fragments->len) {
		/* tinyconfig/allnoconfig: merge_config.sh -n runs allnoconfig with
		 * base + fragments as KCONFIG_ALLCONFIG, so options the fragments
		 * make visible (PCI, ACPI, ...) stay off unless asked for: the
		 * small build.  Other bases: merge only, then olddefconfig gives
		 * new options their defaults, as a distro config expects. */
		gboolean small =
		    g_str_equal(base, "tinyconfig") || g_str_equal(base, "allnoconfig");
		g_autoptr(GPtrArray) argv = g_ptr_array_new();
		g_ptr_array_add(argv, "bash");
		g_ptr_array_add(argv, merge);
		g_ptr_array_add(argv, small ? "-n" : "-m");
		g_ptr_array_add(argv, "-O");
		g_ptr_array_add(argv, (gpointer)obj);
		g_ptr_array_add(argv, dotconfig);
		for (guint i = 0; i < fragments->len; i++)
			g_ptr_array_add(argv, g_ptr_array_index(fragments, i));
		g_ptr_array_add(argv, NULL);
		if (!run_logged(b, (const char *const *)argv->pdata, s->tree, error))
			return FALSE;
	}
	{
		const char *argv[] = {"make",        "-C",           s->tree, o,
		                      "ARCH=x86_64", "olddefconfig", NULL};
		if (!run_logged(b, argv, NULL, error))
			return FALSE;
	}
	progress(b, "check config");
	if (!g_file_get_contents(dotconfig, &final_text, NULL, error))
		return FALSE;
	final = kdh_kconfig_parse(final_text);
	known = known_symbols(s->tree, error);
	if (!known)
		return FALSE;
	for (guint i = 0; i < fragments->len; i++) {
		g_autofree char *name = g_path_get_basename(g_ptr_array_index(fragments, i));
		g_autoptr(GPtrArray) u =
		    kdh_kconfig_unmet(name, g_ptr_array_index(texts, i), final, known);
		for (guint j = 0; j < u->len; j++)
			g_ptr_array_add(unmet, g_strdup(g_ptr_array_index(u, j)));
	}
	if (unmet->len) {
		g_autoptr(GString) s_err = g_string_new(NULL);
		for (guint i = 0; i < unmet->len; i++) {
			g_string_append_printf(s_err, "\n  %s",
			                       (char *)g_ptr_array_index(unmet, i));
			fprintf(b->log, "kdh: %s\n", (char *)g_ptr_array_index(unmet, i));
		}
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            "%u option%s the fragments ask for did not survive configuration:%s",
		            unmet->len, unmet->len == 1 ? "" : "s", s_err->str);
		return FALSE;
	}
	return TRUE;
}

/* Compiles in OBJ and installs into ROOT; *RELEASE_OUT gets `uname -r`. */
static gboolean compile_install(Build *b, const Source *s, const char *obj, const char *root,
                                char **release_out, GError **error)
{
	g_autofree char *o = g_strdup_printf("O=%s", obj);
	g_autofree char *jobs = g_strdup_printf(
	    "-j%d", b->opts->jobs > 0 ? b->opts->jobs : (int)g_get_num_processors());
	g_autofree char *mod_path = g_strdup_printf("INSTALL_MOD_PATH=%s", root);
	g_autofree char *release_file =
	    g_build_filename(obj, "include", "config", "kernel.release", NULL);
	g_autofree char *release = NULL, *config_text = NULL, *boot = NULL;
	g_autofree char *dotconfig = g_build_filename(obj, ".config", NULL);
	g_autoptr(GHashTable) config = NULL;
	gboolean modules, debug;

	if (!g_file_get_contents(dotconfig, &config_text, NULL, error))
		return FALSE;
	config = kdh_kconfig_parse(config_text);
	modules = g_strcmp0(g_hash_table_lookup(config, "MODULES"), "y") == 0;
	debug = g_strcmp0(g_hash_table_lookup(config, "DEBUG_INFO"), "y") == 0;

	progress(b, "build");
	{
		const char *argv[] = {"make",        "-C", s->tree,   o,
		                      "ARCH=x86_64", jobs, "bzImage", modules ? "modules" : NULL,
		                      NULL};
		if (!run_logged(b, argv, NULL, error))
			return FALSE;
	}
	if (!g_file_get_contents(release_file, &release, NULL, error))
		return FALSE;
	g_strstrip(release);
	/* A user's tree decides this name: it becomes paths and depmod's argument. */
	if (!kernel_release_check(release, release_file, error))
		return FALSE;
	if (modules) {
		/* INSTALL_MOD_STRIP is left unset: crash(8) wants the modules' DWARF. */
		const char *argv[] = {"make",        "-C",     s->tree,           o,
		                      "ARCH=x86_64", mod_path, "modules_install", NULL};
		progress(b, "modules_install");
		if (!run_logged(b, argv, NULL, error))
			return FALSE;
	} else {
		/* Nothing to install, but the image builder reads modules.builtin. */
		g_autofree char *dir = g_build_filename(root, "lib", "modules", release, NULL);
		g_autofree char *from = g_build_filename(obj, "modules.builtin", NULL);
		g_autofree char *to = g_build_filename(dir, "modules.builtin", NULL);
		if (g_mkdir_with_parents(dir, 0755) != 0 ||
		    (g_file_test(from, G_FILE_TEST_EXISTS) &&
		     !kdh_copy_file(from, to, -1, error))) {
			if (error && !*error)
				g_set_error(error, KDH_KERNEL_ERROR, 0, "cannot create %s", dir);
			return FALSE;
		}
	}
	progress(b, "install");
	if (!kernel_finish_modules(root, release, error))
		return FALSE;
	boot = g_build_filename(root, "boot", NULL);
	if (g_mkdir_with_parents(boot, 0755) != 0) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "cannot create %s", boot);
		return FALSE;
	}
	{
		g_autofree char *bz = g_build_filename(obj, "arch", "x86", "boot", "bzImage", NULL);
		g_autofree char *map = g_build_filename(obj, "System.map", NULL);
		g_autofree char *vmlinux = g_build_filename(obj, "vmlinux", NULL);
		g_autofree char *to_bz = g_strdup_printf("%s/vmlinuz-%s", boot, release);
		g_autofree char *to_config = g_strdup_printf("%s/config-%s", boot, release);
		g_autofree char *to_map = g_strdup_printf("%s/System.map-%s", boot, release);
		g_autofree char *to_vmlinux = g_strdup_printf("%s/vmlinux-%s", boot, release);
		if (!kdh_copy_file(bz, to_bz, -1, error) ||
		    !kdh_copy_file(dotconfig, to_config, 0644, error) ||
		    !kdh_copy_file(map, to_map, -1, error) ||
		    (debug && !kdh_copy_file(vmlinux, to_vmlinux, -1, error)))
			return FALSE;
	}
	*release_out = g_steal_pointer(&release);
	return TRUE;
}

/* Keeps the log of a failed build where the user can read it. */
static char *keep_failed_log(const char *kernels, const char *id, const char *log_path,
                             const char *obj)
{
	g_autofree char *logs = g_build_filename(kernels, "logs", NULL);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");
	g_autofree char *name = g_strdup_printf("%s-%s.log", id, stamp);
	g_autofree char *cname = g_strdup_printf("%s-%s.config", id, stamp);
	char *dest = g_build_filename(logs, name, NULL);
	g_autofree char *config = g_build_filename(obj, ".config", NULL);
	g_autofree char *config_dest = g_build_filename(logs, cname, NULL);

	g_mkdir_with_parents(logs, 0755);
	if (g_rename(log_path, dest) != 0) {
		g_free(dest);
		return NULL;
	}
	if (g_file_test(config, G_FILE_TEST_EXISTS))
		kdh_copy_file(config, config_dest, -1, NULL);
	return dest;
}

typedef struct {
	Build *b;
	const Source *s;
	const char *base;
	GPtrArray *fragments;
	GPtrArray *texts;
	const char *inputs; /* what the id hashes, kept as inputs.txt */
	const char *kernels;
	const char *id;
	const char *cc;
	const char *ld;
} BuildJob;

/* Configures, compiles and installs the entry OUT; a failed build's log
 * goes to $cache/kernels/logs/ (named in the error). */
static gboolean fill_build(const char *out, const char *scratch, gpointer data, GError **error)
{
	BuildJob *j = data;
	Build *b = j->b;
	/* The object tree is kept per source tree and toolchain: the next build
	 * of this source with other fragments recompiles only what the
	 * configuration change touches (Kbuild tracks dependencies per option).
	 * One build at a time uses it, under its own lock. */
	g_autofree char *obj_input =
	    g_strdup_printf("%s\n%s\n%s\n%s\n", j->s->tree, j->cc, j->ld, RECIPE);
	g_autofree char *obj_key = g_compute_checksum_for_string(G_CHECKSUM_SHA256, obj_input, -1);
	g_autofree char *obj = g_strdup_printf("%s/.obj-%s-%.12s", j->kernels, j->s->kver, obj_key);
	g_autofree char *obj_lock_path =
	    g_strdup_printf("%s/.lock-obj-%s-%.12s", j->kernels, j->s->kver, obj_key);
	g_autofree char *log_path = g_build_filename(out, "build.log", NULL);
	g_autofree char *inputs_path = g_build_filename(out, "inputs.txt", NULL);
	g_autofree char *release = NULL, *ref = NULL, *secs = NULL;
	g_autoptr(GString) names = g_string_new(NULL);
	const char *keys[] = {"source",    "release", "package",  "version",       "ref",
	                      "fragments", "base",    "compiler", "build_seconds", NULL};
	gboolean ok;
	int obj_lock;

	(void)scratch;
	obj_lock = kdh_lock(obj_lock_path, error);
	if (obj_lock < 0)
		return FALSE;
	g_mkdir_with_parents(obj, 0755);
	g_mkdir_with_parents(out, 0755);
	b->log = fopen(log_path, "w");
	if (!b->log) {
		int saved = errno;
		g_set_error(error, KDH_KERNEL_ERROR, 0, "creating %s: %s", log_path,
		            g_strerror(saved));
		kdh_unlock(obj_lock);
		return FALSE;
	}
	fprintf(b->log, "== kdh: building %s from\n%s", j->id, j->inputs);
	ok = configure(b, j->s, obj, j->base, j->fragments, j->texts, error) &&
	     compile_install(b, j->s, obj, out, &release, error);
	fclose(b->log);
	b->log = NULL;
	if (!ok) {
		g_autofree char *kept = keep_failed_log(j->kernels, j->id, log_path, obj);
		kdh_unlock(obj_lock);
		if (kept)
			g_prefix_error(error, "(full log: %s) ", kept);
		g_prefix_error(error, "building %s from %s: ", j->id, j->s->package);
		return FALSE;
	}
	kdh_unlock(obj_lock);
	ref = g_strdup_printf("build:%s", j->id + strlen("build-"));
	for (guint i = 0; i < j->fragments->len; i++) {
		g_autofree char *n = g_path_get_basename(g_ptr_array_index(j->fragments, i));
		g_string_append_printf(names, "%s%s", i ? "," : "", n);
	}
	secs = g_strdup_printf("%.0f", g_timer_elapsed(b->timer, NULL));
	const char *values[] = {"build",    release, j->s->package, j->s->version, ref,
	                        names->str, j->base, j->cc,         secs,          NULL};
	return g_file_set_contents(inputs_path, j->inputs, -1, error) &&
	       kernel_entry_write_meta(out, keys, values, error);
}

/* Builds; or, with CONFIG_OUT, only configures and checks, writes the final
 * .config there and sets *CONFIGURED (returning NULL). */
static KdhKernel *build(const KdhKernelBuildOptions *opts, const char *cache_dir,
                        const char *config_out, gboolean *configured, GError **error)
{
	g_autoptr(GTimer) timer = g_timer_new();
	Build b = {opts, timer, NULL, 0, -1, g_ptr_array_new_with_free_func(g_free)};
	Source s = {0};
	const char *base = opts->base ? opts->base : "tinyconfig";
	g_autoptr(GPtrArray) fragments = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) inputs = g_string_new(NULL);
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree char *kernels = NULL, *id = NULL, *entry = NULL;
	g_autofree char *tmp = NULL, *cc = NULL, *ld = NULL;
	KdhKernel *result = NULL;

	if (!opts->source || !*opts->source) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "kernel build: no source given");
		goto out;
	}
	/* The inputs first: a missing fragment fails before any download. */
	for (guint i = 0; opts->fragments && opts->fragments[i]; i++) {
		char *text = NULL;
		if (!g_file_get_contents(opts->fragments[i], &text, NULL, error)) {
			g_prefix_error(error, "kconfig fragment: ");
			goto out;
		}
		g_ptr_array_add(fragments, g_canonicalize_filename(opts->fragments[i], NULL));
		g_ptr_array_add(texts, text);
		/* What the fragment asks for, in order: comments, blank lines and
		 * the file's name do not change the kernel, so not its id. */
		g_autoptr(GArray) requests = kdh_kconfig_requests(text);
		g_autoptr(GString) asked = g_string_new(NULL);
		for (guint j = 0; j < requests->len; j++) {
			const KdhKconfigRequest *r = &g_array_index(requests, KdhKconfigRequest, j);
			g_string_append_printf(asked, "%s=%s\n", r->name, r->value);
		}
		g_autofree char *digest =
		    g_compute_checksum_for_string(G_CHECKSUM_SHA256, asked->str, -1);
		g_string_append_printf(inputs, "fragment options sha256 %s\n", digest);
	}
	if (is_named_base(base)) {
		g_string_append_printf(inputs, "base %s\n", base);
	} else {
		g_autofree char *text = NULL, *digest = NULL;
		if (!g_file_get_contents(base, &text, NULL, error)) {
			g_prefix_error(error, "base config: ");
			goto out;
		}
		digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
		g_string_append_printf(inputs, "base file sha256 %s\n", digest);
	}
	kernels = kernel_cache_kernels(cache_dir, error);
	if (!kernels || !resolve_source(&b, opts->source, cache_dir, &s, error))
		goto out;
	cc = tool_version("gcc");
	ld = tool_version("ld");
	g_string_prepend(inputs, s.identity);
	g_string_append_printf(inputs, "compiler %s\nlinker %s\nrecipe %s\n", cc, ld, RECIPE);
	g_checksum_update(sum, (const guchar *)inputs->str, inputs->len);
	id = g_strdup_printf("build-%s-%.12s", s.kver, g_checksum_get_string(sum));
	entry = g_build_filename(kernels, id, NULL);
	if (g_file_test(entry, G_FILE_TEST_IS_DIR) && !config_out) {
		result = kernel_entry_load(kernels, id, NULL, error);
		goto out;
	}
	if (config_out) {
		/* Nothing is published: a private folder of the system's (the
		 * configuration's objects are a few MB). */
		g_autofree char *obj = NULL, *log_path = NULL, *dotconfig = NULL;
		tmp = g_dir_make_tmp("kdh-configure-XXXXXX", error);
		if (!tmp)
			goto out;
		obj = g_build_filename(tmp, "obj", NULL);
		log_path = g_build_filename(tmp, "configure.log", NULL);
		dotconfig = g_build_filename(obj, ".config", NULL);
		g_mkdir_with_parents(obj, 0755);
		b.log = fopen(log_path, "w");
		if (!b.log) {
			g_set_error(error, KDH_KERNEL_ERROR, 0, "creating %s", log_path);
			goto out;
		}
		if (configure(&b, &s, obj, base, fragments, texts, error) &&
		    kdh_copy_file(dotconfig, config_out, 0644, error))
			*configured = TRUE;
		else
			g_prefix_error(error, "configuring %s: ", s.package);
		goto out;
	}
	{
		BuildJob job = {&b, &s, base, fragments, texts, inputs->str, kernels, id, cc, ld};
		g_autofree char *made =
		    kdh_cache_entry_ensure(kernels, id, fill_build, &job, error);
		if (!made)
			goto out;
	}
	progress(&b, "done");
	result = kernel_entry_load(kernels, id, NULL, error);
out:
	if (b.log)
		fclose(b.log);
	if (tmp)
		kdh_rm_rf(tmp);
	g_ptr_array_unref(b.failures);
	source_clear(&s);
	return result;
}

KdhKernel *kdh_kernel_build(const KdhKernelBuildOptions *opts, const char *cache_dir,
                            GError **error)
{
	return build(opts, cache_dir, NULL, NULL, error);
}

gboolean kdh_kernel_configure(const KdhKernelBuildOptions *opts, const char *cache_dir,
                              const char *config_out, GError **error)
{
	gboolean configured = FALSE;

	build(opts, cache_dir, config_out, &configured, error);
	return configured;
}
