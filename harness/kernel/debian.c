/* Debian kernels through apt: resolve, download, unpack (libarchive),
 * depmod, cache. */
#include "kernel/internal.h"

#include <glib/gstdio.h>
#include <string.h>

/* A Debian ABI name such as "6.1.0-56-amd64" or "6.1.0-56-cloud-amd64": it
 * goes into package names and paths, and is the kernel's release. */
static gboolean abi_valid(const char *abi)
{
	return g_ascii_isdigit(abi[0]) && kernel_release_check(abi, "", NULL);
}

/* A Debian version as apt prints it ("6.1.192-2", "1:2.3~rc1"): it names
 * cache entries, so no '/' and no leading '.' or '-'. */
static gboolean version_valid(const char *version)
{
	size_t len = strlen(version);

	if (len == 0 || len > 128 || !g_ascii_isalnum(version[0]))
		return FALSE;
	for (const char *p = version; *p; p++) {
		if (!g_ascii_isalnum(*p) && !strchr(".+~:-", *p))
			return FALSE;
	}
	return TRUE;
}

char *kernel_apt_field(const char *package, const char *field, GError **error)
{
	const char *argv[] = {"apt-cache", "show", "--no-all-versions", "--", package, NULL};
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
		if (g_str_has_prefix(*l, prefix)) {
			g_autofree char *value = g_strstrip(g_strdup(*l + strlen(prefix)));
			if (g_str_equal(field, "Version") && !version_valid(value)) {
				g_set_error(error, KDH_KERNEL_ERROR, 0,
				            "apt's record of %s has an implausible version '%.80s'",
				            package, value);
				return NULL;
			}
			return g_steal_pointer(&value);
		}
	}
	g_set_error(error, KDH_KERNEL_ERROR, 0, "apt's record of %s has no %s field", package,
	            field);
	return NULL;
}

char *kernel_apt_download(const char *package, const char *version, const char *dir, GError **error)
{
	g_autofree char *spec = g_strdup_printf("%s=%s", package, version);
	const char *download[] = {"apt-get", "download", "-q", "--", spec, NULL};
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

typedef struct {
	const char *abi; /* also the release */
	const char *package;
	const char *version;
} Fetch;

/* Downloads the image package and unpacks it as the entry OUT. */
static gboolean fill_kernel(const char *out, const char *scratch, gpointer data, GError **error)
{
	const Fetch *f = data;
	g_autofree char *deb = kernel_apt_download(f->package, f->version, scratch, error);
	g_autofree char *ref = g_strdup_printf("debian:%s", f->abi);
	const char *keys[] = {"source", "release", "package", "version", "ref", NULL};
	const char *values[] = {"debian", f->abi, f->package, f->version, ref, NULL};

	if (!deb)
		return FALSE;
	if (g_mkdir(out, 0755) != 0 || !kdh_unpack_package(deb, out, &kernel_package_limits, error))
		return FALSE;
	/* Debian generates modules.dep at install time; the package lacks it. */
	return kernel_finish_modules(out, f->abi, error) &&
	       kernel_entry_write_meta(out, keys, values, error);
}

/* The -dbg package's usr/lib/debug/boot/vmlinux-<release> (DWARF) as the
 * entry OUT; the modules' debug files, which double the size, stay out. */
static gboolean fill_debug(const char *out, const char *scratch, gpointer data, GError **error)
{
	const Fetch *f = data;
	g_autofree char *package = g_strdup_printf("linux-image-%s-dbg", f->abi);
	g_autofree char *deb = kernel_apt_download(package, f->version, scratch, error);
	g_autofree char *name = g_strdup_printf("vmlinux-%s", f->abi);
	g_autofree char *member = g_strdup_printf("usr/lib/debug/boot/%s", name);
	g_autofree char *unpacked = g_build_filename(scratch, "dbg", NULL);
	g_autofree char *vmlinux = g_build_filename(unpacked, member, NULL);
	g_autofree char *dest = g_build_filename(out, name, NULL);
	KdhUnpackOptions opts = kernel_package_limits;

	if (!deb)
		return FALSE;
	opts.only = member;
	if (g_mkdir(unpacked, 0755) != 0 || g_mkdir(out, 0755) != 0 ||
	    !kdh_unpack_package(deb, unpacked, &opts, error))
		return FALSE;
	if (!g_file_test(vmlinux, G_FILE_TEST_IS_REGULAR) || g_rename(vmlinux, dest) != 0) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "%s holds no file %s", package, member);
		return FALSE;
	}
	return TRUE;
}

KdhKernel *kdh_kernel_fetch_debian(const char *ref, gboolean debug, const char *cache_dir,
                                   GError **error)
{
	g_autofree char *abi = NULL, *package = NULL, *version = NULL;
	g_autofree char *kernels = NULL, *entry = NULL, *id = NULL;
	const char *what = g_str_has_prefix(ref, "debian:") ? ref + strlen("debian:") : ref;
	Fetch f;

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
	f = (Fetch){abi, package, version};
	kernels = kernel_cache_kernels(cache_dir, error);
	if (!kernels)
		return NULL;
	id = g_strdup_printf("%s_%s", package, version);
	entry = kdh_cache_entry_ensure(kernels, id, fill_kernel, &f, error);
	if (!entry) {
		g_prefix_error(error, "fetching %s %s: ", package, version);
		return NULL;
	}
	if (debug) {
		g_autofree char *dbg_id = g_strdup_printf("%s.dbg", id);
		g_autofree char *dbg =
		    kdh_cache_entry_ensure(kernels, dbg_id, fill_debug, &f, error);
		if (!dbg) {
			g_prefix_error(error, "fetching linux-image-%s-dbg %s: ", abi, version);
			return NULL;
		}
	}
	return kernel_entry_load(kernels, id, ref, error);
}
