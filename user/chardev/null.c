/* The null back end ("none", "null"): drops output, never has input. */
#include "chardev/backend.h"

static ssize_t null_write(struct chardev *c, const void *buf, size_t len)
{
	(void)c;
	(void)buf;
	return (ssize_t)len;
}

static void null_set_frontend(struct chardev *c)
{
	chardev_send_event(c, CHR_EVENT_OPENED);
}

static void null_close(struct chardev *c)
{
	chardev_free(c);
}

static const struct chardev_ops null_ops = {
	.write = null_write,
	.close = null_close,
	.set_frontend = null_set_frontend,
};

struct chardev *chardev_open_null(struct mainloop *l, const char *kind, const char *label)
{
	struct chardev *c = chardev_new(&null_ops, l, label, NULL);
	chardev_set_filename(c, "%s", kind);
	return c;
}
