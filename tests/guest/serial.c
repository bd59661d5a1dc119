/* serial.elf: the COM1 16550A.  Scratch register, FIFO identification,
 * loopback (data and modem lines, 16 bytes through the FIFO), the
 * received-data interrupt and interrupt-driven output on THR-empty, both
 * through the IOAPIC pin of ISA IRQ4 (the harness looks for the line sent
 * that way). */
#include "guest.h"

#define VEC_COM1 0x34
#define R(n) (COM1 + (n))

static volatile int rx_irqs, tx_irqs, rx_got, tx_done;
static volatile uint8_t rx_buf[32];
static const char tx_msg[] = "serial: this line was sent by the THR-empty interrupt handler\n";
static volatile size_t tx_pos;

static void on_com1(struct frame *f)
{
	(void)f;
	for (;;) {
		uint8_t iir = inb(R(2));
		if (iir & 1)
			break;
		switch (iir & 0x0e) {
		case 0x04:		/* received data */
		case 0x0c:		/* character timeout */
			rx_irqs++;
			while (inb(R(5)) & 1) {
				uint8_t b = inb(R(0));
				if (rx_got < (int)sizeof(rx_buf))
					rx_buf[rx_got++] = b;
			}
			break;
		case 0x02:		/* THR empty */
			tx_irqs++;
			for (int i = 0; i < 16 && tx_pos < sizeof(tx_msg) - 1; i++)
				outb(R(0), tx_msg[tx_pos++]);
			if (tx_pos == sizeof(tx_msg) - 1) {
				outb(R(1), 0);
				tx_done = 1;
			}
			break;
		case 0x06:		/* line status */
			inb(R(5));
			break;
		default:		/* modem status */
			inb(R(6));
		}
	}
	lapic_eoi();
}

static void drain(void)
{
	while ((inb(R(5)) & 0x60) != 0x60)
		cpu_relax();
}

int main(void)
{
	struct madt_info m;
	uint32_t me;

	test_name = "serial";
	printk("serial: start\n");
	acpi_scan(&m);
	int gsi = m.irq_gsi[4];
	lapic_enable();
	me = lapic_id();
	set_irq_handler(VEC_COM1, on_com1);
	drain();

	outb(R(7), 0x5a);
	uint8_t a = inb(R(7));
	outb(R(7), 0xa5);
	uint8_t b = inb(R(7));
	check(a == 0x5a && b == 0xa5, "scratch register");
	check((inb(R(2)) & 0xc0) == 0xc0, "iir reports an enabled fifo (16550A)");
	check((inb(R(5)) & 0x60) == 0x60, "lsr: transmitter empty");

	/* loopback: data and modem control lines */
	outb(R(4), 0x1b);			/* LOOP | OUT2 | RTS | DTR */
	uint8_t msr = inb(R(6));
	while (inb(R(5)) & 1)
		inb(R(0));
	const char pat[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++)
		outb(R(0), pat[i]);
	char got[17] = { 0 };
	int n = 0;
	for (uint64_t t0 = now_us(); n < 16 && now_us() - t0 < 5000000;)
		if (inb(R(5)) & 1)
			got[n++] = inb(R(0));
	outb(R(4), 0x0b);
	check((msr & 0xf0) == 0xb0, "loopback modem lines: msr %x", msr);
	check(n == 16 && !memcmp(got, pat, 16), "loopback: 16 bytes through the fifo in order (%d)", n);

	/* received-data interrupt (loopback, trigger level 1) */
	ioapic_route(gsi, VEC_COM1, me, false, false);
	outb(R(4), 0x1b);
	outb(R(1), 0x01);			/* ERBFI */
	outb(R(0), 'Q');
	bool ok = poll_for(&rx_got, 1, 5000000);
	outb(R(1), 0);
	outb(R(4), 0x0b);
	check(ok && rx_buf[0] == 'Q' && rx_irqs >= 1, "rx interrupt via ioapic pin %d", gsi);

	/* THR-empty interrupts drive a whole line out */
	drain();
	tx_pos = 0;
	outb(R(1), 0x02);			/* ETBEI: fires at once (THR empty) */
	ok = poll_for(&tx_done, 1, 5000000);
	outb(R(1), 0);
	drain();
	serial_tx_resync();
	int need = (sizeof(tx_msg) - 1 + 15) / 16;
	check(ok && tx_irqs >= need, "tx by thr-empty interrupts: %d interrupts for %d bytes",
	      tx_irqs, (int)sizeof(tx_msg) - 1);
	ioapic_route(gsi, VEC_COM1, me, false, true);
	check((inb(R(2)) & 1) == 1, "iir: nothing pending with ier 0");
	return 0;
}
