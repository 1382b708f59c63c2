/* The kernel cache: entries, their metadata, resolving a scenario's ref,
 * listing.  Each source (debian.c, build.c, import.c) makes entries. */
#include "kernel/internal.h"
#include "util/util.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

KDH_DEFINE_QUARK("kdh-kernel-error-quark", kdh_kernel_error)

void kdh_kernel_free(KdhKernel *k)
{
	if (!k)
		return;
	g_free(k->ref);
	g_free(k->release);
	g_free(k->package);
	g_free(k->version);
	g_free(k->root);
	g_free(k->vmlinuz);
	g_free(k->config);
	g_free(k->modules_dir);
	g_free(k->id);
	g_free(k->source);
	g_free(k->system_map);
	g_free(k->vmlinux);
	g_free(k);
}

char *kernel_cache_kernels(const char *cache_dir, GError **error)
{
	g_autofree char *kernels = g_build_filename(cache_dir, "kernels", NULL);

	if (g_mkdir_with_parents(kernels, 0755) != 0) {
		int saved = errno;
		g_set_error(error, KDH_KERNEL_ERROR, 0, "cannot create %s: %s", kernels,
		            g_strerror(saved));
		return NULL;
	}
	return g_steal_pointer(&kernels);
}

const KdhUnpackOptions kernel_package_limits = {
    .max_bytes = (guint64)2 << 30,
    .max_entries = 100000,
};

gboolean kernel_release_check(const char *release, const char *where, GError **error)
{
	size_t len = release ? strlen(release) : 0;
	gboolean ok = len > 0 && len <= 64 && g_ascii_isalnum(release[0]);

	for (size_t i = 0; ok && i < len; i++)
		ok = g_ascii_isalnum(release[i]) || strchr("._+~-", release[i]);
	if (!ok) {
		g_autofree char *shown = g_strescape(release ? release : "", NULL);
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            "%s: kernel release \"%.80s\" is not a release name (1-64 of "
		            "A-Z a-z 0-9 . _ + ~ -, starting with a letter or digit)",
		            where, shown);
	}
	return ok;
}

gboolean kernel_entry_write_meta(const char *root, const char *const *keys,
                                 const char *const *values, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *path = g_build_filename(root, KDH_KERNEL_META, NULL);

	for (guint i = 0; keys[i]; i++) {
		if (values[i])
			g_key_file_set_string(kf, "kernel", keys[i], values[i]);
	}
	return g_key_file_save_to_file(kf, path, error);
}

/* An entry made before metadata existed: Debian's <package>_<version>. */
static gboolean legacy_debian(const char *id, char **package, char **version, char **release)
{
	const char *sep = strchr(id, '_');
	const char *prefix = "linux-image-", *suffix = "-unsigned";
	g_autofree char *pkg = NULL;

	if (!sep || !g_str_has_prefix(id, prefix))
		return FALSE;
	pkg = g_strndup(id, sep - id);
	if (!g_str_has_suffix(pkg, suffix))
		return FALSE;
	*release = g_strndup(pkg + strlen(prefix), strlen(pkg) - strlen(prefix) - strlen(suffix));
	*version = g_strdup(sep + 1);
	*package = g_steal_pointer(&pkg);
	return TRUE;
}

KdhKernel *kernel_entry_load(const char *kernels, const char *id, const char *ref, GError **error)
{
	g_autoptr(KdhKernel) k = g_new0(KdhKernel, 1);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *meta = NULL, *vmlinuz_name = NULL, *config_name = NULL;
	g_autofree char *map_name = NULL, *vmlinux_name = NULL, *map = NULL, *vmlinux = NULL;

	k->id = g_strdup(id);
	k->root = g_build_filename(kernels, id, NULL);
	meta = g_build_filename(k->root, KDH_KERNEL_META, NULL);
	if (g_key_file_load_from_file(kf, meta, G_KEY_FILE_NONE, NULL)) {
		k->source = g_key_file_get_string(kf, "kernel", "source", NULL);
		k->release = g_key_file_get_string(kf, "kernel", "release", NULL);
		k->package = g_key_file_get_string(kf, "kernel", "package", NULL);
		k->version = g_key_file_get_string(kf, "kernel", "version", NULL);
		k->ref = g_key_file_get_string(kf, "kernel", "ref", NULL);
	} else if (legacy_debian(id, &k->package, &k->version, &k->release)) {
		k->source = g_strdup("debian");
		k->ref = g_strdup_printf("debian:%s", k->release);
	}
	if (!k->release || !k->source) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "cache entry %s has no readable %s",
		            k->root, KDH_KERNEL_META);
		return NULL;
	}
	if (!kernel_release_check(k->release, meta, error))
		return NULL;
	if (ref) {
		g_free(k->ref);
		k->ref = g_strdup(ref);
	}
	vmlinuz_name = g_strdup_printf("vmlinuz-%s", k->release);
	config_name = g_strdup_printf("config-%s", k->release);
	map_name = g_strdup_printf("System.map-%s", k->release);
	vmlinux_name = g_strdup_printf("vmlinux-%s", k->release);
	k->vmlinuz = g_build_filename(k->root, "boot", vmlinuz_name, NULL);
	k->config = g_build_filename(k->root, "boot", config_name, NULL);
	k->modules_dir = g_build_filename(k->root, "lib", "modules", k->release, NULL);
	map = g_build_filename(k->root, "boot", map_name, NULL);
	if (g_file_test(map, G_FILE_TEST_IS_REGULAR))
		k->system_map = g_steal_pointer(&map);
	vmlinux = g_build_filename(k->root, "boot", vmlinux_name, NULL);
	if (!g_file_test(vmlinux, G_FILE_TEST_IS_REGULAR)) {
		/* Debian's debug vmlinux is fetched on request, into its own entry. */
		g_autofree char *dbg_name = g_strdup_printf("%s.dbg", id);
		g_free(vmlinux);
		vmlinux = g_build_filename(kernels, dbg_name, vmlinux_name, NULL);
	}
	if (g_file_test(vmlinux, G_FILE_TEST_IS_REGULAR))
		k->vmlinux = g_steal_pointer(&vmlinux);
	if (!g_file_test(k->vmlinuz, G_FILE_TEST_IS_REGULAR) ||
	    !g_file_test(k->modules_dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            "cache entry %s holds no kernel %s (no %s or no %s)", k->root,
		            k->release, k->vmlinuz, k->modules_dir);
		return NULL;
	}
	return g_steal_pointer(&k);
}

/* Tells whether ENTRY (a folder name under kernels/) is a published entry
 * rather than a temporary folder, a lock, a log or a debug or headers
 * companion. */
static gboolean is_entry_name(const char *name)
{
	return name[0] != '.' && !g_str_equal(name, "logs") && !g_str_has_suffix(name, ".dbg") &&
	       !g_str_has_suffix(name, ".headers");
}

/* The cached entry whose id is PREFIX-<KEY> or starts with PREFIX-<KEY>: the
 * id a user copied from `kdh kernel list`, or an unambiguous beginning. */
static KdhKernel *find_entry(const char *kernels, const char *prefix, const char *key,
                             const char *ref, GError **error)
{
	g_autoptr(GDir) dir = g_dir_open(kernels, 0, NULL);
	g_autofree char *want = g_strdup_printf("%s-%s", prefix, key);
	g_autofree char *found = NULL;
	const char *name;
	guint matches = 0;

	while (dir && (name = g_dir_read_name(dir))) {
		if (!is_entry_name(name))
			continue;
		if (g_str_equal(name, want)) {
			g_free(found);
			found = g_strdup(name);
			matches = 1;
			break;
		}
		if (g_str_has_prefix(name, want)) {
			g_free(found);
			found = g_strdup(name);
			matches++;
		}
	}
	if (matches != 1) {
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            matches
		                ? "kernel ref '%s' matches %u cached kernels: give more of the id"
		                : "kernel ref '%s': no such kernel in the cache (%u found; see "
		                  "`kdh kernel list`)",
		            ref, matches);
		return NULL;
	}
	/* No recipe makes this one again: a damaged entry is refused, never booted. */
	if (!kdh_cache_entry_check(kernels, found, error)) {
		g_prefix_error(error, "kernel ref '%s': build or import it again: ", ref);
		return NULL;
	}
	return kernel_entry_load(kernels, found, ref, error);
}

/* "build:<source>+<frag>,<frag>": build on demand. */
static KdhKernel *resolve_build_spec(const char *ref, const char *spec, const char *cache_dir,
                                     KdhKernelProgressFunc progress, gpointer progress_data,
                                     GError **error)
{
	const char *plus = strchr(spec, '+');
	g_autofree char *source = g_strndup(spec, plus - spec);
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	KdhKernelBuildOptions opts = {0};
	KdhKernel *k;

	if (!kdh_kconfig_fragment_paths(plus + 1, paths, error)) {
		g_prefix_error(error, "kernel ref '%s': ", ref);
		return NULL;
	}
	g_ptr_array_add(paths, NULL);
	opts.source = source;
	opts.fragments = (const char *const *)paths->pdata;
	opts.progress = progress;
	opts.progress_data = progress_data;
	k = kdh_kernel_build(&opts, cache_dir, error);
	if (k) {
		g_free(k->ref);
		k->ref = g_strdup(ref);
	}
	return k;
}

KdhKernel *kdh_kernel_resolve(const char *ref, const char *cache_dir, GError **error)
{
	return kdh_kernel_resolve_progress(ref, cache_dir, NULL, NULL, error);
}

KdhKernel *kdh_kernel_resolve_progress(const char *ref, const char *cache_dir,
                                       KdhKernelProgressFunc progress, gpointer progress_data,
                                       GError **error)
{
	g_autofree char *kernels = NULL;

	if (g_str_has_prefix(ref, "debian:"))
		return kdh_kernel_fetch_debian(ref, FALSE, cache_dir, error);
	kernels = kernel_cache_kernels(cache_dir, error);
	if (!kernels)
		return NULL;
	if (g_str_has_prefix(ref, "build:")) {
		const char *spec = ref + strlen("build:");
		if (strchr(spec, '+'))
			return resolve_build_spec(ref, spec, cache_dir, progress, progress_data,
			                          error);
		if (g_str_has_prefix(spec, "build-"))
			spec += strlen("build-");
		return find_entry(kernels, "build", spec, ref, error);
	}
	if (g_str_has_prefix(ref, "import:")) {
		const char *what = ref + strlen("import:");
		KdhKernel *k;
		if (g_file_test(what, G_FILE_TEST_EXISTS)) {
			k = kdh_kernel_import(what, cache_dir, error);
			if (k) {
				g_free(k->ref);
				k->ref = g_strdup(ref);
			}
			return k;
		}
		if (g_str_has_prefix(what, "import-"))
			what += strlen("import-");
		return find_entry(kernels, "import", what, ref, error);
	}
	g_set_error(error, KDH_KERNEL_ERROR, 0,
	            "kernel ref '%s': expected debian:<abi>, build:<id>, "
	            "build:<source>+<fragment>,..., or import:<path or id>",
	            ref);
	return NULL;
}

static gint compare_ids(gconstpointer a, gconstpointer b)
{
	const KdhKernel *ka = *(KdhKernel *const *)a, *kb = *(KdhKernel *const *)b;
	return g_strcmp0(ka->id, kb->id);
}

GPtrArray *kdh_kernel_list(const char *cache_dir, GError **error)
{
	g_autofree char *kernels = kernel_cache_kernels(cache_dir, error);
	g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_kernel_free);
	g_autoptr(GDir) dir = NULL;
	const char *name;

	if (!kernels)
		return NULL;
	dir = g_dir_open(kernels, 0, error);
	if (!dir)
		return NULL;
	while ((name = g_dir_read_name(dir))) {
		KdhKernel *k;
		if (!is_entry_name(name))
			continue;
		/* A folder that does not load is not an entry: skip it. */
		k = kernel_entry_load(kernels, name, NULL, NULL);
		if (k)
			g_ptr_array_add(list, k);
	}
	g_ptr_array_sort(list, compare_ids);
	return g_steal_pointer(&list);
}

/* Bytes PATH takes on disk, below it included; symlinks not followed. */
static guint64 disk_usage(const char *path)
{
	GStatBuf st;
	guint64 total;

	if (g_lstat(path, &st) != 0)
		return 0;
	total = (guint64)st.st_blocks * 512;
	if (S_ISDIR(st.st_mode)) {
		g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
		const char *name;
		while (d && (name = g_dir_read_name(d))) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			total += disk_usage(child);
		}
	}
	return total;
}

guint64 kdh_kernel_size(const KdhKernel *k)
{
	g_autofree char *dbg = g_strdup_printf("%s.dbg", k->root);
	g_autofree char *headers = g_strdup_printf("%s.headers", k->root);

	return disk_usage(k->root) + disk_usage(dbg) + disk_usage(headers);
}

char *kdh_bzimage_release(const char *path, GError **error)
{
	g_autofree guint8 *buf = g_malloc(0x10000);
	FILE *f = fopen(path, "rb");
	size_t n;
	guint off;
	const char *s, *end;
	g_autofree char *release = NULL;

	if (!f) {
		int saved = errno;
		g_set_error(error, KDH_KERNEL_ERROR, 0, "opening %s: %s", path, g_strerror(saved));
		return NULL;
	}
	n = fread(buf, 1, 0x10000, f);
	fclose(f);
	/* The x86 boot protocol: "HdrS" at 0x202, kernel_version (an offset
	 * from 0x200) at 0x20e, pointing at "<release> (<builder>) #..." */
	if (n < 0x210 || memcmp(buf + 0x202, "HdrS", 4) != 0) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "%s is not an x86 bzImage (no HdrS header)",
		            path);
		return NULL;
	}
	off = (guint)(buf[0x20e] | buf[0x20f] << 8) + 0x200;
	if (off >= n) {
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            "%s: kernel_version offset beyond the header", path);
		return NULL;
	}
	s = (const char *)buf + off;
	end = memchr(s, ' ', n - off);
	if (!end)
		end = memchr(s, '\0', n - off);
	if (!end || end == s) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "%s: no release in the header", path);
		return NULL;
	}
	/* The release names files and folders and is depmod's argument: a
	 * crafted header must not make it "..", "--help" or a path. */
	release = g_strndup(s, MIN(end - s, 200));
	if (!kernel_release_check(release, path, error))
		return NULL;
	return g_steal_pointer(&release);
}
