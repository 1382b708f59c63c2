/* Kernels users bring: .deb, .rpm, Arch packages, folders.  Whatever the
 * layout, the entry ends in the one shape kernel.h describes. */
#include "kernel/internal.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

/* Decompresses every .ko.xz/.ko.zst/.ko.gz below DIR in place (recursively):
 * the mini guest's busybox insmod reads plain .ko only. */
static gboolean decompress_modules(const char *dir, GError **error)
{
	static const char *const suffixes[] = {".ko.xz", ".ko.zst", ".ko.gz"};
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_SYMLINK))
			continue;
		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			if (!decompress_modules(path, error))
				return FALSE;
			continue;
		}
		for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++) {
			g_autofree char *plain = NULL;
			if (!g_str_has_suffix(name, suffixes[i]))
				continue;
			plain = g_strndup(path, strlen(path) - strlen(suffixes[i]) + strlen(".ko"));
			if (!kdh_decompress_file(path, plain, KERNEL_MODULE_MAX_BYTES, error)) {
				g_prefix_error(error, "module: ");
				return FALSE;
			}
			g_unlink(path);
		}
	}
	return TRUE;
}

gboolean kernel_finish_modules(const char *root, const char *release, GError **error)
{
	g_autofree char *dir = g_build_filename(root, "lib", "modules", release, NULL);
	const char *depmod[] = {"depmod", "-b", root, "--", release, NULL};
	const char *needed[] = {"modules.builtin", "modules.order"};

	if (!kernel_release_check(release, root, error))
		return FALSE;
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		int saved = errno;
		g_set_error(error, KDH_KERNEL_ERROR, 0, "cannot create %s: %s", dir,
		            g_strerror(saved));
		return FALSE;
	}
	if (!decompress_modules(dir, error))
		return FALSE;
	/* build and source point at the build tree on the builder's machine. */
	for (guint i = 0; i < 2; i++) {
		g_autofree char *link = g_build_filename(dir, i ? "source" : "build", NULL);
		if (g_file_test(link, G_FILE_TEST_IS_SYMLINK))
			g_unlink(link);
	}
	for (guint i = 0; i < G_N_ELEMENTS(needed); i++) {
		g_autofree char *path = g_build_filename(dir, needed[i], NULL);
		if (!g_file_test(path, G_FILE_TEST_EXISTS) &&
		    !g_file_set_contents(path, "", 0, error))
			return FALSE;
	}
	/* depmod rewrites modules.dep for the plain .ko names; a folder
	 * without modules gets an empty one, which the image builder wants. */
	if (!kdh_run(depmod, NULL, NULL, error)) {
		g_prefix_error(error, "depmod for %s: ", release);
		return FALSE;
	}
	return TRUE;
}

/* SHA-256 of PATH's content, or for a folder of every file's relative path
 * and content, in sorted order: the import's identity. */
static gboolean hash_path(GChecksum *sum, const char *path, const char *rel, GError **error)
{
	if (g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
		g_autofree char *target = g_file_read_link(path, NULL);
		g_checksum_update(sum, (const guchar *)rel, -1);
		g_checksum_update(sum, (const guchar *)(target ? target : ""), -1);
		return TRUE;
	}
	if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_autoptr(GPtrArray) names = kdh_dir_names_sorted(path, error);
		if (!names)
			return FALSE;
		for (guint i = 0; i < names->len; i++) {
			const char *n = g_ptr_array_index(names, i);
			g_autofree char *child = g_build_filename(path, n, NULL);
			g_autofree char *child_rel =
			    rel[0] ? g_build_filename(rel, n, NULL) : g_strdup(n);
			if (!hash_path(sum, child, child_rel, error))
				return FALSE;
		}
		return TRUE;
	}
	FILE *f = fopen(path, "rb");
	guchar buf[1 << 16];
	size_t n;
	if (!f) {
		int saved = errno;
		g_set_error(error, KDH_KERNEL_ERROR, 0, "reading %s: %s", path, g_strerror(saved));
		return FALSE;
	}
	g_checksum_update(sum, (const guchar *)rel, strlen(rel) + 1);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		g_checksum_update(sum, buf, n);
	fclose(f);
	return TRUE;
}

/* What a search of an unpacked package or a folder found. */
typedef struct {
	GPtrArray *images;      /* bzImage candidates */
	GPtrArray *module_dirs; /* lib/modules/<release> candidates */
	GPtrArray *configs;
	GPtrArray *maps;
	GPtrArray *vmlinux;
} Found;

static void found_clear(Found *f)
{
	g_ptr_array_unref(f->images);
	g_ptr_array_unref(f->module_dirs);
	g_ptr_array_unref(f->configs);
	g_ptr_array_unref(f->maps);
	g_ptr_array_unref(f->vmlinux);
}

static gboolean is_module_dir(const char *path, const char *name)
{
	const char *markers[] = {"modules.order", "modules.builtin", "modules.dep", "kernel"};

	if (!g_ascii_isdigit(name[0]))
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(markers); i++) {
		g_autofree char *m = g_build_filename(path, markers[i], NULL);
		if (g_file_test(m, G_FILE_TEST_EXISTS))
			return TRUE;
	}
	return FALSE;
}

static gboolean file_starts_with(const char *path, const char *prefix, gsize len)
{
	char buf[16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return FALSE;
	n = fread(buf, 1, len, f);
	fclose(f);
	return n == len && memcmp(buf, prefix, len) == 0;
}

/* A kernel .config has CONFIG_ lines near its top. */
static gboolean looks_like_config(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return FALSE;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strlen(buf) == n && strstr(buf, "CONFIG_") != NULL;
}

static void search(const char *dir, guint depth, Found *f)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	if (!d || depth > 8)
		return;
	while ((name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_SYMLINK))
			continue;
		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			if (is_module_dir(path, name))
				g_ptr_array_add(f->module_dirs, g_strdup(path));
			/* Not into a module tree's thousands of drivers. */
			if (!g_str_equal(name, "kernel") && !g_str_equal(name, "doc"))
				search(path, depth + 1, f);
			continue;
		}
		if (g_str_has_prefix(name, "vmlinuz") || g_str_equal(name, "bzImage")) {
			g_ptr_array_add(f->images, g_strdup(path));
		} else if (g_str_has_prefix(name, "System.map")) {
			g_ptr_array_add(f->maps, g_strdup(path));
		} else if (g_str_has_prefix(name, "config") || g_str_equal(name, ".config")) {
			if (looks_like_config(path))
				g_ptr_array_add(f->configs, g_strdup(path));
		} else if (g_str_has_prefix(name, "vmlinux") && file_starts_with(path,
		                                                                 "\x7f"
		                                                                 "ELF",
		                                                                 4)) {
			g_ptr_array_add(f->vmlinux, g_strdup(path));
		}
	}
}

/* The candidate whose file name or folder mentions RELEASE, else the only
 * one, else NULL. */
static const char *pick(GPtrArray *candidates, const char *release)
{
	for (guint i = 0; i < candidates->len; i++) {
		const char *p = g_ptr_array_index(candidates, i);
		if (strstr(p, release))
			return p;
	}
	return candidates->len == 1 ? g_ptr_array_index(candidates, 0) : NULL;
}

/* Makes the entry ROOT from what FROM (an unpacked package or the user's
 * folder) holds.  Regular files only: a symlink would point at the
 * builder's files, or at the host's when the package is hostile. */
static gboolean assemble(const char *from, const char *label, const char *root, char **release_out,
                         GError **error)
{
	Found f = {g_ptr_array_new_with_free_func(g_free), g_ptr_array_new_with_free_func(g_free),
	           g_ptr_array_new_with_free_func(g_free), g_ptr_array_new_with_free_func(g_free),
	           g_ptr_array_new_with_free_func(g_free)};
	g_autofree char *release = NULL, *image = NULL, *boot = NULL;
	const char *modules, *config, *map, *vmlinux;
	g_autoptr(GError) why = NULL;
	gboolean ok = FALSE;

	search(from, 0, &f);
	for (guint i = 0; i < f.images->len && !release; i++) {
		g_clear_error(&why);
		release = kdh_bzimage_release(g_ptr_array_index(f.images, i), &why);
		if (release)
			image = g_strdup(g_ptr_array_index(f.images, i));
	}
	if (!release) {
		g_set_error(
		    error, KDH_KERNEL_ERROR, 0,
		    "%s holds no x86 kernel image (vmlinuz*, bzImage with a boot header)%s%s",
		    label, why ? ": " : "", why ? why->message : "");
		goto out;
	}
	/* Prefer the image whose name says the modules' release. */
	for (guint i = 0; i < f.module_dirs->len; i++) {
		g_autofree char *base = g_path_get_basename(g_ptr_array_index(f.module_dirs, i));
		g_autofree char *r = NULL;
		const char *img = pick(f.images, base);
		if (img && (r = kdh_bzimage_release(img, NULL)) && g_str_equal(r, base)) {
			g_free(release);
			g_free(image);
			release = g_steal_pointer(&r);
			image = g_strdup(img);
			break;
		}
	}
	modules = NULL;
	for (guint i = 0; i < f.module_dirs->len; i++) {
		g_autofree char *base = g_path_get_basename(g_ptr_array_index(f.module_dirs, i));
		if (g_str_equal(base, release))
			modules = g_ptr_array_index(f.module_dirs, i);
	}
	if (!modules && f.module_dirs->len > 0) {
		g_autofree char *base = g_path_get_basename(g_ptr_array_index(f.module_dirs, 0));
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            "%s: the kernel image is %s but the modules are for %s", label, release,
		            base);
		goto out;
	}
	config = pick(f.configs, release);
	map = pick(f.maps, release);
	vmlinux = pick(f.vmlinux, release);

	boot = g_build_filename(root, "boot", NULL);
	if (g_mkdir_with_parents(boot, 0755) != 0) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "cannot create %s", boot);
		goto out;
	}
	{
		g_autofree char *z = g_strdup_printf("%s/vmlinuz-%s", boot, release);
		g_autofree char *c = g_strdup_printf("%s/config-%s", boot, release);
		g_autofree char *m = g_strdup_printf("%s/System.map-%s", boot, release);
		g_autofree char *v = g_strdup_printf("%s/vmlinux-%s", boot, release);
		if (!kdh_copy_file(image, z, -1, error) ||
		    (config && !kdh_copy_file(config, c, -1, error)) ||
		    (map && !kdh_copy_file(map, m, -1, error)) ||
		    (vmlinux && !kdh_copy_file(vmlinux, v, -1, error)))
			goto out;
	}
	if (modules) {
		g_autofree char *dest = g_build_filename(root, "lib", "modules", release, NULL);
		if (!kdh_copy_tree(modules, dest, error))
			goto out;
	}
	if (!kernel_finish_modules(root, release, error))
		goto out;
	*release_out = g_steal_pointer(&release);
	ok = TRUE;
out:
	found_clear(&f);
	return ok;
}

typedef struct {
	const char *path; /* as the user gave it */
	const char *abs;
	const char *id;
} Import;

static gboolean fill_import(const char *out, const char *scratch, gpointer data, GError **error)
{
	const Import *im = data;
	gboolean is_dir = g_file_test(im->abs, G_FILE_TEST_IS_DIR);
	g_autofree char *unpacked =
	    is_dir ? g_strdup(im->abs) : g_build_filename(scratch, "unpacked", NULL);
	g_autofree char *release = NULL, *base = g_path_get_basename(im->abs);
	g_autofree char *ref = g_strdup_printf("import:%s", im->id + strlen("import-"));
	const char *keys[] = {"source", "release", "package", "version", "ref", NULL};

	if (!is_dir && (g_mkdir(unpacked, 0755) != 0 ||
	                !kdh_unpack_package(im->path, unpacked, &kernel_package_limits, error)))
		return FALSE;
	if (!assemble(unpacked, im->path, out, &release, error))
		return FALSE;
	const char *values[] = {"import", release, base, release, ref, NULL};
	return kernel_entry_write_meta(out, keys, values, error);
}

KdhKernel *kdh_kernel_import(const char *path, const char *cache_dir, GError **error)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree char *kernels = NULL, *id = NULL, *entry = NULL;
	g_autofree char *abs = g_canonicalize_filename(path, NULL);
	Import im;

	if (!g_file_test(abs, G_FILE_TEST_EXISTS)) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "importing %s: no such file or folder",
		            path);
		return NULL;
	}
	if (!hash_path(sum, abs, "", error))
		return NULL;
	kernels = kernel_cache_kernels(cache_dir, error);
	if (!kernels)
		return NULL;
	id = g_strdup_printf("import-%.16s", g_checksum_get_string(sum));
	im = (Import){path, abs, id};
	entry = kdh_cache_entry_ensure(kernels, id, fill_import, &im, error);
	if (!entry) {
		g_prefix_error(error, "importing %s: ", path);
		return NULL;
	}
	return kernel_entry_load(kernels, id, NULL, error);
}
