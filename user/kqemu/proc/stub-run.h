/* The process backend's child: the handler loop (stub-run.c). */
#ifndef QVM_KQEMU_PROC_STUB_RUN_H
#define QVM_KQEMU_PROC_STUB_RUN_H

#include "mailbox.h"

void stub_run_init(struct proc_mailbox *mb);
/* Append ": errno N" (N = -err, a raw system call's result) at dst[i];
 * returns the index after it (at most 16 bytes written, no NUL). */
size_t stub_put_errno(char *dst, size_t i, long err);

#endif
