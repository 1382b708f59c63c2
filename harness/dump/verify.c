/* Verification bookkeeping shared by the formats' verify walks. */
#include <inttypes.h>

#include "dump/dump_internal.h"

void verify_problem(struct verify_report *r, const char *fmt, ...)
{
	va_list ap;

	r->ok = false;
	r->problems++;
	if (r->n_first >= sizeof(r->first) / sizeof(r->first[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(r->first[r->n_first++], sizeof(r->first[0]), fmt, ap);
	va_end(ap);
}

dump_status dump_verify(dump_t *d, struct verify_report *r)
{
	memset(r, 0, sizeof(*r));
	r->ok = true;
	if (!d->opened)
		return derr_set(&d->err, DUMP_ERR_IO, "no dump is open");
	if (!d->vmcoreinfo)
		verify_problem(r, "no VMCOREINFO in the dump: nothing can be read from memory");
	dump_status st = d->fmt->verify(d, r);
	/* A dump without a single page of memory is a valid file, but it
	 * proves nothing about the crashed machine: not a pass. */
	if (st == DUMP_OK && r->counts_known && r->counts.dumped == 0)
		verify_problem(r,
		               "the dump holds no page of memory (%" PRIu64
		               " pfns described): nothing of the crashed kernel can be checked",
		               r->counts.max_pfn);
	return st;
}

dump_status dump_check(dump_t *d, dump_check_result *res)
{
	struct verify_report r;
	dump_status st = dump_verify(d, &r);

	if (st != DUMP_OK)
		return st;
	memset(res, 0, sizeof(*res));
	res->verdict = r.incomplete ? DUMP_VERDICT_INCOMPLETE
	               : r.ok       ? DUMP_VERDICT_PASS
	                            : DUMP_VERDICT_FAIL;
	res->pages_checked = r.pages_checked;
	res->problems = r.problems;
	if (r.n_first)
		snprintf(res->first_problem, sizeof(res->first_problem), "%s", r.first[0]);
	return DUMP_OK;
}
