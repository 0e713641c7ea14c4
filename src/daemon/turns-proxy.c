/* TLS to turns: servers on behalf of libnice (turns-proxy.h). */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "turns-proxy.h"

/* One turns: server: a loopback listener and its connections. */
struct turns_proxy {
	char *host;         /* the URL's host: the certificate's identity */
	char *address;      /* where it resolved to */
	uint16_t port;
	GSocketService *service;
	uint16_t local_port;
	bool warned;        /* a refused certificate is logged once */
};

struct turns_proxies {
	GHashTable *by_server; /* "host address port" -> struct turns_proxy */
};

/* One connection of libnice's, carried over TLS. */
struct turns_conn {
	struct turns_proxy *proxy;
	GIOStream *local;
	GIOStream *tls;
};

static void conn_free(struct turns_conn *c)
{
	g_io_stream_close(c->local, NULL, NULL);
	g_object_unref(c->local);
	if (c->tls) {
		g_io_stream_close(c->tls, NULL, NULL);
		g_object_unref(c->tls);
	}
	g_free(c);
}

static void on_spliced(GObject *src, GAsyncResult *res, gpointer data)
{
	g_io_stream_splice_finish(res, NULL);
	conn_free(data);
}

static void on_handshake(GObject *src, GAsyncResult *res, gpointer data)
{
	struct turns_conn *c = data;
	g_autoptr(GError) error = NULL;

	if (!g_tls_connection_handshake_finish(G_TLS_CONNECTION(src), res, &error)) {
		if (!c->proxy->warned)
			g_warning("turns:%s:%u: %s; no relay through it", c->proxy->host, c->proxy->port, error->message);
		c->proxy->warned = true;
		conn_free(c);
		return;
	}
	c->proxy->warned = false;
	g_io_stream_splice_async(c->local, c->tls, G_IO_STREAM_SPLICE_NONE, G_PRIORITY_DEFAULT, NULL, on_spliced, c);
}

static void on_connected(GObject *src, GAsyncResult *res, gpointer data)
{
	struct turns_conn *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketConnection) tcp = g_socket_client_connect_finish(G_SOCKET_CLIENT(src), res, &error);
	g_autoptr(GSocketConnectable) identity = NULL;

	if (!tcp) {
		g_message("turns:%s:%u: %s", c->proxy->host, c->proxy->port, error->message);
		conn_free(c);
		return;
	}
	identity = g_network_address_new(c->proxy->host, c->proxy->port);
	c->tls = g_tls_client_connection_new(G_IO_STREAM(tcp), identity, &error);
	if (!c->tls) {
		g_warning("turns:%s:%u: no TLS: %s", c->proxy->host, c->proxy->port, error->message);
		conn_free(c);
		return;
	}
	g_tls_connection_handshake_async(G_TLS_CONNECTION(c->tls), G_PRIORITY_DEFAULT, NULL, on_handshake, c);
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
	struct turns_proxy *p = data;
	struct turns_conn *c = g_new0(struct turns_conn, 1);
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(p->address);
	g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(addr, p->port);

	c->proxy = p;
	c->local = G_IO_STREAM(g_object_ref(conn));
	g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(sa), NULL, on_connected, c);
	return TRUE;
}

static void proxy_free(gpointer data)
{
	struct turns_proxy *p = data;

	g_socket_service_stop(p->service);
	g_socket_listener_close(G_SOCKET_LISTENER(p->service));
	g_object_unref(p->service);
	g_free(p->host);
	g_free(p->address);
	g_free(p);
}

static struct turns_proxy *proxy_new(const struct wice_ice_server *s)
{
	struct turns_proxy *p = g_new0(struct turns_proxy, 1);
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(lo, 0);
	g_autoptr(GSocketAddress) bound = NULL;
	g_autoptr(GError) error = NULL;

	p->host = g_strdup(s->host);
	p->address = g_strdup(s->address);
	p->port = s->port;
	p->service = g_socket_service_new();
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(p->service), sa, G_SOCKET_TYPE_STREAM,
					   G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error)) {
		g_warning("turns:%s:%u: no loopback listener: %s", s->host, s->port, error->message);
		proxy_free(p);
		return NULL;
	}
	p->local_port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
	g_signal_connect(p->service, "incoming", G_CALLBACK(on_incoming), p);
	g_socket_service_start(p->service);
	return p;
}

struct turns_proxies *turns_proxies_new(void)
{
	struct turns_proxies *p = g_new0(struct turns_proxies, 1);

	p->by_server = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, proxy_free);
	return p;
}

void turns_proxies_free(struct turns_proxies *p)
{
	if (!p)
		return;
	g_hash_table_destroy(p->by_server);
	g_free(p);
}

static void update_settings(struct turns_proxies *p, struct wice_iface_settings *settings)
{
	for (size_t i = 0; i < settings->n_ice_servers; i++) {
		struct wice_ice_server *s = &settings->ice_servers[i];
		g_autofree char *key = NULL;
		struct turns_proxy *proxy;

		if (s->scheme != WICE_ICE_TURNS || !*s->address)
			continue;
		key = g_strdup_printf("%s %s %u", s->host, s->address, s->port);
		proxy = g_hash_table_lookup(p->by_server, key);
		if (!proxy && (proxy = proxy_new(s)))
			g_hash_table_insert(p->by_server, g_steal_pointer(&key), proxy);
		s->local_port = proxy ? proxy->local_port : 0;
	}
}

void turns_proxies_update(struct turns_proxies *p, struct wice_config *cfg)
{
	update_settings(p, &cfg->defaults);
	for (size_t i = 0; i < cfg->n_ifaces; i++)
		update_settings(p, &cfg->ifaces[i].settings);
}
