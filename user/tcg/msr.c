/*
 * Model-specific registers of the TCG engine: the bodies of RDMSR and
 * WRMSR (system.c raises #GP(0) when they return -1) and the TSC.
 * Numbers and layouts: Intel SDM Vol. 4, chapter 2 (architectural MSRs);
 * MTRRs and PAT: SDM Vol. 3, 12.11 and 12.12.
 *
 * Only MSRs of features CPUID advertises (cpuid.c) exist; every other
 * number is #GP, as on a processor without them.
 */
#include "tcg/tcg.h"
#include "hw/apic.h"
#include "x86/msr.h"


#define PHYS_RSVD (~0ULL << 40)         /* MAXPHYADDR 40 (cpuid.c) */

/* IA32_MISC_ENABLE (SDM Vol. 4, table 2-2 and 2-3): the guest may write
 * fast strings (on at reset: TCG_MISC_ENABLE_RESET), automatic thermal
 * control, EIST, the CPUID limit, xTPR disable and XD disable.  Read
 * only: branch trace and PEBS unavailable (1), performance monitoring
 * available (0: there is no PMU, CPUID leaf 0xA is zero); writes of
 * either value are ignored.  MONITOR FSM enable (18) is reserved, since
 * CPUID never offers MONITOR here; the other bits are reserved too:
 * #GP. */
#define MISC_FAST_STRINGS (1ULL << 0)
#define MISC_TCC (1ULL << 3)
#define MISC_PERF_MON (1ULL << 7)
#define MISC_BTS_UNAVAIL (1ULL << 11)
#define MISC_PEBS_UNAVAIL (1ULL << 12)
#define MISC_EIST (1ULL << 16)
#define MISC_LIMIT_CPUID (1ULL << 22)
#define MISC_XTPR_DISABLE (1ULL << 23)
#define MISC_XD_DISABLE (1ULL << 34)
#define MISC_FIXED (MISC_BTS_UNAVAIL | MISC_PEBS_UNAVAIL)
#define MISC_READ_ONLY (MISC_FIXED | MISC_PERF_MON)
#define MISC_WRITABLE (MISC_FAST_STRINGS | MISC_TCC | MISC_EIST | MISC_LIMIT_CPUID | \
		       MISC_XTPR_DISABLE | MISC_XD_DISABLE)
_Static_assert(TCG_MISC_ENABLE_RESET == MISC_FAST_STRINGS, "reset value of MISC_ENABLE");

/* IA32_ARCH_CAPABILITIES (SDM Vol. 4, table 2-2; enumerated by CPUID
 * leaf 7 EDX bit 29, cpuid.c): every "not affected" bit, since nothing
 * executes speculatively here (cpuid.c says why), and IBRS_ALL, which
 * IA32_SPEC_CTRL below honours trivially.  ITS_NO is the bit hypervisors
 * define for their guests (Linux: ARCH_CAP_ITS_NO); hardware leaves it 0. */
#define ARCH_CAP_RDCL_NO (1ULL << 0)            /* Meltdown, L1TF */
#define ARCH_CAP_IBRS_ALL (1ULL << 1)
#define ARCH_CAP_SSB_NO (1ULL << 4)             /* speculative store bypass */
#define ARCH_CAP_MDS_NO (1ULL << 5)
#define ARCH_CAP_PSCHANGE_MC_NO (1ULL << 6)     /* iTLB multihit */
#define ARCH_CAP_TAA_NO (1ULL << 8)
#define ARCH_CAP_SBDR_SSDP_NO (1ULL << 13)      /* MMIO stale data: */
#define ARCH_CAP_FBSDP_NO (1ULL << 14)          /*   all three */
#define ARCH_CAP_PSDP_NO (1ULL << 15)
#define ARCH_CAP_BHI_NO (1ULL << 20)            /* branch history injection */
#define ARCH_CAP_PBRSB_NO (1ULL << 24)          /* post-barrier RSB */
#define ARCH_CAP_GDS_NO (1ULL << 26)            /* gather data sampling */
#define ARCH_CAP_RFDS_NO (1ULL << 27)           /* register file sampling */
#define ARCH_CAP_ITS_NO (1ULL << 62)            /* indirect target selection */
#define ARCH_CAP_VALUE (ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_SSB_NO |      \
			ARCH_CAP_MDS_NO | ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_TAA_NO |     \
			ARCH_CAP_SBDR_SSDP_NO | ARCH_CAP_FBSDP_NO | ARCH_CAP_PSDP_NO |    \
			ARCH_CAP_BHI_NO | ARCH_CAP_PBRSB_NO | ARCH_CAP_GDS_NO |           \
			ARCH_CAP_RFDS_NO | ARCH_CAP_ITS_NO)

/* IA32_SPEC_CTRL: IBRS and BHI_DIS_S (CPUID has no STIBP, SSBD, ...);
 * IA32_PRED_CMD: write-only, IBPB (a barrier with no predictor to flush) */
#define SPEC_CTRL_IBRS (1ULL << 0)
#define SPEC_CTRL_BHI_DIS_S (1ULL << 10)
#define SPEC_CTRL_WRITABLE (SPEC_CTRL_IBRS | SPEC_CTRL_BHI_DIS_S)
#define PRED_CMD_IBPB (1ULL << 0)

/* IA32_MTRRCAP: 8 variable ranges, fixed ranges, write-combining */
#define MTRRCAP_VALUE (8 | (1 << 8) | (1 << 10))
#define MTRR_VAR_COUNT 8

static inline bool is_canonical(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

/* LFENCE first: the guest's RDTSC comes after its earlier loads (see
 * jit/gen-system.c, emit_guest_tsc) */
uint64_t tcg_rdtsc(struct tcg_cpu *c)
{
	__asm__ volatile("lfence" ::: "memory");
	return host_rdtsc() + c->tsc_offset;
}

/* Memory types valid in MTRRs: UC WC WT WP WB; PAT adds UC- (7) */
static bool mtrr_type_ok(uint64_t t)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

static bool types_ok(uint64_t v, bool pat)
{
	for (unsigned k = 0; k < 8; k++, v >>= 8) {
		uint64_t t = v & 0xff;
		if (!mtrr_type_ok(t) && !(pat && t == 7))
			return false;
	}
	return true;
}

/* The index into tcg_cpu.mtrr_fixed of a fixed-range MTRR, or -1 */
static int fixed_mtrr(uint32_t msr)
{
	if (msr == MSR_MTRR_FIX64K_00000)
		return 0;
	if (msr == MSR_MTRR_FIX16K_80000 || msr == MSR_MTRR_FIX16K_A0000)
		return msr - MSR_MTRR_FIX16K_80000 + 1;
	if (msr >= MSR_MTRR_FIX4K_C0000 && msr <= MSR_MTRR_FIX4K_F8000)
		return msr - MSR_MTRR_FIX4K_C0000 + 3;
	return -1;
}

/* IA32_MTRR_PHYSBASEn: type in 7:0, 11:8 reserved; PHYSMASKn: valid in
 * bit 11, 10:0 reserved; both reserved above MAXPHYADDR. */
static bool var_mtrr_ok(uint32_t msr, uint64_t v)
{
	if (v & PHYS_RSVD)
		return false;
	if (msr & 1)
		return !(v & 0x7ff);
	return !(v & 0xf00) && mtrr_type_ok(v & 0xff);
}

static uint64_t apic_base(struct tcg_cpu *c)
{
	return c->lapic ? lapic_get_base(c->lapic) : c->s.apic_base;
}

/* Without a LAPIC (unit tests): keep the value, BSP flag read-only */
static int set_apic_base(struct tcg_cpu *c, uint64_t v)
{
	if (c->lapic)
		return lapic_set_base(c->lapic, v);
	if (v & (PHYS_RSVD | 0x2ff))
		return -1;
	c->s.apic_base = (v & ~0x100ULL) | (c->s.apic_base & 0x100);
	return 0;
}

/* EFER (SDM Vol. 4, table 2-2; Vol. 3, 9.8.5): SCE, LME, NXE are
 * writable (NXE not with XD disabled), LMA is the processor's, and LME
 * can't change while paging is on. */
static int set_efer(struct tcg_cpu *c, uint64_t v)
{
	uint64_t writable = EFER_SCE | EFER_LME | EFER_NXE;
	if (c->misc_enable & MISC_XD_DISABLE)
		writable &= ~EFER_NXE;
	if (v & ~(writable | EFER_LMA))
		return -1;
	if ((c->s.cr0 & CR0_PG) && ((v ^ c->s.efer) & EFER_LME))
		return -1;
	tcg_set_efer(c, (v & ~EFER_LMA) | (c->s.efer & EFER_LMA));
	return 0;
}

static int set_misc_enable(struct tcg_cpu *c, uint64_t v)
{
	if (v & ~(MISC_WRITABLE | MISC_READ_ONLY))
		return -1;              /* read-only bits may be written either way */
	if ((v & MISC_XD_DISABLE) && (c->s.efer & EFER_NXE))
		return -1;              /* as KVM: not while NX is in use */
	c->misc_enable = v & MISC_WRITABLE;
	return 0;
}

/* The LAPIC compares the deadline with the host TSC: convert from the
 * guest's (guest = host + tsc_offset); a deadline already past becomes
 * 1, which has expired in either clock.  0 disarms. */
static void set_tsc_deadline(struct tcg_cpu *c, uint64_t v)
{
	if (!c->lapic)
		return;
	uint64_t host = 0;
	if (v)
		host = v <= tcg_rdtsc(c) || v - c->tsc_offset == 0 ? 1 : v - c->tsc_offset;
	lapic_set_tsc_deadline(c->lapic, host);
}

static uint64_t get_tsc_deadline(struct tcg_cpu *c)
{
	uint64_t host = c->lapic ? lapic_get_tsc_deadline(c->lapic) : 0;
	return host ? host + c->tsc_offset : 0;
}

static void log_unknown(struct tcg_cpu *c, const char *what, uint32_t msr, uint64_t v)
{
	if (log_enabled(LOG_UNIMP))
		qvm_log(LOG_UNIMP, "cpu %u: %s unknown MSR 0x%x value 0x%llx (#GP)",
			c->v ? c->v->index : 0, what, msr, (unsigned long long)v);
}

/* The MSRs that are plain storage in struct x86_cpu_state */
static uint64_t *plain_msr(struct tcg_cpu *c, uint32_t msr)
{
	switch (msr) {
	case MSR_SYSENTER_CS: return &c->s.sysenter_cs;
	case MSR_SYSENTER_ESP: return &c->s.sysenter_esp;
	case MSR_SYSENTER_EIP: return &c->s.sysenter_eip;
	case MSR_STAR: return &c->s.star;
	case MSR_LSTAR: return &c->s.lstar;
	case MSR_CSTAR: return &c->s.cstar;
	case MSR_SFMASK: return &c->s.sfmask;
	case MSR_FS_BASE: return &c->s.seg[S_FS].base;
	case MSR_GS_BASE: return &c->s.seg[S_GS].base;
	case MSR_KERNEL_GS_BASE: return &c->s.kernel_gs_base;
	case MSR_TSC_AUX: return &c->s.tsc_aux;
	case MSR_PAT: return &c->s.pat;
	case MSR_MTRR_DEF_TYPE: return &c->mtrr_def_type;
	}
	return NULL;
}

int tcg_rdmsr(struct tcg_cpu *c, uint32_t msr, uint64_t *v)
{
	uint64_t *p = plain_msr(c, msr);
	if (p) {
		*v = *p;
		return 0;
	}
	int fixed = fixed_mtrr(msr);
	if (fixed >= 0) {
		*v = c->mtrr_fixed[fixed];
		return 0;
	}
	if (msr >= MSR_MTRR_PHYS_FIRST && msr <= MSR_MTRR_PHYS_LAST) {
		*v = c->mtrr_var[msr - MSR_MTRR_PHYS_FIRST];
		return 0;
	}
	if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
		return c->lapic ? lapic_msr_read(c->lapic, msr, v) : -1;
	switch (msr) {
	case MSR_TSC:
		*v = tcg_rdtsc(c);
		return 0;
	case MSR_PLATFORM_ID:
	case MSR_BIOS_SIGN_ID:          /* no microcode update loaded */
	case MSR_MCG_CAP:               /* no banks */
	case MSR_MCG_STATUS:
	case MSR_DEBUGCTL:
		*v = 0;
		return 0;
	case MSR_APIC_BASE:
		*v = apic_base(c);
		return 0;
	case MSR_FEATURE_CONTROL:
		*v = 1;                 /* locked, VMX and SMX off */
		return 0;
	case MSR_MTRRCAP:
		*v = MTRRCAP_VALUE;
		return 0;
	case MSR_ARCH_CAPABILITIES:
		*v = ARCH_CAP_VALUE;
		return 0;
	case MSR_SPEC_CTRL:
		*v = c->spec_ctrl;
		return 0;
	case MSR_PRED_CMD:
		return -1;              /* write-only */
	case MSR_MISC_ENABLE:
		*v = c->misc_enable | MISC_FIXED;
		return 0;
	case MSR_TSC_DEADLINE:
		*v = get_tsc_deadline(c);
		return 0;
	case MSR_PKRS:
		*v = c->pkrs;
		return tcg_sys_features(c) & SYSF_PKS ? 0 : -1;
	case MSR_XSS:                   /* no supervisor component exists here */
		*v = 0;
		return tcg_sys_features(c) & SYSF_XSAVES ? 0 : -1;
	case MSR_EFER:
		*v = c->s.efer;
		return 0;
	}
	log_unknown(c, "rdmsr", msr, 0);
	return -1;
}

/* Checks of the plain-storage MSRs: 0 or -1 */
static int check_plain(uint32_t msr, uint64_t v)
{
	switch (msr) {
	case MSR_SYSENTER_ESP:
	case MSR_SYSENTER_EIP:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
		return is_canonical(v) ? 0 : -1;
	case MSR_SFMASK:
	case MSR_TSC_AUX:
		return v >> 32 ? -1 : 0;
	case MSR_PAT:
		return types_ok(v, true) ? 0 : -1;
	case MSR_MTRR_DEF_TYPE:
		return (v & ~0xcffULL) || !mtrr_type_ok(v & 0xff) ? -1 : 0;
	}
	return 0;
}

static int wrmsr_other(struct tcg_cpu *c, uint32_t msr, uint64_t v)
{
	switch (msr) {
	case MSR_TSC:
		c->tsc_offset = v - host_rdtsc();
		return 0;
	case MSR_BIOS_SIGN_ID:          /* the microcode-revision handshake */
		return 0;
	case MSR_MCG_STATUS:
		return v ? -1 : 0;
	case MSR_SPEC_CTRL:
		if (v & ~SPEC_CTRL_WRITABLE)
			return -1;
		c->spec_ctrl = v;
		return 0;
	case MSR_PRED_CMD:
		return v & ~PRED_CMD_IBPB ? -1 : 0;
	case MSR_ARCH_CAPABILITIES:
		return -1;              /* read-only */
	case MSR_DEBUGCTL:
		return v & ~3ULL ? -1 : 0; /* LBR and BTF accepted, not emulated */
	case MSR_APIC_BASE:
		return set_apic_base(c, v);
	case MSR_MISC_ENABLE:
		return set_misc_enable(c, v);
	case MSR_TSC_DEADLINE:
		set_tsc_deadline(c, v);
		return 0;
	case MSR_PKRS:
		return tcg_set_pkrs(c, v);
	case MSR_XSS:                   /* bits of CPUID.(0DH,1):ECX|EDX only: none */
		return (tcg_sys_features(c) & SYSF_XSAVES) && !v ? 0 : -1;
	case MSR_EFER:
		return set_efer(c, v);
	}
	log_unknown(c, "wrmsr", msr, v);
	return -1;
}

int tcg_wrmsr(struct tcg_cpu *c, uint32_t msr, uint64_t v)
{
	uint64_t *p = plain_msr(c, msr);
	if (p) {
		if (check_plain(msr, v) < 0)
			return -1;
		*p = v;
		return 0;
	}
	int fixed = fixed_mtrr(msr);
	if (fixed >= 0) {
		if (!types_ok(v, false))
			return -1;
		c->mtrr_fixed[fixed] = v;
		return 0;
	}
	if (msr >= MSR_MTRR_PHYS_FIRST && msr < MSR_MTRR_PHYS_FIRST + 2 * MTRR_VAR_COUNT) {
		if (!var_mtrr_ok(msr, v))
			return -1;
		c->mtrr_var[msr - MSR_MTRR_PHYS_FIRST] = v;
		return 0;
	}
	if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
		return c->lapic ? lapic_msr_write(c->lapic, msr, v) : -1;
	return wrmsr_other(c, msr, v);
}
