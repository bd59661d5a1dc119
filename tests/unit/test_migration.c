/* The state stream (user/migration/): framing, the CPU state encoding and
 * whole-machine save/load on small machines with a stand-in engine, and
 * streams cut short, corrupted, of another version or another machine:
 * each refused with one line. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "accel.h"
#include "machine.h"
#include "hw/hw.h"
#include "migration/stream.h"
#include "migration/vmstate.h"

#define RAM (8u << 20)
#define NCPU 2

/* ---- a stand-in engine: vCPU state kept in the vcpu's accel_state ---- */

static int fake_get(struct vcpu *v, struct x86_cpu_state *s)
{
	*s = *(struct x86_cpu_state *)v->accel_state;
	return 0;
}

static int fake_set(struct vcpu *v, const struct x86_cpu_state *s)
{
	*(struct x86_cpu_state *)v->accel_state = *s;
	return 0;
}

static int fake_save(struct machine *m, struct state_buf *s)
{
	(void)m;
	state_put_u32(s, 0xfeedf00d);
	return 0;
}

static int fake_load(struct machine *m, struct state_buf *s)
{
	(void)m;
	return state_get_u32(s) == 0xfeedf00d && !s->error ? 0 : -1;
}

static const struct accel_ops fake_ops = {
	.name = "fake", .get_state = fake_get, .set_state = fake_set,
	.save = fake_save, .load = fake_load,
};
static const struct accel_ops other_ops = {
	.name = "other", .get_state = fake_get, .set_state = fake_set,
	.save = fake_save, .load = fake_load,
};

static uint64_t rnd_state = 0x12345678;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A state with every field set to something that is not its default. */
static void random_state(struct x86_cpu_state *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 16; i++)
		s->regs[i] = rnd();
	s->rip = rnd(), s->rflags = rnd();
	for (int i = 0; i < S_NR; i++)
		s->seg[i] = (struct x86_segment){ .base = rnd(), .limit = rnd(),
			.selector = rnd(), .type = rnd() & 15, .s = 1, .dpl = 3, .present = 1,
			.db = 1, .g = 1 };
	s->tr.base = rnd(), s->ldt.unusable = true;
	s->gdt = (struct x86_dtable){ rnd(), 0x7f }, s->idt = (struct x86_dtable){ rnd(), 0xfff };
	s->cr0 = rnd(), s->cr3 = rnd(), s->cr4 = rnd(), s->efer = rnd(), s->apic_base = rnd();
	for (unsigned i = 0; i < 8; i++)
		s->dr[i] = rnd();
	s->xcr0 = 7, s->star = rnd(), s->lstar = rnd(), s->kernel_gs_base = rnd();
	s->tsc = rnd(), s->tsc_deadline = rnd(), s->misc_enable = rnd(), s->pat = rnd();
	s->pkrs = rnd() & 0xffffffff;
	s->mtrr.cap = 0x508, s->mtrr.def_type = 0xc06;
	for (unsigned i = 0; i < MTRR_FIXED_NR; i++)
		s->mtrr.fixed[i] = rnd();
	for (unsigned i = 0; i < 2 * MTRR_VAR_NR; i++)
		s->mtrr.var[i] = rnd();
	for (unsigned i = 0; i < XSAVE_AREA_SIZE; i++)
		s->xsave[i] = rnd();
	s->ev = (struct x86_events){ .irq_injected = true, .irq_vector = 0x31, .shadow = 1,
				     .nmi_masked = true, .exc_vector = 14, .exc_error = 2 };
	s->mp_state = MP_HALTED, s->halted = true;
	s->has_lapic = true;
	for (unsigned i = 0; i < LAPIC_PAGE_SIZE; i++)
		s->lapic[i] = rnd();
}

static struct machine *fake_machine(uint64_t ram, unsigned ncpu, const struct accel_ops *ops)
{
	struct machine *m = machine_new(ram);
	if (!m)
		return NULL;
	m->accel = calloc(1, sizeof(*m->accel));
	m->accel->ops = ops;
	m->nr_vcpus = ncpu;
	m->vcpus = calloc(ncpu, sizeof(*m->vcpus));
	for (unsigned i = 0; i < ncpu; i++) {
		m->vcpus[i] = calloc(1, sizeof(struct vcpu));
		m->vcpus[i]->m = m;
		m->vcpus[i]->index = i;
		m->vcpus[i]->accel_state = calloc(1, sizeof(struct x86_cpu_state));
	}
	port80_new(m);
	return m;
}

static void fake_free(struct machine *m)
{
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		free(m->vcpus[i]->accel_state);
		free(m->vcpus[i]);
	}
	free(m->accel);
	machine_free(m);
}

static struct x86_cpu_state *cpu_of(struct machine *m, unsigned i)
{
	return m->vcpus[i]->accel_state;
}

/* A machine worth saving: RAM with data in some pages, a device value,
 * distinct vCPU states. */
static struct machine *source_machine(void)
{
	struct machine *m = fake_machine(RAM, NCPU, &fake_ops);
	if (!m)
		return NULL;
	uint8_t *ram = m->ram;
	for (unsigned p = 0; p < RAM / 4096; p += 3)
		memset(ram + p * 4096 + (p % 7) * 100, p & 0xff ? p & 0xff : 1, 50);
	ram[RAM - 1] = 0x5a;
	uint64_t v = 0x77;
	machine_pio(m, 0x80, true, &v, 1);
	for (unsigned i = 0; i < NCPU; i++)
		random_state(cpu_of(m, i));
	return m;
}

/* The stream of m in a malloc'ed buffer. */
static uint8_t *save_to_buf(struct machine *m, size_t *len)
{
	char err[256] = "";
	int fd = memfd_create("stream", 0);
	uint64_t bytes = 0;
	if (fd < 0 || vm_save(m, fd, &bytes, err, sizeof(err)) < 0)
		return NULL;
	uint8_t *p = malloc(bytes);
	if (pread(fd, p, bytes, 0) != (ssize_t)bytes) {
		free(p);
		p = NULL;
	}
	close(fd);
	*len = bytes;
	return p;
}

/* Load bytes into m: 0 or -1, err one line. */
static int load_from_buf(struct machine *m, const void *p, size_t len, char *err, size_t n)
{
	int fd = memfd_create("stream", 0);
	if (fd < 0 || write(fd, p, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0)
		return -2;
	err[0] = 0;
	int r = vm_load(m, fd, err, n);
	close(fd);
	return r;
}

static bool one_line(const char *err)
{
	return err[0] && !strchr(err, '\n');
}

static bool same_cpu(const struct x86_cpu_state *a, const struct x86_cpu_state *b)
{
	struct state_buf x, y;
	state_init(&x);
	state_init(&y);
	cpu_state_put(&x, a);
	cpu_state_put(&y, b);
	bool same = x.len == y.len && !memcmp(x.data, y.data, x.len);
	state_free(&x);
	state_free(&y);
	return same;
}

/* Offset of the n-th section header (0 = the first after the header). */
static size_t section_at(const uint8_t *p, size_t len, unsigned n)
{
	size_t off = 16;
	for (unsigned i = 0; i < n && off + 16 <= len; i++) {
		uint64_t l;
		memcpy(&l, p + off + 8, 8);
		off += 16 + l;
	}
	return off;
}

TEST(migration_round_trip)
{
	struct machine *a = source_machine(), *b = fake_machine(RAM, NCPU, &fake_ops);
	CHECK(a && b);
	memset(b->ram, 0xcc, RAM);              /* what a loader put there */
	size_t len;
	uint8_t *st = save_to_buf(a, &len);
	CHECK(st);
	CHECK(len < RAM / 2);                   /* zero pages stay out */
	CHECK(!memcmp(st, "QVMSTATE\1\0\0\0\0\0\0\0", 16));
	char err[256];
	CHECK_EQ(load_from_buf(b, st, len, err, sizeof(err)), 0);
	CHECK(!memcmp(a->ram, b->ram, RAM));
	uint64_t v = 0;
	machine_pio(b, 0x80, false, &v, 1);
	CHECK_EQ(v, 0x77);
	for (unsigned i = 0; i < NCPU; i++)
		CHECK(same_cpu(cpu_of(a, i), cpu_of(b, i)));
	CHECK(!same_cpu(cpu_of(b, 0), cpu_of(b, 1)));
	free(st);
	fake_free(a);
	fake_free(b);
}

TEST(migration_cpu_state_encoding)
{
	struct x86_cpu_state s, t;
	struct state_buf b;
	random_state(&s);
	state_init(&b);
	cpu_state_put(&b, &s);
	state_rewind(&b);
	CHECK_EQ(cpu_state_get(&b, &t), 0);
	CHECK_EQ(b.pos, b.len);
	CHECK(!memcmp(s.xsave, t.xsave, XSAVE_AREA_SIZE) && !memcmp(s.lapic, t.lapic, LAPIC_PAGE_SIZE));
	CHECK(same_cpu(&s, &t));
	/* every shorter buffer is refused */
	size_t full = b.len;
	for (size_t n = 0; n < full; n += 97) {
		b.len = n;
		state_rewind(&b);
		CHECK_EQ(cpu_state_get(&b, &t), -1);
	}
	state_free(&b);
	/* out-of-range fields: a run state, a segment type, a boolean */
	s.mp_state = MP_STATE_NR;
	state_init(&b);
	cpu_state_put(&b, &s);
	state_rewind(&b);
	CHECK_EQ(cpu_state_get(&b, &t), -1);
	state_free(&b);
	random_state(&s);
	s.seg[S_CS].present = 2;
	state_init(&b);
	cpu_state_put(&b, &s);
	state_rewind(&b);
	CHECK_EQ(cpu_state_get(&b, &t), -1);
	state_free(&b);
	random_state(&s);
	s.ev.shadow = 9;
	state_init(&b);
	cpu_state_put(&b, &s);
	state_rewind(&b);
	CHECK_EQ(cpu_state_get(&b, &t), -1);
	state_free(&b);
}

TEST(migration_truncated_refused)
{
	struct machine *a = source_machine(), *b = fake_machine(RAM, NCPU, &fake_ops);
	CHECK(a && b);
	size_t len;
	uint8_t *st = save_to_buf(a, &len);
	CHECK(st);
	char err[256];
	/* the header, each section's header and payload, the end marker */
	size_t cuts[] = { 0, 7, 15, 16, 20, 31, 32, 40, len / 3, len / 2, len - 17, len - 16,
			  len - 1 };
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		CHECK_EQ(load_from_buf(b, st, cuts[i], err, sizeof(err)), -1);
		CHECK(one_line(err));
	}
	for (unsigned s = 0; s < 5; s++) {
		size_t off = section_at(st, len, s);
		CHECK_EQ(load_from_buf(b, st, off + 8, err, sizeof(err)), -1);
		CHECK(strstr(err, "truncated"));
	}
	free(st);
	fake_free(a);
	fake_free(b);
}

TEST(migration_corrupt_refused)
{
	struct machine *a = source_machine(), *b = fake_machine(RAM, NCPU, &fake_ops);
	CHECK(a && b);
	size_t len;
	uint8_t *st = save_to_buf(a, &len);
	CHECK(st);
	uint8_t *bad = malloc(len + 64);
	char err[256];

	memcpy(bad, st, len);
	bad[0] = 'X';
	CHECK_EQ(load_from_buf(b, bad, len, err, sizeof(err)), -1);
	CHECK(strstr(err, "magic"));

	memcpy(bad, st, len);
	bad[8] = 2;                              /* version 2 */
	CHECK_EQ(load_from_buf(b, bad, len, err, sizeof(err)), -1);
	CHECK(strstr(err, "version 2") && one_line(err));

	/* the RAM section's first run placed beyond RAM */
	memcpy(bad, st, len);
	size_t ram = section_at(st, len, 1);
	CHECK_EQ(bad[ram], STREAM_SEC_RAM);
	uint64_t far = RAM;
	memcpy(bad + ram + 16, &far, 8);
	CHECK_EQ(load_from_buf(b, bad, len, err, sizeof(err)), -1);
	CHECK(strstr(err, "outside RAM"));

	/* a section length larger than the reader takes */
	memcpy(bad, st, len);
	size_t dev = section_at(st, len, 2);
	CHECK_EQ(bad[dev], STREAM_SEC_DEVICES);
	uint64_t huge = ~0ULL;
	memcpy(bad + dev + 8, &huge, 8);
	CHECK_EQ(load_from_buf(b, bad, len, err, sizeof(err)), -1);
	CHECK(strstr(err, "larger"));

	/* the device state changed in its payload: its version byte */
	memcpy(bad, st, len);
	bad[dev + 16 + strlen("port80") + 1] ^= 0x40;
	CHECK_EQ(load_from_buf(b, bad, len, err, sizeof(err)), -1);
	CHECK(strstr(err, "devices") && one_line(err));

	/* an unknown section: refused, or skipped when marked optional */
	size_t end = len - 16;
	memcpy(bad, st, end);
	uint8_t extra[16 + 8] = { 99, 0, 0, 0, 0, 0, 0, 0, 8 };
	memcpy(bad + end, extra, sizeof(extra));
	memcpy(bad + end + sizeof(extra), st + end, 16);
	CHECK_EQ(load_from_buf(b, bad, len + sizeof(extra), err, sizeof(err)), -1);
	CHECK(strstr(err, "unknown section 99"));
	bad[end + 4] = STREAM_SEC_OPTIONAL;
	CHECK_EQ(load_from_buf(b, bad, len + sizeof(extra), err, sizeof(err)), 0);

	/* a CPU section left out: the end comes too early */
	size_t cpu1 = section_at(st, len, 5);
	memcpy(bad, st, cpu1);
	memcpy(bad + cpu1, st + end, 16);
	CHECK_EQ(load_from_buf(b, bad, cpu1 + 16, err, sizeof(err)), -1);
	CHECK(strstr(err, "vCPU"));

	/* a section twice */
	memcpy(bad, st, ram);
	size_t mach = section_at(st, len, 0);
	memcpy(bad + ram, st + mach, ram - mach);
	memcpy(bad + 2 * ram - mach, st + ram, len - ram);
	CHECK_EQ(load_from_buf(b, bad, len + ram - mach, err, sizeof(err)), -1);
	CHECK(strstr(err, "twice"));
	free(bad);
	free(st);
	fake_free(a);
	fake_free(b);
}

TEST(migration_other_machine_refused)
{
	struct machine *a = source_machine();
	CHECK(a);
	size_t len;
	uint8_t *st = save_to_buf(a, &len);
	CHECK(st);
	char err[256];
	struct machine *m = fake_machine(2 * RAM, NCPU, &fake_ops);
	CHECK_EQ(load_from_buf(m, st, len, err, sizeof(err)), -1);
	CHECK(strstr(err, "-m") && one_line(err));
	fake_free(m);
	m = fake_machine(RAM, NCPU + 1, &fake_ops);
	CHECK_EQ(load_from_buf(m, st, len, err, sizeof(err)), -1);
	CHECK(strstr(err, "-smp"));
	fake_free(m);
	m = fake_machine(RAM, NCPU, &other_ops);
	CHECK_EQ(load_from_buf(m, st, len, err, sizeof(err)), -1);
	CHECK(strstr(err, "-accel fake"));
	fake_free(m);
	free(st);
	fake_free(a);
}

/* Streams a bit or a length away from a good one: whatever they say, a
 * load returns 0 or -1 with one line, and never reads or writes outside
 * what it was given (the ASan build checks that). */
TEST(migration_mutated_streams)
{
	struct machine *a = source_machine(), *b = fake_machine(RAM, NCPU, &fake_ops);
	CHECK(a && b);
	size_t len;
	uint8_t *st = save_to_buf(a, &len);
	CHECK(st);
	uint8_t *bad = malloc(len);
	char err[256];
	/* the framing and small sections, where the parsers are: not the RAM */
	size_t dev = section_at(st, len, 2);
	unsigned refused = 0;
	for (unsigned i = 0; i < 150; i++) {
		memcpy(bad, st, len);
		size_t at = rnd() % 48;                 /* header, machine section */
		if (i % 2)
			at = dev + rnd() % (len - dev); /* devices, engine, CPUs, end */
		bad[at] ^= 1u << (rnd() % 8);
		if (i % 5 == 0)
			bad[at] = 0xff;
		int r = load_from_buf(b, bad, len, err, sizeof(err));
		CHECK(r == 0 || (r == -1 && one_line(err)));
		refused += r == -1;
	}
	CHECK(refused > 40);
	free(bad);
	free(st);
	fake_free(a);
	fake_free(b);
}
