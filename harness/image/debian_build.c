/* Building the Debian image: mmdebstrap with the recipe's hooks into a
 * tarball, the tarball into an ext4 qcow2 (guest/), published as one cache
 * entry with the first kernel's initramfs and a description. */
#include "image/image.h"
#include "util/util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

/* The guest disk's virtual size (sparse): the system (~1 GB with a Debian
 * kernel's modules) plus a full ELF vmcore of a guest of a few GB. */
#define DEBIAN_DISK_SIZE (8LL << 30)

typedef struct {
	const KdhKernel *k;
	const char *recipe_dir; /* absolute */
	GPtrArray *mirrors;
	GPtrArray *include;
	const char *versions;
	gboolean force_tcg;
	gboolean built; /* out: the fill ran */
} Build;

/* The description kdh image list reads: kdh-image.ini. */
static gboolean write_info(const Build *b, const char *out, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *path = g_build_filename(out, "kdh-image.ini", NULL);
	g_autofree char *versions = g_build_filename(out, "packages.txt", NULL);

	g_key_file_set_string(kf, "image", "kind", "debian");
	g_key_file_set_string(kf, "image", "release", b->k->release);
	g_key_file_set_string(kf, "image", "kernel", b->k->id);
	g_key_file_set_string(kf, "image", "kernel_ref", b->k->ref ? b->k->ref : "");
	return g_file_set_contents(versions, b->versions, -1, error) &&
	       g_key_file_save_to_file(kf, path, error);
}

static gboolean fill_debian(const char *out, const char *scratch, gpointer data, GError **error)
{
	Build *b = data;
	g_autofree char *tar = g_build_filename(scratch, "root.tar", NULL);
	g_autofree char *tmp = g_build_filename(scratch, "tmp", NULL);
	g_autofree char *disk = g_build_filename(out, "disk.qcow2", NULL);
	g_autofree char *includes = NULL;
	g_autofree char *inc_opt = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	const char *kernel_root = g_str_equal(b->k->source, "debian") ? "" : b->k->root;
	const char *env[] = {
	    "KDH_RECIPE",      b->recipe_dir, "KDH_RELEASE", b->k->release, "KDH_OUT", out,
	    "KDH_KERNEL_ROOT", kernel_root,   "TMPDIR",      tmp,           NULL};
	KdhRunOptions opts = {.env = env, .merge_stderr = TRUE};

	b->built = TRUE;
	g_ptr_array_add(b->include, NULL);
	includes = g_strjoinv(",", (char **)b->include->pdata);
	g_ptr_array_set_size(b->include, b->include->len - 1);
	inc_opt = g_strdup_printf("--include=%s", includes);
	if (g_mkdir(out, 0755) != 0 || g_mkdir(tmp, 0700) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "creating %s: %s",
		            out, g_strerror(saved));
		return FALSE;
	}
	for (const char *const *a =
	         (const char *const[]){"mmdebstrap", "--variant=minbase", "--mode=root",
	                               "--format=tar", "--aptopt=APT::Install-Recommends \"false\"",
	                               "--essential-hook=sh \"$KDH_RECIPE/customize.sh\" essential "
	                               "\"$1\"",
	                               "--customize-hook=sh \"$KDH_RECIPE/customize.sh\" customize "
	                               "\"$1\"",
	                               NULL};
	     *a; a++)
		g_ptr_array_add(argv, g_strdup(*a));
	g_ptr_array_add(argv, g_steal_pointer(&inc_opt));
	g_ptr_array_add(argv, g_strdup("bookworm"));
	g_ptr_array_add(argv, g_strdup(tar));
	for (guint i = 0; i < b->mirrors->len; i++)
		g_ptr_array_add(argv, g_strdup(g_ptr_array_index(b->mirrors, i)));
	g_ptr_array_add(argv, NULL);
	if (!kdh_run_full((const char *const *)argv->pdata, &opts, NULL, NULL, error)) {
		g_prefix_error(error, "making the root file system (mmdebstrap): ");
		return FALSE;
	}
	if (!kdh_guest_disk_from_tar(tar, disk, DEBIAN_DISK_SIZE, b->force_tcg, error)) {
		g_prefix_error(error, "making the disk from the root file system: ");
		return FALSE;
	}
	return write_info(b, out, error);
}

/* The kernel must bring the modules the guest's initramfs lists. */
static gboolean check_kernel(const KdhKernel *k, GError **error)
{
	g_autoptr(GPtrArray) order = NULL;

	if (!k->modules_dir || !g_file_test(k->modules_dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
		            "kernel %s has no modules folder (%s)", k->ref ? k->ref : k->id,
		            k->modules_dir ? k->modules_dir : "none");
		return FALSE;
	}
	order = kdh_modules_load_order(k->modules_dir, kdh_mini_modules, error);
	if (!order) {
		g_prefix_error(error, "kernel %s's modules: ", k->ref ? k->ref : k->id);
		return FALSE;
	}
	return TRUE;
}

KdhDiskImage *kdh_image_debian(const KdhKernel *k, const char *recipe_dir, const char *cache_dir,
                               gboolean force_tcg, GError **error)
{
	g_autofree char *recipe = g_canonicalize_filename(recipe_dir, NULL);
	g_autofree char *images = g_build_filename(cache_dir, "images", NULL);
	g_autoptr(GPtrArray) mirrors = NULL, packages = NULL, include = NULL;
	g_autofree char *versions = NULL, *key = NULL, *name = NULL, *entry = NULL;
	g_autoptr(KdhDiskImage) img = NULL;
	Build b;

	if (!check_kernel(k, error))
		return NULL;
	mirrors = kdh_debian_mirrors("/etc/apt", error);
	if (!mirrors) {
		g_prefix_error(error, "finding the Debian mirror: ");
		return NULL;
	}
	packages = kdh_debian_packages(recipe, error);
	if (!packages)
		return NULL;
	include = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < packages->len; i++)
		g_ptr_array_add(include, g_strdup(g_ptr_array_index(packages, i)));
	if (g_str_equal(k->source, "debian"))
		g_ptr_array_add(include, g_strdup_printf("%s=%s", k->package, k->version));
	versions = kdh_debian_resolve_versions(cache_dir, mirrors, include, error);
	if (!versions)
		return NULL;
	key = kdh_image_debian_key(recipe, versions, k, error);
	if (!key)
		return NULL;
	name = g_strdup_printf("debian-%s-%s", k->release, key);
	b = (Build){k, recipe, mirrors, include, versions, force_tcg, FALSE};
	entry = kdh_cache_entry_ensure(images, name, fill_debian, &b, error);
	if (!entry) {
		g_prefix_error(error, "building the Debian image for %s: ", k->release);
		return NULL;
	}
	img = g_new0(KdhDiskImage, 1);
	img->id = g_steal_pointer(&name);
	img->dir = g_steal_pointer(&entry);
	img->disk = g_build_filename(img->dir, "disk.qcow2", NULL);
	img->initrd = g_build_filename(img->dir, "initrd", NULL);
	img->release = g_strdup(k->release);
	img->built = b.built;
	return g_steal_pointer(&img);
}
