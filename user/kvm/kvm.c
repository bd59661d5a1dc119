/*
 * The KVM engine: /dev/kvm with the in-kernel LAPIC, IOAPIC, PIC and PIT;
 * guest memory as KVM memory slots; one KVM_RUN loop per vCPU thread that
 * handles its own port-I/O and MMIO exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "config.h"
#include "kvm/kvm.h"

#define KVM_TSS_ADDR 0xfeffd000ULL    /* 3 pages, below the BIOS area */
#define KVM_IDMAP_ADDR 0xfeffc000ULL

/* Is the KVM here backed by VT-x/AMD-V?  A /dev/kvm on a CPU without vmx
 * or svm (a software backend such as PVM) emulates guest kernel code. */
static bool cpu_has_hw_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	bool found = false;
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = strstr(line, " vmx") || strstr(line, " svm");
		break;
	}
	fclose(f);
	return found;
}

static bool kvm_available(char *why, size_t why_len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_len, "/dev/kvm: %s", strerror(errno));
		return false;
	}
	close(fd);
	if (!cpu_has_hw_virt()) {
		snprintf(why, why_len, "/dev/kvm is software-backed (no vmx/svm in the CPU)");
		return false;
	}
	return true;
}

/* True when /dev/kvm opens, whatever backs it. */
static bool kvm_device_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
	{ KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM" },
};

static int kvm_check_caps(struct kvm_vm *k)
{
	int version = ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		qvm_error("/dev/kvm: API version %d, qvm needs %d", version, KVM_API_VERSION);
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++) {
		if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			qvm_error("KVM lacks %s, which qvm needs", required_caps[i].name);
			return -1;
		}
	}
	k->max_vcpus = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = 4; /* what KVM guaranteed before it could say */
	return 0;
}

static int kvm_create_devices(struct kvm_vm *k, const struct irq_routing *routing,
			      unsigned nr_cpus)
{
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ KVM_IDMAP_ADDR }) < 0) {
		qvm_error("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		qvm_error("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		qvm_error("KVM_CREATE_PIT2: %s", strerror(errno));
		return -1;
	}
	if (kvm_setup_routing(k, routing) < 0)
		return -1;
	/* Keep the power-on state for resets.  The IOAPIC ID is set to the
	 * vCPU count, the ID the MP table and MADT give it. */
	for (int i = 0; i < 3; i++) {
		k->chip_init[i].chip_id = i;
		if (ioctl(k->vm_fd, KVM_GET_IRQCHIP, &k->chip_init[i]) < 0) {
			qvm_error("KVM_GET_IRQCHIP: %s", strerror(errno));
			return -1;
		}
	}
	k->chip_init[KVM_IRQCHIP_IOAPIC].chip.ioapic.id = nr_cpus;
	if (ioctl(k->vm_fd, KVM_GET_PIT2, &k->pit_init) < 0) {
		qvm_error("KVM_GET_PIT2: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int kvm_set_slot(struct kvm_vm *k, unsigned id, const struct kvm_slot *s)
{
	struct kvm_userspace_memory_region r = {
		.slot = id, .flags = s->flags, .guest_phys_addr = s->gpa,
		.memory_size = s->used ? s->size : 0,
		.userspace_addr = (uintptr_t)s->host,
	};
	if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		qvm_error("KVM_SET_USER_MEMORY_REGION 0x%llx+0x%llx: %s",
			  (unsigned long long)s->gpa, (unsigned long long)s->size,
			  strerror(errno));
		return -1;
	}
	return 0;
}

static bool slot_matches(const struct kvm_slot *s, const struct region *r)
{
	uint32_t flags = r->kind == REGION_ROM ? KVM_MEM_READONLY : 0;
	return s->used && s->gpa == r->base && s->size == r->len &&
	       s->host == r->host && s->flags == flags;
}

/* Bring the slots in line with the RAM and ROM regions of the map. */
static int kvm_memory_changed(struct machine *m)
{
	struct kvm_vm *k = kvm_of(m);
	pthread_mutex_lock(&m->map_lock);
	const struct physmap *map = m->map;
	int ret = 0;
	for (unsigned id = 0; id < KVM_MAX_SLOTS; id++) {
		struct kvm_slot *s = &k->slots[id];
		bool keep = false;
		for (unsigned i = 0; s->used && i < map->n; i++)
			keep |= slot_matches(s, &map->regions[i]);
		if (s->used && !keep) {
			s->used = false;
			ret |= kvm_set_slot(k, id, s);
		}
	}
	for (unsigned i = 0; i < map->n; i++) {
		const struct region *r = &map->regions[i];
		if (r->kind != REGION_RAM && r->kind != REGION_ROM)
			continue;
		unsigned id, free_id = KVM_MAX_SLOTS;
		for (id = 0; id < KVM_MAX_SLOTS; id++) {
			if (slot_matches(&k->slots[id], r))
				break;
			if (!k->slots[id].used && free_id == KVM_MAX_SLOTS)
				free_id = id;
		}
		if (id < KVM_MAX_SLOTS)
			continue;
		if (free_id == KVM_MAX_SLOTS) {
			qvm_error("out of KVM memory slots");
			ret = -1;
			break;
		}
		k->slots[free_id] = (struct kvm_slot){
			.used = true, .gpa = r->base, .size = r->len, .host = r->host,
			.flags = r->kind == REGION_ROM ? KVM_MEM_READONLY : 0,
		};
		ret |= kvm_set_slot(k, free_id, &k->slots[free_id]);
	}
	pthread_mutex_unlock(&m->map_lock);
	return ret ? -1 : 0;
}

static void kvm_destroy(struct machine *m)
{
	struct kvm_vm *k = m->accel ? m->accel->state : NULL;
	if (!k)
		return;
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	free(k->supported_cpuid);
	free(k);
	m->accel->state = NULL;
}

static int kvm_init(struct machine *m)
{
	struct kvm_vm *k = calloc(1, sizeof(*k));
	if (!k)
		return -1;
	m->accel->state = k;
	k->vm_fd = -1;
	k->hw_virt = cpu_has_hw_virt();
	k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm_fd < 0) {
		qvm_error("/dev/kvm: %s%s", strerror(errno),
			  errno == EACCES ? " (add yourself to the kvm group)" : "");
		return -1;
	}
	if (kvm_check_caps(k) < 0)
		return -1;
	if ((int)m->cfg->smp_max_cpus > k->max_vcpus) {
		qvm_error("-smp %u: KVM allows at most %d vCPUs on this host",
			  m->cfg->smp_max_cpus, k->max_vcpus);
		return -1;
	}
	k->run_size = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0 || k->run_size <= 0) {
		qvm_error("KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	if (kvm_create_devices(k, m->irq_routing, m->cfg->smp_cpus) < 0 || kvm_cpuid_init(m) < 0)
		return -1;
	kvm_irqchip_attach(m, k);
	qvm_log(LOG_ACCEL, "kvm: API %d, up to %d vCPUs, %s", KVM_API_VERSION,
		k->max_vcpus, k->hw_virt ? "hardware virtualization" :
		"software-backed (no vmx/svm): guest kernel code is emulated");
	return kvm_memory_changed(m);
}

static int kvm_vcpu_init(struct vcpu *v)
{
	struct kvm_vm *k = kvm_of(v->m);
	struct kvm_vcpu *kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -1;
	v->accel_state = kv;
	kv->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, v->index);
	if (kv->fd < 0) {
		qvm_error("KVM_CREATE_VCPU %u: %s", v->index, strerror(errno));
		return -1;
	}
	kv->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
	if (kv->run == MAP_FAILED) {
		kv->run = NULL;
		qvm_error("mmap kvm_run: %s", strerror(errno));
		return -1;
	}
	return kvm_cpuid_set(v);
}

static void kvm_vcpu_destroy(struct vcpu *v)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(v);
	if (!kv)
		return;
	if (kv->run)
		munmap(kv->run, kvm_of(v->m)->run_size);
	if (kv->fd >= 0)
		close(kv->fd);
	free(kv);
	v->accel_state = NULL;
}

static void kick_signal(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

static int kvm_vcpu_thread_init(struct vcpu *v)
{
	(void)v;
	struct sigaction sa = { .sa_handler = kick_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: KVM_RUN returns EINTR */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}

static void kvm_kick(struct vcpu *v)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(v);
	__atomic_store_n(&v->kicked, true, __ATOMIC_SEQ_CST);
	if (kv && kv->run)
		__atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (v->thread_started)
		pthread_kill(v->thread, SIGUSR1);
}

static void handle_io(struct vcpu *v, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned size = run->io.size;
	v->pio_exits++;
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint64_t val = 0;
		if (is_write)
			memcpy(&val, data, size);
		bool hit = machine_pio(v->m, run->io.port, is_write, &val, size);
		if (!is_write)
			memcpy(data, &val, size);
		if (!hit)
			qvm_log(LOG_UNIMP, "cpu %u: %s unassigned port 0x%x size %u%s", v->index,
				is_write ? "write to" : "read from", run->io.port, size,
				is_write ? "" : " (reads all ones)");
		else
			qvm_log(LOG_IOPORT, "cpu %u: %s port 0x%x size %u value 0x%llx", v->index,
				is_write ? "out" : "in", run->io.port, size,
				(unsigned long long)val);
	}
}

static void handle_mmio(struct vcpu *v, struct kvm_run *run)
{
	uint64_t val = 0;
	unsigned len = MIN(run->mmio.len, 8);
	v->mmio_exits++;
	if (run->mmio.is_write)
		memcpy(&val, run->mmio.data, len);
	bool hit = machine_mmio(v->m, run->mmio.phys_addr, run->mmio.is_write, &val, len);
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &val, len);
	qvm_log(hit ? LOG_MMIO : LOG_UNIMP, "cpu %u: mmio %s 0x%llx size %u value 0x%llx%s",
		v->index, run->mmio.is_write ? "write" : "read",
		(unsigned long long)run->mmio.phys_addr, len, (unsigned long long)val,
		hit ? "" : " (unassigned)");
}

/* -d cpu: the vCPU's registers, at an exit that ends or resets it */
static void kvm_log_cpu(struct vcpu *v)
{
	struct x86_cpu_state s;
	if (log_enabled(LOG_CPU) && kvm_get_state(v, &s) == 0)
		x86_cpu_dump(&s, NULL, NULL);
}

static enum vcpu_exit kvm_fatal_exit(struct vcpu *v, struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_FAIL_ENTRY:
		qvm_error("cpu %u: KVM entry failed, hardware reason 0x%llx", v->index,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		qvm_error("cpu %u: KVM internal error, suberror %u%s", v->index,
			  run->internal.suberror,
			  run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			  " (instruction emulation failed)" : "");
		break;
	default:
		qvm_error("cpu %u: unhandled KVM exit reason %u", v->index, run->exit_reason);
	}
	kvm_log_cpu(v);
	return VCPU_EXIT_ERROR;
}

static enum vcpu_exit kvm_vcpu_run(struct vcpu *v)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(v);
	struct kvm_run *run = kv->run;
	int r = ioctl(kv->fd, KVM_RUN, 0);
	int err = errno;
	__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->kicked, false, __ATOMIC_SEQ_CST);
	if (r < 0) {
		if (err == EINTR || err == EAGAIN)
			return VCPU_EXIT_AGAIN;
		qvm_error("cpu %u: KVM_RUN: %s", v->index, strerror(err));
		return VCPU_EXIT_ERROR;
	}
	v->exits++;
	qvm_log(LOG_EXEC, "cpu %u: exit reason %u", v->index, run->exit_reason);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v, run);
		return VCPU_EXIT_AGAIN;
	case KVM_EXIT_MMIO:
		handle_mmio(v, run);
		return VCPU_EXIT_AGAIN;
	case KVM_EXIT_INTR:
		return VCPU_EXIT_AGAIN;
	case KVM_EXIT_HLT:
		return VCPU_EXIT_HALT;
	case KVM_EXIT_SHUTDOWN:
		qvm_log(LOG_INT, "cpu %u: triple fault, resetting", v->index);
		kvm_log_cpu(v);
		return VCPU_EXIT_RESET;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			return VCPU_EXIT_RESET;
		machine_request(v->m, REQ_SHUTDOWN, 0);
		return VCPU_EXIT_AGAIN;
	default:
		return kvm_fatal_exit(v, run);
	}
}

/*
 * KVM keeps two things outside the state its GET ioctls return until the
 * next KVM_RUN: the end of an instruction that exited to qvm for I/O (its
 * IN result, its RIP past it), and a LAPIC timer that expired while the
 * vCPU was out of KVM_RUN (a count in the kernel, not yet an IRR bit).
 * A state read after a pause and loaded elsewhere would repeat that I/O,
 * and would hold that timer only as a one-shot with TMCCT 0 (which the
 * KVM_SET_LAPIC of Linux 6.1 happens to fire again at once; the IRR bit
 * says what happened).  KVM_RUN entered with a signal pending (unmasked
 * only inside it by KVM_SET_SIGNAL_MASK) completes the I/O, moves the
 * expired timer into the IRR and returns EINTR without running a guest
 * instruction
 * (Documentation/virt/kvm/api.rst: the note on KVM_EXIT_IO and
 * KVM_EXIT_MMIO in "The kvm_run structure").  Called on a thread that is
 * not the vCPU's, with the vCPU parked.  0, or -1 with a message.
 */
int kvm_vcpu_settle(struct vcpu *v)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(v);
	uint64_t buf[2] = { 0 }, set = 0; /* the kernel's sigset_t: a bit per signal */
	struct kvm_signal_mask *inside = (struct kvm_signal_mask *)buf;
	sigset_t kick, old;
	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &kick, &old);
	/* inside KVM_RUN: this thread's mask but SIGUSR1 */
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGUSR1 && sigismember(&old, sig) == 1)
			set |= 1ULL << (sig - 1);
	inside->len = sizeof(set);
	memcpy(inside->sigset, &set, sizeof(set));
	int r = ioctl(kv->fd, KVM_SET_SIGNAL_MASK, inside);
	if (r == 0) {
		pthread_kill(pthread_self(), SIGUSR1); /* pending: blocked here */
		/* a kick that came after the vCPU's last KVM_RUN would end
		 * this one before the timer is looked at */
		__atomic_store_n(&kv->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		/* a string I/O goes on with its next part before EINTR */
		while ((r = ioctl(kv->fd, KVM_RUN, 0)) == 0) {
			if (kv->run->exit_reason == KVM_EXIT_IO)
				handle_io(v, kv->run);
			else if (kv->run->exit_reason == KVM_EXIT_MMIO)
				handle_mmio(v, kv->run);
			else
				break;
		}
		if (r < 0 && errno == EINTR)
			r = 0;
		else if (r < 0)
			qvm_error("cpu %u: KVM_RUN to settle the state: %s", v->index, strerror(errno));
		else
			qvm_log(LOG_UNIMP, "cpu %u: exit %u while settling the state", v->index,
				kv->run->exit_reason);
		ioctl(kv->fd, KVM_SET_SIGNAL_MASK, NULL);
		struct timespec none = { 0, 0 };
		while (sigtimedwait(&kick, NULL, &none) == SIGUSR1) {
			/* the signal raised above, or a kick meanwhile */
		}
	} else {
		qvm_error("cpu %u: KVM_SET_SIGNAL_MASK: %s", v->index, strerror(errno));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r < 0 ? -1 : 0;
}

static int kvm_settle_all(struct machine *m)
{
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		if (kvm_vcpu_settle(m->vcpus[i]) < 0)
			return -1;
	return 0;
}

static int kvm_vcpu_reset(struct vcpu *v)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(v);
	struct x86_cpu_state s;
	bool bsp = v->index == 0;
	x86_cpu_reset_state(&s, bsp);
	/* EDX holds the processor signature, CPUID.1:EAX (SDM Vol. 3, 10.1.2) */
	const struct kvm_cpuid2 *c = kvm_of(v->m)->supported_cpuid;
	for (unsigned i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == 1)
			s.regs[R_RDX] = c->entries[i].eax;
	if (kvm_set_state(v, &s) < 0 || kvm_lapic_reset(v) < 0)
		return -1;
	/* APs wait for INIT/SIPI from the guest (SDM Vol. 3, 10.4.1) */
	struct kvm_mp_state mp = { bsp ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED };
	if (ioctl(kv->fd, KVM_SET_MP_STATE, &mp) < 0) {
		qvm_error("KVM_SET_MP_STATE: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int kvm_machine_reset(struct machine *m)
{
	struct kvm_vm *k = kvm_of(m);
	for (int i = 0; i < 3; i++) {
		if (ioctl(k->vm_fd, KVM_SET_IRQCHIP, &k->chip_init[i]) < 0) {
			qvm_error("KVM_SET_IRQCHIP: %s", strerror(errno));
			return -1;
		}
	}
	if (ioctl(k->vm_fd, KVM_SET_PIT2, &k->pit_init) < 0) {
		qvm_error("KVM_SET_PIT2: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void kvm_info(struct machine *m, void (*print)(void *, const char *), void *opaque)
{
	struct kvm_vm *k = kvm_of(m);
	char line[256];
	snprintf(line, sizeof(line), "kvm support: enabled (API %d, %s)\n", KVM_API_VERSION,
		 k->hw_virt ? "hardware virtualization" :
		 "software-backed: no vmx/svm, guest kernel code is emulated");
	print(opaque, line);
	snprintf(line, sizeof(line), "in-kernel irqchip: LAPIC, IOAPIC, 8259 PIC; PIT: 8254\n"
		 "max vCPUs: %d; memory slots in use: ", k->max_vcpus);
	print(opaque, line);
	unsigned used = 0;
	for (unsigned i = 0; i < KVM_MAX_SLOTS; i++)
		used += k->slots[i].used;
	snprintf(line, sizeof(line), "%u\n", used);
	print(opaque, line);
}

const struct accel_ops kvm_accel_ops = {
	.name = "kvm",
	.available = kvm_available,
	.usable = kvm_device_usable,
	.init = kvm_init,
	.memory_changed = kvm_memory_changed,
	.vcpu_init = kvm_vcpu_init,
	.vcpu_thread_init = kvm_vcpu_thread_init,
	.vcpu_run = kvm_vcpu_run,
	.get_state = kvm_get_state,
	.save_state = kvm_save_state,
	.prepare_save = kvm_settle_all,
	.set_state = kvm_set_state,
	.vcpu_reset = kvm_vcpu_reset,
	.lapic_write = kvm_lapic_write,
	.msr_write = kvm_msr_write,
	.machine_reset = kvm_machine_reset,
	.save = kvm_engine_save,
	.load = kvm_engine_load,
	.kick = kvm_kick,
	.info = kvm_info,
	.info_kvm = kvm_info,
	.vcpu_destroy = kvm_vcpu_destroy,
	.destroy = kvm_destroy,
};
