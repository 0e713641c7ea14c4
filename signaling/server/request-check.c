/* Request checks of the signal server, without libsoup; see
 * request-check.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib.h>

#include "request-check.h"

unsigned request_body_refusal(enum request_body body, int64_t length, bool post, int64_t cap,
			      const char **ret_reason)
{
	switch (body) {
	case REQUEST_BODY_NONE:
		return 0;
	case REQUEST_BODY_LENGTH:
		if (length <= cap)
			return 0;
		break;
	case REQUEST_BODY_OTHER:
		if (post) {
			*ret_reason = "Content-Length required";
			return HTTP_LENGTH_REQUIRED;
		}
		break;
	}
	*ret_reason = "request body too large";
	return HTTP_PAYLOAD_TOO_LARGE;
}

const char *request_post_refusal(int r, unsigned *ret_status)
{
	if (r == -ENODATA) {
		*ret_status = HTTP_BAD_REQUEST;
		return "empty message";
	}
	if (r == -EMSGSIZE) {
		*ret_status = HTTP_PAYLOAD_TOO_LARGE;
		return "message too large";
	}
	if (r == -EDQUOT) {
		*ret_status = HTTP_TOO_MANY_REQUESTS;
		return "too many mailboxes from this address";
	}
	*ret_status = HTTP_SERVICE_UNAVAILABLE;
	return "too many mailboxes";
}

size_t request_batch_check(const uint8_t *data, size_t len, size_t max_message, unsigned *ret_status,
			   const char **ret_reason)
{
	size_t n = 0, off = 0;

	*ret_status = HTTP_BAD_REQUEST;
	*ret_reason = "empty batch";
	while (off < len) {
		const uint8_t *id, *body;
		size_t body_len;
		ssize_t r = relay_batch_parse(data + off, len - off, max_message, &id, &body, &body_len);

		if (r == 0) {
			*ret_reason = "truncated batch";
			return 0;
		}
		if (r < 0 || body_len == 0) {
			*ret_reason = request_post_refusal(r < 0 ? (int)r : -ENODATA, ret_status);
			return 0;
		}
		off += r;
		n++;
	}
	return n;
}

bool request_cursor(const char *after, const char *instance, const char *ours, uint64_t last_seq,
		    uint64_t *ret_after)
{
	guint64 v = 0;

	if (after && !g_ascii_string_to_unsigned(after, 10, 0, G_MAXUINT64, &v, NULL))
		return false;
	if (!instance || strcmp(instance, ours) != 0)
		v = 0;
	*ret_after = MIN(v, last_seq);
	return true;
}

bool request_proof(const char *challenge, const char *signature, uint8_t ret_challenge[RELAY_CHALLENGE_LEN],
		   uint8_t ret_sig[RELAY_SIGNATURE_LEN])
{
	uint8_t c[RELAY_CHALLENGE_LEN], s[RELAY_SIGNATURE_LEN];

	if (!challenge || !signature || !relay_b64_decode(c, sizeof(c), challenge, strlen(challenge)) ||
	    !relay_b64_decode(s, sizeof(s), signature, strlen(signature)))
		return false;
	memcpy(ret_challenge, c, sizeof(c));
	memcpy(ret_sig, s, sizeof(s));
	return true;
}
