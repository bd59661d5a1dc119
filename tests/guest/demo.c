/* demo.elf: the guest behind "make run".  Prints a banner, brings up every
 * CPU (each prints its APIC ID), then echoes what is typed on the serial
 * console (received-data interrupts through the IOAPIC, hlt in between);
 * 'q' resets the machine through port 0xcf9 (with -no-reboot: the VMM exits). */
#include "guest.h"

#define VEC_COM1 0x34
static volatile uint8_t ring[256];
static volatile unsigned head, tail;

static void on_com1(struct frame *f)
{
	(void)f;
	while (inb(COM1 + 5) & 1) {
		uint8_t c = inb(COM1);
		if (head - tail < sizeof(ring))
			ring[head++ % sizeof(ring)] = c;
	}
	lapic_eoi();
}

static void ap_hello(struct cpu *c)
{
	printk("  cpu %d: apic id %u\n", c->index, c->apic_id);
}

int main(void)
{
	struct madt_info m;
	const char *method;

	serial_crlf = true;
	test_name = "demo";
	printk("\n== qvm demo guest: long mode, %s ==\n", mb_cmdline()[0] ? mb_cmdline() : "no command line");
	acpi_scan(&m);
	lapic_enable();
	cpus[0].apic_id = lapic_id();
	printk("  cpu 0: apic id %u (bsp)\n", cpus[0].apic_id);
	ap_main_fn = ap_hello;
	int n = smp_boot(&m, 0, &method);
	delay_us(20000);
	printk("%d cpu%s up (%s). Type to echo, 'q' to quit.\n", n, n == 1 ? "" : "s",
	       m.found ? "from the madt" : "by broadcast");

	set_irq_handler(VEC_COM1, on_com1);
	ioapic_route(m.irq_gsi[4], VEC_COM1, cpus[0].apic_id, false, false);
	outb(COM1 + 1, 0x01);			/* received-data interrupt */
	for (;;) {
		cli();
		while (head == tail)
			sti_hlt();
		cli();
		uint8_t c = ring[tail++ % sizeof(ring)];
		if (c == 'q') {
			printk("\nbye\n");
			reset_cf9();
		}
		if (c == '\r' || c == '\n')
			printk("\n");
		else
			printk("%c", c);
	}
}
