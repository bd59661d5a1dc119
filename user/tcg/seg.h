/*
 * Private helpers shared by seg.c (segment loads, far transfers,
 * descriptor instructions, SYSCALL/SYSENTER) and excp.c (interrupt and
 * exception delivery, INT/IRET).  Not part of the TCG contract.
 */
#ifndef QVM_TCG_SEG_H
#define QVM_TCG_SEG_H

#include "tcg.h"

/* Segment descriptor fields (SDM Vol. 3, 3.4.5, figure 3-8). */
#define DESC_ACCESSED (1ULL << 40)
static inline unsigned desc_type(uint64_t d) { return (d >> 40) & 0xf; }
static inline bool desc_s(uint64_t d) { return (d >> 44) & 1; }
static inline unsigned desc_dpl(uint64_t d) { return (d >> 45) & 3; }
static inline bool desc_present(uint64_t d) { return (d >> 47) & 1; }
static inline bool desc_l(uint64_t d) { return (d >> 53) & 1; }
static inline bool desc_db(uint64_t d) { return (d >> 54) & 1; }
static inline bool desc_code(uint64_t d) { return desc_s(d) && (desc_type(d) & 8); }
static inline bool desc_data(uint64_t d) { return desc_s(d) && !(desc_type(d) & 8); }
static inline bool desc_conforming(uint64_t d) { return desc_code(d) && (desc_type(d) & 4); }
static inline bool desc_writable_data(uint64_t d) { return desc_data(d) && (desc_type(d) & 2); }
static inline uint32_t desc_limit(uint64_t d)
{
	uint32_t limit = (d & 0xffff) | ((d >> 32) & 0xf0000);
	return (d >> 55) & 1 ? (limit << 12) | 0xfff : limit;
}
static inline uint32_t desc_base(uint64_t d)
{
	return ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000);
}

/* Gate descriptors (SDM Vol. 3, 5.8.3 figure 5-8, 6.11 figure 6-2, 6.14.1). */
enum {
	SYS_TSS16_AVAIL = 1, SYS_LDT = 2, SYS_TSS16_BUSY = 3, SYS_CALL16 = 4,
	SYS_TASK = 5, SYS_INT16 = 6, SYS_TRAP16 = 7, SYS_TSS_AVAIL = 9,
	SYS_TSS_BUSY = 11, SYS_CALL = 12, SYS_INT = 14, SYS_TRAP = 15,
};
static inline uint16_t gate_sel(uint64_t d) { return (d >> 16) & 0xffff; }
static inline uint32_t gate_off32(uint64_t d)
{
	return (d & 0xffff) | ((d >> 32) & 0xffff0000);
}

/* Selector parts; the error code of a selector fault (SDM Vol. 3, 6.13). */
static inline unsigned sel_rpl(uint16_t sel) { return sel & 3; }
static inline bool sel_null(uint16_t sel) { return !(sel & 0xfffc); }
static inline int sel_err(uint16_t sel) { return sel & 0xfffc; }

/* Bits 63:47 all equal (SDM Vol. 1, 3.3.7.1); no shift of a negative
 * value, which C leaves undefined. */
static inline bool canonical(uint64_t a)
{
	uint64_t top = a >> 47;

	return top == 0 || top == 0x1ffff;
}

/* Linear address of a system-table access: 32 bits outside long mode. */
static inline uint64_t sys_lin(const struct tcg_cpu *c, uint64_t a)
{
	return tcg_long_mode(c) ? a : (uint32_t)a;
}

static inline bool prot_mode(const struct tcg_cpu *c)
{
	return tcg_protected(c) && !tcg_v86(c);
}

/* A stack being written: the current one (through SS with the mmu's
 * checks) or a new one from the TSS whose SS is not loaded yet (checked
 * here against the descriptor in ss).  Stores go out one by one; the
 * caller writes RSP only after the last, so a fault leaves RSP alone. */
struct tseg_stack {
	const struct x86_segment *ss; /* the new SS, unused when cur */
	uint64_t sp;                  /* full RSP; pushes change width bits */
	unsigned width;               /* stack-pointer width: 2, 4 or 8 */
	bool cur;                     /* the current SS */
	bool sys;                     /* implicit supervisor accesses */
	int err;                      /* #SS error code for the new stack */
};

void tseg_stack_current(struct tcg_cpu *c, struct tseg_stack *st);
void tseg_push(struct tcg_cpu *c, struct tseg_stack *st, unsigned size, uint64_t v);

/* RSP = v at a stack width (16 bits merge, 32 zero-extend, 64 whole). */
void tseg_set_sp(struct tcg_cpu *c, uint64_t v, unsigned width);

/* Descriptor cache from an 8-byte descriptor. */
void tseg_from_desc(struct x86_segment *s, uint16_t sel, uint64_t d);
/* The descriptor of sel or raise vec(sel) (#GP or #TS) beyond the table. */
uint64_t tseg_desc_or_raise(struct tcg_cpu *c, uint16_t sel, int vec, int ext, uint64_t *hi);
/* Set the accessed bit in the descriptor table entry of sel. */
void tseg_set_accessed(struct tcg_cpu *c, uint16_t sel, uint64_t *d);

/* Load CS from a checked code descriptor with CPL cpl (CS.RPL = CS.DPL =
 * cpl: this engine's CPL is CS.dpl, conforming segments included). */
void tseg_set_cs(struct tcg_cpu *c, uint16_t sel, uint64_t d, unsigned cpl);
/* Load a segment the real-mode / v86 way (base = sel << 4). */
void tseg_load_real(struct tcg_cpu *c, int seg, uint16_t sel);
void tseg_load_v86(struct tcg_cpu *c, int seg, uint16_t sel);
/* Null selector: the segment is unusable (SS keeps DPL = RPL). */
void tseg_load_null(struct tcg_cpu *c, int seg, uint16_t sel);
/* SS from a checked data descriptor, or a null SS (long mode) when null. */
void tseg_set_ss(struct tcg_cpu *c, uint16_t sel, uint64_t d, bool null);

/* The stack for privilege level cpl from the current 16/32-bit TSS, and
 * the checks on that SS (#TS/#SS with ext); or the 8 bytes at offset off
 * of the 64-bit TSS (RSPn at 4 + 8n, ISTn at 0x24 + 8(n-1)). */
void tseg_tss_stack(struct tcg_cpu *c, unsigned cpl, int ext, uint16_t *ss, uint64_t *sp);
uint64_t tseg_check_tss_ss(struct tcg_cpu *c, uint16_t ss, unsigned cpl, int ext);
uint64_t tseg_tss64_rsp(struct tcg_cpu *c, unsigned off, int ext);
#define TSS64_RSP(n) (4 + 8 * (n))
#define TSS64_IST(n) (0x24 + 8 * ((n) - 1))

/* Target offset of a far transfer to code descriptor d: canonical for a
 * 64-bit segment, else within the limit (#GP(0)). */
void tseg_check_code_offset(struct tcg_cpu *c, uint64_t d, uint64_t off);

/* Checks of the SS popped by RETF/IRET for a return to rpl; returns the
 * descriptor, *null for an allowed null SS (64-bit mode, rpl < 3). */
uint64_t tseg_check_ret_ss(struct tcg_cpu *c, uint16_t ss, unsigned rpl, bool to64, bool *null);
/* Checks of the CS popped by RETF/IRET (SDM Vol. 2, RET and IRET). */
uint64_t tseg_check_ret_cs(struct tcg_cpu *c, uint16_t cs);
/* After a return to an outer level: data segments the new CPL may not
 * use are nulled (SDM Vol. 2, RET: "RETURN-TO-OUTER-PRIVILEGE-LEVEL"). */
void tseg_null_inner_data(struct tcg_cpu *c);

/* excp.c: INT3, INT n, INTO, ICEBP, IRET into tcg_ops. */
void tseg_register_excp(void);

#endif
