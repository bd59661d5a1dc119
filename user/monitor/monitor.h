/* The human monitor: QEMU-style commands on a character device. */
#ifndef QVM_MONITOR_H
#define QVM_MONITOR_H

struct machine;
struct chardev;
struct monitor;

struct monitor *monitor_new(struct machine *m, struct chardev *chr);
void monitor_free(struct monitor *mon);
/* Run one command line (as typed); output goes to the chardev. */
void monitor_command(struct monitor *mon, const char *line);

#endif
