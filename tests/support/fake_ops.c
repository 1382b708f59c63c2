/* Fake host steps for the runner (fake_ops.c). */
#include "fake.h"

#include <check.h>
#include <signal.h>

static guint retrievals; /* disks read */
static guint batches;    /* appliance launches */

void kdh_fake_ops_reset(void)
{
	kdh_fake_vm_refuse_nothing();
	__atomic_store_n(&retrievals, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&batches, 0, __ATOMIC_SEQ_CST);
}

guint kdh_fake_retrievals(void)
{
	return __atomic_load_n(&retrievals, __ATOMIC_SEQ_CST);
}

guint kdh_fake_batches(void)
{
	return __atomic_load_n(&batches, __ATOMIC_SEQ_CST);
}

KdhKernel *kdh_fake_kernel(const KdhRunContext *ctx, const KdhCase *c, GError **error)
{
	KdhKernel *k = g_new0(KdhKernel, 1);

	(void)ctx, (void)error;
	k->ref = g_strdup(c->kernel_ref);
	k->release = g_strdup(KDH_FAKE_RELEASE);
	k->package = g_strdup("linux-image-" KDH_FAKE_RELEASE "-unsigned");
	k->version = g_strdup("6.1.192-2");
	k->vmlinuz = g_strdup("/nonexistent/vmlinuz");
	return k;
}

char *kdh_fake_crashmod(const KdhRunContext *ctx, const KdhKernel *k, GError **error)
{
	(void)ctx, (void)k, (void)error;
	return g_strdup("/nonexistent/kdh_crash.ko");
}

char *kdh_fake_vmlinux(const KdhRunContext *ctx, const KdhKernel *k, gboolean fetch, GError **error)
{
	(void)ctx, (void)fetch;
	g_set_error(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_DEBUG_INFO,
	            "kernel %s: the fake has no vmlinux", k->release);
	return NULL;
}

KdhBootImage *kdh_fake_image(const KdhRunContext *ctx, const KdhCase *c, const KdhKernel *k,
                             const char *const *extras, GError **error)
{
	KdhBootImage *img = g_new0(KdhBootImage, 1);

	(void)ctx, (void)c, (void)k, (void)extras, (void)error;
	img->initrd = g_strdup("/nonexistent/initrd");
	return img;
}

char *kdh_fake_base(const KdhRunContext *ctx, GError **error)
{
	(void)ctx, (void)error;
	return g_strdup("/base.qcow2");
}

gboolean kdh_fake_overlay(const KdhRunContext *ctx, const char *base, const char *disk,
                          GError **error)
{
	(void)ctx, (void)base;
	return g_file_set_contents(disk, "", 0, error);
}

char *kdh_fake_configure(const KdhRunContext *ctx, const KdhCase *c, const KdhBootImage *img,
                         GError **error)
{
	(void)ctx, (void)c, (void)img, (void)error;
	return g_strdup("/layers/case.qcow2");
}

static KdhCrashFiles *crash_files(const char *dir)
{
	KdhCrashFiles *f = g_new0(KdhCrashFiles, 1);

	f->crash_dir = g_strdup(dir);
	f->files = g_ptr_array_new_with_free_func(g_free);
	f->skipped = g_ptr_array_new_with_free_func(g_free);
	return f;
}

/* The guest wrote the fixture dump to /var/crash/<stamp>/vmcore. */
static void fetch_dump(const KdhRunContext *ctx, KdhRetrieval *it)
{
	KdhCrashFiles *f = crash_files("/var/crash/20261126T091500Z");
	g_autofree char *data = NULL;
	gsize len;
	char *local = g_build_filename(it->dest_dir, "vmcore", NULL);

	(void)ctx;
	ck_assert(g_file_get_contents(KDH_FAKE_DUMP, &data, &len, NULL));
	ck_assert(g_file_set_contents(local, data, len, NULL));
	g_ptr_array_add(f->files, local);
	it->files = f;
}

/* Nothing in /var/crash. */
static void fetch_nothing(const KdhRunContext *ctx, KdhRetrieval *it)
{
	(void)ctx;
	g_set_error(&it->error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_NO_CRASH,
	            "no dump folder in /var/crash");
}

/* A user presses Ctrl-C while libguestfs launches: its appliance dies with
 * the signal and the launch fails with libguestfs' own long story. */
static void fetch_interrupted(const KdhRunContext *ctx, KdhRetrieval *it)
{
	*ctx->cancelled = SIGINT;
	g_set_error(&it->error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
	            "launching libguestfs: guestfs_launch failed.\nThis usually means the "
	            "libguestfs appliance failed to start or crashed.\nDo:\n  export "
	            "LIBGUESTFS_DEBUG=1 LIBGUESTFS_TRACE=1\nand run the command again.");
}

/* A batch retrieval made of one of the fetches above per disk; counts
 * appliance launches and disks. */
#define BATCH_OF(fetch)                                                                            \
	static gboolean retrieve_##fetch(const KdhRunContext *ctx, KdhRetrieval *items, guint n,   \
	                                 double *launch, GError **error)                           \
	{                                                                                          \
		(void)error;                                                                       \
		__atomic_add_fetch(&batches, 1, __ATOMIC_SEQ_CST);                                 \
		*launch = 10;                                                                      \
		for (guint i = 0; i < n; i++) {                                                    \
			__atomic_add_fetch(&retrievals, 1, __ATOMIC_SEQ_CST);                      \
			fetch(ctx, &items[i]);                                                     \
		}                                                                                  \
		return TRUE;                                                                       \
	}
BATCH_OF(fetch_dump)
BATCH_OF(fetch_nothing)
BATCH_OF(fetch_interrupted)

/* The wall clock of a fake run: a minute before the fixture dump's crash
 * (VMCOREINFO CRASHTIME 2026-11-26 09:15:15 UTC), so its dump is this
 * run's. */
static gint64 fake_wall(void)
{
	return KDH_FAKE_CRASH_TIME - 60;
}

#define FAKE_OPS(retrieve_fn)                                                                      \
	{                                                                                          \
		.kernel = kdh_fake_kernel, .crashmod = kdh_fake_crashmod,                          \
		.vmlinux = kdh_fake_vmlinux, .image = kdh_fake_image, .base = kdh_fake_base,       \
		.overlay = kdh_fake_overlay, .configure = kdh_fake_configure,                      \
		.retrieve = retrieve_fn, .now = kdh_fake_now, .wall = fake_wall,                   \
		.sleep = kdh_fake_sleep,                                                           \
	}
const KdhRunOps kdh_fake_ops_dump = FAKE_OPS(retrieve_fetch_dump);
const KdhRunOps kdh_fake_ops_nothing = FAKE_OPS(retrieve_fetch_nothing);
const KdhRunOps kdh_fake_ops_interrupted = FAKE_OPS(retrieve_fetch_interrupted);
