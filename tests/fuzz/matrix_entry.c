/* A matrix file as kdh matrix reads it.  Its [scenarios] files= are read
 * from a folder made once per process, holding small copies of the files
 * the real matrices name (scenarios/matrices/: "../smoke-sysrq.ini"),
 * one with a [matrix] and one that does not load. */
#include "entry.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario/scenario.h"

static const struct {
	const char *name, *text;
} files[] = {
    {"smoke-sysrq.ini", "[scenario]\nname=smoke-sysrq\n[crash]\ntrigger=sysrq\n"},
    {"nmi.ini", "[scenario]\nname=nmi\n[crash]\ntrigger=nmi\n"},
    {"module-bug.ini", "[scenario]\nname=module-bug\n[crash]\ntrigger=module:bug\n"},
    {"distro-kdump-tools.ini", "[scenario]\nname=distro-kdump-tools\n[vm]\nimage=debian\n"
                               "[capture]\ncollector=kdump-tools\n"},
    {"suite-basic.ini", "[scenario]\nname=suite-basic\n[matrix]\ncompression=lzo;zlib;none\n"
                        "dump_level=17;31\n"},
    {"kernels.ini",
     "[scenario]\nname=kernels\n[matrix]\nref=debian:default;debian:6.1.0-56-amd64\n"},
    {"bad.ini", "[scenario]\nname=bad\n[vm]\nmemory=lots\n"},
};

static char *folder;     /* holds the files above and matrices/ */
static pid_t folder_pid; /* the process that made it removes it */

static void folder_remove(void)
{
	if (!folder || getpid() != folder_pid)
		return;
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *path = g_build_filename(folder, files[i].name, NULL);
		g_unlink(path);
	}
	g_autofree char *sub = g_build_filename(folder, "matrices", NULL);
	g_rmdir(sub);
	g_rmdir(folder);
}

static void folder_make(void)
{
	g_autofree char *sub = NULL;

	folder = g_dir_make_tmp("kdh-fuzz-matrix-XXXXXX", NULL);
	if (!folder)
		abort();
	folder_pid = getpid();
	atexit(folder_remove);
	sub = g_build_filename(folder, "matrices", NULL);
	if (g_mkdir(sub, 0700) != 0)
		abort();
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *path = g_build_filename(folder, files[i].name, NULL);
		if (!g_file_set_contents(path, files[i].text, -1, NULL))
			abort();
	}
}

int kdh_fuzz_matrix(const uint8_t *data, size_t size)
{
	g_autofree char *text = g_malloc(size + 1);
	g_autofree char *name = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = NULL;

	if (!folder || getpid() != folder_pid)
		folder_make();
	memcpy(text, data, size);
	text[size] = '\0';
	name = g_build_filename(folder, "matrices", "fuzz.ini", NULL);
	cases = kdh_matrix_load_data(name, text, &error);
	if (!cases == !error)
		abort();
	if (error) {
		if (!kdh_fuzz_names_file_line(error->message, name) ||
		    !g_utf8_validate(error->message, -1, NULL))
			abort();
		return 0;
	}
	if (cases->len == 0 || cases->len > KDH_MATRIX_MAX_CASES ||
	    !kdh_cases_names_unique(cases, NULL))
		abort();
	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		if (!c->matrix_kernel || !c->matrix_scenario || !c->kernel_ref)
			abort();
	}
	return 0;
}
