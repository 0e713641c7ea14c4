/* The in-memory WireGuard of fake-wg.h. */
#include "config.h"

#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "fake-wg.h"

struct logged_op {
	uint8_t public_key[WG_KEY_LEN];
	struct fake_wg_op op;
};

struct fake_device {
	struct wg_device *dev;
	GArray *log; /* struct logged_op */
};

static GMutex lock;
static GHashTable *devices; /* name -> struct fake_device */

static void fake_device_free(gpointer data)
{
	struct fake_device *d = data;

	wg_device_free(d->dev);
	g_array_unref(d->log);
	g_free(d);
}

/* With the lock held. */
static struct fake_device *find_device(const char *ifname)
{
	return devices ? g_hash_table_lookup(devices, ifname) : NULL;
}

static struct wg_peer *copy_peer(struct wg_device *to, const struct wg_peer *from)
{
	struct wg_peer *p = wg_device_add_peer(to, from->public_key);

	g_assert(p);
	*p = *from;
	p->allowed_ips = NULL;
	p->n_allowed_ips = 0;
	p->set = 0;
	for (size_t i = 0; i < from->n_allowed_ips; i++)
		g_assert(wg_peer_add_allowed_ip(p, &from->allowed_ips[i]) == 0);
	return p;
}

static void drop_peer(struct wg_device *dev, struct wg_peer *p)
{
	size_t i = (size_t)(p - dev->peers);

	free(p->allowed_ips);
	memmove(p, p + 1, (dev->n_peers - i - 1) * sizeof(*p));
	dev->n_peers--;
}

static void log_op(struct fake_device *d, const uint8_t key[WG_KEY_LEN], enum fake_wg_op_kind kind, unsigned set,
		   const struct wg_peer *after)
{
	struct logged_op l = { .op = { .kind = kind, .set = set } };

	memcpy(l.public_key, key, WG_KEY_LEN);
	if (after) {
		l.op.endpoint = after->endpoint;
		l.op.keepalive = after->persistent_keepalive;
		l.op.n_allowed_ips = after->n_allowed_ips;
	}
	g_array_append_val(d->log, l);
}

static int fake_get(const char *ifname, struct wg_device **ret_dev)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = find_device(ifname);
	struct wg_device *copy;

	if (!d)
		return -ENODEV;
	copy = wg_device_new(ifname);
	memcpy(copy->private_key, d->dev->private_key, WG_KEY_LEN);
	memcpy(copy->public_key, d->dev->public_key, WG_KEY_LEN);
	copy->listen_port = d->dev->listen_port;
	copy->backend = WG_BACKEND_USERSPACE;
	for (size_t i = 0; i < d->dev->n_peers; i++)
		copy_peer(copy, &d->dev->peers[i]);
	*ret_dev = copy;
	return 0;
}

static void apply_peer(struct wg_peer *p, const struct wg_peer *c)
{
	if (c->set & WG_PEER_SET_PRESHARED_KEY)
		memcpy(p->preshared_key, c->preshared_key, WG_KEY_LEN);
	if (c->set & WG_PEER_SET_ENDPOINT)
		p->endpoint = c->endpoint;
	if (c->set & WG_PEER_SET_KEEPALIVE)
		p->persistent_keepalive = c->persistent_keepalive;
	if (c->set & WG_PEER_REPLACE_ALLOWED_IPS) {
		g_clear_pointer(&p->allowed_ips, free);
		p->n_allowed_ips = 0;
	}
	for (size_t i = 0; i < c->n_allowed_ips; i++)
		g_assert(wg_peer_add_allowed_ip(p, &c->allowed_ips[i]) == 0);
}

static void set_peer(struct fake_device *d, const struct wg_peer *c)
{
	struct wg_peer *p = wg_device_find_peer(d->dev, c->public_key);
	enum fake_wg_op_kind kind = FAKE_WG_UPDATE;

	if (c->set & WG_PEER_REMOVE) {
		if (p) {
			drop_peer(d->dev, p);
			log_op(d, c->public_key, FAKE_WG_REMOVE, c->set, NULL);
		}
		return;
	}
	if (!p) {
		if (c->set & WG_PEER_UPDATE_ONLY)
			return;
		p = wg_device_add_peer(d->dev, c->public_key);
		g_assert(p);
		kind = FAKE_WG_ADD;
	}
	apply_peer(p, c);
	log_op(d, c->public_key, kind, c->set, p);
}

static int fake_set(const char *ifname, const struct wg_device *changes)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = find_device(ifname);

	if (!d)
		return -ENODEV;
	if (changes->set & WG_DEVICE_SET_PRIVATE_KEY) {
		memcpy(d->dev->private_key, changes->private_key, WG_KEY_LEN);
		wg_key_public_from_private(d->dev->public_key, changes->private_key);
	}
	if (changes->set & WG_DEVICE_SET_LISTEN_PORT)
		d->dev->listen_port = changes->listen_port;
	if (changes->set & WG_DEVICE_REPLACE_PEERS)
		while (d->dev->n_peers)
			drop_peer(d->dev, &d->dev->peers[0]);
	for (size_t i = 0; i < changes->n_peers; i++)
		set_peer(d, &changes->peers[i]);
	return 0;
}

const struct wg_ops fake_wg_ops = {
	.get = fake_get,
	.set = fake_set,
};

void fake_wg_add_device(const char *ifname, const uint8_t private_key[WG_KEY_LEN], uint16_t listen_port)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = g_new0(struct fake_device, 1);

	if (!devices)
		devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, fake_device_free);
	d->dev = wg_device_new(ifname);
	memcpy(d->dev->private_key, private_key, WG_KEY_LEN);
	wg_key_public_from_private(d->dev->public_key, private_key);
	d->dev->listen_port = listen_port;
	d->log = g_array_new(FALSE, TRUE, sizeof(struct logged_op));
	g_hash_table_replace(devices, g_strdup(ifname), d);
}

void fake_wg_reset(void)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);

	g_clear_pointer(&devices, g_hash_table_destroy);
}

void fake_wg_add_peer(const char *ifname, const uint8_t public_key[WG_KEY_LEN], const char *allowed_ip)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = find_device(ifname);
	struct wg_allowed_ip aip;
	struct wg_peer *p;

	g_assert(d);
	g_assert(!wg_device_find_peer(d->dev, public_key));
	p = wg_device_add_peer(d->dev, public_key);
	g_assert(p);
	if (allowed_ip) {
		g_assert(wg_allowed_ip_parse(allowed_ip, &aip));
		g_assert(wg_peer_add_allowed_ip(p, &aip) == 0);
	}
}

void fake_wg_remove_peer(const char *ifname, const uint8_t public_key[WG_KEY_LEN])
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = find_device(ifname);
	struct wg_peer *p = d ? wg_device_find_peer(d->dev, public_key) : NULL;

	g_assert(p);
	drop_peer(d->dev, p);
}

void fake_wg_set_endpoint(const char *ifname, const uint8_t public_key[WG_KEY_LEN], const char *endpoint)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = find_device(ifname);
	struct wg_peer *p = d ? wg_device_find_peer(d->dev, public_key) : NULL;

	g_assert(p);
	g_assert(wg_endpoint_parse(endpoint, &p->endpoint));
}

void fake_wg_add_traffic(const char *ifname, const uint8_t public_key[WG_KEY_LEN], uint64_t tx, uint64_t rx)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = find_device(ifname);
	struct wg_peer *p = d ? wg_device_find_peer(d->dev, public_key) : NULL;

	g_assert(p);
	p->tx_bytes += tx;
	p->rx_bytes += rx;
}

void fake_wg_set_handshake(const char *ifname, const uint8_t public_key[WG_KEY_LEN], int64_t sec)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = find_device(ifname);
	struct wg_peer *p = d ? wg_device_find_peer(d->dev, public_key) : NULL;

	g_assert(p);
	p->last_handshake_sec = sec;
}

bool fake_wg_get_peer(const char *ifname, const uint8_t public_key[WG_KEY_LEN], struct wg_peer *ret)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = find_device(ifname);
	struct wg_peer *p = d ? wg_device_find_peer(d->dev, public_key) : NULL;

	if (!p)
		return false;
	*ret = *p;
	ret->allowed_ips = NULL;
	return true;
}

size_t fake_wg_log(const char *ifname, const uint8_t public_key[WG_KEY_LEN], struct fake_wg_op *ret, size_t max)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = find_device(ifname);
	size_t n = 0;

	for (guint i = 0; d && i < d->log->len; i++) {
		const struct logged_op *l = &g_array_index(d->log, struct logged_op, i);

		if (!wg_key_equal(l->public_key, public_key))
			continue;
		if (n < max)
			ret[n] = l->op;
		n++;
	}
	return n;
}

unsigned fake_wg_count(const char *ifname, const uint8_t public_key[WG_KEY_LEN], enum fake_wg_op_kind kind)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&lock);
	struct fake_device *d = find_device(ifname);
	unsigned n = 0;

	for (guint i = 0; d && i < d->log->len; i++) {
		const struct logged_op *l = &g_array_index(d->log, struct logged_op, i);

		n += wg_key_equal(l->public_key, public_key) && l->op.kind == kind;
	}
	return n;
}
