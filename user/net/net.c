/*
 * The link between a NIC and its back end, the machine's list of back ends
 * and the monitor's network commands (net.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net.h"

struct netdev *netdev_new(struct mainloop *l, const struct netdev_cfg *cfg)
{
	switch (cfg->kind) {
	case NETDEV_USER:
		return net_user_new(l, cfg);
	case NETDEV_TAP:
		return net_tap_new(l, cfg);
	default:
		return net_socket_new(l, cfg);
	}
}

int netdev_attach(struct netdev *nd, const struct net_peer_ops *ops, void *opaque)
{
	if (nd->peer)
		return -1;
	nd->peer = ops;
	nd->peer_opaque = opaque;
	return 0;
}

void netdev_send(struct netdev *nd, const uint8_t *buf, size_t len)
{
	if (nd->link_down)
		return;
	nd->tx_frames++;
	nd->ops->send(nd, buf, len);
}

void netdev_receive(struct netdev *nd, const uint8_t *buf, size_t len)
{
	if (nd->link_down || !nd->peer)
		return;
	nd->rx_frames++;
	nd->peer->receive(nd->peer_opaque, buf, len);
}

struct netdev *netdev_find(struct netdev *list, const char *id)
{
	for (; list; list = list->next)
		if (!strcmp(list->id, id))
			return list;
	return NULL;
}

int netdev_set_link(struct netdev *list, const char *id, bool up, const char **err)
{
	struct netdev *nd = netdev_find(list, id);
	if (!nd) {
		*err = "no network device by that name (info network lists them)";
		return -1;
	}
	if (nd->link_down == !up)
		return 0;
	nd->link_down = !up;
	if (nd->peer && nd->peer->link_changed)
		nd->peer->link_changed(nd->peer_opaque, up);
	return 0;
}

void netdev_info(struct netdev *list, net_print_fn print, void *opaque)
{
	char line[512], peer[128], detail[256];
	if (!list)
		print(opaque, "no network devices\n");
	for (; list; list = list->next) {
		peer[0] = detail[0] = 0;
		if (list->peer && list->peer->describe)
			list->peer->describe(list->peer_opaque, peer, sizeof(peer));
		if (list->ops->info)
			list->ops->info(list, detail, sizeof(detail));
		snprintf(line, sizeof(line),
			 "%s: type=%s%s%s, link %s, %llu frames out, %llu in\n  \\ %s\n",
			 list->id, list->ops->kind, detail[0] ? "," : "", detail,
			 list->link_down ? "down" : "up", (unsigned long long)list->tx_frames,
			 (unsigned long long)list->rx_frames, peer[0] ? peer : "(no NIC)");
		print(opaque, line);
	}
}

/* "[ID] RULE": the ID is optional when there is exactly one user back
 * end (QEMU also takes "hub port name"; qvm has no hubs). */
int netdev_hostfwd(struct netdev *list, const char *args, bool add, const char **err)
{
	char id[NET_ID_MAX] = "";
	while (*args == ' ')
		args++;
	const char *sp = strchr(args, ' ');
	if (sp) {
		if ((size_t)(sp - args) >= sizeof(id)) {
			*err = "network device name too long";
			return -1;
		}
		memcpy(id, args, sp - args);
		id[sp - args] = 0;
		for (args = sp; *args == ' '; args++)
			;
	}
	struct netdev *nd = NULL;
	for (struct netdev *n = list; n; n = n->next) {
		if (!n->ops->hostfwd || (*id && strcmp(n->id, id)))
			continue;
		if (nd) {
			*err = "more than one user network: name it (hostfwd_add ID RULE)";
			return -1;
		}
		nd = n;
	}
	if (!nd) {
		*err = *id ? "no user network device by that name" : "no user network device";
		return -1;
	}
	if (!*args) {
		*err = "give a rule: [tcp|udp]:[HOSTADDR]:HOSTPORT[-[GUESTADDR]:GUESTPORT]";
		return -1;
	}
	return nd->ops->hostfwd(nd, args, add, err);
}

void netdev_free_all(struct netdev *list)
{
	while (list) {
		struct netdev *next = list->next;
		list->ops->free(list);
		list = next;
	}
}

/* RFC 1071: the ones' complement sum of 16-bit big-endian words. */
uint32_t net_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;
	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

int net_checksum_fill(uint8_t *frame, size_t len, unsigned start, unsigned offset)
{
	if (start > len || offset > len - start || len - start - offset < 2)
		return -1;
	uint16_t c = ~net_csum_fold(net_csum_add(0, frame + start, len - start));
	if (!c)
		c = 0xffff;   /* -0: the same for TCP, and what UDP must send */
	frame[start + offset] = c >> 8;
	frame[start + offset + 1] = c & 0xff;
	return 0;
}
