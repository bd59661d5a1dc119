/*
 * Migration as QEMU users know it: the monitor's "migrate URI" saves the
 * paused machine into a state stream and leaves it paused
 * (postmigrate); "-incoming URI" loads one into a new qvm started with
 * the same options.  URIs: "exec:COMMAND" (the stream goes to the
 * command's stdin / comes from its stdout, /bin/sh -c) and "file:PATH".
 */
#ifndef QVM_MIGRATION_MIGRATE_H
#define QVM_MIGRATION_MIGRATE_H

#include "qvm.h"

struct machine;

/* The outcome of the last migrate, for "info migrate". */
struct migrate_info {
	enum { MIGRATE_NONE, MIGRATE_COMPLETED, MIGRATE_FAILED } status;
	uint64_t bytes;
	uint64_t ms;
	char error[256];
};

/* Main thread.  Pauses the vCPUs (they stay paused on success, resume
 * on failure if they ran), saves to uri.  0, or -1 with info->error. */
int migrate_save(struct machine *m, const char *uri, struct migrate_info *info);
/* Main thread, before the vCPUs start: load from uri.  0, or -1 with
 * one line in err. */
int migrate_load(struct machine *m, const char *uri, char *err, size_t err_len);

#endif
