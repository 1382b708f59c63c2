/* Placeholder until the crash module's build lands (branch i9-crashmod):
 * every kernel is said to have no build tree, so module cases are SKIPs. */
#include "image/image.h"

char *kdh_crashmod_build(const KdhKernel *k, const char *source_dir, const char *cache_dir,
                         GError **error)
{
	(void)source_dir, (void)cache_dir;
	g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_UNSUPPORTED,
	            "kdh cannot build the crash module for %s yet", k->release);
	return NULL;
}
