/*
 * The machine: guest RAM, the physical map, the devices, the vCPUs and the
 * run state, and the board (the machine type) that builds it on an engine.
 * No global state: unit tests build small machines with machine_new() and
 * no engine.
 */
#ifndef QVM_MACHINE_H
#define QVM_MACHINE_H

#include <pthread.h>
#include "qvm.h"
#include "irq.h"
#include "physmap.h"
#include "memory.h"
#include "state.h"

struct machine;
struct vcpu;
struct accel;
struct config;
struct mainloop;
struct chardev;

/* A device: one per file under user/hw/.  Every callback may be NULL. */
struct device_ops {
	const char *name;
	void (*reset)(void *dev);                           /* power-on state */
	/* Before a save, with the vCPUs paused: finish the work in flight
	 * (DMA into guest RAM, completion interrupts), so that RAM and the
	 * interrupt controllers, saved after it, hold its results. */
	void (*quiesce)(void *dev);
	void (*save)(void *dev, struct state_buf *s);
	int (*load)(void *dev, struct state_buf *s);        /* 0 or -1 */
	void (*destroy)(void *dev);                         /* free it */
};

struct device {
	const struct device_ops *ops;
	void *dev;
	struct device *next;
};

/*
 * A board (-machine): what a machine type builds and decides, behind one
 * table, so that main.c and the monitor name no board.  pc (user/pc/) is
 * the one board today.  Every callback runs on the main thread with the
 * vCPUs not running, except powerdown (any thread).
 */
struct board_ops {
	const char *name;       /* -machine name */
	const char *alias;      /* another name accepted for it, or NULL */
	const char *desc;       /* the -machine help line */
	/* The interrupt wiring (irq.h), which the engine's irqchip follows:
	 * machine_set_board() sets machine.irq_routing from it. */
	const struct irq_routing *irq_routing;
	/* Build the machine once the engine and the vCPUs exist: RAM layout,
	 * devices, firmware tables, the -bios or -kernel image.  serials[i]
	 * is the back end of the i-th serial port (NULL: output dropped). */
	int (*init)(struct machine *m, struct chardev *const *serials);
	/* After the devices, the engine and the vCPUs were reset: restore
	 * what the guest may have changed (tables, the loaded kernel). */
	int (*reset)(struct machine *m);
	/* Give the vCPUs the state the guest starts in: as reset left them
	 * for the guest's own firmware, or what firmware would have left
	 * (registers at the kernel's entry, LAPICs, MTRRs) when qvm plays it.
	 * After init and after each reset. */
	int (*enter)(struct machine *m);
	/* Press the ACPI power button (system_powerdown); -1: there is none. */
	int (*powerdown)(struct machine *m);
	/* Before qvm exits: pause the vCPUs, complete the disks' requests
	 * and close their images cleanly. */
	void (*shutdown)(struct machine *m);
	/* The monitor's removable media (NULL: none): info block through
	 * print; eject [-f] DEV and change DEV FILE, 0 or -1 with the reason
	 * in err. */
	void (*block_info)(struct machine *m, void (*print)(void *opaque, const char *text),
			   void *opaque);
	int (*block_eject)(struct machine *m, const char *dev, bool force, char *err,
			   size_t errlen);
	int (*block_change)(struct machine *m, const char *dev, const char *file, char *err,
			    size_t errlen);
};

/* board.c: the board called name (or its alias); NULL: the default one.
 * NULL when there is no such board. */
const struct board_ops *board_find(const char *name);
/* The boards, one "name  description" line each, for -machine help. */
void board_print_list(void);

enum run_request {
	REQ_NONE = 0,
	REQ_RESET,      /* guest or monitor asked for a reset */
	REQ_POWEROFF,   /* guest powered off: exit 0, or stop with -no-shutdown */
	REQ_SHUTDOWN,   /* exit now with machine.exit_status (isa-debug-exit,
			 * fatal vCPU error), whatever -no-shutdown says */
	REQ_QUIT,       /* monitor quit / Ctrl-A x: exit status 0 */
};

struct machine {
	const struct config *cfg;

	/* Guest RAM: anonymous memory mapped once (host address ram); ram_fd
	 * is -1 (no file behind it) unless machine_ram_share made it a memfd
	 * mapped at the same address. */
	int ram_fd;
	void *ram;
	uint64_t ram_size;      /* total, as given by -m */
	uint64_t ram_below_4g;  /* [0, ram_below_4g) is RAM, rest at 4 GiB */
	/* A stretch of guest-physical space that the board maps as plain RAM
	 * for the machine's life (pc: 1 MiB to ram_below_4g): engines may
	 * translate addresses in it without the physical map (TCG's page
	 * walks and TLB fills).  Empty (end 0) unless the board sets it. */
	uint64_t fast_ram_start, fast_ram_end;
	uint8_t *fast_ram_host; /* host address of fast_ram_start */

	struct physmap *map;    /* RCU-published; see physmap.h */
	pthread_mutex_t map_lock; /* serialises map and listener writers */
	/* Told of every host-side write into guest RAM (memory.h);
	 * RCU-published like the map. */
	struct ram_listeners *ram_listeners;

	struct device *devices; /* reset/save/load walk this list */
	struct irqchip irqchip;
	/* The board's interrupt wiring (irq.h), which the engine's irqchip
	 * and the PCI devices follow; set before the engine's init. */
	const struct irq_routing *irq_routing;

	struct accel *accel;    /* NULL in unit tests */
	struct vcpu **vcpus;
	unsigned nr_vcpus;

	struct mainloop *loop;  /* NULL in unit tests */
	struct netdev *netdevs; /* -netdev/-nic back ends (net/net.h), for the monitor */
	struct input_router *input; /* input devices (ui/input.h); NULL until one registers */

	/* Run control (see machine.c). */
	pthread_mutex_t run_lock;
	pthread_cond_t run_cond;
	bool paused;            /* vCPUs must park */
	unsigned parked;        /* vCPUs currently parked */
	enum run_request request;
	int exit_status;        /* for REQ_SHUTDOWN */
	int request_fd;         /* eventfd that wakes the main loop */
	uint64_t reset_count;   /* bumped by the main thread after each reset */
	bool quitting;          /* vCPU threads leave their loops */

	/* ui/display.c: the graphics device and the front ends (NULL
	 * until one registers). */
	struct display *display;

	const struct board_ops *board_ops; /* NULL in unit tests */
	void *board;            /* the board's own state (struct pc_board) */
};

/* A bare machine: RAM of ram_size, an empty map, no engine, no vCPUs. */
struct machine *machine_new(uint64_t ram_size);
/* Ask for transparent huge pages on guest RAM (machine.c says why). */
void machine_ram_hugepages(struct machine *m);
/* Make guest RAM a memfd (ram_fd) mapped MAP_SHARED at the same address,
 * for engines that map it elsewhere too (kqemu); before RAM is written.
 * 0, or -1 with a message. */
int machine_ram_share(struct machine *m);
void machine_free(struct machine *m);

/* Register a device for reset/save/load/destroy (in that order of adding). */
void machine_add_device(struct machine *m, const struct device_ops *ops, void *dev);
void machine_reset_devices(struct machine *m);
void machine_quiesce_devices(struct machine *m);
void machine_save_devices(struct machine *m, struct state_buf *s);
int machine_load_devices(struct machine *m, struct state_buf *s);

/* Interrupts, from any thread; line numbers as irq.h says. */
static inline void machine_set_irq(struct machine *m, unsigned line, int level)
{
	if (m->irqchip.ops)
		m->irqchip.ops->set_irq(&m->irqchip, line, level);
}
static inline void machine_pulse_irq(struct machine *m, unsigned line)
{
	machine_set_irq(m, line, 1);
	machine_set_irq(m, line, 0);
}

/* Requests from any thread (vCPU or main): recorded, and the main loop is
 * woken to act on them.  A shutdown's status is kept for the exit. */
void machine_request(struct machine *m, enum run_request req, int status);
enum run_request machine_take_request(struct machine *m, int *status);

/* Pause every vCPU and wait until all are parked; resume them. */
void machine_pause(struct machine *m);
void machine_resume(struct machine *m);

/* Make b the machine's board, before the engine's init (the engine's
 * irqchip follows b's interrupt routing). */
void machine_set_board(struct machine *m, const struct board_ops *b);
/* The whole reset, on the main thread: pause the vCPUs; reset the devices,
 * then the engine's own devices (machine_reset), then every vCPU
 * (vcpu_reset); the board restores its images (reset) and sets the
 * vCPUs' starting state (enter); the vCPUs waiting on the reset are told
 * (reset_count) and all resume.  0, or -1 with a message (the vCPUs stay
 * paused). */
int machine_reset(struct machine *m);
/* The board's powerdown (-1 without one) and shutdown. */
int machine_powerdown(struct machine *m);
void machine_shutdown(struct machine *m);

#endif
