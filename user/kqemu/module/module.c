/*
 * kqemu's "module" backend (kqemu.h): /dev/kqemu from kqemu-kmod/.  One
 * open file per vCPU; every operation is one ioctl carrying kqemu.h's
 * structs, the world switch is the module's.  See README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "kqemu/kqemu.h"

#define KQEMU_DEV "/dev/kqemu"

struct module_backend {
	int fd;
};

/* the device's version, or -1 with a reason */
static int dev_version(int fd, char *why, size_t why_len)
{
	int v = ioctl(fd, KQEMU_GET_VERSION);
	if (v < 0) {
		snprintf(why, why_len, "%s: KQEMU_GET_VERSION: %s", KQEMU_DEV, strerror(errno));
		return -1;
	}
	if (v >> 16 != KQEMU_VERSION_MAJOR) {
		snprintf(why, why_len, "%s speaks interface %d.%d, this qvm %d.%d (rebuild "
			 "kqemu-kmod)", KQEMU_DEV, v >> 16, v & 0xffff, KQEMU_VERSION_MAJOR,
			 KQEMU_VERSION_MINOR);
		return -1;
	}
	return v;
}

static int dev_open(char *why, size_t why_len)
{
	int fd = open(KQEMU_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			snprintf(why, why_len, "no %s (load kqemu-kmod/: insmod kqemu.ko)",
				 KQEMU_DEV);
		else
			snprintf(why, why_len, "%s: %s", KQEMU_DEV, strerror(errno));
		return -1;
	}
	if (dev_version(fd, why, why_len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool module_available(char *why, size_t why_len)
{
	int fd = dev_open(why, why_len);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void *module_open(const struct kqemu_ram *ram, char *err, size_t err_len)
{
	struct module_backend *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, err_len, "module backend: out of memory");
		return NULL;
	}
	char why[200];
	b->fd = dev_open(why, sizeof(why));
	if (b->fd < 0) {
		snprintf(err, err_len, "module backend: %s", why);
		free(b);
		return NULL;
	}
	struct kqemu_create cr = { (uint64_t)(uintptr_t)ram->host, ram->size };
	if (ioctl(b->fd, KQEMU_CREATE, &cr) < 0) {
		snprintf(err, err_len, "module backend: KQEMU_CREATE: %s", strerror(errno));
		close(b->fd);
		free(b);
		return NULL;
	}
	return b;
}

static void module_get_info(void *opaque, struct kqemu_backend_info *info)
{
	struct module_backend *b = opaque;
	if (ioctl(b->fd, KQEMU_GET_INFO, info) < 0) {
		/* cannot happen with a device that answered the version */
		memset(info, 0, sizeof(*info));
		info->version = KQEMU_VERSION;
		snprintf(info->description, sizeof(info->description),
			 "/dev/kqemu (KQEMU_GET_INFO failed)");
	}
}

static int module_exec(void *opaque, struct kqemu_run *run)
{
	struct module_backend *b = opaque;
	if (ioctl(b->fd, KQEMU_EXEC, run) == 0)
		return 0;
	snprintf(run->message, sizeof(run->message), "module backend: KQEMU_EXEC: %s",
		 strerror(errno));
	run->exit_class = KQEMU_EXIT_ERROR;
	return -1;
}

/* async-signal-safe: one ioctl */
static void module_kick(void *opaque)
{
	struct module_backend *b = opaque;
	int saved = errno;
	ioctl(b->fd, KQEMU_KICK);
	errno = saved;
}

static void module_close(void *opaque)
{
	struct module_backend *b = opaque;
	if (!b)
		return;
	close(b->fd);
	free(b);
}

const struct kqemu_backend_ops kqemu_module_ops = {
	.name = "module",
	.available = module_available,
	.open = module_open,
	.get_info = module_get_info,
	.exec = module_exec,
	.kick = module_kick,
	.close = module_close,
};
