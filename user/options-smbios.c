/*
 * -smbios type=N,FIELD=VALUE[,...] and -uuid UUID, as QEMU's pc takes
 * them: the strings and numbers of the SMBIOS structures (DMTF DSP0134)
 * that pc/smbios.c builds.  Types and fields:
 *
 *   0   vendor, version, date, release=MAJOR.MINOR, uefi=on|off
 *   1   manufacturer, product, version, serial, uuid, sku, family
 *   2   manufacturer, product, version, serial, asset, location
 *   3   manufacturer, version, serial, asset, sku
 *   4   sock_pfx, manufacturer, version, serial, asset, part,
 *       max-speed=MHZ, current-speed=MHZ
 *   11  value=STRING (one OEM string each, in order)
 *   17  loc_pfx, bank, manufacturer, serial, asset, part, speed=MTS
 *
 * ",," in a value is a comma, as in QEMU.  -smbios file=BINARY is not
 * supported.
 */
#include <stdlib.h>
#include <string.h>
#include "config.h"

#define SMBIOS_STRING_MAX 255

static const struct {
	uint8_t type;
	const char *names;              /* separated by spaces */
} smbios_fields[] = {
	{ 0, "vendor version date release uefi" },
	{ 1, "manufacturer product version serial uuid sku family" },
	{ 2, "manufacturer product version serial asset location" },
	{ 3, "manufacturer version serial asset sku" },
	{ 4, "sock_pfx manufacturer version serial asset part max-speed current-speed" },
	{ 11, "value" },
	{ 17, "loc_pfx bank manufacturer serial asset part speed" },
};

static int type_index(long type)
{
	for (unsigned i = 0; i < ARRAY_SIZE(smbios_fields); i++)
		if (smbios_fields[i].type == type)
			return i;
	return -1;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

/* The next item of the list at *p, cut in place (",," becomes ","). */
static char *next_item(char **p)
{
	char *s = *p, *w = s, *r = s;
	if (!*s)
		return NULL;
	while (*r) {
		if (*r == ',' && r[1] == ',') {
			*w++ = ',';
			r += 2;
		} else if (*r == ',') {
			r++;
			break;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	*p = r;
	return s;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 8-4-4-4-12 hex digits (RFC 4122, 3), bytes in the text's order */
static int parse_uuid(const char *s, uint8_t out[16])
{
	static const unsigned dash[] = { 8, 13, 18, 23 };
	if (strlen(s) != 36)
		return -1;
	unsigned n = 0;
	for (unsigned i = 0; i < 36; ) {
		if (n < 4 && i == dash[n]) {
			if (s[i] != '-')
				return -1;
			i++;
			n++;
			continue;
		}
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[(i - n) / 2] = hi << 4 | lo;
		i += 2;
	}
	return 0;
}

int uuid_option_parse(struct config *c, const char *arg)
{
	if (parse_uuid(arg, c->uuid) < 0) {
		qvm_error("-uuid %s: expected a UUID like 12345678-9abc-def0-1234-56789abcdef0", arg);
		return -1;
	}
	c->has_uuid = true;
	return 0;
}

static bool number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return false;
	*out = strtoul(s, &end, 10);
	return !*end && *out <= max;
}

/* The fields with a number or a choice; strings take anything. */
static int check_value(struct config *c, unsigned type, const char *name, const char *val)
{
	unsigned long n;
	if (!strcmp(name, "release")) {
		const char *dot = strchr(val, '.');
		char major[8];
		if (dot && (size_t)(dot - val) < sizeof(major)) {
			memcpy(major, val, dot - val);
			major[dot - val] = '\0';
			if (number(major, 255, &n) && number(dot + 1, 255, &n))
				return 0;
		}
		qvm_error("-smbios type=0,release=%s: MAJOR.MINOR, each 0 to 255", val);
		return -1;
	}
	if (strstr(name, "speed") && !number(val, 0xffff, &n)) {
		qvm_error("-smbios type=%u,%s=%s: a number, 0 to 65535", type, name, val);
		return -1;
	}
	if (!strcmp(name, "uefi") && strcmp(val, "on") && strcmp(val, "off")) {
		qvm_error("-smbios type=0,uefi=%s: on or off", val);
		return -1;
	}
	if (!strcmp(name, "uuid")) {
		if (parse_uuid(val, c->uuid) < 0) {
			qvm_error("-smbios type=1,uuid=%s: not a UUID (8-4-4-4-12 hex digits)", val);
			return -1;
		}
		c->has_uuid = true;
	}
	if (strlen(val) > SMBIOS_STRING_MAX) {
		qvm_error("-smbios type=%u,%s=: longer than %d characters", type, name,
			  SMBIOS_STRING_MAX);
		return -1;
	}
	return 0;
}

static int add_field(struct config *c, int t, char *item)
{
	unsigned type = smbios_fields[t].type;
	char *eq = strchr(item, '=');
	if (!eq) {
		qvm_error("-smbios type=%u: %s: expected FIELD=VALUE", type, item);
		return -1;
	}
	*eq = '\0';
	if (!has_word(smbios_fields[t].names, item)) {
		qvm_error("-smbios type=%u: unknown field '%s' (%s)", type, item,
			  smbios_fields[t].names);
		return -1;
	}
	if (check_value(c, type, item, eq + 1) < 0)
		return -1;
	if (c->nr_smbios == MAX_SMBIOS_FIELDS) {
		qvm_error("-smbios: more than %d fields", MAX_SMBIOS_FIELDS);
		return -1;
	}
	c->smbios[c->nr_smbios++] = (struct smbios_field){ type, item, eq + 1 };
	return 0;
}

int smbios_option_parse(struct config *c, char *arg)
{
	char *p = arg, *first = next_item(&p);
	if (first && !strncmp(first, "file=", 5)) {
		qvm_error("-smbios file=: binary SMBIOS tables are not supported (use type=N,...)");
		return -1;
	}
	char *end = NULL;
	long type = first && !strncmp(first, "type=", 5) ? strtol(first + 5, &end, 10) : -1;
	int t = type >= 0 && !*end && first[5] ? type_index(type) : -1;
	if (t < 0) {
		qvm_error("-smbios %s: expected type=0, 1, 2, 3, 4, 11 or 17 first", arg);
		return -1;
	}
	for (char *item; (item = next_item(&p));)
		if (add_field(c, t, item) < 0)
			return -1;
	return 0;
}

const char *config_smbios(const struct config *c, unsigned type, const char *name)
{
	for (unsigned i = c->nr_smbios; i-- > 0;)
		if (c->smbios[i].type == type && !strcmp(c->smbios[i].name, name))
			return c->smbios[i].value;
	return NULL;
}
