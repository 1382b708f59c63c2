/* The mini initramfs: staging folder → cpio (GNU cpio, newc) → cache. */
#include "image/image.h"
#include "util/util.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdlib.h>
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

/* Bounds on modules.dep: Debian 6.1 has ~4,000 modules in ~500 KB, its
 * longest line a few KB. */
#define DEP_MAX_BYTES  ((gsize)64 << 20)
#define DEP_MAX_LINE   65536
#define DEP_MAX_LINES  200000
#define DEP_MAX_FIELDS 4096

typedef enum { UNSEEN, IN_PROGRESS, DONE } Mark;

typedef struct {
	GHashTable *deps;    /* name -> GStrv: path first, then dependency paths */
	GHashTable *builtin; /* name set */
	GHashTable *marks;   /* name -> Mark */
	GPtrArray *order;    /* paths */
} ModuleGraph;

/* One step of the depth-first walk: a module and how many of its
 * dependencies have been looked at. */
typedef struct {
	char *name;
	char **entry;
	guint next;
} Frame;

/* "a -> b -> c -> a": the modules of STACK from NAME on, then NAME again. */
static char *cycle_text(GArray *stack, const char *name)
{
	GString *s = g_string_new(NULL);
	guint from = 0;

	for (guint i = 0; i < stack->len; i++) {
		if (g_str_equal(g_array_index(stack, Frame, i).name, name))
			from = i;
	}
	for (guint i = from; i < stack->len; i++)
		g_string_append_printf(s, "%s -> ", g_array_index(stack, Frame, i).name);
	g_string_append(s, name);
	return g_string_free(s, FALSE);
}

static void frame_clear(gpointer p)
{
	g_free(((Frame *)p)->name);
}

/* Appends ROOT's dependencies, then ROOT, to the order: a depth-first walk
 * with an explicit stack (a hostile modules.dep can chain thousands of
 * modules) and in-progress marks, so each module and each edge is looked
 * at once, and a module met again while in progress is a cycle. */
static gboolean visit(ModuleGraph *g, const char *root, GError **error)
{
	g_autoptr(GArray) stack = g_array_new(FALSE, FALSE, sizeof(Frame));
	gboolean ok = TRUE;

	g_array_set_clear_func(stack, frame_clear);
	g_array_append_val(stack, ((Frame){g_strdup(root), NULL, 0}));
	while (ok && stack->len) {
		Frame *f = &g_array_index(stack, Frame, stack->len - 1);
		Mark mark = GPOINTER_TO_INT(g_hash_table_lookup(g->marks, f->name));

		if (!f->entry) {
			/* First time on the stack. */
			if (mark == DONE || g_hash_table_contains(g->builtin, f->name)) {
				g_array_set_size(stack, stack->len - 1);
				continue;
			}
			f->entry = g_hash_table_lookup(g->deps, f->name);
			if (!f->entry) {
				g_set_error(error, KDH_IMAGE_ERROR, 0,
				            "module %s is neither in modules.dep nor built in",
				            f->name);
				ok = FALSE;
				break;
			}
			g_hash_table_insert(g->marks, g_strdup(f->name),
			                    GINT_TO_POINTER(IN_PROGRESS));
		}
		if (f->entry[1 + f->next]) {
			char *dep = module_name(f->entry[1 + f->next]);
			Mark dep_mark = GPOINTER_TO_INT(g_hash_table_lookup(g->marks, dep));
			f->next++;
			if (dep_mark == IN_PROGRESS) {
				g_autofree char *cycle = cycle_text(stack, dep);
				g_set_error(error, KDH_IMAGE_ERROR, 0,
				            "modules.dep: dependency cycle %s", cycle);
				g_free(dep);
				ok = FALSE;
				break;
			}
			if (dep_mark == DONE) {
				g_free(dep);
				continue;
			}
			g_array_append_val(stack, ((Frame){dep, NULL, 0}));
			continue;
		}
		g_hash_table_insert(g->marks, g_strdup(f->name), GINT_TO_POINTER(DONE));
		g_ptr_array_add(g->order, g_strdup(f->entry[0]));
		g_array_set_size(stack, stack->len - 1);
	}
	return ok;
}

/* Reads modules.dep's TEXT into DEPS, within the bounds above. */
static gboolean parse_deps(char *text, GHashTable *deps, GError **error)
{
	char *line = text;
	guint lineno = 0;

	while (line && *line) {
		char *nl = strchr(line, '\n');
		char *colon;
		if (nl)
			*nl = '\0';
		lineno++;
		if (lineno > DEP_MAX_LINES || strlen(line) > DEP_MAX_LINE) {
			g_set_error(error, KDH_IMAGE_ERROR, 0,
			            "line %u: more than %d lines, or a line longer than %d bytes",
			            lineno, DEP_MAX_LINES, DEP_MAX_LINE);
			return FALSE;
		}
		colon = strchr(line, ':');
		if (colon) {
			*colon = '\0';
			g_autofree char *joined = g_strdup_printf("%s %s", line, colon + 1);
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
			if (n == 0 || n > DEP_MAX_FIELDS) {
				g_strfreev(fields);
				g_set_error(error, KDH_IMAGE_ERROR, 0,
				            "line %u: no module, or more than %d dependencies",
				            lineno, DEP_MAX_FIELDS);
				return FALSE;
			}
			g_hash_table_insert(deps, module_name(line), fields);
		}
		line = nl ? nl + 1 : NULL;
	}
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
	g_autoptr(GHashTable) marks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func(g_free);
	ModuleGraph g = {deps, builtin, marks, order};
	gsize len;

	if (!g_file_get_contents(dep_path, &dep_text, &len, error))
		return NULL;
	if (len > DEP_MAX_BYTES || strlen(dep_text) != len) {
		g_set_error(error, KDH_IMAGE_ERROR, 0,
		            "%s: larger than %" G_GSIZE_FORMAT " bytes, or holds NUL bytes",
		            dep_path, DEP_MAX_BYTES);
		return NULL;
	}
	if (!parse_deps(dep_text, deps, error)) {
		g_prefix_error(error, "%s: ", dep_path);
		return NULL;
	}
	if (g_file_get_contents(builtin_path, &builtin_text, NULL, NULL)) {
		g_auto(GStrv) blines = g_strsplit(builtin_text, "\n", -1);
		for (char **l = blines; *l; l++) {
			if (**l)
				g_hash_table_add(builtin, module_name(*l));
		}
	}
	for (const char *const *w = wanted; *w; w++) {
		if (!visit(&g, *w, error)) {
			g_prefix_error(error, "%s: ", dep_path);
			return NULL;
		}
	}
	return g_steal_pointer(&order);
}

/* The shared libraries (and the loader) BINARY needs, as ldd resolves them. */
static gboolean add_libraries(const char *binary, const char *root, GError **error)
{
	const char *argv[] = {"ldd", "--", binary, NULL};
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
		if (!g_file_test(dest, G_FILE_TEST_EXISTS) &&
		    !kdh_copy_file(path, dest, 0755, error))
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

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Writes DIR as a newc archive to the new file OUT, its names sorted
 * bytewise (the same image from the same files).  GNU cpio reads the names
 * on its standard input: no shell, no pipe. */
static gboolean make_cpio(const char *dir, const char *out, GError **error)
{
	const char *find[] = {"find", ".", NULL};
	const char *cpio[] = {"cpio",          "-o", "-H", "newc", "--quiet", "--reproducible",
	                      "--force-local", "-O", out,  NULL};
	g_autofree char *names = NULL, *sorted = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GBytes) list = NULL;
	KdhRunOptions opts = {.cwd = dir};
	guint n;

	if (!kdh_run(find, dir, &names, error))
		return FALSE;
	lines = g_strsplit(names, "\n", -1);
	n = g_strv_length(lines);
	if (n > 0 && !*lines[n - 1]) {
		g_free(lines[n - 1]);
		lines[--n] = NULL;
	}
	qsort(lines, n, sizeof(char *), compare_names);
	sorted = g_strjoinv("\n", lines);
	list = g_bytes_new_take(g_strconcat(sorted, "\n", NULL), strlen(sorted) + 1);
	opts.stdin_data = list;
	return kdh_run_full(cpio, &opts, NULL, NULL, error);
}

/* Appends the file FROM to the file TO: the kernel unpacks concatenated
 * archives in turn. */
static gboolean append_file(const char *to, const char *from, GError **error)
{
	g_autoptr(GFile) src = g_file_new_for_path(from);
	g_autoptr(GFile) dest = g_file_new_for_path(to);
	g_autoptr(GFileInputStream) in = g_file_read(src, NULL, error);
	g_autoptr(GFileOutputStream) out =
	    in ? g_file_append_to(dest, G_FILE_CREATE_NONE, NULL, error) : NULL;

	if (!out || g_output_stream_splice(G_OUTPUT_STREAM(out), G_INPUT_STREAM(in),
	                                   G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
	                                       G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
	                                   NULL, error) < 0) {
		g_prefix_error(error, "appending %s to %s: ", from, to);
		return FALSE;
	}
	return TRUE;
}

/* EXTRAS (NULL-terminated, may be NULL) into ROOT/lib/kdh/. */
static gboolean stage_extras(const char *const *extras, const char *root, GError **error)
{
	for (const char *const *e = extras; e && *e; e++) {
		g_autofree char *base = g_path_get_basename(*e);
		g_autofree char *dest = g_build_filename(root, "lib", "kdh", base, NULL);
		if (!kdh_copy_file(*e, dest, 0644, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean stage_root(const KdhKernel *kernel, const char *init, GPtrArray *modules,
                           const char *const *extras, const char *root, GError **error)
{
	static const char *const dirs[] = {"bin", "sbin", "lib/modules", "lib/kdh", "proc",
	                                   "sys", "dev",  "tmp",         "mnt",     NULL};
	g_autoptr(GString) load_order = g_string_new(NULL);
	g_autofree char *init_dest = g_build_filename(root, "init", NULL);
	g_autofree char *console = g_build_filename(root, "dev", "console", NULL);

	for (const char *const *d = dirs; *d; d++) {
		g_autofree char *path = g_build_filename(root, *d, NULL);
		g_mkdir_with_parents(path, 0755);
	}
	if (!kdh_copy_file(init, init_dest, 0755, error))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(binaries); i++) {
		g_autofree char *dest = g_build_filename(root, binaries[i].guest, NULL);
		if (!kdh_copy_file(binaries[i].host, dest, 0755, error) ||
		    !add_libraries(binaries[i].host, root, error))
			return FALSE;
	}
	if (!add_busybox_links(root, error) || !stage_extras(extras, root, error))
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
		if (!kdh_copy_file(from, dest, 0644, error))
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
static char *image_key(const KdhKernel *kernel, const char *init_text, GPtrArray *modules,
                       const char *const *extras, GError **error)
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
	for (const char *const *e = extras; e && *e; e++) {
		g_autofree char *data = NULL, *base = g_path_get_basename(*e);
		gsize len;
		if (!g_file_get_contents(*e, &data, &len, error))
			return NULL;
		g_checksum_update(sum, (const guchar *)base, -1);
		g_checksum_update(sum, (const guchar *)data, len);
	}
	return g_strndup(g_checksum_get_string(sum), 16);
}

typedef struct {
	const KdhKernel *kernel;
	const char *init;
	GPtrArray *modules;
	const char *const *extras;
} Mini;

/* Two archives in OUT/initrd.cpio: the root, then /boot with the kernel
 * and a copy of the root for kexec -p. */
static gboolean fill_mini(const char *out, const char *scratch, gpointer data, GError **error)
{
	const Mini *m = data;
	g_autofree char *root = g_build_filename(scratch, "root", NULL);
	g_autofree char *extra = g_build_filename(scratch, "extra", NULL);
	g_autofree char *capture = g_build_filename(extra, "boot", "capture.cpio", NULL);
	g_autofree char *vmlinuz = g_build_filename(extra, "boot", "vmlinuz", NULL);
	g_autofree char *second = g_build_filename(scratch, "extra.cpio", NULL);
	g_autofree char *joined = g_build_filename(out, "initrd.cpio", NULL);

	return g_mkdir(out, 0755) == 0 &&
	       stage_root(m->kernel, m->init, m->modules, m->extras, root, error) &&
	       make_cpio(root, joined, error) && kdh_copy_file(joined, capture, 0644, error) &&
	       kdh_copy_file(m->kernel->vmlinuz, vmlinuz, 0644, error) &&
	       make_cpio(extra, second, error) && append_file(joined, second, error);
}

char *kdh_image_mini(const KdhKernel *kernel, const char *recipe_dir, const char *const *extras,
                     const char *cache_dir, GError **error)
{
	g_autofree char *init = g_build_filename(recipe_dir, "init", NULL);
	g_autofree char *init_text = NULL;
	g_autoptr(GPtrArray) modules = NULL;
	g_autofree char *key = NULL, *images = NULL, *entry = NULL, *name = NULL;
	Mini m;

	if (!g_file_get_contents(init, &init_text, NULL, error))
		return NULL;
	modules = kdh_modules_load_order(kernel->modules_dir, kdh_mini_modules, error);
	if (!modules)
		return NULL;
	key = image_key(kernel, init_text, modules, extras, error);
	if (!key)
		return NULL;
	images = g_build_filename(cache_dir, "images", NULL);
	name = g_strdup_printf("mini-%s-%s", kernel->release, key);
	m = (Mini){kernel, init, modules, extras};
	entry = kdh_cache_entry_ensure(images, name, fill_mini, &m, error);
	if (!entry) {
		g_prefix_error(error, "building the mini image for %s: ", kernel->release);
		return NULL;
	}
	return g_build_filename(entry, "initrd.cpio", NULL);
}
