/* The crash module (images/crashmod) built against each kernel under test,
 * once: $cache/crashmod/<release>-<hash>/kdh_crash.ko, the hash covering
 * the module's source, the kernel entry and the compiler, so a changed
 * source or another kernel gets its own entry and the same ones reuse it. */
#include "image/image.h"
#include "util/util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

/* Bump when the steps below change what a build produces. */
#define RECIPE "kdh-crashmod/1 make -C <tree> M=<src> CONFIG_DEBUG_INFO_BTF_MODULES= modules"

#define MODULE_NAME "kdh_crash.ko"

/* How many lines of a failed build's log the error quotes. */
#define TAIL_LINES 20

/* Bounds on what is read from the source folder. */
#define SOURCE_MAX_FILES 64
#define SOURCE_MAX_BYTES ((gsize)1 << 20)

/* A file of the module's source, as opposed to what a build by hand in
 * the folder leaves there (.o, .ko, .mod.c, Module.symvers...). */
static gboolean is_source_file(const char *name)
{
	if (name[0] == '.')
		return FALSE;
	if (g_str_equal(name, "Kbuild") || g_str_equal(name, "Makefile"))
		return TRUE;
	if (g_str_has_suffix(name, ".mod.c"))
		return FALSE;
	return g_str_has_suffix(name, ".c") || g_str_has_suffix(name, ".h");
}

/* The source files of DIR, sorted by name; NULL with an error when DIR
 * cannot be read, holds no Kbuild or too many files. */
static GPtrArray *source_files(const char *dir, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, error);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	gboolean kbuild = FALSE;
	const char *name;

	if (!d) {
		g_prefix_error(error, "crash module source: ");
		return NULL;
	}
	while ((name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (!is_source_file(name) || !g_file_test(path, G_FILE_TEST_IS_REGULAR))
			continue;
		kbuild = kbuild || g_str_equal(name, "Kbuild");
		g_ptr_array_add(names, g_strdup(name));
	}
	if (!kbuild || names->len > SOURCE_MAX_FILES) {
		g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
		            "crash module source %s: %s", dir,
		            kbuild ? "too many files" : "no Kbuild file (is it images/crashmod?)");
		return NULL;
	}
	g_ptr_array_sort(names, kdh_strcmp_sort);
	return g_steal_pointer(&names);
}

/* First line of `gcc --version`: the compiler is an input of the module. */
static char *compiler_identity(void)
{
	const char *argv[] = {"gcc", "--version", NULL};
	g_autofree char *out = NULL;

	if (!kdh_run(argv, NULL, &out, NULL))
		return g_strdup("gcc: unknown");
	out[strcspn(out, "\n")] = '\0';
	return g_steal_pointer(&out);
}

char *kdh_crashmod_entry_name(const KdhKernel *k, const char *source_dir, GError **error)
{
	g_autoptr(GPtrArray) files = source_files(source_dir, error);
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autoptr(GString) inputs = g_string_new(NULL);
	g_autofree char *cc = compiler_identity();

	if (!files)
		return NULL;
	g_string_append_printf(inputs, "recipe %s\nkernel %s\ncompiler %s\n", RECIPE, k->id, cc);
	for (guint i = 0; i < files->len; i++) {
		const char *name = g_ptr_array_index(files, i);
		g_autofree char *path = g_build_filename(source_dir, name, NULL);
		g_autofree char *text = NULL, *digest = NULL;
		gsize len;
		if (!g_file_get_contents(path, &text, &len, error))
			return NULL;
		if (len > SOURCE_MAX_BYTES) {
			g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
			            "crash module source %s: larger than %" G_GSIZE_FORMAT " bytes",
			            path, SOURCE_MAX_BYTES);
			return NULL;
		}
		digest = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)text, len);
		g_string_append_printf(inputs, "file %s sha256 %s\n", name, digest);
	}
	g_checksum_update(sum, (const guchar *)inputs->str, inputs->len);
	return g_strdup_printf("%s-%.16s", k->release, g_checksum_get_string(sum));
}

typedef struct {
	const KdhKernel *k;
	const char *source_dir;
	const char *logs; /* where a failed build's log is kept */
	const char *name; /* the entry's */
} Job;

typedef struct {
	FILE *log;
	GQueue tail; /* the last TAIL_LINES lines */
} Log;

static void on_line(const char *line, gpointer data)
{
	Log *l = data;

	fprintf(l->log, "%s\n", line);
	g_queue_push_tail(&l->tail, g_strdup(line));
	if (l->tail.length > TAIL_LINES)
		g_free(g_queue_pop_head(&l->tail));
}

/* Copies the source files of JOB into DEST, a folder of its own: Kbuild
 * writes its objects beside the sources. */
static gboolean copy_source(const Job *job, const char *dest, GError **error)
{
	g_autoptr(GPtrArray) files = source_files(job->source_dir, error);

	if (!files)
		return FALSE;
	for (guint i = 0; i < files->len; i++) {
		const char *name = g_ptr_array_index(files, i);
		g_autofree char *from = g_build_filename(job->source_dir, name, NULL);
		g_autofree char *to = g_build_filename(dest, name, NULL);
		if (!kdh_copy_file(from, to, 0644, error))
			return FALSE;
	}
	return TRUE;
}

/* The release the module's vermagic names ("6.1.0-56-amd64 SMP preempt
 * mod_unload modversions" → "6.1.0-56-amd64"). */
static char *module_release(const char *ko, GError **error)
{
	const char *argv[] = {"modinfo", "-F", "vermagic", "--", ko, NULL};
	g_autofree char *out = NULL;

	if (!kdh_run(argv, NULL, &out, error))
		return NULL;
	g_strstrip(out);
	out[strcspn(out, " \t\n")] = '\0';
	return g_steal_pointer(&out);
}

/* Keeps the log of a failed build; returns where (NULL when it could not). */
static char *keep_log(const Job *job, const char *log_path)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");
	g_autofree char *name = g_strdup_printf("%s-%s.log", job->name, stamp);
	char *dest = g_build_filename(job->logs, name, NULL);

	if (g_mkdir_with_parents(job->logs, 0755) != 0 || g_rename(log_path, dest) != 0) {
		g_free(dest);
		return NULL;
	}
	return dest;
}

/* Creates the folder PATH (its parent exists). */
static gboolean make_dir(const char *path, GError **error)
{
	if (g_mkdir(path, 0755) == 0)
		return TRUE;
	int saved = errno;
	g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED, "creating %s: %s", path,
	            g_strerror(saved));
	return FALSE;
}

/* Runs the module build of JOB in SRC against TREE, its output into LOG. */
static gboolean run_make(const Job *job, const char *tree, const char *src, Log *log,
                         GError **error)
{
	g_autofree char *dash_c = g_strdup_printf("-C%s", tree);
	g_autofree char *m = g_strdup_printf("M=%s", src);
	/* BTF for modules needs pahole and the kernel's vmlinux: a module
	 * without BTF loads all the same. */
	const char *argv[] = {"make", dash_c, m, "CONFIG_DEBUG_INFO_BTF_MODULES=", "modules", NULL};
	KdhRunOptions opts = {.line = on_line, .line_data = log};

	fprintf(log->log, "== kdh: building %s for %s (%s) in %s\n", MODULE_NAME,
	        job->k->ref ? job->k->ref : job->k->id, job->k->release, tree);
	fflush(log->log);
	return kdh_run_full(argv, &opts, NULL, NULL, error);
}

/* Builds the module as the entry OUT (a folder holding kdh_crash.ko and
 * build.log). */
static gboolean fill_module(const char *out, const char *scratch, gpointer data, GError **error)
{
	const Job *job = data;
	g_autoptr(KdhBuildTree) tree = NULL;
	g_autofree char *src = g_build_filename(scratch, "src", NULL);
	g_autofree char *log_path = g_build_filename(scratch, "build.log", NULL);
	g_autofree char *ko = g_build_filename(src, MODULE_NAME, NULL);
	g_autofree char *dest_ko = g_build_filename(out, MODULE_NAME, NULL);
	g_autofree char *dest_log = g_build_filename(out, "build.log", NULL);
	g_autofree char *release = NULL;
	g_autoptr(GError) local = NULL;
	Log log = {NULL, G_QUEUE_INIT};
	gboolean built;

	tree = kdh_kernel_build_tree(job->k, &local);
	if (!tree) {
		gboolean none =
		    g_error_matches(local, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_BUILD_TREE);
		g_set_error(error, KDH_IMAGE_ERROR,
		            none ? KDH_IMAGE_ERROR_UNSUPPORTED : KDH_IMAGE_ERROR_FAILED,
		            "the crash module needs a build tree for %s: %s", job->k->release,
		            local->message);
		return FALSE;
	}
	if (!make_dir(src, error) || !copy_source(job, src, error))
		return FALSE;
	log.log = fopen(log_path, "w");
	if (!log.log) {
		int saved = errno;
		g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED, "creating %s: %s",
		            log_path, g_strerror(saved));
		return FALSE;
	}
	built =
	    run_make(job, tree->dir, src, &log, &local) && g_file_test(ko, G_FILE_TEST_IS_REGULAR);
	fclose(log.log);
	if (!built) {
		g_autoptr(GString) tail = g_string_new(NULL);
		g_autofree char *kept = keep_log(job, log_path);
		for (GList *l = log.tail.head; l; l = l->next)
			g_string_append_printf(tail, "\n  %s", (char *)l->data);
		g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
		            "building the crash module for %s failed (%s; full log: %s); its last "
		            "lines:%s",
		            job->k->release, local ? local->message : "make made no " MODULE_NAME,
		            kept ? kept : "lost", tail->str);
		g_queue_clear_full(&log.tail, g_free);
		return FALSE;
	}
	g_queue_clear_full(&log.tail, g_free);
	release = module_release(ko, error);
	if (!release)
		return FALSE;
	if (!g_str_equal(release, job->k->release)) {
		g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
		            "the build tree %s made a crash module for kernel %s, not %s",
		            tree->dir, release, job->k->release);
		return FALSE;
	}
	return make_dir(out, error) && kdh_copy_file(ko, dest_ko, 0644, error) &&
	       kdh_copy_file(log_path, dest_log, 0644, error);
}

char *kdh_crashmod_build(const KdhKernel *k, const char *source_dir, const char *cache_dir,
                         GError **error)
{
	g_autofree char *name = kdh_crashmod_entry_name(k, source_dir, error);
	g_autofree char *dir = g_build_filename(cache_dir, "crashmod", NULL);
	g_autofree char *logs = g_build_filename(dir, "logs", NULL);
	g_autofree char *entry = NULL;
	Job job = {k, source_dir, logs, name};

	if (!name)
		return NULL;
	entry = kdh_cache_entry_ensure(dir, name, fill_module, &job, error);
	if (!entry)
		return NULL;
	return g_build_filename(entry, MODULE_NAME, NULL);
}
