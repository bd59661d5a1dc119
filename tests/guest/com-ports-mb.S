/* com-ports.elf: writes "COMn\n" to the transmit register of each of
 * COM1-COM4 (0x3f8, 0x2f8, 0x3e8, 0x2e8), then debug-exits 0.  A port
 * with no UART behind it (-serial none) swallows its line. */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003
	.section .multiboot, "a"
	.balign	4
	.long	MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl	_start
_start:
	mov	$ports, %edi
	mov	$'1', %bl
1:	movzwl	(%edi), %edx
	test	%edx, %edx
	jz	3f
	mov	$'C', %al
	out	%al, %dx
	mov	$'O', %al
	out	%al, %dx
	mov	$'M', %al
	out	%al, %dx
	mov	%bl, %al
	out	%al, %dx
	mov	$'\n', %al
	out	%al, %dx
	inc	%bl
	add	$2, %edi
	jmp	1b
3:	xor	%al, %al
	out	%al, $0xf4
4:	cli
	hlt
	jmp	4b

	.section .rodata
ports:	.word	0x3f8, 0x2f8, 0x3e8, 0x2e8, 0
