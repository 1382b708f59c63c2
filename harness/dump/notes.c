/* ELF notes: where a crashed kernel leaves VMCOREINFO and the registers of
 * each CPU (NT_PRSTATUS).  Both the ELF vmcore and the kdump-compressed
 * sub-header carry the same note stream. */
#include <inttypes.h>
#include <stdlib.h>

#include "dump/dump_internal.h"

#define NT_PRSTATUS 1
/* x86_64 struct elf_prstatus: pr_pid at 32, pr_reg (27 longs) at 112 */
#define PRSTATUS_SIZE    336
#define PRSTATUS_PID_OFF 32
#define PRSTATUS_REG_OFF 112
/* the kernel's VMCOREINFO is a few KiB; a far larger note is hostile */
#define VMCOREINFO_MAX (1u << 20)

static size_t align4(size_t v)
{
	return (v + 3) & ~(size_t)3;
}

static dump_status keep_vmcoreinfo(dump_t *d, const uint8_t *desc, size_t len)
{
	char *copy;

	if (d->vmcoreinfo)
		return DUMP_OK; /* the first copy wins */
	if (len > VMCOREINFO_MAX)
		return derr_set(&d->err, DUMP_ERR_CORRUPT, "VMCOREINFO of %zu bytes (limit %u)",
		                len, VMCOREINFO_MAX);
	/* the kernel pads the note with NULs: the text ends at the first one */
	const uint8_t *nul = memchr(desc, 0, len);
	if (nul)
		len = (size_t)(nul - desc);
	copy = malloc(len + 1);
	if (!copy)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "VMCOREINFO");
	memcpy(copy, desc, len);
	copy[len] = 0;
	d->vmcoreinfo = copy;
	d->vmcoreinfo_len = len;
	return DUMP_OK;
}

static dump_status keep_prstatus(dump_t *d, const uint8_t *desc, size_t len, size_t at)
{
	dump_cpu_regs *bigger, *r;

	if (d->n_cpus >= DUMP_MAX_CPUS)
		return derr_set(&d->err, DUMP_ERR_CORRUPT, "more than %d PRSTATUS notes",
		                DUMP_MAX_CPUS);
	bigger = realloc(d->cpus, (d->n_cpus + 1) * sizeof(*d->cpus));
	if (!bigger)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "PRSTATUS notes");
	d->cpus = bigger;
	r = &d->cpus[d->n_cpus++];
	memset(r, 0, sizeof(*r));
	/* a short note costs that CPU's registers, not the dump: the note
	 * stream itself is intact (notes_parse checked the sizes) */
	if (len < PRSTATUS_SIZE) {
		r->pid = -1;
		snprintf(r->problem, sizeof(r->problem),
		         "PRSTATUS note at 0x%zx: %zu bytes, expected %d", at, len, PRSTATUS_SIZE);
		return DUMP_OK;
	}
	r->regs_known = true;
	r->pid = (int32_t)le32(desc + PRSTATUS_PID_OFF);
	for (int i = 0; i < 27; i++)
		r->reg[i] = le64(desc + PRSTATUS_REG_OFF + (size_t)8 * i);
	return DUMP_OK;
}

dump_status notes_parse(dump_t *d, const uint8_t *buf, size_t len, const char *where)
{
	size_t pos = 0;

#ifdef KDH_DUMP_TEST_HOOKS
	if (!d->raw_notes && len > 0) {
		d->raw_notes = malloc(len);
		if (!d->raw_notes)
			return derr_set(&d->err, DUMP_ERR_NOMEM, "notes");
		memcpy(d->raw_notes, buf, len);
		d->raw_notes_len = len;
	}
#endif

	while (pos + 12 <= len) {
		uint32_t namesz = le32(buf + pos), descsz = le32(buf + pos + 4);
		uint32_t type = le32(buf + pos + 8);
		size_t name_at = pos + 12, desc_at, next;
		dump_status st = DUMP_OK;

		/* sizes are 32-bit and len is a size_t: these sums cannot wrap */
		desc_at = name_at + align4(namesz);
		next = desc_at + align4(descsz);
		if (desc_at > len || desc_at + descsz > len)
			return derr_set(
			    &d->err, DUMP_ERR_CORRUPT,
			    "%s: note at 0x%zx (name %u, desc %u bytes) overruns the %zu "
			    "bytes of notes",
			    where, pos, namesz, descsz, len);
		if (namesz == 0 && descsz == 0 && type == 0) {
			pos = next; /* padding between per-CPU note buffers */
			continue;
		}
		const char *name = (const char *)buf + name_at;
		if (namesz == 11 && memcmp(name, "VMCOREINFO", 11) == 0)
			st = keep_vmcoreinfo(d, buf + desc_at, descsz);
		else if (namesz == 5 && memcmp(name, "CORE", 5) == 0 && type == NT_PRSTATUS)
			st = keep_prstatus(d, buf + desc_at, descsz, pos);
		if (st != DUMP_OK)
			return derr_prefix(&d->err, st, "%s", where);
		pos = next;
	}
	return DUMP_OK;
}
