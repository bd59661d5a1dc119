// SPDX-License-Identifier: GPL-2.0
/*
 * The world switch, C side: checks a run's state, loads the guest's
 * segments, FS/GS bases, FPU/XSAVE image and the MSRs that keep guest
 * code away from Linux's system-call entries, calls kq_switch
 * (kqemu-entry.S), restores the host, hands host interrupts and NMIs back
 * to Linux and turns guest exceptions into kqemu.h's exit classes.
 */
#include <linux/build_bug.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/sched/signal.h>
#include <linux/stddef.h>
#include <asm/asm.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/trapnr.h>
#include <asm/traps.h>
#include <asm/tlbflush.h>
#include "kqemu-int.h"

static_assert(offsetof(struct kq_ctx, gregs) == KQ_OFF_GREGS);
static_assert(offsetof(struct kq_ctx, grip) == KQ_OFF_GRIP);
static_assert(offsetof(struct kq_ctx, grflags) == KQ_OFF_GRFLAGS);
static_assert(offsetof(struct kq_ctx, gcs) == KQ_OFF_GCS);
static_assert(offsetof(struct kq_ctx, gss) == KQ_OFF_GSS);
static_assert(offsetof(struct kq_ctx, vector) == KQ_OFF_VECTOR);
static_assert(offsetof(struct kq_ctx, error) == KQ_OFF_ERROR);
static_assert(offsetof(struct kq_ctx, cr2) == KQ_OFF_CR2);
static_assert(offsetof(struct kq_ctx, gds) == KQ_OFF_GDS);
static_assert(offsetof(struct kq_ctx, ggs) == KQ_OFF_GGS);
static_assert(offsetof(struct kq_ctx, host_rsp) == KQ_OFF_HRSP);
static_assert(offsetof(struct kq_ctx, host_cr3) == KQ_OFF_HCR3);
static_assert(offsetof(struct kq_ctx, shadow_cr3) == KQ_OFF_SCR3);
static_assert(offsetof(struct kq_ctx, host_gsbase) == KQ_OFF_HGSBASE);
static_assert(offsetof(struct kq_ctx, monitor_fault) == KQ_OFF_MONFAULT);
static_assert(offsetof(struct kq_ctx, pending) == KQ_OFF_PENDING);
static_assert(offsetof(struct kq_ctx, shadow_idtr) == KQ_OFF_SIDTR);
static_assert(offsetof(struct kq_ctx, host_idtr) == KQ_OFF_HIDTR);
static_assert(offsetof(struct kq_ctx, monitor_rip) == KQ_OFF_MONRIP);
static_assert(offsetof(struct kq_ctx, fault_test) == KQ_OFF_FAULTTEST);

#define SEL_USER_CS 0x33        /* Linux's __USER_CS and __USER_DS */
#define SEL_USER_DS 0x2b
/* RFLAGS bits guest code keeps (SDM Vol. 1, 3.4.3): CF PF AF ZF SF DF OF
 * RF AC ID; IF is forced on, TF NT VM IOPL off */
#define RFLAGS_USER 0x250cd5ull
#define RFLAGS_IF 0x200ull
#define CR4_TSD (1ull << 2)
#define VA_BITS 47

/* ---- the IDT: every gate DPL 0, IST 0, an interrupt gate (SDM Vol. 3, 6.14.1) ---- */

void kq_ctx_init_idt(struct kq_ctx *c)
{
	struct desc_ptr *p = (struct desc_ptr *)c->shadow_idtr;
	for (int i = 0; i < 256; i++) {
		unsigned long a = (unsigned long)kq_idt_stubs + i * KQ_STUB_SIZE;
		gate_desc *g = &c->idt[i];
		memset(g, 0, sizeof(*g));
		g->offset_low = a & 0xffff;
		g->segment = __KERNEL_CS;
		g->bits.type = GATE_INTERRUPT;
		g->bits.p = 1;
		g->offset_middle = (a >> 16) & 0xffff;
		g->offset_high = a >> 32;
	}
	p->size = sizeof(c->idt) - 1;
	p->address = (unsigned long)c->idt;
}

/* ---- checks of the request ---- */

static bool canonical(u64 a)
{
	return (u64)((s64)(a << (63 - VA_BITS)) >> (63 - VA_BITS)) == a;
}

static bool data_sel_ok(u16 s)
{
	return s <= 3 || s == SEL_USER_DS;
}

static const char *check_xsave(const struct kqemu_cpu_state *s)
{
	u32 mxcsr;
	u64 bv, hdr1, hdr2;
	if (s->xsave_size < 576 || s->xsave_size > KQEMU_XSAVE_MAX)
		return "xsave_size out of range";
	memcpy(&mxcsr, s->xsave + 24, 4);
	memcpy(&bv, s->xsave + 512, 8);
	memcpy(&hdr1, s->xsave + 520, 8);
	memcpy(&hdr2, s->xsave + 528, 8);
	if (mxcsr & ~kq_host.mxcsr_mask)
		return "MXCSR reserved bits set";
	if (bv & ~kq_host.xcr0)
		return "xstate_bv has components the host does not run guest code with";
	/* SDM Vol. 1, 13.8: the standard form's XRSTOR faults unless
	 * XCOMP_BV and header bytes 16-23 are 0 */
	if (hdr1 || hdr2)
		return "XSAVE header reserved bytes set";
	for (int i = 2; i < 64; i++)
		if ((bv & (1ull << i)) &&
		    kq_host.comp_off[i] + kq_host.comp_size[i] > s->xsave_size)
			return "xstate_bv has components beyond xsave_size";
	return NULL;
}

static const char *check_state(struct kqemu_cpu_state *s)
{
	if (s->code_bits != 64)
		return "only 64-bit code runs natively";
	if (s->cs != SEL_USER_CS || s->ss != SEL_USER_DS)
		return "CS/SS are not the host's 64-bit user segments";
	if (!data_sel_ok(s->ds) || !data_sel_ok(s->es) || !data_sel_ok(s->fs) ||
	    !data_sel_ok(s->gs))
		return "a data segment selector the host cannot load";
	if (s->rip >= (1ull << VA_BITS) || !canonical(s->regs[4]))
		return "RIP outside the lower half or RSP not canonical";
	if (!canonical(s->fs_base) || !canonical(s->gs_base))
		return "an FS/GS base that is not canonical";
	if (s->tsc_offset || (s->cr4 & CR4_TSD))
		return "RDTSC cannot be made to fault by this backend";
	/* no IRETQ fault: IF on, IOPL 0, no VM/NT/TF (kqemu.h's rule) */
	s->rflags = (s->rflags & RFLAGS_USER) | RFLAGS_IF | 2;
	return check_xsave(s);
}

/* ---- FPU ---- */

static int kq_xrstor(void *buf, u64 mask)
{
	int err;
	asm volatile("1: xrstor64 (%%rdi)\n\t"
		     "xor %[err], %[err]\n"
		     "2:\n\t"
		     _ASM_EXTABLE_TYPE(1b, 2b, EX_TYPE_FAULT)
		     : [err] "=a"(err)
		     : "D"(buf), "a"((u32)mask), "d"((u32)(mask >> 32))
		     : "memory");
	return err;
}

static void kq_xsave(void *buf, u64 mask)
{
	asm volatile("xsave64 (%%rdi)"
		     :: "D"(buf), "a"((u32)mask), "d"((u32)(mask >> 32))
		     : "memory");
}

static u32 kq_rdpkru(void)
{
	u32 pkru, edx;
	asm volatile("rdpkru" : "=a"(pkru), "=d"(edx) : "c"(0));
	return pkru;
}

static void kq_wrpkru(u32 pkru)
{
	asm volatile("wrpkru" :: "a"(pkru), "c"(0), "d"(0));
}

/* ---- host state around kq_switch (interrupts off) ---- */

static void load_gs_sel(u16 sel)
{
	/* the selector load writes the active GS base: do it on the user
	 * side (Linux's load_gs_index does the same) */
	asm volatile("swapgs; movl %0, %%gs; swapgs" :: "r"((u32)sel) : "memory");
}

static u16 read_sel_ds(void) { u16 v; asm volatile("mov %%ds, %0" : "=r"(v)); return v; }
static u16 read_sel_es(void) { u16 v; asm volatile("mov %%es, %0" : "=r"(v)); return v; }
static u16 read_sel_fs(void) { u16 v; asm volatile("mov %%fs, %0" : "=r"(v)); return v; }
static u16 read_sel_gs(void) { u16 v; asm volatile("mov %%gs, %0" : "=r"(v)); return v; }

static void enter_guest_state(struct kq_ctx *c, const struct kqemu_cpu_state *s)
{
	c->host_ds = read_sel_ds();
	c->host_es = read_sel_es();
	c->host_fs = read_sel_fs();
	c->host_gs = read_sel_gs();
	rdmsrl(MSR_FS_BASE, c->host_fsbase);
	rdmsrl(MSR_KERNEL_GS_BASE, c->host_kgsbase);
	rdmsrl(MSR_GS_BASE, c->host_gsbase);
	rdmsrl(MSR_EFER, c->host_efer);
	rdmsrl(MSR_IA32_SYSENTER_CS, c->host_sysenter_cs);
	/* SYSCALL #UD (EFER.SCE clear: SDM Vol. 2B, SYSCALL), SYSENTER #GP
	 * (SYSENTER_CS 0) or #UD (AMD, long mode): never Linux's entries */
	if (c->host_efer & EFER_SCE)
		wrmsrl(MSR_EFER, c->host_efer & ~EFER_SCE);
	if (c->host_sysenter_cs)
		wrmsrl(MSR_IA32_SYSENTER_CS, 0);
	store_idt((struct desc_ptr *)c->host_idtr);
	c->host_cr3 = __read_cr3();
	if (kq_host.pcid)
		c->host_cr3 |= X86_CR3_PCID_NOFLUSH;
	loadsegment(ds, s->ds);
	loadsegment(es, s->es);
	loadsegment(fs, s->fs);
	wrmsrl(MSR_FS_BASE, s->fs_base);
	load_gs_sel(s->gs);
	wrmsrl(MSR_KERNEL_GS_BASE, s->gs_base);
	c->monitor_fault = 0;
}

static void leave_guest_state(struct kq_ctx *c, struct kqemu_cpu_state *s)
{
	if (!c->monitor_fault) {
		rdmsrl(MSR_FS_BASE, s->fs_base);
		rdmsrl(MSR_KERNEL_GS_BASE, s->gs_base);
	}
	loadsegment(ds, c->host_ds);
	loadsegment(es, c->host_es);
	loadsegment(fs, c->host_fs);
	wrmsrl(MSR_FS_BASE, c->host_fsbase);
	load_gs_sel(c->host_gs);
	wrmsrl(MSR_KERNEL_GS_BASE, c->host_kgsbase);
	if (c->host_efer & EFER_SCE)
		wrmsrl(MSR_EFER, c->host_efer);
	if (c->host_sysenter_cs)
		wrmsrl(MSR_IA32_SYSENTER_CS, c->host_sysenter_cs);
}

/* An interrupt that arrived in the guest, raised again on the host's IDT
 * so that Linux handles (and acknowledges) it as usual. */
#define KQ_INT(n) case (n): asm volatile("int %0" :: "i"(n) : "memory"); break;
#define KQ_INT8(n) KQ_INT(n) KQ_INT(n + 1) KQ_INT(n + 2) KQ_INT(n + 3) \
	KQ_INT(n + 4) KQ_INT(n + 5) KQ_INT(n + 6) KQ_INT(n + 7)
static void reraise(unsigned int v)
{
	switch (v) {
	KQ_INT(2) KQ_INT(18)
	KQ_INT8(32) KQ_INT8(40) KQ_INT8(48) KQ_INT8(56)
	KQ_INT8(64) KQ_INT8(72) KQ_INT8(80) KQ_INT8(88)
	KQ_INT8(96) KQ_INT8(104) KQ_INT8(112) KQ_INT8(120)
	KQ_INT8(128) KQ_INT8(136) KQ_INT8(144) KQ_INT8(152)
	KQ_INT8(160) KQ_INT8(168) KQ_INT8(176) KQ_INT8(184)
	KQ_INT8(192) KQ_INT8(200) KQ_INT8(208) KQ_INT8(216)
	KQ_INT8(224) KQ_INT8(232) KQ_INT8(240) KQ_INT8(248)
	default: break;
	}
}

static void reraise_pending(struct kq_ctx *c)
{
	for (int w = 0; w < 4; w++) {
		while (c->pending[w]) {
			int b = __ffs(c->pending[w]);
			c->pending[w] &= ~(1ull << b);
			reraise(w * 64 + b);
		}
	}
}

/* ---- exits ---- */

static void set_error(struct kqemu_run *run, const char *fmt, ...)
{
	va_list ap;
	run->exit_class = KQEMU_EXIT_ERROR;
	va_start(ap, fmt);
	vsnprintf(run->message, sizeof(run->message), fmt, ap);
	va_end(ap);
}

/* guest bytes at rip: the 2-byte system-call instructions */
static bool insn_is(struct kq_ctx *c, u64 rip, u8 b0, u8 b1)
{
	u8 b[2];
	return kq_mmu_read(c, rip, b, 2) == 2 && b[0] == b0 && b[1] == b1;
}

/* SYSCALL, SYSENTER or INT 0x80 (vector): rip after the 2-byte
 * instruction, as kqemu.h's KQEMU_EXIT_SYSCALL says */
static void syscall_exit(struct kqemu_run *run, struct kqemu_cpu_state *s, u32 vector)
{
	run->exit_class = KQEMU_EXIT_SYSCALL;
	run->vector = vector;
	s->rip += 2;
}

/* Turn a guest exception (SDM Vol. 3, 6.15) into an exit class. */
static void classify(struct kq_ctx *c, struct kqemu_run *run)
{
	struct kqemu_cpu_state *s = &run->state;
	u64 v = c->vector, err = c->error;
	run->vector = v;
	run->error_code = -1;
	switch (v) {
	case X86_TRAP_PF:
		if (err & (X86_PF_RSVD | X86_PF_PK)) {
			set_error(run, "module backend: #PF with error code %#llx at %#llx",
				  err, c->cr2);
			return;
		}
		run->exit_class = KQEMU_EXIT_PAGE;
		run->fault_addr = c->cr2;
		run->fault_access = (err & X86_PF_INSTR) ? KQEMU_ACC_EXEC :
				    (err & X86_PF_WRITE) ? KQEMU_ACC_WRITE : KQEMU_ACC_READ;
		return;
	case X86_TRAP_UD:
		if (insn_is(c, s->rip, 0x0f, 0x05) || insn_is(c, s->rip, 0x0f, 0x34)) {
			syscall_exit(run, s, 0);
		} else {
			run->exit_class = KQEMU_EXIT_SOFTMMU;
		}
		return;
	case X86_TRAP_GP:
		/* INT n through a DPL 0 gate: #GP(n * 8 + 2), the IDT flag set
		 * (SDM Vol. 3, 6.12.1.1; QEMU's TCG pushes n * 16 + 2 in long
		 * mode), at the instruction */
		if ((err & 3) == 2 && insn_is(c, s->rip, 0xcd, 0x80)) {
			syscall_exit(run, s, 0x80);
		} else if (insn_is(c, s->rip, 0x0f, 0x34)) {
			syscall_exit(run, s, 0);
		} else {
			run->exit_class = KQEMU_EXIT_SOFTMMU;
		}
		return;
	case X86_TRAP_BP: case X86_TRAP_OF:
	case X86_TRAP_TS: case X86_TRAP_NP: case X86_TRAP_SS:
		run->exit_class = KQEMU_EXIT_SOFTMMU;
		return;
	case X86_TRAP_DE: case X86_TRAP_DB: case X86_TRAP_MF: case X86_TRAP_XF:
		run->exit_class = KQEMU_EXIT_EXCEPTION;
		return;
	case X86_TRAP_AC:
		run->exit_class = KQEMU_EXIT_EXCEPTION;
		run->error_code = (s32)err;
		return;
	default:
		set_error(run, "module backend: unexpected exception %llu at rip %#llx", v,
			  s->rip);
	}
}

static void state_to_ctx(struct kq_ctx *c, const struct kqemu_cpu_state *s)
{
	memcpy(c->gregs, s->regs, sizeof(c->gregs));
	c->grip = s->rip;
	c->grflags = s->rflags;
	c->gcs = s->cs;
	c->gss = s->ss;
}

static void ctx_to_state(const struct kq_ctx *c, struct kqemu_cpu_state *s)
{
	memcpy(s->regs, c->gregs, sizeof(s->regs));
	s->rip = c->grip;
	s->rflags = (c->grflags & RFLAGS_USER) | (s->rflags & ~RFLAGS_USER);
	s->cs = c->gcs & 0xffff;
	s->ss = c->gss & 0xffff;
	s->ds = c->gds & 0xffff;
	s->es = c->ges & 0xffff;
	s->fs = c->gfs & 0xffff;
	s->gs = c->ggs & 0xffff;
}

/* One pass into guest code and back, interrupts off.  true: an exit for
 * the engine (run filled); false: a host event, handled, run again. */
static bool one_switch(struct kq_ctx *c, struct kqemu_run *run)
{
	struct kqemu_cpu_state *s = &run->state;
	enter_guest_state(c, s);
	state_to_ctx(c, s);
	c->fault_test = READ_ONCE(kq_fault_test) ? xchg(&kq_fault_test, 0) : 0;
	kq_switch(c);
	leave_guest_state(c, s);
	reraise_pending(c);
	if (c->monitor_fault) {
		set_error(run, "module backend: exception %llu in the monitor at %pS",
			  c->monitor_fault - 1, (void *)c->monitor_rip);
		return true;
	}
	ctx_to_state(c, s);
	if (c->vector >= 32 || c->vector == X86_TRAP_NMI || c->vector == X86_TRAP_MC) {
		reraise(c->vector);
		return false;
	}
	classify(c, run);
	return true;
}

static bool should_stop(struct kq_ctx *c)
{
	return READ_ONCE(c->kick) || signal_pending(current) || need_resched();
}

/* Run guest code from run->state until an exit (kqemu.h).  The caller
 * has checked the mm and applied the mapping requests. */
int kq_exec(struct kq_ctx *c, struct kqemu_run *run)
{
	struct kqemu_cpu_state *s = &run->state;
	u64 t0 = ktime_get_ns();
	u32 pkru = 0;
	const char *bad;
	unsigned long flags;
	bool done = false;

	bad = check_state(s);
	if (bad) {
		set_error(run, "module backend: %s", bad);
		return 0;
	}
	kernel_fpu_begin();
	if (kq_host.pku)
		pkru = kq_rdpkru();
	if (kq_xrstor(s->xsave, kq_host.xcr0)) {
		kernel_fpu_end();
		set_error(run, "module backend: XRSTOR refused the guest's XSAVE image");
		return 0;
	}
	while (!done) {
		local_irq_save(flags);
		if (should_stop(c)) {
			local_irq_restore(flags);
			break;
		}
		kq_mmu_copy_kernel_half(c);
		done = one_switch(c, run);
		local_irq_restore(flags);
	}
	kq_xsave(s->xsave, kq_host.xcr0);
	if (kq_host.pku && kq_rdpkru() != pkru)
		kq_wrpkru(pkru);
	kernel_fpu_end();
	s->xcr0 = kq_host.xcr0;
	s->xsave_size = kq_host.xsave_size;
	if (!done) {
		run->exit_class = KQEMU_EXIT_SIGNAL;
		xchg(&c->kick, 0);
	}
	run->host_ns = ktime_get_ns() - t0;
	return 0;
}
