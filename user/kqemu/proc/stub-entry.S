/*
 * The process backend's child: entry points that C cannot express.
 * Everything here is in .text, inside the range from which the seccomp
 * filter allows system calls (stub.ld: __stub_text_start.._end).
 */
	.text

/* _start: the kernel's stack is outside the hole and about to go; move
 * to ours, hand stub_main the initial stack (argc, argv, envp, auxv). */
	.globl _start
_start:
	mov %rsp, %rdi
	lea stub_stack+16384(%rip), %rsp
	and $-16, %rsp
	call stub_main
	ud2

/* long stub_syscall6(nr, a1, a2, a3, a4, a5, a6) */
	.globl stub_syscall6
stub_syscall6:
	mov %rdi, %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	mov 8(%rsp), %r9
	syscall
	ret

/* The handler of every signal: guest code may have left EFLAGS.AC set
 * (Linux does not clear it on delivery), and the C code must not take
 * #AC; then the C handler, which returns to stub_restorer. */
	.globl stub_handler_entry
stub_handler_entry:
	pushfq
	andq $~0x40000, (%rsp)
	popfq
	jmp stub_on_signal

/* sa_restorer: back to guest code with the (rewritten) signal frame */
	.globl stub_restorer
stub_restorer:
	mov $15, %eax           /* rt_sigreturn */
	syscall
	ud2

/* The first trip into the handler: nothing has run yet, the handler
 * waits for the first request and returns into guest code. */
	.globl stub_first_entry
stub_first_entry:
	ud2
	ud2

/* Does RDTSC fault with PR_TSC_SIGSEGV?  (Hypervisors may ignore
 * CR4.TSD.)  The handler skips the instruction and says so. */
	.globl stub_rdtsc_probe, stub_rdtsc_insn
stub_rdtsc_probe:
stub_rdtsc_insn:
	rdtsc
	ret

/* Selectors the handler reads back: signal delivery leaves DS, ES, FS
 * and GS as guest code left them (64-bit Linux). */
	.globl stub_read_sels
stub_read_sels:                 /* void (uint16_t out[4]): ds es fs gs */
	mov %ds, %ax
	mov %ax, 0(%rdi)
	mov %es, %ax
	mov %ax, 2(%rdi)
	mov %fs, %ax
	mov %ax, 4(%rdi)
	mov %gs, %ax
	mov %ax, 6(%rdi)
	ret

	.globl stub_load_sels
stub_load_sels:                 /* void (const uint16_t in[4]): ds es fs gs */
	mov 0(%rdi), %ax
	mov %ax, %ds
	mov 2(%rdi), %ax
	mov %ax, %es
	mov 4(%rdi), %ax
	mov %ax, %fs
	mov 6(%rdi), %ax
	mov %ax, %gs
	ret

	.globl stub_rdfsbase
stub_rdfsbase:
	rdfsbase %rax
	ret
	.globl stub_rdgsbase
stub_rdgsbase:
	rdgsbase %rax
	ret
	.globl stub_wrfsbase
stub_wrfsbase:
	wrfsbase %rdi
	ret
	.globl stub_wrgsbase
stub_wrgsbase:
	wrgsbase %rdi
	ret

	.section .note.GNU-stack,"",@progbits
