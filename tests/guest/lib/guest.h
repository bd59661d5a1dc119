/* Shared declarations for qvm's bare-metal test guests (64-bit, freestanding). */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define MAX_CPUS	16
#define KSTACK_SIZE	0x4000	/* per-CPU kernel stack */
#define ISTACK_SIZE	0x2000	/* per-CPU TSS.RSP0 stack (interrupts from CPL3) */
#define USTACK_SIZE	0x4000	/* per-CPU user stack */
#define TRAMP_BASE	0x8000	/* AP start-up page (SIPI vector 0x08) */
#define IOMAP_PORTS	0x800	/* TSS I/O bitmap covers ports below this */

#define SEL_KCODE	0x08
#define SEL_KDATA	0x10
#define SEL_UDATA	0x1b
#define SEL_UCODE	0x23
#define SEL_KCODE32	0x28
#define SEL_TSS(i)	(0x40 + 16 * (i))

#define COM1		0x3f8
#define DEBUG_EXIT	0xf4

#define LAPIC_BASE	0xfee00000UL
#define IOAPIC_BASE	0xfec00000UL

/* A pointer to a fixed physical (= virtual) address, laundered so that gcc
 * does not treat low addresses as null-pointer arithmetic. */
static inline void *phys(uint64_t a)
{
	__asm__("" : "+r"(a));
	return (void *)a;
}
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define barrier()	__asm__ volatile("" ::: "memory")
#define READ_ONCE(x)	(*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* ---- port I/O, MSRs, control registers ---- */
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0,%1" :: "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0,%1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0,%1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1,%0" : "=a"(v) : "Nd"(p)); return v; }

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
#define DEF_CR(n) \
	static inline uint64_t read_cr##n(void) { uint64_t v; __asm__ volatile("mov %%cr" #n ",%0" : "=r"(v)); return v; } \
	static inline void write_cr##n(uint64_t v) { __asm__ volatile("mov %0,%%cr" #n :: "r"(v) : "memory"); }
DEF_CR(0)
DEF_CR(2)
DEF_CR(3)
DEF_CR(4)
static inline uint64_t read_flags(void) { uint64_t f; __asm__ volatile("pushfq; popq %0" : "=r"(f)); return f; }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
/* Atomically enable interrupts and wait for one. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }

#define MSR_APIC_BASE	0x1b
#define MSR_EFER	0xc0000080
#define MSR_GS_BASE	0xc0000101
#define MSR_TSC_DEADLINE 0x6e0
#define EFER_NXE	(1u << 11)
#define RFLAGS_IF	(1u << 9)
#define RFLAGS_TF	(1u << 8)
#define RFLAGS_IOPL3	(3u << 12)

/* ---- library C helpers ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* ---- serial console (COM1, 16550A) ---- */
void serial_init(void);
void serial_putc(char c);		/* raw, no locking */
void serial_write(const char *s, size_t n);
int serial_getc(void);			/* -1 if nothing received */
void serial_tx_resync(void);		/* forget the TX FIFO credit */
extern bool serial_crlf;		/* "\n" -> "\r\n" (for terminals) */
void vprintk(const char *fmt, va_list ap);
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int snprintk(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintk(char *buf, size_t n, const char *fmt, va_list ap);

/* ---- test reporting: "ok N - desc" / "not ok N - desc", then a summary ---- */
extern const char *test_name;		/* set by each guest */
bool check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));	/* "# ..." */
int test_failures(void);
__attribute__((noreturn)) void test_done(void);		/* summary + debug-exit */
__attribute__((noreturn)) void debug_exit(uint8_t code);
__attribute__((noreturn)) void halt_forever(void);
__attribute__((noreturn)) void reset_cf9(void);
__attribute__((noreturn)) void reset_kbd(void);
__attribute__((noreturn)) void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- CPUs, interrupts, user mode ---- */
struct frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef void (*irq_handler_t)(struct frame *f);

struct tss {
	uint32_t rsvd0;
	uint64_t rsp0, rsp1, rsp2;
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3, iomap_base;
	uint8_t iomap[IOMAP_PORTS / 8 + 1];
} __attribute__((packed));

struct cpu {
	struct cpu *self;		/* %gs:0 */
	uint64_t kctx[8];		/* enter_user saved context (%gs:8) */
	int index;
	uint32_t apic_id;		/* LAPIC ID register */
	uint32_t cpuid_apic_id;		/* CPUID.1:EBX[31:24] */
	volatile int online;
	struct tss tss __attribute__((aligned(16)));
	/* per-CPU fault bookkeeping used by fault_try() */
	volatile uint64_t recover_rip;
	volatile int fault_count;
	struct frame fault;		/* copy of the last recovered fault */
	uint64_t fault_cr2;
	uint64_t fault_recover;		/* the end of the FAULT_TRY asm */
	uint64_t fault_frame_addr;	/* where the CPU pushed that frame */
	/* work slot used by the SMP guests */
	volatile uint64_t work_arg, work_result;
	volatile int work_state;
	volatile int ipi_count;
};

extern struct cpu cpus[MAX_CPUS];
extern volatile int ncpus_online;	/* BSP included */
static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__ volatile("mov %%gs:0,%0" : "=r"(c));
	return c;
}

void set_irq_handler(int vector, irq_handler_t h);
void set_gate_dpl(int vector, int dpl);
void set_gate_ist(int vector, int ist);
void set_gate_present(int vector, bool present);
extern char kstacks[], istacks[], ustacks[];
/* "word" on the multiboot command line (e.g. "pvm") */
bool cmdline_has(const char *word);
void cpu_setup(struct cpu *c);		/* GDT/TSS/IDT/GS on the calling CPU */
void io_allow(struct cpu *c, uint16_t port, bool allow);

/* Run fn(arg) at CPL3 on this CPU's user stack; returns fn's return value.
 * rflags_extra may add RFLAGS_IOPL3, RFLAGS_IF. */
typedef uint64_t (*user_fn_t)(uint64_t arg);
uint64_t run_user(user_fn_t fn, uint64_t arg, uint64_t rflags_extra);

/* Exceptions you expect: FAULT_TRY("asm", operands...) runs the asm with
 * recovery; a fault resumes after it.  Evaluates to the vector taken (or
 * FAULT_NONE), details in this_cpu()->fault.  Usable at CPL0 and CPL3.
 * Operands must be named ("%[x]"); rax, rdx and r11 are clobbered (the asm
 * may use rax and rdx freely; pin an input to rcx with "c"). */
#define FAULT_NONE	(-1)
#define FAULT_TRY(insn, ...) ({						\
	struct cpu *c__ = this_cpu();					\
	int n__ = c__->fault_count;					\
	__asm__ volatile("lea 1f(%%rip), %%r11\n\t"			\
			 "mov %%r11, %%gs:%c[roff]\n\t"		\
			 insn "\n1:"					\
			 :: [roff] "i"(offsetof(struct cpu, recover_rip)), ##__VA_ARGS__ \
			 : "rax", "rdx", "r11", "memory", "cc");	\
	c__->recover_rip = 0;						\
	c__->fault_count != n__ ? (int)c__->fault.vector : FAULT_NONE;	\
})

/* ---- paging ---- */
#define PTE_P	(1ull << 0)
#define PTE_W	(1ull << 1)
#define PTE_U	(1ull << 2)
#define PTE_PWT	(1ull << 3)
#define PTE_PCD	(1ull << 4)
#define PTE_PS	(1ull << 7)
#define PTE_NX	(1ull << 63)
extern uint64_t pml4[512];
/* Map one 4 KiB page (splitting a 2 MiB mapping if needed); flags incl. P. */
void map_page(uint64_t va, uint64_t pa_flags);
uint64_t *pte_of(uint64_t va);

/* ---- time ---- */
void pit_set_periodic(uint32_t hz);
uint64_t tsc_khz(void);			/* calibrates against the PIT on first use */
uint64_t now_us(void);
void delay_us(uint64_t us);
/* With interrupts on, spin until *v >= n or us pass; true if it got there
 * (interrupts are off again on return). */
bool poll_for(volatile int *v, int n, uint64_t us);

/* ---- local APIC and IOAPIC ---- */
#define LAPIC_ID	0x020
#define LAPIC_VER	0x030
#define LAPIC_TPR	0x080
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define LAPIC_ESR	0x280
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_LINT1	0x360
#define LAPIC_LVT_ERR	0x370
#define LAPIC_TIMER_ICR	0x380
#define LAPIC_TIMER_CCR	0x390
#define LAPIC_TIMER_DCR	0x3e0
#define VEC_SPURIOUS	0xff
static inline uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
extern volatile bool lapic_x2;		/* this CPU is in x2APIC mode (BSP only) */
static inline void lapic_eoi(void)
{
	if (lapic_x2)
		wrmsr(0x80b, 0);
	else
		lapic_write(LAPIC_EOI, 0);
}
static inline uint32_t lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }
void lapic_enable(void);
void lapic_send_ipi(uint32_t dest, uint32_t icr_lo);	/* waits for delivery */
void pic_mask_all(void);
uint32_t ioapic_read(uint32_t reg);
void ioapic_write(uint32_t reg, uint32_t v);
void ioapic_route(int pin, int vector, uint32_t dest_apic, bool level, bool masked);

/* ---- firmware tables ---- */
struct madt_info {
	bool found;			/* an ACPI MADT was found */
	bool mp_found;			/* an Intel MP table was found */
	int ncpus;			/* enabled LAPIC entries in the MADT */
	uint32_t apic_ids[64];
	int mp_ncpus;
	uint32_t mp_apic_ids[64];
	uint32_t lapic_addr, ioapic_addr, ioapic_gsi_base;
	int nioapics;
	int irq0_gsi;			/* ISA IRQ0 after overrides (default 0) */
	int irq_gsi[16];		/* ISA IRQ -> GSI */
	char oem[7];
	const char *bad;		/* first checksum/format problem, or NULL */
};
void acpi_scan(struct madt_info *m);
const void *acpi_find_table(const char sig[4]);

/* ---- SMP ---- */
extern void (*volatile ap_main_fn)(struct cpu *c);	/* what APs run once online */
int smp_boot(const struct madt_info *m, int expected, const char **method);

/* ---- multiboot ---- */
struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));
struct mb_mod { uint32_t start, end, cmdline, pad; };
struct mb_mmap { uint32_t size; uint64_t addr, len; uint32_t type; } __attribute__((packed));
extern uint32_t mb_magic, mb_info_addr;	/* EAX/EBX at entry (multiboot images) */
extern uint32_t entry_cr0, entry_eflags, entry_cs, entry_esp;
const char *mb_cmdline(void);
/* Value of "key=N" on the command line (decimal or 0x hex), or def. */
uint64_t cmdline_uint(const char *key, uint64_t def);

/* Written by the -bios start code at reset (before anything else). */
struct reset_state {
	uint32_t magic, edx, eax, cr0, cr4, eflags, efer_lo, efer_hi;
	uint32_t apic_base_lo, apic_base_hi;
	uint16_t cs, ds, es, ss, fs, gs;
	uint32_t esp;
};
#define RESET_STATE	((volatile struct reset_state *)phys(0x500))
#define RESET_MAGIC	0x52535421	/* "!TSR" */

/* ---- PCI (configuration mechanism #1, bus 0) ---- */
struct pci_dev { uint8_t bus, slot, fn; };
uint32_t pci_read32(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
uint8_t pci_read8(const struct pci_dev *d, unsigned off);
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v);
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v);
/* The first function with vendor and one of the device IDs. */
bool pci_find(uint16_t vendor, const uint16_t *devices, int ndevices, struct pci_dev *out);
uint64_t pci_bar(const struct pci_dev *d, unsigned bar);	/* 64-bit aware */
/* The next capability with id after prev (0: from the start), or 0. */
unsigned pci_next_cap(const struct pci_dev *d, unsigned prev, uint8_t id);

/* ---- virtio 1.x over PCI, polled (lib/virtio.c) ---- */
struct virtio_dev {
	struct pci_dev pci;
	uint64_t common, notify, device;	/* capability addresses */
	uint32_t notify_mult;
};
struct virtq {
	uint16_t size, index, avail_idx, used_seen;
	void *desc;
	volatile uint16_t *avail, *used;
	uint64_t notify;
};
#define VIRTIO_F_VERSION_1	(1ull << 32)
/* Each returns NULL, or what went wrong. */
const char *virtio_pci_find(struct virtio_dev *v, uint16_t virtio_id);
const char *virtio_negotiate(struct virtio_dev *v, uint64_t features);
const char *virtio_queue_up(struct virtio_dev *v, struct virtq *q, unsigned qi, void *ring,
			    uint16_t size);
bool virtq_run(struct virtq *q, uint64_t timeout_us);
/* Read len bytes from sector into buf: the status byte (0 ok), or -1 when
 * the device did not answer. */
int virtio_blk_read(struct virtq *q, uint64_t sector, void *buf, uint32_t len);

int main(void);
#endif
