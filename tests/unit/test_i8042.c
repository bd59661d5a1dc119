/* The i8042 keyboard controller and port 0x92 (user/hw/i8042.c). */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "devtest.h"
#include "machine.h"
#include "hw/hw.h"
#include "hw/ps2.h"
#include "ui/input.h"
#include <linux/input-event-codes.h>

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
	CHECK(n > 0 && n <= PS2_QUEUE_SIZE + 1);  /* the queue and the output buffer */
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

	/* tag, version, status, RAM, 4 registers, output buffer and its flags,
	 * the controller's empty queue (its count), then the keyboard:
	 * pending, set */
	size_t kbd_set = strlen("i8042") + 1 + 1 + 1 + 32 + 4 + 2 + 1 + 0 + 1;
	CHECK_EQ(s.data[kbd_set], 2);
	s.data[kbd_set] = 9;
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

/* Random guest accesses and input events never crash, and the state
 * saved after them loads. */
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
		if (i % 7 == 0)     /* keys and motion in whatever state it is in */
			input_key(a.m, rand_r(&seed) % 0x300, rand_r(&seed) & 1);
		if (i % 11 == 0)
			input_pointer_rel(a.m, rand_r(&seed) % 2001 - 1000, rand_r(&seed) % 2001 - 1000,
					  rand_r(&seed) & 0x1f);
	}
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	CHECK_EQ(in(&b, CMD), in(&a, CMD));
	CHECK_EQ(in(&b, 0x92), in(&a, 0x92));
	CHECK_EQ(i8042_a20_enabled(b.k), i8042_a20_enabled(a.k));
	machine_free(a.m);
	machine_free(b.m);
}

/* ---- the PS/2 keyboard and mouse ---- */

/* Read every byte waiting (at most max) into out; returns the count. */
static unsigned drain(struct rig *r, uint8_t *out, unsigned max)
{
	unsigned n = 0;
	while ((in(r, CMD) & ST_OBF) && n < max)
		out[n++] = in(r, DATA);
	return n;
}

static bool bytes_are(const uint8_t *got, unsigned n, const uint8_t *want, unsigned wn)
{
	return n == wn && memcmp(got, want, n) == 0;
}

#define EXPECT_BYTES(r, ...)                                                \
	do {                                                                \
		static const uint8_t want_[] = { __VA_ARGS__ };             \
		uint8_t got_[128];                                          \
		unsigned n_ = drain(r, got_, sizeof(got_));                 \
		if (!bytes_are(got_, n_, want_, sizeof(want_))) {           \
			for (unsigned i_ = 0; i_ < n_; i_++)                \
				fprintf(stderr, " %02x", got_[i_]);        \
			fprintf(stderr, " (%u bytes)\n", n_);              \
		}                                                           \
		CHECK(bytes_are(got_, n_, want_, sizeof(want_)));           \
	} while (0)

static void key(struct rig *r, unsigned code)
{
	input_key(r->m, code, true);
	input_key(r->m, code, false);
}

static void set_command_byte(struct rig *r, uint8_t cb)
{
	out(r, CMD, 0x60);
	out(r, DATA, cb);
}

TEST(i8042_keys_translated_to_set_1)
{
	struct rig r;
	CHECK(rig_init(&r));
	/* the power-on command byte translates (bit 6) */
	key(&r, KEY_A);
	CHECK_EQ(r.irq.level[1], 1);
	EXPECT_BYTES(&r, 0x1e, 0x9e);
	CHECK_EQ(r.irq.level[1], 0);
	key(&r, KEY_RIGHTCTRL);
	EXPECT_BYTES(&r, 0xe0, 0x1d, 0xe0, 0x9d);
	key(&r, KEY_DELETE);
	EXPECT_BYTES(&r, 0xe0, 0x53, 0xe0, 0xd3);
	key(&r, KEY_PAUSE);
	EXPECT_BYTES(&r, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
	key(&r, KEY_SYSRQ);
	EXPECT_BYTES(&r, 0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa);
	key(&r, KEY_F12);
	EXPECT_BYTES(&r, 0x58, 0xd8);
	key(&r, KEY_MAX);                     /* a key the keyboard lacks */
	EXPECT_BYTES(&r);
	machine_free(r.m);
}

TEST(i8042_keys_in_set_2_and_set_1_untranslated)
{
	struct rig r;
	CHECK(rig_init(&r));
	set_command_byte(&r, 0x05);           /* no translation */
	key(&r, KEY_A);
	EXPECT_BYTES(&r, 0x1c, 0xf0, 0x1c);
	key(&r, KEY_KPENTER);
	EXPECT_BYTES(&r, 0xe0, 0x5a, 0xe0, 0xf0, 0x5a);
	key(&r, KEY_PAUSE);
	EXPECT_BYTES(&r, 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77);
	key(&r, KEY_SYSRQ);
	EXPECT_BYTES(&r, 0xe0, 0x12, 0xe0, 0x7c, 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12);
	key(&r, KEY_F7);
	EXPECT_BYTES(&r, 0x83, 0xf0, 0x83);
	out(&r, DATA, 0xf2);                  /* identify, untranslated */
	EXPECT_BYTES(&r, 0xfa, 0xab, 0x83);
	out(&r, DATA, 0xf0);                  /* select set 1 */
	out(&r, DATA, 0x01);
	EXPECT_BYTES(&r, 0xfa, 0xfa);
	out(&r, DATA, 0xf0);
	out(&r, DATA, 0x00);
	EXPECT_BYTES(&r, 0xfa, 0xfa, 0x01);
	key(&r, KEY_LEFTSHIFT);
	EXPECT_BYTES(&r, 0x2a, 0xaa);
	out(&r, DATA, 0xff);                  /* reset: back to set 2 */
	EXPECT_BYTES(&r, 0xfa, 0xaa);
	key(&r, KEY_LEFTSHIFT);
	EXPECT_BYTES(&r, 0x12, 0xf0, 0x12);
	machine_free(r.m);
}

/* Every key has its own code in both sets, and the extended ones keep
 * one E0 prefix. */
TEST(i8042_scancode_tables_are_unique)
{
	static uint16_t seen1[0x10000 / 16], seen2[0x10000 / 16];
	memset(seen1, 0, sizeof(seen1));
	memset(seen2, 0, sizeof(seen2));
	unsigned keys = 0;
	for (unsigned code = 1; code < KEY_MAX; code++) {
		if (code == KEY_PAUSE || code == KEY_SYSRQ)
			continue;
		uint8_t s1[PS2_SEQ_MAX], s2[PS2_SEQ_MAX], b1[PS2_SEQ_MAX], b2[PS2_SEQ_MAX];
		unsigned n1 = ps2_key_sequence(code, true, true, s1);
		unsigned n2 = ps2_key_sequence(code, true, false, s2);
		CHECK_EQ(n1 != 0, n2 != 0);
		if (!n1)
			continue;
		keys++;
		CHECK(n1 <= 2 && n2 <= 2);
		CHECK_EQ(n1, n2);                 /* extended in both sets */
		CHECK_EQ(ps2_key_sequence(code, false, true, b1), n1);
		CHECK_EQ(ps2_key_sequence(code, false, false, b2), n2 + 1);
		CHECK_EQ(b1[n1 - 1], s1[n1 - 1] | 0x80);
		CHECK_EQ(b2[n2], s2[n2 - 1]);
		CHECK_EQ(b2[n2 - 1], 0xf0);
		CHECK(!(s1[n1 - 1] & 0x80));
		unsigned k1 = (n1 == 2 ? 0x100 : 0) | s1[n1 - 1];
		unsigned k2 = (n2 == 2 ? 0x100 : 0) | s2[n2 - 1];
		CHECK(!(seen1[k1 / 16] & (1u << (k1 % 16))));
		CHECK(!(seen2[k2 / 16] & (1u << (k2 % 16))));
		seen1[k1 / 16] |= 1u << (k1 % 16);
		seen2[k2 / 16] |= 1u << (k2 % 16);
	}
	CHECK(keys >= 100);
}

TEST(i8042_keyboard_disabled_interface_and_scanning)
{
	struct rig r;
	CHECK(rig_init(&r));
	out(&r, CMD, 0xad);                   /* keyboard interface off */
	key(&r, KEY_B);
	CHECK_EQ(in(&r, CMD) & ST_OBF, 0);    /* waits in the keyboard */
	CHECK_EQ(r.irq.level[1], 0);
	out(&r, CMD, 0xae);
	CHECK_EQ(r.irq.level[1], 1);
	EXPECT_BYTES(&r, 0x30, 0xb0);
	out(&r, DATA, 0xf5);                  /* stop scanning */
	EXPECT_BYTES(&r, 0xfa);
	key(&r, KEY_B);
	EXPECT_BYTES(&r);
	out(&r, DATA, 0xf4);
	EXPECT_BYTES(&r, 0xfa);
	key(&r, KEY_B);
	EXPECT_BYTES(&r, 0x30, 0xb0);
	/* SeaBIOS: both interfaces off, then a command to the keyboard,
	 * whose reply must arrive (writing to it enables it again) */
	set_command_byte(&r, 0x34);
	out(&r, DATA, 0xff);
	EXPECT_BYTES(&r, 0xfa, 0xaa);
	/* a flood of keys keeps room for a command's reply */
	for (unsigned i = 0; i < 200; i++)
		input_key(r.m, KEY_C, true);
	out(&r, CMD, 0xad);
	out(&r, DATA, 0xee);
	uint8_t got[PS2_QUEUE_SIZE + 4];
	unsigned n = drain(&r, got, sizeof(got));
	CHECK(n > 8 && n <= PS2_QUEUE_SIZE);
	CHECK_EQ(got[n - 1], 0xee);
	machine_free(r.m);
}

static void aux(struct rig *r, uint8_t val)
{
	out(r, CMD, 0xd4);
	out(r, DATA, val);
}

TEST(i8042_mouse_reset_id_and_stream_packets)
{
	struct rig r;
	CHECK(rig_init(&r));
	set_command_byte(&r, 0x47);           /* both interrupts on */
	aux(&r, 0xff);
	CHECK_EQ(in(&r, CMD) & (ST_OBF | ST_AUXB), ST_OBF | ST_AUXB);
	CHECK_EQ(r.irq.level[12], 1);
	CHECK_EQ(r.irq.level[1], 0);
	EXPECT_BYTES(&r, 0xfa, 0xaa, 0x00);
	CHECK_EQ(r.irq.level[12], 0);
	aux(&r, 0xf2);
	EXPECT_BYTES(&r, 0xfa, 0x00);
	input_pointer_rel(r.m, 5, 5, 0);      /* not reporting yet */
	EXPECT_BYTES(&r);
	aux(&r, 0xf4);
	EXPECT_BYTES(&r, 0xfa);
	input_pointer_rel(r.m, 5, -3, INPUT_BUTTON_LEFT);
	EXPECT_BYTES(&r, 0x09, 0x05, 0x03);   /* y counts upwards */
	input_pointer_rel(r.m, -2, 4, INPUT_BUTTON_LEFT | INPUT_BUTTON_RIGHT);
	EXPECT_BYTES(&r, 0x3b, 0xfe, 0xfc);
	input_pointer_rel(r.m, 0, 0, INPUT_BUTTON_MIDDLE);  /* buttons alone */
	EXPECT_BYTES(&r, 0x0c, 0x00, 0x00);
	input_pointer_rel(r.m, 0, 0, INPUT_BUTTON_MIDDLE);  /* nothing new */
	EXPECT_BYTES(&r);
	input_pointer_rel(r.m, 600, 0, 0);    /* split over packets */
	EXPECT_BYTES(&r, 0x08, 0xff, 0x00, 0x08, 0xff, 0x00, 0x08, 0x5a, 0x00);
	/* the keyboard's bytes and the mouse's keep their own kind */
	input_key(r.m, KEY_A, true);
	input_pointer_rel(r.m, 1, 0, 0);
	CHECK_EQ(in(&r, CMD) & ST_AUXB, 0);
	CHECK_EQ(in(&r, DATA), 0x1e);
	CHECK_EQ(in(&r, CMD) & ST_AUXB, ST_AUXB);
	EXPECT_BYTES(&r, 0x08, 0x01, 0x00);
	/* aux interface off: the packet waits */
	out(&r, CMD, 0xa7);
	input_pointer_rel(r.m, 1, 0, 0);
	EXPECT_BYTES(&r);
	out(&r, CMD, 0xa8);
	EXPECT_BYTES(&r, 0x08, 0x01, 0x00);
	machine_free(r.m);
}

TEST(i8042_mouse_wheel_detection_status_and_remote_mode)
{
	struct rig r;
	CHECK(rig_init(&r));
	aux(&r, 0xff);
	EXPECT_BYTES(&r, 0xfa, 0xaa, 0x00);
	static const uint8_t knock[] = { 200, 100, 80 };
	for (unsigned i = 0; i < 3; i++) {
		aux(&r, 0xf3);
		aux(&r, knock[i]);
	}
	EXPECT_BYTES(&r, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa);
	aux(&r, 0xf2);
	EXPECT_BYTES(&r, 0xfa, 0x03);         /* IntelliMouse */
	aux(&r, 0xf4);
	EXPECT_BYTES(&r, 0xfa);
	input_pointer_rel(r.m, 0, 0, INPUT_BUTTON_WHEEL_UP);
	EXPECT_BYTES(&r, 0x08, 0x00, 0x00, 0xff);
	input_pointer_rel(r.m, 0, 0, 0);      /* the wheel "button" released */
	EXPECT_BYTES(&r);
	input_pointer_rel(r.m, 0, 0, INPUT_BUTTON_WHEEL_DOWN);
	EXPECT_BYTES(&r, 0x08, 0x00, 0x00, 0x01);
	/* resolution, scaling, status request */
	aux(&r, 0xe8);
	aux(&r, 0x03);
	aux(&r, 0xe7);
	aux(&r, 0xf3);
	aux(&r, 40);
	EXPECT_BYTES(&r, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa);
	input_pointer_rel(r.m, 0, 0, INPUT_BUTTON_LEFT);
	EXPECT_BYTES(&r, 0x09, 0x00, 0x00, 0x00);
	input_pointer_rel(r.m, 3, 0, INPUT_BUTTON_LEFT);  /* 2:1: 3 -> 3 */
	EXPECT_BYTES(&r, 0x09, 0x03, 0x00, 0x00);
	input_pointer_rel(r.m, 4, 0, INPUT_BUTTON_LEFT);  /* 4 -> 6 */
	EXPECT_BYTES(&r, 0x09, 0x06, 0x00, 0x00);
	aux(&r, 0xe9);
	EXPECT_BYTES(&r, 0xfa, 0x34, 0x03, 40); /* enabled, 2:1, left */
	/* remote mode: motion waits for a read-data command */
	aux(&r, 0xf0);
	EXPECT_BYTES(&r, 0xfa);
	input_pointer_rel(r.m, 7, 0, 0);
	input_pointer_rel(r.m, 3, 0, 0);
	EXPECT_BYTES(&r);
	aux(&r, 0xeb);
	EXPECT_BYTES(&r, 0xfa, 0x08, 0x0a, 0x00, 0x00);
	aux(&r, 0xe9);
	EXPECT_BYTES(&r, 0xfa, 0x70, 0x03, 40);
	/* wrap mode echoes until 0xec */
	aux(&r, 0xee);
	aux(&r, 0x12);
	aux(&r, 0xec);
	aux(&r, 0x42);                        /* not a command */
	EXPECT_BYTES(&r, 0xfa, 0x12, 0xfa, 0xfe);
	machine_free(r.m);
}

TEST(i8042_mouse_state_round_trip)
{
	struct rig a, b;
	CHECK(rig_init(&a));
	CHECK(rig_init(&b));
	aux(&a, 0xf3);
	aux(&a, 200);
	aux(&a, 0xf3);
	aux(&a, 100);
	aux(&a, 0xf3);
	aux(&a, 80);
	aux(&a, 0xf4);
	drain(&a, (uint8_t[16]){ 0 }, 16);
	input_pointer_rel(a.m, 9, 0, INPUT_BUTTON_RIGHT);
	input_key(a.m, KEY_Z, true);
	aux(&a, 0xe8);                        /* waits for its parameter */
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	/* the packet's first byte was in the output buffer; then the
	 * keyboard's byte comes first */
	EXPECT_BYTES(&b, 0x0a, 0x2c, 0x09, 0x00, 0x00, 0xfa);
	aux(&b, 0x01);
	aux(&b, 0xe9);
	EXPECT_BYTES(&b, 0xfa, 0xfa, 0x21, 0x01, 80);
	aux(&b, 0xf2);
	EXPECT_BYTES(&b, 0xfa, 0x03);
	machine_free(a.m);
	machine_free(b.m);
}
