/* A qvm command line for the unit tests: "-m 1G -smp 2" parsed into a
 * config as config_parse() would from main's argv. */
#ifndef QVM_UNIT_CMDLINE_H
#define QVM_UNIT_CMDLINE_H

#include "config.h"

/* LINE split at spaces (no quoting) after "qvm"; config_parse()'s result.
 * The words live in one static buffer, which the config may point into,
 * until the next call. */
int cmdline_parse(struct config *c, const char *line);

#endif
