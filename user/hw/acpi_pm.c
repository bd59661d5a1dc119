/*
 * ACPI fixed hardware (ACPI 6.4 section 4.8): the register blocks that the
 * FADT points at, in one 16-byte port range (ACPI_PM_BASE, hw.h):
 *
 *   +0x00  PM1a_EVT_BLK  PM1_STS (16, write 1 to clear), PM1_EN (16)  4.8.3.1
 *   +0x04  PM1a_CNT_BLK  PM1_CNT (16): SCI_EN, SLP_TYP, SLP_EN       4.8.3.2
 *   +0x06  reserved
 *   +0x08  PM_TMR_BLK    24-bit timer at 3.579545 MHz, read-only      4.8.3.3
 *   +0x0c  GPE0_BLK      GPE0_STS (16, write 1 to clear), GPE0_EN (16) 4.8.4.1
 *
 * There is no SMI_CMD (FADT SMI_CMD = 0): the machine is always in ACPI
 * mode, so SCI_EN reads 1 whatever is written.  Writing SLP_EN with
 * SLP_TYP = ACPI_SLP_TYP_S5 (the DSDT's \_S5) powers the machine off;
 * other sleep types are not offered by the DSDT and are ignored.  Reset
 * is not here: the FADT's RESET_REG is the PIIX reset control register at
 * 0xcf9 (pci_host.c).
 *
 * Events that raise the SCI (a level on ACPI_SCI_GSI while any enabled
 * status bit is set): the timer's bit 23 toggling (TMR_STS), the power
 * button (acpi_pm_power_button) and GPE0 (nothing sets GPE0_STS yet).
 * TMR_STS is computed from the clock when read; with a main loop, a timer
 * raises the SCI at the toggle while TMR_EN is set.
 *
 * Every register is a run of bytes: accesses of any width at any offset
 * touch the bytes they cover, so no guest value or access shape can do
 * more than a byte-by-byte write would.
 */
#include <pthread.h>
#include <stdlib.h>
#include "machine.h"
#include "mainloop.h"
#include "hw.h"

#define NS_PER_SEC 1000000000ULL
#define PM_TMR_HZ 3579545ULL         /* 4.8.3.3: 3.579545 MHz */
#define PM_TMR_MASK 0xffffffu        /* 24 bits: FADT TMR_VAL_EXT = 0 */
#define PM_TMR_CARRY_SHIFT 23        /* TMR_STS: bit 23 toggled [4.8.3.3] */

/* PM1 status and enable bits [ACPI 6.4 Tables 4.16, 4.17] */
#define PM1_TMR 0x0001
#define PM1_BM_STS 0x0010
#define PM1_GBL 0x0020
#define PM1_PWRBTN 0x0100
#define PM1_SLPBTN 0x0200
#define PM1_RTC 0x0400
#define PM1_PCIEXP_WAKE 0x4000
#define PM1_WAK_STS 0x8000
#define PM1_STS_DEFINED (PM1_TMR | PM1_BM_STS | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | \
			 PM1_RTC | PM1_PCIEXP_WAKE | PM1_WAK_STS)
#define PM1_EN_DEFINED (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC | \
			PM1_PCIEXP_WAKE)
/* Status bits that raise the SCI when enabled (PCIEXP_WAKE_DIS is a
 * disable, not an enable). */
#define PM1_SCI_EVENTS (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC)

/* PM1 control bits [ACPI 6.4 Table 4.18] */
#define CNT_SCI_EN 0x0001
#define CNT_BM_RLD 0x0002
#define CNT_GBL_RLS 0x0004           /* write-only, raises an SMI: none here */
#define CNT_SLP_TYP_SHIFT 10
#define CNT_SLP_TYP (7u << CNT_SLP_TYP_SHIFT)
#define CNT_SLP_EN 0x2000            /* write-only */
#define CNT_STORED (CNT_BM_RLD | CNT_SLP_TYP)

#define ACPI_PM_STATE_VERSION 1

struct acpi_pm {
	struct machine *m;
	pthread_mutex_t lock;
	struct timer *timer;         /* NULL without a main loop */
	uint16_t pm1_sts;            /* status bits other than TMR_STS */
	uint16_t pm1_en, pm1_cnt;    /* pm1_cnt: CNT_STORED bits only */
	uint16_t gpe_sts, gpe_en;
	/* The timer: ticks = tick_base + (clock_ns() - ns_base) * Hz / 1e9,
	 * 64 bits wide; the guest sees the low 24.  TMR_STS is set while the
	 * count of bit-23 toggles (ticks >> 23) differs from tmr_seen. */
	uint64_t tick_base, ns_base, tmr_seen;
	int sci_level;
};

/* ---- the timer ---- */

static uint64_t pm_ticks(const struct acpi_pm *pm, uint64_t now)
{
	uint64_t ns = now - pm->ns_base;
	return pm->tick_base + (uint64_t)((unsigned __int128)ns * PM_TMR_HZ / NS_PER_SEC);
}

/* Restart the count at ticks, now (on creation and load). */
static void pm_set_ticks(struct acpi_pm *pm, uint64_t ticks, uint64_t now)
{
	pm->tick_base = ticks;
	pm->ns_base = now;
}

static uint16_t pm1_status(const struct acpi_pm *pm, uint64_t now)
{
	bool tmr = (pm_ticks(pm, now) >> PM_TMR_CARRY_SHIFT) != pm->tmr_seen;
	return pm->pm1_sts | (tmr ? PM1_TMR : 0);
}

/* ---- the SCI ---- */

static void pm_update_sci(struct acpi_pm *pm, uint64_t now)
{
	int level = (pm1_status(pm, now) & pm->pm1_en & PM1_SCI_EVENTS) ||
		    (pm->gpe_sts & pm->gpe_en);
	if (level != pm->sci_level) {
		pm->sci_level = level;
		machine_set_irq(pm->m, ACPI_SCI_GSI, level);
	}
}

/* With TMR_EN set and TMR_STS clear, wake at the next toggle of bit 23. */
static void pm_schedule(struct acpi_pm *pm, uint64_t now)
{
	if (!pm->timer)
		return;
	if (!(pm->pm1_en & PM1_TMR) || (pm1_status(pm, now) & PM1_TMR)) {
		timer_cancel(pm->timer);
		return;
	}
	uint64_t ticks = pm_ticks(pm, now);
	uint64_t next = ((ticks >> PM_TMR_CARRY_SHIFT) + 1) << PM_TMR_CARRY_SHIFT;
	uint64_t delta = next - ticks; /* 1 .. 2^23, wrap-safe */
	timer_arm(pm->timer, now + (delta * NS_PER_SEC + PM_TMR_HZ - 1) / PM_TMR_HZ);
}

static void pm_changed(struct acpi_pm *pm, uint64_t now)
{
	pm_update_sci(pm, now);
	pm_schedule(pm, now);
}

static void pm_timer_cb(void *opaque)
{
	struct acpi_pm *pm = opaque;
	pthread_mutex_lock(&pm->lock);
	pm_changed(pm, clock_ns());
	pthread_mutex_unlock(&pm->lock);
}

/* ---- registers, a byte at a time ---- */

static uint8_t pm_read_byte(struct acpi_pm *pm, unsigned off, uint64_t now)
{
	unsigned shift = 8 * (off & 1);
	switch (off & ~1u) {
	case ACPI_PM1_EVT_OFF:
		return pm1_status(pm, now) >> shift;
	case ACPI_PM1_EVT_OFF + 2:
		return pm->pm1_en >> shift;
	case ACPI_PM1_CNT_OFF:
		return (pm->pm1_cnt | CNT_SCI_EN) >> shift;
	case ACPI_PM_TMR_OFF:
	case ACPI_PM_TMR_OFF + 2:
		return (pm_ticks(pm, now) & PM_TMR_MASK) >> (8 * (off - ACPI_PM_TMR_OFF));
	case ACPI_GPE0_OFF:
		return pm->gpe_sts >> shift;
	case ACPI_GPE0_OFF + 2:
		return pm->gpe_en >> shift;
	}
	return 0; /* the reserved word at +6 */
}

/* PM1_CNT [4.8.3.2.1]: SLP_EN with the S5 type is a power-off.  SLP_TYP
 * and SLP_EN share the high byte, so a byte write carries both. */
static void pm1_cnt_write(struct acpi_pm *pm, uint16_t val, uint16_t bytes)
{
	pm->pm1_cnt = (pm->pm1_cnt & ~bytes) | (val & bytes & CNT_STORED);
	if (!(val & bytes & CNT_SLP_EN))
		return;
	unsigned typ = (pm->pm1_cnt & CNT_SLP_TYP) >> CNT_SLP_TYP_SHIFT;
	if (typ == ACPI_SLP_TYP_S5) {
		qvm_log(LOG_INT, "acpi: S5, power off");
		machine_request(pm->m, REQ_POWEROFF, 0);
	} else {
		qvm_log(LOG_UNIMP, "acpi: sleep type %u not supported, ignored", typ);
	}
}

static void pm_write_byte(struct acpi_pm *pm, unsigned off, uint8_t val, uint64_t now)
{
	unsigned shift = 8 * (off & 1);
	uint16_t v = (uint16_t)val << shift, bytes = (uint16_t)0xff << shift;
	switch (off & ~1u) {
	case ACPI_PM1_EVT_OFF:
		if (v & PM1_TMR)
			pm->tmr_seen = pm_ticks(pm, now) >> PM_TMR_CARRY_SHIFT;
		pm->pm1_sts &= ~v;
		break;
	case ACPI_PM1_EVT_OFF + 2:
		pm->pm1_en = (pm->pm1_en & ~bytes) | (v & PM1_EN_DEFINED);
		break;
	case ACPI_PM1_CNT_OFF:
		pm1_cnt_write(pm, v, bytes);
		break;
	case ACPI_GPE0_OFF:
		pm->gpe_sts &= ~v;
		break;
	case ACPI_GPE0_OFF + 2:
		pm->gpe_en = (pm->gpe_en & ~bytes) | v;
		break;
	}
	/* the timer and the reserved word ignore writes */
}

static uint64_t pm_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint64_t v = 0;
	pthread_mutex_lock(&pm->lock);
	uint64_t now = clock_ns();
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)(offset + i < ACPI_PM_LEN ? pm_read_byte(pm, offset + i, now)
							  : 0xff) << (8 * i);
	pm_update_sci(pm, now); /* TMR_STS may have risen since the last look */
	pthread_mutex_unlock(&pm->lock);
	return v;
}

static void pm_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct acpi_pm *pm = opaque;
	pthread_mutex_lock(&pm->lock);
	uint64_t now = clock_ns();
	for (unsigned i = 0; i < size && offset + i < ACPI_PM_LEN; i++)
		pm_write_byte(pm, offset + i, value >> (8 * i), now);
	pm_changed(pm, now);
	pthread_mutex_unlock(&pm->lock);
}

static const struct io_ops pm_io_ops = {
	.read = pm_io_read,
	.write = pm_io_write,
};

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts |= PM1_PWRBTN;
	pm_changed(pm, clock_ns());
	pthread_mutex_unlock(&pm->lock);
}

/* ---- device ops ---- */

/* Registers to their power-on values; the timer keeps counting. */
static void acpi_pm_reset(void *dev)
{
	struct acpi_pm *pm = dev;
	pthread_mutex_lock(&pm->lock);
	uint64_t now = clock_ns();
	pm->pm1_sts = pm->pm1_en = pm->pm1_cnt = 0;
	pm->gpe_sts = pm->gpe_en = 0;
	pm->tmr_seen = pm_ticks(pm, now) >> PM_TMR_CARRY_SHIFT;
	pm_changed(pm, now);
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_save(void *dev, struct state_buf *s)
{
	struct acpi_pm *pm = dev;
	pthread_mutex_lock(&pm->lock);
	uint64_t now = clock_ns();
	state_put_u8(s, ACPI_PM_STATE_VERSION);
	state_put_u16(s, pm->pm1_sts);
	state_put_u16(s, pm->pm1_en);
	state_put_u16(s, pm->pm1_cnt);
	state_put_u16(s, pm->gpe_sts);
	state_put_u16(s, pm->gpe_en);
	state_put_u64(s, pm_ticks(pm, now));
	state_put_u8(s, !!(pm1_status(pm, now) & PM1_TMR));
	pthread_mutex_unlock(&pm->lock);
}

static int acpi_pm_load(void *dev, struct state_buf *s)
{
	struct acpi_pm *pm = dev;
	uint8_t version = state_get_u8(s);
	uint16_t sts = state_get_u16(s), en = state_get_u16(s), cnt = state_get_u16(s);
	uint16_t gpe_sts = state_get_u16(s), gpe_en = state_get_u16(s);
	uint64_t ticks = state_get_u64(s);
	uint8_t tmr_sts = state_get_u8(s);
	if (s->error || version != ACPI_PM_STATE_VERSION || (sts & ~PM1_STS_DEFINED) ||
	    (sts & PM1_TMR) || (en & ~PM1_EN_DEFINED) || (cnt & ~CNT_STORED) || tmr_sts > 1)
		return -1;
	pthread_mutex_lock(&pm->lock);
	uint64_t now = clock_ns();
	pm->pm1_sts = sts;
	pm->pm1_en = en;
	pm->pm1_cnt = cnt;
	pm->gpe_sts = gpe_sts;
	pm->gpe_en = gpe_en;
	pm_set_ticks(pm, ticks, now);
	pm->tmr_seen = (ticks >> PM_TMR_CARRY_SHIFT) - tmr_sts;
	pm_changed(pm, now);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static void acpi_pm_destroy(void *dev)
{
	struct acpi_pm *pm = dev;
	timer_free(pm->timer);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

static const struct device_ops acpi_pm_device_ops = {
	.name = "acpi-pm",
	.reset = acpi_pm_reset,
	.save = acpi_pm_save,
	.load = acpi_pm_load,
	.destroy = acpi_pm_destroy,
};

struct acpi_pm *acpi_pm_new(struct machine *m)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	if (!pm) {
		qvm_error("acpi-pm: out of memory");
		return NULL;
	}
	pm->m = m;
	pthread_mutex_init(&pm->lock, NULL);
	pm_set_ticks(pm, 0, clock_ns());
	if (machine_add_pio(m, ACPI_PM_BASE, ACPI_PM_LEN, &pm_io_ops, pm, "acpi-pm") < 0) {
		pthread_mutex_destroy(&pm->lock);
		free(pm);
		return NULL;
	}
	if (m->loop)
		pm->timer = timer_new(m->loop, pm_timer_cb, pm);
	machine_add_device(m, &acpi_pm_device_ops, pm);
	return pm;
}
