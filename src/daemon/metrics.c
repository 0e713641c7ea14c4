/* The Prometheus endpoint (metrics.h): a tiny HTTP/1.0 responder on the
 * main loop (one request per connection, a size and a time limit, a cap
 * on connections) and the page, made from the same state as `wice show`. */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "daemon.h"
#include "metrics.h"
#include "mesh.h"
#include "peer.h"
#include "util/source-util.h"

#define REQUEST_MAX 4096
#define REQUEST_TIMEOUT_MS 5000
#define MAX_CONNECTIONS 16

static const double connect_bounds[METRICS_CONNECT_BUCKETS] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };

void metrics_observe_connect(struct wice_counters *c, double seconds)
{
	c->connects++;
	c->connect_seconds_sum += seconds;
	for (unsigned i = 0; i < METRICS_CONNECT_BUCKETS; i++)
		if (seconds <= connect_bounds[i])
			c->connect_buckets[i]++;
}

/* --- the page -------------------------------------------------------------------- */

/* A label value: backslash, quote and newline escaped. */
static void label(GString *out, const char *name, const char *value)
{
	g_string_append_printf(out, "%s%s=\"", out->str[out->len - 1] == '{' ? "" : ",", name);
	for (const char *c = value; *c; c++) {
		if (*c == '\\' || *c == '"')
			g_string_append_c(out, '\\');
		if (*c == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *c);
	}
	g_string_append_c(out, '"');
}

static void header(GString *out, const char *name, const char *type, const char *help)
{
	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void iface_states(GString *out, const struct wice_iface *iface)
{
	static const enum peer_state states[] = { PEER_IDLE, PEER_GATHERING, PEER_CONNECTING, PEER_CONNECTED,
						  PEER_FAILED, PEER_CLOSED };
	unsigned n[G_N_ELEMENTS(states)] = { 0 }, direct = 0, relay = 0;
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct wice_peer *peer = value;

		n[peer->state]++;
		direct += g_strcmp0(peer_reached(peer), "direct") == 0;
		relay += g_strcmp0(peer_reached(peer), "relay") == 0;
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(states); i++) {
		g_string_append(out, "wice_peers{");
		label(out, "interface", iface->name);
		label(out, "state", peer_state_name(states[i]));
		g_string_append_printf(out, "} %u\n", n[i]);
	}
	for (unsigned i = 0; i < 2; i++) {
		g_string_append(out, "wice_paths{");
		label(out, "interface", iface->name);
		label(out, "path", i ? "relay" : "direct");
		g_string_append_printf(out, "} %u\n", i ? relay : direct);
	}
}

static void peer_line(GString *out, const char *metric, const struct wice_iface *iface,
		      const struct wice_peer *peer, uint64_t value)
{
	char key[WG_KEY_B64_LEN];

	wg_key_to_base64(key, peer->public_key);
	g_string_append_printf(out, "%s{", metric);
	label(out, "interface", iface->name);
	label(out, "peer", key);
	g_string_append_printf(out, "} %" G_GUINT64_FORMAT "\n", value);
}

static void per_peer(GString *out, struct wice_daemon *d, const char *metric, int which)
{
	GHashTableIter it, pit;
	gpointer iface, peer;

	g_hash_table_iter_init(&it, d->ifaces);
	while (g_hash_table_iter_next(&it, NULL, &iface)) {
		g_hash_table_iter_init(&pit, ((struct wice_iface *)iface)->peers);
		while (g_hash_table_iter_next(&pit, NULL, &peer)) {
			const struct wice_peer *p = peer;

			peer_line(out, metric, iface, p, which == 0 ? p->restarts : which == 1 ? p->rx_bytes : p->tx_bytes);
		}
	}
}

static void connect_histogram(GString *out, const struct wice_counters *c)
{
	header(out, "wice_connect_seconds", "histogram", "Time from the start of a session to its first selected pair.");
	for (unsigned i = 0; i < METRICS_CONNECT_BUCKETS; i++)
		g_string_append_printf(out, "wice_connect_seconds_bucket{le=\"%g\"} %" G_GUINT64_FORMAT "\n",
				       connect_bounds[i], c->connect_buckets[i]);
	g_string_append_printf(out, "wice_connect_seconds_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n", c->connects);
	g_string_append_printf(out, "wice_connect_seconds_sum %.6f\nwice_connect_seconds_count %" G_GUINT64_FORMAT "\n",
			       c->connect_seconds_sum, c->connects);
}

static void signaling(GString *out, struct wice_daemon *d)
{
	header(out, "wice_signaling_up", "gauge", "Whether a signaling backend can deliver (1) or not (0).");
	for (guint i = 0; i < d->backends->len; i++) {
		g_string_append(out, "wice_signaling_up{");
		label(out, "url", sig_backend_url(g_ptr_array_index(d->backends, i)));
		g_string_append_printf(out, "} %d\n", sig_backend_is_up(g_ptr_array_index(d->backends, i)));
	}
	header(out, "wice_signaling_envelopes_received_total", "counter", "Envelopes received, for any interface.");
	g_string_append_printf(out, "wice_signaling_envelopes_received_total %" G_GUINT64_FORMAT "\n",
			       d->counters.envelopes_received);
	header(out, "wice_signaling_envelopes_sent_total", "counter", "Envelopes published (once per backend).");
	g_string_append_printf(out, "wice_signaling_envelopes_sent_total %" G_GUINT64_FORMAT "\n",
			       d->counters.envelopes_sent);
}

char *metrics_render(struct wice_daemon *d)
{
	GString *out = g_string_new(NULL);
	GHashTableIter it;
	gpointer iface;

	header(out, "wice_peers", "gauge", "Peers of the managed interfaces, by ICE state.");
	header(out, "wice_paths", "gauge", "Connected peers by the kind of their path.");
	g_hash_table_iter_init(&it, d->ifaces);
	while (g_hash_table_iter_next(&it, NULL, &iface))
		iface_states(out, iface);
	header(out, "wice_peer_restarts_total", "counter", "ICE restarts of a peer.");
	per_peer(out, d, "wice_peer_restarts_total", 0);
	header(out, "wice_peer_received_bytes_total", "counter", "Bytes WireGuard received from a peer.");
	per_peer(out, d, "wice_peer_received_bytes_total", 1);
	header(out, "wice_peer_sent_bytes_total", "counter", "Bytes WireGuard sent to a peer.");
	per_peer(out, d, "wice_peer_sent_bytes_total", 2);
	connect_histogram(out, &d->counters);
	signaling(out, d);
	header(out, "wice_mesh_members", "gauge", "Members of the mesh (other than this host).");
	if (d->mesh) {
		g_string_append(out, "wice_mesh_members{");
		label(out, "interface", mesh_ifname(d->mesh));
		g_string_append_printf(out, "} %u\n", mesh_member_count(d->mesh));
	}
	return g_string_free(out, FALSE);
}

/* --- the server ------------------------------------------------------------------ */

struct wice_metrics {
	struct wice_daemon *d;
	GSocketService *service;
	GList *conns; /* struct metrics_conn */
};

/* A connection's own: when the endpoint goes first (the daemon stops),
 * @m is NULL and its cancelled reads and writes finish on their own. */
struct metrics_conn {
	struct wice_metrics *m;
	GSocketConnection *conn;
	GCancellable *cancel;
	GSource *deadline;
	char buf[REQUEST_MAX];
	size_t len;
	char *reply;
};

static void conn_free(struct metrics_conn *c)
{
	source_clear(&c->deadline);
	g_io_stream_close(G_IO_STREAM(c->conn), NULL, NULL);
	g_object_unref(c->conn);
	g_object_unref(c->cancel);
	g_free(c->reply);
	if (c->m)
		c->m->conns = g_list_remove(c->m->conns, c);
	g_free(c);
}

static gboolean on_deadline(gpointer data)
{
	struct metrics_conn *c = data;

	g_cancellable_cancel(c->cancel);
	return G_SOURCE_REMOVE;
}

static void on_written(GObject *src, GAsyncResult *res, gpointer data)
{
	g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, NULL, NULL);
	conn_free(data);
}

static char *reply_for(struct metrics_conn *c)
{
	bool ok = g_str_has_prefix(c->buf, "GET /metrics ") || g_str_has_prefix(c->buf, "GET /metrics?");
	g_autofree char *body = ok ? metrics_render(c->m->d) : g_strdup("not found\n");

	return g_strdup_printf("HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			       ok ? "200 OK" : "404 Not Found", strlen(body), body);
}

static void respond(struct metrics_conn *c)
{
	if (!c->m) {
		conn_free(c);
		return;
	}
	c->reply = reply_for(c);
	g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(c->conn)), c->reply,
					strlen(c->reply), G_PRIORITY_DEFAULT, c->cancel, on_written, c);
}

static void read_more(struct metrics_conn *c);

static void on_read(GObject *src, GAsyncResult *res, gpointer data)
{
	struct metrics_conn *c = data;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, NULL);

	if (n <= 0) {
		conn_free(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (strstr(c->buf, "\r\n\r\n") || strstr(c->buf, "\n\n"))
		respond(c);
	else if (c->len >= sizeof(c->buf) - 1)
		conn_free(c);
	else
		read_more(c);
}

static void read_more(struct metrics_conn *c)
{
	g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(c->conn)), c->buf + c->len,
				  sizeof(c->buf) - 1 - c->len, G_PRIORITY_DEFAULT, c->cancel, on_read, c);
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
	struct wice_metrics *m = data;
	struct metrics_conn *c;

	if (g_list_length(m->conns) >= MAX_CONNECTIONS)
		return FALSE; /* closed at once */
	c = g_new0(struct metrics_conn, 1);
	c->m = m;
	c->conn = g_object_ref(conn);
	c->cancel = g_cancellable_new();
	c->deadline = source_timeout(REQUEST_TIMEOUT_MS, on_deadline, c);
	m->conns = g_list_prepend(m->conns, c);
	read_more(c);
	return TRUE;
}

struct wice_metrics *metrics_new(struct wice_daemon *d, const char *host, uint16_t port, GError **error)
{
	struct wice_metrics *m = g_new0(struct wice_metrics, 1);
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(host);
	g_autoptr(GSocketAddress) sa = addr ? g_inet_socket_address_new(addr, port) : NULL;

	m->d = d;
	m->service = g_socket_service_new();
	if (!sa || !g_socket_listener_add_address(G_SOCKET_LISTENER(m->service), sa, G_SOCKET_TYPE_STREAM,
						  G_SOCKET_PROTOCOL_TCP, NULL, NULL, error)) {
		g_prefix_error(error, "[metrics] listen %s port %u: ", host, port);
		metrics_free(m);
		return NULL;
	}
	g_signal_connect(m->service, "incoming", G_CALLBACK(on_incoming), m);
	g_socket_service_start(m->service);
	return m;
}

void metrics_free(struct wice_metrics *m)
{
	if (!m)
		return;
	for (GList *l = m->conns; l; l = l->next) {
		struct metrics_conn *c = l->data;

		c->m = NULL;
		g_cancellable_cancel(c->cancel);
	}
	g_list_free(m->conns);
	g_socket_service_stop(m->service);
	g_socket_listener_close(G_SOCKET_LISTENER(m->service));
	g_object_unref(m->service);
	g_free(m);
}
