/*
 * A whole machine in the state stream (stream.h): guest RAM, the
 * devices, the engine's own state and every vCPU, saved from a paused
 * machine and loaded into a new one built from the same options.
 */
#ifndef QVM_MIGRATION_VMSTATE_H
#define QVM_MIGRATION_VMSTATE_H

#include "cpu.h"
#include "state.h"

struct machine;

/* With the vCPUs paused, on the main thread: write the machine to fd.
 * The disks' in-flight requests complete first (virtio save drains
 * them).  0 with *bytes (may be NULL) written, or -1 with one line in
 * err. */
int vm_save(struct machine *m, int fd, uint64_t *bytes, char *err, size_t err_len);
/* Read a stream from fd into m, whose vCPUs have not run (-incoming).
 * 0, or -1 with one line in err; m is then unusable. */
int vm_load(struct machine *m, int fd, char *err, size_t err_len);

/* cpustate.c: one x86_cpu_state as bytes; get: 0, or -1 when the bytes
 * are not a state (version, sizes, field ranges). */
void cpu_state_put(struct state_buf *b, const struct x86_cpu_state *s);
int cpu_state_get(struct state_buf *b, struct x86_cpu_state *s);

#endif
