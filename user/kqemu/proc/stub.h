/*
 * The process backend's child (no libc): raw system calls and the entry
 * points of stub-entry.S.
 */
#ifndef QVM_KQEMU_PROC_STUB_H
#define QVM_KQEMU_PROC_STUB_H

#include <stdint.h>

/* all of it in one static image: no GOT (RIP-relative addresses) */
#pragma GCC visibility push(hidden)

long stub_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
void stub_handler_entry(void);
void stub_restorer(void);
void stub_first_entry(void);
void stub_rdtsc_probe(void);
extern char stub_rdtsc_insn[];
void stub_read_sels(uint16_t out[4]);
void stub_load_sels(const uint16_t in[4]);
uint64_t stub_rdfsbase(void);
uint64_t stub_rdgsbase(void);
void stub_wrfsbase(uint64_t v);
void stub_wrgsbase(uint64_t v);

extern char __stub_text_start[], __stub_text_end[];

#pragma GCC visibility pop

#define sc0(nr) stub_syscall6(nr, 0, 0, 0, 0, 0, 0)
#define sc1(nr, a) stub_syscall6(nr, (long)(a), 0, 0, 0, 0, 0)
#define sc2(nr, a, b) stub_syscall6(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define sc3(nr, a, b, c) stub_syscall6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sc4(nr, a, b, c, d) \
	stub_syscall6(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sc6(nr, a, b, c, d, e, f) \
	stub_syscall6(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

#endif
