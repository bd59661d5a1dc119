/*
 * An AHCI host bus adapter (Serial ATA AHCI 1.3.1) as a PCI function on
 * the pc board, with QEMU's identity for "-device ahci": the ICH9's
 * 8086:2922, class 01:06:01.  ABAR (BAR5) holds the generic host control
 * (3.1: CAP, GHC, IS, PI, VS, CAP2) and AHCI_PORTS ports (3.3).  Each
 * port carries one ATA disk or ATAPI CD-ROM of the IDE code: the port is
 * an ide_ctrl of its own (bus 0, unit 0; its lock is the port's lock)
 * whose transport (ide-int.h's ide_xport) this file is, so ata.c and
 * atapi.c run the commands and ide.c moves the image.
 *
 * Commands (5.5): software builds a command header in the list at PxCLB
 * (4.2.2) pointing at a command table (4.2.3: the H2D register FIS, the
 * ATAPI packet, the PRDT) and sets its bit in PxCI; the port runs the
 * slots one at a time, lowest first, posts a D2H register FIS at PxFB +
 * 0x40 (4.2.1), clears the bit and raises PxIS.DHRS (with TFES on an
 * error: firmware that waits for DHRS alone sees the error too).
 * NCQ is not offered (CAP.SNCQ = 0).  Everything in guest memory is
 * untrusted: it is read with guest_read and written with
 * machine_ram_write (the machine's one write path), so an address
 * outside RAM, a PRDT shorter than the data or a malformed FIS ends the
 * command with an error, never more.
 *
 * Interrupts: INTx (pin A).  IS.IPS[i] is set while port i has an
 * enabled interrupt pending (PxIS & PxIE), and the line is high while
 * GHC.IE and IS are.
 *
 * Locking: a port's lock (port->ide.lock) covers its registers and its
 * drive; the HBA lock covers GHC, IS and the line, and is taken inside a
 * port's lock, never the other way round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hw.h"
#include "ide-int.h"
#include "irq.h"
#include "machine.h"
#include "physmap.h"
#include "state.h"

#define AHCI_PORTS 6
#define ABAR 5
#define ABAR_SIZE 0x1000

/* generic host control (3.1) */
#define HBA_CAP 0x00
#define HBA_GHC 0x04
#define HBA_IS 0x08
#define HBA_PI 0x0c
#define HBA_VS 0x10
#define HBA_CAP2 0x24
#define CAP_S64A (1u << 31)
#define CAP_SAM (1u << 18)              /* AHCI only: GHC.AE reads 1 */
#define CAP_ISS_GEN1 (1u << 20)
#define CAP_NCS_32 (31u << 8)
#define GHC_HR 0x1
#define GHC_IE 0x2
#define GHC_AE (1u << 31)

/* port registers (3.3), at 0x100 + 0x80 * port */
enum {
	PX_CLB = 0x00, PX_CLBU = 0x04, PX_FB = 0x08, PX_FBU = 0x0c, PX_IS = 0x10, PX_IE = 0x14,
	PX_CMD = 0x18, PX_TFD = 0x20, PX_SIG = 0x24, PX_SSTS = 0x28, PX_SCTL = 0x2c,
	PX_SERR = 0x30, PX_SACT = 0x34, PX_CI = 0x38,
};
#define IS_DHRS 0x1u                    /* D2H register FIS received */
#define IS_TFES (1u << 30)              /* task file error */
#define CMD_ST 0x1u
#define CMD_SUD 0x2u
#define CMD_POD 0x4u
#define CMD_CLO 0x8u
#define CMD_FRE 0x10u
#define CMD_FR (1u << 14)
#define CMD_CR (1u << 15)
#define CMD_ATAPI (1u << 24)
#define SERR_DIAG_X (1u << 26)
#define SSTS_UP 0x113                   /* DET 3 (link up), SPD gen 1, IPM active */

#define FIS_H2D 0x27
#define FIS_D2H 0x34
#define RFIS_D2H_OFF 0x40               /* in the received-FIS area (4.2.1) */
#define CT_ACMD 0x40                    /* in the command table (4.2.3) */
#define CT_PRDT 0x80
#define PRDT_MAX 65535

struct ahci;

struct ahci_port {
	struct ide_ctrl ide;            /* bus[0].drive[0] is the device */
	struct ahci *hba;
	unsigned index;
	uint64_t clb, fb;
	uint32_t is, ie, cmd, tfd, sig, sctl, serr, sact, ci;
	int slot;                       /* the slot running, -1: none */
	uint64_t ctba;                  /* its command table */
	uint32_t prdtl, prd_i, prd_off; /* the PRDT and where the data is */
	uint32_t prdbc;                 /* bytes moved */
};

struct ahci {
	struct machine *m;
	struct pci_device *pci;
	pthread_mutex_t lock;
	uint32_t ghc, is, pending;      /* pending: ports with PxIS & PxIE */
	int gsi;
	bool level;
	uint32_t mapped;                /* where ABAR is mapped (0: not) */
	struct ahci_port port[AHCI_PORTS];
};

static struct ide_drive *port_drive(struct ahci_port *p)
{
	return &p->ide.bus[0].drive[0];
}

/* ---- interrupts ---- */

static void hba_update_line(struct ahci *h)
{
	bool level = (h->ghc & GHC_IE) && h->is;
	if (level != h->level && h->gsi != IRQ_ROUTE_NONE)
		machine_set_irq(h->m, h->gsi, level);
	h->level = level;
}

/* Port lock held. */
static void port_update_irq(struct ahci_port *p)
{
	struct ahci *h = p->hba;
	uint32_t bit = 1u << p->index;
	pthread_mutex_lock(&h->lock);
	if (p->is & p->ie) {
		h->pending |= bit;
		h->is |= bit;
	} else {
		h->pending &= ~bit;
	}
	hba_update_line(h);
	pthread_mutex_unlock(&h->lock);
}

/* ---- the transport ---- */

static void write_prdbc(struct ahci_port *p)
{
	uint32_t v = p->prdbc;
	machine_ram_write(p->hba->m, p->clb + 32ull * p->slot + 4, &v, 4);
}

/* The D2H register FIS (SATA 10.3.5) from the drive's task file. */
static void post_d2h(struct ahci_port *p, const struct ide_drive *d, bool irq)
{
	p->tfd = (uint32_t)d->error << 8 | d->status;
	if (!(p->cmd & CMD_FRE))
		return;
	uint8_t f[20] = {
		FIS_D2H, irq ? 0x40 : 0, d->status, d->error, d->sector, d->lcyl, d->hcyl,
		d->select, d->hob_sector, d->hob_lcyl, d->hob_hcyl, 0, d->nsector, d->hob_nsector,
	};
	machine_ram_write(p->hba->m, p->fb + RFIS_D2H_OFF, f, sizeof(f));
}

static void command_end(struct ide_bus *b)
{
	struct ahci_port *p = b->ctrl->xport_opaque;
	struct ide_drive *d = port_drive(p);
	if (p->slot < 0)
		return;
	write_prdbc(p);
	post_d2h(p, d, true);
	p->ci &= ~(1u << p->slot);
	p->slot = -1;
	p->is |= IS_DHRS | (d->status & ST_ERR ? IS_TFES : 0);   /* as QEMU: both */
	port_update_irq(p);
}

/* Walk len bytes of the PRDT (4.2.3.3), to or from guest memory. */
static int prd_copy(struct ahci_port *p, uint8_t *buf, uint32_t len, bool to_mem)
{
	struct machine *m = p->hba->m;
	while (len) {
		uint32_t e[4];
		if (p->slot < 0 || p->prd_i >= p->prdtl ||
		    guest_read(m, p->ctba + CT_PRDT + 16ull * p->prd_i, e, sizeof(e)) < 0)
			return -1;
		uint64_t dba = (e[0] & ~1u) | (uint64_t)e[1] << 32;
		uint32_t dbc = (e[3] & 0x3fffff) + 1;
		if (p->prd_off >= dbc) {
			p->prd_i++;
			p->prd_off = 0;
			continue;
		}
		uint32_t n = MIN(len, dbc - p->prd_off);
		int r = to_mem ? machine_ram_write(m, dba + p->prd_off, buf, n) :
				 guest_read(m, dba + p->prd_off, buf, n);
		if (r < 0)
			return -1;
		p->prd_off += n;
		p->prdbc += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static int to_memory(struct ide_bus *b, const uint8_t *src, uint32_t len)
{
	return prd_copy(b->ctrl->xport_opaque, (uint8_t *)src, len, true);
}

static int from_memory(struct ide_bus *b, uint8_t *dst, uint32_t len)
{
	return prd_copy(b->ctrl->xport_opaque, dst, len, false);
}

/* A command the port cannot even hand to the drive: aborted. */
static void slot_abort(struct ahci_port *p)
{
	struct ide_drive *d = port_drive(p);
	d->status = ST_DRDY | ST_ERR;
	d->error = ER_ABRT;
	command_end(&p->ide.bus[0]);
}

/* A control FIS (C = 0): SRST (ATA-6 9.2) on its falling edge. */
static void control_fis(struct ahci_port *p, const uint8_t *fis)
{
	struct ide_drive *d = port_drive(p);
	if (!(fis[15] & DC_SRST) && d->present) {
		ide_drive_reset(d, false);
		d->status &= ~ST_BSY;
	}
	int slot = p->slot;
	p->slot = -1;
	p->ci &= ~(1u << slot);
	if (!(fis[15] & DC_SRST))
		post_d2h(p, d, false);
}

/* Start slot: fetch its header and table, hand the command to the drive. */
static void slot_start(struct ahci_port *p, unsigned slot)
{
	struct machine *m = p->hba->m;
	struct ide_drive *d = port_drive(p);
	uint32_t hdr[4];
	uint8_t tbl[CT_ACMD + 16];
	p->slot = slot;
	p->prd_i = p->prd_off = p->prdbc = 0;
	p->prdtl = 0;
	if (guest_read(m, p->clb + 32ull * slot, hdr, sizeof(hdr)) < 0) {
		slot_abort(p);
		return;
	}
	p->ctba = ((uint64_t)hdr[3] << 32 | hdr[2]) & ~0x7full;
	p->prdtl = MIN(hdr[0] >> 16, PRDT_MAX);
	if ((hdr[0] & 0x1f) < 5 || guest_read(m, p->ctba, tbl, sizeof(tbl)) < 0 ||
	    tbl[0] != FIS_H2D || !d->present) {
		slot_abort(p);
		return;
	}
	if (!(tbl[1] & 0x80)) {
		control_fis(p, tbl);
		return;
	}
	d->feature = tbl[3];
	d->sector = tbl[4];
	d->lcyl = tbl[5];
	d->hcyl = tbl[6];
	d->select = tbl[7] & ~0x10;     /* the port's one device is unit 0 */
	d->hob_sector = tbl[8];
	d->hob_lcyl = tbl[9];
	d->hob_hcyl = tbl[10];
	d->hob_feature = tbl[11];
	d->nsector = tbl[12];
	d->hob_nsector = tbl[13];
	d->cmd = tbl[2];
	d->error = 0;
	ata_exec(d, tbl[2]);
	if (d->phase == PH_PACKET && p->slot == (int)slot) {
		memcpy(d->packet, tbl + CT_ACMD, sizeof(d->packet));
		d->phase = PH_IDLE;
		d->status = ST_DRDY | ST_DSC;
		atapi_exec(d);
	}
}

/* Lock held: run the slots the guest issued while the port is started. */
static void port_run(struct ahci_port *p)
{
	struct ide_drive *d = port_drive(p);
	while (p->slot < 0 && (p->cmd & CMD_ST) && p->ci && !d->in_flight)
		slot_start(p, __builtin_ctz(p->ci));
}

static void unlocking(struct ide_ctrl *c)
{
	port_run(c->xport_opaque);
}

static const struct ide_xport ahci_xport = {
	.command_end = command_end,
	.to_memory = to_memory,
	.from_memory = from_memory,
	.unlocking = unlocking,
};

/* ---- resets ---- */

static void port_signature(struct ahci_port *p)
{
	struct ide_drive *d = port_drive(p);
	if (!d->present) {
		p->tfd = 0x7f;
		p->sig = 0xffffffff;
		return;
	}
	p->tfd = (uint32_t)d->error << 8 | (d->status & ~ST_BSY);
	p->sig = d->nsector | d->sector << 8 | d->lcyl << 16 | (uint32_t)d->hcyl << 24;
}

/* Abandon the slot running: a request in flight completes unseen. */
static void port_stop(struct ahci_port *p)
{
	if (p->slot >= 0) {
		ide_drive_reset(port_drive(p), false);
		p->slot = -1;
	}
	p->ci = p->sact = 0;
}

/* COMRESET (SCTL.DET 1 then 0) or an HBA reset: the device starts again. */
static void port_comreset(struct ahci_port *p)
{
	port_stop(p);
	if (port_drive(p)->present)
		ide_drive_reset(port_drive(p), true);
	port_signature(p);
	p->serr |= SERR_DIAG_X;
	if (port_drive(p)->present)
		post_d2h(p, port_drive(p), false);
}

/* Port lock held: 10.4.3's port reset by GHC.HR. */
static void port_reset(struct ahci_port *p)
{
	port_stop(p);
	p->clb = p->fb = 0;
	p->is = p->ie = p->cmd = p->sctl = p->serr = 0;
	port_comreset(p);
	p->serr = 0;
	port_update_irq(p);
}

static void hba_reset(struct ahci *h)
{
	for (unsigned i = 0; i < AHCI_PORTS; i++) {
		pthread_mutex_lock(&h->port[i].ide.lock);
		port_reset(&h->port[i]);
		ide_unlock(&h->port[i].ide);
	}
	pthread_mutex_lock(&h->lock);
	h->ghc = 0;
	h->is = h->pending = 0;
	hba_update_line(h);
	pthread_mutex_unlock(&h->lock);
}

/* ---- registers ---- */

static uint32_t port_read(struct ahci_port *p, unsigned reg)
{
	switch (reg) {
	case PX_CLB: return p->clb;
	case PX_CLBU: return p->clb >> 32;
	case PX_FB: return p->fb;
	case PX_FBU: return p->fb >> 32;
	case PX_IS: return p->is;
	case PX_IE: return p->ie;
	case PX_CMD:
		return p->cmd | CMD_SUD | CMD_POD | (p->cmd & CMD_ST ? CMD_CR : 0) |
		       (p->cmd & CMD_FRE ? CMD_FR : 0) | (port_drive(p)->cdrom ? CMD_ATAPI : 0) |
		       (p->slot >= 0 ? (uint32_t)p->slot << 8 : 0);
	case PX_TFD: return p->tfd;
	case PX_SIG: return p->sig;
	case PX_SSTS: return port_drive(p)->present && (p->sctl & 0xf) != 1 ? SSTS_UP : 0;
	case PX_SCTL: return p->sctl;
	case PX_SERR: return p->serr;
	case PX_SACT: return p->sact;
	case PX_CI: return p->ci;
	}
	return 0;
}

static void set_low(uint64_t *r, uint32_t v) { *r = (*r & ~0xffffffffull) | v; }
static void set_high(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffull) | (uint64_t)v << 32; }

static void port_write(struct ahci_port *p, unsigned reg, uint32_t v)
{
	switch (reg) {
	case PX_CLB: set_low(&p->clb, v & ~0x3ffu); break;
	case PX_CLBU: set_high(&p->clb, v); break;
	case PX_FB: set_low(&p->fb, v & ~0xffu); break;
	case PX_FBU: set_high(&p->fb, v); break;
	case PX_IS: p->is &= ~v; port_update_irq(p); break;
	case PX_IE: p->ie = v & 0xfdc000ff; port_update_irq(p); break;
	case PX_CMD:
		if ((p->cmd & CMD_ST) && !(v & CMD_ST))
			port_stop(p);
		if (v & CMD_CLO)
			p->tfd &= ~(ST_BSY | ST_DRQ);
		p->cmd = v & (CMD_ST | CMD_FRE);
		break;
	case PX_SCTL:
		if ((p->sctl & 0xf) == 1 && (v & 0xf) != 1)
			port_comreset(p);
		else if ((v & 0xf) == 1)
			port_stop(p);
		p->sctl = v & 0xfff;
		break;
	case PX_SERR: p->serr &= ~v; break;
	case PX_SACT: if (p->cmd & CMD_ST) p->sact |= v; break;
	case PX_CI: if (p->cmd & CMD_ST) p->ci |= v; break;
	}
}

static uint32_t hba_read(struct ahci *h, unsigned reg)
{
	switch (reg) {
	case HBA_CAP:
		return CAP_S64A | CAP_SAM | CAP_ISS_GEN1 | CAP_NCS_32 | (AHCI_PORTS - 1);
	case HBA_GHC: return h->ghc | GHC_AE;
	case HBA_IS: return h->is;
	case HBA_PI: return (1u << AHCI_PORTS) - 1;
	case HBA_VS: return 0x00010301;
	}
	return 0;
}

static uint64_t abar_read(void *opaque, uint64_t off, unsigned size)
{
	struct ahci *h = opaque;
	unsigned reg = off & ~3u;
	uint32_t v = 0;
	if (reg < 0x100) {
		pthread_mutex_lock(&h->lock);
		v = hba_read(h, reg);
		pthread_mutex_unlock(&h->lock);
	} else if (reg < 0x100 + 0x80 * AHCI_PORTS) {
		struct ahci_port *p = &h->port[(reg - 0x100) / 0x80];
		pthread_mutex_lock(&p->ide.lock);
		v = port_read(p, (reg - 0x100) % 0x80);
		pthread_mutex_unlock(&p->ide.lock);
	}
	v >>= 8 * (off & 3);
	return size >= 4 ? v : v & ((1u << 8 * size) - 1);
}

static void abar_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	struct ahci *h = opaque;
	if (size != 4 || (off & 3))
		return;                 /* registers are dwords (3) */
	if (off < 0x100) {
		if (off == HBA_GHC && (v & GHC_HR)) {
			hba_reset(h);   /* HR reads 0 when done: at once */
			return;
		}
		pthread_mutex_lock(&h->lock);
		if (off == HBA_GHC)
			h->ghc = v & GHC_IE;
		else if (off == HBA_IS)
			h->is = (h->is & ~(uint32_t)v) | h->pending;
		hba_update_line(h);
		pthread_mutex_unlock(&h->lock);
	} else if (off < 0x100 + 0x80 * AHCI_PORTS) {
		struct ahci_port *p = &h->port[(off - 0x100) / 0x80];
		pthread_mutex_lock(&p->ide.lock);
		port_write(p, (off - 0x100) % 0x80, v);
		ide_unlock(&p->ide);    /* runs the slots issued, submits */
	}
}

static const struct io_ops abar_ops = { .read = abar_read, .write = abar_write };

/* ---- the PCI function ---- */

static void update_abar(struct ahci *h)
{
	uint32_t addr = pci_device_bar(h->pci, ABAR), want = 0;
	if ((pci_config_get(h->pci, 0x04, 2) & 2) && addr)
		want = addr;
	if (want == h->mapped)
		return;
	if (h->mapped)
		machine_remove_region(h->m, REGION_MMIO, h->mapped);
	h->mapped = 0;
	if (want && machine_add_mmio(h->m, want, ABAR_SIZE, &abar_ops, h, "ahci") == 0)
		h->mapped = want;
}

static void ahci_config_write(struct pci_device *pd, unsigned off, unsigned size)
{
	if (off < 0x06 || (off < 0x28 && off + size > 0x24))
		update_abar(pd->opaque);
}

static const struct pci_device_ops ahci_pci_ops = { .config_write = ahci_config_write };

/* ---- device_ops ---- */

static void ahci_drain(struct ahci *h)
{
	for (unsigned i = 0; i < AHCI_PORTS; i++)
		if (port_drive(&h->port[i])->blk)
			blk_drain(port_drive(&h->port[i])->blk);
}

static void ahci_dev_reset(void *opaque)
{
	struct ahci *h = opaque;
	ahci_drain(h);
	hba_reset(h);
	if (h->pci) {
		pci_config_set(h->pci, 0x3d, 1, 1);
		update_abar(h);
	}
}

static void ahci_quiesce(void *opaque)
{
	ahci_drain(opaque);
}

static void ahci_destroy(void *opaque)
{
	struct ahci *h = opaque;
	for (unsigned i = 0; i < AHCI_PORTS; i++) {
		struct ide_drive *d = port_drive(&h->port[i]);
		if (d->blk)
			blk_close(d->blk);
		free(d->buf);
		pthread_mutex_destroy(&h->port[i].ide.lock);
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Save/load: the HBA's registers, each port's, and its drive through
 * ide_save/ide_load (quiesce drained the images first, so no slot is
 * normally running; one that is keeps its PRDT position). */
#define AHCI_STATE_VERSION 1

static void ahci_save(void *opaque, struct state_buf *s)
{
	struct ahci *h = opaque;
	state_put_u8(s, AHCI_STATE_VERSION);
	pthread_mutex_lock(&h->lock);
	state_put_u32(s, h->ghc);
	state_put_u32(s, h->is);
	pthread_mutex_unlock(&h->lock);
	for (unsigned i = 0; i < AHCI_PORTS; i++) {
		struct ahci_port *p = &h->port[i];
		pthread_mutex_lock(&p->ide.lock);
		state_put_u64(s, p->clb);
		state_put_u64(s, p->fb);
		uint32_t r[] = { p->is, p->ie, p->cmd, p->tfd, p->sig, p->sctl, p->serr, p->sact,
				 p->ci, (uint32_t)p->slot, p->prdtl, p->prd_i, p->prd_off, p->prdbc };
		for (unsigned k = 0; k < ARRAY_SIZE(r); k++)
			state_put_u32(s, r[k]);
		state_put_u64(s, p->ctba);
		pthread_mutex_unlock(&p->ide.lock);
		ide_save(&p->ide, s);
	}
}

static int ahci_load(void *opaque, struct state_buf *s)
{
	struct ahci *h = opaque;
	if (state_get_u8(s) != AHCI_STATE_VERSION)
		return -1;
	uint32_t ghc = state_get_u32(s) & GHC_IE, is = state_get_u32(s);
	for (unsigned i = 0; i < AHCI_PORTS; i++) {
		struct ahci_port *p = &h->port[i], t = { .clb = state_get_u64(s) };
		t.fb = state_get_u64(s);
		uint32_t r[14];
		for (unsigned k = 0; k < ARRAY_SIZE(r); k++)
			r[k] = state_get_u32(s);
		t.ctba = state_get_u64(s);
		int slot = (int32_t)r[9];
		if (s->error || slot < -1 || slot > 31 || r[10] > PRDT_MAX || r[11] > r[10] ||
		    r[12] > 0x400000 || ide_load(&p->ide, s) < 0)
			return -1;
		pthread_mutex_lock(&p->ide.lock);
		p->clb = t.clb & ~0x3ffull;
		p->fb = t.fb & ~0xffull;
		p->is = r[0], p->ie = r[1] & 0xfdc000ff, p->cmd = r[2] & (CMD_ST | CMD_FRE);
		p->tfd = r[3], p->sig = r[4], p->sctl = r[5] & 0xfff, p->serr = r[6];
		p->sact = r[7], p->ci = r[8], p->slot = slot, p->prdtl = r[10];
		p->prd_i = r[11], p->prd_off = r[12], p->prdbc = r[13];
		p->ctba = t.ctba & ~0x7full;
		port_update_irq(p);
		pthread_mutex_unlock(&p->ide.lock);
	}
	pthread_mutex_lock(&h->lock);
	h->ghc = ghc;
	h->is = (is & ((1u << AHCI_PORTS) - 1)) | h->pending;
	hba_update_line(h);
	pthread_mutex_unlock(&h->lock);
	if (h->pci)
		update_abar(h);
	return 0;
}

static const struct device_ops ahci_dev_ops = {
	.name = "ahci",
	.reset = ahci_dev_reset,
	.save = ahci_save,
	.load = ahci_load,
	.quiesce = ahci_quiesce,
	.destroy = ahci_destroy,
};

/* ---- the API (hw.h) ---- */

struct ahci *ahci_new(struct machine *m, struct pci_host *host, unsigned slot)
{
	struct ahci *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->m = m;
	h->gsi = host ? irq_pci_line(m->irq_routing, slot, 0) : IRQ_ROUTE_NONE;
	pthread_mutex_init(&h->lock, NULL);
	for (unsigned i = 0; i < AHCI_PORTS; i++) {
		struct ahci_port *p = &h->port[i];
		p->hba = h;
		p->index = i;
		p->slot = -1;
		p->ide.m = m;
		p->ide.xport = &ahci_xport;
		p->ide.xport_opaque = p;
		snprintf(p->ide.where, sizeof(p->ide.where), "ahci port %u", i);
		pthread_mutex_init(&p->ide.lock, NULL);
		p->ide.bus[0].ctrl = p->ide.bus[1].ctrl = &p->ide;
		p->ide.bus[1].index = 1;
		for (unsigned u = 0; u < 2; u++) {
			p->ide.bus[0].drive[u].bus = &p->ide.bus[0];
			p->ide.bus[0].drive[u].unit = u;
			p->ide.bus[1].drive[u].bus = &p->ide.bus[1];
			p->ide.bus[1].drive[u].unit = u;
		}
	}
	machine_add_device(m, &ahci_dev_ops, h);
	if (host) {
		h->pci = pci_register_device(host, slot, 0, 0x8086, 0x2922, 0x010601, 2,
					     &ahci_pci_ops, h);
		if (!h->pci)
			return NULL;
		pci_device_set_bar(h->pci, ABAR, ABAR_SIZE, 0);
	}
	ahci_dev_reset(h);
	return h;
}

int ahci_attach(struct ahci *h, unsigned port, struct blk *b, bool cdrom,
		const struct blk_open_opts *opts)
{
	if (port >= AHCI_PORTS) {
		qvm_error("ahci: no port %u (ports 0-%u)", port, AHCI_PORTS - 1);
		if (b)
			blk_close(b);
		return -1;
	}
	struct ahci_port *p = &h->port[port];
	if (ide_attach(&p->ide, 0, 0, b, cdrom, opts) < 0)
		return -1;
	struct ide_drive *d = port_drive(p);
	snprintf(d->name, sizeof(d->name), "ahci-%s%u", cdrom ? "cd" : "hd", port);
	pthread_mutex_lock(&p->ide.lock);
	port_comreset(p);
	p->serr = 0;
	pthread_mutex_unlock(&p->ide.lock);
	return 0;
}

struct ide_ctrl *ahci_drive_ctrl(struct ahci *h, const char *name)
{
	for (unsigned i = 0; h && i < AHCI_PORTS; i++)
		if (ide_has_drive(&h->port[i].ide, name))
			return &h->port[i].ide;
	return NULL;
}

void ahci_info_block(struct ahci *h, void (*print)(void *opaque, const char *text),
		     void *opaque)
{
	for (unsigned i = 0; h && i < AHCI_PORTS; i++)
		ide_info_block(&h->port[i].ide, print, opaque);
}

void ahci_close(struct ahci *h)
{
	for (unsigned i = 0; h && i < AHCI_PORTS; i++)
		ide_close(&h->port[i].ide);
}
