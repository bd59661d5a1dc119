/* The virtio-pci test driver (virtiotest.h). */
#include <string.h>
#include "virtiotest.h"
#include "devtest.h"
#include "mainloop.h"
#include "hw/hw.h"
#include "pc/pc.h"

static void vt_set_irq(struct irqchip *c, unsigned gsi, int level)
{
	struct vtest *t = c->opaque;
	if (gsi < IRQCHIP_NR_GSIS)
		t->level[gsi] = level;
}

static int vt_send_msi(struct irqchip *c, uint64_t addr, uint32_t data)
{
	struct vtest *t = c->opaque;
	if ((addr >> 20) == 0xfee) {
		t->msis++;
		t->msi_data = data;
	}
	return 0;
}

static const struct irqchip_ops vt_irq_ops = {
	.name = "virtiotest", .set_irq = vt_set_irq, .send_msi = vt_send_msi,
};

bool vt_init(struct vtest *t, unsigned slot)
{
	memset(t, 0, sizeof(*t));
	t->slot = slot;
	t->m = machine_new(16 * MiB);
	if (!t->m)
		return false;
	t->ram = t->m->ram;
	machine_add_memory(t->m, REGION_RAM, 0, 16 * MiB, t->m->ram, "ram");
	t->m->irqchip.ops = &vt_irq_ops;
	t->m->irqchip.opaque = t;
	t->m->irq_routing = &pc_irq_routing;
	t->m->loop = mainloop_new();
	t->h = pci_host_new(t->m);
	return t->m->loop && t->h;
}

void vt_map_bars(struct vtest *t)
{
	vt_cfg_w(t, 0x14, VT_BAR1_ADDR, 4);
	vt_cfg_w(t, 0x20, VT_BAR4_ADDR, 4);
	vt_cfg_w(t, 0x04, 0x6, 2);
}

void vt_free(struct vtest *t)
{
	struct mainloop *l = t->m->loop;
	machine_free(t->m);
	if (l)
		mainloop_free(l);
}

void vt_cfg_w(struct vtest *t, unsigned reg, uint32_t v, unsigned size)
{
	pci_cfg_out(t->m, t->slot, reg, v, size);
}

uint32_t vt_cfg_r(struct vtest *t, unsigned reg, unsigned size)
{
	return pci_cfg_in(t->m, t->slot, reg, size);
}

uint64_t vt_mr(struct vtest *t, uint64_t addr, unsigned size)
{
	uint64_t v = 0;
	machine_mmio(t->m, addr, false, &v, size);
	return v;
}

void vt_mw(struct vtest *t, uint64_t addr, uint64_t v, unsigned size)
{
	machine_mmio(t->m, addr, true, &v, size);
}

void vt_msix(struct vtest *t, unsigned n)
{
	for (unsigned v = 0; v < n; v++) {
		vt_mw(t, VT_BAR1_ADDR + 16 * v, 0xfee00000u, 4);
		vt_mw(t, VT_BAR1_ADDR + 16 * v + 4, 0, 4);
		vt_mw(t, VT_BAR1_ADDR + 16 * v + 8, 0x40 + v, 4);
		vt_mw(t, VT_BAR1_ADDR + 16 * v + 12, 0, 4);     /* unmask */
	}
	uint16_t ctrl = vt_cfg_r(t, 0x98 + 2, 2);
	vt_cfg_w(t, 0x98 + 2, ctrl | 0x8000, 2);
}

uint8_t vt_negotiate(struct vtest *t, uint64_t features)
{
	vt_mw(t, VT_COMMON(0x14), 0, 1);
	vt_mw(t, VT_COMMON(0x14), 1 | 2, 1);
	vt_mw(t, VT_COMMON(0x08), 0, 4);
	vt_mw(t, VT_COMMON(0x0c), (uint32_t)features, 4);
	vt_mw(t, VT_COMMON(0x08), 1, 4);
	vt_mw(t, VT_COMMON(0x0c), features >> 32, 4);
	vt_mw(t, VT_COMMON(0x14), 1 | 2 | 8, 1);
	return vt_mr(t, VT_COMMON(0x14), 1);
}

void vt_setup_queue(struct vtest *t, unsigned q, uint64_t base, uint16_t size, uint16_t vector)
{
	memset(t->ram + base, 0, 0x3000);
	t->qbase[q] = base;
	t->qsize[q] = size;
	t->avail_idx[q] = t->used_seen[q] = 0;
	vt_mw(t, VT_COMMON(0x16), q, 2);
	vt_mw(t, VT_COMMON(0x18), size, 2);
	vt_mw(t, VT_COMMON(0x1a), vector, 2);
	vt_mw(t, VT_COMMON(0x20), base, 4);
	vt_mw(t, VT_COMMON(0x24), base >> 32, 4);
	vt_mw(t, VT_COMMON(0x28), base + 0x1000, 4);
	vt_mw(t, VT_COMMON(0x2c), (base + 0x1000) >> 32, 4);
	vt_mw(t, VT_COMMON(0x30), base + 0x2000, 4);
	vt_mw(t, VT_COMMON(0x34), (base + 0x2000) >> 32, 4);
	vt_mw(t, VT_COMMON(0x1c), 1, 2);
}

bool vt_driver_ok(struct vtest *t)
{
	vt_mw(t, VT_COMMON(0x14), 1 | 2 | 4 | 8, 1);
	return vt_mr(t, VT_COMMON(0x14), 1) == 0xf;
}

bool vt_needs_reset(struct vtest *t)
{
	return vt_mr(t, VT_COMMON(0x14), 1) & 0x40;
}

void vt_copy_driver(struct vtest *to, const struct vtest *from)
{
	memcpy(to->qbase, from->qbase, sizeof(to->qbase));
	memcpy(to->qsize, from->qsize, sizeof(to->qsize));
	memcpy(to->avail_idx, from->avail_idx, sizeof(to->avail_idx));
	memcpy(to->used_seen, from->used_seen, sizeof(to->used_seen));
}

void vt_put_desc(struct vtest *t, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	uint8_t *d = t->ram + table + 16 * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

void vt_offer(struct vtest *t, unsigned q, uint16_t head)
{
	uint8_t *avail = t->ram + t->qbase[q] + 0x1000;
	memcpy(avail + 4 + 2 * (t->avail_idx[q] % t->qsize[q]), &head, 2);
	t->avail_idx[q]++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(avail + 2, &t->avail_idx[q], 2);
	vt_mw(t, VT_NOTIFY(q), q, 2);
}

uint16_t vt_used_idx(struct vtest *t, unsigned q)
{
	uint16_t v;
	memcpy(&v, t->ram + t->qbase[q] + 0x2000 + 2, 2);
	return v;
}

uint32_t vt_used_len(struct vtest *t, unsigned q, unsigned n)
{
	uint32_t v;
	memcpy(&v, t->ram + t->qbase[q] + 0x2000 + 4 + 8 * (n % t->qsize[q]) + 4, 4);
	return v;
}
