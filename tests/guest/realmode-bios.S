/* realmode.bin: a 64 KiB -bios guest that stays in real mode.  From the
 * reset vector it checks the reset state, serial output (plain and
 * rep outsb), segment arithmetic, that the ROM is read-only, the real-mode
 * IVT (software interrupt and #DE), CMOS RAM and the RTC date, then reports
 * through isa-debug-exit (0 = all passed). */
#define COM1	0x3f8
#define V_NUM	0x600		/* checks so far */
#define V_FAIL	0x602		/* failed checks */
#define V_ROOM	0x604		/* TX FIFO credit */
#define V_FLAG	0x606		/* set by the interrupt handlers */
#define V_CR0	0x608		/* CR0 at reset */
#define V_FL	0x60c		/* EFLAGS at reset */
#define V_EDX	0x610		/* EDX at reset */

	.section .reset, "ax"
	.code16
	.globl	reset_vector
reset_vector:
	ljmp	$0xf000, $(start - 0xf0000)
	.balign	16, 0xf4

	.section .text16, "ax"
	.code16
/* all code addressed through CS = 0xF000: offsets are (label - 0xF0000) */
#define O(x)	((x) - 0xf0000)

start:
	pushfl				/* SS:SP = 0:0 at reset: lands at 0:FFFC */
	mov	%edx, V_EDX		/* DS base is 0 at reset */
	mov	%cr0, %eax
	mov	%eax, V_CR0
	popl	V_FL
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$0x7000, %sp
	cli
	cld
	movw	$0, V_NUM
	movw	$0, V_FAIL
	movw	$0, V_ROOM

	/* serial: 115200 8N1, FIFO on */
	mov	$COM1 + 1, %dx
	mov	$0, %al
	out	%al, %dx
	mov	$COM1 + 3, %dx
	mov	$0x80, %al
	out	%al, %dx
	mov	$COM1, %dx
	mov	$1, %al
	out	%al, %dx
	mov	$COM1 + 1, %dx
	mov	$0, %al
	out	%al, %dx
	mov	$COM1 + 3, %dx
	mov	$3, %al
	out	%al, %dx
	mov	$COM1 + 2, %dx
	mov	$0x07, %al
	out	%al, %dx
	mov	$COM1 + 4, %dx
	mov	$0x0b, %al
	out	%al, %dx

	mov	$O(s_hello), %si
	call	puts

	/* 1. CR0 at reset: ET, CD, NW set; PE, PG clear */
	mov	V_CR0, %eax
	cmp	$0x60000010, %eax
	sete	%al
	mov	$O(s_cr0), %si
	call	report

	/* 2. EFLAGS at reset = 0x2 */
	mov	V_FL, %eax
	cmp	$0x2, %eax
	sete	%al
	mov	$O(s_flags), %si
	call	report

	/* 3. segment arithmetic: 1000:0010 and 1001:0000 are one byte */
	mov	$0x1000, %ax
	mov	%ax, %es
	movw	$0x1234, %es:0x10
	mov	$0x1001, %ax
	mov	%ax, %es
	cmpw	$0x1234, %es:0
	sete	%al
	mov	$O(s_seg), %si
	call	report

	/* 4. ROM is read-only: writes to it are dropped */
	mov	$0xf000, %ax
	mov	%ax, %es
	notl	%es:O(rom_const)
	movb	$0, %es:O(rom_const) + 1
	cmpl	$0x12345678, %es:O(rom_const)
	sete	%al
	mov	$O(s_rom), %si
	call	report

	/* 5. software interrupt through the IVT */
	movw	$O(int_handler), 0x30 * 4
	movw	$0xf000, 0x30 * 4 + 2
	movw	$0, V_FLAG
	mov	$0x1111, %bx
	int	$0x30
	cmpw	$0x5a5a, V_FLAG
	sete	%al
	cmp	$0x2222, %bx
	sete	%ah
	and	%ah, %al
	mov	$O(s_int), %si
	call	report

	/* 6. #DE in real mode: IVT vector 0, the handler skips the div */
	movw	$O(de_handler), 0
	movw	$0xf000, 2
	movw	$0, V_FLAG
	xor	%cx, %cx
	mov	$100, %ax
	xor	%dx, %dx
de_insn:
	div	%cx			/* 2 bytes: f7 f1 */
	cmpw	$O(de_insn), V_FLAG
	sete	%al
	mov	$O(s_de), %si
	call	report

	/* 7. string port output: rep outsb from ROM */
	call	tx_drain
	mov	$O(s_outs), %si
	mov	$s_outs_end - s_outs, %cx
	mov	$COM1, %dx
	push	%ds
	push	%cs
	pop	%ds
	rep outsb
	pop	%ds
	movw	$0, V_ROOM
	mov	$1, %al
	mov	$O(s_outs_ok), %si
	call	report

	/* 8. CMOS RAM byte 0x7c: write, read back */
	mov	$0x7c, %al
	out	%al, $0x70
	mov	$0xa5, %al
	out	%al, $0x71
	mov	$0x7c, %al
	out	%al, $0x70
	in	$0x71, %al
	mov	%al, %bl
	mov	$0x7c, %al
	out	%al, $0x70
	mov	$0x5a, %al
	out	%al, $0x71
	mov	$0x7c, %al
	out	%al, $0x70
	in	$0x71, %al
	cmp	$0x5a, %al
	sete	%al
	cmp	$0xa5, %bl
	sete	%ah
	and	%ah, %al
	mov	$O(s_cmos), %si
	call	report

	/* 9. RTC: wait for no update in progress, read the date */
1:	mov	$0x0a, %al
	out	%al, $0x70
	in	$0x71, %al
	test	$0x80, %al
	jnz	1b
	mov	$0x0b, %al
	call	cmos_read
	mov	%al, %bh		/* register B: bit 2 = binary */
	mov	$O(s_date), %si
	call	puts
	mov	$0x32, %al		/* century */
	call	cmos_num
	mov	$0x09, %al		/* year */
	call	cmos_num
	mov	%al, %cl
	mov	$'-', %al
	call	putc
	mov	$0x08, %al		/* month */
	call	cmos_num
	mov	%al, %ch
	mov	$'-', %al
	call	putc
	mov	$0x07, %al		/* day */
	call	cmos_num
	mov	$' ', %al
	call	putc
	mov	$0x04, %al
	call	cmos_num
	mov	$':', %al
	call	putc
	mov	$0x02, %al
	call	cmos_num
	mov	$':', %al
	call	putc
	mov	$0x00, %al
	call	cmos_num
	mov	$'\n', %al
	call	putc
	/* plausible: month 1..12, year (2-digit) <= 99 */
	cmp	$1, %ch
	setae	%al
	cmp	$12, %ch
	setbe	%ah
	and	%ah, %al
	cmp	$99, %cl
	setbe	%ah
	and	%ah, %al
	mov	$O(s_rtc), %si
	call	report

	/* summary: "PASS realmode: N checks, F failed" */
	mov	$O(s_pass), %si
	cmpw	$0, V_FAIL
	je	1f
	mov	$O(s_fail), %si
1:	call	puts
	mov	V_NUM, %ax
	call	putdec
	mov	$O(s_checks), %si
	call	puts
	mov	V_FAIL, %ax
	call	putdec
	mov	$O(s_failed), %si
	call	puts
	call	tx_drain
	mov	V_FAIL, %al
	test	%al, %al
	jz	1f
	mov	$1, %al
1:	out	%al, $0xf4
2:	cli
	hlt
	jmp	2b

int_handler:
	movw	$0x5a5a, V_FLAG
	mov	$0x2222, %bx
	iret

de_handler:			/* fault: the saved IP points at the div */
	push	%bp
	mov	%sp, %bp
	mov	2(%bp), %ax
	mov	%ax, V_FLAG
	addw	$2, 2(%bp)
	pop	%bp
	iret

/* al = CMOS register -> al = value */
cmos_read:
	out	%al, $0x70
	in	$0x71, %al
	ret

/* al = register; prints its two digits, returns the binary value in al.
 * bh = register B (bit 2: binary mode). */
cmos_num:
	call	cmos_read
	test	$4, %bh
	jnz	1f
	mov	%al, %ah		/* BCD -> binary */
	shr	$4, %ah
	and	$0x0f, %al
	aad
1:	push	%ax
	xor	%ah, %ah
	mov	$10, %dl
	div	%dl			/* al = tens, ah = units */
	add	$'0', %al
	add	$'0', %ah
	push	%ax
	call	putc
	pop	%ax
	mov	%ah, %al
	call	putc
	pop	%ax
	ret

/* al = 1 pass / 0 fail, si = description (CS-relative) */
report:
	incw	V_NUM
	test	%al, %al
	jnz	1f
	incw	V_FAIL
	push	%si
	mov	$O(s_not), %si
	call	puts
	pop	%si
1:	push	%si
	mov	$O(s_ok), %si
	call	puts
	mov	V_NUM, %ax
	call	putdec
	mov	$O(s_dash), %si
	call	puts
	pop	%si
	call	puts
	mov	$'\n', %al
	jmp	putc

/* ax: print unsigned decimal */
putdec:
	push	%bx
	push	%cx
	push	%dx
	mov	$10, %bx
	xor	%cx, %cx
1:	xor	%dx, %dx
	div	%bx
	push	%dx
	inc	%cx
	test	%ax, %ax
	jnz	1b
2:	pop	%ax
	add	$'0', %al
	call	putc
	loop	2b
	pop	%dx
	pop	%cx
	pop	%bx
	ret

/* si: NUL-terminated string in the ROM (CS-relative) */
puts:
	mov	%cs:(%si), %al
	test	%al, %al
	jz	1f
	call	putc
	inc	%si
	jmp	puts
1:	ret

/* al: one byte, using the 16-byte TX FIFO credit */
putc:
	push	%dx
	push	%ax
	cmpw	$0, V_ROOM
	jne	2f
	call	tx_drain
	movw	$16, V_ROOM
2:	pop	%ax
	mov	$COM1, %dx
	out	%al, %dx
	decw	V_ROOM
	pop	%dx
	ret

tx_drain:			/* wait until the transmitter FIFO is empty */
	push	%ax
	push	%dx
	mov	$COM1 + 5, %dx
1:	in	%dx, %al
	test	$0x20, %al
	jz	1b
	pop	%dx
	pop	%ax
	ret

	.balign	4
rom_const:
	.long	0x12345678
s_hello:	.asciz	"realmode: hello from the reset vector\n"
s_ok:		.asciz	"ok "
s_not:		.asciz	"not "
s_dash:		.asciz	" - "
s_cr0:		.asciz	"cr0 at reset is 0x60000010"
s_flags:	.asciz	"eflags at reset is 0x2"
s_seg:		.asciz	"segment arithmetic"
s_rom:		.asciz	"rom is read-only"
s_int:		.asciz	"int 0x30 through the ivt"
s_de:		.asciz	"#DE through the ivt"
s_outs:		.ascii	"# rep outsb to the uart\n"
s_outs_end:
s_outs_ok:	.asciz	"rep outsb"
s_cmos:		.asciz	"cmos ram write/read"
s_date:		.asciz	"# rtc: "
s_rtc:		.asciz	"rtc date plausible"
s_pass:		.asciz	"PASS realmode: "
s_fail:		.asciz	"FAIL realmode: "
s_checks:	.asciz	" checks, "
s_failed:	.asciz	" failed\n"
