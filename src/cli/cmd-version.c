/* `wice version` */
#include "config.h"

#include <stdio.h>

#include "cmd.h"

int cmd_version(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		printf("Usage: wice version\n");
		return 0;
	}
	printf("wice %s\n", PACKAGE_VERSION);
	return 0;
}
