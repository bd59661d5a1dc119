/* vgabios.bin: a 64 KiB -bios image that does what a system BIOS does for
 * the VGA's option ROM, for tests/display/run: maps the VGA's BARs and ROM
 * BAR (PCI 00:02.0), makes 0xC0000-0xCFFFF writable RAM (i440FX PAM1/2),
 * copies the ROM there through a 4 GiB data segment (big real mode),
 * calls its entry C000:0003 with AX = the device's bus/devfn, then uses
 * its INT 10h: mode 3, cursor off, a line of text by teletype output.
 * Prints "vgabios-ready" on COM1 (or "vgabios-fail ..." when the ROM is
 * not there) and halts.  The harness compares the screendump with QEMU's. */
#define COM1	0x3f8
#define VGA_BDF	0x0010		/* bus 0, device 2, function 0 */
#define FB	0xe0000000
#define MMIO	0xe1000000
#define ROM	0xe2000000

	.section .reset, "ax"
	.code16
	.globl	reset_vector
reset_vector:
	ljmp	$0xf000, $(start - 0xf0000)
	.balign	16, 0xf4

	.section .text16, "ax"
	.code16
#define O(x)	((x) - 0xf0000)

/* CONFIG_ADDRESS for register \reg of the VGA */
.macro	pci_addr reg
	mov	$(0x80000000 | (VGA_BDF << 8) | \reg), %eax
	mov	$0xcf8, %dx
	out	%eax, %dx
	mov	$0xcfc, %dx
.endm

.macro	pci_w32 reg, val
	pci_addr \reg
	mov	$\val, %eax
	out	%eax, %dx
.endm

start:
	cli
	cld
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7000, %sp

	/* every interrupt vector to an IRET until someone installs one */
	xor	%di, %di
	mov	$256, %cx
1:	movw	$O(iret_stub), %es:(%di)
	movw	$0xf000, %es:2(%di)
	add	$4, %di
	loop	1b
	/* an empty BIOS data area */
	mov	$0x400, %di
	mov	$0x100, %cx
	xor	%al, %al
	rep	stosb

	/* the VGA's BARs, its ROM, decoding on */
	pci_w32	0x10, FB
	pci_w32	0x18, MMIO
	pci_w32	0x30, ROM | 1
	pci_w32	0x04, 0x0003
	/* PAM1 and PAM2 (i440FX 0x5a, 0x5b): 0xC0000-0xCFFFF read/write RAM.
	 * The word goes to CONFIG_DATA at byte 2 of the dword (0xcfe);
	 * 0xcf8-0xcfb is CONFIG_ADDRESS, which takes only dword writes. */
	mov	$0x80000058, %eax
	mov	$0xcf8, %dx
	out	%eax, %dx
	mov	$0xcfe, %dx
	mov	$0x3333, %ax
	out	%ax, %dx

	/* big real mode: DS and ES with a 4 GiB limit */
	lgdtl	%cs:O(gdt_desc)
	mov	%cr0, %eax
	or	$1, %al
	mov	%eax, %cr0
	jmp	2f
2:	mov	$8, %bx
	mov	%bx, %ds
	mov	%bx, %es
	and	$0xfe, %al
	mov	%eax, %cr0
	jmp	3f
3:
	/* the ROM: 55 AA, then its size in 512-byte blocks */
	mov	$ROM, %esi
	addr32 movw (%esi), %ax
	cmp	$0xaa55, %ax
	jne	no_rom
	xor	%ecx, %ecx
	addr32 movb 2(%esi), %cl
	shl	$9, %ecx
	mov	$0xc0000, %edi
	addr32 rep movsb
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es

	mov	$VGA_BDF, %ax
	lcall	$0xc000, $3
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7000, %sp

	mov	$0x0003, %ax		/* mode 3 */
	int	$0x10
	mov	$0x01, %ah		/* cursor off */
	mov	$0x2000, %cx
	int	$0x10
	mov	$O(line), %si
4:	mov	%cs:(%si), %al
	test	%al, %al
	jz	5f
	mov	$0x0e, %ah
	mov	$0x0007, %bx
	push	%si
	int	$0x10
	pop	%si
	inc	%si
	jmp	4b
5:	mov	$O(ready), %si
	call	puts
6:	hlt
	jmp	6b

no_rom:
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	$O(fail), %si
	call	puts
	jmp	6b

/* %cs:%si, NUL-terminated, to COM1 */
puts:	mov	%cs:(%si), %al
	test	%al, %al
	jz	1f
	mov	$COM1, %dx
	out	%al, %dx
	inc	%si
	jmp	puts
1:	ret

iret_stub:
	iret

line:	.asciz	"qvm: the VGA BIOS drew this line through INT 10h.\r\nSecond line: 0123456789 ABCDEF"
ready:	.asciz	"vgabios-ready\n"
fail:	.asciz	"vgabios-fail: no option ROM behind the ROM BAR\n"

	.balign	8
gdt:	.quad	0
	.quad	0x00cf93000000ffff	/* data, base 0, 4 GiB, writable */
gdt_desc:
	.word	15
	.long	gdt
