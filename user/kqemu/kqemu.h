/*
 * kqemu: guest code run natively on the host CPU, everything else in TCG.
 *
 * The engine (engine.c, -accel kqemu) is TCG (with the JIT) plus a native
 * execution backend behind this interface.  The engine decides when guest
 * code may run natively (CPL 3 with IF=1 in long mode, segments the host
 * can reproduce: see engine.c), hands the backend the register state and
 * the page mappings to install, and handles each exit: it walks the
 * guest's page tables, delivers exceptions and runs in TCG what the host
 * CPU must not run.
 *
 * Backends:
 *   "process"  proc/: a child process whose address space mirrors the
 *              guest's user pages from the guest-RAM memfd; exits through
 *              signals and seccomp.  Needs nothing but a Linux host.
 *   "module"   kqemu-kmod/ (/dev/kqemu): a world switch into shadow page
 *              tables, guest code at hardware CPL 3.
 *
 * Everything that crosses the interface is fixed-width and versioned, so
 * that the module's ioctls carry these very structs.  Addresses are
 * 64-bit; guest-physical addresses are resolved to offsets in the RAM
 * file by the engine (struct kqemu_ram).
 */
#ifndef QVM_KQEMU_H
#define QVM_KQEMU_H

#ifdef __KERNEL__
#include <linux/types.h>        /* kqemu-kmod/ includes this very file */
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif
#include <linux/ioctl.h>

/* major << 16 | minor: a backend serves the major it was built for */
#define KQEMU_VERSION_MAJOR 1
#define KQEMU_VERSION_MINOR 3
#define KQEMU_VERSION ((KQEMU_VERSION_MAJOR << 16) | KQEMU_VERSION_MINOR)

/* Why native execution stopped (kqemu_run.exit_class). */
enum kqemu_exit_class {
	KQEMU_EXIT_NONE = 0,
	/* A guest exception the engine delivers as is: vector, error_code
	 * (or -1), fault_addr = CR2 for #PF.  rip: the faulting instruction
	 * for faults, the next one for traps (#DB single-step, #BP, #OF). */
	KQEMU_EXIT_EXCEPTION = 1,
	/* A software interrupt (INT n, INT3, INTO) or an instruction the
	 * host refused only because it runs at host CPL 3 (#GP/#UD: IN/OUT
	 * with IOPL, CLI, HLT, RDTSC with CR4.TSD ...): rip is at the
	 * instruction; the engine runs it in TCG, which raises exactly what
	 * the guest CPU would. */
	KQEMU_EXIT_SOFTMMU = 2,
	/* An access to a linear page the backend has no mapping for, or no
	 * permission for (fault_addr, fault_access): the engine walks the
	 * guest's page tables and maps the page or delivers #PF.  rip is at
	 * the instruction. */
	KQEMU_EXIT_PAGE = 3,
	/* kick() or a host signal: nothing happened to the guest; the
	 * engine polls interrupts and comes back. */
	KQEMU_EXIT_SIGNAL = 4,
	/* SYSCALL, SYSENTER or INT 0x80 (host system-call entries): rip is
	 * after the 2-byte instruction; vector holds 0x80 for INT 0x80, 0
	 * otherwise.  The engine backs up and runs it in TCG. */
	KQEMU_EXIT_SYSCALL = 5,
	/* The backend failed (message): the engine goes on in TCG alone. */
	KQEMU_EXIT_ERROR = 6,
	KQEMU_EXIT_NR
};

/* fault_access of KQEMU_EXIT_PAGE */
enum kqemu_access {
	KQEMU_ACC_READ = 0,
	KQEMU_ACC_WRITE = 1,
	KQEMU_ACC_EXEC = 2,
};

/* Page protections of a mapping (kqemu_map.prot) */
#define KQEMU_PROT_READ  1u
#define KQEMU_PROT_WRITE 2u
#define KQEMU_PROT_EXEC  4u

/* The standard (non-compacted) XSAVE layout of SDM Vol. 1, 13.4: the
 * legacy FXSAVE region, the header, then each component at the offset
 * CPUID leaf 0xD gives.  4 KiB holds x87, SSE, AVX and AVX-512 (2688
 * bytes) and PKRU. */
#define KQEMU_XSAVE_MAX 4096

/* The guest's user-mode register state.  Segment selectors are the
 * guest's; the engine only enters native execution when the host can run
 * them as they are (see engine.c). */
struct kqemu_cpu_state {
	uint64_t regs[16];      /* RAX..R15, x86/regs.h order */
	uint64_t rip;
	uint64_t rflags;
	uint64_t fs_base, gs_base;
	uint16_t cs, ss, ds, es, fs, gs;
	uint32_t code_bits;     /* 64 (32: compatibility mode, later) */
	/* control state, for the backend's information (read-only) */
	uint64_t cr0, cr3, cr4, efer;
	/* guest TSC = host TSC + tsc_offset; a backend that cannot add the
	 * offset natively traps RDTSC (KQEMU_EXIT_SOFTMMU) when it is not 0 */
	int64_t tsc_offset;
	/* xsave holds the components in xcr0 (x87 and SSE at least); in:
	 * xstate_bv of the header says which are not in their init state */
	uint64_t xcr0;
	uint32_t xsave_size;    /* bytes of xsave in use */
	uint32_t pad0;
	uint8_t xsave[KQEMU_XSAVE_MAX] __attribute__((aligned(64)));
};

/* One page to install before running: linear page lin maps guest RAM at
 * offset ram_offset of the RAM file, with prot. */
struct kqemu_map {
	uint64_t lin;
	uint64_t ram_offset;
	uint32_t prot;          /* KQEMU_PROT_* */
	uint32_t pad0;
};

#define KQEMU_MAX_MAPS   64
#define KQEMU_MAX_UNMAPS 64

/* One native run: the request in, the state both ways, the exit out.
 * The engine owns it; a backend reads and writes it only inside exec(). */
struct kqemu_run {
	uint32_t version;       /* KQEMU_VERSION the engine speaks */

	/* in: page-mapping changes to the context that runs, applied in
	 * this order before running */
	uint16_t flush_all;     /* drop every mapping of the context */
	/* minor 2 (was flush_all's upper half): the mapping context that
	 * runs, below KQEMU_CONTEXTS, with KQEMU_INFO_CONTEXTS; else 0 */
	uint16_t context;
	uint32_t nr_unmap;
	uint32_t nr_map;
	uint64_t unmap[KQEMU_MAX_UNMAPS];       /* linear pages to drop */
	struct kqemu_map map[KQEMU_MAX_MAPS];

	/* in and out */
	struct kqemu_cpu_state state;

	/* out */
	uint32_t exit_class;    /* enum kqemu_exit_class */
	uint32_t vector;        /* EXCEPTION: 0-31; SYSCALL: 0x80 or 0 */
	int32_t error_code;     /* EXCEPTION: the error code, or -1 */
	uint32_t fault_access;  /* PAGE: enum kqemu_access */
	uint64_t fault_addr;    /* PAGE: the linear address; #PF: CR2 */
	uint64_t host_ns;       /* time spent in native execution, this run */
	char message[128];      /* ERROR: one line, no newline */
};

/* Guest RAM as the backend maps it: one file, the engine hands offsets. */
struct kqemu_ram {
	int fd;                 /* memfd of guest RAM (shared mapping) */
	uint64_t size;
	void *host;             /* qvm's own mapping of it */
};

/* What a backend tells the engine about itself. */
struct kqemu_backend_info {
	uint32_t version;       /* KQEMU_VERSION it implements */
	/* Linear pages the backend can map for the guest: [user_start,
	 * user_end) except [hole_start, hole_end), which it needs for
	 * itself.  The engine runs in TCG any guest that has a mapping in
	 * the hole (engine.c checks the page tables before each entry). */
	uint64_t user_start, user_end;
	uint64_t hole_start, hole_end;
	/* XSAVE components the host CPU runs guest code with: user code
	 * sees them in CPUID and XGETBV (no CPUID faulting), so the guest
	 * CPU model must offer the same, and their area size. */
	uint64_t xcr0;
	uint32_t xsave_size;
	uint32_t flags;         /* KQEMU_INFO_* (minor 1; was padding) */
	char description[96];   /* for info kqemu */
};

/* kqemu_backend_info.flags */
/* RDTSC/RDTSCP can be made to fault (KQEMU_EXIT_SOFTMMU) when tsc_offset
 * != 0 or CR4.TSD; without it (a hypervisor that ignores CR4.TSD) such a
 * request is an ERROR exit, and the engine runs that guest in TCG or with
 * tsc_offset 0. */
#define KQEMU_INFO_TSC_TRAP 1u
/* (minor 2) The backend keeps KQEMU_CONTEXTS sets of mappings, one per
 * guest address space (the engine's choice: a page-table root under a
 * PCID): kqemu_run.context names the one that runs, and the mappings of
 * the others stay as they are until their own requests change them.  The engine thus keeps a
 * process's pages mapped across the guest's CR3 switches, as a TLB
 * tagged with PCIDs keeps its translations (SDM Vol. 3A, 4.10.1).  A
 * backend may drop any mapping of any context at any time (the engine
 * then sees a PAGE exit and maps it again).  Without the flag, context
 * is 0 and there is one set.  Minor 3: 16 sets (minor 2: 8). */
#define KQEMU_INFO_CONTEXTS 2u
#define KQEMU_CONTEXTS 16
#define KQEMU_CONTEXTS_1_2 8

/* ---- /dev/kqemu (kqemu-kmod/): the module backend's ioctls ----
 * One vCPU context per open file.  KQEMU_GET_VERSION returns
 * KQEMU_VERSION; KQEMU_GET_INFO fills a struct kqemu_backend_info (it
 * needs no context); KQEMU_CREATE binds the file to qvm's mapping of
 * guest RAM (pages are pinned when mapped, unpinned when unmapped,
 * flushed or the file is closed); KQEMU_EXEC runs one struct kqemu_run
 * (0, or -1 with errno when the request could not even be read or
 * written back); KQEMU_KICK, from any thread, makes a running or the
 * next KQEMU_EXEC return KQEMU_EXIT_SIGNAL. */
struct kqemu_create {
	uint64_t ram_host;      /* qvm's mapping of guest RAM (page-aligned) */
	uint64_t ram_size;      /* bytes, a multiple of 4096 */
};

#define KQEMU_IOC 0xb7
#define KQEMU_GET_VERSION _IO(KQEMU_IOC, 0x00)
#define KQEMU_GET_INFO    _IOR(KQEMU_IOC, 0x01, struct kqemu_backend_info)
#define KQEMU_CREATE      _IOW(KQEMU_IOC, 0x02, struct kqemu_create)
#define KQEMU_EXEC        _IOWR(KQEMU_IOC, 0x03, struct kqemu_run)
#define KQEMU_KICK        _IO(KQEMU_IOC, 0x04)

#ifndef __KERNEL__
/* A native-execution backend.  One instance per vCPU, opened, run and
 * closed on the vCPU's own thread; kick() from any thread. */
struct kqemu_backend_ops {
	const char *name;       /* "process", "module" */
	/* Can this host run it?  false with a reason. */
	bool (*available)(char *why, size_t why_len);
	/* NULL with a one-line message in err. */
	void *(*open)(const struct kqemu_ram *ram, char *err, size_t err_len);
	void (*get_info)(void *b, struct kqemu_backend_info *info);
	/* Apply run's mapping changes, run guest code from run->state until
	 * an exit, fill run's out fields.  0, or -1 when the backend is
	 * broken for good (run->message says why; the engine stops using
	 * it).  A page-mapping request it cannot honour is an ERROR. */
	int (*exec)(void *b, struct kqemu_run *run);
	/* Make a running or the next exec() return KQEMU_EXIT_SIGNAL soon;
	 * async-signal-safe, any thread. */
	void (*kick)(void *b);
	void (*close)(void *b);
};

extern const struct kqemu_backend_ops kqemu_process_ops;
extern const struct kqemu_backend_ops kqemu_module_ops;
#endif

#endif
