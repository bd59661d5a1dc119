/*
 * The qvm state stream: one versioned byte stream holding a whole
 * machine (guest RAM, devices, vCPUs, engine), written by migrate and
 * read by -incoming.  Format (little-endian; docs/design.md):
 *
 *   header   "QVMSTATE" (8 bytes), u32 version, u32 flags (0)
 *   section  u32 id, u32 flags, u64 length, then length bytes
 *   ...      the last section is STREAM_SEC_END with length 0
 *
 * A reader refuses another version, and a section it does not know
 * unless that section's flags have STREAM_SEC_OPTIONAL (then it skips
 * it).  The stream is untrusted input: every length is checked against
 * what the reader can hold before anything is allocated or read.
 * Errors are one line in the reader's or writer's err[].
 */
#ifndef QVM_MIGRATION_STREAM_H
#define QVM_MIGRATION_STREAM_H

#include "qvm.h"

#define STREAM_MAGIC "QVMSTATE"
#define STREAM_VERSION 1

enum stream_section {
	STREAM_SEC_END = 0,
	STREAM_SEC_MACHINE = 1, /* engine name, RAM size, vCPU count */
	STREAM_SEC_RAM = 2,     /* runs of non-zero pages */
	STREAM_SEC_DEVICES = 3, /* machine_save_devices() */
	STREAM_SEC_CPU = 4,     /* u32 index, then one x86_cpu_state */
	STREAM_SEC_ENGINE = 5,  /* accel_ops.save() */
};
#define STREAM_SEC_OPTIONAL 1u  /* section flag: a reader may skip it */

/* The largest section other than RAM a reader accepts. */
#define STREAM_SECTION_MAX (64u << 20)

struct stream_writer {
	int fd;
	uint64_t bytes;         /* written so far */
	char err[200];          /* first error; writes stop after one */
	bool failed;
};

struct stream_reader {
	int fd;
	uint64_t pos;           /* bytes read so far */
	uint64_t left;          /* bytes left in the current section */
	char err[200];
	bool failed;
};

struct stream_section_hdr {
	uint32_t id, flags;
	uint64_t len;
};

void stream_writer_init(struct stream_writer *w, int fd);
int stream_write_header(struct stream_writer *w);
/* A section header; then exactly len bytes with stream_write(). */
int stream_begin_section(struct stream_writer *w, uint32_t id, uint32_t flags, uint64_t len);
int stream_write(struct stream_writer *w, const void *p, size_t n);
/* Header and payload in one. */
int stream_write_section(struct stream_writer *w, uint32_t id, uint32_t flags,
			 const void *p, size_t n);
int stream_write_end(struct stream_writer *w);

void stream_reader_init(struct stream_reader *r, int fd);
/* Magic and version: 0, or -1 with r->err set. */
int stream_read_header(struct stream_reader *r);
/* The next section's header: 0, or -1 (truncated stream).  Sections of
 * unknown ids are the caller's to refuse or skip. */
int stream_next_section(struct stream_reader *r, struct stream_section_hdr *h);
/* Exactly n bytes of the current section: 0, or -1 when the section or
 * the stream ends first. */
int stream_read(struct stream_reader *r, void *p, size_t n);
/* Discard the rest of the current section. */
int stream_skip(struct stream_reader *r);
/* The rest of the current section into a malloc'ed buffer (at most
 * STREAM_SECTION_MAX bytes): NULL with r->err set. */
void *stream_read_all(struct stream_reader *r, size_t *len);
/* Record an error (printf style) unless one is recorded: returns -1. */
int stream_fail(char *err, size_t len, bool *failed, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define stream_rfail(r, ...) stream_fail((r)->err, sizeof((r)->err), &(r)->failed, __VA_ARGS__)
#define stream_wfail(w, ...) stream_fail((w)->err, sizeof((w)->err), &(w)->failed, __VA_ARGS__)

#endif
