/*
 * The process backend: what goes to the child is checked so that the
 * kernel accepts it (a bad XSAVE image would fail rt_sigreturn), and what
 * comes back is checked because guest code can write the mailbox.
 */
#include <cpuid.h>
#include <string.h>
#include "proc.h"

#define CR4_TSD (1ull << 2)
#define SEL_USER_CS 0x33
#define SEL_USER_DS 0x2b
/* RFLAGS bits user code can change (SDM Vol. 1, 3.4.3: POPF at CPL 3,
 * IOPL 0); the others stay the engine's */
#define RFLAGS_USER 0x254dd5ull /* CF PF AF ZF SF TF DF OF NT RF AC ID */

void proc_host_probe(struct proc_host *h)
{
	unsigned a, b, c, d;
	memset(h, 0, sizeof(*h));
	h->xcr0 = 3;
	h->xsave_size = 512 + 64;
	__cpuid(1, a, b, c, d);
	if (c & bit_OSXSAVE) {
		uint32_t lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		h->xcr0 = ((uint64_t)hi << 32) | lo;
		__cpuid_count(0xd, 0, a, b, c, d);
		h->xsave_size = b;
		for (int i = 2; i < 64; i++) {
			if (!(h->xcr0 & (1ull << i)))
				continue;
			__cpuid_count(0xd, i, a, b, c, d);
			h->comp_size[i] = a;
			h->comp_off[i] = b;
		}
	}
	uint8_t fx[512] __attribute__((aligned(16)));
	memset(fx, 0, sizeof(fx));
	__asm__ volatile("fxsave %0" : "=m"(fx));
	uint32_t mask;
	memcpy(&mask, fx + 28, 4);
	h->mxcsr_mask = mask ? mask : 0xffbf;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static const char *check_xsave(const struct proc_host *h, const struct kqemu_cpu_state *s)
{
	if (s->xsave_size < 576 || s->xsave_size > KQEMU_XSAVE_MAX)
		return "xsave_size out of range";
	uint32_t mxcsr;
	memcpy(&mxcsr, s->xsave + 24, 4);
	if (mxcsr & ~h->mxcsr_mask)
		return "MXCSR reserved bits set";
	uint64_t bv = rd64(s->xsave + 512);
	if (bv & ~h->xcr0)
		return "xstate_bv has components the host does not enable";
	/* SDM Vol. 1, 13.8: XRSTOR of the standard form faults unless
	 * XCOMP_BV and header bytes 16-23 are 0 */
	if (rd64(s->xsave + 520) || rd64(s->xsave + 528))
		return "XSAVE header reserved bytes set";
	for (int i = 2; i < 64; i++)
		if ((bv & (1ull << i)) && h->comp_off[i] + h->comp_size[i] > s->xsave_size)
			return "xstate_bv has components beyond xsave_size";
	return NULL;
}

static bool data_sel_ok(uint16_t sel)
{
	return sel <= 3 || sel == SEL_USER_DS;
}

static bool user_range(uint64_t lin)
{
	return !(lin & 0xfff) && lin >= PROC_USER_START && lin < PROC_USER_END &&
	       (lin < PROC_HOLE_START || lin >= PROC_HOLE_END);
}

const char *proc_check_request(const struct proc_backend *b, const struct kqemu_run *run)
{
	if (run->version >> 16 != KQEMU_VERSION_MAJOR)
		return "interface version mismatch";
	if (run->nr_map > KQEMU_MAX_MAPS || run->nr_unmap > KQEMU_MAX_UNMAPS)
		return "too many map or unmap entries";
	if (run->context >= KQEMU_CONTEXTS)
		return "no such mapping context";
	for (uint32_t i = 0; i < run->nr_unmap; i++)
		if (!user_range(run->unmap[i]))
			return "unmap of a page outside the user range or in the hole";
	for (uint32_t i = 0; i < run->nr_map; i++) {
		const struct kqemu_map *m = &run->map[i];
		if (!user_range(m->lin))
			return "map of a page outside the user range or in the hole";
		if ((m->ram_offset & 0xfff) || m->ram_offset >= b->ram_size ||
		    b->ram_size - m->ram_offset < 4096)
			return "map beyond guest RAM";
		if (!m->prot || (m->prot & ~7u))
			return "bad page protection";
	}
	const struct kqemu_cpu_state *s = &run->state;
	if (s->code_bits != 64 || s->cs != SEL_USER_CS || s->ss != SEL_USER_DS)
		return "CS/SS are not the host's 64-bit user segments";
	if (!data_sel_ok(s->ds) || !data_sel_ok(s->es) || !data_sel_ok(s->fs) ||
	    !data_sel_ok(s->gs))
		return "a data segment selector the host cannot load";
	if ((s->fs > 3 && s->fs_base) || (s->gs > 3 && s->gs_base))
		return "an FS/GS base with a non-null selector";
	if (s->fs_base >= PROC_USER_END + 0x1000 || s->gs_base >= PROC_USER_END + 0x1000)
		return "an FS/GS base in the upper half";
	return check_xsave(&b->host, s);
}

bool proc_take_exit(const struct proc_backend *b, const struct kqemu_run *out,
		    struct kqemu_run *run)
{
	struct kqemu_cpu_state *s = &run->state;
	const struct kqemu_cpu_state *o = &out->state;
	uint32_t cls = out->exit_class;
	run->exit_class = KQEMU_EXIT_ERROR;
	if (cls == KQEMU_EXIT_ERROR) {
		memcpy(run->message, out->message, sizeof(run->message));
		run->message[sizeof(run->message) - 1] = 0;
		return true;
	}
	if (cls == KQEMU_EXIT_NONE || cls >= KQEMU_EXIT_NR)
		goto bad;
	if ((o->cs & 3) != 3 || (o->ss & 3) != 3 || (o->ds > 3 && (o->ds & 3) != 3) ||
	    (o->es > 3 && (o->es & 3) != 3) || (o->fs > 3 && (o->fs & 3) != 3) ||
	    (o->gs > 3 && (o->gs & 3) != 3))
		goto bad;
	uint32_t vec = out->vector;
	if (cls == KQEMU_EXIT_EXCEPTION && vec != 0 && vec != 1 && vec != 3 &&
	    vec != 4 && vec != 16 && vec != 17 && vec != 19)
		goto bad;
	if (cls == KQEMU_EXIT_SYSCALL && vec != 0 && vec != 0x80)
		goto bad;
	if (cls == KQEMU_EXIT_PAGE && out->fault_access > KQEMU_ACC_EXEC)
		goto bad;
	/* the size of the child's frames, whatever the mailbox says */
	uint32_t size = b->host.xsave_size;

	memcpy(s->regs, o->regs, sizeof(s->regs));
	s->rip = o->rip;
	s->rflags = (o->rflags & RFLAGS_USER) | (s->rflags & ~RFLAGS_USER);
	s->fs_base = o->fs_base;
	s->gs_base = o->gs_base;
	s->cs = o->cs;
	s->ss = o->ss;
	s->ds = o->ds;
	s->es = o->es;
	s->fs = o->fs;
	s->gs = o->gs;
	memcpy(s->xsave, o->xsave, size);
	s->xcr0 = b->host.xcr0;
	s->xsave_size = size;
	run->exit_class = cls;
	run->vector = vec;
	run->error_code = out->error_code;
	run->fault_addr = out->fault_addr;
	run->fault_access = out->fault_access;
	run->message[0] = 0;
	return true;
bad:
	strcpy(run->message, "process backend: malformed exit from the child");
	return false;
}

bool proc_tsc_trap(const struct kqemu_cpu_state *s)
{
	return s->tsc_offset != 0 || (s->cr4 & CR4_TSD);
}
