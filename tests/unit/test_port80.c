/* Port 0x80, the POST code port (user/hw/port80.c). */
#include <string.h>
#include "unit.h"
#include "machine.h"
#include "hw/hw.h"

TEST(port80_last_write_reads_back)
{
	struct machine *m = machine_new(16 << 20);
	CHECK(m);
	CHECK(port80_new(m));
	uint64_t v = 0;
	CHECK(machine_pio(m, 0x80, false, &v, 1));
	CHECK_EQ(v, 0);
	v = 0x42;
	CHECK(machine_pio(m, 0x80, true, &v, 1));
	v = 0;
	machine_pio(m, 0x80, false, &v, 1);
	CHECK_EQ(v, 0x42);
	v = 0x12345678;                        /* wide write: the low byte */
	machine_pio(m, 0x80, true, &v, 4);
	machine_pio(m, 0x80, false, &v, 1);
	CHECK_EQ(v, 0x78);
	machine_pio(m, 0x80, false, &v, 2);
	CHECK_EQ(v, 0xff78);
	CHECK(!machine_pio(m, 0x81, false, &v, 1)); /* only 0x80 is ours */
	CHECK(!port80_new(m));                 /* the port is taken */
	machine_free(m);
}

TEST(port80_save_load_and_reset)
{
	struct machine *a = machine_new(16 << 20), *b = machine_new(16 << 20);
	CHECK(a && b);
	CHECK(port80_new(a) && port80_new(b));
	uint64_t v = 0x99;
	machine_pio(a, 0x80, true, &v, 1);
	struct state_buf s;
	state_init(&s);
	machine_save_devices(a, &s);
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b, &s), 0);
	machine_pio(b, 0x80, false, &v, 1);
	CHECK_EQ(v, 0x99);
	s.data[strlen("port80") + 1] = 7;      /* unknown version */
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b, &s), -1);
	s.len -= 1;                            /* truncated */
	s.data[strlen("port80") + 1] = 1;
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b, &s), -1);
	state_free(&s);
	machine_reset_devices(a);
	machine_pio(a, 0x80, false, &v, 1);
	CHECK_EQ(v, 0);
	machine_free(a);
	machine_free(b);
}
