/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world switch's assembly: kq_switch enters guest code at CPL 3 with
 * IRETQ, and the 256 IDT entries of a context take every event back.
 *
 * kq_switch(ctx), interrupts off, the guest's segments and FS/GS bases
 * already loaded (kqemu-switch.c): saves the callee-saved registers and
 * RSP on the host stack, loads the context's IDT and its shadow CR3 (the
 * kernel half is the host's, so this code, the stack and the per-CPU
 * entry area stay mapped), builds an IRETQ frame (SDM Vol. 3, 6.14.4),
 * loads the guest's registers, SWAPGS (guest GS base from KERNEL_GS_BASE),
 * VERW where the kernel clears CPU buffers on its returns to user mode,
 * and IRETQ.
 *
 * An event while guest code runs at CPL 3 arrives through a DPL 0, IST 0
 * gate on the TSS's RSP0 stack (Linux's per-CPU entry stack: SDM Vol. 3,
 * 6.14.2).  The stub pushes a dummy error code where the CPU pushes none,
 * and the vector; the common entry SWAPGS back, finds the context from the
 * IDT base (SIDT: the IDT is the context's first field), saves the guest's
 * registers and the frame, then loads the host's CR3 and IDT, returns to
 * the saved host stack and from kq_switch.
 *
 * An event at CPL 0 can only come in the window between the IDT loads:
 * an NMI or #MC (or an interrupt, which cannot come with IF=0) is noted
 * in ctx->pending and IRETQ goes on; the C side raises it again on the
 * host's IDT.  Any other exception at CPL 0 is a bug of the monitor: GS
 * base is forced to the host's, and the host is restored as for an exit
 * with ctx->monitor_fault = vector + 1.
 */
#include <linux/linkage.h>
#include <asm/msr-index.h>
#include <asm/smap.h>
#include <asm/ibt.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>
#include "kqemu-int.h"

#define G(n) (KQ_OFF_GREGS + (n) * 8)

	.text
SYM_FUNC_START(kq_switch)
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, KQ_OFF_HRSP(%rdi)
	lidt KQ_OFF_SIDTR(%rdi)
	mov KQ_OFF_SCR3(%rdi), %rax
	mov %rax, %cr3
	cmpq $0, KQ_OFF_FAULTTEST(%rdi)
	jne .Lfault_test
	pushq KQ_OFF_GSS(%rdi)
	pushq G(4)(%rdi)
	pushq KQ_OFF_GRFLAGS(%rdi)
	pushq KQ_OFF_GCS(%rdi)
	pushq KQ_OFF_GRIP(%rdi)
	mov G(0)(%rdi), %rax
	mov G(1)(%rdi), %rcx
	mov G(2)(%rdi), %rdx
	mov G(3)(%rdi), %rbx
	mov G(5)(%rdi), %rbp
	mov G(6)(%rdi), %rsi
	mov G(8)(%rdi), %r8
	mov G(9)(%rdi), %r9
	mov G(10)(%rdi), %r10
	mov G(11)(%rdi), %r11
	mov G(12)(%rdi), %r12
	mov G(13)(%rdi), %r13
	mov G(14)(%rdi), %r14
	mov G(15)(%rdi), %r15
	mov G(7)(%rdi), %rdi
	swapgs
	/* what Linux does on each return to user mode where the CPU needs
	 * it (MDS and friends: VERW clears the CPU buffers) */
	CLEAR_CPU_BUFFERS
	iretq
	/* never reached: the exit returns from kq_switch on the saved stack
	 * (and objtool, which takes this IRETQ for sync_core's, stops here) */
	ud2
.Lfault_test:
	/* the fault_test parameter: a #UD at CPL 0 with the context's IDT
	 * and CR3 loaded, which the monitor must survive */
	ud2
SYM_FUNC_END(kq_switch)

/* 256 stubs of KQ_STUB_SIZE bytes; the CPU pushes an error code for
 * vectors 8, 10-14, 17, 21, 29, 30 (SDM Vol. 3, 6.15; AMD APM Vol. 2, 8.2) */
	.align 16
SYM_CODE_START(kq_idt_stubs)
	vector = 0
	.rept 256
	.align 16
	.if vector <> 8 && (vector < 10 || vector > 14) && vector <> 17 && vector <> 21 && vector <> 29 && vector <> 30
	UNWIND_HINT_IRET_REGS
	ENDBR
	pushq $0
	.else
	UNWIND_HINT_IRET_REGS offset=8
	ENDBR
	.endif
	pushq $vector
	jmp kq_common_entry
	vector = vector + 1
	.endr
SYM_CODE_END(kq_idt_stubs)

/* the frame: 0 vector, 8 error code, 16 RIP, 24 CS, 32 RFLAGS, 40 RSP, 48 SS */
SYM_CODE_START_LOCAL(kq_common_entry)
	testb $3, 24(%rsp)
	jz .Lfrom_cpl0
	swapgs
	/* the guest's AC and DF mean nothing to the kernel (Linux's entry
	 * clears them too) */
	ASM_CLAC
	cld
	push %rax
	sub $16, %rsp
	sidt (%rsp)
	mov 2(%rsp), %rax
	add $16, %rsp
	mov %rcx, G(1)(%rax)
	mov %rdx, G(2)(%rax)
	mov %rbx, G(3)(%rax)
	mov %rbp, G(5)(%rax)
	mov %rsi, G(6)(%rax)
	mov %rdi, G(7)(%rax)
	mov %r8, G(8)(%rax)
	mov %r9, G(9)(%rax)
	mov %r10, G(10)(%rax)
	mov %r11, G(11)(%rax)
	mov %r12, G(12)(%rax)
	mov %r13, G(13)(%rax)
	mov %r14, G(14)(%rax)
	mov %r15, G(15)(%rax)
	pop %rcx
	mov %rcx, G(0)(%rax)
	mov 0(%rsp), %rcx
	mov %rcx, KQ_OFF_VECTOR(%rax)
	mov 8(%rsp), %rcx
	mov %rcx, KQ_OFF_ERROR(%rax)
	mov 16(%rsp), %rcx
	mov %rcx, KQ_OFF_GRIP(%rax)
	mov 24(%rsp), %rcx
	mov %rcx, KQ_OFF_GCS(%rax)
	mov 32(%rsp), %rcx
	mov %rcx, KQ_OFF_GRFLAGS(%rax)
	mov 40(%rsp), %rcx
	mov %rcx, G(4)(%rax)
	mov 48(%rsp), %rcx
	mov %rcx, KQ_OFF_GSS(%rax)
	mov %cr2, %rcx
	mov %rcx, KQ_OFF_CR2(%rax)
	xor %ecx, %ecx
	mov %ds, %ecx
	mov %rcx, KQ_OFF_GDS(%rax)
	mov %es, %ecx
	mov %rcx, KQ_OFF_GES(%rax)
	mov %fs, %ecx
	mov %rcx, KQ_OFF_GFS(%rax)
	mov %gs, %ecx
	mov %rcx, KQ_OFF_GGS(%rax)
.Lto_host:
	/* rax = ctx: the host's address space and IDT, its stack, return
	 * from kq_switch */
	mov KQ_OFF_HCR3(%rax), %rcx
	mov %rcx, %cr3
	lidt KQ_OFF_HIDTR(%rax)
	mov KQ_OFF_HRSP(%rax), %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	RET

.Lfrom_cpl0:
	cmpq $2, (%rsp)
	je .Lnote
	cmpq $18, (%rsp)
	je .Lnote
	cmpq $32, (%rsp)
	jae .Lnote
	/* a fault in the monitor: abandon this frame, back to the host */
	ASM_CLAC
	cld
	sub $16, %rsp
	sidt (%rsp)
	mov 2(%rsp), %rsi
	add $16, %rsp
	mov (%rsp), %rcx
	inc %rcx
	mov %rcx, KQ_OFF_MONFAULT(%rsi)
	mov 16(%rsp), %rcx
	mov %rcx, KQ_OFF_MONRIP(%rsi)
	/* whichever GS base was active (before or after the SWAPGS of
	 * kq_switch), the kernel's from now on */
	mov $MSR_GS_BASE, %ecx
	mov KQ_OFF_HGSBASE(%rsi), %rax
	mov %rax, %rdx
	shr $32, %rdx
	wrmsr
	mov %rsi, %rax
	jmp .Lto_host

.Lnote:
	push %rax
	push %rcx
	sub $16, %rsp
	sidt (%rsp)
	mov 2(%rsp), %rax
	add $16, %rsp
	mov 16(%rsp), %rcx
	bts %rcx, KQ_OFF_PENDING(%rax)
	pop %rcx
	pop %rax
	add $16, %rsp
	iretq
SYM_CODE_END(kq_common_entry)
