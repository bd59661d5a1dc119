/* migrate.elf: a deterministic computation to save in the middle and
 * finish in another qvm (tests/migration/run).  Each of STEPS steps mixes
 * a 1 MiB buffer into a hash (RAM must travel), adds the hash to XMM7 (the
 * SSE state must travel) and then sleeps for TICKS periods of the LAPIC
 * timer with sti;hlt (the timer, the LAPIC and HLT must travel), about
 * 50 ms a step.  Prints "step N HASH" after each step, then "result HASH
 * XMM7" and exits 0 through isa-debug-exit: the result is the same however
 * often the machine moved. */
#include "guest.h"

#define STEPS 40
#define TICKS 5
#define VEC_TICK 0x40
#define BUF_WORDS (1u << 17)

static volatile int ticks;
static uint64_t buf[BUF_WORDS];

static void on_tick(struct frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* SSE on (CR0.MP, not EM; CR4.OSFXSR), XMM7 = 0: the library leaves SSE
 * alone and the compiler never uses it (-mgeneral-regs-only). */
static void sse_init(void)
{
	write_cr0((read_cr0() & ~(1ull << 2)) | (1ull << 1));
	write_cr4(read_cr4() | (1ull << 9));
	__asm__ volatile("pxor %xmm7, %xmm7");
}

static void xmm7_add(uint64_t v)
{
	__asm__ volatile("movq %0, %%xmm6; paddq %%xmm6, %%xmm7" :: "r"(v));
}

static uint64_t xmm7_low(void)
{
	uint64_t v;
	__asm__ volatile("movq %%xmm7, %0" : "=r"(v));
	return v;
}

int main(void)
{
	test_name = "migrate";
	sse_init();
	lapic_enable();
	set_irq_handler(VEC_TICK, on_tick);
	lapic_write(LAPIC_TIMER_DCR, 0x3);                      /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, (1u << 17) | VEC_TICK);    /* periodic */
	lapic_write(LAPIC_TIMER_ICR, 625000);                   /* 10 ms at 1 GHz */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (unsigned i = 0; i < BUF_WORDS; i++)
		buf[i] = i * 0x9e3779b97f4a7c15ULL;
	for (int step = 0; step < STEPS; step++) {
		for (unsigned i = 0; i < BUF_WORDS; i++) {
			buf[i] = mix(buf[i] + step, h);
			h = mix(h, buf[i]);
		}
		xmm7_add(h);
		int until = ticks + TICKS;
		cli();
		while (READ_ONCE(ticks) < until)
			sti_hlt();
		cli();
		printk("step %d %016lx\n", step, h);
	}
	lapic_write(LAPIC_TIMER_ICR, 0);
	printk("result %016lx %016lx\n", h, xmm7_low());
	test_done();
}
