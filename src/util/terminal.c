/* Terminal colours for `wice show` (see terminal.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "terminal.h"

bool terminal_wants_colour(void)
{
	const char *mode = getenv("WICE_COLOR_MODE");
	const char *term = getenv("TERM");

	if (mode && strcmp(mode, "always") == 0)
		return true;
	if (mode && strcmp(mode, "never") == 0)
		return false;
	return isatty(STDOUT_FILENO) && (!term || strcmp(term, "dumb") != 0);
}

const char *terminal_bold(bool on)
{
	return on ? "\x1b[1m" : "";
}

const char *terminal_green(bool on)
{
	return on ? "\x1b[32m" : "";
}

const char *terminal_yellow(bool on)
{
	return on ? "\x1b[33m" : "";
}

const char *terminal_red(bool on)
{
	return on ? "\x1b[31m" : "";
}

const char *terminal_reset(bool on)
{
	return on ? "\x1b[0m" : "";
}
