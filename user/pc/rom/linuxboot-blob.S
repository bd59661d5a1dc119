/* linuxboot.bin (linuxboot.S), built by the Makefile, carried inside qvm:
 * pc/firmware.c gives it to the firmware as genroms/linuxboot.bin. */
	.section .rodata
	.balign 16
	.globl pc_linuxboot_rom
pc_linuxboot_rom:
	.incbin ROM_PATH
	.globl pc_linuxboot_rom_end
pc_linuxboot_rom_end:
	.section .note.GNU-stack,"",@progbits
