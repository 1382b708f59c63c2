/* The fake VM backend and clock (fake.h). */
#include "fake.h"

#include <check.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

/* Shared by every thread of a run: a runner with several jobs advances it
 * from each, which only plays the scripts sooner, never out of order. */
static gint64 clock_us;
/* Guards the log and the VMs' lines (one VM per job thread). */
static GMutex fake_lock;

gint64 kdh_fake_now(void)
{
	return __atomic_load_n(&clock_us, __ATOMIC_SEQ_CST);
}

/* A 200th of the virtual time passes for real (a 14 s cycle in 70 ms),
 * so the VMs of several jobs overlap as real ones do, even on a loaded
 * host, instead of one playing to its end before the next thread is
 * scheduled. */
void kdh_fake_sleep(gulong usec)
{
	__atomic_add_fetch(&clock_us, (gint64)usec, __ATOMIC_SEQ_CST);
	g_usleep(usec / 200);
}

static const KdhFakeLine *script;
static gsize script_len;
static KdhFakeVmLog log_;
static gint refused = -1; /* a KdhVmEvent, -1: none */

void kdh_fake_vm_refuse(KdhVmEvent event)
{
	refused = (gint)event;
}

void kdh_fake_vm_refuse_nothing(void)
{
	refused = -1;
}

void kdh_fake_vm_script(const KdhFakeLine *lines, gsize n)
{
	script = lines;
	script_len = n;
	g_free(log_.name);
	g_free(log_.cmdline);
	g_free(log_.uris);
	log_ = (KdhFakeVmLog){0};
	log_.first_injection = -1;
}

const KdhFakeVmLog *kdh_fake_vm_log(void)
{
	return &log_;
}

const char kdh_fake_rotate[] = "(rotate)";
const char kdh_fake_flood[] = "(flood)";

struct KdhVm {
	FILE *serial;
	char *serial_path;
	gint64 start;
	gint64 host_at; /* the first injection; -1: none yet */
	gsize next;     /* the next script line to play */
	gboolean ended;
	guint64 footprint; /* what it takes from the host, as kdh counts it */
	char *uri;         /* its host: one whose URI holds "lost" drops at 3 s */
};

static KdhVm *fake_start(const KdhVmConfig *cfg, GError **error)
{
	KdhVm *vm = g_new0(KdhVm, 1);

	(void)error;
	vm->serial = fopen(cfg->serial_log, "wb");
	ck_assert_msg(vm->serial, "cannot write %s", cfg->serial_log);
	vm->serial_path = g_strdup(cfg->serial_log);
	vm->start = kdh_fake_now();
	vm->host_at = -1;
	g_mutex_lock(&fake_lock);
	log_.starts++;
	log_.max_running = MAX(log_.max_running, log_.starts - log_.destroys);
	vm->footprint = kdh_guest_footprint(cfg->memory);
	log_.footprint += vm->footprint;
	log_.max_footprint = MAX(log_.max_footprint, log_.footprint);
	g_free(log_.name);
	g_free(log_.cmdline);
	log_.name = g_strdup(cfg->name);
	log_.cmdline = g_strdup(cfg->cmdline);
	{
		g_autofree char *uris = log_.uris;
		log_.uris = g_strdup_printf("%s%s\n", uris ? uris : "", cfg->uri ? cfg->uri : "-");
	}
	vm->uri = g_strdup(cfg->uri);
	g_mutex_unlock(&fake_lock);
	return vm;
}

/* What virtlogd does at max_size: the oldest of its max_backups (3) kept
 * files dropped, every other one up, a new log. */
static void rotate(KdhVm *vm)
{
	g_autofree char *oldest = g_strdup_printf("%s.2", vm->serial_path);

	g_unlink(oldest);
	for (int i = 2; i >= 0; i--) {
		g_autofree char *from = i ? g_strdup_printf("%s.%d", vm->serial_path, i - 1)
		                          : g_strdup(vm->serial_path);
		g_autofree char *to = g_strdup_printf("%s.%d", vm->serial_path, i);
		if (g_file_test(from, G_FILE_TEST_EXISTS))
			ck_assert_int_eq(rename(from, to), 0);
	}
	fclose(vm->serial);
	vm->serial = fopen(vm->serial_path, "wb");
	ck_assert_ptr_nonnull(vm->serial);
}

static void flood(KdhVm *vm, gsize len)
{
	const gsize size = 1 << 20;
	g_autofree char *chunk = g_malloc(size);

	memset(chunk, 'x', size);
	for (gsize done = 0; done < len;) {
		gsize n = MIN(size, len - done);
		ck_assert_uint_eq(fwrite(chunk, 1, n, vm->serial), n);
		done += n;
	}
}

/* Plays every script line that is due, in order: a line waiting for the host
 * holds back the ones after it, as a guest blocked on it would. */
static void play(KdhVm *vm)
{
	while (!vm->ended && vm->next < script_len) {
		const KdhFakeLine *l = &script[vm->next];
		gint64 from = l->after_host ? vm->host_at : vm->start;
		if (from < 0 || kdh_fake_now() - from < (gint64)(l->at * G_USEC_PER_SEC))
			return;
		if (!l->text) {
			vm->ended = TRUE;
		} else if (l->text == kdh_fake_rotate) {
			rotate(vm);
		} else if (l->text == kdh_fake_flood) {
			flood(vm, (gsize)l->len);
			fflush(vm->serial);
		} else {
			gsize len = l->len ? (gsize)l->len : strlen(l->text);
			ck_assert_uint_eq(fwrite(l->text, 1, len, vm->serial), len);
			fflush(vm->serial);
		}
		vm->next++;
	}
}

/* When a host whose URI holds "lost" drops the connection. */
#define LOST_AFTER_US ((gint64)3 * G_USEC_PER_SEC)

static gboolean fake_running(KdhVm *vm, GError **error)
{
	if (vm->uri && strstr(vm->uri, "lost") && kdh_fake_now() - vm->start >= LOST_AFTER_US &&
	    !vm->ended) {
		vm->ended = TRUE;
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_CONNECTION_LOST,
		            "libvirt connection lost (%s: the fake host dropped it)", vm->uri);
		return FALSE;
	}
	play(vm);
	return !vm->ended;
}

static gboolean fake_inject(KdhVm *vm, KdhVmEvent event, GError **error)
{
	g_mutex_lock(&fake_lock);
	log_.injected[event]++;
	if (log_.first_injection < 0)
		log_.first_injection = (double)(kdh_fake_now() - vm->start) / G_USEC_PER_SEC;
	g_mutex_unlock(&fake_lock);
	if ((gint)event == refused) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_UNSUPPORTED, "the fake cannot do %s",
		            kdh_vm_event_name(event));
		return FALSE;
	}
	if (vm->host_at < 0)
		vm->host_at = kdh_fake_now();
	return TRUE;
}

static void fake_destroy(KdhVm *vm)
{
	if (!vm)
		return;
	g_mutex_lock(&fake_lock);
	log_.destroys++;
	log_.footprint -= vm->footprint;
	g_mutex_unlock(&fake_lock);
	fclose(vm->serial);
	g_free(vm->serial_path);
	g_free(vm->uri);
	g_free(vm);
}

const KdhVmBackend kdh_fake_vm = {
    .name = "fake",
    .start = fake_start,
    .running = fake_running,
    .inject = fake_inject,
    .destroy = fake_destroy,
};
