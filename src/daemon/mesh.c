/* The mesh's life cycle: secret, host key, the interface and its
 * addresses, and the parts that run it (mesh.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mesh-internal.h"
#include "util/source-util.h"

#define MESH_ERROR (g_quark_from_static_string("wice-mesh-error"))

static bool read_secret_file(const char *path, uint8_t ret[MESH_SECRET_LEN], GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) read_error = NULL;
	gsize len = 0;
	struct stat st;

	if (!g_file_get_contents(path, &text, &len, &read_error)) {
		g_set_error(error, MESH_ERROR, EIO, "[mesh] secret-file: %s", read_error->message);
		return false;
	}
	bool ok = mesh_secret_parse(text, len, ret);
	explicit_bzero(text, len);
	if (!ok) {
		g_set_error(error, MESH_ERROR, EINVAL,
			    "[mesh] secret-file '%s': not a wice://v1/ secret (make one with `wice mesh init`)", path);
		return false;
	}
	if (stat(path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
		g_warning("mesh secret file %s may be read by group or others (mode %04o): chmod 600 %s", path,
			  (unsigned)(st.st_mode & 07777), path);
	return true;
}

static bool load_secret(const struct wice_mesh_config *cfg, uint8_t ret[MESH_SECRET_LEN], GError **error)
{
	if (cfg->secret_file)
		return read_secret_file(cfg->secret_file, ret, error);
	/* The configuration parser checked it already. */
	return mesh_secret_parse(cfg->secret, strlen(cfg->secret), ret);
}

static void parse_routes(struct wice_mesh *m, char **routes)
{
	for (size_t i = 0; routes && routes[i] && m->n_routes < MESH_MAX_ROUTES; i++) {
		struct wg_allowed_ip aip;
		struct mesh_prefix *p = &m->routes[m->n_routes];

		if (!wg_allowed_ip_parse(routes[i], &aip))
			continue;
		p->family = aip.family;
		p->len = aip.cidr;
		memcpy(p->addr, aip.family == AF_INET ? (const void *)&aip.addr.v4 : (const void *)&aip.addr.v6,
		       aip.family == AF_INET ? 4 : 16);
		m->n_routes++;
	}
}

/* The host name, cut to what announcements carry. */
static char *own_hostname(const char *configured)
{
	const char *name = configured ? configured : g_get_host_name();
	GString *s = g_string_new(NULL);

	for (const char *c = name; *c && s->len < MESH_HOSTNAME_MAX; c++)
		if (g_ascii_isalnum(*c) || strchr("-._", *c))
			g_string_append_c(s, *c);
	if (!s->len)
		g_string_append(s, "host");
	return g_string_free(s, FALSE);
}

static bool configure_device(struct wice_mesh *m, uint16_t listen_port, GError **error)
{
	struct wg_device *dev = wg_device_new(m->ifname);
	int r;

	memcpy(dev->private_key, m->hostkey.wg_private, 32);
	dev->listen_port = listen_port;
	dev->set = WG_DEVICE_SET_PRIVATE_KEY | WG_DEVICE_SET_LISTEN_PORT | WG_DEVICE_REPLACE_PEERS;
	r = m->host.wg->set(m->ifname, dev);
	wg_device_free(dev);
	m->listen_port = listen_port;
	if (r < 0) {
		g_set_error(error, MESH_ERROR, -r, "cannot configure WireGuard interface %s (listen port %u): %s",
			    m->ifname, listen_port, g_strerror(-r));
		return false;
	}
	return true;
}

struct wice_mesh *mesh_new(const struct wice_mesh_config *cfg, const struct iface_host *host, GError **error)
{
	struct wice_mesh *m = g_new0(struct wice_mesh, 1);
	uint8_t secret[MESH_SECRET_LEN];
	struct mesh_keys keys;
	bool ok;

	m->host = *host;
	m->gossip_fd = -1;
	g_strlcpy(m->ifname, cfg->ifname, sizeof(m->ifname));
	m->state_dir = g_strdup(cfg->state_dir);
	m->hostname = own_hostname(cfg->hostname);
	m->hosts_file = g_strdup(cfg->hosts_file);
	parse_routes(m, cfg->advertise_routes);
	mesh_members_init(m);
	if (!load_secret(cfg, secret, error) || !mesh_hostkey_load_or_create(m->state_dir, &m->hostkey, error))
		goto fail;
	/* The listen port of the configured secret, also after a rotation:
	 * members learn ports from announcements, and a port that moved
	 * would cut every path at once. */
	mesh_keys_derive(secret, &keys);
	m->link = mesh_link_open(m->ifname, error);
	ok = m->link && configure_device(m, keys.listen_port, error) && mesh_rotate_load(m, secret, error) &&
	     mesh_gossip_start(m, error);
	mesh_keys_wipe(&keys);
	if (!ok)
		goto fail;
	explicit_bzero(secret, sizeof(secret));
	mesh_members_load_cache(m);
	mesh_discovery_start(m);
	g_message("mesh %s: interface %s (%s)", m->hostname, m->ifname, mesh_link_kind(m->link));
	return m;
fail:
	explicit_bzero(secret, sizeof(secret));
	mesh_free(m);
	return NULL;
}

void mesh_free(struct wice_mesh *m)
{
	if (!m)
		return;
	mesh_discovery_stop(m);
	mesh_gossip_stop(m);
	mesh_rotate_stop(m);
	if (m->link && m->cur)
		mesh_members_save_cache(m);
	mesh_members_remove_all(m);
	mesh_members_free(m);
	mesh_keyset_free(m, m->old);
	mesh_keyset_free(m, m->cur);
	mesh_link_free(m->link);
	mesh_hostkey_wipe(&m->hostkey);
	g_free(m->state_dir);
	g_free(m->hostname);
	g_free(m->hosts_file);
	g_free(m);
}

unsigned mesh_member_count(const struct wice_mesh *m)
{
	return g_hash_table_size(m->members);
}

const char *mesh_ifname(const struct wice_mesh *m)
{
	return m->ifname;
}

void mesh_attach_iface(struct wice_mesh *m, struct wice_iface *iface)
{
	/* The paths its peers found are about to go: the cache keeps them. */
	if (m->iface && !iface)
		mesh_members_save_cache(m);
	m->iface = iface;
}

void mesh_leave(struct wice_mesh *m)
{
	mesh_announce_now(m, MESH_ANNOUNCE_LEAVING, true);
}
