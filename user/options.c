/*
 * The command line, QEMU-compatible so users' habits carry over.  Every
 * error is one line naming the option and the problem; config_parse then
 * returns -1 and main exits with status 1.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "accel.h"
#include "cpu.h"
#include "machine.h"
#include "tcg/tcg.h"

#define MAX_VCPUS 255 /* xAPIC IDs in the MP table and MADT */

int parse_size(const char *s, unsigned def_shift, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	double v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	unsigned shift = def_shift;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'B': shift = 0; break;
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: return -1;
		}
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (toupper((unsigned char)*end) == 'B' && shift)
			end++;
		if (*end)
			return -1;
	}
	double bytes = v * (double)(1ULL << shift);
	if (bytes >= 18446744073709551616.0)
		return -1;
	*out = (uint64_t)bytes;
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (!*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Split "a,b=c,d=e" in place: calls fn(key, value) for each element; a
 * bare first element is passed with key NULL. */
static int parse_kv_list(char *list, int (*fn)(void *, const char *, const char *),
			 void *opaque)
{
	char *save = NULL;
	bool first = true;
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int r;
		if (eq) {
			*eq = 0;
			r = fn(opaque, tok, eq + 1);
		} else {
			r = fn(opaque, first ? NULL : tok, first ? tok : NULL);
		}
		if (r < 0)
			return -1;
		first = false;
	}
	return 0;
}

static int smp_kv(void *opaque, const char *key, const char *val)
{
	struct config *c = opaque;
	unsigned long long v;
	if (!val || parse_uint(val, 1u << 20, &v) < 0 || v == 0) {
		qvm_error("-smp: invalid value '%s'%s", val ? val : key,
			  val ? "" : " (expected key=value)");
		return -1;
	}
	if (!key || !strcmp(key, "cpus"))
		c->smp_cpus = v;
	else if (!strcmp(key, "sockets"))
		c->sockets = v;
	else if (!strcmp(key, "cores"))
		c->cores = v;
	else if (!strcmp(key, "threads"))
		c->threads = v;
	else if (!strcmp(key, "maxcpus"))
		c->smp_max_cpus = v;
	else if (!strcmp(key, "dies") && v == 1)
		;
	else {
		qvm_error("-smp: unknown parameter '%s'", key);
		return -1;
	}
	return 0;
}

/* Fill in the topology the way QEMU does: missing values are derived, the
 * product must cover maxcpus.  Each value is at most 2^20, so products are
 * taken in 64 bits (two of them already overflow 32). */
static int smp_finish(struct config *c)
{
	uint64_t s = c->sockets, co = c->cores, t = c->threads;
	uint64_t cpus = c->smp_cpus, max = c->smp_max_cpus;
	if (!cpus) {
		uint64_t prod = (s ? s : 1) * (co ? co : 1) * (t ? t : 1);
		cpus = max ? max : prod;
	}
	if (!max)
		max = cpus;
	if (!t)
		t = 1;
	if (!s && !co) {
		co = 1;
		s = max / t;
	} else if (!s) {
		s = max / (co * t);
	} else if (!co) {
		co = max / (s * t);
	}
	if (!s || !co || s * co * t != max) {
		qvm_error("-smp: sockets (%llu) * cores (%llu) * threads (%llu) != maxcpus (%llu)",
			  (unsigned long long)s, (unsigned long long)co, (unsigned long long)t,
			  (unsigned long long)max);
		return -1;
	}
	if (cpus > max) {
		qvm_error("-smp: cpus (%llu) exceeds maxcpus (%llu)", (unsigned long long)cpus,
			  (unsigned long long)max);
		return -1;
	}
	if (max > MAX_VCPUS) {
		qvm_error("-smp: %llu vCPUs requested, at most %u supported",
			  (unsigned long long)max, MAX_VCPUS);
		return -1;
	}
	c->smp_cpus = cpus;
	c->smp_max_cpus = max;
	c->sockets = s, c->cores = co, c->threads = t;
	return 0;
}

#define MAX_RAM_SLOTS 256 /* QEMU's limit for pc */

struct mem_parse {
	struct config *c;
	const char *arg;    /* the whole -m argument, for messages */
	bool slots_given;
};

static int mem_kv(void *opaque, const char *key, const char *val)
{
	struct mem_parse *p = opaque;
	struct config *c = p->c;
	unsigned long long v;
	if (!val) {
		qvm_error("-m %s: invalid parameter '%s'", p->arg, key);
		return -1;
	}
	if (!key || !strcmp(key, "size")) {
		if (parse_size(val, 20, &c->ram_size) < 0 || c->ram_size < 2 * MiB) {
			qvm_error("-m %s: invalid memory size (at least 2M; suffixes K, M, G, T)",
				  p->arg);
			return -1;
		}
		c->ram_size &= ~(uint64_t)(4 * KiB - 1);
	} else if (!strcmp(key, "maxmem")) {
		/* a size in bytes unless suffixed, as in QEMU */
		if (parse_size(val, 0, &c->max_ram_size) < 0) {
			qvm_error("-m %s: invalid maxmem '%s' (suffixes K, M, G, T)", p->arg, val);
			return -1;
		}
	} else if (!strcmp(key, "slots")) {
		if (parse_uint(val, ~0ULL, &v) < 0 || v > MAX_RAM_SLOTS) {
			qvm_error("-m %s: unsupported number of memory slots '%s' (at most %d)",
				  p->arg, val, MAX_RAM_SLOTS);
			return -1;
		}
		c->ram_slots = v;
		p->slots_given = true;
	} else {
		qvm_error("-m %s: invalid parameter '%s' (size, slots, maxmem)", p->arg, key);
		return -1;
	}
	return 0;
}

/* -m [size=]N[,slots=n,maxmem=size].  There is no memory hot-plug: slots
 * and maxmem are checked as QEMU checks them and otherwise unused. */
static int parse_memory(struct config *c, const char *arg)
{
	char buf[256];
	if (strlen(arg) >= sizeof(buf)) {
		qvm_error("-m: argument too long");
		return -1;
	}
	strcpy(buf, arg);
	struct mem_parse p = { .c = c, .arg = arg };
	c->max_ram_size = 0;
	c->ram_slots = 0;
	if (parse_kv_list(buf, mem_kv, &p) < 0)
		return -1;
	return 0;
}

/* After every option: maxmem against the final size (QEMU's rules). */
static int memory_finish(struct config *c)
{
	if (!c->max_ram_size) {
		if (c->ram_slots) {
			qvm_error("-m: slots=%u given but no maxmem", c->ram_slots);
			return -1;
		}
		c->max_ram_size = c->ram_size;
		return 0;
	}
	if (c->max_ram_size < c->ram_size) {
		qvm_error("-m: maxmem (%llu MiB) is less than the memory size (%llu MiB)",
			  (unsigned long long)(c->max_ram_size >> 20),
			  (unsigned long long)(c->ram_size >> 20));
		return -1;
	}
	if (c->max_ram_size & (4 * KiB - 1)) {
		qvm_error("-m: maxmem (%llu) is not a multiple of 4 KiB",
			  (unsigned long long)c->max_ram_size);
		return -1;
	}
	if (c->ram_slots && c->max_ram_size == c->ram_size) {
		qvm_error("-m: slots=%u given but maxmem equals the memory size", c->ram_slots);
		return -1;
	}
	return 0;
}

static int set_accel(struct config *c, const char *name)
{
	static const char *const known[] = { "kvm", "tcg", "kqemu" };
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (!strcmp(name, known[i])) {
			c->accel = known[i];
			return 0;
		}
	}
	qvm_error("-accel: unknown accelerator '%s' (kvm, kqemu or tcg)", name);
	return -1;
}

static int machine_kv(void *opaque, const char *key, const char *val)
{
	struct config *c = opaque;
	if (!key) {
		const struct board_ops *b = board_find(val);
		if (!b) {
			qvm_error("-machine: unsupported machine type '%s' (try -machine help)", val);
			return -1;
		}
		c->machine = b->name;
		return 0;
	}
	if (!strcmp(key, "type"))
		return machine_kv(opaque, NULL, val);
	if (!strcmp(key, "accel"))
		return set_accel(c, val);
	qvm_error("-machine: unknown property '%s'", key);
	return -1;
}

/* One -accel option: the engine it names and tcg's properties, checked
 * once the whole list is read (QEMU takes them in any order). */
struct accel_parse {
	const char *arg;                /* the whole argument, for messages */
	const char *name;               /* the engine named; NULL: none yet */
	const char *tcg_prop;           /* the first tcg property given */
	struct tcg_config tcg;          /* their values */
};

/* The largest code cache: QEMU's bound on x86-64 hosts (2 GiB), which
 * keeps every branch inside the cache within a rel32. */
#define TB_SIZE_MAX_MIB 2048

static int tcg_prop_kv(struct accel_parse *p, const char *key, const char *val)
{
	unsigned long long v;
	if (!strcmp(key, "jit")) {
		if (!strcmp(val, "on")) {
			p->tcg.jit = 1;
		} else if (!strcmp(val, "off")) {
			p->tcg.jit = 0;
		} else {
			qvm_error("-accel %s: jit=%s is not supported (on or off)", p->arg, val);
			return -1;
		}
	} else if (!strcmp(key, "tb-size")) {
		if (parse_uint(val, TB_SIZE_MAX_MIB, &v) < 0) {
			qvm_error("-accel %s: tb-size expects MiB, 1 to %d (0: the default, %d)",
				  p->arg, TB_SIZE_MAX_MIB, JIT_TB_DEFAULT_MIB);
			return -1;
		}
		p->tcg.tb_size_mib = v;
	} else if (!strcmp(key, "thread")) {
		if (strcmp(val, "multi") && strcmp(val, "single")) {
			qvm_error("-accel %s: invalid 'thread' setting %s (multi or single)",
				  p->arg, val);
			return -1;
		}
		p->tcg.single_thread = !strcmp(val, "single");
	} else {
		return 1;
	}
	if (!p->tcg_prop)
		p->tcg_prop = key;
	return 0;
}

static int accel_kv(void *opaque, const char *key, const char *val)
{
	struct accel_parse *p = opaque;
	if (!key || !strcmp(key, "accel")) {
		p->name = val;
		return 0;
	}
	if (!val) {
		qvm_error("-accel %s: '%s' needs a value", p->arg, key);
		return -1;
	}
	int r = tcg_prop_kv(p, key, val);
	if (r > 0)
		qvm_error("-accel %s: property '%s-accel.%s' not found", p->arg,
			  p->name ? p->name : "tcg", key);
	return r ? -1 : 0;
}

/* -accel NAME[,jit=on|off][,tb-size=MiB][,thread=multi|single] */
static int parse_accel(struct config *c, const char *arg)
{
	char buf[256];
	if (strlen(arg) >= sizeof(buf)) {
		qvm_error("-accel: argument too long");
		return -1;
	}
	strcpy(buf, arg);
	struct accel_parse p = { .arg = arg, .tcg = c->tcg };
	if (parse_kv_list(buf, accel_kv, &p) < 0)
		return -1;
	if (!p.name) {
		qvm_error("-accel %s: no accelerator named (kvm, kqemu or tcg)", arg);
		return -1;
	}
	if (set_accel(c, p.name) < 0)
		return -1;
	if (p.tcg_prop && strcmp(c->accel, "tcg") && strcmp(c->accel, "kqemu")) {
		/* QEMU's words: the property belongs to tcg-accel only */
		qvm_error("-accel %s: property '%s-accel.%s' not found (a tcg property)", arg,
			  c->accel, p.tcg_prop);
		return -1;
	}
	c->tcg = p.tcg;
	return 0;
}

struct debug_exit_parse {
	struct config *c;
	struct debug_exit_cfg *d;
};

static int device_kv(void *opaque, const char *key, const char *val)
{
	struct debug_exit_parse *p = opaque;
	unsigned long long v;
	if (!key) {
		if (strcmp(val, "isa-debug-exit")) {
			qvm_error("-device: unsupported device '%s' (supported: isa-debug-exit, "
				  "virtio-net-pci; -device help)", val);
			return -1;
		}
		return 0;
	}
	if (!val) {
		qvm_error("-device: '%s' needs a value", key);
		return -1;
	}
	if (!strcmp(key, "iobase")) {
		if (parse_uint(val, 0xffff, &v) < 0) {
			qvm_error("-device isa-debug-exit: bad iobase '%s'", val);
			return -1;
		}
		p->d->iobase = v;
	} else if (!strcmp(key, "iosize")) {
		if (parse_uint(val, 4, &v) < 0 || (v != 1 && v != 2 && v != 4)) {
			qvm_error("-device isa-debug-exit: bad iosize '%s' (1, 2 or 4)", val);
			return -1;
		}
		p->d->iosize = v;
	} else {
		qvm_error("-device isa-debug-exit: unknown property '%s'", key);
		return -1;
	}
	return 0;
}

/* on/off values of -drive, -name */
static int onoff_value(const char *opt, const char *key, const char *val, bool *out)
{
	if (!strcmp(val, "on") || !strcmp(val, "true") || !strcmp(val, "yes")) {
		*out = true;
	} else if (!strcmp(val, "off") || !strcmp(val, "false") || !strcmp(val, "no")) {
		*out = false;
	} else {
		qvm_error("%s: %s=%s is not supported (supported: on, off)", opt, key, val);
		return -1;
	}
	return 0;
}

/* -name [guest=]NAME[,process=PNAME][,debug-threads=on|off] */
static int name_kv(void *opaque, const char *key, const char *val)
{
	struct config *c = opaque;
	if (!val) {
		qvm_error("-name: '%s' needs a value", key);
		return -1;
	}
	if (!key || !strcmp(key, "guest"))
		c->name = val;
	else if (!strcmp(key, "process"))
		c->process_name = val;
	else if (!strcmp(key, "debug-threads"))
		return onoff_value("-name", key, val, &c->debug_threads);
	else {
		qvm_error("-name: unknown parameter '%s' (guest, process, debug-threads)", key);
		return -1;
	}
	return 0;
}

/* Pick val among names[] (index into *out); else the usual error. */
static int drive_choice(const char *key, const char *val, const char *const *names,
			unsigned n, const char *supported, int *out)
{
	for (unsigned i = 0; i < n; i++) {
		if (!strcmp(val, names[i])) {
			*out = i;
			return 0;
		}
	}
	qvm_error("-drive: %s=%s is not supported (supported: %s)", key, val, supported);
	return -1;
}

static int drive_kv(void *opaque, const char *key, const char *val)
{
	static const char *const ifs[] = { "virtio", "none", "ide" };
	static const char *const formats[] = { "raw", "qcow2" };
	static const char *const caches[] = { "writeback", "none", "unsafe" };
	static const char *const discards[] = { "ignore", "unmap", "off", "on" };
	static const char *const lockings[] = { "auto", "on", "off" };
	struct drive_cfg *d = opaque;
	int k;
	if (!key || !val) {
		qvm_error("-drive: '%s' is not key=value (e.g. file=disk.img)", key ? key : val);
		return -1;
	}
	if (!strcmp(key, "file")) {
		d->file = val;
	} else if (!strcmp(key, "if")) {
		if (drive_choice(key, val, ifs, 3, "virtio, none, ide", &k) < 0)
			return -1;
		d->if_none = k == 1;
		d->ide = k == 2;
	} else if (!strcmp(key, "format")) {
		if (drive_choice(key, val, formats, 2, "raw, qcow2", &k) < 0)
			return -1;
		d->format = formats[k];
	} else if (!strcmp(key, "cache")) {
		if (drive_choice(key, val, caches, 3, "none, writeback, unsafe", &k) < 0)
			return -1;
		d->cache = k == 0 ? BLK_CACHE_WRITEBACK : k == 1 ? BLK_CACHE_NONE : BLK_CACHE_UNSAFE;
	} else if (!strcmp(key, "readonly")) {
		return onoff_value("-drive", key, val, &d->readonly);
	} else if (!strcmp(key, "snapshot")) {
		return onoff_value("-drive", key, val, &d->snapshot);
	} else if (!strcmp(key, "discard")) {
		if (drive_choice(key, val, discards, 4, "unmap, ignore", &k) < 0)
			return -1;
		d->discard = k & 1;
	} else if (!strcmp(key, "locking") || !strcmp(key, "file.locking")) {
		/* QEMU's file-posix option: auto and on lock (auto: where the
		 * kernel has OFD locks), off takes no lock at all */
		if (drive_choice(key, val, lockings, 3, "auto, on, off", &k) < 0)
			return -1;
		d->no_locking = k == 2;
	} else if (!strcmp(key, "media")) {
		if (drive_choice(key, val, (const char *const[]){ "disk", "cdrom" }, 2, "disk, cdrom",
				 &k) < 0)
			return -1;
		d->cdrom = k == 1;
	} else if (!strcmp(key, "index")) {
		unsigned long long v;
		if (parse_uint(val, 255, &v) < 0) {
			qvm_error("-drive: index=%s is not a number", val);
			return -1;
		}
		d->index = v;
	} else if (!strcmp(key, "serial")) {
		if (strlen(val) > 20) {
			qvm_error("-drive: serial=%s is longer than 20 characters", val);
			return -1;
		}
		d->serial = val;
	} else if (!strcmp(key, "id")) {
		d->id = val;
	} else {
		qvm_error("-drive: unknown parameter '%s' (supported: file, if, format, cache, "
			  "readonly, snapshot, serial, id, discard, media, index, locking)", key);
		return -1;
	}
	return 0;
}

/* -device virtio-blk-pci,drive=ID[,serial=S]: the disk of a -drive
 * if=none,id=ID (given before or after it) */
static int blk_dev_kv(void *opaque, const char *key, const char *val)
{
	struct blk_device_cfg *p = opaque;
	if (!key || !val) {
		qvm_error("-device virtio-blk-pci: '%s' is not key=value", key ? key : val);
		return -1;
	}
	if (!strcmp(key, "drive")) {
		p->drive = val;
	} else if (!strcmp(key, "serial")) {
		if (strlen(val) > 20) {
			qvm_error("-device virtio-blk-pci: serial=%s is longer than 20 characters", val);
			return -1;
		}
		p->serial = val;
	} else if (!strcmp(key, "bootindex")) {
		char *end;
		unsigned long n = strtoul(val, &end, 10);
		if (!*val || *end || *val == '-' || n > 0xffff) {
			qvm_error("-device virtio-blk-pci: bootindex=%s: a number, 0 to 65535", val);
			return -1;
		}
		p->has_bootindex = true;
		p->bootindex = n;
	} else if (strcmp(key, "id") && strcmp(key, "bus") && strcmp(key, "addr")) {
		qvm_error("-device virtio-blk-pci: unknown property '%s' (drive, serial, id)", key);
		return -1;
	}
	return 0;
}

int blk_device_option(struct config *c, char *props)
{
	struct blk_device_cfg p = { 0 };
	if ((*props && parse_kv_list(props, blk_dev_kv, &p) < 0))
		return -1;
	if (!p.drive) {
		qvm_error("-device virtio-blk-pci: give the disk: drive=ID (a -drive if=none,id=ID)");
		return -1;
	}
	if (c->nr_blk_devices == MAX_DRIVES) {
		qvm_error("-device virtio-blk-pci: too many disks (at most %d)", MAX_DRIVES);
		return -1;
	}
	c->blk_devices[c->nr_blk_devices++] = p;
	return 0;
}

static struct drive_cfg *find_drive(struct config *c, const char *id)
{
	for (unsigned k = 0; k < c->nr_drives; k++)
		if (c->drives[k].id && !strcmp(c->drives[k].id, id))
			return &c->drives[k];
	return NULL;
}

/* A -blockdev node as the next drive; NULL when none or on error (*err) */
static struct drive_cfg *drive_from_node(struct config *c, const char *name, int *err)
{
	struct drive_cfg d;
	int r = blockdev_to_drive(c, name, &d);
	*err = r < 0;
	if (r)
		return NULL;
	if (c->nr_drives == MAX_DRIVES) {
		qvm_error("-blockdev %s: too many disks (at most %d)", name, MAX_DRIVES);
		*err = 1;
		return NULL;
	}
	c->drives[c->nr_drives] = d;
	c->drives[c->nr_drives].attached = false;
	return &c->drives[c->nr_drives++];
}

/* Each -device virtio-blk-pci on its if=none drive or -blockdev node,
 * once. */
static int blk_devices_finish(struct config *c)
{
	for (unsigned i = 0; i < c->nr_blk_devices; i++) {
		const struct blk_device_cfg *bd = &c->blk_devices[i];
		int err = 0;
		struct drive_cfg *d = find_drive(c, bd->drive);
		if (!d)
			d = drive_from_node(c, bd->drive, &err);
		if (err)
			return -1;
		if (!d || !d->if_none || d->attached) {
			qvm_error("-device virtio-blk-pci: drive=%s: %s", bd->drive,
				  !d ? "no -drive or -blockdev with that name" : !d->if_none ?
				  "that -drive has a disk already (give it if=none)" :
				  "used by another device");
			return -1;
		}
		d->attached = true;
		d->has_bootindex = bd->has_bootindex;
		d->bootindex = bd->bootindex;
		if (bd->serial)
			d->serial = bd->serial;
	}
	return 0;
}

/* -drive SPEC, or -hdX FILE / -cdrom FILE (file set, spec NULL, index >= 0) */
static int add_drive(struct config *c, const char *opt, char *spec, const char *file,
		     int index, bool cdrom)
{
	if (c->nr_drives == MAX_DRIVES) {
		qvm_error("%s: too many disks (at most %d)", opt, MAX_DRIVES);
		return -1;
	}
	struct drive_cfg *d = &c->drives[c->nr_drives];
	memset(d, 0, sizeof(*d));
	d->file = file;
	d->index = index;
	d->ide = index >= 0;
	d->cdrom = cdrom;
	if (spec && parse_kv_list(spec, drive_kv, d) < 0)
		return -1;
	if (d->index >= 0 && !d->ide && !d->if_none) {
		qvm_error("%s: index= is for if=ide", opt);
		return -1;
	}
	if (d->cdrom && !d->ide && !d->if_none) {
		qvm_error("%s: media=cdrom needs if=ide (or if=none with -device ide-cd)", opt);
		return -1;
	}
	if (d->cdrom) {
		d->readonly = true;
		if (d->file && !*d->file)
			d->file = NULL;     /* an empty drive */
		c->nr_drives++;
		return 0;
	}
	if (!d->file || !*d->file) {
		qvm_error("%s: no image given (file=...)", opt);
		return -1;
	}
	c->nr_drives++;
	return 0;
}

static void usage(void)
{
	printf("usage: qvm [options]\n"
	       "\n"
	       "Machine:\n"
	       "  -m [size=]SIZE[,slots=N,maxmem=SIZE]\n"
	       "                       guest RAM (default 128M; suffixes K, M, G, T); slots\n"
	       "                       and maxmem are checked (no memory hot-plug)\n"
	       "  -smp N[,sockets=S][,cores=C][,threads=T][,maxcpus=M]\n"
	       "  -accel kvm|kqemu|tcg engine (default: the best the host offers)\n"
	       "  -accel tcg|kqemu[,jit=on|off][,tb-size=MiB][,thread=multi|single]\n"
	       "                       tcg: translate to host code (jit=on, the default) or\n"
	       "                       interpret (off); tb-size: the code cache of each vCPU\n"
	       "                       (default %d); thread: vCPUs in parallel (multi, the\n"
	       "                       default) or taking turns (single)\n"
	       "  -machine pc[,accel=A], -M     machine type (pc)\n"
	       "  -enable-kvm          same as -accel kvm\n"
	       "  -no-kqemu            never pick the kqemu engine\n"
	       "  -kqemu-backends      say which kqemu backends this host can run\n"
	       "  -cpu MODEL[,+FEAT][,-FEAT][,FEAT=on|off][,vendor=V][,model-id=S][,enforce]\n"
	       "                       max, host, qemu64, Haswell, EPYC, ... (-cpu help)\n"
	       "Boot:\n"
	       "  -kernel FILE         Linux bzImage or multiboot kernel (booted directly;\n"
	       "                       with -bios, a bzImage through that firmware)\n"
	       "  -initrd FILE         Linux initrd; multiboot: modules \"file args,...\"\n"
	       "  -append CMDLINE      kernel command line\n"
	       "  -bios FILE           firmware ROM image, started at the reset vector\n"
	       "                       (default without -kernel: SeaBIOS, " "/usr/share/seabios/bios-256k.bin)\n"
	       "  -boot [order=]DRIVES[,once=DRIVES][,menu=on|off][,splash-time=MS]\n"
	       "        [,splash=FILE][,strict=on|off][,reboot-timeout=MS]\n"
	       "                       firmware boot order: c disk, d CD-ROM, a floppy, n network\n"
	       "  -debugcon DEV        firmware debug output (ports 0xe9 and 0x402) to DEV\n"
	       "  -smbios type=0|1|2|3|4|11|17[,FIELD=VALUE...]\n"
	       "                       SMBIOS strings and numbers (e.g. type=1,product=P)\n"
	       "  -uuid UUID           the system UUID (SMBIOS type 1)\n"
	       "Devices and I/O:\n"
	       "  -serial DEV          stdio, pty, file:PATH, unix:PATH[,server][,nowait], null,\n"
	       "                       none (no port); up to 4 times: COM1, COM2, COM3, COM4\n"
	       "  -monitor DEV         human monitor on a character device (stdio, unix:...)\n"
	       "  -nographic           serial and monitor on stdio (Ctrl-A h for help)\n"
	       "  -display none        no display; serial and monitor to nowhere unless given\n"
	       "  -vga std|none        the graphics card (std: PCI VGA with Bochs VBE, the\n"
	       "                       default but with -nographic, or -kernel with\n"
	       "                       -display none); the monitor's screendump shows it\n"
	       "  -device VGA[,vgamem_mb=16][,romfile=FILE]   the same with options\n"
	       "  -device bochs-display[,vgamem_mb=16][,romfile=FILE]   VBE modes only, no VGA\n"
	       "  -display sdl         an SDL2 window (ctrl-alt-g releases the mouse)\n"
	       "  -vnc [HOST]:N[,password=on][,share=allow-exclusive|force-shared|ignore]\n"
	       "                       a VNC server on port 5900+N (or unix:PATH); also\n"
	       "                       -display vnc=...; password from the monitor's\n"
	       "                       set_password vnc PW or change vnc password PW\n"
	       "  -device virtio-tablet-pci  an absolute pointer (no grab); also\n"
	       "                       virtio-keyboard-pci, virtio-mouse-pci\n"
	       "  -device isa-debug-exit[,iobase=0x501][,iosize=2]\n"
	       "  -device help         the devices -device can add\n"
	       "Network (virtio-net-pci NICs):\n"
	       "  -netdev user,id=ID[,net=ADDR/MASK][,host=ADDR][,dns=ADDR][,dhcpstart=ADDR]\n"
	       "         [,hostfwd=[tcp|udp]:[HOSTADDR]:PORT-[GUESTADDR]:PORT][,restrict=on|off]\n"
	       "         [,guestfwd=tcp:ADDR:PORT-cmd:COMMAND][,hostname=NAME]\n"
	       "                       user-mode networking (libslirp): DHCP, DNS, NAT\n"
	       "  -netdev tap,id=ID[,ifname=NAME][,fd=N][,script=no][,downscript=no][,vnet_hdr=on|off]\n"
	       "  -netdev socket,id=ID,listen=[HOST]:PORT|connect=HOST:PORT   a wire to another VMM\n"
	       "  -device virtio-net-pci,netdev=ID[,mac=MAC]\n"
	       "  -nic user|tap|socket|none[,model=virtio-net-pci][,mac=MAC][,BACK-END OPTIONS]\n"
	       "  -net nic[,model=virtio][,macaddr=MAC] -net user|tap[,...]   the legacy pair\n"
	       "Disks (-drive without if= is virtio-blk; -hda..-hdd and -cdrom are IDE):\n"
	       "  -drive file=F[,if=virtio|none|ide][,format=raw|qcow2][,cache=none|writeback|unsafe]\n"
	       "         [,readonly=on|off][,snapshot=on|off][,serial=S][,id=ID][,discard=unmap|ignore]\n"
	       "         [,locking=auto|on|off]\n"
	       "  -drive if=none,id=ID,file=F[,...] -device virtio-blk-pci,drive=ID[,serial=S]\n"
	       "  -blockdev driver=file,node-name=N,filename=F[,cache.direct=on][,locking=off]\n"
	       "  -blockdev driver=raw|qcow2,node-name=N,file=N|file.filename=F[,read-only=on]\n"
	       "                       a block node; -device virtio-blk-pci,drive=N makes the disk\n"
	       "  -drive if=ide[,index=0-3][,media=disk|cdrom][,file=F]   an IDE drive (PIIX3,\n"
	       "                       00:01.1): index = 2 * bus + unit; a CD-ROM may be empty\n"
	       "  -hda F, -hdb F, -hdc F, -hdd F   -drive if=ide,index=0..3,file=F\n"
	       "  -cdrom F             -drive if=ide,index=2,media=cdrom,file=F\n"
	       "  -snapshot            writes go to a temporary overlay (every disk)\n"
	       "Run control:\n"
	       "  -no-reboot           exit instead of rebooting\n"
	       "  -no-shutdown         stop instead of exiting on guest shutdown\n"
	       "  -S                   start with the vCPUs stopped (monitor 'cont')\n"
	       "  -incoming URI        start from a state saved by the monitor's migrate\n"
	       "                       (exec:COMMAND or file:PATH; same options as the source)\n"
	       "  -name NAME[,process=P][,debug-threads=on|off]\n"
	       "                       guest name (info name), process name\n"
	       "Debugging:\n"
	       "  -D FILE              write the -d log to FILE\n"
	       "  -d ITEM[,ITEM]       log categories (-d help)\n"
	       "  -version, -h         version, this help\n", JIT_TB_DEFAULT_MIB);
}

static void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->ram_size = 128 * MiB;
	c->tcg.jit = -1;
	c->boot_splash_time = -1;
}

static int check_file(const char *opt, const char *path)
{
	if (access(path, R_OK) < 0) {
		qvm_error("%s %s: %s", opt, path, strerror(errno));
		return -1;
	}
	return 0;
}

static void print_stdout(void *opaque, const char *line)
{
	(void)opaque;
	fputs(line, stdout);
}

static void device_help(void)
{
	printf("Devices qvm can add with -device:\n"
	       "isa-debug-exit  iobase=PORT (0x501), iosize=1|2|4 (2)\n"
	       "virtio-net-pci  netdev=ID (a -netdev), mac=MAC (52:54:00:12:34:56 on)\n"
	       "virtio-blk-pci  drive=ID (a -drive if=none,id=ID), serial=S\n"
	       "VGA             vgamem_mb=MiB (16), romfile=FILE (Debian's vgabios-stdvga.bin)\n"
	       "bochs-display   vgamem_mb=MiB (16), romfile=FILE (vgabios-bochs-display.bin)\n"
	       "ide-hd          drive=ID (a -drive if=none,id=ID), bus=ide.0|ide.1, unit=0|1\n"
	       "ide-cd          drive=ID (none: an empty drive), bus=ide.0|ide.1, unit=0|1\n"
	       "                (bus=ID.0..ID.5: a port of the AHCI controller -device ahci,id=ID)\n"
	       "ahci            id=ID (ICH9 AHCI, 6 ports)\n"
	       "virtio-keyboard-pci, virtio-mouse-pci, virtio-tablet-pci  (virtio-input)\n");
}

/* -device DRIVER[,PROP=VALUE...] */
static int device_option(struct config *c, char *arg)
{
	if (!strcmp(arg, "help")) {
		device_help();
		return 1;
	}
	size_t n = strcspn(arg, ",");
	if (n == strlen("virtio-net-pci") && !strncmp(arg, "virtio-net-pci", n))
		return net_device_option(c, arg[n] ? arg + n + 1 : arg + n);
	if (n == strlen("virtio-blk-pci") && !strncmp(arg, "virtio-blk-pci", n))
		return blk_device_option(c, arg[n] ? arg + n + 1 : arg + n);
	if (n == strlen("VGA") && !strncmp(arg, "VGA", n))
		return vga_device_option(c, VGA_STD, arg[n] ? arg + n + 1 : arg + n);
	if (n == strlen("bochs-display") && !strncmp(arg, "bochs-display", n))
		return vga_device_option(c, VGA_BOCHS_DISPLAY, arg[n] ? arg + n + 1 : arg + n);
	if (n == strlen("ahci") && !strncmp(arg, "ahci", n))
		return ahci_device_option(c, arg[n] ? arg + n + 1 : arg + n);
	if (n == strlen("ide-hd") && (!strncmp(arg, "ide-hd", n) || !strncmp(arg, "ide-cd", n)))
		return ide_device_option(c, arg[n] ? arg + n + 1 : arg + n, arg[4] == 'c');
	int ui = ui_device_option(c, arg, n, arg[n] ? arg + n + 1 : arg + n);
	if (ui != -2)
		return ui;
	if (c->nr_debug_exits == MAX_DEBUG_EXITS) {
		qvm_error("-device: too many isa-debug-exit devices");
		return -1;
	}
	struct debug_exit_cfg *d = &c->debug_exit[c->nr_debug_exits];
	d->iobase = 0x501, d->iosize = 2; /* QEMU's defaults */
	struct debug_exit_parse p = { c, d };
	if (parse_kv_list(arg, device_kv, &p) < 0)
		return -1;
	c->nr_debug_exits++;
	return 0;
}

/* One option with its argument (arg is NULL for flags). */
static int parse_one(struct config *c, const char *opt, char *arg)
{
	if (!strcmp(opt, "m")) {
		return parse_memory(c, arg);
	} else if (!strcmp(opt, "smp")) {
		return parse_kv_list(arg, smp_kv, c);
	} else if (!strcmp(opt, "accel")) {
		if (!strcmp(arg, "help")) {
			printf("Accelerators supported in qvm:\nkvm\nkqemu\ntcg\n");
			return 1;
		}
		return parse_accel(c, arg);
	} else if (!strcmp(opt, "machine") || !strcmp(opt, "M")) {
		if (!strcmp(arg, "help")) {
			board_print_list();
			return 1;
		}
		return parse_kv_list(arg, machine_kv, c);
	} else if (!strcmp(opt, "enable-kvm")) {
		c->accel = "kvm";
	} else if (!strcmp(opt, "no-kqemu")) {
		c->no_kqemu = true;
	} else if (!strcmp(opt, "kqemu-backends")) {
		kqemu_backends_report(print_stdout, NULL);     /* for scripts/kvm-ok */
		return 1;
	} else if (!strcmp(opt, "cpu")) {
		if (!strcmp(arg, "help")) {
			cpu_models_print();
			return 1;
		}
		return cpu_option_parse(arg, &c->cpu_model, &c->cpu_features);
	} else if (!strcmp(opt, "kernel")) {
		c->kernel = arg;
		return check_file("-kernel", arg);
	} else if (!strcmp(opt, "initrd")) {
		c->initrd = arg;
	} else if (!strcmp(opt, "append")) {
		c->append = arg;
	} else if (!strcmp(opt, "bios")) {
		c->bios = arg;
		return check_file("-bios", arg);
	} else if (!strcmp(opt, "boot")) {
		return boot_option_parse(c, arg);
	} else if (!strcmp(opt, "smbios")) {
		return smbios_option_parse(c, arg);
	} else if (!strcmp(opt, "uuid")) {
		return uuid_option_parse(c, arg);
	} else if (!strcmp(opt, "debugcon")) {
		c->debugcon = arg;
	} else if (!strcmp(opt, "serial")) {
		/* QEMU 7.2 ignores a fifth one without a word; qvm says so. */
		if (c->nr_serials == MAX_SERIALS) {
			qvm_error("-serial %s: too many serial ports (at most %d, COM1-COM4)", arg,
				  MAX_SERIALS);
			return -1;
		}
		c->serials[c->nr_serials++] = arg;
	} else if (!strcmp(opt, "monitor")) {
		c->monitor = arg;
	} else if (!strcmp(opt, "nographic")) {
		c->nographic = true;
	} else if (!strcmp(opt, "display")) {
		return ui_display_option(c, arg);
	} else if (!strcmp(opt, "vnc")) {
		return ui_vnc_option(c, arg);
	} else if (!strcmp(opt, "vga")) {
		return vga_option(c, arg);
	} else if (!strcmp(opt, "no-reboot")) {
		c->no_reboot = true;
	} else if (!strcmp(opt, "no-shutdown")) {
		c->no_shutdown = true;
	} else if (!strcmp(opt, "S")) {
		c->start_paused = true;
	} else if (!strcmp(opt, "incoming")) {
		if (strncmp(arg, "exec:", 5) && strncmp(arg, "file:", 5)) {
			qvm_error("-incoming %s: unsupported URI (exec:COMMAND or file:PATH)", arg);
			return -1;
		}
		c->incoming = arg;
	} else if (!strcmp(opt, "name")) {
		return parse_kv_list(arg, name_kv, c);
	} else if (!strcmp(opt, "D")) {
		c->logfile = arg;
	} else if (!strcmp(opt, "d")) {
		if (!strcmp(arg, "help")) {
			log_print_categories();
			return 1;
		}
		int mask;
		if (log_parse_mask(arg, &mask) < 0)
			return -1;
		c->log_mask |= mask;
	} else if (!strcmp(opt, "device")) {
		return device_option(c, arg);
	} else if (!strcmp(opt, "netdev") || !strcmp(opt, "nic") || !strcmp(opt, "net")) {
		return net_option_parse(c, opt, arg);
	} else if (!strcmp(opt, "drive")) {
		return add_drive(c, "-drive", arg, NULL, -1, false);
	} else if (!strcmp(opt, "blockdev")) {
		return blockdev_option(c, arg);
	} else if (!strcmp(opt, "hda") || !strcmp(opt, "hdb") || !strcmp(opt, "hdc") ||
		   !strcmp(opt, "hdd")) {
		char name[8];
		snprintf(name, sizeof(name), "-%s", opt);
		return add_drive(c, name, NULL, arg, opt[2] - 'a', false);
	} else if (!strcmp(opt, "cdrom")) {
		return add_drive(c, "-cdrom", NULL, arg, 2, true);
	} else if (!strcmp(opt, "snapshot")) {
		c->snapshot = true;
	} else if (!strcmp(opt, "version")) {
		printf("qvm version " QVM_VERSION "\n");
		return 1;
	} else if (!strcmp(opt, "h") || !strcmp(opt, "help")) {
		usage();
		return 1;
	}
	return 0;
}

static const char *const opts_with_arg[] = {
	"m", "smp", "accel", "machine", "M", "cpu", "kernel", "initrd", "append",
	"bios", "serial", "monitor", "display", "name", "D", "d", "device",
	"drive", "hda", "hdb", "hdc", "hdd", "cdrom", "incoming", "netdev", "nic", "net", "blockdev",
	"vga", "vnc", "boot", "debugcon", "smbios", "uuid",
};
static const char *const opts_flag[] = {
	"enable-kvm", "no-kqemu", "kqemu-backends", "nographic", "no-reboot", "no-shutdown", "S",
	"version", "h", "help", "snapshot",
};

static int find_opt(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return 1;
	return 0;
}

int config_parse(struct config *c, int argc, char **argv)
{
	config_defaults(c);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1]) {
			qvm_error("unexpected argument '%s' (for a disk image: -drive file=%s or -hda %s)",
				  a, a, a);
			return -1;
		}
		const char *name = a + 1 + (a[1] == '-');
		char *arg = NULL;
		if (find_opt(name, opts_with_arg, ARRAY_SIZE(opts_with_arg))) {
			if (i + 1 >= argc) {
				qvm_error("-%s requires an argument", name);
				return -1;
			}
			arg = argv[++i];
		} else if (!find_opt(name, opts_flag, ARRAY_SIZE(opts_flag))) {
			qvm_error("%s: invalid option (try -h)", a);
			return -1;
		}
		int r = parse_one(c, name, arg);
		if (r)
			return r;
	}
	if (smp_finish(c) < 0 || memory_finish(c) < 0 || net_options_finish(c) < 0 ||
	    blk_devices_finish(c) < 0 || ide_drives_finish(c) < 0)
		return -1;
	if (!c->smp_cpus)
		c->smp_cpus = c->smp_max_cpus = c->sockets = c->cores = c->threads = 1;
	if (c->initrd && !c->kernel) {
		qvm_error("-initrd needs -kernel");
		return -1;
	}
	if (c->append && !c->kernel) {
		qvm_error("-append needs -kernel");
		return -1;
	}
	return 0;
}

/* Whether the i-th serial port exists: the i-th -serial (the first also
 * when none is given), unless it is "none", which leaves no port, as in
 * QEMU. */
bool config_serial_present(const struct config *c, unsigned i)
{
	if (i >= MAX_SERIALS)
		return false;
	if (c->nr_serials == 0)
		return i == 0;
	return i < c->nr_serials && strcmp(c->serials[i], "none");
}

