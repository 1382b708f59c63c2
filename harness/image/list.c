/* kdh image list: the complete entries of CACHE_DIR/images. */
#include "image/image.h"

#include <ftw.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

void kdh_image_info_free(KdhImageInfo *info)
{
	if (!info)
		return;
	g_free(info->id);
	g_free(info->kind);
	g_free(info->release);
	g_free(info->dir);
	g_free(info);
}

/* nftw has no user data: the running total of the one walk in progress
 * (kdh image list is not called from several threads). */
static guint64 walk_total;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	walk_total += (guint64)st->st_blocks * 512;
	return 0;
}

static guint64 tree_size(const char *dir)
{
	walk_total = 0;
	nftw(dir, add_size, 16, FTW_PHYS);
	return walk_total;
}

/* "<kind>-<release>-<hash>" → kind and release; the release may hold '-'. */
static gboolean split_name(const char *name, char **kind, char **release)
{
	const char *first = strchr(name, '-');
	const char *last = strrchr(name, '-');

	if (!first || last <= first + 1)
		return FALSE;
	*kind = g_strndup(name, first - name);
	*release = g_strndup(first + 1, last - first - 1);
	return TRUE;
}

static gint by_id(gconstpointer a, gconstpointer b)
{
	return strcmp((*(KdhImageInfo *const *)a)->id, (*(KdhImageInfo *const *)b)->id);
}

GPtrArray *kdh_image_list(const char *cache_dir, GError **error)
{
	g_autofree char *images = g_build_filename(cache_dir, "images", NULL);
	g_autoptr(GPtrArray) list =
	    g_ptr_array_new_with_free_func((GDestroyNotify)kdh_image_info_free);
	g_autoptr(GError) local = NULL;
	g_autoptr(GDir) d = g_dir_open(images, 0, &local);
	const char *name;

	if (!d) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return g_steal_pointer(&list);
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	while ((name = g_dir_read_name(d))) {
		g_autofree char *kind = NULL, *release = NULL;
		g_autofree char *dir = NULL;
		GStatBuf st;
		KdhImageInfo *info;

		/* .tmp-*, .lock-*, .apt-*: builds in progress and their locks. */
		if (name[0] == '.' || !split_name(name, &kind, &release))
			continue;
		if (!g_str_equal(kind, "mini") && !g_str_equal(kind, "debian"))
			continue;
		dir = g_build_filename(images, name, NULL);
		if (g_stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		info = g_new0(KdhImageInfo, 1);
		info->id = g_strdup(name);
		info->kind = g_steal_pointer(&kind);
		info->release = g_steal_pointer(&release);
		info->dir = g_steal_pointer(&dir);
		info->size = tree_size(info->dir);
		info->mtime = st.st_mtime;
		g_ptr_array_add(list, info);
	}
	g_ptr_array_sort(list, by_id);
	return g_steal_pointer(&list);
}
