/* The PCI host bridge, config mechanism #1 and 0xcf9 (user/hw/pci_host.c). */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "devtest.h"
#include "machine.h"
#include "hw/hw.h"

static uint32_t cfg_addr(unsigned bus, unsigned slot, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc);
}

/* Read size bytes of config space at reg through the ports. */
static uint32_t cfg_read(struct machine *m, unsigned slot, unsigned fn, unsigned reg,
			 unsigned size)
{
	pio_out(m, 0xcf8, cfg_addr(0, slot, fn, reg), 4);
	return pio_in(m, 0xcfc + (reg & 3), size);
}

static void cfg_write(struct machine *m, unsigned slot, unsigned fn, unsigned reg,
		      uint32_t val, unsigned size)
{
	pio_out(m, 0xcf8, cfg_addr(0, slot, fn, reg), 4);
	pio_out(m, 0xcfc + (reg & 3), val, size);
}

TEST(pci_host_bridge_identity)
{
	struct machine *m = machine_new(16 << 20);
	CHECK(m);
	CHECK(pci_host_new(m));
	CHECK_EQ(cfg_read(m, 0, 0, 0, 4), 0x12378086);
	CHECK_EQ(cfg_read(m, 0, 0, 0, 2), 0x8086);
	CHECK_EQ(cfg_read(m, 0, 0, 2, 2), 0x1237);
	CHECK_EQ(cfg_read(m, 0, 0, 0, 1), 0x86);
	CHECK_EQ(cfg_read(m, 0, 0, 1, 1), 0x80);
	CHECK_EQ(cfg_read(m, 0, 0, 2, 1), 0x37);
	CHECK_EQ(cfg_read(m, 0, 0, 3, 1), 0x12);
	CHECK_EQ(cfg_read(m, 0, 0, 8, 4), 0x06000002); /* host bridge, rev 2 */
	CHECK_EQ(cfg_read(m, 0, 0, 0x0e, 1), 0x00);    /* header type 0 */
	CHECK_EQ(cfg_read(m, 0, 0, 0x72, 1), 0x02);    /* SMRAM default */
	/* a dword at 0xcfd runs past the data port: the rest is ones */
	pio_out(m, 0xcf8, cfg_addr(0, 0, 0, 0), 4);
	CHECK_EQ(pio_in(m, 0xcfd, 4), 0xff123780);
	machine_free(m);
}

TEST(pci_config_address_latch)
{
	struct machine *m = machine_new(16 << 20);
	CHECK(m);
	CHECK(pci_host_new(m));
	pio_out(m, 0xcf8, 0xffffffff, 4);
	CHECK_EQ(pio_in(m, 0xcf8, 4), 0x80fffffc);        /* reserved bits read 0 */
	pio_out(m, 0xcf8, 0x80000000, 4);
	pio_out(m, 0xcf8, 0x12, 1);                       /* not a dword: ignored */
	pio_out(m, 0xcfa, 0x1234, 2);
	CHECK_EQ(pio_in(m, 0xcf8, 4), 0x80000000);
	CHECK_EQ(pio_in(m, 0xcf8, 1), 0xff);
	CHECK_EQ(pio_in(m, 0xcfa, 2), 0xffff);
	CHECK_EQ(machine_take_request(m, NULL), REQ_NONE);
	machine_free(m);
}

TEST(pci_absent_functions_read_ones)
{
	struct machine *m = machine_new(16 << 20);
	CHECK(m);
	CHECK(pci_host_new(m));
	CHECK_EQ(cfg_read(m, 5, 0, 0, 4), 0xffffffff);
	CHECK_EQ(cfg_read(m, 0, 1, 0, 2), 0xffff);
	CHECK_EQ(cfg_read(m, 31, 7, 0xfc, 4), 0xffffffff);
	pio_out(m, 0xcf8, 0x80010000, 4);                  /* bus 1 */
	CHECK_EQ(pio_in(m, 0xcfc, 4), 0xffffffff);
	pio_out(m, 0xcf8, 0x00000000, 4);                  /* enable bit clear */
	CHECK_EQ(pio_in(m, 0xcfc, 4), 0xffffffff);
	pio_out(m, 0xcfc, 0, 4);                           /* dropped */
	cfg_write(m, 7, 0, 4, 0xffff, 2);
	CHECK_EQ(cfg_read(m, 0, 0, 0, 4), 0x12378086);
	machine_free(m);
}

TEST(pci_write_masks)
{
	struct machine *m = machine_new(16 << 20);
	struct pci_host *h;
	CHECK(m);
	CHECK((h = pci_host_new(m)));
	cfg_write(m, 0, 0, 0, 0, 4);                    /* ids are read-only */
	CHECK_EQ(cfg_read(m, 0, 0, 0, 4), 0x12378086);
	cfg_write(m, 0, 0, 4, 0xffff, 2);
	CHECK_EQ(cfg_read(m, 0, 0, 4, 2), 0x0547);      /* writable command bits */
	cfg_write(m, 0, 0, 5, 0x00, 1);                 /* byte in the middle */
	CHECK_EQ(cfg_read(m, 0, 0, 4, 2), 0x0047);
	struct pci_device *d = pci_find_device(h, 0, 0, 0);
	CHECK(d);
	pci_config_set(d, 6, 0xf900 | 0x0080, 2);       /* errors + fast b2b */
	cfg_write(m, 0, 0, 6, 0x2000, 2);               /* write 1 to clear */
	CHECK_EQ(cfg_read(m, 0, 0, 6, 2), 0xd980);
	cfg_write(m, 0, 0, 4, 0xffff0000, 4);           /* status via dword */
	CHECK_EQ(cfg_read(m, 0, 0, 4, 4), 0x00800000); /* command written 0 */
	cfg_write(m, 0, 0, 0x3c, 0x0b, 1);              /* interrupt line */
	CHECK_EQ(cfg_read(m, 0, 0, 0x3c, 1), 0x0b);
	cfg_write(m, 0, 0, 0x58, 0xffffffff, 4);        /* PAM0..2 */
	CHECK_EQ(cfg_read(m, 0, 0, 0x58, 4), 0x33333000);
	cfg_write(m, 0, 0, 0x72, 0xff, 1);
	CHECK_EQ(cfg_read(m, 0, 0, 0x72, 1), 0x7a);
	CHECK(!pci_find_device(h, 1, 0, 0));
	CHECK(!pci_find_device(h, 0, 32, 0));
	machine_free(m);
}

struct model {
	unsigned writes, last_offset, last_size;
};

static void model_config_write(struct pci_device *d, unsigned offset, unsigned size)
{
	struct model *mo = d->opaque;
	mo->writes++;
	mo->last_offset = offset;
	mo->last_size = size;
}

static const struct pci_device_ops model_ops = { .config_write = model_config_write };

TEST(pci_register_device_and_bars)
{
	struct machine *m = machine_new(16 << 20);
	struct pci_host *h;
	struct model mo = { 0 };
	CHECK(m);
	CHECK((h = pci_host_new(m)));
	struct pci_device *d = pci_register_device(h, 3, 0, 0x1af4, 0x1000, 0x020000, 1,
						   &model_ops, &mo);
	CHECK(d);
	CHECK(!pci_register_device(h, 3, 0, 1, 2, 3, 4, NULL, NULL));  /* taken */
	CHECK(!pci_register_device(h, 32, 0, 1, 2, 3, 4, NULL, NULL)); /* no slot */
	CHECK(!pci_register_device(h, 0, 8, 1, 2, 3, 4, NULL, NULL));
	pci_device_set_bar(d, 0, 32, PCI_BAR_IO);
	pci_device_set_bar(d, 1, 3000, PCI_BAR_PREFETCH); /* rounded to 4 KiB */
	pci_config_set(d, 0x3d, 1, 1);                  /* INTA# */
	CHECK_EQ(cfg_read(m, 3, 0, 0, 4), 0x10001af4);
	CHECK_EQ(cfg_read(m, 3, 0, 8, 4), 0x02000001);
	CHECK_EQ(cfg_read(m, 3, 0, 0x10, 4), 0x00000001);
	CHECK_EQ(cfg_read(m, 3, 0, 0x14, 4), 0x00000008);
	cfg_write(m, 3, 0, 0x10, 0xffffffff, 4);        /* size the BARs */
	CHECK_EQ(cfg_read(m, 3, 0, 0x10, 4), 0xffffffe1);
	CHECK_EQ(mo.writes, 1);
	CHECK_EQ(mo.last_offset, 0x10);
	CHECK_EQ(mo.last_size, 4);
	cfg_write(m, 3, 0, 0x14, 0xffffffff, 4);
	CHECK_EQ(cfg_read(m, 3, 0, 0x14, 4), 0xfffff008);
	cfg_write(m, 3, 0, 0x10, 0xc040, 4);
	cfg_write(m, 3, 0, 0x14, 0xfebf1000, 4);
	CHECK_EQ(pci_device_bar(d, 0), 0xc040);
	CHECK_EQ(pci_device_bar(d, 1), 0xfebf1000);
	CHECK_EQ(pci_device_bar(d, 2), 0);
	CHECK_EQ(pci_device_bar(d, 9), 0);
	cfg_write(m, 3, 0, 0x3d, 0x04, 1);              /* pin is read-only */
	CHECK_EQ(cfg_read(m, 3, 0, 0x3d, 1), 0x01);
	CHECK_EQ(mo.last_offset, 0x3d);
	CHECK_EQ(mo.last_size, 1);
	/* a second function turns function 0 multi-function */
	CHECK_EQ(cfg_read(m, 3, 0, 0x0e, 1), 0x00);
	CHECK(pci_register_device(h, 3, 2, 0x8086, 0x7010, 0x010180, 0, NULL, NULL));
	CHECK_EQ(cfg_read(m, 3, 0, 0x0e, 1), 0x80);
	CHECK_EQ(cfg_read(m, 3, 2, 0, 4), 0x70108086);
	CHECK_EQ(cfg_read(m, 3, 1, 0, 4), 0xffffffff);
	CHECK_EQ(pci_config_get(d, 0xfe, 4), 0xffff0000);
	machine_free(m);
}

TEST(pci_reset_control_register)
{
	struct machine *m = machine_new(16 << 20);
	CHECK(m);
	CHECK(pci_host_new(m));
	CHECK_EQ(pio_in(m, 0xcf9, 1), 0x00);
	pio_out(m, 0xcf9, 0x02, 1);                        /* hard reset type */
	CHECK_EQ(machine_take_request(m, NULL), REQ_NONE);
	CHECK_EQ(pio_in(m, 0xcf9, 1), 0x02);
	pio_out(m, 0xcf9, 0x06, 1);                        /* go */
	CHECK_EQ(machine_take_request(m, NULL), REQ_RESET);
	CHECK_EQ(pio_in(m, 0xcf9, 1), 0x06);
	pio_out(m, 0xcf9, 0x04, 1);                        /* soft reset */
	CHECK_EQ(machine_take_request(m, NULL), REQ_RESET);
	pio_out(m, 0xcf8, 0x80000400, 4);                  /* CONFIG_ADDRESS only */
	pio_out(m, 0xcf8, 0x0400, 2);                      /* word: nothing */
	CHECK_EQ(machine_take_request(m, NULL), REQ_NONE);
	CHECK_EQ(pio_in(m, 0xcf9, 1), 0x04);
	machine_reset_devices(m);
	CHECK_EQ(pio_in(m, 0xcf9, 1), 0x00);
	machine_free(m);
}

TEST(pci_save_load_and_reset)
{
	struct machine *a = machine_new(16 << 20), *b = machine_new(16 << 20);
	struct pci_host *ha, *hb;
	CHECK(a && b);
	CHECK((ha = pci_host_new(a)) && (hb = pci_host_new(b)));
	struct pci_device *da = pci_register_device(ha, 2, 0, 0x1234, 0x1111, 0x030000, 2,
						    NULL, NULL);
	struct pci_device *db = pci_register_device(hb, 2, 0, 0x1234, 0x1111, 0x030000, 2,
						    NULL, NULL);
	CHECK(da && db);
	pci_device_set_bar(da, 0, 16 << 20, PCI_BAR_PREFETCH);
	pci_device_set_bar(db, 0, 16 << 20, PCI_BAR_PREFETCH);
	cfg_write(a, 2, 0, 0x10, 0xfd000000, 4);
	cfg_write(a, 2, 0, 4, 0x0003, 2);
	cfg_write(a, 0, 0, 0x59, 0x30, 1);
	pio_out(a, 0xcf8, cfg_addr(0, 2, 0, 0x10), 4);

	struct state_buf s;
	state_init(&s);
	machine_save_devices(a, &s);
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b, &s), 0);
	CHECK_EQ(pio_in(b, 0xcf8, 4), cfg_addr(0, 2, 0, 0x10));
	CHECK_EQ(pio_in(b, 0xcfc, 4), 0xfd000008);
	CHECK_EQ(pci_device_bar(db, 0), 0xfd000000);
	CHECK_EQ(cfg_read(b, 2, 0, 4, 2), 0x0003);
	CHECK_EQ(cfg_read(b, 0, 0, 0x59, 1), 0x30);

	/* a machine with other devices refuses the state */
	struct machine *c = machine_new(16 << 20);
	struct pci_host *hc;
	CHECK(c && (hc = pci_host_new(c)));
	CHECK(pci_register_device(hc, 2, 0, 0x1234, 0x2222, 0x030000, 2, NULL, NULL));
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(c, &s), -1);
	pci_register_device(hc, 4, 0, 0x1234, 0x2222, 0x030000, 2, NULL, NULL);
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(c, &s), -1);
	machine_free(c);
	s.len -= 10;
	state_rewind(&s);
	CHECK_EQ(machine_load_devices(b, &s), -1);
	state_free(&s);

	/* reset: writable bits go, identity and fixed bits stay */
	machine_reset_devices(a);
	CHECK_EQ(cfg_read(a, 2, 0, 4, 2), 0);
	CHECK_EQ(cfg_read(a, 2, 0, 0x10, 4), 0x00000008);
	CHECK_EQ(cfg_read(a, 2, 0, 0, 4), 0x11111234);
	CHECK_EQ(cfg_read(a, 0, 0, 0x59, 1), 0);
	CHECK_EQ(cfg_read(a, 0, 0, 0x72, 1), 0x02);
	machine_free(a);
	machine_free(b);
}

/* Random guest accesses never crash, and the state saved after them loads. */
TEST(pci_random_io_then_state_round_trip)
{
	struct machine *a = machine_new(16 << 20), *b = machine_new(16 << 20);
	unsigned seed = 4;
	CHECK(a && b);
	CHECK(pci_host_new(a) && pci_host_new(b));
	for (unsigned i = 0; i < 50000; i++) {
		uint64_t v = ((uint64_t)rand_r(&seed) << 31) ^ rand_r(&seed);
		unsigned size = 1u << (rand_r(&seed) % 3), port = 0xcf8 + rand_r(&seed) % 8;
		if (rand_r(&seed) % 4 == 0) {          /* point at 00:00.x mostly */
			v = 0x80000000u | (v & 0x7fc);
			port = 0xcf8;
			size = 4;
		}
		machine_pio(a, port, rand_r(&seed) & 1, &v, size);
	}
	CHECK_EQ(copy_device_state(a, b), 0);
	for (unsigned reg = 0; reg < 256; reg += 4)
		CHECK_EQ(cfg_read(b, 0, 0, reg, 4), cfg_read(a, 0, 0, reg, 4));
	machine_free(a);
	machine_free(b);
}
