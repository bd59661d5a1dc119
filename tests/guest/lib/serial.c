/* COM1 console.  Output uses the 16550A FIFO: wait for THRE once, then
 * write up to 16 bytes without polling (one exit per byte, not two). */
#include "guest.h"

static int tx_room;
static volatile int print_lock;
bool serial_crlf;

void serial_init(void)
{
	outb(COM1 + 1, 0x00);		/* IER: no interrupts */
	outb(COM1 + 3, 0x80);		/* DLAB */
	outb(COM1 + 0, 0x01);		/* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);		/* 8N1 */
	outb(COM1 + 2, 0x07);		/* FIFO on, clear both, trigger 1 */
	outb(COM1 + 4, 0x0b);		/* DTR RTS OUT2 */
	tx_room = 0;
}

void serial_tx_resync(void)
{
	tx_room = 0;
}

void serial_putc(char c)
{
	if (tx_room == 0) {
		/* bounded: a UART that never reports THRE must not hang us */
		for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
			cpu_relax();
		tx_room = 16;
	}
	outb(COM1, (uint8_t)c);
	tx_room--;
}

void serial_write(const char *s, size_t n)
{
	while (n--) {
		if (*s == '\n' && serial_crlf)
			serial_putc('\r');
		serial_putc(*s++);
	}
}

int serial_getc(void)
{
	if (!(inb(COM1 + 5) & 0x01))
		return -1;
	return inb(COM1);
}

static void lock(void)
{
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		while (READ_ONCE(print_lock))
			cpu_relax();
}

static void unlock(void)
{
	__atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

void vprintk(const char *fmt, va_list ap)
{
	char buf[256];
	int n = vsnprintk(buf, sizeof(buf), fmt, ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	lock();
	serial_write(buf, n);
	unlock();
}

void printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}

/* For panic: take the lock if it can be had soon, print regardless. */
void printk_force(const char *fmt, va_list ap)
{
	char buf[256];
	int n = vsnprintk(buf, sizeof(buf), fmt, ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	for (int i = 0; i < 1000000 && __atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE); i++)
		cpu_relax();
	serial_write(buf, n);
	unlock();
}
