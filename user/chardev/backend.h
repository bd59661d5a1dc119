/*
 * For the back-end files of user/chardev only: helpers shared by the core
 * and the back ends, and the constructors the spec parser (core.c) calls.
 * The constructors return NULL with the reason in err (without the
 * "-serial SPEC: " prefix, which chardev_open adds).
 */
#ifndef QVM_CHARDEV_BACKEND_H
#define QVM_CHARDEV_BACKEND_H

#include "chardev/chardev.h"

void *chr_xzalloc(size_t size);     /* abort on out of memory */
char *chr_xstrdup(const char *s);   /* NULL gives "" */
/* c->filename = fmt with one %s for arg ("info chardev"). */
void chardev_set_filename(struct chardev *c, const char *fmt, const char *arg);
/* on/yes/true, off/no/false; -1 for anything else. */
int chr_parse_onoff(const char *v, bool *out);

struct chardev *chardev_open_null(struct mainloop *l, const char *kind, const char *label);
/* opts: "" or ",signal=on|off" */
struct chardev *chardev_open_stdio(struct mainloop *l, const char *opts, const char *label,
				   char *err, size_t errsz);
struct chardev *chardev_open_pty(struct mainloop *l, const char *label, char *err, size_t errsz);
struct chardev *chardev_open_file(struct mainloop *l, const char *path, const char *label,
				  char *err, size_t errsz);
/* arg: "PATH[,server][,nowait]..." */
struct chardev *chardev_open_unix(struct mainloop *l, const char *arg, const char *label,
				  char *err, size_t errsz);

#endif
