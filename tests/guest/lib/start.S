/* Common 32-bit -> 64-bit start code, IDT stubs, user-mode entry/exit and
 * the AP real-mode trampoline.  Used by the multiboot and -bios images. */
#include "asm.h"

	.section .text32, "ax"
	.code32
/* start32: entered in flat 32-bit protected mode, paging off, any stack.
 * Zeroes .bss, builds identity page tables for 0-4 GiB (2 MiB pages,
 * user-accessible, the top GiB uncached), enters long mode, calls c_start. */
	.globl start32
start32:
	cli
	cld
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	shr	$2, %ecx
	xor	%eax, %eax
	rep stosl

	mov	$pdpt + 0x7, %eax
	mov	%eax, pml4
	mov	$pd + 0x7, %eax
	mov	$pdpt, %edi
	mov	$4, %ecx
1:	mov	%eax, (%edi)
	add	$0x1000, %eax
	add	$8, %edi
	loop	1b

	mov	$pd, %edi
	mov	$0x87, %eax		/* P W U PS */
	mov	$1536, %ecx
1:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	1b
	or	$0x18, %eax		/* PWT PCD for 3-4 GiB (APIC, ROM) */
	mov	$512, %ecx
1:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	1b


	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	and	$~(CR0_CD | CR0_NW), %eax
	or	$(CR0_PG | CR0_WP | CR0_NE | CR0_PE), %eax
	mov	%eax, %cr0
	lgdt	gdt_desc
	ljmp	$SEL_KCODE, $start64

	.code64
start64:
	mov	$SEL_KDATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$kstacks + KSTACK_SIZE, %esp
	call	c_start
1:	cli
	hlt
	jmp	1b

/* ---- interrupt entry: one 16-byte stub per vector ---- */
	.text
	.balign	16
	.globl	isr_stubs
isr_stubs:
	.set	vec, 0
	.rept	256
	.balign	16
	.if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	.set	vec, vec + 1
	.endr

isr_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	isr_dispatch
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp
	iretq

/* uint64_t enter_user(fn, arg, rflags, user_stack_top) */
	.globl	enter_user
enter_user:
	pushfq
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %gs:CPU_KCTX
	lea	user_exit_stub(%rip), %rax
	sub	$8, %rcx
	mov	%rax, (%rcx)
	push	$SEL_UDATA
	push	%rcx
	push	%rdx
	push	$SEL_UCODE
	push	%rdi
	mov	%rsi, %rdi
	xor	%eax, %eax
	xor	%ebx, %ebx
	xor	%ebp, %ebp
	iretq

	.globl	user_exit_stub
user_exit_stub:				/* CPL3: fn returned */
	mov	%rax, %rdi		/* return value */
	.globl	user_exit_ud2
user_exit_ud2:
	ud2				/* isr_dispatch: back to run_user's caller */

/* void user_return(uint64_t value): back to enter_user's caller (CPL0) */
	.globl	user_return
user_return:
	mov	%gs:CPU_KCTX, %rsp
	mov	%rdi, %rax
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	popfq
	ret

/* ---- AP start-up trampoline, copied to TRAMP_BASE ---- */
#define T(x)	((x) - tramp_start + TRAMP_BASE)
	.section .rodata
	.globl	tramp_start, tramp_end, tramp_count, tramp_gdtr, tramp_cr3
	.globl	tramp_stack_base, tramp_entry
	.balign	16
	.code16
tramp_start:
	cli
	cld
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$1, %ax
	lock xadd %ax, T(tramp_count)
	movzwl	%ax, %esi
	inc	%esi			/* CPU index: 1, 2, ... */
	lgdtl	T(tramp_gdtr)
	mov	%cr0, %eax
	or	$CR0_PE, %eax
	mov	%eax, %cr0
	ljmpl	$SEL_KCODE32, $T(tramp32)
	.code32
tramp32:
	mov	$SEL_KDATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	T(tramp_cr3), %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	and	$~(CR0_CD | CR0_NW), %eax
	or	$(CR0_PG | CR0_WP | CR0_NE | CR0_PE), %eax
	mov	%eax, %cr0
	ljmp	$SEL_KCODE, $T(tramp64)
	.code64
tramp64:
	cmp	$MAX_CPUS, %esi
	jae	2f
	mov	%esi, %eax
	inc	%eax
	imul	$KSTACK_SIZE, %rax
	add	T(tramp_stack_base), %rax
	mov	%rax, %rsp
	mov	%esi, %edi
	mov	T(tramp_entry), %rax
	call	*%rax
2:	cli
	hlt
	jmp	2b
	.balign	8
tramp_count:	.word 0
tramp_gdtr:	.word 0
		.long 0
	.balign	8
tramp_cr3:	.quad 0
tramp_stack_base: .quad 0
tramp_entry:	.quad 0
tramp_end:

/* ---- GDT (shared by all CPUs; TSS descriptors filled in by cpu_setup) ---- */
	.data
	.balign	16
	.globl	gdt, gdt_desc
gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x08 kernel code 64 */
	.quad	0x00cf93000000ffff	/* 0x10 kernel data */
	.quad	0x00cff3000000ffff	/* 0x18 user data */
	.quad	0x00affb000000ffff	/* 0x20 user code 64 */
	.quad	0x00cf9b000000ffff	/* 0x28 kernel code 32 */
	.quad	0
	.quad	0
	.fill	2 * MAX_CPUS, 8, 0	/* 0x40 TSS descriptors */
gdt_end:
	.balign	8
	.word	0, 0, 0
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt

/* ---- page tables, stacks ---- */
	.section .bss
	.balign	4096
	.globl	pml4, pdpt, pd
pml4:	.fill	4096, 1, 0
pdpt:	.fill	4096, 1, 0
pd:	.fill	4 * 4096, 1, 0

	.section .stacks, "aw", @nobits
	.balign	4096
	.globl	kstacks, istacks, ustacks
kstacks:	.fill	MAX_CPUS * KSTACK_SIZE, 1, 0
istacks:	.fill	MAX_CPUS * ISTACK_SIZE, 1, 0
ustacks:	.fill	MAX_CPUS * USTACK_SIZE, 1, 0
