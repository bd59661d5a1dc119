/* -bios ROM start: the reset vector at the end of the 64 KiB image (linked
 * at 0xF0000, the alias below 1 MiB).  Records the CPU state found at reset
 * at RESET_STATE (0x500), enters protected mode, copies .data to RAM and
 * joins start32 (long mode, then c_start and main). */
#include "asm.h"
#define RS	0x500
#define RS_MAGIC 0x52535421

	.section .reset, "ax"
	.code16
	.globl	reset_vector
reset_vector:				/* F000:FFF0 (0xFFFFFFF0) */
	ljmp	$0xf000, $(bios_entry16 - 0xf0000)
	.balign	16, 0xf4

	.section .text16, "ax"
	.code16
bios_entry16:
	/* DS is 0 (base 0) and SS:SP 0:0 at reset: save the state before
	 * anything changes it (EFLAGS lands at 0:FFFC) */
	pushfl
	mov	%eax, RS + 0x08
	mov	%edx, RS + 0x04
	mov	%ds, RS + 0x2a
	mov	%es, RS + 0x2c
	mov	%ss, RS + 0x2e
	mov	%fs, RS + 0x30
	mov	%gs, RS + 0x32
	mov	%cs, RS + 0x28
	popl	RS + 0x14
	mov	%esp, RS + 0x34
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$0x7000, %sp
	mov	%cr0, %eax
	mov	%eax, RS + 0x0c
	mov	%cr4, %eax
	mov	%eax, RS + 0x10
	mov	$MSR_EFER, %ecx
	rdmsr
	mov	%eax, RS + 0x18
	mov	%edx, RS + 0x1c
	mov	$0x1b, %ecx
	rdmsr
	mov	%eax, RS + 0x20
	mov	%edx, RS + 0x24
	movl	$RS_MAGIC, RS

	/* fast A20 on (port 0x92 bit 1), never touching bit 0 (reset) */
	in	$0x92, %al
	cmp	$0xff, %al
	je	1f
	test	$2, %al
	jnz	1f
	or	$2, %al
	and	$0xfe, %al
	out	%al, $0x92
1:
	mov	$0xf000, %ax
	mov	%ax, %ds
	lgdtl	%ds:(boot_gdt_desc - 0xf0000)
	mov	%cr0, %eax
	or	$CR0_PE, %eax
	mov	%eax, %cr0
	ljmpl	$0x08, $bios_entry32

	.code32
bios_entry32:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$0x7000, %esp
	cld
	mov	$__data_lma, %esi
	mov	$__data_start, %edi
	mov	$__data_end, %ecx
	sub	%edi, %ecx
	rep movsb
	jmp	start32

	.balign	8
boot_gdt:				/* accessed bits preset: no writes to ROM */
	.quad	0
	.quad	0x00cf9b000000ffff	/* 0x08 code 32 */
	.quad	0x00cf93000000ffff	/* 0x10 data 32 */
boot_gdt_end:
boot_gdt_desc:
	.word	boot_gdt_end - boot_gdt - 1
	.long	boot_gdt
