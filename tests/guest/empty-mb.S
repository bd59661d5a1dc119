/* empty.elf: the smallest multiboot guest.  Its first instruction writes 'S'
 * to COM1, the next ones debug-exit 0. */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003
	.section .multiboot, "a"
	.balign	4
	.long	MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl	_start
_start:
	mov	$0x3f8, %dx
	mov	$'S', %al
	out	%al, %dx
	xor	%al, %al
	out	%al, $0xf4
1:	cli
	hlt
	jmp	1b
