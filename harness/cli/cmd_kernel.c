/* kdh kernel: fetch and list the kernels in the cache. */
#include "cli/commands.h"
#include "kernel/kernel.h"
#include "util/util.h"

#include <stdio.h>

static int kernel_fetch(const char *cache, int argc, char **argv)
{
	int status = 0;

	if (argc < 2) {
		g_printerr("usage: kdh kernel fetch debian:default|debian:<abi>...\n");
		return KDH_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(KdhKernel) k = kdh_kernel_resolve(argv[i], cache, &error);
		if (!k) {
			g_printerr("kdh kernel fetch: %s\n", error->message);
			status = 1;
			continue;
		}
		g_print("%s\t%s %s\t%s\n", k->release, k->package, k->version, k->root);
	}
	return status;
}

static int kernel_list(const char *cache)
{
	g_autofree char *dir = g_build_filename(cache, "kernels", NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		if (name[0] != '.')
			g_print("%s\n", name);
	}
	return 0;
}

int kdh_cmd_kernel(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cache = kdh_cache_dir(&error);

	if (!cache) {
		g_printerr("kdh kernel: %s\n", error->message);
		return 1;
	}
	if (argc >= 2 && g_str_equal(argv[1], "fetch"))
		return kernel_fetch(cache, argc - 1, argv + 1);
	if (argc >= 2 && g_str_equal(argv[1], "list"))
		return kernel_list(cache);
	g_printerr("usage: kdh kernel fetch|list ...\n");
	return KDH_EXIT_USAGE;
}
