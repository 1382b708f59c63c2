/* The mini initramfs: staging folder → cpio (GNU cpio, newc) → cache. */
#include "image/image.h"
#include "util/util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

KDH_DEFINE_QUARK("kdh-image-error-quark", kdh_image_error)

/* Bumped whenever the layout of the image changes, so old cache entries are
 * not reused. */
#define MINI_LAYOUT 2

const char *const kdh_mini_modules[] = {"virtio_pci", "virtio_blk", "ext4", "crc32c_generic", NULL};

/* Host binaries copied into the guest, and where they go. */
static const struct {
	const char *host;
	const char *guest;
} binaries[] = {
    {"/bin/busybox", "bin/busybox"},
    {"/sbin/kexec", "sbin/kexec"},
    {"/usr/bin/makedumpfile", "bin/makedumpfile"},
};

/* "kernel/fs/ext4/ext4.ko" -> "ext4"; modprobe treats '-' and '_' alike. */
static char *module_name(const char *path)
{
	g_autofree char *base = g_path_get_basename(path);
	char *dot = strstr(base, ".ko");

	if (dot)
		*dot = '\0';
	g_strdelimit(base, "-", '_');
	return g_steal_pointer(&base);
}

typedef struct {
	GHashTable *deps;    /* name -> GStrv: path first, then dependency paths */
	GHashTable *builtin; /* name set */
	GHashTable *done;    /* name set, of what is in ORDER */
	GPtrArray *order;    /* paths */
} ModuleGraph;

static gboolean visit(ModuleGraph *g, const char *name, guint depth, GError **error)
{
	char **entry;

	if (g_hash_table_contains(g->done, name) || g_hash_table_contains(g->builtin, name))
		return TRUE;
	entry = g_hash_table_lookup(g->deps, name);
	if (!entry) {
		g_set_error(error, KDH_IMAGE_ERROR, 0,
		            "module %s is neither in modules.dep nor built in", name);
		return FALSE;
	}
	if (depth > 64) {
		g_set_error(error, KDH_IMAGE_ERROR, 0, "modules.dep: dependency cycle at %s", name);
		return FALSE;
	}
	for (char **dep = entry + 1; *dep; dep++) {
		g_autofree char *dep_name = module_name(*dep);
		if (!visit(g, dep_name, depth + 1, error))
			return FALSE;
	}
	g_hash_table_add(g->done, g_strdup(name));
	g_ptr_array_add(g->order, g_strdup(entry[0]));
	return TRUE;
}

GPtrArray *kdh_modules_load_order(const char *modules_dir, const char *const *wanted,
                                  GError **error)
{
	g_autofree char *dep_path = g_build_filename(modules_dir, "modules.dep", NULL);
	g_autofree char *builtin_path = g_build_filename(modules_dir, "modules.builtin", NULL);
	g_autofree char *dep_text = NULL, *builtin_text = NULL;
	g_autoptr(GHashTable) deps =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_strfreev);
	g_autoptr(GHashTable) builtin =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func(g_free);
	ModuleGraph g = {deps, builtin, done, order};

	if (!g_file_get_contents(dep_path, &dep_text, NULL, error))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(dep_text, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *colon = strchr(*l, ':');
		if (!colon)
			continue;
		*colon = '\0';
		g_autofree char *joined = g_strdup_printf("%s %s", *l, colon + 1);
		char **fields = g_strsplit_set(g_strstrip(joined), " \t", -1);
		/* Drop the empty fields that runs of blanks leave. */
		guint n = 0;
		for (guint i = 0; fields[i]; i++) {
			if (*fields[i])
				fields[n++] = fields[i];
			else
				g_free(fields[i]);
		}
		fields[n] = NULL;
		g_hash_table_insert(deps, module_name(*l), fields);
	}
	if (g_file_get_contents(builtin_path, &builtin_text, NULL, NULL)) {
		g_auto(GStrv) blines = g_strsplit(builtin_text, "\n", -1);
		for (char **l = blines; *l; l++) {
			if (**l)
				g_hash_table_add(builtin, module_name(*l));
		}
	}
	for (const char *const *w = wanted; *w; w++) {
		if (!visit(&g, *w, 0, error)) {
			g_prefix_error(error, "%s: ", dep_path);
			return NULL;
		}
	}
	return g_steal_pointer(&order);
}

static gboolean copy_file(const char *from, const char *to, int mode, GError **error)
{
	g_autofree char *data = NULL;
	gsize len;
	g_autofree char *dir = g_path_get_dirname(to);

	g_mkdir_with_parents(dir, 0755);
	if (!g_file_get_contents(from, &data, &len, error) ||
	    !g_file_set_contents_full(to, data, len, G_FILE_SET_CONTENTS_NONE, mode, error)) {
		g_prefix_error(error, "copying %s: ", from);
		return FALSE;
	}
	return TRUE;
}

/* The shared libraries (and the loader) BINARY needs, as ldd resolves them. */
static gboolean add_libraries(const char *binary, const char *root, GError **error)
{
	const char *argv[] = {"ldd", binary, NULL};
	g_autofree char *out = NULL;

	g_autoptr(GError) local = NULL;

	if (!kdh_run(argv, NULL, &out, &local)) {
		/* busybox-static: nothing to copy. */
		if (strstr(local->message, "not a dynamic executable"))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *path = strchr(*l, '/');
		if (!path)
			continue; /* linux-vdso.so.1 has no file */
		char *end = strchr(path, ' ');
		if (end)
			*end = '\0';
		g_autofree char *dest = g_build_filename(root, path, NULL);
		if (!g_file_test(dest, G_FILE_TEST_EXISTS) && !copy_file(path, dest, 0755, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean add_busybox_links(const char *root, GError **error)
{
	const char *argv[] = {"/bin/busybox", "--list", NULL};
	g_autofree char *out = NULL;

	if (!kdh_run(argv, NULL, &out, error))
		return FALSE;
	g_auto(GStrv) applets = g_strsplit(out, "\n", -1);
	for (char **a = applets; *a; a++) {
		/* "busybox" is in the list too: a link by that name would replace
		 * the binary with a loop to itself. */
		if (!**a || strchr(*a, '/') || g_str_equal(*a, "busybox"))
			continue;
		g_autofree char *link = g_build_filename(root, "bin", *a, NULL);
		if (!g_file_test(link, G_FILE_TEST_EXISTS) && symlink("busybox", link) != 0) {
			int saved = errno;
			g_set_error(error, KDH_IMAGE_ERROR, 0, "linking %s: %s", link,
			            g_strerror(saved));
			return FALSE;
		}
	}
	return TRUE;
}

/* Writes DIR as a newc archive to OUT, or after what OUT holds when APPEND:
 * the kernel unpacks concatenated archives in turn. */
static gboolean make_cpio(const char *dir, const char *out, gboolean append, GError **error)
{
	g_autofree char *qdir = g_shell_quote(dir), *qout = g_shell_quote(out);
	g_autofree char *script = g_strdup_printf(
	    "cd %s && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible %s %s", qdir,
	    append ? ">>" : ">", qout);
	const char *argv[] = {"sh", "-c", script, NULL};

	return kdh_run(argv, NULL, NULL, error);
}

static gboolean stage_root(const KdhKernel *kernel, const char *init, GPtrArray *modules,
                           const char *root, GError **error)
{
	static const char *const dirs[] = {"bin", "sbin", "lib/modules", "proc", "sys",
	                                   "dev", "tmp",  "mnt",         NULL};
	g_autoptr(GString) load_order = g_string_new(NULL);
	g_autofree char *init_dest = g_build_filename(root, "init", NULL);
	g_autofree char *console = g_build_filename(root, "dev", "console", NULL);

	for (const char *const *d = dirs; *d; d++) {
		g_autofree char *path = g_build_filename(root, *d, NULL);
		g_mkdir_with_parents(path, 0755);
	}
	if (!copy_file(init, init_dest, 0755, error))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(binaries); i++) {
		g_autofree char *dest = g_build_filename(root, binaries[i].guest, NULL);
		if (!copy_file(binaries[i].host, dest, 0755, error) ||
		    !add_libraries(binaries[i].host, root, error))
			return FALSE;
	}
	if (!add_busybox_links(root, error))
		return FALSE;
	for (guint i = 0; i < modules->len; i++) {
		const char *rel = g_ptr_array_index(modules, i);
		g_autofree char *from = g_build_filename(kernel->modules_dir, rel, NULL);
		g_autofree char *base = g_path_get_basename(rel);
		g_autofree char *dest = g_build_filename(root, "lib", "modules", base, NULL);
		if (!g_str_has_suffix(base, ".ko")) {
			g_set_error(error, KDH_IMAGE_ERROR, 0,
			            "module %s is compressed; busybox insmod needs plain .ko", rel);
			return FALSE;
		}
		if (!copy_file(from, dest, 0644, error))
			return FALSE;
		g_string_append_printf(load_order, "%s\n", base);
	}
	g_autofree char *order_path = g_build_filename(root, "lib", "modules", "load-order", NULL);
	if (!g_file_set_contents(order_path, load_order->str, load_order->len, error))
		return FALSE;
	/* The kernel opens /dev/console for init before devtmpfs is mounted. */
	if (mknod(console, S_IFCHR | 0600, makedev(5, 1)) != 0 && errno != EPERM) {
		int saved = errno;
		g_set_error(error, KDH_IMAGE_ERROR, 0, "mknod %s: %s", console, g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

/* The cache key: every input of the image, so a change to any rebuilds it. */
static char *image_key(const KdhKernel *kernel, const char *init_text, GPtrArray *modules)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree char *head = g_strdup_printf("layout=%d\nkernel=%s %s %s\n", MINI_LAYOUT,
	                                        kernel->package, kernel->version, kernel->root);

	g_checksum_update(sum, (const guchar *)head, -1);
	g_checksum_update(sum, (const guchar *)init_text, -1);
	for (gsize i = 0; i < G_N_ELEMENTS(binaries); i++) {
		GStatBuf st = {0};
		g_stat(binaries[i].host, &st);
		g_autofree char *line =
		    g_strdup_printf("%s %lld %lld\n", binaries[i].host, (long long)st.st_size,
		                    (long long)st.st_mtime);
		g_checksum_update(sum, (const guchar *)line, -1);
	}
	for (guint i = 0; i < modules->len; i++)
		g_checksum_update(sum, g_ptr_array_index(modules, i), -1);
	return g_strndup(g_checksum_get_string(sum), 16);
}

char *kdh_image_mini(const KdhKernel *kernel, const char *recipe_dir, const char *cache_dir,
                     GError **error)
{
	g_autofree char *init = g_build_filename(recipe_dir, "init", NULL);
	g_autofree char *init_text = NULL;
	g_autoptr(GPtrArray) modules = NULL;
	g_autofree char *key = NULL, *images = NULL, *entry = NULL, *initrd = NULL;
	g_autofree char *lock_path = NULL, *tmp = NULL;
	int lock;

	if (!g_file_get_contents(init, &init_text, NULL, error))
		return NULL;
	modules = kdh_modules_load_order(kernel->modules_dir, kdh_mini_modules, error);
	if (!modules)
		return NULL;
	key = image_key(kernel, init_text, modules);
	images = g_build_filename(cache_dir, "images", NULL);
	g_mkdir_with_parents(images, 0755);
	{
		g_autofree char *name = g_strdup_printf("mini-%s-%s", kernel->release, key);
		entry = g_build_filename(images, name, NULL);
	}
	initrd = g_build_filename(entry, "initrd.cpio", NULL);
	if (g_file_test(initrd, G_FILE_TEST_IS_REGULAR))
		return g_steal_pointer(&initrd);

	lock_path = g_build_filename(images, ".lock", NULL);
	lock = kdh_lock(lock_path, error);
	if (lock < 0)
		return NULL;
	tmp = g_build_filename(images, ".tmp-XXXXXX", NULL);
	if (!g_file_test(initrd, G_FILE_TEST_IS_REGULAR) && g_mkdtemp(tmp)) {
		g_autofree char *root = g_build_filename(tmp, "root", NULL);
		g_autofree char *extra = g_build_filename(tmp, "extra", NULL);
		g_autofree char *out = g_build_filename(tmp, "out", NULL);
		g_autofree char *capture = g_build_filename(extra, "boot", "capture.cpio", NULL);
		g_autofree char *vmlinuz = g_build_filename(extra, "boot", "vmlinuz", NULL);
		g_autofree char *joined = g_build_filename(out, "initrd.cpio", NULL);
		gboolean ok;

		g_mkdir_with_parents(out, 0755);
		/* Two archives: the root, then /boot with the kernel and a copy of
		 * the root for kexec -p. */
		ok = stage_root(kernel, init, modules, root, error) &&
		     make_cpio(root, joined, FALSE, error) &&
		     copy_file(joined, capture, 0644, error) &&
		     copy_file(kernel->vmlinuz, vmlinuz, 0644, error) &&
		     make_cpio(extra, joined, TRUE, error) && kdh_publish_dir(out, entry, error);
		kdh_rm_rf(tmp);
		if (!ok) {
			g_prefix_error(error, "building the mini image for %s: ", kernel->release);
			kdh_unlock(lock);
			return NULL;
		}
	} else if (!g_file_test(initrd, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, KDH_IMAGE_ERROR, 0, "cannot create %s", tmp);
		kdh_unlock(lock);
		return NULL;
	}
	kdh_unlock(lock);
	return g_steal_pointer(&initrd);
}
