/* The parsed command line (QEMU-compatible options; see options.c). */
#ifndef QVM_CONFIG_H
#define QVM_CONFIG_H

#include "qvm.h"
#include "block/block.h"
#include "cpu-model.h"
#include "net/net.h"

#define MAX_DEBUG_EXITS 4
#define MAX_SERIALS 4                   /* COM1-COM4 */
#define MAX_SMBIOS_FIELDS 64

struct debug_exit_cfg {
	uint16_t iobase, iosize;
};

/* -drive: a virtio disk each, in PCI slots 3, 4, ...; -hda..-hdd,
 * -cdrom, -drive if=ide and -device ide-hd/ide-cd: IDE drives */
#define MAX_DRIVES 8
#define IDE_MAX_INDEX 4
#define AHCI_MAX_PORTS 6                /* -device ahci: ports 0-5 */                 /* 2 buses of 2 units: index = 2 * bus + unit */
struct drive_cfg {
	const char *file;
	const char *format;             /* "raw", "qcow2", NULL: probe */
	const char *serial, *id;        /* GET_ID: serial, else id, else a default */
	enum blk_cache cache;
	bool readonly, snapshot;
	bool discard;                   /* discard=unmap (default ignore) */
	bool no_locking;                /* locking=off (file.locking=off) */
	bool if_none;                   /* if=none: a disk only with -device virtio-blk-pci */
	bool attached;                  /* if=none named by a -device virtio-blk-pci,drive= */
	bool ide, cdrom;                /* if=ide (or -device ide-*), media=cdrom */
	bool ahci;                      /* -device ide-*,bus=AHCI.N: on the AHCI HBA */
	int index;                      /* IDE: 2 * bus + unit; AHCI: the port; -1: the
					 * first free one */
	bool has_bootindex;             /* -device ...,bootindex=N: the firmware's */
	unsigned bootindex;             /* bootorder file lists it (lowest first) */
};

/* -device virtio-net-pci,netdev=ID / -nic / -net nic: a NIC each, in PCI
 * slots after the disks; netdev: the index into config.netdevs, -1: none */
#define MAX_NETDEVS 8
#define MAX_NICS 8
struct nic_cfg {
	int netdev;
	const char *netdev_id;          /* as given, resolved after parsing */
	uint8_t mac[6];
	bool has_mac;
};

/* -blockdev driver=file|raw|qcow2,node-name=N,... (options-blockdev.c) */
struct blockdev_cfg {
	const char *node_name, *driver;
	const char *filename;           /* file nodes, or file.filename= inline */
	const char *file_node;          /* file=NODE of a format node */
	bool readonly, cache_direct, no_flush, no_locking, discard;
};

/* -vga, -device VGA|bochs-display (options-display.c) */
enum vga_type { VGA_DEFAULT, VGA_STD, VGA_NONE, VGA_BOCHS_DISPLAY };
struct vga_cfg {
	enum vga_type type;
	unsigned vram_mb;               /* 0: VGA_DEFAULT_VRAM_MB */
	const char *romfile;            /* with romfile_set; "" : no ROM */
	bool romfile_set;
};

/* -display, -vnc and -device virtio-{keyboard,mouse,tablet}-pci
 * (options-ui.c) */
#define MAX_INPUT_DEVICES 4
enum vnc_share { VNC_SHARE_ALLOW_EXCLUSIVE, VNC_SHARE_FORCE_SHARED, VNC_SHARE_IGNORE };
struct ui_cfg {
	bool sdl;                       /* -display sdl */
	bool vnc;                       /* -vnc or -display vnc= */
	char vnc_host[64];              /* address to listen on; "": every one */
	const char *vnc_unix;           /* unix:PATH: a socket instead of a port */
	unsigned vnc_display;           /* port 5900 + N */
	bool vnc_password;              /* password=on: login after set_password */
	enum vnc_share vnc_share;
	unsigned char input_devs[MAX_INPUT_DEVICES]; /* enum virtio_input_kind */
	unsigned nr_input_devs;
};

struct config {
	uint64_t ram_size;              /* -m, bytes */
	uint64_t max_ram_size;          /* -m maxmem= (ram_size if not given) */
	unsigned ram_slots;             /* -m slots= */
	unsigned smp_cpus, smp_max_cpus;/* -smp */
	unsigned sockets, cores, threads;
	const char *machine;            /* -machine type (a board name); NULL = the default */
	const char *accel;              /* -accel / -machine accel= / -enable-kvm; NULL = pick */
	bool no_kqemu;
	/* -accel tcg,jit=on|off,tb-size=MiB,thread=multi|single */
	struct tcg_config {
		int jit;                /* -1: default (on where supported), 0 off, 1 on */
		unsigned tb_size_mib;   /* code cache per vCPU; 0: the default */
		bool single_thread;     /* thread=single: one vCPU runs guest code at a time */
	} tcg;
	const char *cpu_model;          /* -cpu, default "host" under kvm */
	struct cpu_features cpu_features; /* -cpu MODEL,+FEAT,-FEAT */
	const char *kernel, *initrd, *append, *bios;
	const char *serials[MAX_SERIALS]; /* -serial specs, COM1 first */
	unsigned nr_serials;            /* 0: COM1 gets the default */
	const char *monitor;            /* -monitor spec; NULL = default */
	bool nographic, display_none;
	bool no_reboot, no_shutdown, start_paused;
	const char *name;               /* -name: info name */
	const char *process_name;       /* -name ...,process=: the comm (prctl) */
	bool debug_threads;             /* -name ...,debug-threads=: accepted; qvm
					 * always names vCPU threads "CPU 0/tcg" */
	const char *logfile;            /* -D */
	int log_mask;                   /* -d */
	struct debug_exit_cfg debug_exit[MAX_DEBUG_EXITS];
	unsigned nr_debug_exits;
	struct drive_cfg drives[MAX_DRIVES];
	unsigned nr_drives;
	bool snapshot;                  /* -snapshot: snapshot=on for every disk */
	struct blk_device_cfg {         /* -device virtio-blk-pci,drive=ID,serial=S */
		const char *drive, *serial;
		bool has_bootindex;
		unsigned bootindex;
	} blk_devices[MAX_DRIVES];
	unsigned nr_blk_devices;
	struct ide_device_cfg {         /* -device ide-hd|ide-cd,drive=ID[,bus=ide.N][,unit=U] */
		const char *drive;
		bool cdrom;
		int bus, unit;          /* -1: not given */
		const char *ahci_bus;   /* bus=AHCI-ID.PORT: the given bus= */
	} ide_devices[IDE_MAX_INDEX + AHCI_MAX_PORTS];
	unsigned nr_ide_devices;
	const char *ahci_id;            /* -device ahci,id=ID (NULL: no AHCI HBA) */
	struct blockdev_cfg blockdevs[MAX_DRIVES * 2];
	unsigned nr_blockdevs;
	struct netdev_cfg netdevs[MAX_NETDEVS]; /* -netdev, -nic, -net user|tap */
	unsigned nr_netdevs;
	struct nic_cfg nics[MAX_NICS];
	unsigned nr_nics;
	unsigned nr_legacy_nets;        /* -net user|tap seen (paired with -net nic) */
	const char *incoming;           /* -incoming URI: load a saved state */
	struct vga_cfg vga;
	struct ui_cfg ui;
	/* -boot [order=]DRIVES[,once=DRIVES][,menu=on|off][,splash-time=MS]
	 * [,splash=FILE][,strict=on|off][,reboot-timeout=MS] (options-boot.c): letters a, b (floppy), c (disk), d (CD), n (net) */
	const char *boot_order, *boot_once; /* NULL: the default "cad" */
	int boot_menu;                  /* 1: menu=on */
	int boot_splash_time;           /* ms, -1: not given */
	const char *boot_splash;        /* splash=FILE: a JPEG or BMP */
	bool boot_strict;               /* strict=on: only the bootorder's devices */
	bool has_reboot_timeout;        /* reboot-timeout=MS given */
	int boot_reboot_timeout;        /* ms; -1: never retry */
	const char *debugcon;           /* -debugcon DEV: ports 0xe9 and 0x402 */
	/* -smbios type=N,FIELD=VALUE... (options-smbios.c): every field as
	 * given, the last one of a type and name wins (type 11's value= adds
	 * a string each); -uuid or type=1,uuid= */
	struct smbios_field {
		uint8_t type;
		const char *name, *value;
	} smbios[MAX_SMBIOS_FIELDS];
	unsigned nr_smbios;
	bool has_uuid;
	uint8_t uuid[16];               /* in the order of its text form */
};

/* options-boot.c: -boot's argument into c (a one-line message and -1 on
 * error). */
int boot_option_parse(struct config *c, char *arg);

/* options-smbios.c: -smbios's argument, -uuid's (one line and -1 on
 * error); the value of -smbios type=TYPE,NAME= (the last given), or NULL */
int smbios_option_parse(struct config *c, char *arg);
int uuid_option_parse(struct config *c, const char *arg);
const char *config_smbios(const struct config *c, unsigned type, const char *name);

/* Parse argv into cfg.  Returns 0 to run, 1 to exit successfully (-h,
 * -version printed), -1 on error (one-line message printed). */
int config_parse(struct config *cfg, int argc, char **argv);
/* Parse a size with optional K/M/G/T suffix (default unit: def_shift). */
int parse_size(const char *s, unsigned def_shift, uint64_t *out);
/* options-net.c: -netdev, -nic, -net (opt without its dash); -device
 * virtio-net-pci's properties; the checks after every option.  0, 1
 * (help printed), -1 (message printed). */
int net_option_parse(struct config *c, const char *opt, char *arg);
int net_device_option(struct config *c, char *props);
int net_options_finish(struct config *c);
/* -device virtio-blk-pci,drive=ID[,serial=S] (props after the name) */
int blk_device_option(struct config *c, char *props);
/* options-ide.c: -device ide-hd|ide-cd (props after the name); each IDE
 * drive's index (bus and unit) once every option was read. */
int ide_device_option(struct config *c, char *props, bool cdrom);
int ide_drives_finish(struct config *c);
/* -device ahci,id=ID */
int ahci_device_option(struct config *c, char *props);
/* -blockdev; and the disk a -device's drive=NAME means when NAME is a
 * node: 0 (d filled), 1 no such node, -1 (message printed) */
int blockdev_option(struct config *c, char *arg);
int blockdev_to_drive(struct config *c, const char *name, struct drive_cfg *d);
/* Whether the i-th serial port (COM1 = 0) exists: the i-th -serial (the
 * first also when none is given), unless it is "none" (as in QEMU). */
bool config_serial_present(const struct config *c, unsigned i);

/* options-display.c: -vga, -device VGA's or bochs-display's properties
 * (after the name);
 * the graphics device the machine gets, and the VGA's option ROM (NULL:
 * none). */
int vga_option(struct config *c, const char *arg);
int vga_device_option(struct config *c, enum vga_type type, char *props);
enum vga_type config_vga(const struct config *c);
const char *config_vga_romfile(const struct config *c);
/* options-ui.c: -display ARG, -vnc ARG; -device NAME[,props] for the
 * virtio input devices (ui_device_option returns -2 when NAME is not
 * one of them). */
int ui_display_option(struct config *c, char *arg);
int ui_vnc_option(struct config *c, char *arg);
int ui_device_option(struct config *c, const char *name, size_t len, char *props);

#endif
