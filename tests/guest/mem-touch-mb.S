/* mem-touch.elf: touches (reads and writes back) one byte in every 4 KiB
 * page of the RAM the multiboot memory map reports below 4 GiB, in 32-bit
 * protected mode without paging, prints "ready" and halts with interrupts
 * off forever (a benchmark harness measures the VMM's RSS, then kills it). */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003
#define COM1 0x3f8
	.section .multiboot, "a"
	.balign	4
	.long	MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl	_start
_start:
	cli
	cld
	mov	$stack_top, %esp
	mov	%ebx, %ebp			/* multiboot info */
	cmp	$0x2badb002, %eax
	je	1f
	mov	$msg_magic, %esi
	call	puts
	mov	$1, %al
	out	%al, $0xf4
	jmp	halt
1:	xor	%edi, %edi			/* pages touched */
	testl	$0x40, (%ebp)			/* flags: mmap present? */
	jz	no_mmap
	mov	48(%ebp), %esi			/* mmap_addr */
	mov	44(%ebp), %ecx			/* mmap_length */
	lea	(%esi, %ecx), %ecx
	mov	%ecx, mmap_end
next_entry:
	cmp	mmap_end, %esi
	jae	done
	cmpl	$1, 20(%esi)			/* type: available RAM */
	jne	skip
	cmpl	$0, 8(%esi)			/* base >= 4 GiB: unreachable */
	jne	skip
	mov	4(%esi), %eax			/* base (low) */
	mov	12(%esi), %edx			/* length (low) */
	mov	16(%esi), %ecx			/* length (high) */
	add	%eax, %edx
	adc	$0, %ecx
	jz	2f
	mov	$0xfffff000, %edx		/* clamp the end to 4 GiB */
2:	add	$0xfff, %eax
	and	$0xfffff000, %eax
	call	touch_range
skip:
	add	(%esi), %esi
	add	$4, %esi
	jmp	next_entry

no_mmap:
	xor	%eax, %eax			/* 0 .. mem_lower KiB */
	mov	4(%ebp), %edx
	shl	$10, %edx
	call	touch_range
	mov	$0x100000, %eax			/* 1 MiB .. + mem_upper KiB */
	mov	8(%ebp), %edx
	shl	$10, %edx
	add	%eax, %edx
	call	touch_range

done:
	mov	$msg_pages, %esi
	call	puts
	mov	%edi, %eax
	call	putdec
	mov	$msg_ready, %esi
	call	puts
halt:
	cli
	hlt
	jmp	halt

/* touch pages [eax, edx) */
touch_range:
	cmp	%edx, %eax
	jae	1f
	movb	(%eax), %bl
	movb	%bl, (%eax)
	inc	%edi
	add	$0x1000, %eax
	jc	1f
	jmp	touch_range
1:	ret

puts:
	lodsb
	test	%al, %al
	jz	1f
	mov	$COM1, %dx
	out	%al, %dx
	jmp	puts
1:	ret

putdec:						/* eax, clobbers ecx edx ebx */
	mov	$10, %ebx
	xor	%ecx, %ecx
1:	xor	%edx, %edx
	div	%ebx
	push	%edx
	inc	%ecx
	test	%eax, %eax
	jnz	1b
2:	pop	%eax
	add	$'0', %al
	mov	$COM1, %dx
	out	%al, %dx
	loop	2b
	ret

msg_magic:	.asciz	"mem-touch: bad multiboot magic\n"
msg_pages:	.asciz	"mem-touch: pages "
msg_ready:	.asciz	"\nready\n"

	.data
	.balign	4
mmap_end:	.long	0

	.bss
	.balign	16
	.fill	4096, 1, 0
stack_top:
