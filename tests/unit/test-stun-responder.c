/* The signal server's STUN responder, driven by libnice's own client side:
 * a Binding request gets the sender's address back (IPv4, IPv6, and IPv4
 * seen through a dual-stack socket), with a FINGERPRINT exactly when the
 * request had one; other requests get errors; every truncated request and
 * every non-request gets nothing. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <string.h>
#include <stun/stunagent.h>
#include <stun/usages/bind.h>

#include "signaling/server/stun-responder.h"

static const uint16_t client_known[] = {
	STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, STUN_ATTRIBUTE_MAPPED_ADDRESS, STUN_ATTRIBUTE_ERROR_CODE,
	STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES, 0,
};

struct client {
	StunAgent agent;
	StunMessage msg;
	uint8_t req[STUN_MAX_MESSAGE_SIZE];
	size_t req_len;
};

static void client_binding(struct client *c, bool fingerprint)
{
	stun_agent_init(&c->agent, client_known, STUN_COMPATIBILITY_RFC5389,
			fingerprint ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0);
	c->req_len = stun_usage_bind_create(&c->agent, &c->msg, c->req, sizeof(c->req));
	cr_assert_gt(c->req_len, 0);
}

static socklen_t addr4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	return sizeof(*in);
}

static socklen_t addr6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	return sizeof(*in6);
}

/* Sends c's request from `from`, checks the answer like libnice would and
 * returns the mapped address. */
static void round_trip(struct client *c, const struct sockaddr_storage *from, socklen_t from_len,
		       struct sockaddr_storage *mapped)
{
	struct stun_responder *r = stun_responder_new();
	uint8_t out[1500];
	struct sockaddr_storage alt;
	socklen_t mapped_len = sizeof(*mapped), alt_len = sizeof(alt);
	StunMessage resp;
	size_t n;

	n = stun_responder_answer(r, c->req, c->req_len, from, from_len, out, sizeof(out));
	cr_assert_gt(n, 0);
	cr_assert_eq(stun_agent_validate(&c->agent, &resp, out, n, NULL, NULL), STUN_VALIDATION_SUCCESS);
	cr_assert_eq(stun_message_get_class(&resp), STUN_RESPONSE);
	cr_assert_eq(stun_message_has_attribute(&resp, STUN_ATTRIBUTE_FINGERPRINT),
		     stun_message_has_attribute(&c->msg, STUN_ATTRIBUTE_FINGERPRINT));
	cr_assert_eq(stun_usage_bind_process(&resp, (struct sockaddr *)mapped, &mapped_len,
					     (struct sockaddr *)&alt, &alt_len),
		     STUN_USAGE_BIND_RETURN_SUCCESS);
	stun_responder_free(r);
}

Test(stun_responder, binding_ipv4_with_and_without_fingerprint)
{
	for (int fp = 0; fp < 2; fp++) {
		struct client c;
		struct sockaddr_storage from, mapped;
		socklen_t len = addr4(&from, "192.0.2.7", 40000);

		client_binding(&c, fp);
		round_trip(&c, &from, len, &mapped);
		cr_assert_eq(mapped.ss_family, AF_INET);
		cr_assert_eq(memcmp(&mapped, &from, sizeof(struct sockaddr_in)), 0);
	}
}

Test(stun_responder, binding_ipv6)
{
	struct client c;
	struct sockaddr_storage from, mapped;
	socklen_t len = addr6(&from, "2001:db8::42", 3478);

	client_binding(&c, true);
	round_trip(&c, &from, len, &mapped);
	cr_assert_eq(mapped.ss_family, AF_INET6);
	cr_assert_eq(memcmp(&((struct sockaddr_in6 *)&mapped)->sin6_addr,
			    &((struct sockaddr_in6 *)&from)->sin6_addr, 16), 0);
	cr_assert_eq(((struct sockaddr_in6 *)&mapped)->sin6_port, htons(3478));
}

Test(stun_responder, dual_stack_ipv4_is_answered_as_ipv4)
{
	struct client c;
	struct sockaddr_storage from, mapped, want;
	socklen_t len = addr6(&from, "::ffff:198.51.100.9", 5555);

	addr4(&want, "198.51.100.9", 5555);
	client_binding(&c, false);
	round_trip(&c, &from, len, &mapped);
	cr_assert_eq(mapped.ss_family, AF_INET);
	cr_assert_eq(memcmp(&mapped, &want, sizeof(struct sockaddr_in)), 0);
}

Test(stun_responder, truncations_and_garbage_get_nothing)
{
	struct stun_responder *r = stun_responder_new();
	struct sockaddr_storage from;
	socklen_t len = addr4(&from, "192.0.2.1", 1);
	uint8_t out[1500], junk[64];
	struct client c;

	client_binding(&c, true);
	for (size_t n = 0; n < c.req_len; n++)
		cr_assert_eq(stun_responder_answer(r, c.req, n, &from, len, out, sizeof(out)), 0,
			     "prefix %zu", n);
	memset(junk, 0xa5, sizeof(junk));
	cr_assert_eq(stun_responder_answer(r, junk, sizeof(junk), &from, len, out, sizeof(out)), 0);
	/* A datagram that is a valid request plus trailing bytes is not STUN. */
	memcpy(c.req + c.req_len, "xxxx", 4);
	cr_assert_eq(stun_responder_answer(r, c.req, c.req_len + 4, &from, len, out, sizeof(out)), 0);
	stun_responder_free(r);
}

Test(stun_responder, responses_and_indications_get_nothing)
{
	struct stun_responder *r = stun_responder_new();
	struct sockaddr_storage from;
	socklen_t len = addr4(&from, "192.0.2.1", 1);
	uint8_t answer[1500], out[1500];
	struct client c;
	StunMessage ind;
	size_t n;

	client_binding(&c, false);
	n = stun_responder_answer(r, c.req, c.req_len, &from, len, answer, sizeof(answer));
	cr_assert_gt(n, 0);
	/* Our own answer sent back to us: no reflection loop. */
	cr_assert_eq(stun_responder_answer(r, answer, n, &from, len, out, sizeof(out)), 0);
	cr_assert(stun_agent_init_indication(&c.agent, &ind, c.req, sizeof(c.req), STUN_BINDING));
	n = stun_agent_finish_message(&c.agent, &ind, NULL, 0);
	cr_assert_eq(stun_responder_answer(r, c.req, n, &from, len, out, sizeof(out)), 0);
	stun_responder_free(r);
}

static int answer_error_code(struct client *c, size_t req_len)
{
	struct stun_responder *r = stun_responder_new();
	struct sockaddr_storage from;
	socklen_t len = addr4(&from, "192.0.2.1", 1);
	uint8_t out[1500];
	StunMessage resp;
	int code = 0;
	size_t n;

	n = stun_responder_answer(r, c->req, req_len, &from, len, out, sizeof(out));
	cr_assert_gt(n, 0);
	cr_assert_eq(stun_agent_validate(&c->agent, &resp, out, n, NULL, NULL), STUN_VALIDATION_SUCCESS);
	cr_assert_eq(stun_message_get_class(&resp), STUN_ERROR);
	cr_assert_eq(stun_message_find_error(&resp, &code), STUN_MESSAGE_RETURN_SUCCESS);
	stun_responder_free(r);
	return code;
}

Test(stun_responder, other_methods_and_unknown_attributes_get_errors)
{
	struct client c;
	size_t n;

	stun_agent_init(&c.agent, client_known, STUN_COMPATIBILITY_RFC5389, 0);
	cr_assert(stun_agent_init_request(&c.agent, &c.msg, c.req, sizeof(c.req), STUN_ALLOCATE));
	n = stun_agent_finish_message(&c.agent, &c.msg, NULL, 0);
	cr_assert_eq(answer_error_code(&c, n), STUN_ERROR_BAD_REQUEST);

	/* PRIORITY is comprehension-required and means nothing here. */
	cr_assert(stun_agent_init_request(&c.agent, &c.msg, c.req, sizeof(c.req), STUN_BINDING));
	cr_assert_eq(stun_message_append32(&c.msg, STUN_ATTRIBUTE_PRIORITY, 1), STUN_MESSAGE_RETURN_SUCCESS);
	n = stun_agent_finish_message(&c.agent, &c.msg, NULL, 0);
	cr_assert_eq(answer_error_code(&c, n), STUN_ERROR_UNKNOWN_ATTRIBUTE);
}
