// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow page tables of a context.  The user half is built from the run's
 * map and unmap requests: each guest page is a page of qvm's guest-RAM
 * mapping, pinned (pin_user_pages_fast) while mapped, installed as a user
 * page with W and NX per the request's protection (SDM Vol. 3, 4.5: 4-level
 * paging).  The kernel half (top-level entries 256..511, of the PML4, or of
 * the PML5 when the host runs 5-level paging) is the host's own, copied
 * before each entry, so the module, the stacks and the cpu_entry_area stay
 * mapped across the CR3 switch.
 */
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mem_encrypt.h>
#include <asm/pgtable.h>
#include <asm/tlbflush.h>
#include "kqemu-int.h"

/* the context's PCID, one Linux never uses (its ASIDs are 1..6, with bit
 * 11 for PTI's user tables): loaded without the no-flush bit, it starts
 * empty at every entry */
#define KQ_PCID 0xfff
#define KQ_MAX_PINNED (256 * 1024)      /* 1 GiB of guest pages per context */

#define E_P   0x001ull
#define E_W   0x002ull
#define E_U   0x004ull
#define E_A   0x020ull
#define E_D   0x040ull
#define E_NX  (1ull << 63)
#define E_TABLE (E_P | E_W | E_U | E_A)
#define E_ADDR 0x000ffffffffff000ull

static u64 *new_table(struct kq_ctx *c)
{
	u64 *t = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (t)
		list_add(&virt_to_page(t)->lru, &c->tables);
	return t;
}

static u64 table_entry(u64 *t)
{
	return __sme_set(__pa(t)) | E_TABLE;
}

static u64 *entry_table(u64 e)
{
	return (u64 *)__va(__sme_clr(e & E_ADDR));
}

int kq_mmu_init(struct kq_ctx *c)
{
	INIT_LIST_HEAD(&c->tables);
	c->top = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!c->top)
		return -ENOMEM;
	c->pml4 = c->top;
	if (kq_host.la57) {
		/* guest addresses are below 2^47: PML5 entry 0 only */
		c->pml4 = new_table(c);
		if (!c->pml4)
			return -ENOMEM;
		c->top[0] = table_entry(c->pml4);
	}
	c->shadow_cr3 = __sme_set(__pa(c->top)) | (kq_host.pcid ? KQ_PCID : 0);
	return 0;
}

void kq_mmu_copy_kernel_half(struct kq_ctx *c)
{
	u64 *host = (u64 *)__va(__read_cr3() & CR3_ADDR_MASK);
	memcpy(c->top + 256, host + 256, 256 * sizeof(u64));
}

/* The leaf entry of lin, or NULL; tables are made on the way when alloc. */
static u64 *leaf(struct kq_ctx *c, u64 lin, bool alloc)
{
	u64 *t = c->pml4;
	for (int shift = 39; shift > 12; shift -= 9) {
		u64 *e = &t[(lin >> shift) & 511];
		if (!(*e & E_P)) {
			u64 *n;
			if (!alloc)
				return NULL;
			n = new_table(c);
			if (!n)
				return NULL;
			*e = table_entry(n);
		}
		t = entry_table(*e);
	}
	return &t[(lin >> 12) & 511];
}

static void drop(struct kq_ctx *c, u64 *pte)
{
	struct page *p;
	if (!(*pte & E_P))
		return;
	p = pfn_to_page((__sme_clr(*pte & E_ADDR)) >> PAGE_SHIFT);
	unpin_user_pages_dirty_lock(&p, 1, !!(*pte & E_W));
	*pte = 0;
	c->nr_pinned--;
}

static bool user_page(u64 lin)
{
	return !(lin & 0xfff) && lin < (1ull << 47);
}

const char *kq_mmu_unmap(struct kq_ctx *c, u64 lin)
{
	u64 *pte;
	if (!user_page(lin))
		return "unmap of a page outside the lower half";
	pte = leaf(c, lin, false);
	if (pte)
		drop(c, pte);
	return NULL;
}

const char *kq_mmu_map(struct kq_ctx *c, const struct kqemu_map *m)
{
	struct page *p;
	u64 *pte, e;
	if (!user_page(m->lin))
		return "map of a page outside the lower half";
	if ((m->ram_offset & 0xfff) || m->ram_offset >= c->ram_size)
		return "map beyond guest RAM";
	if (!m->prot || (m->prot & ~7u))
		return "bad page protection";
	pte = leaf(c, m->lin, true);
	if (!pte)
		return "out of memory for page tables";
	drop(c, pte);
	if (c->nr_pinned >= KQ_MAX_PINNED)
		return "too many pages mapped";
	if (pin_user_pages_fast(c->ram_host + m->ram_offset, 1, FOLL_WRITE | FOLL_LONGTERM,
				&p) != 1)
		return "cannot pin a page of guest RAM";
	c->nr_pinned++;
	e = __sme_set(page_to_pfn(p) << PAGE_SHIFT) | E_P | E_U | E_A;
	if (m->prot & KQEMU_PROT_WRITE)
		e |= E_W | E_D;
	if (!(m->prot & KQEMU_PROT_EXEC) && kq_host.nx)
		e |= E_NX;
	*pte = e;
	return NULL;
}

/* Unpin every page and free every table below the top (and P4D). */
void kq_mmu_flush(struct kq_ctx *c)
{
	struct page *p, *n;
	u64 *pml4 = c->pml4;
	if (!pml4)
		return;
	for (int i = 0; i < 256; i++) {
		u64 *pdpt;
		if (!(pml4[i] & E_P))
			continue;
		pdpt = entry_table(pml4[i]);
		for (int j = 0; j < 512; j++) {
			u64 *pd;
			if (!(pdpt[j] & E_P))
				continue;
			pd = entry_table(pdpt[j]);
			for (int k = 0; k < 512; k++) {
				u64 *pt;
				if (!(pd[k] & E_P))
					continue;
				pt = entry_table(pd[k]);
				for (int l = 0; l < 512; l++)
					drop(c, &pt[l]);
			}
		}
		pml4[i] = 0;
	}
	list_for_each_entry_safe(p, n, &c->tables, lru) {
		if (page_address(p) == (void *)c->pml4)
			continue;
		list_del(&p->lru);
		__free_page(p);
	}
}

void kq_mmu_free(struct kq_ctx *c)
{
	if (!c->top)
		return;
	kq_mmu_flush(c);
	if (c->pml4 && c->pml4 != c->top) {
		list_del(&virt_to_page(c->pml4)->lru);
		free_page((unsigned long)c->pml4);
	}
	free_page((unsigned long)c->top);
	c->top = c->pml4 = NULL;
}

/* Read n guest bytes at lin through the shadow tables; the count read. */
int kq_mmu_read(struct kq_ctx *c, u64 lin, u8 *buf, int n)
{
	int done = 0;
	while (done < n) {
		u64 a = lin + done, *pte;
		int chunk = min_t(int, n - done, PAGE_SIZE - (a & 0xfff));
		void *v;
		if (!user_page(a & ~0xfffull))
			break;
		pte = leaf(c, a, false);
		if (!pte || !(*pte & E_P))
			break;
		v = kmap_local_page(pfn_to_page(__sme_clr(*pte & E_ADDR) >> PAGE_SHIFT));
		memcpy(buf + done, (u8 *)v + (a & 0xfff), chunk);
		kunmap_local(v);
		done += chunk;
	}
	return done;
}
