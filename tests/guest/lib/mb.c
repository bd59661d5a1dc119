/* Multiboot information helpers. */
#include "guest.h"

/* Defined by boot-mb.S; these weak copies serve the -bios images. */
__attribute__((weak)) uint32_t mb_magic, mb_info_addr;

static char cmdline[512];

/* Called first thing by c_start: the loader may have put the command line
 * anywhere in low memory (e.g. where the AP trampoline goes later). */
void mb_save_cmdline(void)
{
	if (mb_magic != 0x2badb002)
		return;
	const struct mb_info *mi = phys(mb_info_addr);
	if (!(mi->flags & (1u << 2)) || !mi->cmdline)
		return;
	const char *s = phys(mi->cmdline);
	size_t i;
	for (i = 0; i < sizeof(cmdline) - 1 && s[i]; i++)
		cmdline[i] = s[i];
	cmdline[i] = 0;
}

const char *mb_cmdline(void)
{
	return cmdline;
}

uint64_t cmdline_uint(const char *key, uint64_t def)
{
	const char *s = mb_cmdline();
	size_t kl = strlen(key);
	for (const char *p = s; *p; p++) {
		if ((p == s || p[-1] == ' ') && !strncmp(p, key, kl) && p[kl] == '=') {
			p += kl + 1;
			uint64_t v = 0;
			unsigned base = 10;
			if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
				base = 16;
				p += 2;
			}
			for (;; p++) {
				int d;
				if (*p >= '0' && *p <= '9')
					d = *p - '0';
				else if (base == 16 && *p >= 'a' && *p <= 'f')
					d = *p - 'a' + 10;
				else if (base == 16 && *p >= 'A' && *p <= 'F')
					d = *p - 'A' + 10;
				else
					break;
				v = v * base + d;
			}
			return v;
		}
	}
	return def;
}

bool cmdline_has(const char *word)
{
	const char *s = mb_cmdline();
	size_t wl = strlen(word);
	for (const char *p = s; *p; p++)
		if ((p == s || p[-1] == ' ') && !strncmp(p, word, wl) && (p[wl] == ' ' || !p[wl]))
			return true;
	return false;
}
