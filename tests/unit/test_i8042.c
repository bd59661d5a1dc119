/* The i8042 keyboard controller and port 0x92 (user/hw/i8042.c). */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "devtest.h"
#include "machine.h"
#include "hw/hw.h"

#define DATA 0x60
#define CMD 0x64
#define ST_OBF 0x01
#define ST_AUXB 0x20

struct rig {
	struct machine *m;
	struct i8042 *k;
	struct fake_irq irq;
};

static bool rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->m = fake_irq_machine(&r->irq);
	if (!r->m)
		return false;
	r->k = i8042_new(r->m);
	return r->k != NULL;
}

static uint8_t in(struct rig *r, uint16_t port) { return pio_in(r->m, port, 1); }
static void out(struct rig *r, uint16_t port, uint8_t val) { pio_out(r->m, port, val, 1); }

/* Send a controller command and read its one-byte reply. */
static int command_reply(struct rig *r, uint8_t cmd)
{
	out(r, CMD, cmd);
	if (!(in(r, CMD) & ST_OBF))
		return -1;
	return in(r, DATA);
}

TEST(i8042_self_tests_and_command_byte)
{
	struct rig r;
	CHECK(rig_init(&r));
	CHECK_EQ(in(&r, CMD) & ST_OBF, 0);
	CHECK_EQ(command_reply(&r, 0xaa), 0x55);
	CHECK(in(&r, CMD) & 0x04);            /* system flag after self test */
	CHECK_EQ(command_reply(&r, 0xab), 0x00);
	CHECK_EQ(command_reply(&r, 0xa9), 0x00);
	out(&r, CMD, 0x60);
	CHECK(in(&r, CMD) & 0x08);            /* last write was a command */
	out(&r, DATA, 0x21);
	CHECK_EQ(in(&r, CMD) & 0x08, 0);
	CHECK_EQ(command_reply(&r, 0x20), 0x21);
	out(&r, CMD, 0xad);                   /* disable keyboard: CB bit 4 */
	CHECK_EQ(command_reply(&r, 0x20), 0x31);
	out(&r, CMD, 0xae);
	out(&r, CMD, 0xa7);                   /* disable aux: CB bit 5 */
	CHECK_EQ(command_reply(&r, 0x20), 0x21);
	out(&r, CMD, 0xa8);
	CHECK_EQ(command_reply(&r, 0x20), 0x01);
	/* controller RAM beyond the command byte */
	out(&r, CMD, 0x65);
	out(&r, DATA, 0x9c);
	CHECK_EQ(command_reply(&r, 0x25), 0x9c);
	machine_free(r.m);
}

TEST(i8042_output_port_a20_and_reset)
{
	struct rig r;
	int status;
	CHECK(rig_init(&r));
	CHECK(i8042_a20_enabled(r.k));
	int op = command_reply(&r, 0xd0);
	CHECK(op >= 0);
	CHECK_EQ(op & 0x03, 0x03);            /* A20 on, not in reset */
	out(&r, CMD, 0xd1);
	out(&r, DATA, 0xdd);                  /* A20 off */
	CHECK(!i8042_a20_enabled(r.k));
	CHECK_EQ(command_reply(&r, 0xd0) & 0x03, 0x01);
	CHECK_EQ(machine_take_request(r.m, NULL), REQ_NONE);
	out(&r, CMD, 0xd1);
	out(&r, DATA, 0xdf);                  /* A20 on */
	CHECK(i8042_a20_enabled(r.k));
	CHECK_EQ(machine_take_request(r.m, NULL), REQ_NONE);
	out(&r, CMD, 0xd1);
	out(&r, DATA, 0xde);                  /* bit 0 clear: reset */
	CHECK_EQ(machine_take_request(r.m, &status), REQ_RESET);
	out(&r, CMD, 0xfe);                   /* pulse reset line */
	CHECK_EQ(machine_take_request(r.m, NULL), REQ_RESET);
	out(&r, CMD, 0xff);                   /* pulse nothing */
	CHECK_EQ(machine_take_request(r.m, NULL), REQ_NONE);
	machine_free(r.m);
}

TEST(i8042_port92_fast_a20_and_reset)
{
	struct rig r;
	CHECK(rig_init(&r));
	out(&r, CMD, 0xdd);                   /* keyboard-controller A20 off */
	CHECK(!i8042_a20_enabled(r.k));
	CHECK_EQ(in(&r, 0x92), 0x00);
	out(&r, 0x92, 0x02);                  /* fast A20 */
	CHECK(i8042_a20_enabled(r.k));
	CHECK_EQ(in(&r, 0x92), 0x02);
	CHECK_EQ(machine_take_request(r.m, NULL), REQ_NONE);
	out(&r, 0x92, 0x00);
	CHECK(!i8042_a20_enabled(r.k));
	out(&r, 0x92, 0x03);                  /* fast reset */
	CHECK_EQ(machine_take_request(r.m, NULL), REQ_RESET);
	CHECK_EQ(in(&r, 0x92), 0x02);         /* bit 0 reads back 0 */
	machine_free(r.m);
}

TEST(i8042_keyboard_commands)
{
	struct rig r;
	CHECK(rig_init(&r));
	out(&r, DATA, 0xff);                  /* keyboard reset */
	CHECK_EQ(in(&r, CMD) & (ST_OBF | ST_AUXB), ST_OBF);
	CHECK_EQ(in(&r, DATA), 0xfa);
	CHECK_EQ(in(&r, DATA), 0xaa);
	CHECK_EQ(in(&r, CMD) & ST_OBF, 0);
	out(&r, DATA, 0xf2);                  /* identify, translated */
	CHECK_EQ(in(&r, DATA), 0xfa);
	CHECK_EQ(in(&r, DATA), 0xab);
	CHECK_EQ(in(&r, DATA), 0x41);
	out(&r, DATA, 0xed);                  /* LEDs take a parameter */
	CHECK_EQ(in(&r, DATA), 0xfa);
	out(&r, DATA, 0x07);
	CHECK_EQ(in(&r, DATA), 0xfa);
	out(&r, DATA, 0xf0);                  /* get scan code set */
	CHECK_EQ(in(&r, DATA), 0xfa);
	out(&r, DATA, 0x00);
	CHECK_EQ(in(&r, DATA), 0xfa);
	CHECK_EQ(in(&r, DATA), 0x41);         /* set 2, as translated */
	out(&r, DATA, 0xee);
	CHECK_EQ(in(&r, DATA), 0xee);
	out(&r, DATA, 0x42);                  /* nonsense */
	CHECK_EQ(in(&r, DATA), 0xfe);
	CHECK_EQ(in(&r, CMD) & ST_OBF, 0);
	CHECK_EQ(in(&r, DATA), 0xfe);         /* empty: the last byte again */
	machine_free(r.m);
}

TEST(i8042_interrupts)
{
	struct rig r;
	CHECK(rig_init(&r));
	out(&r, CMD, 0x60);
	out(&r, DATA, 0x00);                  /* interrupts off */
	out(&r, DATA, 0xff);
	CHECK_EQ(r.irq.level[1], 0);
	in(&r, DATA);
	in(&r, DATA);
	out(&r, CMD, 0x60);
	out(&r, DATA, 0x03);                  /* keyboard and aux interrupts on */
	out(&r, DATA, 0xff);                  /* two bytes come back */
	CHECK_EQ(r.irq.level[1], 1);
	CHECK_EQ(r.irq.rises[1], 1);
	CHECK_EQ(in(&r, DATA), 0xfa);
	CHECK_EQ(r.irq.level[1], 1);          /* the next byte ... */
	CHECK_EQ(r.irq.rises[1], 2);          /* ... with an edge of its own */
	CHECK_EQ(in(&r, DATA), 0xaa);
	CHECK_EQ(r.irq.level[1], 0);
	out(&r, CMD, 0xd3);                   /* aux loopback: IRQ 12 */
	out(&r, DATA, 0x5a);
	CHECK_EQ(in(&r, CMD) & (ST_OBF | ST_AUXB), ST_OBF | ST_AUXB);
	CHECK_EQ(r.irq.level[12], 1);
	CHECK_EQ(r.irq.level[1], 0);
	CHECK_EQ(in(&r, DATA), 0x5a);
	CHECK_EQ(r.irq.level[12], 0);
	/* the output queue is bounded: a flood is dropped, not overflowed */
	for (unsigned i = 0; i < 100; i++)
		out(&r, DATA, 0xee);
	unsigned n = 0;
	while ((in(&r, CMD) & ST_OBF) && n < 1000) {
		in(&r, DATA);
		n++;
	}
	CHECK(n > 0 && n <= 16);
	machine_free(r.m);
}

TEST(i8042_save_load_and_reset)
{
	struct rig a, b;
	CHECK(rig_init(&a));
	CHECK(rig_init(&b));
	out(&a, CMD, 0x60);
	out(&a, DATA, 0x47);
	out(&a, 0x92, 0x02);
	out(&a, CMD, 0xdd);
	out(&a, DATA, 0xf2);                  /* three bytes queued */
	in(&a, DATA);
	out(&a, CMD, 0xd1);                   /* a command waiting for data */

	struct state_buf s;
	state_init(&s);
	machine_save_devices(a.m, &s);
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b.m, &s), 0);
	CHECK_EQ(b.irq.level[1], 1);
	out(&b, DATA, 0xcf);                  /* completes the 0xd1 */
	CHECK_EQ(machine_take_request(b.m, NULL), REQ_NONE);
	CHECK_EQ(in(&b, DATA), 0xab);
	CHECK_EQ(in(&b, DATA), 0x41);
	CHECK_EQ(in(&b, CMD) & ST_OBF, 0);
	CHECK_EQ(command_reply(&b, 0x20), 0x47);
	CHECK_EQ(command_reply(&b, 0xd0) & 0x02, 0x02);
	CHECK_EQ(in(&b, 0x92), 0x02);

	s.data[strlen("i8042") + 1 + 1 + 1 + 32 + 4 + 1] = 9; /* kbd_set */
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b.m, &s), -1);
	state_free(&s);

	machine_reset_devices(a.m);
	CHECK_EQ(a.irq.level[1], 0);
	CHECK_EQ(in(&a, CMD) & ST_OBF, 0);
	CHECK_EQ(in(&a, 0x92), 0);
	CHECK(i8042_a20_enabled(a.k));
	CHECK_EQ(command_reply(&a, 0x20), 0x45);
	machine_free(a.m);
	machine_free(b.m);
}

TEST(i8042_wide_accesses)
{
	struct rig r;
	CHECK(rig_init(&r));
	out(&r, CMD, 0xaa);
	uint64_t v = 0;
	machine_pio(r.m, DATA, false, &v, 4);
	CHECK_EQ(v, 0xffffff55);
	machine_pio(r.m, CMD, false, &v, 2);
	CHECK_EQ(v >> 8, 0xff);
	machine_free(r.m);
}

/* Random guest accesses never crash, and the state saved after them loads. */
TEST(i8042_random_io_then_state_round_trip)
{
	static const uint16_t ports[] = { DATA, CMD, 0x92 };
	struct rig a, b;
	unsigned seed = 2;
	CHECK(rig_init(&a));
	CHECK(rig_init(&b));
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t v = rand_r(&seed);
		unsigned size = 1u << (rand_r(&seed) % 3);
		machine_pio(a.m, ports[rand_r(&seed) % 3], rand_r(&seed) & 1, &v, size);
	}
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	CHECK_EQ(in(&b, CMD), in(&a, CMD));
	CHECK_EQ(in(&b, 0x92), in(&a, 0x92));
	CHECK_EQ(i8042_a20_enabled(b.k), i8042_a20_enabled(a.k));
	machine_free(a.m);
	machine_free(b.m);
}
