/* The boards qvm builds (-machine), as accel.c lists the engines. */
#include <stdio.h>
#include <string.h>
#include "machine.h"
#include "pc/pc.h"

static const struct board_ops *const boards[] = {
	&pc_board_ops,  /* the default */
};

const struct board_ops *board_find(const char *name)
{
	if (!name)
		return boards[0];
	for (size_t i = 0; i < ARRAY_SIZE(boards); i++)
		if (!strcmp(boards[i]->name, name) ||
		    (boards[i]->alias && !strcmp(boards[i]->alias, name)))
			return boards[i];
	return NULL;
}

void board_print_list(void)
{
	printf("Supported machines are:\n");
	for (size_t i = 0; i < ARRAY_SIZE(boards); i++)
		printf("%-4s %s%s\n", boards[i]->name, boards[i]->desc, i ? "" : " (default)");
}
