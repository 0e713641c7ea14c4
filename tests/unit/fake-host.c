/* The two-interface world of fake-host.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake-host.h"
#include "signaling/sig-relay.h"
#include "util/source-util.h"

/* Host candidates only, and the user proxy for every pair. */
static const char config_text[] = "[ice]\ncandidate-types = host\n[proxy]\nmode = user\n";

/* --- the host table ------------------------------------------------------- */

static void fake_event_free(gpointer data)
{
	struct fake_event *e = data;

	g_free(e->old_state);
	g_free(e->state);
	g_free(e->reason);
	g_free(e->proxy);
	g_free(e->local_type);
	g_free(e->local_addr);
	g_free(e->remote_addr);
	g_free(e);
}

static void host_emit(void *host, const struct wice_event *ev)
{
	struct fake_node *n = host;
	struct fake_event *e = g_new0(struct fake_event, 1);

	e->type = ev->type;
	e->old_state = g_strdup(ev->old_state);
	e->state = g_strdup(ev->state);
	e->reason = g_strdup(ev->reason);
	e->proxy = g_strdup(ev->proxy);
	e->local_type = g_strdup(ev->local.type);
	e->local_addr = g_strdup(ev->local.address);
	e->remote_addr = g_strdup(ev->remote.address);
	e->local_port = ev->local.port;
	e->remote_port = ev->remote.port;
	g_ptr_array_add(n->events, e);
}

struct delivery {
	struct fake_world *world;
	struct fake_node *to;
	GBytes *data;
	GSource *source;
};

static void delivery_free(gpointer data)
{
	struct delivery *d = data;

	g_bytes_unref(d->data);
	g_free(d);
}

static gboolean on_deliver(gpointer data)
{
	struct delivery *d = data;
	size_t len;
	const uint8_t *buf = g_bytes_get_data(d->data, &len);

	d->to->other->link.delivered++;
	if (d->to->iface)
		iface_receive_envelope(d->to->iface, buf, len, NULL);
	g_ptr_array_remove_fast(d->world->in_flight, d->source);
	return G_SOURCE_REMOVE;
}

static void send_later(struct fake_node *from, const uint8_t *data, size_t len)
{
	struct fake_world *w = from->world;
	struct delivery *d = g_new0(struct delivery, 1);
	unsigned delay = from->link.delay_ms;

	if (from->link.jitter_ms)
		delay += (unsigned)g_rand_int_range(w->rand, 0, (gint32)from->link.jitter_ms + 1);
	d->world = w;
	d->to = from->other;
	d->data = g_bytes_new(data, len);
	d->source = g_timeout_source_new(delay);
	g_source_set_callback(d->source, on_deliver, d, delivery_free);
	g_source_attach(d->source, NULL);
	g_ptr_array_add(w->in_flight, d->source);
}

/* Reads what a node sends with the harness's keys: what kind of message. */
static struct sig_pair *lookup_other(void *data, const uint8_t peer_public[SIG_KEY_LEN])
{
	struct fake_node *to = data;

	return memcmp(peer_public, to->other->public_key, 32) == 0 ? &to->pair : NULL;
}

bool fake_open(const struct fake_node *from, const uint8_t *data, size_t len, struct sig_msg *ret)
{
	uint8_t plain[SIG_PLAIN_MAX];
	size_t plain_len;
	struct sig_pair *pair;

	return sig_envelope_open(&from->other->identity, lookup_other, from->other, data, len, plain, sizeof(plain),
				 &plain_len, &pair) == 0 &&
	       sig_msg_decode(plain, plain_len, ret) == 0;
}

static void note_message(struct fake_node *from, const uint8_t *data, size_t len)
{
	struct sig_msg msg;

	if (!fake_open(from, data, len, &msg)) {
		from->misaddressed++;
		return;
	}
	from->offers_sent += msg.has_offer;
	from->goodbyes_sent += msg.goodbye;
	sig_msg_wipe(&msg);
}

static void host_publish(void *host, const uint8_t relay_id[RELAY_ID_LEN], const uint8_t *data, size_t len,
			 const struct sig_route *via)
{
	struct fake_node *n = host;
	uint8_t expected[RELAY_ID_LEN];

	sig_relay_send_id(&n->pair, expected);
	if (memcmp(relay_id, expected, RELAY_ID_LEN) != 0)
		n->misaddressed++;
	note_message(n, data, len);
	n->link.sent++;
	if (n->link.drop) {
		n->link.dropped++;
		return;
	}
	if (n->link.hold) {
		g_ptr_array_add(n->link.held, g_bytes_new(data, len));
		return;
	}
	send_later(n, data, len);
	if (n->link.duplicate)
		send_later(n, data, len);
}

static void host_subscribe(void *host, const struct sig_subscription *sub)
{
	struct fake_node *n = host;
	struct sig_subscription expected;

	sig_relay_receive_id(&n->pair, expected.id, expected.secret);
	if (memcmp(sub->id, expected.id, RELAY_ID_LEN) != 0)
		n->misaddressed++;
	n->subscriptions++;
}

static void host_unsubscribe(void *host, const uint8_t relay_id[RELAY_ID_LEN])
{
	struct fake_node *n = host;

	n->subscriptions--;
}

static const struct wice_iface_settings *host_settings(void *host, const char *ifname)
{
	struct fake_node *n = host;

	return wice_config_iface(n->config, ifname);
}

static void add_address(GArray *ret, uint32_t addr)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(addr);
	g_array_append_val(ret, ss);
}

static void host_local_addresses(void *host, GArray *ret)
{
	struct fake_node *n = host;

	add_address(ret, INADDR_LOOPBACK);
	if (n->extra_address)
		add_address(ret, n->extra_address);
}

static struct nft_proxy *host_nft(void *host)
{
	return NULL;
}

static const struct iface_host_ops fake_host_ops = {
	.emit = host_emit,
	.publish = host_publish,
	.subscribe = host_subscribe,
	.unsubscribe = host_unsubscribe,
	.settings = host_settings,
	.local_addresses = host_local_addresses,
	.nft = host_nft,
};

/* --- setting up ------------------------------------------------------------- */

int fake_udp_socket(uint16_t *ret_port)
{
	union wg_sockaddr sa = { .in = { .sin_family = AF_INET } };
	socklen_t len = sizeof(sa.in);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	g_assert(fd >= 0);
	sa.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert(bind(fd, &sa.sa, len) == 0);
	g_assert(getsockname(fd, &sa.sa, &len) == 0);
	*ret_port = ntohs(sa.in.sin_port);
	return fd;
}

static void node_init(struct fake_world *w, struct fake_node *n, const char *name, struct fake_node *other)
{
	g_autoptr(GError) error = NULL;

	n->world = w;
	n->other = other;
	g_strlcpy(n->name, name, sizeof(n->name));
	wg_key_generate_private(n->private_key);
	wg_key_public_from_private(n->public_key, n->private_key);
	g_assert(sig_identity_init(&n->identity, n->private_key) == 0);
	n->wg_fd = fake_udp_socket(&n->listen_port);
	n->config = wice_config_parse("test.conf", config_text, strlen(config_text), &error);
	g_assert_no_error(error);
	n->events = g_ptr_array_new_with_free_func(fake_event_free);
	n->link.held = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	fake_wg_add_device(n->name, n->private_key, n->listen_port);
}

static gboolean keep_ticking(gpointer data)
{
	return G_SOURCE_CONTINUE;
}

void fake_world_init(struct fake_world *w)
{
	memset(w, 0, sizeof(*w));
	g_assert(wg_key_init() == 0);
	node_init(w, &w->a, "wtA", &w->b);
	node_init(w, &w->b, "wtB", &w->a);
	g_assert(sig_pair_init(&w->a.pair, &w->a.identity, w->b.public_key) == 0);
	g_assert(sig_pair_init(&w->b.pair, &w->b.identity, w->a.public_key) == 0);
	fake_wg_add_peer(w->a.name, w->b.public_key, "10.0.0.2/32");
	fake_wg_add_peer(w->b.name, w->a.public_key, "10.0.0.1/32");
	w->in_flight = g_ptr_array_new_with_free_func((GDestroyNotify)g_source_unref);
	w->rand = g_rand_new_with_seed(1);
	/* Cross-thread writes (a WireGuard worker) do not wake the loop. */
	w->tick = g_timeout_source_new(10);
	g_source_set_callback(w->tick, keep_ticking, NULL, NULL);
	g_source_attach(w->tick, NULL);
}

static struct wice_iface *start_node(struct fake_node *n)
{
	struct iface_host host = { &fake_host_ops, n, &fake_wg_ops };

	return iface_new(&host, n->name);
}

void fake_world_start(struct fake_world *w)
{
	w->a.iface = start_node(&w->a);
	w->b.iface = start_node(&w->b);
}

static void node_free(struct fake_node *n)
{
	g_clear_pointer(&n->config, wice_config_free);
	g_clear_pointer(&n->events, g_ptr_array_unref);
	g_clear_pointer(&n->link.held, g_ptr_array_unref);
	sig_pair_wipe(&n->pair);
	sig_identity_wipe(&n->identity);
	wg_key_wipe(n->private_key);
	if (n->wg_fd >= 0)
		close(n->wg_fd);
}

void fake_world_free(struct fake_world *w)
{
	/* Their goodbyes still pass through the harness. */
	g_clear_pointer(&w->a.iface, iface_free);
	g_clear_pointer(&w->b.iface, iface_free);
	node_free(&w->a);
	node_free(&w->b);
	for (guint i = 0; i < w->in_flight->len; i++)
		g_source_destroy(g_ptr_array_index(w->in_flight, i));
	g_ptr_array_unref(w->in_flight);
	/* Agents close asynchronously (TURN allocations); let them. */
	fake_run(20);
	source_clear(&w->tick);
	g_rand_free(w->rand);
	fake_wg_reset();
}

/* --- looking ---------------------------------------------------------------- */

struct wice_peer *fake_peer(const struct fake_node *n)
{
	return n->iface ? iface_find_peer(n->iface, n->other->public_key) : NULL;
}

bool fake_peer_in(const struct fake_node *n, enum peer_state state)
{
	struct wice_peer *p = fake_peer(n);

	return p && p->state == state;
}

bool fake_world_connected(const struct fake_world *w)
{
	struct wice_peer *a = fake_peer(&w->a), *b = fake_peer(&w->b);

	return a && b && a->state == PEER_CONNECTED && b->state == PEER_CONNECTED &&
	       a->remote_session == b->session.id && b->remote_session == a->session.id;
}

struct fake_node *fake_controlling(struct fake_world *w)
{
	return memcmp(w->a.public_key, w->b.public_key, 32) < 0 ? &w->a : &w->b;
}

static bool event_matches(const struct fake_event *e, enum wice_event_type type, const char *state,
			  const char *reason)
{
	return e->type == type && (!state || g_strcmp0(e->state, state) == 0) &&
	       (!reason || (e->reason && strstr(e->reason, reason)));
}

unsigned fake_count_events(const struct fake_node *n, enum wice_event_type type, const char *state,
			   const char *reason)
{
	unsigned count = 0;

	for (guint i = 0; i < n->events->len; i++)
		count += event_matches(g_ptr_array_index(n->events, i), type, state, reason);
	return count;
}

int fake_find_event(const struct fake_node *n, enum wice_event_type type, const char *state, const char *reason)
{
	for (guint i = 0; i < n->events->len; i++)
		if (event_matches(g_ptr_array_index(n->events, i), type, state, reason))
			return (int)i;
	return -1;
}

/* --- acting ----------------------------------------------------------------- */

void fake_inject(struct fake_node *from, const struct sig_msg *msg)
{
	uint8_t buf[SIG_ENVELOPE_MAX];
	size_t len = 0;

	g_assert(sig_envelope_seal_msg(&from->identity, &from->pair, msg, buf, sizeof(buf), &len) == 0);
	iface_receive_envelope(from->other->iface, buf, len, NULL);
}

void fake_release(struct fake_node *from)
{
	from->link.hold = false;
	for (guint i = 0; i < from->link.held->len; i++) {
		size_t len;
		const uint8_t *data = g_bytes_get_data(g_ptr_array_index(from->link.held, i), &len);

		send_later(from, data, len);
	}
	g_ptr_array_set_size(from->link.held, 0);
}

void fake_wg_send(const struct fake_node *n, const union wg_sockaddr *to, const uint8_t *buf, size_t len)
{
	g_assert(sendto(n->wg_fd, buf, len, 0, &to->sa, wg_sockaddr_len(to)) == (ssize_t)len);
}

ssize_t fake_wg_receive(const struct fake_node *n, uint8_t *buf, size_t size)
{
	return recv(n->wg_fd, buf, size, 0);
}

void fake_run(unsigned ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;

	while (g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
}
