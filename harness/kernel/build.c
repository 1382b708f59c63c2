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
#include <string.h>

/* Bump when the steps below change what a build produces. */
#define RECIPE "kdh-kernel-build/1 ARCH=x86_64 bzImage modules"

typedef struct {
	const KdhKernelBuildOptions *opts;
	GTimer *timer;
	FILE *log;
	guint done;
	GQueue tail;         /* the last lines of output, for errors */
	GPtrArray *failures; /* lines that say what failed */
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
	g_queue_push_tail(&b->tail, g_strdup(line));
	if (b->tail.length > 25)
		g_free(g_queue_pop_head(&b->tail));
	if ((strstr(line, "error:") || strstr(line, "Error ") || strstr(line, "*** ")) &&
	    b->failures->len < 8)
		g_ptr_array_add(b->failures, g_strdup(line));
}

/* The output of a failed command, for its error: the lines that say what
 * failed, else the last ones. */
static char *why_failed(Build *b)
{
	GString *s = g_string_new(NULL);

	if (b->failures->len) {
		for (guint i = 0; i < b->failures->len; i++)
			g_string_append_printf(s, "\n  %s",
			                       (char *)g_ptr_array_index(b->failures, i));
	} else {
		guint skip = b->tail.length > 8 ? b->tail.length - 8 : 0;
		guint i = 0;
		for (GList *l = b->tail.head; l; l = l->next, i++) {
			if (i >= skip)
				g_string_append_printf(s, "\n  %s", (char *)l->data);
		}
	}
	return g_string_free(s, FALSE);
}

/* Runs ARGV with its output (stdout and stderr) into the log line by line,
 * reporting Kbuild steps as progress. */
static gboolean run_logged(Build *b, const char *const *argv, const char *cwd, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GDataInputStream) in = NULL;
	g_autofree char *cmd = g_strjoinv(" ", (char **)argv);
	char *line;
	gsize len;
	double last = -1;

	g_subprocess_launcher_setenv(launcher, "LC_ALL", "C", TRUE);
	/* merge_config.sh runs make itself: it must target x86_64 too. */
	g_subprocess_launcher_setenv(launcher, "ARCH", "x86_64", TRUE);
	if (cwd)
		g_subprocess_launcher_set_cwd(launcher, cwd);
	/* Reproducible banners: the builder's name is nobody's business. */
	g_subprocess_launcher_setenv(launcher, "KBUILD_BUILD_USER", "kdh", TRUE);
	g_subprocess_launcher_setenv(launcher, "KBUILD_BUILD_HOST", "kdh", TRUE);
	fprintf(b->log, "== kdh: $ %s\n", cmd);
	fflush(b->log);
	g_queue_clear_full(&b->tail, g_free);
	g_ptr_array_set_size(b->failures, 0);
	proc = g_subprocess_launcher_spawnv(launcher, argv, error);
	if (!proc) {
		g_prefix_error(error, "running %s: ", argv[0]);
		return FALSE;
	}
	in = g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc));
	while ((line = g_data_input_stream_read_line_utf8(in, &len, NULL, NULL))) {
		g_autofree char *step = kbuild_step(line);
		fputs(line, b->log);
		fputc('\n', b->log);
		remember(b, line);
		if (step) {
			double now = g_timer_elapsed(b->timer, NULL);
			b->done++;
			if (b->opts->progress && now - last >= 0.2) {
				b->opts->progress(step, now, b->done, b->opts->progress_data);
				last = now;
			}
		}
		g_free(line);
	}
	if (!g_subprocess_wait(proc, NULL, error))
		return FALSE;
	fflush(b->log);
	if (!g_subprocess_get_if_exited(proc) || g_subprocess_get_exit_status(proc) != 0) {
		g_autofree char *why = why_failed(b);
		g_set_error(error, KDH_KERNEL_ERROR, 0, "%s failed (exit status %d):%s", cmd,
		            g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc)
		                                             : -1,
		            why);
		return FALSE;
	}
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

/* The unpacked tree of Debian's PACKAGE at VERSION, in
 * $cache/sources/<package>_<version>/, unpacked once and shared. */
static char *unpacked_source(Build *b, const char *cache_dir, const char *package,
                             const char *version, GError **error)
{
	g_autofree char *sources = g_build_filename(cache_dir, "sources", NULL);
	g_autofree char *name = g_strdup_printf("%s_%s", package, version);
	g_autofree char *entry = g_build_filename(sources, name, NULL);
	g_autofree char *tree = g_build_filename(entry, package, NULL);
	g_autofree char *lock_path = NULL, *tmp = NULL;
	gboolean ok;
	int lock;

	if (g_file_test(tree, G_FILE_TEST_IS_DIR))
		return g_steal_pointer(&tree);
	if (g_mkdir_with_parents(sources, 0755) != 0) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "cannot create %s", sources);
		return NULL;
	}
	lock_path = g_build_filename(sources, ".lock", NULL);
	lock = kdh_lock(lock_path, error);
	if (lock < 0)
		return NULL;
	if (g_file_test(tree, G_FILE_TEST_IS_DIR)) {
		kdh_unlock(lock);
		return g_steal_pointer(&tree);
	}
	tmp = kernel_make_tmp(sources, "source", TRUE, error);
	ok = tmp != NULL;
	if (ok) {
		g_autofree char *deb = NULL, *out = g_build_filename(tmp, "out", NULL);
		progress(b, "download source");
		deb = kernel_apt_download(package, version, tmp, error);
		ok = deb != NULL;
		if (ok) {
			g_autofree char *qd = g_shell_quote(deb), *qo = g_shell_quote(out);
			g_autofree char *member = g_strdup_printf("./usr/src/%s.tar.xz", package);
			g_autofree char *qm = g_shell_quote(member);
			g_autofree char *script =
			    g_strdup_printf("mkdir -p %s && dpkg-deb --fsys-tarfile %s | tar -xO "
			                    "%s | tar -xJ -C %s",
			                    qo, qd, qm, qo);
			progress(b, "unpack source");
			ok = kernel_sh(script, NULL, error) && kdh_publish_dir(out, entry, error);
		}
		kdh_rm_rf(tmp);
	}
	kdh_unlock(lock);
	if (!ok) {
		g_prefix_error(error, "unpacking %s %s: ", package, version);
		return NULL;
	}
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
	                      "^[[:space:]]*(menu)?config[[:space:]]+[A-Za-z0-9_]+",
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

/* What identifies a tree the user gave: where it is, its version, and the
 * name, size and time of every file (a changed file changes the id). */
static char *tree_identity(const char *tree, GError **error)
{
	g_autofree char *qt = g_shell_quote(tree);
	g_autofree char *script = g_strdup_printf(
	    "cd %s && find . -path ./.git -prune -o -type f -printf '%%T@ %%s %%p\\n' | "
	    "LC_ALL=C sort | sha256sum",
	    qt);
	const char *argv[] = {"bash", "-o", "pipefail", "-c", script, NULL};
	g_autofree char *out = NULL;

	if (!kdh_run(argv, NULL, &out, error))
		return NULL;
	return g_strdup_printf("tree %s files %.64s", tree, out);
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
	} else if (!kernel_copy_file(base, dotconfig, error)) {
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
		    (g_file_test(from, G_FILE_TEST_EXISTS) && !kernel_copy_file(from, to, error))) {
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
		if (!kernel_copy_file(bz, to_bz, error) ||
		    !kernel_copy_file(dotconfig, to_config, error) ||
		    !kernel_copy_file(map, to_map, error) ||
		    (debug && !kernel_copy_file(vmlinux, to_vmlinux, error)))
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
		kernel_copy_file(config, config_dest, NULL);
	return dest;
}

/* Builds; or, with CONFIG_OUT, only configures and checks, writes the final
 * .config there and sets *CONFIGURED (returning NULL). */
static KdhKernel *build(const KdhKernelBuildOptions *opts, const char *cache_dir,
                        const char *config_out, gboolean *configured, GError **error)
{
	g_autoptr(GTimer) timer = g_timer_new();
	Build b = {opts, timer, NULL, 0, G_QUEUE_INIT, g_ptr_array_new_with_free_func(g_free)};
	Source s = {0};
	const char *base = opts->base ? opts->base : "tinyconfig";
	g_autoptr(GPtrArray) fragments = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) inputs = g_string_new(NULL);
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree char *kernels = NULL, *id = NULL, *entry = NULL, *lock_path = NULL;
	g_autofree char *tmp = NULL, *cc = NULL, *ld = NULL;
	KdhKernel *result = NULL;
	int lock = -1, obj_lock = -1;

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
		/* Nothing is published: no lock, a private folder. */
		g_autofree char *obj = NULL, *log_path = NULL, *dotconfig = NULL;
		tmp = kernel_make_tmp(kernels, "configure", FALSE, error);
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
		    kernel_copy_file(dotconfig, config_out, error))
			*configured = TRUE;
		else
			g_prefix_error(error, "configuring %s: ", s.package);
		goto out;
	}
	lock_path = g_strdup_printf("%s/.lock-%s", kernels, id);
	lock = kdh_lock(lock_path, error);
	if (lock < 0)
		goto out;
	if (g_file_test(entry, G_FILE_TEST_IS_DIR)) {
		/* Another kdh built it while we waited. */
		result = kernel_entry_load(kernels, id, NULL, error);
		goto out;
	}
	tmp = kernel_make_tmp(kernels, id, TRUE, error);
	if (!tmp)
		goto out;
	{
		/* The object tree is kept per source tree and toolchain: the next
		 * build of this source with other fragments recompiles only what
		 * the configuration change touches (Kbuild tracks dependencies per
		 * option).  One build at a time uses it, under its own lock. */
		g_autofree char *obj_input =
		    g_strdup_printf("%s\n%s\n%s\n%s\n", s.tree, cc, ld, RECIPE);
		g_autofree char *obj_key =
		    g_compute_checksum_for_string(G_CHECKSUM_SHA256, obj_input, -1);
		g_autofree char *obj =
		    g_strdup_printf("%s/.obj-%s-%.12s", kernels, s.kver, obj_key);
		g_autofree char *obj_lock_path =
		    g_strdup_printf("%s/.lock-obj-%s-%.12s", kernels, s.kver, obj_key);
		g_autofree char *root = g_build_filename(tmp, "root", NULL);
		g_autofree char *log_path = g_build_filename(root, "build.log", NULL);
		g_autofree char *inputs_path = g_build_filename(root, "inputs.txt", NULL);
		g_autofree char *release = NULL, *ref = NULL, *frag_list = NULL;
		gboolean ok;

		obj_lock = kdh_lock(obj_lock_path, error);
		if (obj_lock < 0)
			goto out;
		g_mkdir_with_parents(obj, 0755);
		g_mkdir_with_parents(root, 0755);
		b.log = fopen(log_path, "w");
		if (!b.log) {
			int saved = errno;
			g_set_error(error, KDH_KERNEL_ERROR, 0, "creating %s: %s", log_path,
			            g_strerror(saved));
			goto out;
		}
		fprintf(b.log, "== kdh: building %s from\n%s", id, inputs->str);
		ok = configure(&b, &s, obj, base, fragments, texts, error) &&
		     compile_install(&b, &s, obj, root, &release, error);
		fclose(b.log);
		b.log = NULL;
		if (!ok) {
			g_autofree char *kept = keep_failed_log(kernels, id, log_path, obj);
			if (kept)
				g_prefix_error(error, "(full log: %s) ", kept);
			g_prefix_error(error, "building %s from %s: ", id, s.package);
			goto out;
		}
		ref = g_strdup_printf("build:%s", id + strlen("build-"));
		{
			GString *names = g_string_new(NULL);
			for (guint i = 0; i < fragments->len; i++) {
				g_autofree char *n =
				    g_path_get_basename(g_ptr_array_index(fragments, i));
				g_string_append_printf(names, "%s%s", i ? "," : "", n);
			}
			frag_list = g_string_free(names, FALSE);
		}
		{
			g_autofree char *secs =
			    g_strdup_printf("%.0f", g_timer_elapsed(timer, NULL));
			const char *keys[] = {"source",        "release",   "package", "version",
			                      "ref",           "fragments", "base",    "compiler",
			                      "build_seconds", NULL};
			const char *values[] = {"build",   release, s.package, s.version, ref,
			                        frag_list, base,    cc,        secs,      NULL};
			if (!g_file_set_contents(inputs_path, inputs->str, -1, error) ||
			    !kernel_entry_write_meta(root, keys, values, error) ||
			    !kdh_publish_dir(root, entry, error))
				goto out;
		}
		progress(&b, "done");
		result = kernel_entry_load(kernels, id, NULL, error);
	}
out:
	if (b.log)
		fclose(b.log);
	if (tmp)
		kdh_rm_rf(tmp);
	if (obj_lock >= 0)
		kdh_unlock(obj_lock);
	if (lock >= 0)
		kdh_unlock(lock);
	g_queue_clear_full(&b.tail, g_free);
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
