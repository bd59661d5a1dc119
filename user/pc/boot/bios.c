/*
 * -bios: a ROM image mapped read-only at the top of the 32-bit address
 * space, where the reset vector 0xfffffff0 falls in its last 16 bytes, and
 * its last 128 KiB (or all of a smaller image) also at the top of the
 * first MiB, where real-mode code addresses it (the PC's isa-bios alias).
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
#define BIOS_ALIAS_MAX (128 * KiB)

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
	uint64_t size;
	uint8_t *rom = read_rom(path, &size);
	if (!rom)
		return -1;
	uint64_t alias = MIN(size, BIOS_ALIAS_MAX);
	/* The low alias replaces the RAM just below 1 MiB. */
	if (machine_remove_region(m, REGION_RAM, PC_ISA_HOLE_END) < 0)
		return -1;
	if (0x100000 - alias > PC_ISA_HOLE_END &&
	    machine_add_memory(m, REGION_RAM, PC_ISA_HOLE_END, 0x100000 - alias - PC_ISA_HOLE_END,
			       (uint8_t *)m->ram + PC_ISA_HOLE_END, "ram-option-roms") < 0)
		return -1;
	if (machine_add_memory(m, REGION_ROM, 0x100000 - alias, alias, rom + size - alias,
			       "isa-bios") < 0 ||
	    machine_add_memory(m, REGION_ROM, PC_HIGH_RAM - size, size, rom, "pc.bios") < 0)
		return -1;
	return 0;
}
