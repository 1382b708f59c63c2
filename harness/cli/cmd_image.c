/* kdh image: build (the Debian disk image for a kernel) and list (every
 * cached image, mini and debian). */
#include "cli/commands.h"
#include "image/image.h"
#include "kernel/kernel.h"
#include "util/util.h"
#include "vm/vm.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int image_build(const char *cache, int argc, char **argv)
{
	g_autofree char *kernel_ref = NULL;
	GOptionEntry entries[] = {{"kernel", 0, 0, G_OPTION_ARG_STRING, &kernel_ref,
	                           "the kernel under test (default debian:default)", "REF"},
	                          G_OPTION_ENTRY_NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = NULL;
	g_autoptr(KdhDiskImage) img = NULL;
	g_autofree char *images = NULL, *recipe = NULL;
	gint64 start;

	if (!kdh_cli_parse(
	        "image", "build", "debian",
	        "Builds (or finds in the cache) the Debian 12 guest image for a kernel:\n"
	        "mmdebstrap from the host's Debian mirror, the recipe in images/debian/,\n"
	        "a qcow2 disk through libguestfs.  A second build with the same inputs\n"
	        "(recipe, package versions, kernel) does nothing.",
	        entries, &argc, &argv))
		return KDH_EXIT_USAGE;
	if (argc != 2 || !g_str_equal(argv[1], "debian")) {
		g_printerr("usage: kdh image build debian [--kernel REF]\n");
		return KDH_EXIT_USAGE;
	}
	k = kdh_kernel_resolve(kernel_ref ? kernel_ref : "debian:default", cache, &error);
	if (!k) {
		g_printerr("kdh image build: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	images = kdh_cli_images_dir();
	recipe = g_build_filename(images, "debian", NULL);
	start = g_get_monotonic_time();
	img = kdh_image_debian(k, recipe, cache,
	                       kdh_accel_probe(k->vmlinuz, cache, NULL) != KDH_ACCEL_KVM, &error);
	if (!img) {
		g_printerr("kdh image build: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	g_print("%s\t%s\t%s (%.0f s)\n", img->id, img->dir, img->built ? "built" : "cached",
	        (g_get_monotonic_time() - start) / 1e6);
	return KDH_EXIT_OK;
}

static char *human_size(guint64 bytes)
{
	/* Not g_format_size: its no-break space prints as '?' outside UTF-8. */
	if (bytes >= (guint64)1 << 30)
		return g_strdup_printf("%.1f GiB", bytes / (double)((guint64)1 << 30));
	return g_strdup_printf("%.1f MiB", bytes / (double)(1 << 20));
}

static int image_list(const char *cache, int argc, char **argv)
{
	GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) list = NULL;
	int width = 2;

	if (!kdh_cli_parse("image", "list", "", "Lists the cached guest images (mini and debian).",
	                   entries, &argc, &argv))
		return KDH_EXIT_USAGE;
	list = kdh_image_list(cache, &error);
	if (!list) {
		g_printerr("kdh image list: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	for (guint i = 0; i < list->len; i++) {
		const KdhImageInfo *info = g_ptr_array_index(list, i);
		width = MAX(width, (int)strlen(info->id));
	}
	g_print("%-*s  %-6s  %-28s  %9s  %s\n", width, "ID", "KIND", "KERNEL", "SIZE", "MADE");
	for (guint i = 0; i < list->len; i++) {
		const KdhImageInfo *info = g_ptr_array_index(list, i);
		g_autofree char *size = human_size(info->size);
		g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(info->mtime);
		g_autofree char *made = t ? g_date_time_format(t, "%Y-%m-%d %H:%M") : g_strdup("?");
		g_print("%-*s  %-6s  %-28s  %9s  %s\n", width, info->id, info->kind, info->release,
		        size, made);
	}
	return KDH_EXIT_OK;
}

int kdh_cmd_image(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cache = kdh_cache_dir(&error);
	static const struct {
		const char *name;
		int (*fn)(const char *cache, int argc, char **argv);
	} subs[] = {{"build", image_build}, {"list", image_list}};

	if (!cache) {
		g_printerr("kdh image: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	for (guint i = 0; argc >= 2 && i < G_N_ELEMENTS(subs); i++) {
		if (g_str_equal(argv[1], subs[i].name))
			return subs[i].fn(cache, argc - 1, argv + 1);
	}
	g_printerr("usage: kdh image build|list ...\n"
	           "  build debian [--kernel REF]   the Debian 12 guest image for a kernel\n"
	           "  list                          the cached images\n");
	return KDH_EXIT_USAGE;
}
