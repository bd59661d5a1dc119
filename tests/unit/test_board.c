/* The board interface (machine.h): machine_reset's order, the board
 * registry, and the pc's post-firmware vCPU state (pc/post-firmware.c)
 * applied through the engine's operations. */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "cmdline.h"
#include "accel.h"
#include "config.h"
#include "cpu.h"
#include "machine.h"
#include "pc/pc.h"
#include "x86/msr.h"

/* ---- a machine whose engine, board and device log what they are asked ---- */

static char calls[512];
static bool paused_during_device_reset;
static int fail_board_reset;

static void note(const char *what)
{
	strncat(calls, what, sizeof(calls) - strlen(calls) - 2);
	strcat(calls, " ");
}

static int eng_machine_reset(struct machine *m)
{
	(void)m;
	note("engine");
	return 0;
}

static int eng_vcpu_reset(struct vcpu *v)
{
	note(v->index ? "vcpu1" : "vcpu0");
	return 0;
}

static int eng_get_state(struct vcpu *v, struct x86_cpu_state *s)
{
	x86_cpu_reset_state(s, v->index == 0);
	note(v->index ? "get1" : "get0");
	return 0;
}

static uint64_t set_rip;

static int eng_set_state(struct vcpu *v, const struct x86_cpu_state *s)
{
	note(v->index ? "set1" : "set0");
	set_rip = s->rip;
	return 0;
}

static int eng_msr_write(struct vcpu *v, uint32_t index, uint64_t value)
{
	char buf[48];
	snprintf(buf, sizeof(buf), "msr%u:%x=%llx", v->index, index, (unsigned long long)value);
	note(buf);
	return 0;
}

static int eng_lapic_write(struct vcpu *v, uint32_t offset, uint32_t value)
{
	char buf[48];
	snprintf(buf, sizeof(buf), "lapic%u:%x=%x", v->index, offset, value);
	note(buf);
	return 0;
}

static const struct accel_ops log_accel_ops = {
	.name = "log", .machine_reset = eng_machine_reset, .vcpu_reset = eng_vcpu_reset,
	.get_state = eng_get_state, .set_state = eng_set_state,
	.msr_write = eng_msr_write, .lapic_write = eng_lapic_write,
};
static struct accel log_accel = { .ops = &log_accel_ops };

static int board_reset(struct machine *m)
{
	(void)m;
	note("board-reset");
	return fail_board_reset ? -1 : 0;
}

static int board_enter(struct machine *m)
{
	(void)m;
	note("board-enter");
	return 0;
}

static const struct board_ops log_board = {
	.name = "log", .reset = board_reset, .enter = board_enter,
};

static void dev_reset(void *dev)
{
	struct machine *m = dev;
	paused_during_device_reset = m->paused;
	note("devices");
}

static const struct device_ops log_device = { .name = "log", .reset = dev_reset };

static struct machine *log_machine(unsigned nr_vcpus)
{
	struct machine *m = machine_new(16 * MiB);
	if (!m)
		return NULL;
	calls[0] = 0;
	m->accel = &log_accel;
	m->nr_vcpus = nr_vcpus;
	m->vcpus = calloc(nr_vcpus, sizeof(*m->vcpus));
	for (unsigned i = 0; i < nr_vcpus; i++) {
		m->vcpus[i] = calloc(1, sizeof(struct vcpu));
		m->vcpus[i]->m = m;
		m->vcpus[i]->index = i;
	}
	machine_add_device(m, &log_device, m);
	return m;
}

static void log_machine_free(struct machine *m)
{
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		free(m->vcpus[i]);
	machine_free(m);
}

TEST(machine_reset_order)
{
	struct machine *m = log_machine(2);
	CHECK(m);
	machine_set_board(m, &log_board);
	fail_board_reset = 0;
	CHECK_EQ(machine_reset(m), 0);
	CHECK(!strcmp(calls, "devices engine vcpu0 vcpu1 board-reset board-enter "));
	CHECK(paused_during_device_reset);
	CHECK(!m->paused);                             /* resumed */
	CHECK_EQ(m->reset_count, 1);
	log_machine_free(m);
}

TEST(machine_reset_failure_leaves_vcpus_paused)
{
	struct machine *m = log_machine(1);
	CHECK(m);
	machine_set_board(m, &log_board);
	fail_board_reset = 1;
	CHECK_EQ(machine_reset(m), -1);
	CHECK(!strcmp(calls, "devices engine vcpu0 board-reset "));
	CHECK(m->paused);
	CHECK_EQ(m->reset_count, 0);                   /* nobody is told to go on */
	log_machine_free(m);
}

TEST(board_registry)
{
	CHECK(board_find(NULL) == &pc_board_ops);
	CHECK(board_find("pc") == &pc_board_ops);
	CHECK(board_find("pc-i440fx") == &pc_board_ops);
	CHECK(board_find("q35") == NULL);
	CHECK(pc_board_ops.irq_routing == &pc_irq_routing);
	struct machine *m = machine_new(4 * MiB);
	CHECK(m);
	machine_set_board(m, &pc_board_ops);
	CHECK(m->irq_routing == &pc_irq_routing);
	machine_free(m);
}

/* ---- the pc's post-firmware state ---- */

static struct machine *pc_machine(struct config *c, struct pc_board *b)
{
	struct machine *m = log_machine(2);
	if (!m)
		return NULL;
	m->cfg = c;
	m->board = b;
	machine_add_memory(m, REGION_RAM, 0, 16 * MiB, m->ram, "ram");
	return m;
}

TEST(pc_post_firmware_state_by_vcpu)
{
	struct config c = { 0 };
	struct pc_board b = { 0 };
	struct machine *m = pc_machine(&c, &b);
	struct pc_fw_state st;
	CHECK(m);
	/* no -bios, no -kernel: the BSP in virtual wire, MTRRs on everywhere */
	x86_cpu_reset_state(&st.cpu, true);
	CHECK_EQ(pc_post_firmware_state(m, 0, &st), 0);
	CHECK(!st.cpu_set);
	CHECK_EQ(st.nr_msrs, 1);
	CHECK_EQ(st.msrs[0].index, MSR_MTRR_DEF_TYPE);
	CHECK_EQ(st.msrs[0].value, 0xc06);
	CHECK_EQ(st.nr_lapic, 3);
	CHECK_EQ(st.lapic[0].offset, 0xf0);            /* SVR before the LVTs */
	CHECK_EQ(st.lapic[0].value, 0x1ff);
	CHECK_EQ(st.lapic[1].offset, 0x350);
	CHECK_EQ(st.lapic[1].value, 0x700);            /* LINT0 ExtINT */
	CHECK_EQ(st.lapic[2].offset, 0x360);
	CHECK_EQ(st.lapic[2].value, 0x400);            /* LINT1 NMI */
	x86_cpu_reset_state(&st.cpu, false);
	CHECK_EQ(pc_post_firmware_state(m, 1, &st), 0);
	CHECK(!st.cpu_set);
	CHECK_EQ(st.nr_msrs, 1);
	CHECK_EQ(st.nr_lapic, 0);                      /* the AP's LAPIC as reset */
	/* multiboot: the BSP at the entry (multiboot 3.2) */
	b.boot = BOOT_MULTIBOOT;
	b.mb_entry = 0x101000;
	b.mb_info = 0x9000;
	x86_cpu_reset_state(&st.cpu, true);
	CHECK_EQ(pc_post_firmware_state(m, 0, &st), 0);
	CHECK(st.cpu_set);
	CHECK_EQ(st.cpu.rip, 0x101000);
	CHECK_EQ(st.cpu.regs[R_RAX], 0x2badb002);
	CHECK_EQ(st.cpu.regs[R_RBX], 0x9000);
	CHECK_EQ(st.cpu.cr0 & 1, 1);
	/* Linux, 64-bit entry (boot.rst, "64-bit Boot Protocol") */
	b.boot = BOOT_LINUX;
	b.linux_64bit = true;
	b.linux_entry = 0x1000200;
	x86_cpu_reset_state(&st.cpu, true);
	CHECK_EQ(pc_post_firmware_state(m, 0, &st), 0);
	CHECK(st.cpu_set);
	CHECK_EQ(st.cpu.rip, 0x1000200);
	CHECK_EQ(st.cpu.regs[R_RSI], PC_BOOT_INFO_ADDR);
	CHECK_EQ(st.cpu.efer, 0x500);
	CHECK(st.cpu.cr0 & 0x80000000);
	CHECK(st.cpu.seg[S_CS].l);
	CHECK_EQ(st.cpu.rflags & 0x200, 0);            /* interrupts off */
	/* -bios: the guest's firmware starts from the power-on state */
	c.bios = "rom.bin";
	CHECK_EQ(pc_post_firmware_state(m, 0, &st), 0);
	CHECK(!st.cpu_set);
	CHECK_EQ(st.nr_msrs + st.nr_lapic, 0);
	log_machine_free(m);
}

/* pc_enter: each vCPU's state read, then registers, MSRs and LAPIC
 * writes through the engine, in that order. */
TEST(pc_enter_applies_through_the_engine)
{
	struct config c = { 0 };
	struct pc_board b = { .boot = BOOT_MULTIBOOT, .mb_entry = 0x100000 };
	struct machine *m = pc_machine(&c, &b);
	CHECK(m);
	calls[0] = 0;
	CHECK_EQ(pc_enter(m), 0);
	CHECK(!strcmp(calls, "get0 set0 msr0:2ff=c06 lapic0:f0=1ff lapic0:350=700 "
			     "lapic0:360=400 get1 msr1:2ff=c06 "));
	CHECK_EQ(set_rip, 0x100000);
	log_machine_free(m);
}

/* -machine picks a board by name or alias; the config keeps its name. */
TEST(machine_option_selects_a_board)
{
	struct config c;
	CHECK_EQ(cmdline_parse(&c, "-machine pc-i440fx,accel=tcg -bios /dev/null"), 0);
	CHECK(c.machine && !strcmp(c.machine, "pc"));
	CHECK(board_find(c.machine) == &pc_board_ops);
	CHECK_EQ(cmdline_parse(&c, "-bios /dev/null"), 0);
	CHECK(c.machine == NULL && board_find(c.machine) == &pc_board_ops);
	CHECK_EQ(cmdline_parse(&c, "-M q35 -bios /dev/null"), -1);
}
