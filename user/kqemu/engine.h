/*
 * The kqemu engine's insides, shared by its files and the unit tests:
 * the native rule (rule.c), the bookkeeping of what a backend instance
 * has mapped (maps.c), the register state both ways (state.c), the exits
 * (exits.c) and the vCPU (engine.c).
 */
#ifndef QVM_KQEMU_ENGINE_H
#define QVM_KQEMU_ENGINE_H

#include <pthread.h>
#include "kqemu.h"
#include "tcg/tcg.h"

/* ------------------------------------------------------------------ */
/* The native rule (rule.c)                                            */

/* Why a vCPU stays in TCG (KQ_STAY_NONE: it may run natively). */
enum kq_stay {
	KQ_STAY_NONE = 0,
	KQ_STAY_MODE,           /* not long mode with paging */
	KQ_STAY_CPL,            /* CPL 0-2: the guest kernel */
	KQ_STAY_CODE32,         /* compatibility-mode (32-bit) user code */
	KQ_STAY_FPU,            /* CR0.TS or EM set, or CR4.OSFXSR clear */
	KQ_STAY_SEGMENTS,       /* selectors the host would not run as they are */
	KQ_STAY_IF,             /* RFLAGS.IF = 0 */
	KQ_STAY_TF,             /* RFLAGS.TF: single-step */
	KQ_STAY_SHADOW,         /* STI / MOV SS interrupt shadow */
	KQ_STAY_EVENT,          /* an interrupt, NMI, INIT or SIPI pending */
	KQ_STAY_DR7,            /* hardware breakpoints enabled */
	KQ_STAY_HOLE,           /* the guest maps pages in the backend's hole */
	KQ_STAY_TSC,            /* a TSC ahead of the host's, or CR4.TSD, and a
				 * backend that cannot trap RDTSC */
	KQ_STAY_AFTER_EXIT,     /* finishing an exit's instruction in TCG */
	KQ_STAY_NR
};
const char *kq_stay_name(enum kq_stay why);

/* The rule on the CPU state alone (no memory, no LAPIC). */
enum kq_stay kq_rule_cpu(const struct tcg_cpu *c);
/* Does the 4-level table at cr3 map anything in [start, end)?  Looks as
 * deep as the page directory: a present PML4, PDPT or PD entry covering
 * the range counts (a 1 GiB or 2 MiB page too).  read(opaque, pa) gives
 * the 8-byte entry at guest-physical pa (0: not readable, not present). */
bool kq_hole_mapped(uint64_t cr3, uint64_t start, uint64_t end,
		    uint64_t (*read)(void *opaque, uint64_t pa), void *opaque);

/* ------------------------------------------------------------------ */
/* What a backend instance has mapped (maps.c)                          */

/* Grows by doubling as pages are mapped, from KQ_MAPS_MIN_SLOTS; at most
 * KQ_MAPS_MAX entries, then the engine drops everything (flush_all).  The
 * bound keeps the process backend's child under the host's default
 * vm.max_map_count (65530): guest pages rarely lie next to each other in
 * the RAM file, so each mapping may be a VMA of its own. */
#define KQ_MAPS_MIN_SLOTS 1024          /* powers of two */
#define KQ_MAPS_MAX_SLOTS 65536
#define KQ_MAPS_MAX (KQ_MAPS_MAX_SLOTS / 2)
#define KQ_LARGE_FILTER_BITS 4096

struct kq_map_entry {
	uint64_t lin;           /* linear page; 0 with !used */
	uint64_t phys;          /* guest-physical page */
	uint32_t prot;          /* KQEMU_PROT_* */
	bool used;
	bool large;             /* from a 2 MiB / 1 GiB guest page */
	uint8_t shift;          /* log2 of the guest page's size */
};

/* All zero is an empty table. */
struct kq_maps {
	struct kq_map_entry *e; /* open addressing, linear probe; NULL: empty */
	unsigned slots;         /* a power of two, at least twice n */
	unsigned n;
	unsigned nr_large;      /* an INVLPG may cover more than its page */
	unsigned nr_huge;       /* of them, pages above 2 MiB */
	/* 2 MiB regions that may hold entries of 2 MiB pages (hashed) */
	uint64_t large_filter[KQ_LARGE_FILTER_BITS / 64];
};

/* Empty it, its memory freed. */
void kq_maps_clear(struct kq_maps *t);
struct kq_map_entry *kq_maps_find(struct kq_maps *t, uint64_t lin);
/* Add or replace lin's entry, of a guest page of 1 << shift bytes: NULL
 * when the table is full (KQ_MAPS_MAX entries, or no memory to grow). */
struct kq_map_entry *kq_maps_set(struct kq_maps *t, uint64_t lin, uint64_t phys, uint32_t prot,
				 unsigned shift);
/* Drop lin's entry: whether there was one. */
bool kq_maps_remove(struct kq_maps *t, uint64_t lin);
/* INVLPG of lin: drop the entries of the guest page holding lin (all of
 * it for a 2 MiB page), their linear pages into gone[]; how many, or -1
 * (nothing dropped) when a guest page above 2 MiB is mapped (the caller
 * drops everything). */
#define KQ_INVALIDATE_MAX 512
int kq_maps_invalidate(struct kq_maps *t, uint64_t lin, uint64_t gone[KQ_INVALIDATE_MAX]);
/* Call fn for each entry of phys mapped writable. */
void kq_maps_each_writable(struct kq_maps *t, uint64_t phys,
			   void (*fn)(struct kq_map_entry *e, void *opaque), void *opaque);

/* ------------------------------------------------------------------ */
/* The engine and its vCPUs (engine.c, exits.c, state.c)               */

#define KQ_BLOCKS_AFTER_EXIT 64
/* the fault-around window (exits.c), pages, a power of two */
#define KQ_AROUND_PAGES 64

struct kq_stats {
	uint64_t entries;               /* native runs */
	uint64_t exits[KQEMU_EXIT_NR];  /* by enum kqemu_exit_class */
	uint64_t stay[KQ_STAY_NR];      /* looks that kept the vCPU in TCG */
	uint64_t native_ns, tcg_ns;     /* wall time in each */
	uint64_t maps, unmaps, flushes; /* requests sent to the backend */
	uint64_t pf_delivered;          /* PAGE exits that were guest #PFs */
	uint64_t not_ram;               /* PAGE exits on MMIO, ROM, LAPIC page */
	uint64_t code_writes;           /* write faults on pages holding code */
	uint64_t code_unmaps;           /* writable mappings dropped for code */
	uint64_t tsc_catchups;          /* TSC offsets below 0 dropped (no TSC trap) */
	uint64_t prefaults;             /* pages mapped around a PAGE exit's */
	uint64_t handed_native;         /* insns TCG handed back (#UD, CPUID, XGETBV) */
	uint64_t ctx_switches;          /* entries in another context than the last */
	uint64_t ctx_evictions;         /* contexts flushed for another address space */
	uint64_t ctx_retags;            /* contexts found by their root under another PCID */
	uint64_t ctx_flushes;           /* contexts flushed for the guest (CR3, INVPCID) */
	uint64_t ctx_kept;              /* CR3 writes that kept the mappings (bit 63) */
	uint64_t full_flushes;          /* contexts flushed for a full table or list */
	uint64_t large_flushes;         /* contexts flushed for an INVLPG in a large page */
	uint64_t all_flushes;           /* flushes of every context (CR0, CR4, INVPCID 2) */
	uint64_t premaps;               /* pages of delivered #PFs mapped at the next entry */
	uint64_t revalidations;         /* contexts walked again after a guest flush */
	uint64_t reval_kept, reval_dropped;     /* their mappings */
	/* native runs that ended in a system call, by their length
	 * (hand-off included): < 50 us, < 200 us, longer */
	uint64_t syscall_runs[3];
};

struct kq_engine {
	const struct kqemu_backend_ops *ops;
	struct kqemu_ram ram;
	struct machine *m;
	/* After an exit that needs TCG (SOFTMMU, SYSCALL, an access to
	 * something not RAM) or delivers an exception: CPL 3 blocks that
	 * TCG runs (after the one instruction) before native execution
	 * again, counted afresh at each kernel entry (tcg_kqemu_leave). */
	unsigned tcg_blocks_after_exit;
	unsigned around_pages;          /* KQ_AROUND_PAGES; QVM_KQEMU_AROUND */
	bool broken;                    /* an ERROR: no vCPU uses it any more */
	pthread_mutex_t lock;           /* broken, message printing */
	struct kqemu_backend_info info; /* from the first instance opened */
	bool have_info;
};

/* Guest-physical pages a context maps writable, as a filter (a superset,
 * cleared with the context): a code mark looks at the contexts it hits. */
#define KQ_WFILTER_BITS 65536

/* One set of mappings the backend keeps (kqemu.h, KQEMU_INFO_CONTEXTS):
 * the translations of one guest address space (page-table root) under
 * one guest PCID, as a tagged TLB holds them (SDM Vol. 3A, 4.10.1).
 * Without contexts in the backend there is one. */
struct kq_ctx {
	struct kq_maps maps;            /* what the backend has, or will have
					 * after the pending changes */
	bool tagged;                    /* holds pcid's translations from root */
	uint64_t pcid;
	uint64_t root;                  /* CR3's table address (bits 51:12) */
	uint64_t last_entry;            /* kq_vcpu.entry_stamp at its last run */
	bool flush_all;                 /* pending for its next entry */
	/* the guest flushed its PCID: each mapping is walked again at its
	 * next entry and kept only when the walk gives it again */
	bool revalidate;
	unsigned nr_unmap, nr_map;
	uint64_t unmap[KQEMU_MAX_UNMAPS];
	uint64_t map_lin[KQEMU_MAX_MAPS];       /* pages whose entry to send */
	uint64_t wfilter[KQ_WFILTER_BITS / 64];
};

struct kq_vcpu {
	struct kq_engine *e;
	struct tcg_cpu *c;
	void *b;                        /* the backend instance, or NULL */
	void *b_failed;                 /* the instance after an ERROR, closed
					 * with the vCPU */
	/* Mapping state: the vCPU thread, the TLB-flush hook (same thread)
	 * and the code-marking hook (any thread) under lock. */
	pthread_mutex_t lock;
	unsigned nr_ctx;                /* KQEMU_CONTEXTS, or 1 */
	unsigned cur;                   /* the context of the latest entry */
	uint64_t entry_stamp;
	struct kq_ctx ctx[KQEMU_CONTEXTS];
	bool in_native;                 /* between taking the requests and the exit */
	/* a #PF delivered for this user page in context premap_ctx: mapped
	 * at the next entry there when the guest's handler made it present */
	bool premap;
	unsigned premap_ctx;
	uint64_t premap_lin;
	/* pages marked as code while mapped writable: invalidated in TCG
	 * after the next native run (writes may have landed meanwhile) */
	unsigned nr_code;
	bool code_all;
	uint64_t code[KQEMU_MAX_UNMAPS];
	struct kq_stats st;
	struct kqemu_run *run;
	/* the XSAVE area of a run's state on its way back into TCG */
	uint8_t xsave[KQEMU_XSAVE_MAX] __attribute__((aligned(64)));
};

/* A vCPU of engine e over TCG's c, hooks installed; NULL without memory.
 * kq_vcpu_open (on the vCPU's thread) opens the backend instance. */
struct kq_vcpu *kq_vcpu_new(struct kq_engine *e, struct tcg_cpu *c);
int kq_vcpu_open(struct kq_vcpu *kv);
void kq_vcpu_free(struct kq_vcpu *kv);
/* The rule, all of it: the CPU state, the LAPIC, the hole. */
enum kq_stay kq_rule(struct kq_vcpu *kv);
/* One native run and its exit: an enum vcpu_exit.  TCG must run next
 * when it leaves c->kqemu_one set. */
int kq_native(struct kq_vcpu *kv);
/* The vCPU loop's body: one native run when the rule holds, else
 * tcg_run(opaque) (TCG until it leaves at CPL 3); an enum vcpu_exit. */
int kq_run(struct kq_vcpu *kv, int (*tcg_run)(void *opaque), void *opaque);
/* The backend stops being used (an ERROR or an exec failure): one line. */
void kq_backend_failed(struct kq_vcpu *kv, const char *why);

/* state.c: the TCG state into run->state and back. */
void kq_state_out(struct kq_vcpu *kv, struct kqemu_cpu_state *s);
void kq_state_in(struct kq_vcpu *kv, const struct kqemu_cpu_state *s);

/* XCR0 of the host's processes: the components user code runs with. */
uint64_t kq_host_xcr0(void);

/* contexts.c (lock held for all): the guest's TLB flushes (enum
 * tcg_flush) applied to the contexts; a context's flush; the context of
 * the current PCID and page-table root (CR3 & KQ_CR3_ROOT), tagged: the
 * one tagged with both, else the root's under another PCID (walked
 * again), else an untagged or the least recently run one, flushed; the
 * code mark's write stripping. */
#define KQ_CR3_ROOT 0x000ffffffffff000ULL
void kq_ctx_flush(struct kq_vcpu *kv, struct kq_ctx *x);
void kq_ctx_tlb_flushed(struct kq_vcpu *kv, unsigned what, uint64_t pcid, uint64_t lin);
struct kq_ctx *kq_ctx_enter(struct kq_vcpu *kv, uint64_t pcid, uint64_t root);
/* Queue an unmap of lin in x; a full list becomes a flush of x. */
void kq_ctx_queue_unmap(struct kq_vcpu *kv, struct kq_ctx *x, uint64_t lin);
void kq_ctx_note_writable(struct kq_ctx *x, uint64_t phys);
/* Drop the write permission of every mapping of phys in every context;
 * whether the current context changed while in native execution. */
bool kq_ctx_strip_writes(struct kq_vcpu *kv, uint64_t phys);
static inline struct kq_ctx *kq_cur(struct kq_vcpu *kv)
{
	return &kv->ctx[kv->cur];
}

/* exits.c: walk x's mappings again in the current tables, unmapping
 * those the walk does not give again (all of x when too many); lock held. */
void kq_ctx_revalidate(struct kq_vcpu *kv, struct kq_ctx *x);

/* exits.c: map the page of the #PF delivered last (kv->premap), and
 * its neighbours, when the guest's tables give it now; lock held. */
void kq_premap(struct kq_vcpu *kv);

/* exits.c: handle run's exit; an enum vcpu_exit. */
int kq_handle_exit(struct kq_vcpu *kv, struct kqemu_run *run);
/* The mapping requests for the next entry, into run (lock held). */
void kq_fill_requests(struct kq_vcpu *kv, struct kqemu_run *run);

/* backends.c: the backends built in, best first; the first available,
 * or NULL with every reason in why. */
const struct kqemu_backend_ops *kq_backend_pick(char *why, size_t why_len);

static inline void kq_count(uint64_t *n, uint64_t by)
{
	__atomic_store_n(n, *n + by, __ATOMIC_RELAXED);    /* one writer */
}

#endif
