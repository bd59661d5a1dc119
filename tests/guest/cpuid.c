/* cpuid.elf: the CPU a named -cpu model presents (QEMU 7.2's models):
 * "cpu-haswell" on the command line for -cpu Haswell, "cpu-epyc" for
 * -cpu EPYC.  Vendor string, highest basic and extended leaf, the
 * signature (family, model, stepping), the brand string, bits every
 * engine gives for the model and bits the model does not have (so no
 * engine may show them), AMD's copies of leaf 1 EDX in 0x80000001 EDX;
 * then the vendor's rules the TCG engine follows: SYSCALL in
 * compatibility mode (AMD: to CSTAR; Intel: #UD) and SYSENTER in 64-bit
 * mode (AMD: #UD; Intel: #GP(0) with SYSENTER_CS = 0).  Under KVM the
 * processor itself executes those, whatever the model says: skipped. */
#include "guest.h"

#define V_UD	6
#define V_GP	13
#define MSR_SYSENTER_CS	0x174
#define MSR_STAR	0xc0000081
#define MSR_CSTAR	0xc0000083
#define MSR_SFMASK	0xc0000084

struct model {
	const char *word, *vendor, *brand;
	uint32_t sig, level, xlevel;
	bool amd;
	/* bits it must have and must not have: leaf 1 ECX, leaf 7 EBX,
	 * leaf 0x80000001 ECX and EDX */
	uint32_t has1c, has7b, hasxc, hasxd;
	uint32_t not1c, not7b, notxc, notxd;
};

#define B(n)	(1u << (n))
/* SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT; LAHF ABM; SYSCALL (long mode) NX LM */
#define BASE_1C	(B(9) | B(13) | B(19) | B(20) | B(22) | B(23))
#define BASE_XC	(B(0) | B(5))
#define BASE_XD	(B(11) | B(20) | B(29))

static const struct model models[] = {
	{ "cpu-haswell", "GenuineIntel", "Intel Core Processor (Haswell)",
	  0x306c4, 0xd, 0x80000008, false,
	  BASE_1C, 0, BASE_XC, BASE_XD,
	  /* MONITOR; ADX RDSEED SMAP AVX512F SHA; 3DNowPrefetch; 1 GiB pages */
	  B(3), B(16) | B(18) | B(19) | B(20) | B(29), B(8), B(26) },
	{ "cpu-epyc", "AuthenticAMD", "AMD EPYC Processor",
	  0x800f12, 0xd, 0x8000001e, true,
	  /* ... and AMD's copies of FPU, CMOV, MMX, FXSR */
	  BASE_1C, 0, BASE_XC, BASE_XD | B(0) | B(15) | B(23) | B(24),
	  /* x2APIC; HLE ERMS INVPCID RTM AVX512F */
	  B(21), B(4) | B(9) | B(10) | B(11) | B(16), 0, 0 },
};

static void check_bits(const char *what, uint32_t v, uint32_t has, uint32_t hasnt)
{
	check((v & has) == has, "%s has 0x%x (0x%x)", what, has, v);
	check(!(v & hasnt), "%s lacks 0x%x (0x%x)", what, hasnt, v);
}

static void check_identity(const struct model *m)
{
	uint32_t r[4], l1[4], x1[4];
	char s[49];
	cpuid(0, 0, r);
	memcpy(s, &r[1], 4);
	memcpy(s + 4, &r[3], 4);
	memcpy(s + 8, &r[2], 4);
	s[12] = 0;
	check(!strncmp(s, m->vendor, 13), "vendor %s (%s)", m->vendor, s);
	check(r[0] == m->level, "highest basic leaf 0x%x (0x%x)", m->level, r[0]);
	cpuid(1, 0, l1);
	unsigned family = (l1[0] >> 8 & 0xf) + (l1[0] >> 20 & 0xff);
	unsigned model = (l1[0] >> 4 & 0xf) | (l1[0] >> 12 & 0xf0);
	check(l1[0] == m->sig, "signature 0x%x: family 0x%x model 0x%x stepping %u (0x%x)",
	      m->sig, family, model, l1[0] & 0xf, l1[0]);
	for (uint32_t k = 0; k < 3; k++)
		cpuid(0x80000002 + k, 0, (uint32_t *)(void *)(s + 16 * k));
	s[48] = 0;
	check(!strncmp(s, m->brand, 48), "brand \"%s\" (\"%s\")", m->brand, s);
	cpuid(0x80000000, 0, r);
	check(r[0] == m->xlevel, "highest extended leaf 0x%x (0x%x)", m->xlevel, r[0]);
	check_bits("CPUID.1:ECX", l1[2], m->has1c, m->not1c);
	cpuid(7, 0, r);
	check_bits("CPUID.7:EBX", r[1], m->has7b, m->not7b);
	cpuid(0x80000001, 0, x1);
	check_bits("CPUID.80000001H:ECX", x1[2], m->hasxc, m->notxc);
	check_bits("CPUID.80000001H:EDX", x1[3], m->hasxd, m->notxd);
	if (m->amd) {
		check(x1[0] == l1[0], "CPUID.80000001H:EAX is the signature (0x%x)", x1[0]);
		check((x1[3] & 0x0183f3ffu) == (l1[3] & 0x0183f3ffu),
		      "CPUID.80000001H:EDX repeats leaf 1 EDX's FPU..FXSR (0x%x, 0x%x)", x1[3], l1[3]);
	} else {
		check(!(x1[3] & (B(0) | B(15))), "Intel: no copies of leaf 1 EDX (0x%x)", x1[3]);
	}
}

/* SYSCALL from 32-bit code (selector 0x28) at CPL 0: 1 when it arrived at
 * CSTAR in 64-bit code, 0 after a fault (recovered in 32-bit code, which
 * jumps back to 64-bit code) */
static int syscall_compat(void)
{
	struct cpu *c = this_cpu();
	int faults = c->fault_count;
	uint64_t arrived;
	wrmsr(MSR_STAR, (uint64_t)SEL_KCODE << 32);
	wrmsr(MSR_SFMASK, 0);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1);          /* SCE */
	__asm__ volatile("lea 5f(%%rip), %%rax\n\t"
			 "mov %%rax, %%rdx\n\t"
			 "shr $32, %%rdx\n\t"
			 "mov %[cstar], %%ecx\n\t"
			 "wrmsr\n\t"
			 "lea 3f(%%rip), %%r11\n\t"
			 "mov %%r11, %%gs:%c[roff]\n\t"
			 "lea 2f(%%rip), %%rax\n\t"
			 "pushq %[cs32]\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 ".code32\n"
			 "2:\tsyscall\n"
			 "3:\tljmp %[cs64], $4f\n"
			 ".code64\n"
			 "4:\txor %k[res], %k[res]\n\t"
			 "jmp 6f\n"
			 "5:\tmov $1, %k[res]\n"
			 "6:"
			 : [res] "=&b"(arrived)
			 : [roff] "i"(offsetof(struct cpu, recover_rip)), [cstar] "i"(MSR_CSTAR),
			   [cs32] "i"(SEL_KCODE32), [cs64] "i"(SEL_KCODE)
			 : "rax", "rcx", "rdx", "r11", "memory", "cc");
	c->recover_rip = 0;
	if (arrived)
		return 1;
	return c->fault_count != faults ? -(int)c->fault.vector : -1;
}

static void check_vendor_rules(const struct model *m)
{
	if (cmdline_has("kvm")) {
		skip("SYSCALL/SYSENTER rules: under KVM the processor runs them");
		return;
	}
	int r = syscall_compat();
	if (m->amd)
		check(r == 1, "AMD: SYSCALL in compatibility mode goes to CSTAR (%d)", r);
	else if (cmdline_has("qemu"))
		skip("Intel: SYSCALL in compatibility mode: QEMU's TCG does not raise #UD");
	else
		check(r == -V_UD, "Intel: SYSCALL in compatibility mode: #UD (%d)", r);
	wrmsr(MSR_SYSENTER_CS, 0);
	int v = FAULT_TRY("sysenter");
	if (m->amd)
		check(v == V_UD, "AMD: SYSENTER in 64-bit mode: #UD (%d)", v);
	else
		check(v == V_GP, "Intel: SYSENTER with SYSENTER_CS 0: #GP (%d)", v);
}

int main(void)
{
	test_name = "cpuid";
	const struct model *m = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(models); i++)
		if (cmdline_has(models[i].word))
			m = &models[i];
	if (!m) {
		skip("no cpu-MODEL word on the command line");
		test_done();
	}
	note("expecting -cpu %s", m->word + 4);
	check_identity(m);
	check_vendor_rules(m);
	test_done();
}
