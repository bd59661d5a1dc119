/* tests/unit/cmdline.h: a command line for the unit tests */
#include <stdio.h>
#include <string.h>
#include "cmdline.h"

int cmdline_parse(struct config *c, const char *line)
{
	static char buf[512];
	char *argv[32];
	int argc = 0;
	snprintf(buf, sizeof(buf), "qvm %s", line);
	for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	return config_parse(c, argc, argv);
}
