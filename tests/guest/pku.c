/* pku.elf: protection keys for user pages (SDM Vol. 3, 4.6.2): CPUID
 * PKU and OSPKE (CR4.PKE), RDPKRU/WRPKRU (#UD without CR4.PKE, #GP for
 * ECX/EDX), PKRU's AD and WD for a page of key 1 from user mode and
 * supervisor mode (WD with and without CR0.WP), the #PF error code's PK
 * bit, fetches and key-0 pages unaffected, a change of PKRU taking
 * effect on a page just accessed (no INVLPG), keys ignored without
 * CR4.PKE, and PKRU as XSAVE component 9 (leaf 0xD, XSAVE, XRSTOR, XSAVEC,
 * XCR0).  Without PKU in CPUID it says "skip" and passes.  "qemu tcg":
 * QEMU 7.2's TCG keeps a TLB entry across CR4.PKE going 0 -> 1, where the
 * processor checks the key at every access: that check is skipped. */
#include "guest.h"

#define CR4_OSXSAVE	(1ull << 18)
#define CR4_PKE		(1ull << 22)
#define CR0_WP		(1ull << 16)
#define V_UD	6
#define V_GP	13
#define V_PF	14
#define PF_P	1
#define PF_W	2
#define PF_U	4
#define PF_PK	32
#define PG_KEY1	0x40010000UL	/* user, writable, key 1 */
#define PG_KEY0	0x40011000UL	/* user, writable, key 0 */
#define PG_KEY1_RO 0x40012000UL	/* user, read-only, key 1 */
#define KEY(k)	((uint64_t)(k) << 59)
#define AD(k)	(1u << (2 * (k)))
#define WD(k)	(2u << (2 * (k)))

static bool qemu_tcg;
static uint8_t pages[2][4096] __attribute__((aligned(4096)));
static uint8_t area[4096] __attribute__((aligned(64)));

static uint32_t rdpkru(void)
{
	uint32_t a, d;
	__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(a), "=d"(d) : "c"(0));
	return a;
}

static void wrpkru(uint32_t v)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xef" :: "a"(v), "c"(0), "d"(0) : "memory");
}

static uint64_t u_read(uint64_t a) { return FAULT_TRY("movb (%[p]), %%al", [p] "c"(a)); }
static uint64_t u_write(uint64_t a) { return FAULT_TRY("movb %%al, (%[p])", [p] "c"(a)); }
static uint64_t u_call(uint64_t a) { return FAULT_TRY("call *%[p]", [p] "c"(a)); }
static int k_read(uint64_t a) { return FAULT_TRY("movb (%[p]), %%al", [p] "c"(a)); }
static int k_write(uint64_t a) { return FAULT_TRY("movb %%al, (%[p])", [p] "c"(a)); }

static uint64_t err(void) { return this_cpu()->fault.error; }

static void insn_tests(void)
{
	uint32_t r[4];
	int v;

	write_cr4(read_cr4() & ~CR4_PKE);
	cpuid(7, 0, r);
	check(!(r[2] & (1u << 4)), "cpuid ospke clear without cr4.pke (ecx %x)", r[2]);
	v = FAULT_TRY(".byte 0x0f, 0x01, 0xee", "c"(0));
	check(v == V_UD, "#UD: rdpkru without cr4.pke (vector %d)", v);
	v = FAULT_TRY("xor %%eax, %%eax; xor %%edx, %%edx; .byte 0x0f, 0x01, 0xef", "c"(0));
	check(v == V_UD, "#UD: wrpkru without cr4.pke (vector %d)", v);

	write_cr4(read_cr4() | CR4_PKE);
	cpuid(7, 0, r);
	check(r[2] & (1u << 4), "cpuid ospke set with cr4.pke (ecx %x)", r[2]);
	v = FAULT_TRY(".byte 0x0f, 0x01, 0xee", "c"(1));
	check(v == V_GP, "#GP: rdpkru with ecx 1 (vector %d)", v);
	v = FAULT_TRY("xor %%eax, %%eax; xor %%edx, %%edx; .byte 0x0f, 0x01, 0xef", "c"(1));
	check(v == V_GP, "#GP: wrpkru with ecx 1 (vector %d)", v);
	v = FAULT_TRY("xor %%eax, %%eax; mov $1, %%edx; .byte 0x0f, 0x01, 0xef", "c"(0));
	check(v == V_GP, "#GP: wrpkru with edx 1 (vector %d)", v);
	wrpkru(0x12345678);
	uint32_t a, d;
	__asm__ volatile("mov $-1, %%edx; .byte 0x0f, 0x01, 0xee" : "=a"(a), "=d"(d) : "c"(0));
	check(a == 0x12345678 && d == 0, "rdpkru returns wrpkru's value, edx 0 (%x %x)", a, d);
	wrpkru(0);
}

static void key_tests(void)
{
	uint64_t k1 = PG_KEY1 + 0x10, k0 = PG_KEY0 + 0x10;
	int v;

	wrpkru(0);
	v = (int)run_user(u_write, k1, 0);
	check(v == FAULT_NONE, "pkru 0: user write to a key-1 page (vector %d)", v);

	wrpkru(AD(1));          /* the TLB has the page from the write above */
	v = (int)run_user(u_read, k1, 0);
	check(v == V_PF && err() == (PF_P | PF_U | PF_PK) && this_cpu()->fault_cr2 == k1,
	      "AD: user read of a key-1 page just accessed is #PF with PK (vector %d, error %lx)",
	      v, err());
	v = (int)run_user(u_read, k0, 0);
	check(v == FAULT_NONE, "AD for key 1: a key-0 page reads (vector %d)", v);
	v = (int)run_user(u_call, PG_KEY1 + 0x40, 0);
	check(v == FAULT_NONE, "AD: user fetch from a key-1 page is allowed (vector %d)", v);
	v = k_read(k1);
	check(v == V_PF && err() == (PF_P | PF_PK), "AD: supervisor read is #PF with PK (vector %d, error %lx)",
	      v, err());

	wrpkru(WD(1));
	v = (int)run_user(u_read, k1, 0);
	check(v == FAULT_NONE, "WD: user read (vector %d)", v);
	v = (int)run_user(u_write, k1, 0);
	check(v == V_PF && err() == (PF_P | PF_W | PF_U | PF_PK),
	      "WD: user write is #PF with PK (vector %d, error %lx)", v, err());
	v = k_write(k1);
	check(v == V_PF && err() == (PF_P | PF_W | PF_PK),
	      "WD: supervisor write with cr0.wp is #PF with PK (vector %d, error %lx)", v, err());
	/* SDM Vol. 3, 4.7: PK's conditions name none of the other rights */
	v = (int)run_user(u_write, PG_KEY1_RO + 0x10, 0);
	check(v == V_PF && err() == (PF_P | PF_W | PF_U | PF_PK),
	      "WD: user write to a read-only page is #PF with PK too (vector %d, error %lx)", v, err());
	write_cr0(read_cr0() & ~CR0_WP);
	v = k_write(k1);
	write_cr0(read_cr0() | CR0_WP);
	check(v == FAULT_NONE, "WD: supervisor write without cr0.wp (vector %d)", v);

	wrpkru(AD(1));
	write_cr4(read_cr4() & ~CR4_PKE);
	v = (int)run_user(u_read, k1, 0);
	check(v == FAULT_NONE, "without cr4.pke the keys do nothing (vector %d)", v);
	write_cr4(read_cr4() | CR4_PKE);
	v = (int)run_user(u_read, k1, 0);
	if (qemu_tcg)
		skip("cr4.pke set again on a page just read: QEMU's TCG keeps its TLB entry");
	else
		check(v == V_PF && (err() & PF_PK), "cr4.pke again: AD faults (vector %d, error %lx)", v,
		      err());
	wrpkru(0);
}

static uint64_t xgetbv0(void)
{
	uint32_t a, d;
	__asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
	return a | (uint64_t)d << 32;
}

static void xsetbv0(uint64_t v)
{
	__asm__ volatile("xsetbv" :: "a"((uint32_t)v), "d"((uint32_t)(v >> 32)), "c"(0));
}

static void xsave_tests(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	if (!(r[2] & (1u << 26))) {
		skip("pkru xsave component: no xsave");
		return;
	}
	cpuid(0xd, 0, r);
	if (!(r[0] & (1u << 9))) {
		check(false, "cpuid 0xd: pkru (bit 9) offered with pku (eax %x)", r[0]);
		return;
	}
	cpuid(0xd, 9, r);
	uint32_t off = r[1];
	check(r[0] == 8 && off >= 576 && off + 8 <= sizeof(area),
	      "cpuid 0xd.9: pkru is 8 bytes at %u (size %u)", off, r[0]);
	write_cr4(read_cr4() | CR4_OSXSAVE);
	uint64_t xcr0 = xgetbv0();
	xsetbv0(xcr0 | (1u << 9));
	check(xgetbv0() & (1u << 9), "xsetbv takes xcr0 bit 9");

	wrpkru(0xaabbccd4);
	memset(area, 0, sizeof(area));
	__asm__ volatile("xsave (%0)" :: "r"(area), "a"(1u << 9), "d"(0) : "memory");
	uint64_t bv, v;
	memcpy(&bv, area + 512, 8);
	memcpy(&v, area + off, 8);
	check((bv & (1u << 9)) && v == 0xaabbccd4, "xsave stores pkru (xstate_bv %lx, %lx)", bv, v);
	v = 0x4;                /* AD for key 1 */
	memcpy(area + off, &v, 8);
	__asm__ volatile("xrstor (%0)" :: "r"(area), "a"(1u << 9), "d"(0) : "memory");
	check(rdpkru() == 4, "xrstor loads pkru (%x)", rdpkru());
	int f = (int)run_user(u_read, PG_KEY1, 0);
	check(f == V_PF && (err() & PF_PK), "pkru from xrstor applies at once (vector %d)", f);
	bv = 0;                 /* XSTATE_BV[9] = 0: the initial value 0 */
	memcpy(area + 512, &bv, 8);
	__asm__ volatile("xrstor (%0)" :: "r"(area), "a"(1u << 9), "d"(0) : "memory");
	check(rdpkru() == 0, "xrstor of pkru's initial state: 0 (%x)", rdpkru());
	f = (int)run_user(u_read, PG_KEY1, 0);
	check(f == FAULT_NONE, "and the page reads again (vector %d)", f);

	cpuid(0xd, 1, r);
	if (r[0] & 2) {         /* XSAVEC: pkru right after the legacy area + header */
		wrpkru(0x55555554);
		memset(area, 0, sizeof(area));
		__asm__ volatile("xsavec (%0)" :: "r"(area), "a"(1u << 9), "d"(0) : "memory");
		memcpy(&v, area + 576, 8);
		memcpy(&bv, area + 520, 8);
		check(v == 0x55555554 && bv == ((1ull << 63) | (1u << 9)),
		      "xsavec stores pkru at 576 (%lx, xcomp_bv %lx)", v, bv);
	}
	wrpkru(0);
	xsetbv0(xcr0);
}

int main(void)
{
	uint32_t r[4];

	test_name = "pku";
	/* KVM nested under QEMU's TCG: the outer emulator's page walk and
	 * PKRU decide, and QEMU 7.2 keeps a stale TLB entry across CR4.PKE */
	if (cmdline_has("on-qemu-tcg")) {
		skip("pku: KVM nested under QEMU's TCG decides protection keys");
		test_done();
	}
	qemu_tcg = cmdline_has("qemu") && cmdline_has("tcg");
	cpuid(0, 0, r);
	if (r[0] >= 7)
		cpuid(7, 0, r);
	else
		r[2] = 0;
	if (!(r[2] & (1u << 3))) {
		skip("no PKU in CPUID leaf 7 (a -cpu model without pku)");
		return 0;
	}
	printk("pku: start\n");
	map_page(PG_KEY1, (uint64_t)pages[0] | PTE_P | PTE_W | PTE_U | KEY(1));
	map_page(PG_KEY0, (uint64_t)pages[1] | PTE_P | PTE_W | PTE_U);
	map_page(PG_KEY1_RO, (uint64_t)pages[0] | PTE_P | PTE_U | KEY(1));
	pages[0][0x40] = 0xc3;          /* ret, for the fetch check */
	insn_tests();
	key_tests();
	xsave_tests();
	write_cr4(read_cr4() & ~CR4_PKE);
	return 0;
}
