/* Debian kernels through apt: resolve, download, unpack, depmod, cache. */
#include "kernel/kernel.h"
#include "util/util.h"

#include <glib/gstdio.h>
#include <string.h>

G_DEFINE_QUARK(kdh - kernel - error - quark, kdh_kernel_error)

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
	g_free(k);
}

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

/* The value of FIELD in apt-cache's record for PACKAGE's candidate. */
static char *apt_field(const char *package, const char *field, GError **error)
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
		if (!kdh_run(argv, NULL, &out, NULL) || !*out) {
			g_set_error(error, KDH_KERNEL_ERROR, 0,
			            "apt knows no package %s (is the ABI right?)", package);
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

/* The ABI the metapackage linux-image-amd64 currently depends on. */
static char *default_abi(GError **error)
{
	g_autofree char *depends = apt_field("linux-image-amd64", "Depends", error);
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
	g_autofree char *spec = g_strdup_printf("%s=%s", package, version);
	g_autofree char *root = g_build_filename(tmp, "root", NULL);
	const char *download[] = {"apt-get", "download", "-q", spec, NULL};
	const char *depmod[] = {"depmod", "-b", root, release, NULL};
	g_autoptr(GDir) dir = NULL;
	g_autofree char *deb = NULL;
	const char *name;

	if (!kdh_run(download, tmp, NULL, error))
		return FALSE;
	dir = g_dir_open(tmp, 0, error);
	if (!dir)
		return FALSE;
	while ((name = g_dir_read_name(dir))) {
		if (g_str_has_suffix(name, ".deb"))
			deb = g_build_filename(tmp, name, NULL);
	}
	if (!deb) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "apt-get download %s left no .deb", spec);
		return FALSE;
	}
	const char *unpack[] = {"dpkg-deb", "-x", deb, root, NULL};
	if (!kdh_run(unpack, NULL, NULL, error)) {
		g_prefix_error(error, "unpacking %s: ", deb);
		return FALSE;
	}
	g_unlink(deb);
	/* Debian generates modules.dep at install time; the package lacks it. */
	return kdh_run(depmod, NULL, NULL, error);
}

static KdhKernel *kernel_at(const char *ref, const char *package, const char *version,
                            const char *release, const char *root, GError **error)
{
	g_autoptr(KdhKernel) k = g_new0(KdhKernel, 1);
	g_autofree char *vmlinuz_name = g_strdup_printf("vmlinuz-%s", release);
	g_autofree char *config_name = g_strdup_printf("config-%s", release);

	k->ref = g_strdup(ref);
	k->package = g_strdup(package);
	k->version = g_strdup(version);
	k->release = g_strdup(release);
	k->root = g_strdup(root);
	k->vmlinuz = g_build_filename(root, "boot", vmlinuz_name, NULL);
	k->config = g_build_filename(root, "boot", config_name, NULL);
	k->modules_dir = g_build_filename(root, "lib", "modules", release, NULL);
	if (!g_file_test(k->vmlinuz, G_FILE_TEST_IS_REGULAR) ||
	    !g_file_test(k->modules_dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "%s holds no kernel %s (no %s)", package,
		            release, k->vmlinuz);
		return NULL;
	}
	return g_steal_pointer(&k);
}

KdhKernel *kdh_kernel_resolve(const char *ref, const char *cache_dir, GError **error)
{
	g_autofree char *abi = NULL, *package = NULL, *version = NULL;
	g_autofree char *kernels = NULL, *entry = NULL, *lock_path = NULL, *tmp = NULL;
	int lock;

	if (!g_str_has_prefix(ref, "debian:")) {
		g_set_error(error, KDH_KERNEL_ERROR, 0,
		            "kernel ref '%s': only debian:default and debian:<abi> are supported",
		            ref);
		return NULL;
	}
	abi = g_str_equal(ref, "debian:default") ? default_abi(error)
	                                         : g_strdup(ref + strlen("debian:"));
	if (!abi)
		return NULL;
	if (!abi_valid(abi)) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "kernel ref '%s': '%s' is not a Debian ABI",
		            ref, abi);
		return NULL;
	}
	package = g_strdup_printf("linux-image-%s-unsigned", abi);
	version = apt_field(package, "Version", error);
	if (!version)
		return NULL;

	kernels = g_build_filename(cache_dir, "kernels", NULL);
	if (g_mkdir_with_parents(kernels, 0755) != 0) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "cannot create %s", kernels);
		return NULL;
	}
	{
		g_autofree char *entry_name = g_strdup_printf("%s_%s", package, version);
		entry = g_build_filename(kernels, entry_name, NULL);
	}
	if (g_file_test(entry, G_FILE_TEST_IS_DIR))
		return kernel_at(ref, package, version, abi, entry, error);

	lock_path = g_build_filename(kernels, ".lock", NULL);
	lock = kdh_lock(lock_path, error);
	if (lock < 0)
		return NULL;
	if (!g_file_test(entry, G_FILE_TEST_IS_DIR)) {
		tmp = g_build_filename(kernels, ".tmp-XXXXXX", NULL);
		if (!g_mkdtemp(tmp)) {
			g_set_error(error, KDH_KERNEL_ERROR, 0, "cannot create %s", tmp);
			kdh_unlock(lock);
			return NULL;
		}
		g_autofree char *root = g_build_filename(tmp, "root", NULL);
		gboolean ok = fetch_into(package, version, abi, tmp, error) &&
		              kdh_publish_dir(root, entry, error);
		kdh_rm_rf(tmp);
		if (!ok) {
			g_prefix_error(error, "fetching %s %s: ", package, version);
			kdh_unlock(lock);
			return NULL;
		}
	}
	kdh_unlock(lock);
	return kernel_at(ref, package, version, abi, entry, error);
}
