/* pks.elf: protection keys for supervisor pages (SDM Vol. 3, 4.6.2; the
 * #PF error code's PK, 4.7): CPUID.7.0:ECX[31] PKS, CR4.PKS (bit 24) and
 * IA32_PKRS (MSR 0x6E1: #GP for bits 63:32), the AD and WD bits of
 * IA32_PKRS for a supervisor page of key 1 (WD with and without CR0.WP),
 * #PF with PK, fetches and key-0 pages unaffected, a PKRS change taking
 * effect on a page just accessed (no INVLPG), keys ignored without
 * CR4.PKS, PKRS leaving user pages alone and PKRU supervisor pages.
 * With "nopks" on the command line (-cpu max,-pks) it checks that CPUID
 * has no PKS, that CR4.PKS is reserved and that IA32_PKRS is #GP; without
 * PKS in CPUID otherwise it says "skip" and passes. */
#include "guest.h"

#define CR4_PKE		(1ull << 22)
#define CR4_PKS		(1ull << 24)
#define CR0_WP		(1ull << 16)
#define MSR_PKRS	0x6e1
#define L7_ECX_PKU	(1u << 3)
#define L7_ECX_PKS	(1u << 31)
#define V_GP	13
#define V_PF	14
#define PF_P	1
#define PF_W	2
#define PF_PK	32
#define PG_S1	0x40020000UL	/* supervisor, writable, key 1 */
#define PG_S0	0x40021000UL	/* supervisor, writable, key 0 */
#define PG_U1	0x40022000UL	/* user, writable, key 1 */
#define KEY(k)	((uint64_t)(k) << 59)
#define AD(k)	(1u << (2 * (k)))
#define WD(k)	(2u << (2 * (k)))

static uint8_t pages[3][4096] __attribute__((aligned(4096)));

static int k_read(uint64_t a) { return FAULT_TRY("movb (%[p]), %%al", [p] "c"(a)); }
static int k_write(uint64_t a) { return FAULT_TRY("movb %%al, (%[p])", [p] "c"(a)); }
static int k_call(uint64_t a) { return FAULT_TRY("call *%[p]", [p] "c"(a)); }
static uint64_t u_read(uint64_t a) { return FAULT_TRY("movb (%[p]), %%al", [p] "c"(a)); }

static uint64_t err(void) { return this_cpu()->fault.error; }

static int wrmsr_try(uint32_t msr, uint64_t v)
{
	return FAULT_TRY("mov %[lo], %%eax; mov %[hi], %%edx; wrmsr", "c"(msr),
			 [lo] "r"((uint32_t)v), [hi] "r"((uint32_t)(v >> 32)));
}

static int rdmsr_try(uint32_t msr)
{
	return FAULT_TRY("rdmsr", "c"(msr));
}

static int cr4_try(uint64_t v)
{
	return FAULT_TRY("mov %[v], %%cr4", [v] "r"(v));
}

/* -cpu max,-pks: no CPUID bit, CR4.PKS reserved, no IA32_PKRS */
static void absent_tests(uint32_t ecx)
{
	check(!(ecx & L7_ECX_PKS), "cpuid 7.0 ecx[31] pks clear with -pks (ecx %x)", ecx);
	int v = cr4_try(read_cr4() | CR4_PKS);
	check(v == V_GP && !(read_cr4() & CR4_PKS), "#GP: cr4.pks without pks (vector %d)", v);
	v = rdmsr_try(MSR_PKRS);
	check(v == V_GP, "#GP: rdmsr ia32_pkrs without pks (vector %d)", v);
	v = wrmsr_try(MSR_PKRS, 0);
	check(v == V_GP, "#GP: wrmsr ia32_pkrs without pks (vector %d)", v);
}

static void msr_tests(void)
{
	int v = cr4_try(read_cr4() | CR4_PKS);
	check(v == FAULT_NONE && (read_cr4() & CR4_PKS), "cr4.pks sets (vector %d)", v);
	wrmsr(MSR_PKRS, 0x89abcdef);
	check(rdmsr(MSR_PKRS) == 0x89abcdef, "ia32_pkrs keeps wrmsr's value (%lx)", rdmsr(MSR_PKRS));
	v = wrmsr_try(MSR_PKRS, 1ull << 32);
	check(v == V_GP && rdmsr(MSR_PKRS) == 0x89abcdef,
	      "#GP: ia32_pkrs bit 32, value kept (vector %d)", v);
	wrmsr(MSR_PKRS, 0);
}

static void key_tests(bool pku)
{
	uint64_t s1 = PG_S1 + 0x10, s0 = PG_S0 + 0x10;
	int v;

	v = k_write(s1);
	check(v == FAULT_NONE, "pkrs 0: supervisor write to a key-1 page (vector %d)", v);

	wrmsr(MSR_PKRS, AD(1)); /* the TLB has the page from the write above */
	v = k_read(s1);
	check(v == V_PF && err() == (PF_P | PF_PK) && this_cpu()->fault_cr2 == s1,
	      "AD: read of a key-1 page just accessed is #PF with PK (vector %d, error %lx)", v,
	      err());
	v = k_write(s1);
	check(v == V_PF && err() == (PF_P | PF_W | PF_PK), "AD: write is #PF with PK (vector %d, error %lx)",
	      v, err());
	v = k_read(s0);
	check(v == FAULT_NONE, "AD for key 1: a key-0 page reads (vector %d)", v);
	v = k_call(PG_S1 + 0x40);
	check(v == FAULT_NONE, "AD: a fetch from a key-1 page is allowed (vector %d)", v);
	v = (int)run_user(u_read, PG_U1 + 0x10, 0);
	check(v == FAULT_NONE, "AD in pkrs: a user page of key 1 reads from user mode (vector %d)", v);

	wrmsr(MSR_PKRS, WD(1));
	v = k_read(s1);
	check(v == FAULT_NONE, "WD: read (vector %d)", v);
	v = k_write(s1);
	check(v == V_PF && err() == (PF_P | PF_W | PF_PK),
	      "WD: write with cr0.wp is #PF with PK (vector %d, error %lx)", v, err());
	write_cr0(read_cr0() & ~CR0_WP);
	v = k_write(s1);
	write_cr0(read_cr0() | CR0_WP);
	check(v == FAULT_NONE, "WD: write without cr0.wp (vector %d)", v);

	wrmsr(MSR_PKRS, AD(1));
	write_cr4(read_cr4() & ~CR4_PKS);
	v = k_read(s1);
	check(v == FAULT_NONE, "without cr4.pks the keys do nothing (vector %d)", v);
	write_cr4(read_cr4() | CR4_PKS);
	v = k_read(s1);
	check(v == V_PF && (err() & PF_PK), "cr4.pks again: AD faults (vector %d, error %lx)", v, err());
	wrmsr(MSR_PKRS, 0);

	if (!pku) {
		skip("pkru and supervisor pages: no pku");
		return;
	}
	write_cr4(read_cr4() | CR4_PKE);
	__asm__ volatile(".byte 0x0f, 0x01, 0xef" :: "a"(AD(1)), "c"(0), "d"(0) : "memory");
	v = k_read(s1);
	check(v == FAULT_NONE, "pkru's AD leaves a supervisor page of key 1 alone (vector %d)", v);
	v = k_read(PG_U1 + 0x10);
	check(v == V_PF && err() == (PF_P | PF_PK), "while it denies the user page (vector %d, error %lx)",
	      v, err());
	__asm__ volatile(".byte 0x0f, 0x01, 0xef" :: "a"(0), "c"(0), "d"(0) : "memory");
	write_cr4(read_cr4() & ~CR4_PKE);
}

int main(void)
{
	uint32_t r[4];

	test_name = "pks";
	cpuid(0, 0, r);
	if (r[0] >= 7)
		cpuid(7, 0, r);
	else
		r[2] = 0;
	if (cmdline_has("nopks")) {
		absent_tests(r[2]);
		return 0;
	}
	if (!(r[2] & L7_ECX_PKS)) {
		skip("no PKS in CPUID leaf 7 (KVM on a host without it, or a -cpu model without pks)");
		return 0;
	}
	printk("pks: start\n");
	map_page(PG_S1, (uint64_t)pages[0] | PTE_P | PTE_W | KEY(1));
	map_page(PG_S0, (uint64_t)pages[1] | PTE_P | PTE_W);
	map_page(PG_U1, (uint64_t)pages[2] | PTE_P | PTE_W | PTE_U | KEY(1));
	pages[0][0x40] = 0xc3;          /* ret, for the fetch check */
	msr_tests();
	key_tests(r[2] & L7_ECX_PKU);
	write_cr4(read_cr4() & ~CR4_PKS);
	return 0;
}
