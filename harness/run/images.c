/* The image kinds ([vm] image=), one row each: how the guest is made, its
 * command line, and whether a case's settings go into its overlay (a
 * distro guest) or on the command line (the mini guest). */
#include "run/internal.h"

#include <string.h>

/* The most a file put into /lib/kdh/ of an overlay may be: the crash
 * module is ~300 KiB, LKDTM under 1 MiB. */
#define EXTRA_MAX ((gsize)64 << 20)

void kdh_boot_image_free(KdhBootImage *img)
{
	if (!img)
		return;
	g_free(img->initrd);
	g_free(img->disk);
	g_free(img->cmdline);
	g_strfreev(img->extras);
	kdh_disk_image_free(img->debian);
	g_free(img);
}

/* What the guest does on its side, as its init reads it: the row's action. */
static const char *const action_names[] = {
    [KDH_ACTION_SYSRQ] = "sysrq", [KDH_ACTION_WAIT] = "wait", [KDH_ACTION_MODULE] = "module",
    [KDH_ACTION_LKDTM] = "lkdtm", [KDH_ACTION_OOM] = "oom",
};

/* ---- mini: an initramfs, instructions on the command line ---- */

static KdhBootImage *mini_make(const KdhRunContext *ctx, const KdhCase *c, const KdhKernel *k,
                               const char *const *extras, GError **error)
{
	g_autofree char *recipe = g_build_filename(ctx->images_dir, c->image, NULL);
	g_autoptr(KdhBootImage) img = g_new0(KdhBootImage, 1);

	img->initrd = kdh_image_mini(k, recipe, extras, ctx->cache_dir, error);
	return img->initrd ? g_steal_pointer(&img) : NULL;
}

/* The guest's instructions as images/mini/init reads them. */
static char *mini_cmdline(const KdhCase *c, const KdhBootImage *img)
{
	const KdhTrigger *t = c->trigger;
	GString *s = g_string_new(NULL);

	(void)img;
	g_string_append_printf(s,
	                       "console=ttyS0 crashkernel=%s panic=1 kdh.trigger=%s kdh.action=%s",
	                       c->crashkernel, t->name, action_names[t->action]);
	if (t->arg)
		g_string_append_printf(s, " kdh.arg=%s", t->arg);
	if (*t->sysctls)
		g_string_append_printf(s, " kdh.sysctl=%s", t->sysctls);
	if (c->cpu >= 0)
		g_string_append_printf(s, " kdh.cpu=%d", c->cpu);
	g_string_append_printf(s, " kdh.collector=%s kdh.dump_level=%u kdh.compression=%s",
	                       c->collector, c->dump_level, c->compression);
	return g_string_free(s, FALSE);
}

/* ---- debian: a disk of its own, settings written into the overlay ---- */

static KdhBootImage *debian_make(const KdhRunContext *ctx, const KdhCase *c, const KdhKernel *k,
                                 const char *const *extras, GError **error)
{
	g_autofree char *recipe = g_build_filename(ctx->images_dir, c->image, NULL);
	g_autoptr(KdhBootImage) img = g_new0(KdhBootImage, 1);

	img->debian =
	    kdh_image_debian(k, recipe, ctx->cache_dir, ctx->accel == KDH_ACCEL_TCG, error);
	if (!img->debian)
		return NULL;
	img->initrd = g_strdup(img->debian->initrd);
	img->disk = g_strdup(img->debian->disk);
	img->cmdline = kdh_image_debian_cmdline(img->debian);
	if (extras && *extras)
		img->extras = g_strdupv((char **)extras);
	return g_steal_pointer(&img);
}

static char *debian_cmdline(const KdhCase *c, const KdhBootImage *img)
{
	return g_strdup_printf("console=ttyS0 crashkernel=%s panic=1%s%s", c->crashkernel,
	                       img->cmdline ? " " : "", img->cmdline ? img->cmdline : "");
}

static const KdhImageKind kinds[] = {
    {"mini", mini_make, mini_cmdline, FALSE},
    {"debian", debian_make, debian_cmdline, TRUE},
};

const KdhImageKind *kdh_image_kind_find(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
		if (g_strcmp0(kinds[i].name, name) == 0)
			return &kinds[i];
	}
	return NULL;
}

/* EXTRAS as files in /lib/kdh/ of the guest, into FILES. */
static gboolean add_extras(GPtrArray *files, const char *const *extras, GError **error)
{
	for (const char *const *e = extras; e && *e; e++) {
		g_autofree char *data = NULL, *base = g_path_get_basename(*e);
		g_autofree char *path = g_build_filename("/lib/kdh", base, NULL);
		KdhGuestFile *f;
		gsize len;

		if (!g_file_get_contents(*e, &data, &len, error))
			return FALSE;
		if (len > EXTRA_MAX) {
			g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
			            "%s is larger than %" G_GSIZE_FORMAT " MiB", *e,
			            EXTRA_MAX >> 20);
			return FALSE;
		}
		f = kdh_guest_file_new(path, "", 0644);
		g_free(f->content);
		f->content = g_steal_pointer(&data);
		f->len = len;
		g_ptr_array_add(files, f);
	}
	return TRUE;
}

GPtrArray *kdh_run_case_settings(const KdhCase *c, const KdhBootImage *img, GError **error)
{
	const KdhTrigger *t = c->trigger;
	KdhGuestSettings s = {
	    .trigger = t->name,
	    .action = action_names[t->action],
	    .arg = t->arg,
	    .sysctls = t->sysctls,
	    .cpu = c->cpu,
	    .collector = c->collector,
	    .dump_level = c->dump_level,
	    .compression = c->compression,
	};
	g_autoptr(GPtrArray) files = NULL;

	if (!img->debian) {
		g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
		            "image=%s takes no settings in its disk", c->image);
		return NULL;
	}
	files = kdh_image_debian_settings(img->debian, &s, error);
	if (!files || !add_extras(files, (const char *const *)img->extras, error))
		return NULL;
	return g_steal_pointer(&files);
}

/* Adds LEN bytes of DATA and a NUL to SUM: a field of its own, so no two
 * lists hash alike by shifting bytes from one field to the next. */
static void hash_field(GChecksum *sum, const void *data, gsize len)
{
	g_checksum_update(sum, data, len);
	g_checksum_update(sum, (const guchar *)"", 1);
}

char *kdh_run_settings_key(const KdhBootImage *img, GPtrArray *files)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);

	hash_field(sum, img->disk, strlen(img->disk));
	for (guint i = 0; i < files->len; i++) {
		const KdhGuestFile *f = g_ptr_array_index(files, i);
		g_autofree char *mode = g_strdup_printf("%o", f->mode);
		const char *target = f->target ? f->target : "";

		hash_field(sum, f->path, strlen(f->path));
		hash_field(sum, target, strlen(target));
		hash_field(sum, mode, strlen(mode));
		hash_field(sum, f->target ? "" : f->content, f->target ? 0 : f->len);
	}
	return g_strdup_printf("%s-%.16s.qcow2", img->debian ? img->debian->id : "image",
	                       g_checksum_get_string(sum));
}
