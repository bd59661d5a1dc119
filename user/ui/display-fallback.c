/*
 * Weak stand-ins for ui/display.c, so that the front ends link and run
 * (with a black screen) in a build without a graphics device.  The real
 * display.c defines the same functions strongly and replaces these; this
 * file can go once it is in every build.
 */
#include <stdio.h>
#include "qvm.h"
#include "ui/display.h"

__attribute__((weak)) int display_register_device(struct machine *m,
						  const struct display_device_ops *ops,
						  void *opaque)
{
	(void)m;
	(void)ops;
	(void)opaque;
	qvm_error("display: no display support in this build (no ui/display.c)");
	return -1;
}

__attribute__((weak)) int display_add_frontend(struct machine *m,
					       const struct display_frontend_ops *ops,
					       void *opaque)
{
	(void)m;
	(void)ops;
	(void)opaque;
	return 0;       /* registered, never fed: the front end stays black */
}

__attribute__((weak)) const struct display_frame *display_refresh(struct machine *m)
{
	(void)m;
	return NULL;
}

__attribute__((weak)) bool display_get_text(struct machine *m, struct display_text *out)
{
	(void)m;
	(void)out;
	return false;
}
