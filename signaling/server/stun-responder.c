/* STUN Binding responder on libnice's codec; see stun-responder.h. */
#include "config.h"

#define G_LOG_DOMAIN "wice-server"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <glib-unix.h>
#include <stun/stunagent.h>

#include "stun-responder.h"
#include "util/source-util.h"

/* Datagrams handled per wake-up, so a flood on one socket cannot starve
 * the HTTP side of the main loop. */
#define STUN_BATCH 64
/* Anything a Binding request needs fits; larger datagrams are not ours. */
#define STUN_BUF 1500

struct stun_listener {
	GSocket *socket;
	GSource *source;
	struct stun_responder *owner;
};

struct stun_responder {
	StunAgent agent;
	StunAgent agent_fp; /* answers requests that carry a FINGERPRINT */
	GPtrArray *listeners; /* struct stun_listener */
};

/* No comprehension-required attribute means anything to a plain Binding
 * responder; requests carrying one get a 420 as RFC 5389 asks. */
static const uint16_t known_attributes[] = { 0 };

static void listener_free(gpointer data)
{
	struct stun_listener *l = data;

	source_free(l->source);
	g_object_unref(l->socket);
	g_free(l);
}

struct stun_responder *stun_responder_new(void)
{
	struct stun_responder *r = g_new0(struct stun_responder, 1);

	stun_agent_init(&r->agent, known_attributes, STUN_COMPATIBILITY_RFC5389,
			STUN_AGENT_USAGE_IGNORE_CREDENTIALS);
	stun_agent_init(&r->agent_fp, known_attributes, STUN_COMPATIBILITY_RFC5389,
			STUN_AGENT_USAGE_IGNORE_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
	r->listeners = g_ptr_array_new_with_free_func(listener_free);
	return r;
}

void stun_responder_free(struct stun_responder *r)
{
	if (!r)
		return;
	g_ptr_array_unref(r->listeners);
	g_free(r);
}

/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; the client
 * must see its IPv4 address in an IPv4 XOR-MAPPED-ADDRESS. */
static socklen_t unmap_v4(const struct sockaddr_storage *from, socklen_t from_len,
			  struct sockaddr_storage *out)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)from;
	struct sockaddr_in *in4 = (struct sockaddr_in *)out;

	memcpy(out, from, from_len);
	if (from->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
		return from_len;
	memset(out, 0, sizeof(*out));
	in4->sin_family = AF_INET;
	in4->sin_port = in6->sin6_port;
	memcpy(&in4->sin_addr, &in6->sin6_addr.s6_addr[12], 4);
	return sizeof(*in4);
}

/* Like coturn, answer with a FINGERPRINT when the request had one: agents
 * that multiplex STUN with media on one socket rely on it. */
static StunAgent *answering_agent(struct stun_responder *r, const StunMessage *request)
{
	if (stun_message_has_attribute(request, STUN_ATTRIBUTE_FINGERPRINT))
		return &r->agent_fp;
	return &r->agent;
}

static size_t answer_binding(StunAgent *agent, const StunMessage *request,
			     const struct sockaddr_storage *from, socklen_t from_len, uint8_t *out,
			     size_t out_size)
{
	struct sockaddr_storage mapped;
	socklen_t mapped_len = unmap_v4(from, from_len, &mapped);
	StunMessage response;

	if (!stun_agent_init_response(agent, &response, out, out_size, request) ||
	    stun_message_append_xor_addr(&response, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, &mapped,
					 mapped_len) != STUN_MESSAGE_RETURN_SUCCESS)
		return 0;
	return stun_agent_finish_message(agent, &response, NULL, 0);
}

size_t stun_responder_answer(struct stun_responder *r, const uint8_t *req, size_t len,
			     const struct sockaddr_storage *from, socklen_t from_len, uint8_t *out,
			     size_t out_size)
{
	StunMessage request, response;
	StunValidationStatus status;
	StunAgent *agent;

	if (from_len > sizeof(struct sockaddr_storage))
		return 0;
	/* Requests without the RFC 5389 magic cookie (RFC 3489) fail here. */
	status = stun_agent_validate(&r->agent, &request, req, len, NULL, NULL);
	if (status != STUN_VALIDATION_SUCCESS && status != STUN_VALIDATION_UNKNOWN_REQUEST_ATTRIBUTE)
		return 0;
	if (stun_message_get_class(&request) != STUN_REQUEST)
		return 0;
	agent = answering_agent(r, &request);
	if (status == STUN_VALIDATION_UNKNOWN_REQUEST_ATTRIBUTE)
		return stun_agent_build_unknown_attributes_error(agent, &response, out, out_size, &request);
	if (stun_message_get_method(&request) == STUN_BINDING)
		return answer_binding(agent, &request, from, from_len, out, out_size);
	if (!stun_agent_init_error(agent, &response, out, out_size, &request, STUN_ERROR_BAD_REQUEST))
		return 0;
	return stun_agent_finish_message(agent, &response, NULL, 0);
}

static void answer_one(struct stun_listener *l, int fd, const uint8_t *buf, size_t len,
		       const struct sockaddr_storage *from, socklen_t from_len)
{
	uint8_t out[STUN_BUF];
	size_t n;

	n = stun_responder_answer(l->owner, buf, len, from, from_len, out, sizeof(out));
	/* A lost answer is retransmitted by the client; never wait here. */
	if (n > 0 && sendto(fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)from,
			    from_len) < 0)
		g_debug("STUN answer not sent: %s", g_strerror(errno));
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct stun_listener *l = data;
	uint8_t buf[STUN_BUF];

	for (int i = 0; i < STUN_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t from_len = sizeof(from);
		ssize_t n;

		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from,
			     &from_len);
		if (n < 0)
			break; /* EAGAIN, or an ICMP error queued for an earlier answer */
		if ((size_t)n <= sizeof(buf))
			answer_one(l, fd, buf, n, &from, from_len);
	}
	return G_SOURCE_CONTINUE;
}

static GSocket *bind_udp(GInetSocketAddress *addr, GError **error)
{
	GSocketFamily family = g_socket_address_get_family(G_SOCKET_ADDRESS(addr));
	g_autoptr(GSocket) sock = NULL;

	sock = g_socket_new(family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
	if (!sock)
		return NULL;
	if (family == G_SOCKET_FAMILY_IPV6 &&
	    !g_socket_set_option(sock, IPPROTO_IPV6, IPV6_V6ONLY, 1, error))
		return NULL;
	if (!g_socket_bind(sock, G_SOCKET_ADDRESS(addr), TRUE, error))
		return NULL;
	return g_steal_pointer(&sock);
}

bool stun_responder_listen(struct stun_responder *r, GInetSocketAddress *addr, GError **error)
{
	struct stun_listener *l;
	GSocket *sock;

	sock = bind_udp(addr, error);
	if (!sock)
		return false;
	l = g_new0(struct stun_listener, 1);
	l->socket = sock;
	l->owner = r;
	l->source = source_attach(g_unix_fd_source_new(g_socket_get_fd(sock), G_IO_IN), NULL,
				  G_SOURCE_FUNC(on_readable), l);
	g_ptr_array_add(r->listeners, l);
	return true;
}
