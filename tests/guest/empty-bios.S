/* empty.bin: the smallest -bios guest.  The first instruction at the reset
 * vector writes 'S' to COM1 (so a harness can time the first guest
 * instruction), then debug-exit 0.  Everything fits in the 16 reset bytes. */
	.section .reset, "ax"
	.code16
	.globl	reset_vector
reset_vector:
	mov	$0x3f8, %dx
	mov	$'S', %al
	out	%al, %dx
	xor	%al, %al
	out	%al, $0xf4
1:	cli
	hlt
	jmp	1b
	.balign	16, 0xf4
