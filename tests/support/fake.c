/* The fake VM backend and clock (fake.h). */
#include "fake.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static gint64 clock_us;

gint64 kdh_fake_now(void)
{
	return clock_us;
}

void kdh_fake_sleep(gulong usec)
{
	clock_us += usec;
}

static const KdhFakeLine *script;
static gsize script_len;
static KdhFakeVmLog log_;

void kdh_fake_vm_script(const KdhFakeLine *lines, gsize n)
{
	script = lines;
	script_len = n;
	g_free(log_.name);
	g_free(log_.cmdline);
	log_ = (KdhFakeVmLog){0};
}

const KdhFakeVmLog *kdh_fake_vm_log(void)
{
	return &log_;
}

struct KdhVm {
	FILE *serial;
	gint64 start;
	gint64 nmi_at; /* -1: none yet */
	gsize next;    /* the next script line to play */
	gboolean ended;
};

static KdhVm *fake_start(const KdhVmConfig *cfg, GError **error)
{
	KdhVm *vm = g_new0(KdhVm, 1);

	(void)error;
	vm->serial = fopen(cfg->serial_log, "wb");
	ck_assert_msg(vm->serial, "cannot write %s", cfg->serial_log);
	vm->start = clock_us;
	vm->nmi_at = -1;
	log_.starts++;
	g_free(log_.name);
	g_free(log_.cmdline);
	log_.name = g_strdup(cfg->name);
	log_.cmdline = g_strdup(cfg->cmdline);
	return vm;
}

/* Plays every script line that is due, in order: a line waiting for an NMI
 * holds back the ones after it, as a guest blocked on it would. */
static void play(KdhVm *vm)
{
	while (!vm->ended && vm->next < script_len) {
		const KdhFakeLine *l = &script[vm->next];
		gint64 from = l->after_nmi ? vm->nmi_at : vm->start;
		if (from < 0 || clock_us - from < (gint64)(l->at * G_USEC_PER_SEC))
			return;
		if (!l->text) {
			vm->ended = TRUE;
		} else {
			gsize len = l->len ? (gsize)l->len : strlen(l->text);
			ck_assert_uint_eq(fwrite(l->text, 1, len, vm->serial), len);
			fflush(vm->serial);
		}
		vm->next++;
	}
}

static gboolean fake_running(KdhVm *vm, GError **error)
{
	(void)error;
	play(vm);
	return !vm->ended;
}

static gboolean fake_inject_nmi(KdhVm *vm, GError **error)
{
	(void)error;
	log_.nmis++;
	if (vm->nmi_at < 0)
		vm->nmi_at = clock_us;
	return TRUE;
}

static void fake_destroy(KdhVm *vm)
{
	if (!vm)
		return;
	log_.destroyed = TRUE;
	fclose(vm->serial);
	g_free(vm);
}

const KdhVmBackend kdh_fake_vm = {
    .name = "fake",
    .start = fake_start,
    .running = fake_running,
    .inject_nmi = fake_inject_nmi,
    .destroy = fake_destroy,
};
