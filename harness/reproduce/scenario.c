/* KdhField -> the scenario file that reproduces it: the same kernel, RAM,
 * CPUs and crashkernel=, the trigger of the same class.  Written through
 * GKeyFile so field text (a hostile reason line) is escaped, never parsed. */
#include "reproduce/reproduce.h"

#include "scenario/scenario.h"

#include <string.h>

char *kdh_reproduce_debian_ref(const char *release, const char *build)
{
	/* Debian's ABI names: <upstream>-<abi>-<flavour>, e.g. 6.1.0-56-amd64,
	 * 6.1.0-56-cloud-amd64, 6.1.0-56-rt-amd64; built by Debian (the
	 * version string's "Debian <package version>"). */
	g_autoptr(GRegex) abi = NULL;

	if (!release || !build)
		return NULL;
	abi = g_regex_new("^\\d+\\.\\d+\\.\\d+-\\d+(-[a-z0-9]+){1,2}$", 0, 0, NULL);
	g_assert(abi); /* a constant pattern */
	if (!g_regex_match(abi, release, 0, NULL) || !strstr(build, "Debian "))
		return NULL;
	return g_strconcat("debian:", release, NULL);
}

guint64 kdh_reproduce_guest_memory(guint64 ram)
{
	const guint64 step = 128ULL << 20;

	if (ram > KDH_REPRODUCE_MAX_MEMORY)
		return KDH_REPRODUCE_MAX_MEMORY;
	/* A machine's usable RAM is a little less than its size (firmware,
	 * holes): the next 128 MiB is the size it was given. */
	ram = (ram + step - 1) / step * step;
	return MAX(ram, KDH_REPRODUCE_MIN_MEMORY);
}

static void add_note(GPtrArray *notes, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void add_note(GPtrArray *notes, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(notes, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

char *kdh_reproduce_scenario(const KdhField *f, const KdhReproduceOptions *o, GPtrArray *notes,
                             GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *ref = NULL, *desc = NULL, *mem = NULL;
	const KdhTrigger *trig;
	guint64 memory;
	guint cpus;
	const char *ck;

	if (o->kernel)
		ref = g_strdup(o->kernel);
	else if (!(ref = kdh_reproduce_debian_ref(f->release, f->build))) {
		g_set_error(
		    error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_KERNEL,
		    "%s: kernel %s is not a Debian kernel kdh can fetch by its ABI: give the "
		    "kernel with --kernel import:PATH (or any kernel ref)",
		    f->source, f->release ? f->release : "(no \"Linux version\" line)");
		return NULL;
	}
	if (!f->klass || !f->klass->trigger || !(trig = kdh_trigger_find(f->klass->trigger))) {
		g_set_error(error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_INPUT,
		            "%s: crash class %s has no kdh trigger", f->source,
		            f->klass ? f->klass->name : "(none)");
		return NULL;
	}
	if (!f->ram_bytes) {
		memory = 1ULL << 30;
		add_note(notes, "the field's RAM is unknown (no Memory: or e820 line): 1G");
	} else {
		memory = kdh_reproduce_guest_memory(f->ram_bytes);
		if (f->ram_bytes > KDH_REPRODUCE_MAX_MEMORY)
			add_note(notes,
			         "the field had %" G_GUINT64_FORMAT
			         " MiB of RAM: the guest gets %" G_GUINT64_FORMAT
			         " MiB, kdh's largest",
			         f->ram_bytes >> 20, memory >> 20);
	}
	cpus = f->cpus ? MIN(f->cpus, KDH_REPRODUCE_MAX_CPUS) : 1;
	if (!f->cpus)
		add_note(notes, "the field's CPU count is unknown: 1 CPU");
	else if (f->cpus > KDH_REPRODUCE_MAX_CPUS)
		add_note(notes, "the field had %u CPUs: the guest gets %u", f->cpus, cpus);
	ck = f->crashkernel;
	if (!ck || !kdh_crashkernel_valid(ck)) {
		if (ck)
			add_note(notes, "the field's crashkernel=%s is not one kdh can pass on: %s",
			         ck, KDH_REPRODUCE_DEFAULT_CRASHKERNEL);
		else
			add_note(notes,
			         "the field's command line has no crashkernel= (kdump was not "
			         "armed there): kdh uses crashkernel=%s",
			         KDH_REPRODUCE_DEFAULT_CRASHKERNEL);
		ck = KDH_REPRODUCE_DEFAULT_CRASHKERNEL;
	}
	mem = g_strdup_printf("%" G_GUINT64_FORMAT "M", memory >> 20);
	desc = g_strdup_printf("reproduces %s: %s crash (%s)", f->source, f->klass->name,
	                       f->reason ? f->reason : f->crash_text);
	g_key_file_set_string(kf, "scenario", "name", o->name);
	g_key_file_set_string(kf, "scenario", "description", desc);
	g_key_file_set_string(kf, "kernel", "ref", ref);
	g_key_file_set_string(kf, "vm", "memory", mem);
	g_key_file_set_integer(kf, "vm", "cpus", (gint)cpus);
	g_key_file_set_string(kf, "vm", "crashkernel", ck);
	g_key_file_set_string(kf, "vm", "image", o->image ? o->image : "mini");
	g_key_file_set_string(kf, "crash", "trigger", trig->name);
	/* The same crashing CPU, where the trigger can be pinned to one. */
	if (trig->pins_cpu && f->cpu >= 0 && (guint)f->cpu < cpus)
		g_key_file_set_integer(kf, "crash", "cpu", f->cpu);
	g_key_file_set_string(kf, "expect", "outcome", "dump");
	return g_key_file_to_data(kf, NULL, NULL);
}
