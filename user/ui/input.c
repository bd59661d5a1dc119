/*
 * The input router (input.h): front ends hand key and pointer events to
 * the machine, which passes them to the devices that registered for them.
 * Handlers are registered while the machine is built (main thread) and
 * live as long as it; events come from the main thread too, so the list
 * needs no lock (each device takes its own).
 */
#include <stdlib.h>
#include "machine.h"
#include "ui/input.h"

struct input_handler {
	const struct input_handler_ops *ops;
	void *opaque;
	struct input_handler *next;
};

struct input_router {
	struct input_handler *handlers; /* in the order of registration */
	/* the last absolute position, for the relative fallback */
	uint32_t abs_x, abs_y;
	bool abs_known;
};

static void input_router_destroy(void *dev)
{
	struct input_router *r = dev;
	struct input_handler *h = r->handlers;
	while (h) {
		struct input_handler *next = h->next;
		free(h);
		h = next;
	}
	free(r);
}

static const struct device_ops input_router_ops = {
	.name = "input",
	.destroy = input_router_destroy,
};

int input_register_handler(struct machine *m, const struct input_handler_ops *ops, void *opaque)
{
	struct input_handler *h = calloc(1, sizeof(*h));
	if (!h) {
		qvm_error("input: out of memory");
		return -1;
	}
	if (!m->input) {
		m->input = calloc(1, sizeof(*m->input));
		if (!m->input) {
			free(h);
			qvm_error("input: out of memory");
			return -1;
		}
		/* freed with the devices by machine_free */
		machine_add_device(m, &input_router_ops, m->input);
	}
	h->ops = ops;
	h->opaque = opaque;
	struct input_handler **tail = &m->input->handlers;
	while (*tail)
		tail = &(*tail)->next;
	*tail = h;
	return 0;
}

void input_key(struct machine *m, unsigned linux_code, bool down)
{
	if (!m->input)
		return;
	for (struct input_handler *h = m->input->handlers; h; h = h->next)
		if (h->ops->key)
			h->ops->key(h->opaque, linux_code, down);
}

/* The last registered handler with a rel (abs: false) or abs op. */
static struct input_handler *pointer_handler(struct machine *m, bool abs)
{
	struct input_handler *found = NULL;
	if (!m->input)
		return NULL;
	for (struct input_handler *h = m->input->handlers; h; h = h->next)
		if (abs ? h->ops->abs != NULL : h->ops->rel != NULL)
			found = h;
	return found;
}

void input_pointer_rel(struct machine *m, int dx, int dy, unsigned buttons)
{
	struct input_handler *h = pointer_handler(m, false);
	if (h)
		h->ops->rel(h->opaque, dx, dy, buttons);
}

/* Without an absolute device the screen is taken as 1024 units wide and
 * high: front ends that know the frame's size send relative motion in
 * pixels themselves (input_has_abs). */
#define FALLBACK_SHIFT 5 /* 0x8000 >> 5 = 1024 */

void input_pointer_abs(struct machine *m, uint32_t x, uint32_t y, unsigned buttons)
{
	if (x > INPUT_ABS_MAX)
		x = INPUT_ABS_MAX;
	if (y > INPUT_ABS_MAX)
		y = INPUT_ABS_MAX;
	struct input_handler *h = pointer_handler(m, true);
	if (h) {
		h->ops->abs(h->opaque, x, y, buttons);
	} else if (m->input) {
		int dx = 0, dy = 0;
		if (m->input->abs_known) {
			dx = ((int)x >> FALLBACK_SHIFT) - ((int)m->input->abs_x >> FALLBACK_SHIFT);
			dy = ((int)y >> FALLBACK_SHIFT) - ((int)m->input->abs_y >> FALLBACK_SHIFT);
		}
		input_pointer_rel(m, dx, dy, buttons);
	}
	if (m->input) {
		m->input->abs_x = x;
		m->input->abs_y = y;
		m->input->abs_known = true;
	}
}

bool input_has_abs(struct machine *m)
{
	return pointer_handler(m, true) != NULL;
}
