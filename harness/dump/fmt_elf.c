/* ELF64 vmcore: a copy of /proc/vmcore, or `makedumpfile -E` output.
 * PT_NOTE segments hold VMCOREINFO and PRSTATUS; PT_LOAD segments map
 * physical addresses (p_paddr) to file offsets; pages between p_filesz and
 * p_memsz were filtered out (makedumpfile -E).  Segments may overlap: the
 * kernel-text segment that kexec-tools adds repeats part of a RAM segment. */
#include <elf.h>
#include <inttypes.h>
#include <stdlib.h>

#include "dump/dump_internal.h"

#define START_KERNEL_MAP 0xffffffff80000000ull
#define NOTES_MAX        (64u << 20)
/* makedumpfile sets this in e_flags when it could not write everything */
#define DUMP_ELF_INCOMPLETE 0x1
/* verify reads segments through a buffer this size: small enough to stay
 * in the CPU cache, which makes the kernel's copy into it cheaper than a
 * larger one (measured: 128 KiB beats 1 MiB) */
#define VERIFY_CHUNK (128u << 10)

struct elf_seg {
	uint64_t paddr, vaddr, offset, filesz, memsz;
};

struct elfdump {
	struct elf_seg *seg; /* PT_LOADs sorted by paddr */
	uint64_t *max_end;   /* max paddr+memsz over seg[0..i] */
	size_t n_seg;
	uint32_t e_flags;
};

static bool elf_probe(const uint8_t *head, size_t len)
{
	return len >= EI_NIDENT && memcmp(head, ELFMAG, SELFMAG) == 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct elf_seg *x = a, *y = b;
	return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

static dump_status elf_read_phdrs(dump_t *d, const Elf64_Ehdr *eh, uint64_t phnum)
{
	struct elfdump *ed = d->priv;
	uint64_t bytes, end;
	dump_status st;

	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return derr_set(&d->err, DUMP_ERR_CORRUPT, "e_phentsize %u (expected %zu)",
		                eh->e_phentsize, sizeof(Elf64_Phdr));
	/* the table must be in the file, which bounds the allocation */
	if (!mul_ok(phnum, sizeof(Elf64_Phdr), &bytes) || !add_ok(eh->e_phoff, bytes, &end) ||
	    end > d->io.size)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "program headers (%" PRIu64 " at 0x%" PRIx64
		                ") are outside the file (0x%" PRIx64 " bytes)",
		                phnum, (uint64_t)eh->e_phoff, d->io.size);
	Elf64_Phdr *ph = malloc(bytes ? bytes : 1);
	ed->seg = calloc(phnum ? phnum : 1, sizeof(*ed->seg));
	ed->max_end = calloc(phnum ? phnum : 1, sizeof(*ed->max_end));
	if (!ph || !ed->seg || !ed->max_end) {
		free(ph);
		return derr_set(&d->err, DUMP_ERR_NOMEM, "%" PRIu64 " program headers", phnum);
	}
	st = io_pread(&d->io, eh->e_phoff, ph, bytes, &d->err);
	if (st != DUMP_OK) {
		free(ph);
		return derr_prefix(&d->err, st, "program headers");
	}
	for (uint64_t i = 0; i < phnum && st == DUMP_OK; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type == PT_NOTE && p->p_filesz > 0) {
			if (p->p_filesz > NOTES_MAX || !add_ok(p->p_offset, p->p_filesz, &end) ||
			    end > d->io.size) {
				st = derr_set(&d->err, DUMP_ERR_CORRUPT,
				              "PT_NOTE %" PRIu64 " (0x%" PRIx64 "+0x%" PRIx64
				              ") is outside the file",
				              i, (uint64_t)p->p_offset, (uint64_t)p->p_filesz);
				break;
			}
			uint8_t *notes = malloc(p->p_filesz);
			if (!notes) {
				st = derr_set(&d->err, DUMP_ERR_NOMEM, "notes");
				break;
			}
			st = io_pread(&d->io, p->p_offset, notes, p->p_filesz, &d->err);
			if (st == DUMP_OK)
				st = notes_parse(d, notes, p->p_filesz, "PT_NOTE");
			free(notes);
		} else if (p->p_type == PT_LOAD) {
			uint64_t pend;
			if (p->p_filesz > p->p_memsz || !add_ok(p->p_paddr, p->p_memsz, &pend) ||
			    !add_ok(p->p_offset, p->p_filesz, &end)) {
				st = derr_set(&d->err, DUMP_ERR_CORRUPT,
				              "PT_LOAD %" PRIu64 ": paddr 0x%" PRIx64
				              " offset 0x%" PRIx64 " filesz 0x%" PRIx64
				              " memsz 0x%" PRIx64 " are inconsistent",
				              i, (uint64_t)p->p_paddr, (uint64_t)p->p_offset,
				              (uint64_t)p->p_filesz, (uint64_t)p->p_memsz);
				break;
			}
			/* compared without forming p_paddr + START_KERNEL_MAP,
			 * which wraps for a kernel loaded at 2 GiB or above */
			if (p->p_vaddr >= START_KERNEL_MAP && !d->phys_base_from_format &&
			    p->p_vaddr - START_KERNEL_MAP <= p->p_paddr) {
				/* kernel text: vaddr - __START_KERNEL_map + phys_base */
				d->phys_base_from_format = true;
				d->format_phys_base = p->p_paddr - (p->p_vaddr - START_KERNEL_MAP);
			}
			ed->seg[ed->n_seg++] = (struct elf_seg){p->p_paddr, p->p_vaddr, p->p_offset,
			                                        p->p_filesz, p->p_memsz};
		}
	}
	free(ph);
	if (st != DUMP_OK)
		return st;
	qsort(ed->seg, ed->n_seg, sizeof(*ed->seg), cmp_seg);
	for (size_t i = 0; i < ed->n_seg; i++) {
		uint64_t e = ed->seg[i].paddr + ed->seg[i].memsz;
		ed->max_end[i] = i && ed->max_end[i - 1] > e ? ed->max_end[i - 1] : e;
	}
	return DUMP_OK;
}

static dump_status elf_open(dump_t *d)
{
	Elf64_Ehdr eh;
	struct elfdump *ed;
	uint64_t phnum;
	dump_status st;

	if (d->io.size < sizeof(eh))
		return derr_set(&d->err, DUMP_ERR_CORRUPT, "file shorter than an ELF header");
	st = io_pread(&d->io, 0, &eh, sizeof(eh), &d->err);
	if (st != DUMP_OK)
		return st;
	/* an x86_64 vmcore is little-endian ELF64; anything else is another
	 * machine's dump, said so before any field is misread */
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return derr_set(&d->err, DUMP_ERR_UNSUPPORTED, "not an x86_64 dump: %s %s ELF",
		                eh.e_ident[EI_CLASS] == ELFCLASS32   ? "32-bit"
		                : eh.e_ident[EI_CLASS] == ELFCLASS64 ? "64-bit"
		                                                     : "unknown-class",
		                eh.e_ident[EI_DATA] == ELFDATA2MSB   ? "big-endian"
		                : eh.e_ident[EI_DATA] == ELFDATA2LSB ? "little-endian"
		                                                     : "unknown-byte-order");
	if (eh.e_type != ET_CORE)
		return derr_set(&d->err, DUMP_ERR_FORMAT, "ELF type %u is not a core file",
		                eh.e_type);
	if (eh.e_machine != EM_X86_64)
		return derr_set(&d->err, DUMP_ERR_UNSUPPORTED, "not an x86_64 dump: ELF machine %u",
		                eh.e_machine);
	ed = calloc(1, sizeof(*ed));
	if (!ed)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "ELF state");
	d->priv = ed;
	ed->e_flags = eh.e_flags;
	d->incomplete = (eh.e_flags & DUMP_ELF_INCOMPLETE) != 0;
	phnum = eh.e_phnum;
	if (phnum == PN_XNUM) {
		/* more than 65534 segments (makedumpfile -E of a fragmented
		 * dump): the count is in section header 0's sh_info */
		Elf64_Shdr sh;
		uint64_t end;
		if (eh.e_shoff == 0 || !add_ok(eh.e_shoff, sizeof(sh), &end) || end > d->io.size)
			return derr_set(&d->err, DUMP_ERR_CORRUPT,
			                "e_phnum is PN_XNUM but section header 0 (at 0x%" PRIx64
			                ") is not in the file",
			                (uint64_t)eh.e_shoff);
		st = io_pread(&d->io, eh.e_shoff, &sh, sizeof(sh), &d->err);
		if (st != DUMP_OK)
			return st;
		phnum = sh.sh_info;
	}
	st = elf_read_phdrs(d, &eh, phnum);
	if (st != DUMP_OK)
		return st;
	if (ed->n_seg == 0)
		return derr_set(&d->err, DUMP_ERR_CORRUPT, "no PT_LOAD segment");
	return DUMP_OK;
}

static dump_status elf_read_page(dump_t *d, uint64_t pfn, uint8_t *buf)
{
	struct elfdump *ed = d->priv;
	uint64_t start = pfn << d->page_shift, end = start + d->page_size;
	size_t lo = 0, hi = ed->n_seg;
	bool covered = false, in_memsz = false, full = false;

	if (pfn > (UINT64_MAX >> d->page_shift) - 1)
		return derr_set(&d->err, DUMP_ERR_NOTFOUND, "pfn 0x%" PRIx64 " is out of range",
		                pfn);
	/* segments starting before the page's end; walk back while an
	 * earlier one may still reach into the page */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ed->seg[mid].paddr < end)
			lo = mid + 1;
		else
			hi = mid;
	}
	memset(buf, 0, d->page_size);
	for (size_t i = lo; i-- > 0 && ed->max_end[i] > start;) {
		const struct elf_seg *s = &ed->seg[i];
		uint64_t a = s->paddr > start ? s->paddr : start;
		uint64_t b = s->paddr + s->memsz < end ? s->paddr + s->memsz : end;
		if (a >= b)
			continue;
		in_memsz = true;
		uint64_t fend = s->paddr + s->filesz < b ? s->paddr + s->filesz : b;
		if (a < fend) {
			covered = true;
			full = a == start && fend == end;
			dump_status st = io_pread(&d->io, s->offset + (a - s->paddr),
			                          buf + (a - start), fend - a, &d->err);
			if (st != DUMP_OK)
				return derr_prefix(
				    &d->err, st,
				    "pfn 0x%" PRIx64 " (PT_LOAD at paddr 0x%" PRIx64 ")%s", pfn,
				    s->paddr, d->incomplete ? " (incomplete dump)" : "");
			/* one segment held the whole page: overlapping ones
			 * (kernel text, or a hostile file's copies) add nothing */
			if (full)
				break;
		}
	}
	/* makedumpfile -E cuts filtered pages from the end of a segment
	 * (p_filesz < p_memsz): they are excluded, as in kdump-compressed
	 * dumps, not zeros (libkdumpfile and crash read them so too) */
	if (!covered)
		return derr_set(&d->err, DUMP_ERR_NOTFOUND,
		                in_memsz ? "pfn 0x%" PRIx64 " was excluded from the dump (beyond "
		                           "p_filesz)"
		                         : "pfn 0x%" PRIx64 " is in no PT_LOAD segment",
		                pfn);
	return DUMP_OK;
}

/* bytes to pages, rounding up without overflowing near 2^64 (open checked
 * paddr + memsz fits; the rounding could still wrap) */
static uint64_t pages_up(uint64_t bytes, unsigned shift)
{
	return (bytes >> shift) + ((bytes & ((1ull << shift) - 1)) != 0);
}

/* pages covered by the union of the segments' [paddr, paddr+len) */
static uint64_t union_pages(const struct elfdump *ed, unsigned shift, bool file_only)
{
	uint64_t pages = 0, cur_end = 0;

	for (size_t i = 0; i < ed->n_seg; i++) {
		const struct elf_seg *s = &ed->seg[i];
		uint64_t a = s->paddr >> shift;
		uint64_t len = file_only ? s->filesz : s->memsz;
		uint64_t b = pages_up(s->paddr + len, shift);
		if (len == 0)
			continue;
		if (a < cur_end)
			a = cur_end;
		if (b > a) {
			pages += b - a;
			cur_end = b;
		}
	}
	return pages;
}

static dump_status elf_counts(dump_t *d, dump_page_counts *c)
{
	struct elfdump *ed = d->priv;

	memset(c, 0, sizeof(*c));
	c->max_pfn = pages_up(ed->max_end[ed->n_seg - 1], d->page_shift);
	c->total = union_pages(ed, d->page_shift, false);
	c->dumped = union_pages(ed, d->page_shift, true);
	c->excluded = c->total - c->dumped;
	c->zero_known = 0;
	return DUMP_OK;
}

struct range {
	uint64_t start, end;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static dump_status elf_verify(dump_t *d, dump_check_result *r)
{
	struct elfdump *ed = d->priv;
	struct range *rg;
	size_t n = 0;
	uint8_t *buf;

	if (ed->e_flags & DUMP_ELF_INCOMPLETE) {
		r->incomplete = true;
		verify_problem(r, "ELF e_flags has the incomplete bit: makedumpfile could not "
		                  "write the whole dump");
	}
	rg = malloc(ed->n_seg * sizeof(*rg));
	buf = malloc(VERIFY_CHUNK);
	if (!rg || !buf) {
		free(rg);
		free(buf);
		return derr_set(&d->err, DUMP_ERR_NOMEM, "verify buffers");
	}
	for (size_t i = 0; i < ed->n_seg; i++) {
		const struct elf_seg *s = &ed->seg[i];
		if (s->offset + s->filesz > d->io.size) {
			/* Headers that promise data the file does not hold: a
			 * collector stopped mid-write (the capture kernel killed,
			 * the disk full) leaves exactly this, as cp does. */
			r->incomplete = true;
			verify_problem(r,
			               "PT_LOAD at paddr 0x%" PRIx64 ": file range 0x%" PRIx64
			               "+0x%" PRIx64 " ends beyond the file (0x%" PRIx64
			               " bytes): the dump was cut short",
			               s->paddr, s->offset, s->filesz, d->io.size);
			continue;
		}
		if (s->filesz)
			rg[n++] = (struct range){s->offset, s->offset + s->filesz};
	}
	/* Read every byte of segment data once, in bounded chunks: proves the
	 * data is there without holding it.  Overlapping segments (the kernel
	 * text again, or a hostile file's thousand copies of one range) are
	 * merged first, so the work is bounded by the file size. */
	qsort(rg, n, sizeof(*rg), cmp_range);
	uint64_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t from = rg[i].start > pos ? rg[i].start : pos;
		while (from < rg[i].end) {
			size_t len = rg[i].end - from < VERIFY_CHUNK ? (size_t)(rg[i].end - from)
			                                             : VERIFY_CHUNK;
			if (io_pread(&d->io, from, buf, len, &d->err) != DUMP_OK) {
				verify_problem(r, "segment data at file offset 0x%" PRIx64 ": %s",
				               from, dump_error(d));
				break;
			}
			from += len;
		}
		if (rg[i].end > pos)
			pos = rg[i].end;
	}
	free(rg);
	free(buf);
	elf_counts(d, &r->pages);
	r->pages_known = true;
	/* overlapping segments (the kernel text again) count once */
	r->pages_checked = r->pages.dumped;
	return DUMP_OK;
}

static void elf_cleanup(dump_t *d)
{
	struct elfdump *ed = d->priv;

	if (!ed)
		return;
	free(ed->seg);
	free(ed->max_end);
	free(ed);
	d->priv = NULL;
}

const struct dump_format dump_format_elf = {
    .name = "ELF64",
    .probe = elf_probe,
    .open = elf_open,
    .read_page = elf_read_page,
    .verify = elf_verify,
    .counts = elf_counts,
    .cleanup = elf_cleanup,
};
