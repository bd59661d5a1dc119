/* The RCU-published physical map (user/physmap.c). */
#include <string.h>
#include "unit.h"
#include "machine.h"

struct fake_dev {
	uint64_t last_off, last_val;
	unsigned last_size, reads, writes;
};

static uint64_t fake_read(void *opaque, uint64_t off, unsigned size)
{
	struct fake_dev *d = opaque;
	d->reads++;
	d->last_off = off;
	d->last_size = size;
	return 0x1122334455667788ULL;
}

static void fake_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fake_dev *d = opaque;
	d->writes++;
	d->last_off = off;
	d->last_val = val;
	d->last_size = size;
}

static const struct io_ops fake_ops = { fake_read, fake_write };

TEST(physmap_pio_dispatch_and_offsets)
{
	struct machine *m = machine_new(2 * MiB);
	struct fake_dev a = { 0 }, b = { 0 };
	CHECK(m);
	CHECK(machine_add_pio(m, 0x3f8, 8, &fake_ops, &a, "a") == 0);
	CHECK(machine_add_pio(m, 0x60, 1, &fake_ops, &b, "b") == 0);
	uint64_t v = 0xab;
	CHECK(machine_pio(m, 0x3fb, true, &v, 1));
	CHECK_EQ(a.last_off, 3);
	CHECK_EQ(a.last_val, 0xab);
	CHECK(machine_pio(m, 0x3f8, false, &v, 2));
	CHECK_EQ(v, 0x7788);            /* truncated to the access size */
	CHECK(!machine_pio(m, 0x400, false, &v, 4));
	CHECK_EQ(v, 0xffffffff);        /* unassigned ports read all ones */
	CHECK(!machine_pio(m, 0x61, true, &v, 1));
	CHECK_EQ(b.writes, 0);
	machine_free(m);
}

TEST(physmap_rejects_overlap_and_wrap)
{
	struct machine *m = machine_new(2 * MiB);
	struct fake_dev a = { 0 };
	CHECK(machine_add_pio(m, 0x70, 2, &fake_ops, &a, "rtc") == 0);
	CHECK(machine_add_pio(m, 0x71, 1, &fake_ops, &a, "overlap") < 0);
	CHECK(machine_add_pio(m, 0xfff0, 0x20, &fake_ops, &a, "past end") < 0);
	CHECK(machine_add_pio(m, 0x72, 0, &fake_ops, &a, "empty") < 0);
	CHECK(machine_add_mmio(m, 0xfffffffffffff000ULL, 0x2000, &fake_ops, &a, "wrap") < 0);
	/* the same addresses in the other space do not clash */
	CHECK(machine_add_mmio(m, 0x70, 2, &fake_ops, &a, "mmio") == 0);
	CHECK(machine_add_memory(m, REGION_RAM, 0x0, 0x1000, m->ram, "ram") < 0);
	machine_free(m);
}

TEST(physmap_memory_translation)
{
	struct machine *m = machine_new(4 * MiB);
	uint8_t *ram = m->ram;
	CHECK(machine_add_memory(m, REGION_RAM, 0, 0xa0000, ram, "low") == 0);
	CHECK(machine_add_memory(m, REGION_RAM, 0x100000, 0x300000, ram + 0x100000, "high") == 0);
	CHECK(gpa_to_host(m, 0x1000, 16) == ram + 0x1000);
	CHECK(gpa_to_host(m, 0x9fff0, 16) == ram + 0x9fff0);
	CHECK(gpa_to_host(m, 0x9fff0, 17) == NULL);   /* crosses into the hole */
	CHECK(gpa_to_host(m, 0xb8000, 1) == NULL);
	CHECK(gpa_to_host(m, 0x3fffff, 1) == ram + 0x3fffff);
	CHECK(gpa_to_host(m, 0x400000, 1) == NULL);
	CHECK(gpa_to_host(m, 0x100000, ~0ULL) == NULL);
	CHECK(guest_write(m, 0x2000, "qvm", 4) == 0);
	char buf[4];
	CHECK(guest_read(m, 0x2000, buf, 4) == 0 && !strcmp(buf, "qvm"));
	CHECK(guest_write(m, 0xa0000, "x", 1) < 0);
	/* MMIO reads of RAM are served from memory */
	uint64_t v;
	CHECK(machine_mmio(m, 0x2000, false, &v, 2));
	CHECK_EQ(v, 'q' | 'v' << 8);
	CHECK(machine_remove_region(m, REGION_RAM, 0x100000) == 0);
	CHECK(gpa_to_host(m, 0x100000, 1) == NULL);
	CHECK(machine_remove_region(m, REGION_RAM, 0x100000) < 0);
	machine_free(m);
}

TEST(physmap_many_regions_sorted)
{
	struct machine *m = machine_new(2 * MiB);
	struct fake_dev d[40];
	memset(d, 0, sizeof(d));
	/* insert in a scrambled order; every lookup must find its own */
	for (unsigned i = 0; i < 40; i++) {
		unsigned k = (i * 17) % 40;
		CHECK(machine_add_pio(m, 0x1000 + k * 8, 8, &fake_ops, &d[k], "d") == 0);
	}
	for (unsigned k = 0; k < 40; k++) {
		uint64_t v = k;
		CHECK(machine_pio(m, 0x1000 + k * 8 + 7, true, &v, 1));
		CHECK_EQ(d[k].writes, 1);
		CHECK_EQ(d[k].last_off, 7);
	}
	machine_free(m);
}

TEST(state_buffer_round_trip_and_underflow)
{
	struct state_buf s;
	state_init(&s);
	state_put_u8(&s, 0x12);
	state_put_u16(&s, 0x3456);
	state_put_u32(&s, 0x789abcde);
	state_put_u64(&s, 0x0123456789abcdefULL);
	state_put_bytes(&s, "xyz", 3);
	CHECK_EQ(s.len, 1 + 2 + 4 + 8 + 3);
	state_rewind(&s);
	CHECK_EQ(state_get_u8(&s), 0x12);
	CHECK_EQ(state_get_u16(&s), 0x3456);
	CHECK_EQ(state_get_u32(&s), 0x789abcde);
	CHECK_EQ(state_get_u64(&s), 0x0123456789abcdefULL);
	char b[3];
	state_get_bytes(&s, b, 3);
	CHECK(!memcmp(b, "xyz", 3) && !s.error);
	CHECK_EQ(state_get_u32(&s), 0);
	CHECK(s.error);
	state_free(&s);
}

TEST(machine_requests_keep_the_strongest)
{
	struct machine *m = machine_new(2 * MiB);
	int status = -1;
	CHECK_EQ(machine_take_request(m, &status), REQ_NONE);
	machine_request(m, REQ_RESET, 0);
	machine_request(m, REQ_SHUTDOWN, 7);
	machine_request(m, REQ_RESET, 0);
	CHECK_EQ(machine_take_request(m, &status), REQ_SHUTDOWN);
	CHECK_EQ(status, 7);
	CHECK_EQ(machine_take_request(m, &status), REQ_NONE);
	machine_request(m, REQ_QUIT, 0);
	machine_request(m, REQ_SHUTDOWN, 9);
	CHECK_EQ(machine_take_request(m, &status), REQ_QUIT);
	machine_free(m);
}
