/* What a case asked for, copied into its result so verdict.json and the
 * reports read without the scenario file. */
#include "run/run.h"

static void set(char **field, const char *value)
{
	g_free(*field);
	*field = g_strdup(value);
}

void kdh_run_result_ask(KdhResult *r, const KdhCase *c)
{
	KdhAsked *a = &r->asked;

	a->memory = c->memory;
	a->cpus = c->cpus;
	a->dump_level = (int)c->dump_level;
	set(&a->crashkernel, c->crashkernel);
	set(&a->trigger, c->trigger ? c->trigger->name : NULL);
	set(&a->collector, c->collector);
	set(&a->compression, c->compression);
	set(&a->outcome, c->outcome == KDH_OUTCOME_NO_DUMP ? "no-dump" : "dump");
	set(&a->expect_panic, c->expect_panic);
	set(&a->image, c->image);
	a->cpu = c->cpu;
	set(&a->expect_function, c->expect_function);
	set(&a->expect_reason,
	    c->outcome == KDH_OUTCOME_NO_DUMP ? kdh_reason_name(c->expect_reason) : NULL);
	set(&a->verify_crash, c->verify_crash == KDH_VERIFY_CRASH_YES  ? "yes"
	                      : c->verify_crash == KDH_VERIFY_CRASH_NO ? "no"
	                                                               : "auto");
}
