/*
 * -netdev user|tap,... (and the back-end half of -nic / -net) as QEMU
 * spells it: netdev_parse() fills a struct netdev_cfg and checks every
 * value, so that a bad option stops qvm before the machine is built.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net.h"

int net_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6)
		return -1;
	for (unsigned i = 0; i < 6; i++) {
		if (s[3 * i + 2] != ':' && i < 5)
			return -1;
		mac[i] = v[i];
	}
	return mac[0] & 1 ? -1 : 0;     /* a multicast address is no NIC's */
}

static int parse_port(const char *s, size_t n, uint16_t *out)
{
	char buf[8];
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *end;
	unsigned long v = strtoul(buf, &end, 10);
	if (*end || buf[0] < '0' || buf[0] > '9' || v > 65535)
		return -1;
	*out = v;
	return 0;
}

/* "ADDR:PORT" (ADDR may be empty) of n bytes. */
static int parse_addr_port(const char *s, size_t n, uint32_t *addr, uint16_t *port)
{
	const char *colon = memchr(s, ':', n);
	char buf[INET_ADDRSTRLEN];
	if (!colon)
		return -1;
	size_t alen = colon - s;
	*addr = 0;
	if (alen) {
		struct in_addr a;
		if (alen >= sizeof(buf))
			return -1;
		memcpy(buf, s, alen);
		buf[alen] = 0;
		if (inet_pton(AF_INET, buf, &a) != 1)
			return -1;
		*addr = a.s_addr;
	}
	return parse_port(colon + 1, n - alen - 1, port);
}

int net_parse_hostfwd(const char *s, struct hostfwd *out, const char **err)
{
	memset(out, 0, sizeof(*out));
	if (!strncmp(s, "tcp:", 4)) {
		s += 4;
	} else if (!strncmp(s, "udp:", 4)) {
		out->udp = true;
		s += 4;
	} else if (*s != ':') {
		*err = "the protocol is tcp or udp";
		return -1;
	}
	const char *dash = strchr(s, '-');
	size_t hlen = dash ? (size_t)(dash - s) : strlen(s);
	if (parse_addr_port(s, hlen, &out->host_addr, &out->host_port) < 0) {
		*err = "bad host part (expected [HOSTADDR]:HOSTPORT)";
		return -1;
	}
	if (!dash)
		return 0;     /* hostfwd_remove: the host side only */
	if (parse_addr_port(dash + 1, strlen(dash + 1), &out->guest_addr, &out->guest_port) < 0 ||
	    !out->guest_port) {
		*err = "bad guest part (expected [GUESTADDR]:GUESTPORT, port 1-65535)";
		return -1;
	}
	return 0;
}

struct parse {
	const char *opt;
	struct netdev_cfg *c;
};

static int check_addr(struct parse *p, const char *key, const char *val)
{
	struct in_addr a;
	if (inet_pton(AF_INET, val, &a) != 1) {
		qvm_error("%s: %s=%s is not an IPv4 address", p->opt, key, val);
		return -1;
	}
	return 0;
}

/* net=ADDR[/MASK]: MASK a prefix length or a dotted mask */
static int check_net(struct parse *p, const char *val)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", val);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (check_addr(p, "net", buf) < 0)
		return -1;
	if (slash) {
		char *end;
		unsigned long len = strtoul(slash + 1, &end, 10);
		struct in_addr a;
		if ((*end || len > 30 || end == slash + 1) && inet_pton(AF_INET, slash + 1, &a) != 1) {
			qvm_error("%s: net=%s: bad mask (a prefix length up to 30 or a dotted mask)",
				  p->opt, val);
			return -1;
		}
	}
	return 0;
}

static int onoff(struct parse *p, const char *key, const char *val, bool *out)
{
	if (!strcmp(val, "on") || !strcmp(val, "yes") || !strcmp(val, "true"))
		*out = true;
	else if (!strcmp(val, "off") || !strcmp(val, "no") || !strcmp(val, "false"))
		*out = false;
	else {
		qvm_error("%s: %s=%s is not on or off", p->opt, key, val);
		return -1;
	}
	return 0;
}

static int hostfwd_kv(struct parse *p, const char *val)
{
	struct netdev_cfg *c = p->c;
	const char *err;
	struct hostfwd h;
	if (c->nr_hostfwd == NET_MAX_HOSTFWD) {
		qvm_error("%s: too many hostfwd rules (at most %d)", p->opt, NET_MAX_HOSTFWD);
		return -1;
	}
	if (net_parse_hostfwd(val, &h, &err) < 0 || !strchr(val, '-')) {
		qvm_error("%s: hostfwd=%s: %s", p->opt, val,
			  strchr(val, '-') ? err : "expected HOST-GUEST, e.g. tcp::2222-:22");
		return -1;
	}
	c->hostfwd[c->nr_hostfwd++] = val;
	return 0;
}

/* tcp:ADDR:PORT-cmd:COMMAND (the chardev form needs chardevs) */
static int guestfwd_kv(struct parse *p, const char *val)
{
	struct netdev_cfg *c = p->c;
	const char *dash = strstr(val, "-cmd:");
	struct hostfwd g;
	if (c->nr_guestfwd == NET_MAX_GUESTFWD || !dash || strncmp(val, "tcp:", 4) ||
	    parse_addr_port(val + 4, dash - val - 4, &g.guest_addr, &g.guest_port) < 0 ||
	    !g.guest_addr || !dash[5]) {
		qvm_error("%s: guestfwd=%s: expected tcp:ADDR:PORT-cmd:COMMAND (at most %d)",
			  p->opt, val, NET_MAX_GUESTFWD);
		return -1;
	}
	c->guestfwd[c->nr_guestfwd++] = val;
	return 0;
}

static int user_kv(struct parse *p, const char *key, const char *val)
{
	struct netdev_cfg *c = p->c;
	if (!strcmp(key, "net")) {
		c->net = val;
		return check_net(p, val);
	} else if (!strcmp(key, "host") || !strcmp(key, "dns") || !strcmp(key, "dhcpstart")) {
		*(key[0] == 'h' ? &c->host : key[1] == 'n' ? &c->dns : &c->dhcpstart) = val;
		return check_addr(p, key, val);
	} else if (!strcmp(key, "hostname")) {
		c->hostname = val;
	} else if (!strcmp(key, "restrict")) {
		return onoff(p, key, val, &c->restrict_guest);
	} else if (!strcmp(key, "ipv4")) {
		bool on;
		if (onoff(p, key, val, &on) < 0)
			return -1;
		if (!on) {
			qvm_error("%s: ipv4=off is not supported (qvm's user network is IPv4)", p->opt);
			return -1;
		}
	} else if (!strcmp(key, "ipv6")) {
		bool on;
		return onoff(p, key, val, &on);   /* slirp's IPv6 stays off either way */
	} else if (!strcmp(key, "hostfwd")) {
		return hostfwd_kv(p, val);
	} else if (!strcmp(key, "guestfwd")) {
		return guestfwd_kv(p, val);
	} else {
		return 1;
	}
	return 0;
}

static int tap_kv(struct parse *p, const char *key, const char *val)
{
	struct netdev_cfg *c = p->c;
	if (!strcmp(key, "ifname")) {
		if (strlen(val) >= IFNAMSIZ || !*val) {
			qvm_error("%s: ifname=%s: 1 to %d characters", p->opt, val, IFNAMSIZ - 1);
			return -1;
		}
		c->ifname = val;
	} else if (!strcmp(key, "script") || !strcmp(key, "downscript")) {
		if (strcmp(val, "no") && strcmp(val, "")) {
			qvm_error("%s: %s=%s: qvm runs no scripts (%s=no; set the tap up beforehand)",
				  p->opt, key, val, key);
			return -1;
		}
	} else if (!strcmp(key, "fd")) {
		char *end;
		long v = strtol(val, &end, 10);
		if (*end || v < 0 || v > 65535 || end == val) {
			qvm_error("%s: fd=%s is not a file descriptor number", p->opt, val);
			return -1;
		}
		c->fd = v;
	} else if (!strcmp(key, "vnet_hdr")) {
		return onoff(p, key, val, &c->vnet_hdr);
	} else {
		return 1;
	}
	return 0;
}

/* listen=[HOST]:PORT, connect=HOST:PORT */
static int socket_kv(struct parse *p, const char *key, const char *val)
{
	struct netdev_cfg *c = p->c;
	bool listen = !strcmp(key, "listen");
	if (!listen && strcmp(key, "connect"))
		return 1;
	uint32_t addr;
	uint16_t port;
	if (parse_addr_port(val, strlen(val), &addr, &port) < 0 || !port ||
	    (!listen && !addr)) {
		qvm_error("%s: %s=%s: expected %s", p->opt, key, val,
			  listen ? "[HOST]:PORT" : "HOST:PORT (an IPv4 address)");
		return -1;
	}
	*(listen ? &c->listen : &c->connect) = val;
	return 0;
}

static const char *const kind_names[] = { "user", "tap", "socket" };
static const char *const kind_keys[] = {
	"id, net, host, dns, dhcpstart, hostname, restrict, hostfwd, guestfwd",
	"id, ifname, script, downscript, fd, vnet_hdr",
	"id, listen, connect",
};

static int kv(struct parse *p, const char *key, const char *val)
{
	if (!strcmp(key, "id")) {
		if (!*val || strlen(val) >= NET_ID_MAX) {
			qvm_error("%s: id=%s: 1 to %d characters", p->opt, val, NET_ID_MAX - 1);
			return -1;
		}
		strcpy(p->c->id, val);
		return 0;
	}
	int r = p->c->kind == NETDEV_USER ? user_kv(p, key, val) :
		p->c->kind == NETDEV_TAP ? tap_kv(p, key, val) : socket_kv(p, key, val);
	if (r > 0)
		qvm_error("%s: unknown %s parameter '%s' (%s)", p->opt, kind_names[p->c->kind], key,
			  kind_keys[p->c->kind]);
	return r ? -1 : 0;
}

/* Split arg in place (arg is the caller's copy). */
static int parse_list(struct parse *p, char *arg, bool (*extra)(void *, const char *, const char *),
		      void *extra_opaque)
{
	char *save = NULL;
	for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			qvm_error("%s: '%s' is not key=value", p->opt, tok);
			return -1;
		}
		*eq = 0;
		if (extra && extra(extra_opaque, tok, eq + 1))
			continue;
		if (kv(p, tok, eq + 1) < 0)
			return -1;
	}
	return 0;
}

int netdev_parse_ext(const char *opt, char *arg, bool need_id, struct netdev_cfg *c,
		     bool (*extra)(void *, const char *, const char *), void *extra_opaque)
{
	struct parse p = { opt, c };
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->vnet_hdr = true;
	size_t klen = strcspn(arg, ",");
	if (klen == 4 && !strncmp(arg, "user", 4)) {
		c->kind = NETDEV_USER;
	} else if (klen == 3 && !strncmp(arg, "tap", 3)) {
		c->kind = NETDEV_TAP;
	} else if (klen == 6 && !strncmp(arg, "socket", 6)) {
		c->kind = NETDEV_SOCKET;
	} else {
		qvm_error("%s: unsupported network back end '%.*s' (user, tap or socket)", opt,
			  (int)klen, arg);
		return -1;
	}
	if (arg[klen] && parse_list(&p, arg + klen + 1, extra, extra_opaque) < 0)
		return -1;
	if (need_id && !c->id[0]) {
		qvm_error("%s: give the back end a name: id=NAME", opt);
		return -1;
	}
	if (c->kind == NETDEV_TAP && c->fd >= 0 && c->ifname) {
		qvm_error("%s: fd= and ifname= together", opt);
		return -1;
	}
	if (c->kind == NETDEV_SOCKET && !c->listen == !c->connect) {
		qvm_error("%s: a socket back end takes listen=[HOST]:PORT or connect=HOST:PORT", opt);
		return -1;
	}
	return 0;
}

int netdev_parse(const char *opt, char *arg, bool need_id, struct netdev_cfg *out)
{
	return netdev_parse_ext(opt, arg, need_id, out, NULL, NULL);
}
