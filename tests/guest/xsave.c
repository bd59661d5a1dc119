/* xsave.elf: the XSAVE feature set from a kernel's point of view (SDM
 * Vol. 1, chapter 13): CPUID leaf 1 XSAVE/OSXSAVE and leaf 0xD, #UD
 * before CR4.OSXSAVE, XSETBV's #GP cases (bit 0 clear, AVX without SSE,
 * a component not supported, ECX != 0, CPL3), XGETBV at CPL0 and CPL3,
 * XSAVE/XRSTOR and XSAVEC/XRSTOR round trips of XMM0-15 and MXCSR with
 * the header each writes, XSAVEOPT, XRSTOR of the initial state, and the
 * faults: misaligned area, CR0.TS, reserved header bits, reserved MXCSR
 * bits; a VEX instruction's #UD without AVX in XCR0 or without
 * CR4.OSXSAVE and #NM with CR0.TS.  Without XSAVE in CPUID it says "skip" and passes.  QEMU 7.2's
 * TCG (-cpu max) fails the #NM and MXCSR checks: it raises neither. */
#include "guest.h"

#define CR4_OSFXSR	(1ull << 9)
#define CR4_OSXSAVE	(1ull << 18)
#define CR0_TS		(1ull << 3)
#define V_UD	6
#define V_NM	7
#define V_GP	13

static uint8_t area[2][8192] __attribute__((aligned(64)));
static uint8_t pattern[16 * 16] __attribute__((aligned(16)));
static uint8_t back[16 * 16] __attribute__((aligned(16)));

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* XMM0-15 from / to 256 bytes */
static void xmm_load(const uint8_t *p)
{
	__asm__ volatile("movdqu 0(%0),%%xmm0; movdqu 16(%0),%%xmm1; movdqu 32(%0),%%xmm2;"
			 "movdqu 48(%0),%%xmm3; movdqu 64(%0),%%xmm4; movdqu 80(%0),%%xmm5;"
			 "movdqu 96(%0),%%xmm6; movdqu 112(%0),%%xmm7; movdqu 128(%0),%%xmm8;"
			 "movdqu 144(%0),%%xmm9; movdqu 160(%0),%%xmm10; movdqu 176(%0),%%xmm11;"
			 "movdqu 192(%0),%%xmm12; movdqu 208(%0),%%xmm13; movdqu 224(%0),%%xmm14;"
			 "movdqu 240(%0),%%xmm15" :: "r"(p) : "memory");
}

static void xmm_store(uint8_t *p)
{
	__asm__ volatile("movdqu %%xmm0,0(%0); movdqu %%xmm1,16(%0); movdqu %%xmm2,32(%0);"
			 "movdqu %%xmm3,48(%0); movdqu %%xmm4,64(%0); movdqu %%xmm5,80(%0);"
			 "movdqu %%xmm6,96(%0); movdqu %%xmm7,112(%0); movdqu %%xmm8,128(%0);"
			 "movdqu %%xmm9,144(%0); movdqu %%xmm10,160(%0); movdqu %%xmm11,176(%0);"
			 "movdqu %%xmm12,192(%0); movdqu %%xmm13,208(%0); movdqu %%xmm14,224(%0);"
			 "movdqu %%xmm15,240(%0)" :: "r"(p) : "memory");
}

static void xmm_zero(void)
{
	static const uint8_t zero[256];
	xmm_load(zero);
}

static uint32_t get_mxcsr(void)
{
	uint32_t v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_mxcsr(uint32_t v)
{
	__asm__ volatile("ldmxcsr %0" :: "m"(v));
}

/* FAULT_TRY clobbers rax and rdx: EDX:EAX are loaded inside the asm */
static int xsetbv(uint64_t v, uint32_t ecx)
{
	return FAULT_TRY("mov %k[lo], %%eax; mov %k[hi], %%edx; xsetbv",
			 [lo] "r"((uint32_t)v), [hi] "r"((uint32_t)(v >> 32)), "c"(ecx));
}

static uint64_t xgetbv(uint32_t ecx)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(ecx));
	return (uint64_t)hi << 32 | lo;
}

#define SAVE_OP(name, insn)							\
	static int name(uint8_t *p, uint64_t rfbm)				\
	{									\
		return FAULT_TRY("mov %k[lo], %%eax; mov %k[hi], %%edx; "	\
				 insn " (%[p])", [p] "r"(p),			\
				 [lo] "r"((uint32_t)rfbm), [hi] "r"((uint32_t)(rfbm >> 32))); \
	}
SAVE_OP(xsave, "xsave64")
SAVE_OP(xsaveopt, "xsaveopt64")
SAVE_OP(xsavec, "xsavec64")
SAVE_OP(xrstor, "xrstor64")

static uint64_t u_xgetbv(uint64_t a)
{
	(void)a;
	return xgetbv(0);
}

static uint64_t u_xsetbv(uint64_t v)
{
	return (uint64_t)xsetbv(v, 0);
}

static void fill_pattern(unsigned seed)
{
	for (unsigned k = 0; k < sizeof(pattern); k++)
		pattern[k] = (uint8_t)(k * 13 + seed);
}

/* The SSE registers and MXCSR round-trip through save/xrstor */
static void round_trip(const char *what, int (*save)(uint8_t *, uint64_t), bool compact)
{
	uint8_t *a = area[0];
	memset(a, 0, 4096);
	fill_pattern(compact ? 7 : 3);
	xmm_load(pattern);
	set_mxcsr(0x1f80 | 0x6000);                     /* round toward zero */
	check(save(a, 3) == FAULT_NONE, "%s of x87 and SSE", what);
	check((get64(a + 512) & 2) == 2, "%s: XSTATE_BV has SSE (0x%llx)", what,
	      (unsigned long long)get64(a + 512));
	if (compact)
		check(get64(a + 520) == (3ull | 1ull << 63), "%s: XCOMP_BV 0x%llx = 3 | bit 63", what,
		      (unsigned long long)get64(a + 520));
	else
		check(get64(a + 520) == 0, "%s: XCOMP_BV untouched (0)", what);
	check(!memcmp(a + 160, pattern, 256), "%s: XMM0-15 at 160", what);
	uint32_t mx;
	memcpy(&mx, a + 24, 4);
	check(mx == 0x7f80, "%s: MXCSR 0x%x at 24", what, mx);
	xmm_zero();
	set_mxcsr(0x1f80);
	check(xrstor(a, 3) == FAULT_NONE, "xrstor of the %s area", what);
	xmm_store(back);
	check(!memcmp(back, pattern, 256), "%s + xrstor: XMM0-15 back", what);
	check(get_mxcsr() == 0x7f80, "%s + xrstor: MXCSR 0x%x back", what, get_mxcsr());
	set_mxcsr(0x1f80);
}

static void faults(uint64_t xcr0)
{
	uint8_t *a = area[0];
	memset(a, 0, 4096);
	check(xsave(a, 3) == FAULT_NONE, "xsave for the fault cases");
	check(xsave(a + 16, 3) == V_GP, "xsave to a 16-byte aligned area: #GP");
	check(xrstor(a + 32, 3) == V_GP, "xrstor from a 32-byte aligned area: #GP");
	write_cr0(read_cr0() | CR0_TS);
	check(xsave(a, 3) == V_NM, "xsave with CR0.TS: #NM");
	check(xrstor(a, 3) == V_NM, "xrstor with CR0.TS: #NM");
	__asm__ volatile("clts");
	check(xgetbv(0) == xcr0, "xgetbv does not care about CR0.TS");

	uint8_t *b = area[1];
	memcpy(b, a, 4096);
	b[512 + 20] = 1;                                /* header byte 20 */
	check(xrstor(b, 3) == V_GP, "xrstor with header byte 20 set: #GP");
	memcpy(b, a, 4096);
	put64(b + 512, get64(b + 512) | 1ull << 40);    /* component 40 */
	check(xrstor(b, 3) == V_GP, "xrstor with XSTATE_BV beyond XCR0: #GP");
	memcpy(b, a, 4096);
	put64(b + 520, 1);                              /* XCOMP_BV without bit 63 */
	check(xrstor(b, 3) == V_GP, "xrstor with XCOMP_BV 1: #GP");
	memcpy(b, a, 4096);
	uint32_t mx = 0x1f80 | 1u << 20;
	memcpy(b + 24, &mx, 4);
	check(xrstor(b, 3) == V_GP, "xrstor with MXCSR bit 20: #GP");
	check(get_mxcsr() == 0x1f80, "... MXCSR unchanged");
	check(xrstor(b, 1) == FAULT_NONE, "the same image for x87 only: MXCSR not loaded, no #GP");
}

/* XSTATE_BV = 0: XRSTOR puts the initial state; XSAVEOPT then may skip
 * SSE (XINUSE[1] = 0, as qvm and this host's CPU do) or write it, but
 * XSTATE_BV must say which */
static void init_state(void)
{
	uint8_t *a = area[0];
	fill_pattern(9);
	xmm_load(pattern);
	memset(a, 0, 4096);
	uint32_t mx = 0x1f80;
	memcpy(a + 24, &mx, 4);
	check(xrstor(a, 3) == FAULT_NONE, "xrstor with XSTATE_BV 0");
	xmm_store(back);
	static const uint8_t zero[256];
	check(!memcmp(back, zero, 256), "... XMM0-15 zero");
	memset(a, 0xcc, 512);
	memset(a + 512, 0, 64);
	check(xsaveopt(a, 3) == FAULT_NONE, "xsaveopt");
	bool sse = get64(a + 512) & 2;
	note("xsaveopt after the init: XSTATE_BV 0x%llx", (unsigned long long)get64(a + 512));
	check(a[160] == (sse ? 0 : 0xcc), "xsaveopt: XMM0 %s (0x%x)", sse ? "written as 0" : "not written",
	      a[160]);
}

/* A VEX instruction second in a run of straight-line code, after one
 * that is not VEX (the JIT tests CR4.OSXSAVE and XCR0 once per block):
 * *out = 3 + 3, or the fault */
static int vex_run(uint32_t *out)
{
	return FAULT_TRY("mov $3, %%eax\n\t"
			 "vmovd %%eax, %%xmm1\n\t"
			 "vpaddd %%xmm1, %%xmm1, %%xmm2\n\t"
			 "vmovd %%xmm2, (%%rdi)", "D"(out));
}

/* SDM Vol. 2, 2.8 (exception class of VEX instructions): #UD while XCR0
 * lacks AVX or CR4.OSXSAVE is clear, #NM with CR0.TS; XCR0 is 3 here */
static void vex_faults(uint64_t supported)
{
	volatile uint32_t out = 0;
	check(vex_run((uint32_t *)&out) == V_UD && out == 0, "VEX with XCR0 = 3 (no AVX): #UD");
	if (!(supported & 4)) {
		skip("no AVX component: VEX instructions not run");
		return;
	}
	check(xsetbv(7, 0) == FAULT_NONE, "xsetbv 7");
	check(vex_run((uint32_t *)&out) == FAULT_NONE && out == 6, "VEX with XCR0 = 7 runs");
	out = 0;
	write_cr4(read_cr4() & ~CR4_OSXSAVE);
	check(vex_run((uint32_t *)&out) == V_UD && out == 0, "VEX without CR4.OSXSAVE: #UD");
	write_cr4(read_cr4() | CR4_OSXSAVE);
	write_cr0(read_cr0() | (1ull << 3));
	check(vex_run((uint32_t *)&out) == V_NM && out == 0, "VEX with CR0.TS: #NM");
	write_cr0(read_cr0() & ~(1ull << 3));
	check(vex_run((uint32_t *)&out) == FAULT_NONE && out == 6, "VEX runs again");
	check(xsetbv(3, 0) == FAULT_NONE, "xsetbv 3 again");
}

int main(void)
{
	test_name = "xsave";
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 26))) {
		skip("CPUID has no XSAVE");
		test_done();
	}
	write_cr0((read_cr0() & ~(1ull << 2)) | (1ull << 1));
	write_cr4((read_cr4() | CR4_OSFXSR) & ~CR4_OSXSAVE);
	check(!(cpuid(1, 0, r), r[2] & (1u << 27)), "CPUID.1:ECX.OSXSAVE clear with CR4.OSXSAVE clear");
	check(FAULT_TRY("xgetbv", "c"(0)) == V_UD, "xgetbv without CR4.OSXSAVE: #UD");
	check(xsave(area[0], 3) == V_UD, "xsave without CR4.OSXSAVE: #UD");
	write_cr4(read_cr4() | CR4_OSXSAVE);
	cpuid(1, 0, r);
	check(r[2] & (1u << 27), "CPUID.1:ECX.OSXSAVE set with CR4.OSXSAVE");

	uint32_t d0[4], d1[4];
	cpuid(0xd, 0, d0);
	cpuid(0xd, 1, d1);
	uint64_t supported = d0[0] | (uint64_t)d0[3] << 32;
	note("CPUID.0xD: components 0x%llx, size %u (XCR0) / %u (all), XSAVEOPT %u XSAVEC %u XGETBV1 %u",
	     (unsigned long long)supported, d0[1], d0[2], d1[0] & 1, (d1[0] >> 1) & 1, (d1[0] >> 2) & 1);
	check((supported & 3) == 3, "x87 and SSE supported");
	check(xgetbv(0) == 1, "XCR0 = 1 at start (0x%llx)", (unsigned long long)xgetbv(0));
	check(d0[1] == 576, "leaf 0xD EBX: 576 bytes for XCR0 = 1 (%u)", d0[1]);

	check(xsetbv(0, 0) == V_GP, "xsetbv 0 (no x87): #GP");
	check(xsetbv(2, 0) == V_GP, "xsetbv 2 (no x87): #GP");
	check(xsetbv(5, 0) == V_GP, "xsetbv 5 (AVX without SSE): #GP");
	check(xsetbv(3, 1) == V_GP, "xsetbv with ECX 1: #GP");
	uint64_t missing = ~supported & 0x3fcull & ~(1ull << 8);
	if (missing) {
		uint64_t bit = missing & -missing;
		check(xsetbv(3 | bit, 0) == V_GP, "xsetbv with unsupported component 0x%llx: #GP",
		      (unsigned long long)bit);
	}
	check(xsetbv(3, 0) == FAULT_NONE && xgetbv(0) == 3, "xsetbv 3, xgetbv 3");
	cpuid(0xd, 0, d0);
	check(d0[1] >= 576, "leaf 0xD EBX for XCR0 = 3: %u", d0[1]);
	vex_faults(supported);
	check(run_user(u_xgetbv, 0, 0) == 3, "xgetbv at CPL3");
	check(run_user(u_xsetbv, 3, 0) == V_GP, "xsetbv at CPL3: #GP");
	if (d1[0] & 4) {
		xmm_zero();
		set_mxcsr(0x1f80);
		uint64_t in = xgetbv(1);
		fill_pattern(1);
		xmm_load(pattern);
		/* in use it must be; not in use before it may be (13.6) */
		check(xgetbv(1) & 2, "xgetbv 1: SSE in use after loading XMM (0x%llx -> 0x%llx)",
		      (unsigned long long)in, (unsigned long long)xgetbv(1));
	}

	round_trip("xsave", xsave, false);
	if (d1[0] & 2)
		round_trip("xsavec", xsavec, true);
	else
		skip("no XSAVEC");
	if (d1[0] & 1)
		init_state();
	else
		skip("no XSAVEOPT");
	faults(3);
	test_done();
}
