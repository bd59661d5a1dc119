/* Multiboot v1 header and 32-bit entry.  With -DMB_AOUT the header carries
 * the load addresses (the "a.out kludge", flag bit 16) so that a flat binary
 * of the image can be loaded without ELF parsing. */
#include "asm.h"
#define MB_MAGIC	0x1badb002
#ifdef MB_AOUT
#define MB_FLAGS	0x00010003
#else
#define MB_FLAGS	0x00000003	/* page-align modules, memory info */
#endif

	.section .multiboot, "a"
	.balign	4
mb_header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)
#ifdef MB_AOUT
	.long	mb_header		/* header_addr */
	.long	__image_start		/* load_addr */
	.long	__data_end		/* load_end_addr */
	.long	__stacks_end		/* bss_end_addr */
	.long	_start			/* entry_addr */
#endif

	.section .text32, "ax"
	.code32
	.globl	_start
_start:
	mov	%eax, mb_magic
	mov	%ebx, mb_info_addr
	mov	%esp, entry_esp
	mov	$entry_scratch + 16, %esp	/* no stack is promised */
	pushf
	pop	entry_eflags
	mov	%cr0, %eax
	mov	%eax, entry_cr0
	xor	%eax, %eax
	mov	%cs, %ax
	mov	%eax, entry_cs
	jmp	start32

	.data
	.balign	16
	.globl	mb_magic, mb_info_addr, entry_cr0, entry_eflags, entry_cs, entry_esp
mb_magic:	.long 0
mb_info_addr:	.long 0
entry_cr0:	.long 0
entry_eflags:	.long 0
entry_cs:	.long 0
entry_esp:	.long 0
	.balign	16
entry_scratch:	.fill 16, 1, 0
