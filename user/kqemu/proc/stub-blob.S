/* The process backend's child (stub*.c), built by the Makefile, carried
 * inside qvm: proc.c writes it to a memfd and executes that. */
	.section .rodata
	.balign 16
	.globl kqemu_proc_stub_image
kqemu_proc_stub_image:
	.incbin STUB_PATH
	.globl kqemu_proc_stub_image_end
kqemu_proc_stub_image_end:
	.section .note.GNU-stack,"",@progbits
