/* A short text (a mesh secret) as a QR code, for a person to carry from
 * one host to the next with a phone or to scan from a screen: drawn in
 * the terminal or written as a PNG.  The text is a secret, so neither
 * draws it anywhere but where it was asked to. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

/* Draws @text on @out with UTF-8 half blocks, two modules a character
 * cell, black on white whatever the terminal's colours. */
bool qr_draw_terminal(FILE *out, const char *text, GError **error);
/* Writes @text as a PNG to @path, atomically and with mode 0600. */
bool qr_write_png(const char *path, const char *text, GError **error);
