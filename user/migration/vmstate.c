/* A whole machine in the state stream (see vmstate.h, stream.h). */
#include <sys/mman.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accel.h"
#include "machine.h"
#include "memory.h"
#include "migration/stream.h"
#include "migration/vmstate.h"

#define MACHINE_SECTION_VERSION 1
#define PAGE 4096ULL

struct ram_run {
	uint64_t off, len;
};

/* ---- saving ---- */

static bool page_is_zero(const uint8_t *p, size_t n)
{
	const uint64_t *q = (const uint64_t *)p;
	for (size_t i = 0; i < n / 8; i++)
		if (q[i])
			return false;
	return true;
}

/* Runs of pages with something in them; the zero pages stay out. */
static struct ram_run *ram_runs(struct machine *m, size_t *nr)
{
	struct ram_run *runs = NULL;
	size_t n = 0, cap = 0;
	const uint8_t *ram = m->ram;
	for (uint64_t off = 0; off < m->ram_size; off += PAGE) {
		uint64_t len = MIN(PAGE, m->ram_size - off);
		if (page_is_zero(ram + off, len))
			continue;
		if (n && runs[n - 1].off + runs[n - 1].len == off) {
			runs[n - 1].len += len;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			struct ram_run *r = realloc(runs, cap * sizeof(*r));
			if (!r) {
				free(runs);
				return NULL;
			}
			runs = r;
		}
		runs[n++] = (struct ram_run){ off, len };
	}
	*nr = n;
	return runs ? runs : calloc(1, sizeof(*runs));
}

static int save_ram(struct machine *m, struct stream_writer *w)
{
	size_t nr;
	struct ram_run *runs = ram_runs(m, &nr);
	if (!runs)
		return stream_wfail(w, "out of memory");
	uint64_t len = 0;
	for (size_t i = 0; i < nr; i++)
		len += 16 + runs[i].len;
	stream_begin_section(w, STREAM_SEC_RAM, 0, len);
	for (size_t i = 0; i < nr; i++) {
		struct state_buf h;
		state_init(&h);
		state_put_u64(&h, runs[i].off);
		state_put_u64(&h, runs[i].len);
		if (h.error)
			stream_wfail(w, "out of memory");
		stream_write(w, h.data, h.len);
		state_free(&h);
		stream_write(w, (uint8_t *)m->ram + runs[i].off, runs[i].len);
	}
	free(runs);
	return w->failed ? -1 : 0;
}

static int put_buf(struct stream_writer *w, uint32_t id, struct state_buf *b)
{
	if (b->error)
		stream_wfail(w, "out of memory");
	stream_write_section(w, id, 0, b->data, b->len);
	state_free(b);
	return w->failed ? -1 : 0;
}

static int save_machine_section(struct machine *m, struct stream_writer *w)
{
	struct state_buf b;
	const char *engine = m->accel->ops->name;
	state_init(&b);
	state_put_u8(&b, MACHINE_SECTION_VERSION);
	state_put_u8(&b, strlen(engine));
	state_put_bytes(&b, engine, strlen(engine));
	state_put_u64(&b, m->ram_size);
	state_put_u64(&b, m->ram_below_4g);
	state_put_u32(&b, m->nr_vcpus);
	return put_buf(w, STREAM_SEC_MACHINE, &b);
}

/* Each vCPU's section, read into cpus[] (m->nr_vcpus of them). */
static int read_cpus(struct machine *m, struct stream_writer *w, struct state_buf *cpus)
{
	static struct x86_cpu_state s;  /* main thread only; 6 KiB */
	const struct accel_ops *ops = m->accel->ops;
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		if ((ops->save_state ? ops->save_state : ops->get_state)(m->vcpus[i], &s) < 0)
			return stream_wfail(w, "cpu %u: its state cannot be read", i);
		state_put_u32(&cpus[i], i);
		cpu_state_put(&cpus[i], &s);
	}
	return 0;
}

/*
 * The vCPUs are paused.  The engine finishes what they left half done
 * first (an I/O instruction's end, which may write RAM or a device), so
 * RAM and devices are saved as they then are.  The vCPUs are read before
 * the engine's own devices: reading may hand the CPU an interrupt from
 * the in-kernel PIC, which is then saved as acknowledged.
 */
int vm_save(struct machine *m, int fd, uint64_t *bytes, char *err, size_t err_len)
{
	const struct accel_ops *ops = m->accel->ops;
	struct stream_writer w;
	struct state_buf b;
	struct state_buf *cpus = calloc(m->nr_vcpus ? m->nr_vcpus : 1, sizeof(*cpus));
	if (!cpus) {
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		state_init(&cpus[i]);
	stream_writer_init(&w, fd);
	stream_write_header(&w);
	/* a disk read completing during the save would land in RAM already
	 * written out, its element consumed but never used: drain first */
	machine_quiesce_devices(m);
	if (ops->prepare_save && ops->prepare_save(m) < 0)
		stream_wfail(&w, "%s: the paused vCPUs cannot be settled", ops->name);
	save_machine_section(m, &w);
	save_ram(m, &w);
	state_init(&b);
	machine_save_devices(m, &b);
	put_buf(&w, STREAM_SEC_DEVICES, &b);
	if (!w.failed)
		read_cpus(m, &w, cpus);
	state_init(&b);
	if (!w.failed && ops->save && ops->save(m, &b) < 0)
		stream_wfail(&w, "%s: its state cannot be saved", ops->name);
	put_buf(&w, STREAM_SEC_ENGINE, &b);
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		if (w.failed)
			state_free(&cpus[i]);
		else
			put_buf(&w, STREAM_SEC_CPU, &cpus[i]);
	free(cpus);
	stream_write_end(&w);
	if (w.failed) {
		snprintf(err, err_len, "%s", w.err);
		return -1;
	}
	if (bytes)
		*bytes = w.bytes;
	return 0;
}

/* ---- loading ---- */

struct loader {
	struct machine *m;
	struct stream_reader r;
	bool have_machine, have_ram, have_devices, have_engine;
	bool *have_cpu;
};

/* kqemu's state is TCG's (a paused kqemu vCPU has left native
 * execution): either loads the other's. */
static bool same_state(const char *a, const char *b)
{
	return (!strcmp(a, "tcg") || !strcmp(a, "kqemu")) &&
	       (!strcmp(b, "tcg") || !strcmp(b, "kqemu"));
}

static int load_machine_section(struct loader *l)
{
	struct machine *m = l->m;
	struct stream_reader *r = &l->r;
	size_t len;
	uint8_t *p = stream_read_all(r, &len);
	if (!p)
		return -1;
	struct state_buf b = { .data = p, .len = len };
	char engine[256] = "";
	uint8_t version = state_get_u8(&b), n = state_get_u8(&b);
	state_get_bytes(&b, engine, n);
	uint64_t ram = state_get_u64(&b), below = state_get_u64(&b);
	uint32_t cpus = state_get_u32(&b);
	bool bad = b.error || b.pos != b.len || version != MACHINE_SECTION_VERSION;
	free(p);
	if (bad)
		return stream_rfail(r, "the machine section is malformed");
	if (strcmp(engine, m->accel->ops->name) && !same_state(engine, m->accel->ops->name))
		return stream_rfail(r, "the state was saved under -accel %s; this qvm runs %s",
				    engine, m->accel->ops->name);
	if (ram != m->ram_size || below != m->ram_below_4g)
		return stream_rfail(r, "the state has %llu MiB of RAM; this machine has %llu MiB "
				    "(use the same -m)", (unsigned long long)(ram >> 20),
				    (unsigned long long)(m->ram_size >> 20));
	if (cpus != m->nr_vcpus)
		return stream_rfail(r, "the state has %u vCPUs; this machine has %u (use the "
				    "same -smp)", cpus, m->nr_vcpus);
	l->have_machine = true;
	return 0;
}

/* Guest RAM starts all zero (the hole punched drops what the loaders
 * put there); the runs fill it in increasing order. */
static int load_ram(struct loader *l)
{
	struct machine *m = l->m;
	struct stream_reader *r = &l->r;
	/* anonymous: zero again; a memfd (kqemu's shared RAM) keeps its
	 * pages through DONTNEED, REMOVE frees them */
	if (madvise(m->ram, m->ram_size, m->ram_fd >= 0 ? MADV_REMOVE : MADV_DONTNEED) < 0)
		memset(m->ram, 0, m->ram_size);
	uint64_t end = 0;
	while (r->left) {
		uint8_t h[16];
		if (stream_read(r, h, sizeof(h)) < 0)
			return -1;
		struct state_buf b = { .data = h, .len = sizeof(h) };
		uint64_t off = state_get_u64(&b), len = state_get_u64(&b);
		if (off < end || off % PAGE || !len || off > m->ram_size ||
		    len > m->ram_size - off || (len % PAGE && off + len != m->ram_size))
			return stream_rfail(r, "a RAM run [0x%llx, +0x%llx) is outside RAM or "
					    "out of order", (unsigned long long)off,
					    (unsigned long long)len);
		if (stream_read(r, (uint8_t *)m->ram + off, len) < 0)
			return -1;
		end = off + len;
	}
	/* every page may differ from what was there: decoded code, dirty
	 * logs and protections learn it through the one write path */
	machine_ram_written(m, 0, m->ram_size);
	l->have_ram = true;
	return 0;
}

static int load_blob(struct loader *l, const char *what,
		     int (*apply)(struct loader *, struct state_buf *))
{
	size_t len;
	uint8_t *p = stream_read_all(&l->r, &len);
	if (!p)
		return -1;
	struct state_buf b = { .data = p, .len = len };
	int ret = apply(l, &b);
	bool rest = b.pos != b.len;
	free(p);
	if (ret < 0)
		return stream_rfail(&l->r, "%s: the saved state does not fit this machine "
				    "(other options or a corrupt stream)", what);
	if (rest)
		return stream_rfail(&l->r, "%s: %zu bytes after the saved state", what,
				    b.len - b.pos);
	return 0;
}

static int apply_devices(struct loader *l, struct state_buf *b)
{
	l->have_devices = true;
	return machine_load_devices(l->m, b);
}

static int apply_engine(struct loader *l, struct state_buf *b)
{
	const struct accel_ops *ops = l->m->accel->ops;
	l->have_engine = true;
	return ops->load ? ops->load(l->m, b) : 0;
}

static int apply_cpu(struct loader *l, struct state_buf *b)
{
	static struct x86_cpu_state s;  /* main thread only */
	struct machine *m = l->m;
	uint32_t i = state_get_u32(b);
	if (b->error || i >= m->nr_vcpus || l->have_cpu[i] || cpu_state_get(b, &s) < 0)
		return -1;
	l->have_cpu[i] = true;
	return m->accel->ops->set_state(m->vcpus[i], &s);
}

static int load_section(struct loader *l, const struct stream_section_hdr *h)
{
	if (h->id != STREAM_SEC_MACHINE && !l->have_machine)
		return stream_rfail(&l->r, "the stream does not begin with the machine section");
	switch (h->id) {
	case STREAM_SEC_MACHINE:
		if (l->have_machine)
			break;
		return load_machine_section(l);
	case STREAM_SEC_RAM:
		if (l->have_ram)
			break;
		return load_ram(l);
	case STREAM_SEC_DEVICES:
		if (l->have_devices)
			break;
		return load_blob(l, "devices", apply_devices);
	case STREAM_SEC_ENGINE:
		if (l->have_engine)
			break;
		return load_blob(l, "engine", apply_engine);
	case STREAM_SEC_CPU:
		return load_blob(l, "cpu", apply_cpu);
	default:
		if (h->flags & STREAM_SEC_OPTIONAL)
			return stream_skip(&l->r);
		return stream_rfail(&l->r, "unknown section %u: saved by a newer qvm?", h->id);
	}
	return stream_rfail(&l->r, "section %u appears twice", h->id);
}

static int check_complete(struct loader *l)
{
	const char *missing = !l->have_ram ? "RAM" : !l->have_devices ? "devices" :
			      !l->have_engine ? "engine" : NULL;
	for (unsigned i = 0; !missing && i < l->m->nr_vcpus; i++)
		if (!l->have_cpu[i])
			missing = "a vCPU";
	if (missing)
		return stream_rfail(&l->r, "the stream has no %s section", missing);
	return 0;
}

int vm_load(struct machine *m, int fd, char *err, size_t err_len)
{
	struct loader l = { .m = m };
	struct stream_section_hdr h;
	stream_reader_init(&l.r, fd);
	l.have_cpu = calloc(m->nr_vcpus ? m->nr_vcpus : 1, sizeof(bool));
	if (!l.have_cpu) {
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	int ret = stream_read_header(&l.r);
	while (ret == 0 && (ret = stream_next_section(&l.r, &h)) == 0 && h.id != STREAM_SEC_END)
		ret = load_section(&l, &h);
	if (ret == 0)
		ret = check_complete(&l);
	free(l.have_cpu);
	if (ret < 0) {
		snprintf(err, err_len, "%s", l.r.err);
		return -1;
	}
	return 0;
}
