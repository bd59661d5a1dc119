/*
 * -bios: a ROM image mapped read-only at the top of the 32-bit address
 * space, where the reset vector 0xfffffff0 falls in its last 16 bytes.
 * Its last 128 KiB (or all of a smaller image) also appear at the top of
 * the first MiB, where real-mode code addresses it (the PC's isa-bios
 * alias): pam.c maps that, as the i440FX's PAM registers say.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "machine.h"
#include "pc/pc.h"

#define BIOS_MAX_SIZE (16 * MiB)

static void *read_rom(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open_image("-bios", path, &st);
	if (fd < 0)
		return NULL;
	if (st.st_size == 0 || st.st_size % (64 * KiB) ||
	    (uint64_t)st.st_size > BIOS_MAX_SIZE) {
		qvm_error("-bios %s: not a ROM image (size %lld: must be a non-zero "
			  "multiple of 64 KiB up to 16 MiB)", path, (long long)st.st_size);
		close(fd);
		return NULL;
	}
	void *rom = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rom == MAP_FAILED) {
		close(fd);
		qvm_error("-bios %s: %s", path, strerror(errno));
		return NULL;
	}
	bool ok = read_full(fd, rom, st.st_size, "-bios", path);
	close(fd);
	if (!ok) {
		munmap(rom, st.st_size);
		return NULL;
	}
	*size = st.st_size;
	return rom;
}

int bios_load(struct machine *m, const char *path)
{
	struct pc_board *b = m->board;
	uint64_t size;
	uint8_t *rom = read_rom(path, &size);
	if (!rom)
		return -1;
	if (machine_add_memory(m, REGION_ROM, PC_HIGH_RAM - size, size, rom, "pc.bios") < 0) {
		munmap(rom, size);
		return -1;
	}
	b->bios_rom = rom;
	b->bios_size = size;
	return 0;
}
