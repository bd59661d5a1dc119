/* Starting the front ends the command line asks for (ui.h). */
#include "config.h"
#include "machine.h"
#include "ui/ui.h"

int ui_init(struct machine *m, const struct ui_cfg *cfg)
{
	if (cfg->vnc && !vnc_start(m, cfg))
		return -1;
	if (cfg->sdl && sdl_start(m, cfg) < 0)
		return -1;
	return 0;
}
