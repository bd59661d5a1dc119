/*
 * Constructors of the device models in user/hw/.  Each creates the device,
 * registers its ports/MMIO and its device_ops with the machine, and returns
 * it (NULL with a message on error).  The machine owns and frees them.
 */
#ifndef QVM_HW_H
#define QVM_HW_H

#include "qvm.h"

struct machine;
struct chardev;

/* 16550A UART (serial.c).  COM1: iobase 0x3f8, gsi 4.  Becomes chr's
 * front end (input flows into its 16-byte RX FIFO); chr may be NULL
 * (output dropped).  machine_free() detaches it from chr, so close chr
 * after machine_free(), never before.  The IRQ is a level on gsi: high
 * while an enabled interrupt is pending and MCR OUT2 is set. */
struct serial;
struct serial *serial_new(struct machine *m, uint16_t iobase, unsigned gsi,
			  struct chardev *chr);

/* i8042 keyboard controller (i8042.c): ports 0x60/0x64; command 0xFE
 * pulses reset (machine reset request); A20 through output port bit 1
 * and port 0x92 (fast A20, bit 0 is also a reset). */
struct i8042;
struct i8042 *i8042_new(struct machine *m);
bool i8042_a20_enabled(struct i8042 *k);

/* MC146818 RTC and CMOS (rtc.c): ports 0x70/0x71, gsi 8.  Reads host time
 * (UTC) at creation and keeps it running; CMOS holds the memory size and
 * vCPU count in the PC layout.  Set m->loop before rtc_new() for timer-
 * driven interrupts (without a loop, flags are only computed when the
 * guest touches the chip).  rtc_set_cmos/rtc_get_cmos act as guest
 * accesses would (except that reading register C does not clear it), and
 * rtc_set_cmos of 0x10-0x2d updates the checksum at 0x2e/0x2f. */
struct rtc;
struct rtc *rtc_new(struct machine *m, unsigned gsi);
void rtc_set_cmos(struct rtc *r, unsigned index, uint8_t value);
uint8_t rtc_get_cmos(struct rtc *r, unsigned index);
/* Fill the memory-size and CPU-count bytes from the machine. */
void rtc_set_memory_info(struct rtc *r, uint64_t ram_below_4g,
			 uint64_t ram_above_4g, unsigned nr_cpus);

/* Port 0x80, the POST code port (port80.c): writes are accepted and the
 * last value reads back. */
struct port80;
struct port80 *port80_new(struct machine *m);

/* isa-debug-exit (debug_exit.c): a write of value v ends qvm with status
 * (v << 1) | 1, as QEMU does. */
struct debug_exit;
struct debug_exit *debug_exit_new(struct machine *m, uint16_t iobase, uint16_t iosize);

/* isa-debugcon (debugcon.c): bytes written to port 0xe9 or 0x402 go to
 * the character device spec opens (chardev_open); both read 0xe9. */
struct debugcon;
struct debugcon *debugcon_new(struct machine *m, const char *spec);

/* ACPI fixed hardware (acpi_pm.c, ACPI 6.4 section 4.8): the PM1a event
 * and control blocks, the PM timer and a GPE0 block in ports
 * ACPI_PM_BASE .. +ACPI_PM_LEN-1, the SCI on ACPI_SCI_GSI.  The FADT and
 * the DSDT's \_S5 (acpi-dsdt.c) are built from these numbers.  Writing SLP_EN
 * with SLP_TYP = ACPI_SLP_TYP_S5 requests a power-off.  With m->loop set
 * before acpi_pm_new(), a timer raises the SCI when the PM timer's bit 23
 * toggles while TMR_EN is set. */
#define ACPI_PM_BASE 0x600
#define ACPI_PM_LEN 0x10
#define ACPI_PM1_EVT_OFF 0x00   /* PM1_STS, PM1_EN */
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT_OFF 0x04
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_TMR_OFF 0x08
#define ACPI_PM_TMR_LEN 4
#define ACPI_GPE0_OFF 0x0c      /* GPE0_STS, GPE0_EN: 16 events */
#define ACPI_GPE0_LEN 4
#define ACPI_SCI_GSI 9
#define ACPI_SLP_TYP_S5 5
struct acpi_pm;
struct acpi_pm *acpi_pm_new(struct machine *m);
/* The fixed-feature power button was pressed (PWRBTN_STS, SCI when
 * PWRBTN_EN): an ACPI guest shuts down cleanly. */
void acpi_pm_power_button(struct acpi_pm *pm);

/* PCI host bridge, configuration mechanism #1 (pci_host.c): 0xcf8 address,
 * 0xcfc-0xcff data; device 00:00.0 is an i440FX host bridge.  Byte port
 * 0xcf9 is the PIIX reset control register (bit 2 with bit 1: reset). */
struct pci_host;
struct pci_host *pci_host_new(struct machine *m);

/*
 * The bus model (bus 0 only): up to 32 slots of 8 functions.  A device
 * model registers a function and gets its config space: 256 bytes
 * (little-endian) with a mask of the bits a guest may write and a mask of
 * the bits a guest clears by writing 1 (status errors).  Unregistered
 * functions, and other buses, read as all ones (vendor 0xffff).
 *
 * pci_register_device() fills vendor, device, revision, class code
 * (class << 16 | subclass << 8 | prog-if), header type 0 (with the
 * multi-function bit on function 0 when other functions exist) and the
 * standard masks: command bits (I/O, memory, bus master, parity, SERR,
 * INTx disable), status error bits (write 1 to clear), cache line size,
 * latency timer and interrupt line.  The model then sets the rest
 * (interrupt pin at 0x3d, BARs, capabilities, its own registers) with
 * pci_config_set(), pci_device_set_bar() and d->wmask.
 *
 * A machine reset clears every writable bit of every function (command,
 * BARs, interrupt line...) and the status error bits; a model whose
 * registers reset to something else sets them in its own reset, which
 * runs after the host's (devices reset in the order they were added).
 * State save/load of the host saves every config space; a model's own
 * load can rebuild its mappings from d->config.
 *
 * Locking: guest config accesses and the config_write callback run under
 * the host lock.  Inside the callback, and before the guest runs, use
 * d->config / pci_config_get() / pci_config_set() freely; from another
 * thread take pci_host_lock() first.  The host owns and frees the
 * pci_device structures (machine_free): a model must not touch its
 * pci_device from its own destroy.
 */
#define PCI_SLOTS 32
#define PCI_FUNCS 8
#define PCI_CONFIG_SIZE 256

struct pci_device;

struct pci_device_ops {
	/* After a guest write of size bytes at offset was applied (masks
	 * honoured): e.g. remap a BAR, act on the command register.  It runs
	 * on a vCPU thread inside machine_pio(); it may change the physical
	 * map (machine_add_mmio, machine_remove_region): replaced maps are
	 * freed after the RCU grace period, nobody waits for it. */
	void (*config_write)(struct pci_device *d, unsigned offset, unsigned size);
};

struct pci_device {
	struct pci_host *host;
	unsigned slot, fn;
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];   /* bits the guest may write */
	uint8_t w1cmask[PCI_CONFIG_SIZE]; /* bits a guest 1 clears */
	const struct pci_device_ops *ops; /* may be NULL */
	void *opaque;                     /* the model's */
};

/* Register function fn of slot on bus 0.  NULL with a message when the
 * slot/function is out of range or taken.  Slot 0 function 0 is the host
 * bridge. */
struct pci_device *pci_register_device(struct pci_host *h, unsigned slot, unsigned fn,
				       uint16_t vendor, uint16_t device,
				       uint32_t class_code, uint8_t revision,
				       const struct pci_device_ops *ops, void *opaque);
/* The registered function, or NULL. */
struct pci_device *pci_find_device(struct pci_host *h, unsigned bus, unsigned slot,
				   unsigned fn);
/* Make BAR n (0-5) a 32-bit BAR of size bytes (a power of two, >= 16 for
 * memory, >= 4 for I/O; other sizes are rounded up).  flags: for memory
 * PCI_BAR_PREFETCH or 0; PCI_BAR_IO for I/O.  The guest sizes it as usual
 * (write ones, read back). */
#define PCI_BAR_IO 0x01
#define PCI_BAR_PREFETCH 0x08
void pci_device_set_bar(struct pci_device *d, unsigned bar, uint32_t size, uint32_t flags);
/* The address BAR n decodes at (flag bits stripped); 0 = not assigned. */
uint32_t pci_device_bar(const struct pci_device *d, unsigned bar);
/* Raw config access (no masks, no lock, no callback), size 1, 2 or 4;
 * bytes past the end of config space are ignored / read as ones. */
uint32_t pci_config_get(const struct pci_device *d, unsigned offset, unsigned size);
void pci_config_set(struct pci_device *d, unsigned offset, uint32_t value, unsigned size);
void pci_host_lock(struct pci_host *h);
void pci_host_unlock(struct pci_host *h);
/* INTx: the board wires pin 0-3 (INTA#-INTD#) of a slot to the interrupt
 * line irq_pci_line(m->irq_routing, slot, pin) gives (irq.h), as the
 * DSDT's _PRT describes it. */

/* PIIX3 PCI-to-ISA bridge at 00:01.0 of h (piix3.c): its PIRQ route
 * registers 0x60-0x63 keep what firmware writes (routes are fixed). */
struct piix3;
struct piix3 *piix3_new(struct machine *m, struct pci_host *h);

/* virtio-blk over virtio-pci (virtio_blk.c, virtio 1.2 spec 5.2) at slot
 * of h, on the open image b, which it owns from then on (closed with the
 * device, also on error).  serial: the GET_ID string (at most 20 bytes
 * used; NULL: a default); discard: honour DISCARD and WRITE_ZEROES' unmap
 * flag (discard=unmap), else accept and ignore them.  Requests run
 * asynchronously on m->loop (set it first). */
struct blk;
struct virtio_blk;
struct virtio_blk *virtio_blk_new(struct machine *m, struct pci_host *h, unsigned slot,
				  struct blk *b, const char *serial, bool discard);
/* Before qvm exits (main thread, vCPUs paused): complete what is in
 * flight and close the image (final flush, qcow2 dirty bit).  The device
 * answers later requests with IOERR. */
void virtio_blk_close(struct virtio_blk *vb);

/* virtio-net over virtio-pci (virtio_net.c, virtio 1.2 spec 5.1) at slot
 * of h with the given MAC, on the back end nd (net/net.h), which it owns
 * from then on (freed with the device; NULL: a NIC with nothing behind
 * it).  Runs on m->loop (set it first). */
struct netdev;
struct virtio_net;
struct virtio_net *virtio_net_new(struct machine *m, struct pci_host *h, unsigned slot,
				  struct netdev *nd, const uint8_t mac[6]);

/* The standard VGA (vga*.c; QEMU's -device VGA): PCI 1234:1111 at slot
 * of h with vram_mb MiB of VRAM (a power of two, 1-256), the legacy
 * ports, the VBE ports and the 0xA0000 window; romfile (NULL: none) is
 * the option ROM behind its ROM BAR.  Registers itself as the machine's
 * graphics device (ui/display.h). */
#define VGA_DEFAULT_ROM "/usr/share/seabios/vgabios-stdvga.bin"
#define VGA_DEFAULT_VRAM_MB 16
struct vga_pci;
struct vga_pci *vga_pci_new(struct machine *m, struct pci_host *h, unsigned slot,
			    uint32_t vram_mb, const char *romfile);
/* bochs-display (QEMU's): the same device with no legacy VGA, class 0380,
 * its VBE registers only in BAR2 at 0x500. */
#define BOCHS_DISPLAY_DEFAULT_ROM "/usr/share/seabios/vgabios-bochs-display.bin"
struct vga_pci *bochs_display_new(struct machine *m, struct pci_host *h, unsigned slot,
				  uint32_t vram_mb, const char *romfile);
/* The PIIX3 IDE function (ide.c, ata.c, atapi.c, ide_bm.c): 8086:7010 at
 * slot.fn of h (h NULL: no PCI function, the legacy ports alone), two
 * channels in compatibility mode (0x1f0/0x3f6 IRQ 14, 0x170/0x376 IRQ
 * 15), bus-master DMA through BAR4.  Requests run asynchronously on
 * m->loop (set it first; without one they run inline). */
struct ide_ctrl;
struct blk_open_opts;
struct ide_ctrl *ide_new(struct machine *m, struct pci_host *h, unsigned slot, unsigned fn);
/* A drive at bus (0, 1) unit (0 master, 1 slave) on the image b, which it
 * owns from then on (closed on error too); a CD-ROM may have none (NULL:
 * an empty drive).  opts: how b was opened (monitor change reopens so).
 * 0, or -1 with a message (a taken unit, a bus or unit out of range). */
int ide_attach(struct ide_ctrl *c, unsigned bus, unsigned unit, struct blk *b, bool cdrom,
	       const struct blk_open_opts *opts);
/* Monitor (main thread): take the medium out of the CD-ROM drive named
 * ideB-cdU, refused while the guest locks it unless force; put FILE in
 * (read-only).  The guest sees UNIT ATTENTION and a media event.  0, or
 * -1 with the reason in err. */
int ide_eject(struct ide_ctrl *c, const char *name, bool force, char *err, size_t errlen);
int ide_change(struct ide_ctrl *c, const char *name, const char *file, char *err,
	       size_t errlen);
/* Whether c (may be NULL) has a drive called name. */
bool ide_has_drive(struct ide_ctrl *c, const char *name);
/* info block: one entry per drive, through print. */
void ide_info_block(struct ide_ctrl *c, void (*print)(void *opaque, const char *text),
		    void *opaque);
/* Before qvm exits (main thread, vCPUs paused): finish and close the
 * images. */
void ide_close(struct ide_ctrl *c);
/* An AHCI HBA (ahci.c, AHCI 1.3.1) as PCI function slot.0 of h (QEMU's
 * "ahci": ICH9 8086:2922, class 01:06:01), ABAR in BAR5, six ports,
 * INTx.  A port carries an ATA disk or an ATAPI CD-ROM of the IDE code
 * (ahci_attach: as ide_attach; port 0-5). */
struct ahci;
struct ahci *ahci_new(struct machine *m, struct pci_host *h, unsigned slot);
int ahci_attach(struct ahci *h, unsigned port, struct blk *b, bool cdrom,
		const struct blk_open_opts *opts);
/* The monitor's block commands: a port is an ide_ctrl of its own (its
 * drive named ahci-hdP / ahci-cdP), so ide_eject, ide_change and
 * ide_info_block work on what these give.  The port whose drive is
 * called name, or NULL (h may be NULL). */
struct ide_ctrl *ahci_drive_ctrl(struct ahci *h, const char *name);
/* info block for every port with a drive, in port order. */
void ahci_info_block(struct ahci *h, void (*print)(void *opaque, const char *text),
		     void *opaque);
void ahci_close(struct ahci *h);
/* virtio-input over virtio-pci (virtio_input.c, virtio 1.2 spec 5.8) at
 * slot of h: a keyboard, a relative mouse or an absolute tablet fed by the
 * input router (ui/input.h). */
enum virtio_input_kind {
	VIRTIO_INPUT_KEYBOARD,
	VIRTIO_INPUT_MOUSE,
	VIRTIO_INPUT_TABLET,
};
struct virtio_input;
struct virtio_input *virtio_input_new(struct machine *m, struct pci_host *h, unsigned slot,
				      enum virtio_input_kind kind);
unsigned virtio_input_leds(struct virtio_input *vi);

#endif
