/* The machine: guest RAM, devices, run control (see machine.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include "accel.h"
#include "cpu.h"
#include "machine.h"
#include "rcu.h"

/* Start of the PCI hole: RAM above it is moved to 4 GiB (design.md). */
#define PCI_HOLE_START 0xC0000000ULL

/* Guest RAM is anonymous memory (an engine may ask for transparent huge
 * pages on it: machine_ram_hugepages). */
static int ram_alloc(struct machine *m, uint64_t size)
{
	m->ram_fd = -1;
	m->ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	if (m->ram == MAP_FAILED) {
		m->ram = NULL;
		qvm_error("cannot map %llu bytes of guest RAM: %s",
			  (unsigned long long)size, strerror(errno));
		return -1;
	}
	m->ram_size = size;
	m->ram_below_4g = MIN(size, PCI_HOLE_START);
	return 0;
}

/* Back guest RAM with transparent huge pages where the host allows them
 * (madvise mode, as QEMU asks): a 2 MiB page costs one fault where 512
 * small ones would.  TCG asks for it; KVM does not, since a fault that
 * must first compact host memory stalls a vCPU for milliseconds (seen in
 * the nested test host, whose memory is small). */
void machine_ram_hugepages(struct machine *m)
{
	if (m->ram)
		madvise(m->ram, m->ram_size, MADV_HUGEPAGE);    /* a hint */
}

/* Replace the anonymous RAM mapping by a memfd of the same size mapped
 * MAP_SHARED at the same host address, so that another address space (a
 * kqemu backend) can map guest pages too.  Before anything is written to
 * RAM: the old contents are dropped. */
int machine_ram_share(struct machine *m)
{
	if (m->ram_fd >= 0)
		return 0;
	int fd = memfd_create("qvm-ram", MFD_CLOEXEC);
	if (fd < 0) {
		qvm_error("guest RAM: memfd_create: %s", strerror(errno));
		return -1;
	}
	if (ftruncate(fd, m->ram_size) < 0) {
		qvm_error("guest RAM: cannot size the memfd to %llu bytes: %s",
			  (unsigned long long)m->ram_size, strerror(errno));
		close(fd);
		return -1;
	}
	void *p = mmap(m->ram, m->ram_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		qvm_error("guest RAM: cannot map the memfd: %s", strerror(errno));
		close(fd);
		return -1;
	}
	m->ram_fd = fd;
	return 0;
}

struct machine *machine_new(uint64_t ram_size)
{
	struct machine *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->ram_fd = -1;
	m->request_fd = -1;
	pthread_mutex_init(&m->map_lock, NULL);
	pthread_mutex_init(&m->run_lock, NULL);
	pthread_cond_init(&m->run_cond, NULL);
	rcu_thread_online();
	m->map = physmap_new();
	m->request_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!m->map || m->request_fd < 0 || ram_alloc(m, ram_size) < 0) {
		machine_free(m);
		return NULL;
	}
	return m;
}

void machine_free(struct machine *m)
{
	if (!m)
		return;
	struct device *d = m->devices;
	while (d) {
		struct device *next = d->next;
		if (d->ops->destroy)
			d->ops->destroy(d->dev);
		free(d);
		d = next;
	}
	if (m->ram)
		munmap(m->ram, m->ram_size);
	if (m->ram_fd >= 0)
		close(m->ram_fd);
	if (m->request_fd >= 0)
		close(m->request_fd);
	/* snapshots replaced earlier are freed by the call_rcu thread */
	urcu_memb_barrier();
	physmap_free(m->map);
	machine_ram_listeners_free(m);
	pthread_mutex_destroy(&m->map_lock);
	pthread_mutex_destroy(&m->run_lock);
	pthread_cond_destroy(&m->run_cond);
	free(m->vcpus);
	free(m);
}

void machine_add_device(struct machine *m, const struct device_ops *ops, void *dev)
{
	struct device *d = calloc(1, sizeof(*d)), **tail = &m->devices;
	if (!d)
		qvm_die("out of memory");
	d->ops = ops;
	d->dev = dev;
	while (*tail)
		tail = &(*tail)->next;
	*tail = d;
}

void machine_reset_devices(struct machine *m)
{
	for (struct device *d = m->devices; d; d = d->next)
		if (d->ops->reset)
			d->ops->reset(d->dev);
}

void machine_quiesce_devices(struct machine *m)
{
	for (struct device *d = m->devices; d; d = d->next)
		if (d->ops->quiesce)
			d->ops->quiesce(d->dev);
}

void machine_save_devices(struct machine *m, struct state_buf *s)
{
	for (struct device *d = m->devices; d; d = d->next) {
		if (!d->ops->save)
			continue;
		/* name tag so a load into a different machine fails cleanly */
		state_put_bytes(s, d->ops->name, strlen(d->ops->name) + 1);
		d->ops->save(d->dev, s);
	}
}

int machine_load_devices(struct machine *m, struct state_buf *s)
{
	for (struct device *d = m->devices; d; d = d->next) {
		if (!d->ops->save)
			continue;
		size_t n = strlen(d->ops->name) + 1;
		char tag[64] = "";
		if (n > sizeof(tag))
			return -1;
		state_get_bytes(s, tag, n);
		if (s->error || memcmp(tag, d->ops->name, n) != 0)
			return -1;
		if (d->ops->load && d->ops->load(d->dev, s) < 0)
			return -1;
	}
	return s->error ? -1 : 0;
}

/* Later requests never weaken earlier ones (enum order: reset < poweroff
 * < shutdown < quit), so a guest cannot undo a user's quit; the first shutdown's
 * status is kept. */
void machine_request(struct machine *m, enum run_request req, int status)
{
	pthread_mutex_lock(&m->run_lock);
	if (req > m->request) {
		m->request = req;
		if (req == REQ_SHUTDOWN)
			m->exit_status = status;
	}
	pthread_mutex_unlock(&m->run_lock);
	/* A vCPU that resets or ends the machine leaves the guest now, so
	 * it executes nothing between its request and the main thread's
	 * answer (which may be late on a loaded host). */
	struct vcpu *self = vcpu_current();
	if (self && self->m == m && (req == REQ_RESET || req == REQ_SHUTDOWN)) {
		self->wait_for_main = true;
		vcpu_kick(self);
	}
	uint64_t one = 1;
	if (write(m->request_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: the main loop is awake anyway */
	}
}

enum run_request machine_take_request(struct machine *m, int *status)
{
	uint64_t cnt;
	if (read(m->request_fd, &cnt, sizeof(cnt)) < 0) {
		/* nothing pending */
	}
	pthread_mutex_lock(&m->run_lock);
	enum run_request r = m->request;
	if (status)
		*status = m->exit_status;
	m->request = REQ_NONE;
	pthread_mutex_unlock(&m->run_lock);
	return r;
}

static unsigned running_vcpus(struct machine *m)
{
	unsigned n = 0;
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		n += m->vcpus[i] && m->vcpus[i]->thread_started;
	return n;
}

void machine_pause(struct machine *m)
{
	pthread_mutex_lock(&m->run_lock);
	m->paused = true;
	pthread_cond_broadcast(&m->run_cond); /* vCPUs waiting on a reset */
	pthread_mutex_unlock(&m->run_lock);
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		if (m->vcpus[i] && m->vcpus[i]->thread_started)
			vcpu_kick(m->vcpus[i]);
	pthread_mutex_lock(&m->run_lock);
	while (m->parked < running_vcpus(m))
		pthread_cond_wait(&m->run_cond, &m->run_lock);
	pthread_mutex_unlock(&m->run_lock);
}

void machine_resume(struct machine *m)
{
	pthread_mutex_lock(&m->run_lock);
	m->paused = false;
	pthread_cond_broadcast(&m->run_cond);
	pthread_mutex_unlock(&m->run_lock);
}

void machine_set_board(struct machine *m, const struct board_ops *b)
{
	m->board_ops = b;
	m->irq_routing = b->irq_routing;
}

int machine_reset(struct machine *m)
{
	const struct accel_ops *ops = m->accel->ops;
	const struct board_ops *b = m->board_ops;
	qvm_log(LOG_INT, "machine reset");
	machine_pause(m);
	machine_reset_devices(m);
	if (ops->machine_reset(m) < 0)
		return -1;
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		if (ops->vcpu_reset(m->vcpus[i]) < 0)
			return -1;
	if (b && ((b->reset && b->reset(m) < 0) || (b->enter && b->enter(m) < 0)))
		return -1;
	pthread_mutex_lock(&m->run_lock);
	m->reset_count++;
	pthread_cond_broadcast(&m->run_cond);
	pthread_mutex_unlock(&m->run_lock);
	machine_resume(m);
	return 0;
}

int machine_powerdown(struct machine *m)
{
	const struct board_ops *b = m->board_ops;
	return b && b->powerdown ? b->powerdown(m) : -1;
}

void machine_shutdown(struct machine *m)
{
	const struct board_ops *b = m->board_ops;
	if (b && b->shutdown)
		b->shutdown(m);
}
