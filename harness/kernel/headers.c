/* Build trees for out-of-tree modules (the crash module), per source:
 *
 *   debian   Debian's linux-headers-<abi> and the packages it depends on
 *            (-common, linux-kbuild-*), fetched like the image and
 *            unpacked beside the entry as <id>.headers/, never installed.
 *   build    the object tree kdh built the kernel in
 *            ($cache/kernels/.obj-<kver>-<hash>), when it still holds this
 *            kernel's configuration and release.
 *   import   the entry's lib/modules/<release>/build, when the import had
 *            one. */
#include "kernel/internal.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest Makefile kdh rewrites: Debian's per-flavour one is a line. */
#define MAKEFILE_MAX_BYTES 4096

void kdh_build_tree_free(KdhBuildTree *t)
{
	if (!t)
		return;
	if (t->lock >= 0)
		kdh_unlock(t->lock);
	g_free(t->dir);
	g_free(t);
}

static KdhBuildTree *tree_new(char *dir, int lock)
{
	KdhBuildTree *t = g_new0(KdhBuildTree, 1);

	t->dir = dir;
	t->lock = lock;
	return t;
}

/* The folder holding K's entry: debug and headers companions live there. */
static char *kernels_dir(const KdhKernel *k)
{
	return g_path_get_dirname(k->root);
}

/* The package names among the Depends of linux-headers-<abi> that make up
 * the build tree: the -common headers and linux-kbuild-* (the compiler
 * and linux-base are the host's business). */
static GPtrArray *headers_packages(const char *package, GError **error)
{
	g_autofree char *depends = kernel_apt_field(package, "Depends", error);
	g_auto(GStrv) items = NULL;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

	if (!depends) {
		g_ptr_array_unref(names);
		return NULL;
	}
	g_ptr_array_add(names, g_strdup(package));
	items = g_strsplit(depends, ",", -1);
	for (char **i = items; *i; i++) {
		/* "linux-kbuild-6.1 (>= 6.1.192-2)" or "a | b": the first name. */
		g_autofree char *item = g_strstrip(g_strdup(*i));
		item[strcspn(item, " (|")] = '\0';
		if (g_str_has_prefix(item, "linux-headers-") ||
		    g_str_has_prefix(item, "linux-kbuild-"))
			g_ptr_array_add(names, g_steal_pointer(&item));
	}
	return names;
}

/* Debian's headers Makefile is "include /usr/src/linux-headers-X-common/
 * Makefile": made relative, it finds the -common tree unpacked beside it
 * (make -C runs it from its own folder), wherever the cache is. */
static gboolean relocate_makefile(const char *src_dir, const char *build, GError **error)
{
	g_autofree char *path = g_build_filename(build, "Makefile", NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	gsize len;

	if (!g_file_get_contents(path, &text, &len, error))
		return FALSE;
	if (len > MAKEFILE_MAX_BYTES) {
		g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_FAILED,
		            "%s: %" G_GSIZE_FORMAT " bytes, not Debian's one-line Makefile", path,
		            len);
		return FALSE;
	}
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		const char *prefix = "include /usr/src/";
		if (g_str_has_prefix(*l, prefix)) {
			const char *rel = *l + strlen(prefix);
			g_autofree char *target = g_build_filename(src_dir, rel, NULL);
			if (strstr(rel, "..") || !g_file_test(target, G_FILE_TEST_IS_REGULAR)) {
				g_set_error(
				    error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_FAILED,
				    "%s includes %s, which the headers packages do not hold", path,
				    *l + strlen("include "));
				return FALSE;
			}
			g_string_append_printf(out, "include ../%s", rel);
		} else {
			g_string_append(out, *l);
		}
		if (l[1])
			g_string_append_c(out, '\n');
	}
	return g_file_set_contents(path, out->str, out->len, error);
}

/* Downloads and unpacks linux-headers-<abi> and its -common and kbuild
 * packages as the entry OUT. */
static gboolean fill_headers(const char *out, const char *scratch, gpointer data, GError **error)
{
	const KdhKernel *k = data;
	g_autofree char *package = g_strdup_printf("linux-headers-%s", k->release);
	g_autofree char *src_dir = g_build_filename(out, "usr", "src", NULL);
	g_autofree char *build = g_build_filename(src_dir, package, NULL);
	g_autofree char *config = g_build_filename(build, ".config", NULL);
	g_autofree char *modules = g_build_filename(out, "lib", "modules", NULL);
	g_autoptr(GPtrArray) packages = headers_packages(package, error);

	if (!packages || g_mkdir(out, 0755) != 0)
		return FALSE;
	for (guint i = 0; i < packages->len; i++) {
		const char *name = g_ptr_array_index(packages, i);
		/* One folder per download: kernel_apt_download finds the .deb by
		 * its name's prefix, and linux-headers-X-common prefixes
		 * linux-headers-X-common-rt. */
		g_autofree char *dir = g_strdup_printf("%s/deb%u", scratch, i);
		/* The headers are the kernel's own version; the rest what apt has. */
		g_autofree char *version =
		    i == 0 ? g_strdup(k->version) : kernel_apt_field(name, "Version", error);
		g_autofree char *deb = NULL;
		if (!version || g_mkdir(dir, 0755) != 0)
			return FALSE;
		deb = kernel_apt_download(name, version, dir, error);
		if (!deb || !kdh_unpack_package(deb, out, &kernel_package_limits, error))
			return FALSE;
	}
	if (!g_file_test(config, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_FAILED,
		            "%s unpacked no usr/src/%s/.config", package, package);
		return FALSE;
	}
	/* lib/modules/<abi>/{build,source} are absolute links into the host's
	 * /usr/src: nothing may follow them. */
	kdh_rm_rf(modules);
	return relocate_makefile(src_dir, build, error);
}

static KdhBuildTree *debian_tree(const KdhKernel *k, GError **error)
{
	g_autofree char *kernels = kernels_dir(k);
	g_autofree char *name = g_strdup_printf("%s.headers", k->id);
	g_autofree char *entry =
	    kdh_cache_entry_ensure(kernels, name, fill_headers, (gpointer)k, error);
	g_autofree char *package = g_strdup_printf("linux-headers-%s", k->release);

	if (!entry) {
		g_prefix_error(error, "fetching %s %s: ", package, k->version);
		return NULL;
	}
	return tree_new(g_build_filename(entry, "usr", "src", package, NULL), -1);
}

/* TRUE when the files A and B have the same content (both readable). */
static gboolean same_content(const char *a, const char *b)
{
	g_autofree char *ta = NULL, *tb = NULL;
	gsize la, lb;

	if (!g_file_get_contents(a, &ta, &la, NULL) || !g_file_get_contents(b, &tb, &lb, NULL))
		return FALSE;
	return la == lb && memcmp(ta, tb, la) == 0;
}

/* TRUE when the object tree OBJ holds K: its release and .config. */
static gboolean obj_holds(const char *obj, const KdhKernel *k)
{
	g_autofree char *config = g_build_filename(obj, ".config", NULL);
	g_autofree char *release_file =
	    g_build_filename(obj, "include", "config", "kernel.release", NULL);
	g_autofree char *release = NULL;

	return g_file_get_contents(release_file, &release, NULL, NULL) &&
	       g_str_equal(g_strstrip(release), k->release) && same_content(config, k->config);
}

/* The source tree K was built from, as kdh_kernel_build unpacked or was
 * given it: a Debian linux-source package's in $cache/sources/, or the
 * user's folder (the entry's package). */
static char *source_tree(const KdhKernel *k, const char *kernels)
{
	g_autofree char *cache = g_path_get_dirname(kernels);
	g_autofree char *name = NULL;

	if (!k->package || !k->version)
		return NULL;
	if (g_path_is_absolute(k->package))
		return g_strdup(k->package);
	name = g_strdup_printf("%s_%s", k->package, k->version);
	return g_build_filename(cache, "sources", name, k->package, NULL);
}

/* The compiler K was built with (its entry's kdh-kernel.ini) is the one
 * `gcc --version` names now. */
static gboolean same_compiler(const KdhKernel *k)
{
	const char *argv[] = {"gcc", "--version", NULL};
	g_autofree char *meta = g_build_filename(k->root, KDH_KERNEL_META, NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *built_with = NULL, *now = NULL;

	if (!g_key_file_load_from_file(kf, meta, G_KEY_FILE_NONE, NULL) ||
	    !(built_with = g_key_file_get_string(kf, "kernel", "compiler", NULL)) ||
	    !kdh_run(argv, NULL, &now, NULL))
		return FALSE;
	now[strcspn(now, "\n")] = '\0';
	return g_str_equal(now, built_with);
}

/* Makes the object tree OBJ (locked by the caller) hold K again: K's
 * .config and the same build kdh_kernel_build runs (bzImage and modules),
 * which recompiles what the configurations differ in and leaves the
 * Module.symvers a module build needs. */
static gboolean reprepare(const char *obj, const KdhKernel *k, GError **error)
{
	static const char *const env[] = {
	    "ARCH", "x86_64", "KBUILD_BUILD_USER", "kdh", "KBUILD_BUILD_HOST", "kdh", NULL};
	g_autofree char *config = g_build_filename(obj, ".config", NULL);
	g_autofree char *jobs = g_strdup_printf("-j%u", g_get_num_processors());
	const char *configure[] = {"make", "-C", obj, "olddefconfig", NULL};
	const char *build[] = {"make", "-C", obj, jobs, "bzImage", "modules", NULL};
	KdhRunOptions opts = {.env = env, .merge_stderr = TRUE};

	if (!kdh_copy_file(k->config, config, 0644, error) ||
	    !kdh_run_full(configure, &opts, NULL, NULL, error) ||
	    !kdh_run_full(build, &opts, NULL, NULL, error)) {
		g_prefix_error(error, "rebuilding %s's object tree %s: ", k->release, obj);
		return FALSE;
	}
	if (!obj_holds(obj, k)) {
		g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_FAILED,
		            "rebuilding %s's object tree %s with its .config gave another release "
		            "or configuration",
		            k->release, obj);
		return FALSE;
	}
	return TRUE;
}

/* kdh keeps one object tree per source tree and toolchain, not per
 * configuration: the kernel built there last owns it.  A module built
 * against it fits K only while it holds K's .config and release; when it
 * holds another kernel's, it is rebuilt with K's configuration (minutes,
 * once per kernel: the module is cached) rather than refused, since kdh's
 * own builds share trees all the time.  The tree is locked (as a kernel
 * build locks it) while in use, so no build changes it meanwhile. */
static KdhBuildTree *built_tree(const KdhKernel *k, GError **error)
{
	g_autofree char *kernels = kernels_dir(k);
	g_autofree char *kver = NULL, *prefix = NULL, *source = NULL;
	g_autoptr(GDir) d = NULL;
	const char *id_hash = strrchr(k->id, '-');
	const char *name;
	gboolean other_sources = FALSE, other_compiler = FALSE;

	if (!g_str_has_prefix(k->id, "build-") || !id_hash || id_hash < k->id + strlen("build-")) {
		g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_BUILD_TREE,
		            "kernel %s: not an id kdh's builds make", k->id);
		return NULL;
	}
	kver = g_strndup(k->id + strlen("build-"), id_hash - k->id - strlen("build-"));
	prefix = g_strdup_printf(".obj-%s-", kver);
	source = source_tree(k, kernels);
	d = g_dir_open(kernels, 0, error);
	if (!d)
		return NULL;
	while ((name = g_dir_read_name(d))) {
		g_autofree char *obj = NULL, *lock_path = NULL, *link = NULL, *link_path = NULL;
		int lock;

		if (!g_str_has_prefix(name, prefix))
			continue;
		obj = g_build_filename(kernels, name, NULL);
		lock_path = g_strdup_printf("%s/.lock-obj-%s", kernels, name + strlen(".obj-"));
		link_path = g_build_filename(obj, "source", NULL);
		lock = kdh_lock(lock_path, error);
		if (lock < 0)
			return NULL;
		if (obj_holds(obj, k))
			return tree_new(g_steal_pointer(&obj), lock);
		/* Another kernel's now: K's if it was built from this tree. */
		link = g_file_read_link(link_path, NULL);
		if (!link || !source || !g_str_equal(link, source)) {
			other_sources = TRUE;
		} else if (!same_compiler(k)) {
			other_compiler = TRUE;
		} else if (reprepare(obj, k, error)) {
			return tree_new(g_steal_pointer(&obj), lock);
		} else {
			kdh_unlock(lock);
			return NULL;
		}
		kdh_unlock(lock);
	}
	g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_BUILD_TREE,
	            "kernel %s has no build tree: %s", k->ref ? k->ref : k->id,
	            other_compiler  ? "its object tree holds another configuration now, and the "
	                              "compiler that built the kernel is no longer the host's gcc"
	            : other_sources ? "the object trees of its version (.obj-*) are of other "
	                              "sources"
	                            : "its object tree (.obj-*) is gone from the cache");
	return NULL;
}

/* A real folder (never a link: an imported package's build link points
 * into the builder's or this host's /usr/src) with a Makefile. */
static KdhBuildTree *imported_tree(const KdhKernel *k, GError **error)
{
	g_autofree char *build = g_build_filename(k->modules_dir, "build", NULL);
	g_autofree char *makefile = g_build_filename(build, "Makefile", NULL);
	GStatBuf st;

	if (g_lstat(build, &st) == 0 && S_ISDIR(st.st_mode) &&
	    g_file_test(makefile, G_FILE_TEST_IS_REGULAR))
		return tree_new(g_steal_pointer(&build), -1);
	g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_BUILD_TREE,
	            "imported kernel %s has no build tree: import a folder or package that has "
	            "lib/modules/%s/build as a folder with the kernel's Makefile, .config and "
	            "Module.symvers (what `make modules_prepare` leaves, or a linux-headers tree)",
	            k->ref ? k->ref : k->id, k->release);
	return NULL;
}

KdhBuildTree *kdh_kernel_build_tree(const KdhKernel *k, GError **error)
{
	if (g_strcmp0(k->source, "debian") == 0)
		return debian_tree(k, error);
	if (g_strcmp0(k->source, "build") == 0)
		return built_tree(k, error);
	return imported_tree(k, error);
}
