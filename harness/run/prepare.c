/* What the cases of a run share, made once before the first VM: kernels,
 * the crash module and LKDTM where triggers need them, images, the base
 * disk.  A kernel lacking what a trigger needs blocks those cases only. */
#include "image/image.h"
#include "run/internal.h"

#include <string.h>

/* Why the cases of one kernel that need one thing cannot run. */
typedef struct {
	KdhVerdict verdict;
	char *why;
} Blocked;

static void blocked_free(gpointer p)
{
	Blocked *b = p;

	g_free(b->why);
	g_free(b);
}

struct KdhPrepared {
	GHashTable *kernels;  /* kernel ref -> KdhKernel* */
	GHashTable *images;   /* "<kernel ref>\n<image>" -> KdhBootImage* */
	GHashTable *blocked;  /* "<kernel ref>\n<what>" -> Blocked* (blocked_key) */
	GHashTable *vmlinux;  /* kernel ref -> the vmlinux crash(8) reads its dumps with */
	GHashTable *crashmod; /* kernel ref -> its kdh_crash.ko */
	char *base;           /* the shared empty disk, when a case's image has none */
};

KdhPrepared *kdh_prepared_new(void)
{
	KdhPrepared *p = g_new0(KdhPrepared, 1);

	p->kernels =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)kdh_kernel_free);
	p->images = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                  (GDestroyNotify)kdh_boot_image_free);
	p->blocked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, blocked_free);
	p->vmlinux = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	p->crashmod = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return p;
}

void kdh_prepared_free(KdhPrepared *p)
{
	if (!p)
		return;
	g_hash_table_unref(p->kernels);
	g_hash_table_unref(p->images);
	g_hash_table_unref(p->blocked);
	g_hash_table_unref(p->vmlinux);
	g_hash_table_unref(p->crashmod);
	g_free(p->base);
	g_free(p);
}

const KdhKernel *kdh_prepared_kernel(const KdhPrepared *p, const KdhCase *c)
{
	return g_hash_table_lookup(p->kernels, c->kernel_ref);
}

/* Per kernel ref, like everything the image carries (the crash module,
 * LKDTM) is decided: two refs of one release may want different images,
 * and kdh_image_mini's own cache makes the same image once. */
static char *image_key(const KdhCase *c)
{
	return g_strdup_printf("%s\n%s", c->kernel_ref, c->image);
}

const KdhBootImage *kdh_prepared_image(const KdhPrepared *p, const KdhCase *c)
{
	g_autofree char *key = image_key(c);

	return g_hash_table_lookup(p->images, key);
}

const char *kdh_prepared_base(const KdhPrepared *p, const KdhCase *c)
{
	const KdhBootImage *img = kdh_prepared_image(p, c);

	return img && img->disk ? img->disk : p->base;
}

/* What blocks a kernel's cases: a trigger's needs, or crash=yes. */
#define CRASH_YES ((int)KDH_NEEDS_LKDTM + 1)

static char *blocked_key(const char *ref, int what)
{
	return g_strdup_printf("%s\n%d", ref, what);
}

static const Blocked *find_blocked(const KdhPrepared *p, const char *ref, int what)
{
	g_autofree char *key = blocked_key(ref, what);

	return g_hash_table_lookup(p->blocked, key);
}

const char *kdh_prepared_blocked(const KdhPrepared *p, const KdhCase *c, KdhVerdict *verdict)
{
	const Blocked *b = find_blocked(p, c->kernel_ref, (int)c->trigger->needs);

	if (!b && c->verify_crash == KDH_VERIFY_CRASH_YES)
		b = find_blocked(p, c->kernel_ref, CRASH_YES);
	if (!b)
		return NULL;
	*verdict = b->verdict;
	return b->why;
}

const char *kdh_prepared_vmlinux(const KdhPrepared *p, const KdhCase *c)
{
	if (c->verify_crash == KDH_VERIFY_CRASH_NO)
		return NULL;
	return g_hash_table_lookup(p->vmlinux, c->kernel_ref);
}

const char *kdh_prepared_crashmod(const KdhPrepared *p, const KdhCase *c)
{
	if (c->trigger->needs != KDH_NEEDS_CRASHMOD)
		return NULL;
	return g_hash_table_lookup(p->crashmod, c->kernel_ref);
}

static void block(KdhPrepared *p, const char *ref, int what, KdhVerdict verdict, char *why)
{
	Blocked *b = g_new0(Blocked, 1);

	b->verdict = verdict;
	b->why = why;
	g_hash_table_insert(p->blocked, blocked_key(ref, what), b);
}

/* One line for what the run made once. */
static void say_prepared(const KdhRunContext *ctx, const char *what, gint64 start,
                         const char *detail)
{
	g_print("  %-9s %6.1f s  %s\n", what, (ctx->ops->now() - start) / 1e6, detail);
}

/* Whether a case of CASES on kernel REF has a trigger that needs NEEDS. */
static gboolean kernel_needs(GPtrArray *cases, const char *ref, KdhTriggerNeeds needs)
{
	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		if (c->trigger->needs == needs && g_str_equal(c->kernel_ref, ref))
			return TRUE;
	}
	return FALSE;
}

/* Whether a case of CASES on kernel REF asks for crash=VERIFY. */
static gboolean kernel_verify(GPtrArray *cases, const char *ref, KdhVerifyCrash verify)
{
	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		if (c->verify_crash == verify && g_str_equal(c->kernel_ref, ref))
			return TRUE;
	}
	return FALSE;
}

/* The vmlinux crash(8) reads K's dumps with, when a case of K asks for the
 * cross-check: fetched for crash=yes, only when cached for crash=auto.
 * Cases of crash=yes that cannot have it are blocked: SKIP when there is
 * no debug info or crash cannot read K, ERROR when fetching failed. */
static void find_vmlinux(const KdhRunContext *ctx, KdhPrepared *p, GPtrArray *cases,
                         const KdhCase *c, const KdhKernel *k)
{
	gboolean yes = kernel_verify(cases, c->kernel_ref, KDH_VERIFY_CRASH_YES);
	g_autoptr(GError) why = NULL;
	g_autofree char *unreadable = NULL;
	gint64 start = ctx->ops->now();
	char *path;

	if (!yes && !kernel_verify(cases, c->kernel_ref, KDH_VERIFY_CRASH_AUTO))
		return;
	if (!kdh_crash_reads_kernel(k->release, &unreadable)) {
		block(
		    p, c->kernel_ref, CRASH_YES, KDH_VERDICT_SKIP,
		    g_strdup_printf("crash(8) cross-check asked (crash=yes), but %s", unreadable));
		return;
	}
	if (!(path = ctx->ops->vmlinux(ctx, k, yes, &why))) {
		block(p, c->kernel_ref, CRASH_YES,
		      g_error_matches(why, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_DEBUG_INFO)
		          ? KDH_VERDICT_SKIP
		          : KDH_VERDICT_ERROR,
		      g_strdup_printf("crash(8) cross-check asked (crash=yes): %s", why->message));
		return;
	}
	say_prepared(ctx, "vmlinux", start, path);
	g_hash_table_insert(p->vmlinux, g_strdup(c->kernel_ref), path);
}

gboolean kdh_run_prepare_kernels(const KdhRunContext *ctx, KdhPrepared *p, GPtrArray *cases,
                                 GError **error)
{
	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		g_autoptr(GError) why = NULL;
		g_autofree char *detail = NULL;
		gint64 start = ctx->ops->now();
		KdhKernel *k;

		if (g_hash_table_contains(p->kernels, c->kernel_ref))
			continue;
		if (!(k = ctx->ops->kernel(ctx, c, &why))) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
			            "%s:%u: [kernel] ref=%s: %s", c->source, c->kernel_line,
			            c->kernel_ref, why->message);
			return FALSE;
		}
		if (k->package)
			detail = g_strdup_printf("%s: %s (%s %s)", c->kernel_ref, k->release,
			                         k->package, k->version ? k->version : "");
		else
			detail = g_strdup_printf("%s: %s", c->kernel_ref, k->release);
		say_prepared(ctx, "kernel", start, detail);
		g_hash_table_insert(p->kernels, g_strdup(c->kernel_ref), k);
		find_vmlinux(ctx, p, cases, c, k);
	}
	return TRUE;
}

/* The crash module for K into EXTRAS, or the cases needing it blocked:
 * SKIP when K has no build tree, ERROR when the build failed. */
static void add_crashmod(const KdhRunContext *ctx, KdhPrepared *p, const KdhCase *c,
                         const KdhKernel *k, GPtrArray *extras)
{
	g_autoptr(GError) why = NULL;
	gint64 start = ctx->ops->now();
	char *ko = ctx->ops->crashmod(ctx, k, &why);

	if (ko) {
		say_prepared(ctx, "crashmod", start, ko);
		g_hash_table_insert(p->crashmod, g_strdup(c->kernel_ref), g_strdup(ko));
		g_ptr_array_add(extras, ko);
		return;
	}
	block(p, c->kernel_ref, (int)KDH_NEEDS_CRASHMOD,
	      g_error_matches(why, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_UNSUPPORTED)
	          ? KDH_VERDICT_SKIP
	          : KDH_VERDICT_ERROR,
	      g_strdup_printf("the crash module for %s: %s", k->release, why->message));
}

/* LKDTM in K: built in (nothing to add), a module (added to EXTRAS), or
 * absent (the cases needing it are a SKIP saying so). */
static void add_lkdtm(KdhPrepared *p, const KdhCase *c, const KdhKernel *k, GPtrArray *extras)
{
	static const char *const wanted[] = {"lkdtm", NULL};
	g_autoptr(GError) why = NULL;
	g_autoptr(GHashTable) config = NULL;
	const char *state;
	g_autoptr(GPtrArray) order = NULL;

	if (k->config)
		config = kdh_kconfig_load(k->config, &why);
	else
		g_set_error(&why, KDH_KERNEL_ERROR, 0, "the kernel entry names none");
	state = config ? g_hash_table_lookup(config, "LKDTM") : NULL;

	if (g_strcmp0(state, "y") == 0)
		return;
	if (g_strcmp0(state, "m") == 0 &&
	    (order = kdh_modules_load_order(k->modules_dir, wanted, &why)) && order->len == 1) {
		g_ptr_array_add(
		    extras, g_build_filename(k->modules_dir, g_ptr_array_index(order, 0), NULL));
		return;
	}
	block(p, c->kernel_ref, (int)KDH_NEEDS_LKDTM, KDH_VERDICT_SKIP,
	      !config ? g_strdup_printf("kernel %s has no configuration to tell whether it has "
	                                "LKDTM: %s",
	                                k->release, why->message)
	      : state ? g_strdup_printf("kernel %s has LKDTM as a module kdh cannot load (%s)",
	                                k->release, why ? why->message : "it needs other modules")
	              : g_strdup_printf("kernel %s has no LKDTM (CONFIG_LKDTM is not set; a kernel "
	                                "built with kconfigs/lkdtm.config has it)",
	                                k->release));
}

/* The image of C's kernel, with what any case of that kernel needs. */
static KdhBootImage *make_image(const KdhRunContext *ctx, KdhPrepared *p, GPtrArray *cases,
                                const KdhCase *c, const KdhKernel *k, GError **error)
{
	g_autoptr(GPtrArray) extras = g_ptr_array_new_with_free_func(g_free);

	if (kernel_needs(cases, c->kernel_ref, KDH_NEEDS_CRASHMOD))
		add_crashmod(ctx, p, c, k, extras);
	if (kernel_needs(cases, c->kernel_ref, KDH_NEEDS_LKDTM))
		add_lkdtm(p, c, k, extras);
	g_ptr_array_add(extras, NULL);
	return ctx->ops->image(ctx, c, k, (const char *const *)extras->pdata, error);
}

gboolean kdh_run_prepare_guests(const KdhRunContext *ctx, KdhPrepared *p, GPtrArray *cases,
                                GError **error)
{
	gboolean shared_disk = FALSE;
	gint64 start;

	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		const KdhKernel *k = kdh_prepared_kernel(p, c);
		g_autofree char *key = NULL;
		g_autoptr(GError) why = NULL;
		KdhBootImage *img;

		g_return_val_if_fail(k, FALSE);
		key = image_key(c);
		if ((img = g_hash_table_lookup(p->images, key))) {
			shared_disk = shared_disk || !img->disk;
			continue;
		}
		start = ctx->ops->now();
		if (!(img = make_image(ctx, p, cases, c, k, &why))) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
			            "%s: the %s image for %s: %s", c->source, c->image, k->release,
			            why->message);
			return FALSE;
		}
		say_prepared(ctx, "image", start, img->disk ? img->disk : img->initrd);
		shared_disk = shared_disk || !img->disk;
		g_hash_table_insert(p->images, g_steal_pointer(&key), img);
	}
	/* Made once: a session prepares every batch of its cases here. */
	if (!shared_disk || p->base)
		return TRUE;
	start = ctx->ops->now();
	if (!(p->base = ctx->ops->base(ctx, error)))
		return FALSE;
	say_prepared(ctx, "disk", start, p->base);
	return TRUE;
}
