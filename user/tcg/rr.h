/*
 * -accel tcg,thread=single: one vCPU of the machine runs guest code at a
 * time (QEMU's round-robin TCG), each still on its own thread.  The vCPUs
 * take turns in arrival order (a ticket queue), so none can take the
 * turn back while another waits.  See rr.c.
 */
#ifndef QVM_TCG_RR_H
#define QVM_TCG_RR_H

#include <stdbool.h>
#include <stdint.h>

struct tcg_cpu;
struct tcg_rr;

/* How long the holder keeps its turn while others wait. */
#define TCG_RR_SLICE_NS (2 * 1000 * 1000)

/* A turn for the vCPUs of one machine, each holder keeping it for
 * slice_ns while others wait (TCG_RR_SLICE_NS; tests use others). */
struct tcg_rr *tcg_rr_new(long long slice_ns);
void tcg_rr_free(struct tcg_rr *rr);

/* Wait for c's turn.  urgent: c has something to do now (an interrupt
 * woke it), so the holder is asked to yield at once, not at the end of
 * its slice. */
void tcg_rr_acquire(struct tcg_rr *rr, struct tcg_cpu *c, bool urgent);
/* End c's turn: the next in line runs. */
void tcg_rr_release(struct tcg_rr *rr, struct tcg_cpu *c);
/* Whether c, the holder, was asked to give up its turn. */
bool tcg_rr_yield_asked(struct tcg_rr *rr, const struct tcg_cpu *c);
/* c was kicked: if it is waiting, the holder is asked to yield. */
void tcg_rr_kicked(struct tcg_rr *rr, const struct tcg_cpu *c);
/* Turns handed from one vCPU to another so far (info accel). */
uint64_t tcg_rr_handoffs(struct tcg_rr *rr);

#endif
