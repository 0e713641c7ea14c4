/* Colour on terminals, the way wg(8) does it: only when standard output
 * is a terminal (and TERM is not "dumb"), unless WICE_COLOR_MODE is
 * "always" or "never". */
#pragma once

#include <stdbool.h>

bool terminal_wants_colour(void);

/* SGR sequences, or "" when colour is off: pass terminal_wants_colour(). */
const char *terminal_bold(bool on);
const char *terminal_green(bool on);
const char *terminal_yellow(bool on);
const char *terminal_red(bool on);
const char *terminal_reset(bool on);
