/* The 16550A UART (user/hw/serial.c), driven through the port map. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "devtest.h"
#include "chardev/chardev.h"
#include "machine.h"
#include "rcu.h"
#include "hw/hw.h"

#define COM1 0x3f8
#define GSI 4

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3,
       MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct rig {
	struct machine *m;
	struct chardev *chr;
	struct serial *s;
	struct fake_irq irq;
};

static bool rig_init(struct rig *r, bool with_chr)
{
	memset(r, 0, sizeof(*r));
	r->m = fake_irq_machine(&r->irq);
	if (!r->m)
		return false;
	r->chr = with_chr ? chardev_memory_new() : NULL;
	r->s = serial_new(r->m, COM1, GSI, r->chr);
	return r->s != NULL;
}

static void rig_free(struct rig *r)
{
	machine_free(r->m);
	chardev_close(r->chr);
}

static uint8_t in(struct rig *r, unsigned reg) { return pio_in(r->m, COM1 + reg, 1); }
static void out(struct rig *r, unsigned reg, uint8_t val) { pio_out(r->m, COM1 + reg, val, 1); }

TEST(serial_power_on_registers)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	CHECK_EQ(in(&r, IER), 0);
	CHECK_EQ(in(&r, IIR), 0x01);
	CHECK_EQ(in(&r, LCR), 0);
	CHECK_EQ(in(&r, MCR), 0);
	CHECK_EQ(in(&r, LSR), 0x60);
	CHECK_EQ(in(&r, MSR), 0xb0); /* DCD, DSR, CTS: a connected line */
	out(&r, SCR, 0x5a);
	CHECK_EQ(in(&r, SCR), 0x5a);
	CHECK_EQ(r.irq.level[GSI], 0);
	rig_free(&r);
}

TEST(serial_divisor_latch)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	out(&r, LCR, 0x83);          /* DLAB, 8N1 */
	out(&r, DLL, 0x01);
	out(&r, DLM, 0x02);
	CHECK_EQ(in(&r, DLL), 0x01);
	CHECK_EQ(in(&r, DLM), 0x02);
	uint64_t w = 0;
	machine_pio(r.m, COM1, false, &w, 2); /* word read: DLL then DLM */
	CHECK_EQ(w, 0x0201);
	out(&r, LCR, 0x03);
	CHECK_EQ(in(&r, IER), 0);    /* IER is not the divisor */
	out(&r, IER, 0x05);
	CHECK_EQ(in(&r, IER), 0x05);
	out(&r, THR, 'x');           /* a real write to THR, not DLL */
	out(&r, LCR, 0x83);
	CHECK_EQ(in(&r, DLL), 0x01);
	CHECK_EQ(in(&r, DLM), 0x02);
	size_t len;
	const char *o = chardev_memory_output(r.chr, &len);
	CHECK_EQ(len, 1);
	CHECK_EQ(o[0], 'x');
	rig_free(&r);
}

TEST(serial_transmit_to_chardev)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	out(&r, LCR, 0x03);
	for (const char *p = "hello\n"; *p; p++) {
		CHECK(in(&r, LSR) & 0x20);
		out(&r, THR, *p);
	}
	CHECK_EQ(in(&r, LSR) & 0x60, 0x60); /* THRE and TEMT at once */
	CHECK(strcmp(chardev_memory_output(r.chr, NULL), "hello\n") == 0);
	rig_free(&r);
}

TEST(serial_without_chardev)
{
	struct rig r;
	CHECK(rig_init(&r, false));
	out(&r, THR, 'a');
	CHECK_EQ(in(&r, LSR), 0x60);
	CHECK_EQ(in(&r, RBR), 0);
	rig_free(&r);
}

TEST(serial_loopback_mode)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	out(&r, MCR, 0x10 | 0x02 | 0x08); /* LOOP, RTS, OUT2 */
	/* outputs looped to inputs: RTS -> CTS, OUT2 -> DCD (Linux's probe) */
	CHECK_EQ(in(&r, MSR) & 0xf0, 0x90);
	out(&r, MCR, 0x10 | 0x01 | 0x04); /* LOOP, DTR, OUT1 */
	CHECK_EQ(in(&r, MSR), 0x60 | 0x0b); /* DSR, RI; deltas CTS, DSR, DCD */
	CHECK_EQ(in(&r, MSR), 0x60);        /* deltas cleared by the read */
	out(&r, MCR, 0x10);
	CHECK_EQ(in(&r, MSR), 0x04 | 0x02); /* RI trailing edge, DSR delta */
	out(&r, THR, 'A');
	out(&r, THR, 'B');                  /* no FIFO: overruns 'A' */
	CHECK_EQ(in(&r, LSR), 0x60 | 0x02 | 0x01);
	CHECK_EQ(in(&r, RBR), 'B');
	CHECK_EQ(in(&r, LSR), 0x60);
	size_t len;
	chardev_memory_output(r.chr, &len);
	CHECK_EQ(len, 0);                   /* nothing left the chip */
	/* input from the back end does not reach a looped receiver */
	chardev_memory_inject(r.chr, "z", 1);
	CHECK_EQ(in(&r, LSR) & 0x01, 0);
	out(&r, MCR, 0x00);                 /* leaving loopback lets it in */
	CHECK_EQ(in(&r, LSR) & 0x01, 1);
	CHECK_EQ(in(&r, RBR), 'z');
	rig_free(&r);
}

TEST(serial_fifo_fill_and_overrun)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	out(&r, FCR, 0x07);                 /* enable, clear both */
	CHECK_EQ(in(&r, IIR) & 0xc0, 0xc0); /* FIFOs enabled */
	out(&r, MCR, 0x10);
	for (unsigned i = 0; i < 17; i++)
		out(&r, THR, 'a' + i);
	CHECK_EQ(in(&r, LSR), 0x60 | 0x02 | 0x01); /* OE: the 17th is lost */
	for (unsigned i = 0; i < 16; i++) {
		CHECK(in(&r, LSR) & 0x01);
		CHECK_EQ(in(&r, RBR), 'a' + i);
	}
	CHECK_EQ(in(&r, LSR), 0x60);
	/* clear RX FIFO */
	out(&r, THR, '1');
	out(&r, THR, '2');
	out(&r, FCR, 0x03);
	CHECK_EQ(in(&r, LSR) & 0x01, 0);
	/* turning the FIFOs off clears them too */
	out(&r, THR, '3');
	out(&r, FCR, 0x00);
	CHECK_EQ(in(&r, LSR) & 0x01, 0);
	CHECK_EQ(in(&r, IIR) & 0xc0, 0);
	rig_free(&r);
}

TEST(serial_trigger_levels_and_timeout)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	out(&r, FCR, 0x41);                 /* enable, trigger 4 */
	out(&r, IER, 0x01);
	out(&r, MCR, 0x08);
	chardev_memory_inject(r.chr, "abc", 3);
	CHECK_EQ(in(&r, IIR), 0xcc);        /* below trigger: timeout */
	CHECK_EQ(r.irq.level[GSI], 1);
	chardev_memory_inject(r.chr, "d", 1);
	CHECK_EQ(in(&r, IIR), 0xc4);        /* at trigger: data available */
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(in(&r, RBR), 'a' + i);
	CHECK_EQ(in(&r, IIR), 0xc1);
	CHECK_EQ(r.irq.level[GSI], 0);
	out(&r, FCR, 0xc1);                 /* trigger 14 */
	chardev_memory_inject(r.chr, "0123456789abcd", 14);
	CHECK_EQ(in(&r, IIR), 0xc4);
	rig_free(&r);
}

TEST(serial_input_flow_control)
{
	struct rig r;
	char buf[40];
	CHECK(rig_init(&r, true));
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = 'A' + i;
	out(&r, FCR, 0x01);
	chardev_memory_inject(r.chr, buf, sizeof(buf));
	CHECK_EQ(chardev_memory_pending(r.chr), sizeof(buf) - 16);
	for (unsigned i = 0; i < sizeof(buf); i++) {
		CHECK(in(&r, LSR) & 0x01);
		CHECK_EQ(in(&r, RBR), buf[i]);
	}
	CHECK_EQ(chardev_memory_pending(r.chr), 0);
	CHECK_EQ(in(&r, LSR), 0x60);        /* no overrun on the way */
	/* without FIFOs, one byte at a time */
	out(&r, FCR, 0x00);
	chardev_memory_inject(r.chr, "xy", 2);
	CHECK_EQ(chardev_memory_pending(r.chr), 1);
	CHECK_EQ(in(&r, RBR), 'x');
	CHECK_EQ(in(&r, RBR), 'y');
	CHECK_EQ(in(&r, LSR), 0x60);
	rig_free(&r);
}

TEST(serial_iir_priority_and_out2)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	out(&r, MCR, 0x10);                 /* loopback, OUT2 off */
	out(&r, IER, 0x0f);                 /* THRE fires on enabling */
	CHECK_EQ(r.irq.level[GSI], 0);      /* but OUT2 gates the line */
	out(&r, MCR, 0x10 | 0x08);          /* OUT2: also DCD delta */
	CHECK_EQ(r.irq.level[GSI], 1);
	out(&r, THR, 'a');
	out(&r, THR, 'b');                  /* overrun */
	CHECK_EQ(in(&r, IIR), 0x06);        /* line status first */
	CHECK_EQ(in(&r, LSR) & 0x03, 0x03); /* read clears OE */
	CHECK_EQ(in(&r, IIR), 0x04);        /* then received data */
	CHECK_EQ(in(&r, RBR), 'b');
	CHECK_EQ(in(&r, IIR), 0x02);        /* then THR empty: read clears it */
	CHECK_EQ(in(&r, IIR), 0x00);        /* then modem status */
	CHECK_EQ(r.irq.level[GSI], 1);
	in(&r, MSR);
	CHECK_EQ(in(&r, IIR), 0x01);
	CHECK_EQ(r.irq.level[GSI], 0);
	/* OUT2 off drops a pending interrupt's line, on raises it again */
	out(&r, THR, 'c');
	CHECK_EQ(r.irq.level[GSI], 1);
	out(&r, MCR, 0x10 | 0x02);          /* OUT2 off (CTS delta is pending) */
	CHECK_EQ(r.irq.level[GSI], 0);
	CHECK(in(&r, IIR) != 0x01);
	rig_free(&r);
}

TEST(serial_thr_write_gives_a_new_edge)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	out(&r, MCR, 0x08);
	out(&r, IER, 0x02);
	CHECK_EQ(r.irq.level[GSI], 1);
	unsigned rises = r.irq.rises[GSI];
	out(&r, THR, 'a');                  /* never read IIR: polling driver */
	out(&r, THR, 'b');
	CHECK_EQ(r.irq.rises[GSI], rises + 2);
	CHECK_EQ(r.irq.level[GSI], 1);
	out(&r, IER, 0x00);
	CHECK_EQ(r.irq.level[GSI], 0);
	/* re-enabling ETBEI with THR empty interrupts again */
	out(&r, IER, 0x02);
	CHECK_EQ(r.irq.level[GSI], 1);
	CHECK_EQ(in(&r, IIR), 0x02);
	CHECK_EQ(r.irq.level[GSI], 0);
	rig_free(&r);
}

TEST(serial_odd_accesses_are_harmless)
{
	struct rig r;
	CHECK(rig_init(&r, true));
	uint64_t v = 0;
	machine_pio(r.m, COM1 + 6, false, &v, 4); /* MSR, SCR, then past the end */
	CHECK_EQ(v >> 16, 0xffff);
	v = 0x11223344;
	machine_pio(r.m, COM1 + 7, true, &v, 4);  /* SCR = 0x44, rest dropped */
	CHECK_EQ(in(&r, SCR), 0x44);
	v = ~0ULL;
	machine_pio(r.m, COM1 + 1, true, &v, 8);  /* IER ... SCR, one past */
	CHECK_EQ(in(&r, LCR), 0xff);
	CHECK_EQ(in(&r, MCR), 0x1f);              /* reserved bits stay 0 */
	out(&r, LCR, 0x03);
	CHECK_EQ(in(&r, IER), 0x0f);
	CHECK_EQ(in(&r, IIR), 0xc2);              /* FIFOs on, THR empty */
	rig_free(&r);
}

TEST(serial_reset_and_save_load)
{
	struct rig a, b;
	CHECK(rig_init(&a, true));
	CHECK(rig_init(&b, true));
	out(&a, LCR, 0x80);
	out(&a, DLL, 0x34);
	out(&a, DLM, 0x12);
	out(&a, LCR, 0x1b);
	out(&a, FCR, 0x81);
	out(&a, MCR, 0x1b);
	out(&a, SCR, 0x77);
	out(&a, THR, 'p');
	out(&a, THR, 'q');
	out(&a, IER, 0x01);
	CHECK_EQ(a.irq.level[GSI], 1);

	struct state_buf s;
	state_init(&s);
	machine_save_devices(a.m, &s);
	CHECK(!s.error);
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b.m, &s), 0);
	CHECK_EQ(b.irq.level[GSI], 1);
	CHECK_EQ(in(&b, LCR), 0x1b);
	CHECK_EQ(in(&b, MCR), 0x1b);
	CHECK_EQ(in(&b, SCR), 0x77);
	CHECK_EQ(in(&b, IIR), 0xcc);
	CHECK_EQ(in(&b, RBR), 'p');
	CHECK_EQ(in(&b, RBR), 'q');
	out(&b, LCR, 0x9b);
	CHECK_EQ(in(&b, DLL), 0x34);
	CHECK_EQ(in(&b, DLM), 0x12);

	/* truncated and corrupted states are refused */
	struct state_buf t = s;
	t.len = s.len - 3;
	state_rewind(&t);
	CHECK_EQ(machine_load_devices(b.m, &t), -1);
	s.data[strlen("serial") + 1 + 11] = 17; /* rx_count past the FIFO */
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b.m, &s), -1);
	state_free(&s);

	/* a machine reset puts the power-on values back, SCR survives */
	machine_reset_devices(a.m);
	CHECK_EQ(a.irq.level[GSI], 0);
	CHECK_EQ(in(&a, LCR), 0);
	CHECK_EQ(in(&a, MCR), 0);
	CHECK_EQ(in(&a, LSR), 0x60);
	CHECK_EQ(in(&a, IIR), 0x01);
	CHECK_EQ(in(&a, SCR), 0x77);
	rig_free(&a);
	rig_free(&b);
}

/* A vCPU thread drains the port while the main thread feeds input: every
 * byte arrives once, in order, without overrun (flow control and locks). */
struct reader {
	struct rig *r;
	unsigned n, got, errors;
};

static void *reader_thread(void *opaque)
{
	struct reader *rd = opaque;
	rcu_thread_online();
	while (rd->got < rd->n) {
		uint8_t lsr = in(rd->r, LSR);
		if (lsr & 0x02)
			rd->errors++;
		if (!(lsr & 0x01))
			continue;
		if (in(rd->r, RBR) != (uint8_t)(rd->got * 7))
			rd->errors++;
		rd->got++;
	}
	rcu_thread_offline();
	return NULL;
}

TEST(serial_concurrent_input_and_reads)
{
	struct rig r;
	struct reader rd = { &r, 20000, 0, 0 };
	uint8_t buf[100];
	pthread_t t;
	CHECK(rig_init(&r, true));
	out(&r, FCR, 0x01);
	CHECK(pthread_create(&t, NULL, reader_thread, &rd) == 0);
	for (unsigned i = 0; i < rd.n; i += sizeof(buf)) {
		for (unsigned j = 0; j < sizeof(buf); j++)
			buf[j] = (i + j) * 7;
		chardev_memory_inject(r.chr, buf, sizeof(buf));
	}
	pthread_join(t, NULL);
	CHECK_EQ(rd.errors, 0);
	CHECK_EQ(rd.got, rd.n);
	CHECK_EQ(chardev_memory_pending(r.chr), 0);
	rig_free(&r);
}

/* Random guest accesses never crash, and the state saved after them loads. */
TEST(serial_random_io_then_state_round_trip)
{
	struct rig a, b;
	unsigned seed = 1;
	CHECK(rig_init(&a, true));
	CHECK(rig_init(&b, true));
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t v = ((uint64_t)rand_r(&seed) << 32) | rand_r(&seed);
		unsigned size = 1u << (rand_r(&seed) % 4), reg = rand_r(&seed) % 9;
		machine_pio(a.m, COM1 + reg, rand_r(&seed) & 1, &v, size);
		if (i % 64 == 0)
			chardev_memory_inject(a.chr, "rnd", 3);
	}
	CHECK_EQ(copy_device_state(a.m, b.m), 0);
	for (unsigned reg = 1; reg < 8; reg++)
		if (reg != IIR && reg != LSR && reg != MSR)
			CHECK_EQ(in(&b, reg), in(&a, reg));
	rig_free(&a);
	rig_free(&b);
}
