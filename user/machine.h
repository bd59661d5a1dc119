/*
 * The machine: guest RAM, the physical map, the devices, the vCPUs and the
 * run state.  No global state: unit tests build small machines with
 * machine_new() and no engine.
 */
#ifndef QVM_MACHINE_H
#define QVM_MACHINE_H

#include <pthread.h>
#include "qvm.h"
#include "irq.h"
#include "physmap.h"
#include "state.h"

struct machine;
struct vcpu;
struct accel;
struct config;
struct mainloop;

/* A device: one per file under user/hw/.  Every callback may be NULL. */
struct device_ops {
	const char *name;
	void (*reset)(void *dev);                           /* power-on state */
	void (*save)(void *dev, struct state_buf *s);
	int (*load)(void *dev, struct state_buf *s);        /* 0 or -1 */
	void (*destroy)(void *dev);                         /* free it */
};

struct device {
	const struct device_ops *ops;
	void *dev;
	struct device *next;
};

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

	/* Guest RAM: one memfd, mapped once (host address ram). */
	int ram_fd;
	void *ram;
	uint64_t ram_size;      /* total, as given by -m */
	uint64_t ram_below_4g;  /* [0, ram_below_4g) is RAM, rest at 4 GiB */

	struct physmap *map;    /* RCU-published; see physmap.h */
	pthread_mutex_t map_lock; /* serialises map writers */

	struct device *devices; /* reset/save/load walk this list */
	struct irqchip irqchip;
	/* The board's interrupt wiring (irq.h), which the engine's irqchip
	 * and the PCI devices follow; set before the engine's init. */
	const struct irq_routing *irq_routing;

	struct accel *accel;    /* NULL in unit tests */
	struct vcpu **vcpus;
	unsigned nr_vcpus;

	struct mainloop *loop;  /* NULL in unit tests */

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
	/* qvm itself boots the guest (-kernel): leave the BSP's LAPIC in the
	 * virtual-wire mode firmware would have set up */
	bool firmware_setup;
	void *board;            /* the machine type's own state (pc.c) */
};

/* A bare machine: RAM of ram_size, an empty map, no engine, no vCPUs. */
struct machine *machine_new(uint64_t ram_size);
void machine_free(struct machine *m);

/* Register a device for reset/save/load/destroy (in that order of adding). */
void machine_add_device(struct machine *m, const struct device_ops *ops, void *dev);
void machine_reset_devices(struct machine *m);
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

#endif
