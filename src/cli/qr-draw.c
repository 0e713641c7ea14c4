/* QR codes in the terminal and in PNG files (qr-draw.h).
 *
 * Error correction level M (15 % of the code may be lost): the 53
 * characters of a mesh secret fit a version 4 code of 33 modules, small
 * enough for a terminal of 80 columns, and a screen photographed at an
 * angle still scans.
 *
 * The terminal code sets both colours itself: a code drawn in the
 * terminal's own foreground is inverted on a dark terminal, and many
 * scanners read only dark modules on a light ground.  The 256-colour
 * palette's black (16) and white (231) are fixed by xterm's colour cube,
 * unlike the 16 base colours that themes redefine. */
#include "config.h"

#include <errno.h>
#include <png.h>
#include <qrencode.h>
#include <setjmp.h>
#include <sodium.h>
#include <string.h>

#include "qr-draw.h"

#define TERMINAL_QUIET 2 /* modules of light border; 4 is the standard */
#define PNG_QUIET 4
#define PNG_SCALE 8 /* pixels a module */
#define SGR_BLACK_ON_WHITE "\033[38;5;16;48;5;231m"
#define SGR_RESET "\033[0m"

static QRcode *encode(const char *text, GError **error)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);

	if (!qr)
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot make a QR code: %s",
			    g_strerror(errno));
	return qr;
}

/* The code holds the secret. */
static void qr_free(QRcode *qr)
{
	sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
}

/* Outside the code is the quiet zone, light. */
static bool module_dark(const QRcode *qr, int x, int y)
{
	return x >= 0 && y >= 0 && x < qr->width && y < qr->width && (qr->data[y * qr->width + x] & 1);
}

/* One character row: the modules of rows @y (upper half) and @y + 1. */
static void draw_row_pair(FILE *out, const QRcode *qr, int y)
{
	/* by (upper dark) << 1 | (lower dark) */
	static const char *const glyph[4] = { " ", "\u2584", "\u2580", "\u2588" };

	fputs(SGR_BLACK_ON_WHITE, out);
	for (int x = -TERMINAL_QUIET; x < qr->width + TERMINAL_QUIET; x++)
		fputs(glyph[module_dark(qr, x, y) << 1 | module_dark(qr, x, y + 1)], out);
	fputs(SGR_RESET "\n", out);
}

bool qr_draw_terminal(FILE *out, const char *text, GError **error)
{
	QRcode *qr = encode(text, error);

	if (!qr)
		return false;
	for (int y = -TERMINAL_QUIET; y < qr->width + TERMINAL_QUIET; y += 2)
		draw_row_pair(out, qr, y);
	qr_free(qr);
	return true;
}

static void png_append(png_structp png, png_bytep data, size_t len)
{
	g_byte_array_append(png_get_io_ptr(png), data, (guint)len);
}

static void png_flush_nothing(png_structp png)
{
}

/* Pixel row @py of the image, 1 bit a pixel, 1 for white. */
static void fill_png_row(const QRcode *qr, int py, uint8_t *row, size_t side)
{
	memset(row, 0xff, (side + 7) / 8);
	for (size_t px = 0; px < side; px++)
		if (module_dark(qr, (int)(px / PNG_SCALE) - PNG_QUIET, py / PNG_SCALE - PNG_QUIET))
			row[px / 8] &= (uint8_t) ~(0x80 >> (px % 8));
}

/* The PNG of @qr appended to @out; libpng reports its errors with
 * longjmp(), so nothing that changes after setjmp() is read after it but
 * @ok, which is volatile. */
static bool encode_png(const QRcode *qr, GByteArray *out)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	const size_t side = (size_t)(qr->width + 2 * PNG_QUIET) * PNG_SCALE;
	g_autofree uint8_t *row = g_malloc((side + 7) / 8);
	volatile bool ok = false;

	if (!info || setjmp(png_jmpbuf(png)))
		goto out;
	png_set_write_fn(png, out, png_append, png_flush_nothing);
	png_set_IHDR(png, info, (png_uint_32)side, (png_uint_32)side, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (size_t py = 0; py < side; py++) {
		fill_png_row(qr, (int)py, row, side);
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	ok = true;
out:
	png_destroy_write_struct(&png, &info);
	return ok;
}

bool qr_write_png(const char *path, const char *text, GError **error)
{
	g_autoptr(GByteArray) png = g_byte_array_new();
	QRcode *qr = encode(text, error);
	bool ok;

	if (!qr)
		return false;
	ok = encode_png(qr, png);
	qr_free(qr);
	if (!ok) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot make the PNG for '%s'", path);
		return false;
	}
	/* A temporary file renamed into place: a reader sees no half image,
	 * and the mode is the new file's, not that of a file replaced. */
	ok = g_file_set_contents_full(path, (const char *)png->data, png->len,
				      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
	sodium_memzero(png->data, png->len);
	return ok;
}
