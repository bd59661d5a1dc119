/*
 * The network options, as QEMU spells them:
 *   -netdev user|tap|socket,id=ID,...             a back end
 *   -device virtio-net-pci,netdev=ID[,mac=MAC]    a NIC on it
 *   -nic user|tap|none[,model=virtio-net-pci][,mac=MAC][,BACK-END OPTIONS]
 *                                                 both at once
 *   -net nic[,model=virtio][,macaddr=MAC] -net user|tap[,...]
 *                                                 the legacy pair: the n-th
 *                                                 -net nic gets the n-th back end
 * Only virtio-net-pci exists (model=virtio is its legacy name).  NICs get
 * 52:54:00:12:34:56, :57 ... unless given a MAC, as QEMU's do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

static const uint8_t default_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static bool model_ok(const char *opt, const char *val)
{
	if (!strcmp(val, "virtio-net-pci") || !strcmp(val, "virtio"))
		return true;
	qvm_error("%s: model=%s is not supported (virtio-net-pci is qvm's only NIC)", opt, val);
	return false;
}

static struct nic_cfg *new_nic(struct config *c, const char *opt)
{
	if (c->nr_nics == MAX_NICS) {
		qvm_error("%s: too many NICs (at most %d)", opt, MAX_NICS);
		return NULL;
	}
	struct nic_cfg *n = &c->nics[c->nr_nics++];
	memset(n, 0, sizeof(*n));
	n->netdev = -1;
	return n;
}

static struct netdev_cfg *new_netdev(struct config *c, const char *opt)
{
	if (c->nr_netdevs == MAX_NETDEVS) {
		qvm_error("%s: too many network back ends (at most %d)", opt, MAX_NETDEVS);
		return NULL;
	}
	return &c->netdevs[c->nr_netdevs++];
}

static int set_mac(const char *opt, const char *val, struct nic_cfg *n)
{
	if (net_parse_mac(val, n->mac) < 0) {
		qvm_error("%s: mac=%s is not a unicast MAC address (e.g. 52:54:00:12:34:56)", opt, val);
		return -1;
	}
	n->has_mac = true;
	return 0;
}

struct nic_keys {
	const char *opt;
	struct nic_cfg *nic;
	int error;
};

/* -nic / -net nic keys mixed with the back end's: true when taken */
static bool nic_key(void *opaque, const char *key, const char *val)
{
	struct nic_keys *k = opaque;
	if (!strcmp(key, "model")) {
		if (!model_ok(k->opt, val))
			k->error = -1;
	} else if (!strcmp(key, "mac") || !strcmp(key, "macaddr")) {
		if (set_mac(k->opt, val, k->nic) < 0)
			k->error = -1;
	} else {
		return false;
	}
	return true;
}

/* -nic BACKEND[,...] */
static int nic_option(struct config *c, char *arg)
{
	if (!strcmp(arg, "none"))
		return 0;
	struct nic_cfg *n = new_nic(c, "-nic");
	struct netdev_cfg *nd = n ? new_netdev(c, "-nic") : NULL;
	if (!nd)
		return -1;
	struct nic_keys k = { "-nic", n, 0 };
	if (netdev_parse_ext("-nic", arg, false, nd, nic_key, &k) < 0 || k.error)
		return -1;
	if (!nd->id[0])
		snprintf(nd->id, sizeof(nd->id), "nic%u", c->nr_nics - 1);
	n->netdev_id = nd->id;
	return 0;
}

static bool legacy_nic_key(void *opaque, const char *key, const char *val)
{
	struct nic_keys *k = opaque;
	if (nic_key(opaque, key, val))
		return true;
	if (!strcmp(key, "netdev")) {
		k->nic->netdev_id = val;
		return true;
	}
	if (!strcmp(key, "name") || !strcmp(key, "id") || (!strcmp(key, "vlan") && !strcmp(val, "0")))
		return true;
	qvm_error("-net nic: unknown parameter '%s' (model, macaddr, netdev, name)", key);
	k->error = -1;
	return true;
}

/* -net nic[,...] | -net user|tap[,...] | -net none */
static int net_option(struct config *c, char *arg)
{
	if (!strcmp(arg, "none"))
		return 0;
	size_t klen = strcspn(arg, ",");
	if (klen == 3 && !strncmp(arg, "nic", 3)) {
		struct nic_cfg *n = new_nic(c, "-net nic");
		if (!n)
			return -1;
		struct nic_keys k = { "-net nic", n, 0 };
		char *save = NULL;
		for (char *tok = arg[3] ? strtok_r(arg + 4, ",", &save) : NULL; tok;
		     tok = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(tok, '=');
			if (!eq) {
				qvm_error("-net nic: '%s' is not key=value", tok);
				return -1;
			}
			*eq = 0;
			legacy_nic_key(&k, tok, eq + 1);
			if (k.error)
				return -1;
		}
		return 0;
	}
	struct netdev_cfg *nd = new_netdev(c, "-net");
	if (!nd || netdev_parse("-net", arg, false, nd) < 0)
		return -1;
	if (!nd->id[0])
		snprintf(nd->id, sizeof(nd->id), "net%u", c->nr_legacy_nets);
	c->nr_legacy_nets++;
	nd->legacy = true;
	return 0;
}

static bool device_key(void *opaque, const char *key, const char *val)
{
	struct nic_keys *k = opaque;
	if (!strcmp(key, "netdev")) {
		k->nic->netdev_id = val;
	} else if (!strcmp(key, "mac")) {
		if (set_mac(k->opt, val, k->nic) < 0)
			k->error = -1;
	} else if (strcmp(key, "id") && strcmp(key, "bus") && strcmp(key, "addr") &&
		   strcmp(key, "romfile")) {
		qvm_error("-device virtio-net-pci: unknown property '%s' (netdev, mac, id)", key);
		k->error = -1;
	}
	return !k->error;
}

/* -device virtio-net-pci,netdev=ID[,mac=MAC] (arg after the driver name) */
int net_device_option(struct config *c, char *props)
{
	struct nic_cfg *n = new_nic(c, "-device virtio-net-pci");
	if (!n)
		return -1;
	struct nic_keys k = { "-device virtio-net-pci", n, 0 };
	char *save = NULL;
	for (char *tok = strtok_r(props, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			qvm_error("-device virtio-net-pci: '%s' is not key=value", tok);
			return -1;
		}
		*eq = 0;
		if (!device_key(&k, tok, eq + 1))
			return -1;
	}
	return 0;
}

int net_option_parse(struct config *c, const char *opt, char *arg)
{
	if (!strcmp(opt, "netdev")) {
		if (!strcmp(arg, "help")) {
			printf("Available netdev backend types:\nsocket\nuser\ntap\n");
			return 1;
		}
		struct netdev_cfg *nd = new_netdev(c, "-netdev");
		return nd && netdev_parse("-netdev", arg, true, nd) == 0 ? 0 : -1;
	}
	if (!strcmp(opt, "nic"))
		return nic_option(c, arg);
	return net_option(c, arg);
}

static int find_netdev(struct config *c, const char *id)
{
	for (unsigned i = 0; i < c->nr_netdevs; i++)
		if (!strcmp(c->netdevs[i].id, id))
			return i;
	return -1;
}

/* After every option: ids unique, each NIC on a back end that exists and
 * is nobody else's, legacy -net pairs matched, MACs given out. */
int net_options_finish(struct config *c)
{
	unsigned legacy = 0, users[MAX_NETDEVS] = { 0 };
	for (unsigned i = 0; i < c->nr_netdevs; i++) {
		if (find_netdev(c, c->netdevs[i].id) != (int)i) {
			qvm_error("-netdev: duplicate id '%s'", c->netdevs[i].id);
			return -1;
		}
	}
	for (unsigned i = 0; i < c->nr_nics; i++) {
		struct nic_cfg *n = &c->nics[i];
		if (n->netdev_id) {
			n->netdev = find_netdev(c, n->netdev_id);
			if (n->netdev < 0) {
				qvm_error("-device virtio-net-pci: netdev=%s: no -netdev with that id",
					  n->netdev_id);
				return -1;
			}
		} else {
			while (legacy < c->nr_netdevs && !c->netdevs[legacy].legacy)
				legacy++;
			if (legacy < c->nr_netdevs)
				n->netdev = legacy++;
		}
		if (n->netdev >= 0 && users[n->netdev]++) {
			qvm_error("netdev %s: used by two NICs (one NIC per back end)",
				  c->netdevs[n->netdev].id);
			return -1;
		}
		if (!n->has_mac) {
			memcpy(n->mac, default_mac, 6);
			n->mac[5] += i;
		}
	}
	for (unsigned i = 0; i < c->nr_netdevs; i++)
		if (!users[i])
			fprintf(stderr, "qvm: warning: netdev %s has no NIC (add -device "
				"virtio-net-pci,netdev=%s)\n", c->netdevs[i].id, c->netdevs[i].id);
	return 0;
}
