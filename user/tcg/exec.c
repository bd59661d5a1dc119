/*
 * The run loop: guest code is decoded once into blocks (straight-line runs
 * of struct insn within one page), cached per vCPU by guest-physical
 * address and code size, and run by calling each instruction's handler.
 * Between blocks the loop takes kicks and interrupts; exceptions arrive
 * here by longjmp from tcg_raise() and are delivered through the IDT.
 */
#include <stdlib.h>
#include "tcg.h"
#include "accel.h"
#include "hw/apic.h"

#define BLOCK_MAX_INSNS 64
#define BLOCK_HASH_BITS 16     /* as many buckets as cached blocks */
#define BLOCK_HASH_SIZE (1u << BLOCK_HASH_BITS)
#define BLOCK_CACHE_MAX 65536   /* blocks per vCPU before a full flush */

/* A link to the block that ran after this one, valid while the epoch
 * holds and the code at lin is still decoded the same (bits, CPL). */
struct block_link {
	uint64_t lin;
	struct tcg_block *to;
	uint32_t epoch;
	uint8_t bits, cpl;
};

struct tcg_block {
	uint64_t phys;          /* guest-physical address of the first byte */
	uint32_t gen;           /* the code page's generation when decoded */
	uint8_t code_bits;
	bool cached;            /* in the hash table (not the scratch block) */
	uint16_t n;
	struct tcg_block *next; /* hash chain */
	struct block_link succ[2]; /* fall-through and taken, most recent first */
	struct insn insns[];
};

struct block_cache {
	struct tcg_block *bucket[BLOCK_HASH_SIZE];
	unsigned count;
	/* a block decoded without caching: page-crossing, MMIO */
	struct tcg_block *scratch;
};

static inline struct block_cache *cache_of(struct tcg_cpu *c)
{
	return (struct block_cache *)c->blocks;
}

static inline unsigned block_hash(uint64_t phys, int bits)
{
	uint64_t h = (phys ^ (uint64_t)bits << 40) * 0x9e3779b97f4a7c15ULL;
	return h >> (64 - BLOCK_HASH_BITS);
}

static void cache_flush(struct tcg_cpu *c, struct block_cache *bc)
{
	c->chain_epoch++;
	for (unsigned h = 0; h < BLOCK_HASH_SIZE; h++) {
		struct tcg_block *b = bc->bucket[h], *next;
		for (; b; b = next) {
			next = b->next;
			free(b);
		}
		bc->bucket[h] = NULL;
	}
	bc->count = 0;
}

/* ------------------------------------------------------------------ */
/* Exceptions                                                          */

_Noreturn void tcg_raise(struct tcg_cpu *c, int vec, int errcode)
{
	c->exc_vec = vec;
	c->exc_err = errcode;
	longjmp(c->jmp, 1);
}

_Noreturn void tcg_raise_pf(struct tcg_cpu *c, uint64_t lin, int errcode)
{
	c->s.cr2 = lin;
	tcg_raise(c, EXC_PF, errcode);
}

static void op_gp_too_long(struct tcg_cpu *c, const struct insn *i)
{
	(void)i;
	tcg_raise(c, EXC_GP, 0);        /* more than 15 bytes (SDM Vol. 2, 2.3.11) */
}

/* ------------------------------------------------------------------ */
/* Decoding blocks                                                     */

static inline uint64_t pc_linear(const struct tcg_cpu *c)
{
	uint64_t lin = c->s.seg[S_CS].base + c->s.rip;
	return tcg_code64(c) ? lin : lin & 0xffffffffULL;
}

/* Decode the instruction at lin that does not fit in the rest of its
 * page (or lies in MMIO): gather up to 15 bytes across the boundary. */
static void decode_gathered(struct tcg_cpu *c, uint64_t lin, const uint8_t *host,
			    uint64_t phys, struct insn *i, int bits)
{
	uint8_t buf[16];
	unsigned first = 4096 - (lin & 0xfff);
	if (first > 15)
		first = 15;
	if (host)
		memcpy(buf, host, first);
	else
		tcg_fetch_bytes_io(c, phys, buf, first);
	unsigned have = first;
	int n = tcg_decode(i, buf, have, bits);
	if (n == 0 && have < 15) {
		/* the instruction continues on the next page: fetching it may
		 * fault, which is right since the instruction needs it */
		uint64_t phys2;
		uint64_t lin2 = (lin + first) & (tcg_code64(c) ? ~0ULL : 0xffffffffULL);
		const uint8_t *h2 = tcg_fetch_page(c, lin2, &phys2);
		unsigned more = 15 - first;
		if (h2)
			memcpy(buf + first, h2, more);
		else
			tcg_fetch_bytes_io(c, phys2, buf + first, more);
		have = 15;
		n = tcg_decode(i, buf, have, bits);
	}
	if (n <= 0) {
		memset(i, 0, sizeof(*i));
		i->fn = op_gp_too_long;
		i->len = 15;
		i->ends_block = true;
	}
}

static struct tcg_block *block_alloc(unsigned n)
{
	struct tcg_block *b = malloc(sizeof(*b) + n * sizeof(struct insn));
	if (!b)
		qvm_die("tcg: out of memory for code blocks");
	return b;
}

static struct tcg_block *scratch_block(struct tcg_cpu *c)
{
	struct block_cache *bc = cache_of(c);
	if (!bc->scratch)
		bc->scratch = block_alloc(1);
	bc->scratch->n = 1;
	bc->scratch->cached = false;
	return bc->scratch;
}

static struct tcg_block *decode_block(struct tcg_cpu *c, uint64_t lin, const uint8_t *host,
				      uint64_t phys, int bits)
{
	struct insn insns[BLOCK_MAX_INSNS];
	unsigned avail = 4096 - (lin & 0xfff), off = 0, n = 0;
	tcg_mark_code_page(phys);
	uint32_t gen = tcg_code_page_gen(phys);
	while (n < BLOCK_MAX_INSNS && off < avail) {
		struct insn *i = &insns[n];
		int len = tcg_decode(i, host + off, avail - off, bits);
		if (len == 0)
			break;          /* crosses the page: its own block */
		if (len < 0) {
			memset(i, 0, sizeof(*i));
			i->fn = op_gp_too_long;
			i->len = 15;
			i->ends_block = true;
			len = 15;
		} else {
			tcg_specialise(i);
		}
		off += len;
		n++;
		if (i->ends_block)
			break;
	}
	if (n == 0) {
		struct tcg_block *b = scratch_block(c);
		decode_gathered(c, lin, host, phys, &b->insns[0], bits);
		b->phys = phys;
		b->code_bits = bits;
		return b;
	}
	struct tcg_block *b = block_alloc(n);
	memcpy(b->insns, insns, n * sizeof(struct insn));
	b->n = n;
	b->phys = phys;
	b->gen = gen;
	b->code_bits = bits;
	b->cached = true;
	memset(b->succ, 0, sizeof(b->succ));
	struct block_cache *bc = cache_of(c);
	if (bc->count >= BLOCK_CACHE_MAX)
		cache_flush(c, bc);
	unsigned h = block_hash(phys, bits);
	b->next = bc->bucket[h];
	bc->bucket[h] = b;
	bc->count++;
	return b;
}

/* The block that followed the last one the previous times, if the link
 * still holds: this skips the code fetch translation and the hash lookup
 * (the two were a third of the run time booting Linux). */
static struct tcg_block *follow_link(struct tcg_cpu *c, uint64_t lin, int bits)
{
	struct tcg_block *p = c->last_block;
	if (!p || c->last_epoch != c->chain_epoch)
		return NULL;
	for (int k = 0; k < 2; k++) {
		struct block_link *l = &p->succ[k];
		if (l->to && l->lin == lin && l->epoch == c->chain_epoch && l->bits == bits &&
		    l->cpl == tcg_cpl(c) && l->to->gen == tcg_code_page_gen(l->to->phys))
			return l->to;
	}
	return NULL;
}

static void add_link(struct tcg_cpu *c, struct tcg_block *to, uint64_t lin, int bits)
{
	struct tcg_block *p = c->last_block;
	if (!p || c->last_epoch != c->chain_epoch || !to->cached)
		return;
	p->succ[1] = p->succ[0];
	p->succ[0] = (struct block_link){ lin, to, c->chain_epoch, bits, tcg_cpl(c) };
}

static struct tcg_block *lookup_block(struct tcg_cpu *c, uint64_t lin, int bits);

/* The block at the current CS:rIP: linked from the last one, cached, or
 * decoded now. */
static struct tcg_block *find_block(struct tcg_cpu *c)
{
	int bits = tcg_code_bits(c);
	uint64_t lin = pc_linear(c);
	if (!tcg_code64(c) && c->s.rip > c->s.seg[S_CS].limit)
		tcg_raise(c, EXC_GP, 0);
	struct tcg_block *b = follow_link(c, lin, bits);
	if (!b) {
		uint32_t epoch = c->chain_epoch;
		b = lookup_block(c, lin, bits);
		if (epoch == c->chain_epoch)    /* nothing freed on the way */
			add_link(c, b, lin, bits);
	}
	c->last_block = b->cached ? b : NULL;
	c->last_epoch = c->chain_epoch;
	return b;
}

static struct tcg_block *lookup_block(struct tcg_cpu *c, uint64_t lin, int bits)
{
	uint64_t phys;
	const uint8_t *host = tcg_fetch_page(c, lin, &phys);
	if (!host) {
		struct tcg_block *b = scratch_block(c);
		decode_gathered(c, lin, NULL, phys, &b->insns[0], bits);
		return b;
	}
	struct block_cache *bc = cache_of(c);
	struct tcg_block **link = &bc->bucket[block_hash(phys, bits)];
	struct tcg_block **head = link;
	for (struct tcg_block *b = *link; b; link = &b->next, b = b->next) {
		if (b->phys != phys || b->code_bits != bits)
			continue;
		*link = b->next;
		if (b->gen == tcg_code_page_gen(phys)) {
			b->next = *head;        /* move to the front: loops hit at once */
			*head = b;
			return b;
		}
		/* stale: the page was written */
		c->chain_epoch++;
		free(b);
		bc->count--;
		break;
	}
	return decode_block(c, lin, host, phys, bits);
}

/* ------------------------------------------------------------------ */
/* Running                                                             */

static inline uint64_t rip_mask(const struct tcg_cpu *c)
{
	if (tcg_code64(c))
		return ~0ULL;
	return c->s.seg[S_CS].db ? 0xffffffffULL : 0xffff;
}

static void run_block(struct tcg_cpu *c, const struct tcg_block *b, bool one)
{
	uint64_t mask = rip_mask(c);
	unsigned n = one ? 1 : b->n;
	for (unsigned k = 0; k < n; k++) {
		const struct insn *i = &b->insns[k];
		c->next_rip = (c->s.rip + i->len) & mask;
		i->fn(c, i);
		c->s.rip = c->next_rip;
		/* read by "info kvm"/"info accel" from the monitor's thread */
		__atomic_store_n(&c->insns, c->insns + 1, __ATOMIC_RELAXED);
		if (c->stop)
			break;
	}
	c->stop = false;
}

/* INIT (SDM Vol. 3, 10.4.1 and table 10-1): the power-on state but for
 * the APIC base, MTRRs and the x87/SSE state kept; the BSP restarts at
 * the reset vector, APs wait for a SIPI. */
static void cpu_init_event(struct tcg_cpu *c)
{
	struct x86_cpu_state s;
	bool bsp = c->s.apic_base & (1 << 8);
	x86_cpu_reset_state(&s, bsp);
	s.apic_base = c->s.apic_base;
	uint32_t id[4];
	tcg_cpuid(c, 1, 0, id);
	s.regs[R_RDX] = id[0];  /* the processor signature (SDM Vol. 3, 10.1.2) */
	s.efer = 0;
	struct tcg_fpu fpu = c->fpu;
	tcg_set_state(c, &s);
	c->fpu = fpu;
	c->s.mp_state = bsp ? MP_RUNNABLE : MP_WAIT_SIPI;
}

/* SIPI: start at vector << 12 in real mode (SDM Vol. 3, 9.4.4.1). */
static void cpu_sipi(struct tcg_cpu *c, int vector)
{
	struct x86_segment *cs = &c->s.seg[S_CS];
	cs->selector = vector << 8;
	cs->base = (uint64_t)vector << 12;
	c->s.rip = 0;
	c->s.mp_state = MP_RUNNABLE;
	c->halted = false;
}

/* Events from the LAPIC, between blocks. */
static void poll_events(struct tcg_cpu *c)
{
	struct lapic *a = c->lapic;
	uint32_t ev = lapic_events(a);
	if (!ev)
		return;
	if ((ev & LAPIC_EV_INIT) && lapic_take_init(a))
		cpu_init_event(c);
	if (ev & LAPIC_EV_SIPI) {
		int vec = lapic_take_sipi(a);
		if (vec >= 0 && c->s.mp_state == MP_WAIT_SIPI)
			cpu_sipi(c, vec);
	}
	if (c->s.mp_state == MP_WAIT_SIPI)
		return;
	if ((ev & LAPIC_EV_NMI) && !c->nmi_blocked && lapic_take_nmi(a)) {
		c->halted = false;
		c->nmi_blocked = true;
		tcg_deliver(c, EXC_NMI, NO_ERRCODE, INT_EXTERNAL, c->s.rip);
		return;
	}
	if ((ev & LAPIC_EV_INTR) && (c->s.rflags & FL_IF) && !c->inhibit_irq) {
		int vec = lapic_ack_interrupt(a);
		if (vec >= 0) {
			c->halted = false;
			qvm_log(LOG_INT, "cpu %u: interrupt 0x%x", c->v ? c->v->index : 0, vec);
			tcg_deliver(c, vec, NO_ERRCODE, INT_EXTERNAL, c->s.rip);
		}
	}
}

/* TF was set when the instruction began: a #DB trap after it, with
 * DR6.BS (SDM Vol. 3, 18.3.1.4).  MOV SS / POP SS hold it back by one
 * instruction, like interrupts. */
static void single_step_trap(struct tcg_cpu *c)
{
	c->s.dr[6] |= 1 << 14;
	tcg_deliver(c, EXC_DB, NO_ERRCODE, INT_EXCEPTION, c->s.rip);
}

int tcg_exec(struct tcg_cpu *c)
{
	if (setjmp(c->jmp)) {
		/* an exception: deliver it (which may raise and land here again) */
		c->stop = false;
		qvm_log(LOG_INT, "cpu %u: exception %d error 0x%x at %llx", c->v ? c->v->index : 0,
			c->exc_vec, c->exc_err, (unsigned long long)c->s.rip);
		tcg_deliver(c, c->exc_vec, c->exc_err, INT_EXCEPTION, c->s.rip);
		if (c->triple_fault) {
			c->triple_fault = false;
			c->exc_depth = 0;
			qvm_log(LOG_INT, "cpu %u: triple fault, resetting", c->v ? c->v->index : 0);
			return VCPU_EXIT_RESET;
		}
	}
	for (;;) {
		if (__atomic_load_n(&c->exit_request, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&c->exit_request, 0, __ATOMIC_RELAXED);
			return VCPU_EXIT_AGAIN;
		}
		if (c->lapic)
			poll_events(c);
		if (c->halted || c->s.mp_state == MP_WAIT_SIPI)
			return VCPU_EXIT_HALT;
		bool shadow = c->inhibit_irq;
		bool single_step = c->s.rflags & FL_TF;
		c->inhibit_irq = false;
		const struct tcg_block *b = find_block(c);
		run_block(c, b, shadow || single_step);
		if (single_step && !shadow)
			single_step_trap(c);
	}
}

int tcg_step(struct tcg_cpu *c)
{
	c->test_mode = true;
	if (setjmp(c->jmp)) {
		c->test_mode = false;
		c->stop = false;
		c->exc_depth = 0;
		c->test_fault = c->exc_vec;
		c->test_errcode = c->exc_err;
		return c->exc_vec;
	}
	const struct tcg_block *b = find_block(c);
	c->inhibit_irq = false;
	run_block(c, b, true);
	c->test_mode = false;
	return -1;
}

/* ------------------------------------------------------------------ */
/* State                                                               */

struct tcg_cpu *tcg_cpu_new(struct machine *m, struct vcpu *v)
{
	tcg_ops_init();
	struct tcg_cpu *c = aligned_alloc(64, (sizeof(*c) + 63) & ~63ul);
	struct block_cache *bc = calloc(1, sizeof(*bc));
	if (!c || !bc) {
		free(c);
		free(bc);
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->blocks = (struct tcg_block **)bc;
	c->m = m;
	c->v = v;
	c->a20_mask = ~0ULL;
	struct x86_cpu_state s;
	x86_cpu_reset_state(&s, !v || v->index == 0);
	tcg_set_state(c, &s);
	tcg_mmu_register(c);
	return c;
}

void tcg_set_jit(struct tcg_cpu *c, bool on, unsigned tb_mib)
{
	tcg_flush_blocks(c);
	c->jit_on = on;
	c->jit_tb_mib = tb_mib ? tb_mib : JIT_TB_DEFAULT_MIB;
}

void tcg_flush_blocks(struct tcg_cpu *c)
{
	cache_flush(c, cache_of(c));
	c->last_block = NULL;
}

void tcg_cpu_free(struct tcg_cpu *c)
{
	if (!c)
		return;
	tcg_mmu_unregister(c);
	struct block_cache *bc = cache_of(c);
	cache_flush(c, bc);
	free(bc->scratch);
	free(bc);
	free(c);
}

void tcg_set_state(struct tcg_cpu *c, const struct x86_cpu_state *s)
{
	c->s = *s;
	c->s.rflags = (s->rflags & ~FL_ARITH) | 2;
	tcg_set_cc(c, CC_OP_EFLAGS, 8, 0, s->rflags & FL_ARITH, 0);
	tcg_fpu_from_fxsave(&c->fpu, s->fxsave);
	c->halted = s->halted;
	c->inhibit_irq = false;
	c->stop = false;
	c->exc_depth = 0;
	c->triple_fault = false;
	c->nmi_blocked = false;
	tcg_tlb_flush_all(c);
}

void tcg_get_state(struct tcg_cpu *c, struct x86_cpu_state *s)
{
	*s = c->s;
	s->rflags = tcg_rflags(c);
	tcg_fpu_to_fxsave(&c->fpu, s->fxsave);
	s->halted = c->halted;
}
