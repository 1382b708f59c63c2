/* dump_check: the formats' verify walks, and their bookkeeping. */
#include <inttypes.h>

#include "dump/dump_internal.h"

void verify_problem(dump_check_result *r, const char *fmt, ...)
{
	va_list ap;

	r->problems++;
	if (r->n_kept >= DUMP_PROBLEMS_KEPT)
		return;
	va_start(ap, fmt);
	vsnprintf(r->problem[r->n_kept++], sizeof(r->problem[0]), fmt, ap);
	va_end(ap);
}

dump_status dump_check(dump_t *d, dump_check_result *r)
{
	dump_status st;

	memset(r, 0, sizeof(*r));
	if (!d->opened)
		return derr_set(&d->err, DUMP_ERR_IO, "no dump is open");
	if (!d->vmcoreinfo)
		verify_problem(r, "no VMCOREINFO in the dump: nothing can be read from memory");
	st = d->fmt->verify(d, r);
	if (st != DUMP_OK)
		return st;
	/* A dump without a single page of memory is a valid file, but it
	 * proves nothing about the crashed machine: not a pass. */
	if (r->pages_known && r->pages.dumped == 0)
		verify_problem(r,
		               "the dump holds no page of memory (%" PRIu64
		               " pfns described): nothing of the crashed kernel can be checked",
		               r->pages.max_pfn);
	r->verdict = r->incomplete ? DUMP_VERDICT_INCOMPLETE
	             : r->problems ? DUMP_VERDICT_FAIL
	                           : DUMP_VERDICT_PASS;
	return DUMP_OK;
}
