/* Helpers for the loader tests: see bootimg.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bootimg.h"
#include "config.h"
#include "machine.h"
#include "pc/pc.h"

static char tmpdir[] = "/tmp/qvm-boot-XXXXXX";
static bool tmpdir_made; /* each test runs in its own child: one per test */

const char *bootimg_write(const char *name, const void *data, size_t len)
{
	static char path[256];
	path[0] = 0;
	if (!tmpdir_made && !mkdtemp(tmpdir))
		return path;
	tmpdir_made = true;
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len)
		path[0] = 0;
	if (f)
		fclose(f);
	return path;
}

void bootimg_cleanup(void)
{
	DIR *d = tmpdir_made ? opendir(tmpdir) : NULL;
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		if (e->d_name[0] != '.')
			unlink(path);
	}
	if (d) {
		closedir(d);
		rmdir(tmpdir);
	}
}

struct machine *bootimg_machine(struct config *c, const char *kernel, uint64_t ram)
{
	memset(c, 0, sizeof(*c));
	c->smp_cpus = c->smp_max_cpus = c->sockets = c->cores = c->threads = 1;
	c->kernel = kernel;
	struct machine *m = machine_new(ram);
	m->cfg = c;
	m->board = calloc(1, sizeof(struct pc_board));
	machine_add_memory(m, REGION_RAM, 0, PC_LOW_RAM_END, m->ram, "low");
	machine_add_memory(m, REGION_RAM, 0x100000, m->ram_below_4g - 0x100000,
			   (uint8_t *)m->ram + 0x100000, "high");
	return m;
}

uint32_t bootimg_rd32(struct machine *m, uint64_t gpa)
{
	uint32_t v = 0;
	guest_read(m, gpa, &v, 4);
	return v;
}
