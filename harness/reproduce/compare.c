/* The field crash against the reproduced one, fact by fact.  Frames are
 * compared by function name only (the parse stripped offsets, modules and
 * compiler suffixes); below the panic they are expected to differ, since
 * kdh's trigger reaches panic through its own code. */
#include "reproduce/reproduce.h"

static gboolean same(const char *a, const char *b)
{
	return a && b && g_str_equal(a, b);
}

void kdh_reproduce_compare(const KdhField *f, const KdhField *r, KdhReproduceMatch *m)
{
	guint nf = MIN(f->frames->len, KDH_FIELD_FRAMES),
	      nr = MIN(r->frames->len, KDH_FIELD_FRAMES);
	gboolean in_order = TRUE;

	*m = (KdhReproduceMatch){0};
	m->release = same(f->release, r->release);
	m->klass = f->klass && f->klass == r->klass;
	m->reason = same(f->reason, r->reason);
	m->cpu = f->cpu >= 0 && f->cpu == r->cpu;
	m->comm = same(f->comm, r->comm);
	m->frames_field = nf;
	for (guint i = 0; i < nf; i++) {
		const char *name = g_ptr_array_index(f->frames, i);
		gboolean found = FALSE;

		for (guint j = 0; j < nr && !found; j++)
			found = g_str_equal(name, g_ptr_array_index(r->frames, j));
		m->frames_common += found;
		in_order = in_order && i < nr && g_str_equal(name, g_ptr_array_index(r->frames, i));
		m->frames_in_order += in_order;
	}
}
