/* The process backend's child: the handler loop (stub-run.c). */
#ifndef QVM_KQEMU_PROC_STUB_RUN_H
#define QVM_KQEMU_PROC_STUB_RUN_H

#include "mailbox.h"

void stub_run_init(struct proc_mailbox *mb);

#endif
