/*
 * linuxboot.bin: the option ROM that boots -kernel through firmware (-bios
 * with -kernel).  qvm gives it to SeaBIOS as fw_cfg's genroms/linuxboot.bin
 * (pc/firmware.c pads it to 512-byte blocks and fixes the size byte and the
 * checksum); SeaBIOS runs its init vector at POST and lists its PnP
 * header's bootstrap entry vector (BEV) as a boot device, which the
 * bootorder file puts first.
 *
 * The BEV, in real mode: the Linux x86 boot protocol's "loading the rest
 * of the kernel" and "running the kernel" (Documentation/arch/x86/boot.rst)
 * with what qvm prepared in fw_cfg (QEMU's fw_cfg.rst keys):
 *   SETUP_ADDR/SIZE/DATA     the real-mode part with the setup header
 *                            filled in (command line and initrd pointers,
 *                            heap_end_ptr, type_of_loader)
 *   KERNEL_ADDR/SIZE/DATA    the protected-mode part (at 1 MiB)
 *   CMDLINE_ADDR/SIZE/DATA   the command line, NUL included
 *   INITRD_ADDR/SIZE/DATA    the initrd (size 0: none)
 * each DATA item copied by fw_cfg DMA straight to its address (anywhere in
 * RAM: the access structure holds a 64-bit physical address).  Then, with
 * every segment register at the real-mode part's segment and the stack
 * below 0x10000 in it, a far jump to that segment + 0x20, offset 0.
 *
 * Real-mode code: assembled as .code16, linked at 0 (the ROM's segment is
 * wherever SeaBIOS puts it; every reference is relative or to the stack's
 * segment).
 */
	.code16
	.text

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA_HI 0x514
#define FW_CFG_PORT_DMA_LO 0x518
#define FW_CFG_KERNEL_ADDR 0x07
#define FW_CFG_KERNEL_SIZE 0x08
#define FW_CFG_INITRD_ADDR 0x0a
#define FW_CFG_INITRD_SIZE 0x0b
#define FW_CFG_KERNEL_DATA 0x11
#define FW_CFG_INITRD_DATA 0x12
#define FW_CFG_CMDLINE_ADDR 0x13
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_ADDR 0x16
#define FW_CFG_SETUP_SIZE 0x17
#define FW_CFG_SETUP_DATA 0x18
#define DMA_SELECT_READ 0x0a    /* FW_CFG_DMA_SELECT | FW_CFG_DMA_READ */
#define DMA_ERROR 0x01

/* Offsets in the real-mode segment: the DMA access structure at its top,
 * the stack under it, above the heap that ends at 0xfe00 (heap_end_ptr
 * 0xfc00, as qvm sets it). */
#define DMA_DESC 0xfff0
#define STACK_TOP 0xffe0

	.globl _start
_start:
	.byte 0x55, 0xaa        /* option ROM signature */
	.byte 0                 /* size in 512-byte blocks (qvm fills it) */
	lret                    /* offset 3, the init vector: nothing to do */

	.org 0x18
	.word 0                 /* no PCI data structure */
	.word pnp               /* the PnP expansion header */

	.balign 16
pnp:	.ascii "$PnP"
	.byte 1                 /* revision */
	.byte 2                 /* length in 16-byte units */
	.word 0                 /* no next header */
	.byte 0
	.byte 0                 /* checksum (qvm fixes it) */
	.long 0                 /* device identifier */
	.word manufacturer
	.word product
	.byte 0, 0, 0           /* device type code */
	.byte 0                 /* device indicators */
	.word 0                 /* boot connection vector */
	.word 0                 /* disconnect vector */
	.word bev               /* bootstrap entry vector */
	.word 0
	.word 0                 /* static resource information vector */

manufacturer:
	.asciz "qvm"
product:
	.asciz "Linux loader (qvm -kernel)"

/* %ax: an fw_cfg key; returns its first 4 bytes (little-endian) in %eax.
 * Clobbers %dx. */
read32:
	push %cx
	mov $FW_CFG_PORT_SEL, %dx
	out %ax, %dx
	mov $FW_CFG_PORT_DATA, %dx
	mov $4, %cx
1:	in %dx, %al
	ror $8, %eax            /* four bytes in: the first one at the bottom */
	loop 1b
	pop %cx
	ret

/* %ax: a DATA key; %edi: where its bytes go; %ecx: how many (0: none).
 * The access structure (be32 control, be32 length, be64 address) at
 * %ds:DMA_DESC; writing its physical address's low half starts it.
 * Clobbers %eax, %ecx, %edx, %edi. */
dma_read:
	test %ecx, %ecx
	jz 2f
	movzwl %ax, %eax
	shl $16, %eax
	or $DMA_SELECT_READ, %eax
	bswap %eax
	mov %eax, DMA_DESC
	bswap %ecx
	mov %ecx, DMA_DESC + 4
	movl $0, DMA_DESC + 8
	bswap %edi
	mov %edi, DMA_DESC + 12
	xor %eax, %eax
	mov $FW_CFG_PORT_DMA_HI, %dx
	out %eax, %dx
	mov %ds, %ax
	shl $4, %eax
	add $DMA_DESC, %eax
	bswap %eax
	mov $FW_CFG_PORT_DMA_LO, %dx
	out %eax, %dx
1:	mov DMA_DESC, %eax      /* control: 0 when done, the error bit */
	bswap %eax
	test $DMA_ERROR, %eax
	jnz fail
	test %eax, %eax
	jnz 1b
2:	ret

/* %bx: the ADDR key, %si: the SIZE key, %bp: the DATA key */
load_item:
	mov %bx, %ax
	call read32
	mov %eax, %edi
	mov %si, %ax
	call read32
	mov %eax, %ecx
	mov %bp, %ax
	jmp dma_read

/* Called far by the BIOS with interrupts on; never returns. */
bev:
	cli
	cld
	mov $FW_CFG_SETUP_ADDR, %ax
	call read32
	shr $4, %eax            /* the real-mode part's segment */
	mov %ax, %ss
	mov $STACK_TOP, %sp
	mov %ax, %ds
	mov %ax, %es
	mov $FW_CFG_SETUP_ADDR, %bx
	mov $FW_CFG_SETUP_SIZE, %si
	mov $FW_CFG_SETUP_DATA, %bp
	call load_item
	mov $FW_CFG_KERNEL_ADDR, %bx
	mov $FW_CFG_KERNEL_SIZE, %si
	mov $FW_CFG_KERNEL_DATA, %bp
	call load_item
	mov $FW_CFG_CMDLINE_ADDR, %bx
	mov $FW_CFG_CMDLINE_SIZE, %si
	mov $FW_CFG_CMDLINE_DATA, %bp
	call load_item
	mov $FW_CFG_INITRD_ADDR, %bx
	mov $FW_CFG_INITRD_SIZE, %si
	mov $FW_CFG_INITRD_DATA, %bp
	call load_item
	/* boot.rst, "Running the kernel": segments at the real-mode part,
	 * a stack below the heap's end, enter at its segment + 0x20 */
	mov %ds, %ax
	mov %ax, %fs
	mov %ax, %gs
	mov $STACK_TOP, %sp
	add $0x20, %ax
	push %ax
	push $0
	lret

/* A DMA transfer failed: nothing to go back to (the BIOS's stack is
 * gone); stop here. */
fail:
	hlt
	jmp fail
