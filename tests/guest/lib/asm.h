/* Constants shared by the assembly sources (keep in step with guest.h). */
#define MAX_CPUS	16
#define KSTACK_SIZE	0x4000
#define ISTACK_SIZE	0x2000
#define USTACK_SIZE	0x4000
#define TRAMP_BASE	0x8000
#define SEL_KCODE	0x08
#define SEL_KDATA	0x10
#define SEL_UDATA	0x1b
#define SEL_UCODE	0x23
#define SEL_KCODE32	0x28
#define CPU_KCTX	8
#ifndef VEC_SYSCALL
#define VEC_SYSCALL	0x80
#endif
#define CR0_PE		0x00000001
#define CR0_NE		0x00000020
#define CR0_WP		0x00010000
#define CR0_NW		0x20000000
#define CR0_CD		0x40000000
#define CR0_PG		0x80000000
#define CR4_PAE		0x20
#define MSR_EFER	0xc0000080
#define EFER_LME	0x100
