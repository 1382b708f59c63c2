/* A vmlinux with DWARF for crash(8): the one a cache entry holds, or a
 * Debian kernel's -dbg fetched on request. */
#include "kernel/internal.h"

/* PATH when it is an ELF file with DWARF; else NULL with NO_DEBUG_INFO (no
 * DWARF) or FAILED (unreadable). */
static char *with_dwarf(const char *path, GError **error)
{
	g_autofree char *build_id = NULL;
	gboolean dwarf;
	GError *local = NULL;

	if (!kdh_elf_inspect(path, &build_id, &dwarf, &local)) {
		g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_FAILED, "%s", local->message);
		g_error_free(local);
		return NULL;
	}
	if (!dwarf) {
		g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_DEBUG_INFO,
		            "%s has no DWARF debug info (.debug_info)", path);
		return NULL;
	}
	return g_strdup(path);
}

char *kdh_kernel_debug_vmlinux(const KdhKernel *k, gboolean fetch, const char *cache_dir,
                               GError **error)
{
	gboolean debian = g_strcmp0(k->source, "debian") == 0;
	g_autofree char *ref = NULL;
	g_autoptr(KdhKernel) fetched = NULL;

	if (k->vmlinux)
		return with_dwarf(k->vmlinux, error);
	if (!debian) {
		g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_DEBUG_INFO,
		            g_strcmp0(k->source, "build") == 0
		                ? "kernel %s was built without debug info (no boot/vmlinux-%s; "
		                  "kconfigs/kdump.config sets CONFIG_DEBUG_INFO)"
		                : "kernel %s has no vmlinux with debug info (import one with "
		                  "boot/vmlinux-%s beside the kernel)",
		            k->ref, k->release);
		return NULL;
	}
	ref = g_strdup_printf("debian:%s", k->release);
	if (!fetch) {
		g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_DEBUG_INFO,
		            "no debug vmlinux is cached for %s (`kdh kernel fetch --debug %s`)",
		            k->ref, ref);
		return NULL;
	}
	fetched = kdh_kernel_fetch_debian(ref, TRUE, cache_dir, error);
	if (!fetched)
		return NULL;
	/* apt may have moved on since K was cached: a -dbg of another build
	 * would not match the dump. */
	if (g_strcmp0(fetched->version, k->version) != 0 || !fetched->vmlinux) {
		g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_DEBUG_INFO,
		            "apt offers linux-image-%s-dbg %s, but the kernel under test is "
		            "version %s: no matching debug vmlinux",
		            k->release, fetched->version ? fetched->version : "(unknown)",
		            k->version ? k->version : "(unknown)");
		return NULL;
	}
	return with_dwarf(fetched->vmlinux, error);
}
