/* Kernels users bring: .deb, .rpm, Arch packages, folders.  Whatever the
 * layout, the entry ends in the one shape kernel.h describes. */
#include "kernel/internal.h"
#include "util/util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

/* Decompresses every .ko.xz/.ko.zst/.ko.gz below DIR in place (recursively). */
static gboolean decompress_modules(const char *dir, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		const char *tool = NULL;
		if (g_file_test(path, G_FILE_TEST_IS_SYMLINK))
			continue;
		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			if (!decompress_modules(path, error))
				return FALSE;
			continue;
		}
		if (g_str_has_suffix(name, ".ko.xz"))
			tool = "xz";
		else if (g_str_has_suffix(name, ".ko.zst"))
			tool = "zstd";
		else if (g_str_has_suffix(name, ".ko.gz"))
			tool = "gzip";
		if (tool) {
			const char *argv[] = {tool, "-d", "-q", "-f", path, NULL};
			const char *zstd[] = {tool, "-d", "-q", "-f", "--rm", path, NULL};
			if (!kdh_run(g_str_equal(tool, "zstd") ? zstd : argv, NULL, NULL, error)) {
				g_prefix_error(error, "decompressing module %s: ", path);
				return FALSE;
			}
		}
	}
	return TRUE;
}

gboolean kernel_finish_modules(const char *root, const char *release, GError **error)
{
	g_autofree char *dir = g_build_filename(root, "lib", "modules", release, NULL);
	const char *depmod[] = {"depmod", "-b", root, release, NULL};
	const char *needed[] = {"modules.builtin", "modules.order"};

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

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
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
		g_autoptr(GDir) d = g_dir_open(path, 0, error);
		g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
		const char *name;
		if (!d)
			return FALSE;
		while ((name = g_dir_read_name(d)))
			g_ptr_array_add(names, g_strdup(name));
		g_ptr_array_sort(names, compare_names);
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

/* Unpacks the package FILE into DIR by its magic number, not its name. */
static gboolean unpack(const char *file, const char *dir, GError **error)
{
	guchar magic[8] = {0};
	FILE *f = fopen(file, "rb");
	size_t n;
	g_autofree char *qf = g_shell_quote(file), *qd = g_shell_quote(dir);
	g_autofree char *script = NULL;

	if (!f) {
		int saved = errno;
		g_set_error(error, KDH_KERNEL_ERROR, 0, "opening %s: %s", file, g_strerror(saved));
		return FALSE;
	}
	n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	if (n >= 8 && memcmp(magic, "!<arch>\n", 8) == 0)
		script = g_strdup_printf("dpkg-deb -x %s %s", qf, qd);
	else if (n >= 4 && memcmp(magic, "\xed\xab\xee\xdb", 4) == 0)
		script = g_strdup_printf("cd %s && rpm2cpio %s | cpio -idm --quiet", qd, qf);
	else if (n >= 4 && memcmp(magic, "\x28\xb5\x2f\xfd", 4) == 0)
		script = g_strdup_printf("tar --zstd -xf %s -C %s", qf, qd);
	else if (n >= 6 && memcmp(magic,
	                          "\xfd"
	                          "7zXZ",
	                          6) == 0)
		script = g_strdup_printf("tar -xJf %s -C %s", qf, qd);
	else if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
		script = g_strdup_printf("tar -xzf %s -C %s", qf, qd);
	else {
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            "%s is not a .deb, .rpm or .pkg.tar.{zst,xz,gz} (unknown magic number)",
		            file);
		return FALSE;
	}
	if (!kernel_sh(script, NULL, error)) {
		g_prefix_error(error, "unpacking %s (corrupt or truncated?): ", file);
		return FALSE;
	}
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

static gboolean assemble(const char *from, const char *label, const char *root, char **release_out,
                         GError **error)
{
	Found f = {g_ptr_array_new_with_free_func(g_free), g_ptr_array_new_with_free_func(g_free),
	           g_ptr_array_new_with_free_func(g_free), g_ptr_array_new_with_free_func(g_free),
	           g_ptr_array_new_with_free_func(g_free)};
	g_autofree char *release = NULL, *image = NULL, *boot = NULL;
	const char *modules, *config, *map, *vmlinux;
	gboolean ok = FALSE;

	search(from, 0, &f);
	for (guint i = 0; i < f.images->len && !release; i++) {
		g_autoptr(GError) why = NULL;
		release = kdh_bzimage_release(g_ptr_array_index(f.images, i), &why);
		if (release)
			image = g_strdup(g_ptr_array_index(f.images, i));
	}
	if (!release) {
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            "%s holds no x86 kernel image (vmlinuz*, bzImage with a boot header)",
		            label);
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
		if (!kernel_copy_file(image, z, error) ||
		    (config && !kernel_copy_file(config, c, error)) ||
		    (map && !kernel_copy_file(map, m, error)) ||
		    (vmlinux && !kernel_copy_file(vmlinux, v, error)))
			goto out;
	}
	if (modules) {
		g_autofree char *parent = g_build_filename(root, "lib", "modules", NULL);
		g_autofree char *qm = g_shell_quote(modules), *qp = g_shell_quote(parent);
		g_autofree char *script =
		    g_strdup_printf("mkdir -p %s && cp -a %s %s/", qp, qm, qp);
		if (!kernel_sh(script, NULL, error))
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

KdhKernel *kdh_kernel_import(const char *path, const char *cache_dir, GError **error)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree char *kernels = NULL, *id = NULL, *entry = NULL, *lock_path = NULL;
	g_autofree char *abs = g_canonicalize_filename(path, NULL);
	gboolean is_dir = g_file_test(abs, G_FILE_TEST_IS_DIR);
	int lock;

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
	entry = g_build_filename(kernels, id, NULL);
	if (g_file_test(entry, G_FILE_TEST_IS_DIR))
		return kernel_entry_load(kernels, id, NULL, error);

	lock_path = g_build_filename(kernels, ".lock", NULL);
	lock = kdh_lock(lock_path, error);
	if (lock < 0)
		return NULL;
	if (!g_file_test(entry, G_FILE_TEST_IS_DIR)) {
		g_autofree char *tmp = kernel_make_tmp(kernels, "import", TRUE, error);
		g_autofree char *root = NULL, *unpacked = NULL, *release = NULL;
		g_autofree char *ref = g_strdup_printf("import:%s", id + strlen("import-"));
		gboolean ok = tmp != NULL;
		if (ok) {
			root = g_build_filename(tmp, "root", NULL);
			unpacked = is_dir ? g_strdup(abs) : g_build_filename(tmp, "unpacked", NULL);
			ok = (is_dir ||
			      (g_mkdir(unpacked, 0755) == 0 && unpack(abs, unpacked, error))) &&
			     assemble(unpacked, path, root, &release, error);
		}
		if (ok) {
			const char *keys[] = {"source",  "release", "package",
			                      "version", "ref",     NULL};
			g_autofree char *base = g_path_get_basename(abs);
			const char *values[] = {"import", release, base, release, ref, NULL};
			ok = kernel_entry_write_meta(root, keys, values, error) &&
			     kdh_publish_dir(root, entry, error);
		}
		if (tmp)
			kdh_rm_rf(tmp);
		if (!ok) {
			g_prefix_error(error, "importing %s: ", path);
			kdh_unlock(lock);
			return NULL;
		}
	}
	kdh_unlock(lock);
	return kernel_entry_load(kernels, id, NULL, error);
}
