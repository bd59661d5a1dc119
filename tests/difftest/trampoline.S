/*
 * The native half of the differential tester: load the test state from
 * dt_in, jump to the instruction in the code page, and come back through
 * one of the exit stubs (a "jmp *0(%rip)" placed after the instruction and
 * at every branch target) to store the state into dt_out.
 *
 * Nothing between the instruction and the stores may change a register or
 * a flag: the stubs only jump, and dt_exitN only stores an immediate.
 * Offsets follow struct dt_cpu in difftest.h.
 */
	.text

#define REGS 0
#define RSP_OFF 32
#define RIP_OFF 128
#define FLAGS_OFF 136
#define FX_OFF 144
#define YMMH_OFF 656

/* Bits 255:128 of each YMM register, after fxrstor (which keeps them)
 * and after fxsave: only where the host runs AVX (dt_native_avx). */
#define YMMH_LOAD(n) vinsertf128 $1, dt_in+YMMH_OFF+16*n(%rip), %ymm##n, %ymm##n
#define YMMH_STORE(n) vextractf128 $1, %ymm##n, dt_out+YMMH_OFF+16*n(%rip)
#define YMMH_ALL(M) M(0); M(1); M(2); M(3); M(4); M(5); M(6); M(7); \
	M(8); M(9); M(10); M(11); M(12); M(13); M(14); M(15)

	.globl dt_native_enter
	.type dt_native_enter, @function
dt_native_enter:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	sub $8, %rsp
	mov %rsp, dt_host_rsp(%rip)
	stmxcsr dt_host_mxcsr(%rip)
	fnstcw dt_host_fcw(%rip)
	fxrstor64 dt_in+FX_OFF(%rip)
	cmpl $0, dt_native_avx(%rip)
	je 1f
	YMMH_ALL(YMMH_LOAD)
1:
	pushq dt_in+FLAGS_OFF(%rip)
	popfq
	mov dt_in+0(%rip), %rax
	mov dt_in+8(%rip), %rcx
	mov dt_in+16(%rip), %rdx
	mov dt_in+24(%rip), %rbx
	mov dt_in+40(%rip), %rbp
	mov dt_in+48(%rip), %rsi
	mov dt_in+56(%rip), %rdi
	mov dt_in+64(%rip), %r8
	mov dt_in+72(%rip), %r9
	mov dt_in+80(%rip), %r10
	mov dt_in+88(%rip), %r11
	mov dt_in+96(%rip), %r12
	mov dt_in+104(%rip), %r13
	mov dt_in+112(%rip), %r14
	mov dt_in+120(%rip), %r15
	mov dt_in+32(%rip), %rsp
	jmp *dt_entry(%rip)
	.size dt_native_enter, .-dt_native_enter

/* One entry per landing stub: which one was taken gives the next rip. */
#define EXIT(n) \
	.globl dt_exit##n; \
dt_exit##n: \
	movl $n, dt_exit_slot(%rip); \
	jmp dt_exit_common

EXIT(0)
EXIT(1)
EXIT(2)
EXIT(3)

dt_exit_common:
	mov %rsp, dt_out+32(%rip)
	mov dt_host_rsp(%rip), %rsp
	pushfq
	popq dt_out+FLAGS_OFF(%rip)
	mov %rax, dt_out+0(%rip)
	mov %rcx, dt_out+8(%rip)
	mov %rdx, dt_out+16(%rip)
	mov %rbx, dt_out+24(%rip)
	mov %rbp, dt_out+40(%rip)
	mov %rsi, dt_out+48(%rip)
	mov %rdi, dt_out+56(%rip)
	mov %r8, dt_out+64(%rip)
	mov %r9, dt_out+72(%rip)
	mov %r10, dt_out+80(%rip)
	mov %r11, dt_out+88(%rip)
	mov %r12, dt_out+96(%rip)
	mov %r13, dt_out+104(%rip)
	mov %r14, dt_out+112(%rip)
	mov %r15, dt_out+120(%rip)
	fxsave64 dt_out+FX_OFF(%rip)
	cmpl $0, dt_native_avx(%rip)
	je 1f
	YMMH_ALL(YMMH_STORE)
	vzeroupper
1:
	/* back to the host's flags, x87 and SSE control state (the ABI's
	 * callee-saved control bits; DF clear, AC/TF/NT/ID clear) */
	pushq $2
	popfq
	fninit
	fldcw dt_host_fcw(%rip)
	ldmxcsr dt_host_mxcsr(%rip)
	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

/* After a fault (siglongjmp from the signal handler): the same cleanup. */
	.globl dt_native_fixup
	.type dt_native_fixup, @function
dt_native_fixup:
	fninit
	fldcw dt_host_fcw(%rip)
	ldmxcsr dt_host_mxcsr(%rip)
	ret
	.size dt_native_fixup, .-dt_native_fixup

	.bss
	.align 8
	.globl dt_host_rsp, dt_entry, dt_exit_slot
dt_host_rsp: .quad 0
dt_entry: .quad 0
dt_host_mxcsr: .long 0
dt_exit_slot: .long 0
	.globl dt_native_avx
dt_native_avx: .long 0
dt_host_fcw: .word 0

	.section .note.GNU-stack,"",@progbits
