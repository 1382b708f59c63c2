/* x86_64 kernel-virtual to physical translation.
 *
 * Two ways, both from VMCOREINFO alone (no vmlinux), so KASLR needs nothing
 * more than what the crashed kernel exported:
 *  - the kernel image: the kernel maps itself at __START_KERNEL_map, so an
 *    address in [__START_KERNEL_map, +KERNEL_IMAGE_SIZE) is
 *    vaddr - __START_KERNEL_map + phys_base (with KASLR, phys_base absorbs
 *    the physical offset and the symbols already carry the virtual one);
 *  - anything else (direct map at a randomised page_offset_base, vmalloc):
 *    a walk of the kernel's own page tables from init_top_pgt, 4 or 5
 *    levels, honouring 1 GiB and 2 MiB leaf entries.
 * Memory is read through a callback: this file knows nothing of files.
 */
#include <inttypes.h>

#include "dump/dump_internal.h"

#define START_KERNEL_MAP 0xffffffff80000000ull
#define PTE_PRESENT      0x1ull
#define PTE_PSE          0x80ull
/* bits 12..51 hold the physical address of the next table or the page */
#define PTE_ADDR_MASK 0x000ffffffffff000ull

void xlat_x86_64_init(struct xlat_x86_64 *x, xlat_read_fn read, void *ctx, struct dump_err *err,
                      bool phys_base_known, uint64_t phys_base, uint64_t image_size,
                      uint64_t init_top_pgt, bool five_level, uint64_t sme_mask)
{
	memset(x, 0, sizeof(*x));
	x->read = read;
	x->ctx = ctx;
	x->err = err;
	x->have_image = phys_base_known;
	x->phys_base = phys_base;
	/* KERNEL_IMAGE_SIZE is at most 1 GiB; a larger value would reach
	 * into the module area and is not to be believed */
	x->image_size = image_size && image_size <= (1ull << 30) ? image_size : (512ull << 20);
	x->levels = five_level ? 5 : 4;
	/* with SME the encryption bit sits inside the address field */
	x->pte_mask = PTE_ADDR_MASK & ~sme_mask;
	if (init_top_pgt >= START_KERNEL_MAP && phys_base_known) {
		x->pgt_paddr = init_top_pgt - START_KERNEL_MAP + phys_base;
		x->have_pgt = true;
	}
}

static bool in_image(const struct xlat_x86_64 *x, uint64_t vaddr)
{
	return vaddr >= START_KERNEL_MAP && vaddr - START_KERNEL_MAP < x->image_size;
}

dump_status xlat_x86_64_virt_to_phys(struct xlat_x86_64 *x, uint64_t vaddr, uint64_t *paddr)
{
	static const char *const level_name[] = {"pte", "pmd", "pud", "p4d", "pgd"};
	uint64_t table;
	int level;

	if (x->have_image && in_image(x, vaddr)) {
		*paddr = vaddr - START_KERNEL_MAP + x->phys_base;
		return DUMP_OK;
	}
	if (!x->have_pgt)
		return derr_set(x->err, DUMP_ERR_NOTFOUND,
		                "0x%" PRIx64
		                " is outside the kernel image and there is no page table "
		                "(init_top_pgt) to walk",
		                vaddr);
	/* canonical form: bits above the top level's 48 or 57 copy the sign */
	{
		unsigned bits = x->levels == 5 ? 57 : 48;
		int64_t sv = (int64_t)(vaddr << (64 - bits)) >> (64 - bits);
		if ((uint64_t)sv != vaddr)
			return derr_set(x->err, DUMP_ERR_NOTFOUND,
			                "0x%" PRIx64 " is not a canonical address", vaddr);
	}
	table = x->pgt_paddr;
	/* A fixed number of levels bounds the walk: no cycle in hostile page
	 * tables can make it loop. */
	for (level = x->levels - 1; level >= 0; level--) {
		unsigned shift = 12 + 9 * (unsigned)level;
		uint64_t idx = (vaddr >> shift) & 511, entry;
		uint8_t raw[8];
		dump_status st = x->read(x->ctx, table + idx * 8, raw, 8);
		if (st != DUMP_OK)
			return derr_prefix(x->err, st, "page-table walk of 0x%" PRIx64 ": %s entry",
			                   vaddr,
			                   level_name[x->levels == 4 && level == 3 ? 4 : level]);
		entry = le64(raw);
		if (!(entry & PTE_PRESENT))
			return derr_set(x->err, DUMP_ERR_NOTFOUND,
			                "0x%" PRIx64 " is not mapped (%s entry 0x%" PRIx64 ")",
			                vaddr, level_name[x->levels == 4 && level == 3 ? 4 : level],
			                entry);
		/* 1 GiB (pud) and 2 MiB (pmd) leaves */
		if ((level == 2 || level == 1) && (entry & PTE_PSE)) {
			uint64_t mask = (1ull << shift) - 1;
			*paddr = ((entry & x->pte_mask) & ~mask) | (vaddr & mask);
			return DUMP_OK;
		}
		table = entry & x->pte_mask;
	}
	*paddr = table | (vaddr & 0xfff);
	return DUMP_OK;
}
