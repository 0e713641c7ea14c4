/* The HTTP backend's parsers; see http-parse.h. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "http-parse.h"
#include "signaling/sig-envelope.h"

ssize_t http_stream_frame(const uint8_t *buf, size_t len, uint64_t *cursor, struct http_frame *ret)
{
	const uint8_t *body;
	size_t body_len;
	uint64_t seq;
	ssize_t n = relay_frame_parse(buf, len, HTTP_FRAME_BODY_MAX, &seq, &body, &body_len);

	if (n <= 0)
		return n;
	*ret = (struct http_frame){ 0 };
	/* Sequence 0 is a keepalive; an old number a repeat. */
	if (seq == 0 || seq <= *cursor) {
		ret->empty = true;
		return n;
	}
	*cursor = seq;
	if (body_len > 0 && body_len <= SIG_ENVELOPE_MAX) {
		ret->env = body;
		ret->env_len = body_len;
	}
	return n;
}

void http_header_value(char *out, size_t size, const char *data, size_t len, const char *name)
{
	size_t name_len = strlen(name);
	g_autofree char *value = NULL;

	if (len <= name_len || data[name_len] != ':' || g_ascii_strncasecmp(data, name, name_len) != 0)
		return;
	value = g_strstrip(g_strndup(data + name_len + 1, len - name_len - 1));
	if (strlen(value) < size)
		g_strlcpy(out, value, size);
}

bool http_challenge_parse(const char *text, size_t len, uint8_t ret[RELAY_CHALLENGE_LEN])
{
	uint8_t challenge[RELAY_CHALLENGE_LEN];

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (!relay_b64_decode(challenge, sizeof(challenge), text, len))
		return false;
	memcpy(ret, challenge, sizeof(challenge));
	return true;
}
