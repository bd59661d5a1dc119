/* A multiboot guest for the monitor tests: prints "boot\n" on COM1 on
 * every boot, then halts with interrupts off forever. */
.code32
.globl _start
.align 4
	.long 0x1badb002, 0x3, -(0x1badb002 + 0x3)
_start:
	mov $0x3f8, %dx
	mov $'b', %al
	out %al, %dx
	mov $'o', %al
	out %al, %dx
	out %al, %dx
	mov $'t', %al
	out %al, %dx
	mov $'\n', %al
	out %al, %dx
1:	cli
	hlt
	jmp 1b
