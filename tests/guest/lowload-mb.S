/* lowload.elf: a multiboot kernel linked at 0x8000 whose image runs past
 * 0x10000, over where qvm puts the multiboot information by default
 * (QEMU boots such kernels).  Checks the boot magic, that the information
 * structure (EBX) and its command line lie outside the image, and that a
 * marker at the image's end survived loading; prints "PASS lowload" or
 * "FAIL lowload: <what>" on COM1, then debug-exits 0. */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003
#define MARKER 0x51564d21
	.section .multiboot, "a"
	.balign	4
	.long	MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl	_start
_start:
	mov	$stack_top, %esp       /* multiboot leaves ESP undefined */
	mov	$msg_magic, %esi
	cmp	$0x2badb002, %eax
	jne	fail
	mov	$msg_info, %esi
	mov	%ebx, %edi
	call	outside_image
	jc	fail
	mov	$msg_cmdline, %esi
	testl	$4, (%ebx)            /* flags: cmdline present */
	jz	fail
	mov	16(%ebx), %edi
	call	outside_image
	jc	fail
	mov	$msg_marker, %esi
	cmpl	$MARKER, marker
	jne	fail
	mov	$msg_pass, %esi
	call	puts
	jmp	done
fail:
	push	%esi
	mov	$msg_fail, %esi
	call	puts
	pop	%esi
	call	puts
	mov	$msg_nl, %esi
	call	puts
done:
	xor	%al, %al
	out	%al, $0xf4
1:	cli
	hlt
	jmp	1b

/* CF set if EDI lies inside [_image_start, _image_end) */
outside_image:
	cmp	$_image_start, %edi
	jb	2f
	cmp	$_image_end, %edi
	jae	2f
	stc
	ret
2:	clc
	ret

/* the NUL-terminated string at ESI to COM1 */
puts:
	mov	$0x3f8, %dx
3:	lodsb
	test	%al, %al
	jz	4f
	out	%al, %dx
	jmp	3b
4:	ret

	.section .rodata
msg_pass:	.asciz "PASS lowload\n"
msg_fail:	.asciz "FAIL lowload: "
msg_magic:	.asciz "boot magic"
msg_info:	.asciz "multiboot information inside the image"
msg_cmdline:	.asciz "command line missing or inside the image"
msg_marker:	.asciz "image end overwritten"
msg_nl:		.asciz "\n"

	.data
	.fill	0x8000, 1, 0xaa       /* the image spans 0x9000-0x10000 */
marker:	.long	MARKER

	.bss
	.balign	16
	.skip	1024
stack_top:
