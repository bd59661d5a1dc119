/* Shared by the loader tests (multiboot, Linux): image files in a
 * temporary directory, and a bare pc-like machine to load them into. */
#ifndef QVM_TEST_BOOTIMG_H
#define QVM_TEST_BOOTIMG_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct machine;

/* Write a file in this test's temporary directory; its path, valid until
 * the next call.  A file that can't be written gives "" (a test fails). */
const char *bootimg_write(const char *name, const void *data, size_t len);
/* Remove the temporary directory and what bootimg_write put there. */
void bootimg_cleanup(void);
/* A machine of ram bytes with low RAM and RAM from 1 MiB, config c (zeroed,
 * one vCPU) booting kernel. */
struct machine *bootimg_machine(struct config *c, const char *kernel, uint64_t ram);
uint32_t bootimg_rd32(struct machine *m, uint64_t gpa);

#endif
