/* Debian kernels through apt: resolve, download, unpack, depmod, cache. */
#include "kernel/internal.h"
#include "util/util.h"

#include <glib/gstdio.h>
#include <string.h>

/* A Debian ABI name such as "6.1.0-56-amd64" or "6.1.0-56-cloud-amd64".  The
 * name goes into package names and paths, so it is held to that alphabet. */
static gboolean abi_valid(const char *abi)
{
	if (!g_ascii_isdigit(abi[0]))
		return FALSE;
	for (const char *p = abi; *p; p++) {
		if (!g_ascii_isalnum(*p) && *p != '.' && *p != '-' && *p != '+')
			return FALSE;
	}
	return TRUE;
}

char *kernel_apt_field(const char *package, const char *field, GError **error)
{
	const char *argv[] = {"apt-cache", "show", "--no-all-versions", package, NULL};
	g_autofree char *out = NULL;
	g_autofree char *prefix = g_strdup_printf("%s: ", field);
	g_auto(GStrv) lines = NULL;

	if (!kdh_run(argv, NULL, &out, NULL)) {
		/* A fresh machine may have empty package lists: refresh once. */
		const char *update[] = {"apt-get", "update", "-q", NULL};
		if (!kdh_run(update, NULL, NULL, error))
			return NULL;
		g_clear_pointer(&out, g_free);
		if (!kdh_run(argv, NULL, &out, NULL) || !*out) {
			g_set_error(error, KDH_KERNEL_ERROR, 0,
			            "apt knows no package %s (see `apt-cache search %s`)", package,
			            package);
			return NULL;
		}
	}
	lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++) {
		if (g_str_has_prefix(*l, prefix))
			return g_strstrip(g_strdup(*l + strlen(prefix)));
	}
	g_set_error(error, KDH_KERNEL_ERROR, 0, "apt's record of %s has no %s field", package,
	            field);
	return NULL;
}

char *kernel_apt_download(const char *package, const char *version, const char *dir, GError **error)
{
	g_autofree char *spec = g_strdup_printf("%s=%s", package, version);
	const char *download[] = {"apt-get", "download", "-q", spec, NULL};
	g_autoptr(GDir) d = NULL;
	const char *name;

	if (!kdh_run(download, dir, NULL, error))
		return NULL;
	d = g_dir_open(dir, 0, error);
	if (!d)
		return NULL;
	while ((name = g_dir_read_name(d))) {
		if (g_str_has_prefix(name, package) && g_str_has_suffix(name, ".deb"))
			return g_build_filename(dir, name, NULL);
	}
	g_set_error(error, KDH_KERNEL_ERROR, 0, "apt-get download %s left no .deb", spec);
	return NULL;
}

/* The ABI the metapackage linux-image-amd64 currently depends on. */
static char *default_abi(GError **error)
{
	g_autofree char *depends = kernel_apt_field("linux-image-amd64", "Depends", error);
	const char *prefix = "linux-image-";
	char *end;

	if (!depends)
		return NULL;
	if (!g_str_has_prefix(depends, prefix)) {
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            "linux-image-amd64 depends on '%s', not on a linux-image package",
		            depends);
		return NULL;
	}
	end = strpbrk(depends, " ,(");
	if (end)
		*end = '\0';
	return g_strdup(depends + strlen(prefix));
}

static gboolean fetch_into(const char *package, const char *version, const char *release,
                           const char *tmp, GError **error)
{
	g_autofree char *root = g_build_filename(tmp, "root", NULL);
	g_autofree char *deb = kernel_apt_download(package, version, tmp, error);
	const char *keys[] = {"source", "release", "package", "version", "ref", NULL};
	g_autofree char *ref = g_strdup_printf("debian:%s", release);
	const char *values[] = {"debian", release, package, version, ref, NULL};

	if (!deb)
		return FALSE;
	const char *unpack[] = {"dpkg-deb", "-x", deb, root, NULL};
	if (!kdh_run(unpack, NULL, NULL, error)) {
		g_prefix_error(error, "unpacking %s: ", deb);
		return FALSE;
	}
	g_unlink(deb);
	/* Debian generates modules.dep at install time; the package lacks it. */
	return kernel_finish_modules(root, release, error) &&
	       kernel_entry_write_meta(root, keys, values, error);
}

/* The -dbg package: usr/lib/debug/boot/vmlinux-<release>, DWARF included. */
static gboolean fetch_debug_into(const char *abi, const char *version, const char *tmp,
                                 const char *dest, GError **error)
{
	g_autofree char *package = g_strdup_printf("linux-image-%s-dbg", abi);
	g_autofree char *deb = kernel_apt_download(package, version, tmp, error);
	g_autofree char *unpacked = g_build_filename(tmp, "dbg", NULL);
	g_autofree char *name = g_strdup_printf("vmlinux-%s", abi);
	g_autofree char *vmlinux =
	    g_build_filename(unpacked, "usr", "lib", "debug", "boot", name, NULL);
	g_autofree char *out = g_build_filename(tmp, "out", NULL);
	g_autofree char *out_vmlinux = g_build_filename(out, name, NULL);

	if (!deb)
		return FALSE;
	/* Only vmlinux is kept: the modules' debug files double the size. */
	g_autofree char *member = g_strdup_printf("./usr/lib/debug/boot/%s", name);
	g_autofree char *q_deb = g_shell_quote(deb), *q_dir = g_shell_quote(unpacked);
	g_autofree char *q_member = g_shell_quote(member);
	g_autofree char *script = g_strdup_printf("mkdir -p %s && dpkg-deb --fsys-tarfile %s | "
	                                          "tar -x -C %s %s",
	                                          q_dir, q_deb, q_dir, q_member);
	if (!kernel_sh(script, NULL, error)) {
		g_prefix_error(error, "unpacking %s: ", deb);
		return FALSE;
	}
	g_unlink(deb);
	if (!g_file_test(vmlinux, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "%s holds no %s", package, name);
		return FALSE;
	}
	if (g_mkdir_with_parents(out, 0755) != 0 || g_rename(vmlinux, out_vmlinux) != 0) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "cannot move %s into %s", vmlinux, out);
		return FALSE;
	}
	return kdh_publish_dir(out, dest, error);
}

KdhKernel *kdh_kernel_fetch_debian(const char *ref, gboolean debug, const char *cache_dir,
                                   GError **error)
{
	g_autofree char *abi = NULL, *package = NULL, *version = NULL;
	g_autofree char *kernels = NULL, *entry = NULL, *lock_path = NULL, *id = NULL;
	g_autofree char *dbg_entry = NULL;
	const char *what = g_str_has_prefix(ref, "debian:") ? ref + strlen("debian:") : ref;
	gboolean ok = TRUE;
	int lock;

	abi = g_str_equal(what, "default") ? default_abi(error) : g_strdup(what);
	if (!abi)
		return NULL;
	if (!abi_valid(abi)) {
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            "kernel ref '%s': '%s' is not a Debian ABI such as 6.1.0-56-amd64 or "
		            "6.1.0-56-cloud-amd64",
		            ref, abi);
		return NULL;
	}
	package = g_strdup_printf("linux-image-%s-unsigned", abi);
	version = kernel_apt_field(package, "Version", error);
	if (!version) {
		g_prefix_error(error, "kernel ref '%s': ", ref);
		return NULL;
	}
	kernels = kernel_cache_kernels(cache_dir, error);
	if (!kernels)
		return NULL;
	id = g_strdup_printf("%s_%s", package, version);
	entry = g_build_filename(kernels, id, NULL);
	dbg_entry = g_strdup_printf("%s.dbg", entry);
	if (g_file_test(entry, G_FILE_TEST_IS_DIR) &&
	    (!debug || g_file_test(dbg_entry, G_FILE_TEST_IS_DIR)))
		return kernel_entry_load(kernels, id, ref, error);

	lock_path = g_build_filename(kernels, ".lock", NULL);
	lock = kdh_lock(lock_path, error);
	if (lock < 0)
		return NULL;
	if (!g_file_test(entry, G_FILE_TEST_IS_DIR)) {
		g_autofree char *tmp = kernel_make_tmp(kernels, "fetch", TRUE, error);
		g_autofree char *root = NULL;
		ok = tmp != NULL;
		if (ok) {
			root = g_build_filename(tmp, "root", NULL);
			ok = fetch_into(package, version, abi, tmp, error) &&
			     kdh_publish_dir(root, entry, error);
			kdh_rm_rf(tmp);
		}
		if (!ok)
			g_prefix_error(error, "fetching %s %s: ", package, version);
	}
	if (ok && debug && !g_file_test(dbg_entry, G_FILE_TEST_IS_DIR)) {
		g_autofree char *tmp = kernel_make_tmp(kernels, "fetch", TRUE, error);
		ok = tmp != NULL;
		if (ok) {
			ok = fetch_debug_into(abi, version, tmp, dbg_entry, error);
			kdh_rm_rf(tmp);
		}
		if (!ok)
			g_prefix_error(error, "fetching linux-image-%s-dbg %s: ", abi, version);
	}
	kdh_unlock(lock);
	if (!ok)
		return NULL;
	return kernel_entry_load(kernels, id, ref, error);
}
