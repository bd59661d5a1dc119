/*
 * -blockdev, the block graph in QEMU's dotted-key form, for the graphs a
 * disk needs here: a format node (raw, qcow2) on a file node, or a file
 * node alone (raw access), named by node-name and used by
 * -device virtio-blk-pci,drive=NODE:
 *
 *   -blockdev driver=file,node-name=f0,filename=disk.qcow2[,cache.direct=on][,locking=off]
 *   -blockdev driver=qcow2,node-name=d0,file=f0[,read-only=on][,discard=unmap]
 *   -blockdev driver=qcow2,node-name=d0,file.driver=file,file.filename=disk.qcow2
 *
 * A used node becomes a disk as -drive if=none would make it (the
 * format's options and its file's); the JSON form is not taken.
 */
#include <stdio.h>
#include <string.h>
#include "config.h"

static int bool_value(const char *key, const char *val, bool *out)
{
	if (!strcmp(val, "on") || !strcmp(val, "true")) {
		*out = true;
	} else if (!strcmp(val, "off") || !strcmp(val, "false")) {
		*out = false;
	} else {
		qvm_error("-blockdev: %s=%s is not on or off", key, val);
		return -1;
	}
	return 0;
}

static int driver_value(const char *key, const char *val, const char **out)
{
	static const char *const drivers[] = { "file", "raw", "qcow2" };
	for (unsigned i = 0; i < 3; i++) {
		if (!strcmp(val, drivers[i])) {
			*out = drivers[i];
			return 0;
		}
	}
	qvm_error("-blockdev: %s=%s is not supported (file, raw, qcow2)", key, val);
	return -1;
}

/* One key of a node; keys under "file." describe an inline file node. */
static int node_kv(struct blockdev_cfg *n, const char *key, const char *val)
{
	bool inline_file = !strncmp(key, "file.", 5);
	const char *k = inline_file ? key + 5 : key;
	if (!strcmp(key, "node-name")) {
		n->node_name = val;
	} else if (!strcmp(k, "driver")) {
		if (!inline_file)
			return driver_value(key, val, &n->driver);
		if (strcmp(val, "file")) {
			qvm_error("-blockdev: %s=%s is not supported (file)", key, val);
			return -1;
		}
	} else if (!strcmp(k, "filename")) {
		n->filename = val;
	} else if (!strcmp(key, "file")) {
		n->file_node = val;
	} else if (!strcmp(k, "read-only")) {
		return bool_value(key, val, &n->readonly);
	} else if (!strcmp(k, "cache.direct")) {
		return bool_value(key, val, &n->cache_direct);
	} else if (!strcmp(k, "cache.no-flush")) {
		return bool_value(key, val, &n->no_flush);
	} else if (!strcmp(k, "locking")) {
		bool on = strcmp(val, "off") != 0;
		n->no_locking = !on;
		if (strcmp(val, "on") && strcmp(val, "off") && strcmp(val, "auto"))
			return bool_value(key, val, &on);
	} else if (!strcmp(k, "discard")) {
		n->discard = !strcmp(val, "unmap") || !strcmp(val, "on");
	} else if (strcmp(k, "aio") && strcmp(k, "auto-read-only")) {
		qvm_error("-blockdev: unknown option '%s' (driver, node-name, file, filename, "
			  "read-only, cache.direct, cache.no-flush, locking, discard)", key);
		return -1;
	}
	return 0;
}

int blockdev_option(struct config *c, char *arg)
{
	if (c->nr_blockdevs == MAX_DRIVES * 2) {
		qvm_error("-blockdev: too many nodes (at most %d)", MAX_DRIVES * 2);
		return -1;
	}
	struct blockdev_cfg *n = &c->blockdevs[c->nr_blockdevs];
	memset(n, 0, sizeof(*n));
	char *save = NULL;
	for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			qvm_error("-blockdev: '%s' is not key=value (the JSON form is not supported)", tok);
			return -1;
		}
		*eq = 0;
		if (node_kv(n, tok, eq + 1) < 0)
			return -1;
	}
	if (!n->driver || !n->node_name) {
		qvm_error("-blockdev: give driver= and node-name=");
		return -1;
	}
	bool is_file = !strcmp(n->driver, "file");
	if (is_file ? !n->filename : !n->file_node == !n->filename) {
		qvm_error("-blockdev %s: %s", n->node_name, is_file ? "a file node needs filename=" :
			  "a format node needs file=NODE or file.filename=PATH");
		return -1;
	}
	c->nr_blockdevs++;
	return 0;
}

static const struct blockdev_cfg *find_node(const struct config *c, const char *name)
{
	for (unsigned i = 0; i < c->nr_blockdevs; i++)
		if (!strcmp(c->blockdevs[i].node_name, name))
			return &c->blockdevs[i];
	return NULL;
}

/* The disk of node name (a -device's drive=): a drive_cfg made from the
 * node and its file node.  1 when there is no such node, 0, or -1. */
int blockdev_to_drive(struct config *c, const char *name, struct drive_cfg *d)
{
	const struct blockdev_cfg *n = find_node(c, name), *f = n;
	if (!n)
		return 1;
	if (n->file_node && !(f = find_node(c, n->file_node))) {
		qvm_error("-blockdev %s: file=%s: no -blockdev with that node-name", name, n->file_node);
		return -1;
	}
	if (f != n && strcmp(f->driver, "file")) {
		qvm_error("-blockdev %s: file=%s is not a file node", name, n->file_node);
		return -1;
	}
	memset(d, 0, sizeof(*d));
	d->file = f->filename;
	d->format = strcmp(n->driver, "file") ? n->driver : "raw";
	d->id = name;
	d->readonly = n->readonly || f->readonly;
	d->cache = f->no_flush || n->no_flush ? BLK_CACHE_UNSAFE :
		   f->cache_direct || n->cache_direct ? BLK_CACHE_NONE : BLK_CACHE_WRITEBACK;
	d->discard = n->discard || f->discard;
	d->no_locking = f->no_locking || n->no_locking;
	d->if_none = d->attached = true;
	return 0;
}
