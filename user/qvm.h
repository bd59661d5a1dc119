/* Common definitions for every qvm source file. */
#ifndef QVM_H
#define QVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QVM_VERSION "0.1.0"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

typedef uint64_t gpa_t; /* guest-physical address */

#include "log.h"

#endif
