/* The signaling backend front: parses the URL, picks the implementation by
 * scheme, keeps what every backend has (URL, callbacks, up state) and
 * forwards the public calls.  See sig-backend.h and backend-impl.h. */
#include "config.h"

#define G_LOG_DOMAIN "wice-signaling"

#include <errno.h>
#include <string.h>

#include "backend-impl.h"
#include "signaling/sig-envelope.h"

struct scheme {
	const char *scheme;
	const struct sig_backend_ops *ops;
};

static const struct scheme schemes[] = {
	{ "mcast", &sig_backend_mcast_ops },
	{ "http", &sig_backend_http_ops },
	{ "https", &sig_backend_http_ops },
	{ "etcd", &sig_backend_etcd_ops },
	{ "etcds", &sig_backend_etcd_ops },
};

static const struct sig_backend_ops *ops_for(const char *scheme)
{
	for (size_t i = 0; i < G_N_ELEMENTS(schemes); i++)
		if (g_ascii_strcasecmp(schemes[i].scheme, scheme) == 0)
			return schemes[i].ops;
	return NULL;
}

/* NULL without an error for a backend that reads its URL itself.  GUri
 * quotes the bad part (a port out of range, a host it cannot read)
 * in its own message; we add the whole URL. */
static GUri *parse_url(const char *url, const struct sig_backend_ops **ret_ops, GError **error)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *scheme = NULL;
	GUri *uri;

	scheme = g_uri_parse_scheme(url);
	if (!scheme) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "bad signaling URL '%s': no scheme (expected mcast://, http://, https://, etcd:// or etcds://)",
			    url);
		return NULL;
	}
	*ret_ops = ops_for(scheme);
	if (!*ret_ops) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "unknown signaling URL scheme '%s' in '%s' (expected mcast, http, https, etcd or etcds)",
			    scheme, url);
		return NULL;
	}
	if ((*ret_ops)->own_url)
		return NULL;
	uri = g_uri_parse(url, G_URI_FLAGS_NONE, &err);
	if (!uri)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad signaling URL '%s': %s", url,
			    err->message);
	return uri;
}

static void options_copy(struct sig_backend_options *to, const struct sig_backend_options *from)
{
	if (!from)
		return;
	to->tls_ca = g_strdup(from->tls_ca);
	to->tls_cert = g_strdup(from->tls_cert);
	to->tls_key = g_strdup(from->tls_key);
}

/* The struct and what backend.c owns in it. */
static void backend_release(struct sig_backend *b)
{
	g_main_context_unref(b->context);
	g_free((char *)b->options.tls_ca);
	g_free((char *)b->options.tls_cert);
	g_free((char *)b->options.tls_key);
	g_free(b->url);
	g_free(b);
}

struct sig_backend *sig_backend_new_with(const char *url, const struct sig_backend_options *options,
					 const struct sig_backend_callbacks *cb, GError **error)
{
	const struct sig_backend_ops *ops = NULL;
	g_autoptr(GUri) uri = NULL;
	struct sig_backend *b;

	g_return_val_if_fail(url && cb, NULL);
	uri = parse_url(url, &ops, error);
	if (!uri && (!ops || !ops->own_url))
		return NULL;
	b = g_malloc0(ops->size);
	b->ops = ops;
	b->url = g_strdup(url);
	b->cb = *cb;
	b->context = g_main_context_ref_thread_default();
	options_copy(&b->options, options);
	if (!ops->init(b, uri, error)) {
		backend_release(b);
		return NULL;
	}
	return b;
}

struct sig_backend *sig_backend_new(const char *url, const struct sig_backend_callbacks *cb, GError **error)
{
	return sig_backend_new_with(url, NULL, cb, error);
}

void sig_backend_free(struct sig_backend *b)
{
	if (!b)
		return;
	b->ops->fini(b);
	backend_release(b);
}

int sig_backend_publish(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN], const uint8_t *data,
			size_t len, const struct sig_route *via)
{
	if (len == 0)
		return -EINVAL;
	if (len > SIG_ENVELOPE_MAX)
		return -EMSGSIZE;
	return b->ops->publish(b, id, data, len, via && via->backend == b ? via : NULL);
}

int sig_backend_subscribe(struct sig_backend *b, const struct sig_subscription *sub)
{
	return b->ops->subscribe(b, sub);
}

void sig_backend_unsubscribe(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN])
{
	b->ops->unsubscribe(b, id);
}

bool sig_backend_is_up(const struct sig_backend *b)
{
	return b->up;
}

const char *sig_backend_url(const struct sig_backend *b)
{
	return b->url;
}

/* --- for the implementations ---------------------------------------------- */

void sig_backend_set_state(struct sig_backend *b, bool up, const char *reason)
{
	if (b->reported && b->up == up)
		return;
	b->up = up;
	b->reported = true;
	if (b->cb.state_changed)
		b->cb.state_changed(b, up, up ? NULL : reason, b->cb.userdata);
}

void sig_backend_deliver(struct sig_backend *b, const uint8_t *data, size_t len, const struct sig_route *from)
{
	if (b->cb.receive)
		b->cb.receive(b, data, len, from, b->cb.userdata);
}

bool sig_backend_excludes(struct sig_backend *b, const char *ifname)
{
	return b->cb.exclude_interface && b->cb.exclude_interface(ifname, b->cb.userdata);
}
