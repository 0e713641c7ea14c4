/* What the control requests do to the daemon: the handler table the
 * daemon gives the control socket (control.h).  Each command makes a reply
 * body that starts with "ok": true, or an error for the client.  Access
 * was checked before; the request itself was validated by
 * control_request_parse. */
#include "config.h"

#include <errno.h>
#include <sodium.h>

#include "control/control.h"
#include "daemon.h"
#include "mesh.h"
#include "mesh/mesh-secret.h"
#include "peer.h"
#include "util/source-util.h"

static JsonNode *ok_body(const char *member, const char *value)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, TRUE);
	if (member) {
		json_builder_set_member_name(b, member);
		json_builder_add_string_value(b, value);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static struct wice_iface *find_iface(struct wice_daemon *d, const char *ifname, GError **error)
{
	struct wice_iface *iface = daemon_find_iface(d, ifname);

	if (!iface)
		g_set_error(error, CONTROL_ERROR, ENODEV, "wice does not manage interface '%s'", ifname);
	return iface;
}

static JsonNode *do_restart(struct wice_daemon *d, const struct control_request *req, GError **error)
{
	struct wice_iface *iface = find_iface(d, req->interface, error);
	struct wice_peer *peer = iface ? iface_find_peer(iface, req->peer) : NULL;
	char key[WG_KEY_B64_LEN];

	if (!iface)
		return NULL;
	if (!peer) {
		wg_key_to_base64(key, req->peer);
		g_set_error(error, CONTROL_ERROR, ENOENT, "interface '%s' has no peer '%s'", req->interface, key);
		return NULL;
	}
	peer_restart_now(peer);
	return ok_body(NULL, NULL);
}

/* --- show and sync: answered once the devices were read afresh ------------- */

/* `wice show` never shows counters a second old, and `wice sync` means
 * "read the devices now": both wait for a device read of every interface
 * they name, which runs on the interface's WireGuard worker.  A device
 * that does not answer holds them up for SYNC_WAIT_MS at most: show then
 * answers with what it knows (the interface marked stalled), sync with an
 * error.  A device known to be stalled already is not waited for. */
#define SYNC_WAIT_MS IFACE_STALLED_MS

struct sync_wait {
	struct wice_daemon *d;
	struct control_request req;
	struct control_call *call; /* NULL once answered */
	unsigned pending;          /* reads not back yet */
	GError *failed;            /* the first read that failed */
	GSource *deadline;
};

static void sync_wait_answer(struct sync_wait *w)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) body = NULL;

	if (w->req.command == CONTROL_SHOW)
		body = status_build(w->d, *w->req.interface ? w->req.interface : NULL,
				    w->req.has_peer ? w->req.peer : NULL, &error);
	else if (w->failed)
		error = g_error_copy(w->failed);
	else
		body = ok_body(NULL, NULL);
	control_call_reply(g_steal_pointer(&w->call), body, error);
}

static void sync_wait_release(struct sync_wait *w)
{
	if (w->pending || w->call)
		return;
	source_clear(&w->deadline);
	g_clear_error(&w->failed);
	g_free(w);
}

static gboolean on_sync_deadline(gpointer data)
{
	struct sync_wait *w = data;

	g_clear_pointer(&w->deadline, g_source_unref);
	if (!w->failed)
		g_set_error(&w->failed, CONTROL_ERROR, ETIMEDOUT, "WireGuard did not answer within %u ms",
			    SYNC_WAIT_MS);
	sync_wait_answer(w);
	sync_wait_release(w);
	return G_SOURCE_REMOVE;
}

struct sync_one {
	struct sync_wait *wait;
	char ifname[IFNAMSIZ];
};

static void sync_wait_done_one(struct sync_wait *w, int r, const char *ifname)
{
	if (r < 0 && !w->failed)
		g_set_error(&w->failed, CONTROL_ERROR, -r, "cannot read interface '%s': %s", ifname, g_strerror(-r));
	w->pending--;
	if (!w->pending && w->call)
		sync_wait_answer(w);
	sync_wait_release(w);
}

static void on_synced(int r, void *data)
{
	struct sync_one *one = data;

	sync_wait_done_one(one->wait, r, one->ifname);
	g_free(one);
}

static void sync_wait_add(struct sync_wait *w, struct wice_iface *iface)
{
	struct sync_one *one;

	if (iface_device_stalled(iface)) {
		if (!w->failed)
			g_set_error(&w->failed, CONTROL_ERROR, ETIMEDOUT,
				    "interface '%s': WireGuard did not answer within %u ms", iface->name, SYNC_WAIT_MS);
		return;
	}
	one = g_new0(struct sync_one, 1);
	one->wait = w;
	g_strlcpy(one->ifname, iface->name, sizeof(one->ifname));
	w->pending++;
	iface_sync(iface, on_synced, one);
}

static void sync_then_answer(struct wice_daemon *d, const struct control_request *req, struct control_call *call)
{
	g_autoptr(GList) ifaces = NULL;
	g_autoptr(GError) error = NULL;
	struct wice_iface *one = NULL;
	struct sync_wait *w;

	if (*req->interface && !(one = find_iface(d, req->interface, &error))) {
		control_call_reply(call, NULL, error);
		return;
	}
	w = g_new0(struct sync_wait, 1);
	w->d = d;
	w->req = *req;
	w->call = call;
	ifaces = one ? g_list_prepend(NULL, one) : g_hash_table_get_values(d->ifaces);
	w->deadline = source_timeout(SYNC_WAIT_MS, on_sync_deadline, w);
	w->pending++; /* until every read is asked for */
	for (GList *l = ifaces; l; l = l->next)
		sync_wait_add(w, l->data);
	sync_wait_done_one(w, 0, NULL);
}

static JsonNode *do_reload(struct wice_daemon *d, GError **error)
{
	g_autoptr(GError) why = NULL;

	if (!daemon_reload(d, &why)) {
		g_warning("reload failed, keeping the old configuration: %s", why->message);
		g_set_error(error, CONTROL_ERROR, EINVAL, "reload failed, keeping the old configuration: %s",
			    why->message);
		return NULL;
	}
	return ok_body("path", d->config_path);
}

static JsonNode *do_mesh_leave(struct wice_daemon *d, GError **error)
{
	g_autofree char *ifname = d->mesh ? g_strdup(mesh_ifname(d->mesh)) : NULL;

	return daemon_mesh_leave(d, error) ? ok_body("interface", ifname) : NULL;
}

/* The secret came over the socket; it is checked here, where the mesh
 * code is, and never quoted back. */
static JsonNode *do_mesh_rotate(struct wice_daemon *d, const struct control_request *req, GError **error)
{
	uint8_t secret[MESH_SECRET_LEN];
	bool ok;

	if (!d->mesh) {
		g_set_error(error, CONTROL_ERROR, ENOENT, "no mesh: the configuration has no [mesh] section");
		return NULL;
	}
	if (!mesh_secret_parse(req->secret, strlen(req->secret), secret)) {
		g_set_error(error, CONTROL_ERROR, EINVAL, "the new secret is not a wice://v1/ secret");
		return NULL;
	}
	ok = mesh_rotate(d->mesh, secret, req->grace_s, error);
	sodium_memzero(secret, sizeof(secret));
	return ok ? ok_body("interface", mesh_ifname(d->mesh)) : NULL;
}

static JsonNode *run(struct wice_daemon *d, const struct control_request *req, GError **error)
{
	const char *ifname = *req->interface ? req->interface : NULL;

	switch (req->command) {
	case CONTROL_ADD:
		return daemon_add_iface_by_operator(d, ifname, error) ? ok_body(NULL, NULL) : NULL;
	case CONTROL_DELETE:
		return daemon_remove_iface_by_operator(d, ifname, error) ? ok_body(NULL, NULL) : NULL;
	case CONTROL_RESTART:
		return do_restart(d, req, error);
	case CONTROL_RELOAD:
		return do_reload(d, error);
	case CONTROL_MESH_LEAVE:
		return do_mesh_leave(d, error);
	case CONTROL_MESH_ROTATE:
		return do_mesh_rotate(d, req, error);
	case CONTROL_SHOW:
	case CONTROL_SYNC:
	case CONTROL_MONITOR:
	case CONTROL_PING:
		break; /* the connection's business, see control.c */
	}
	g_set_error(error, CONTROL_ERROR, EINVAL, "command '%s' is not handled here", control_command_name(req->command));
	return NULL;
}

static void execute(void *data, const struct control_request *req, struct control_call *call)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) body = NULL;

	if (req->command == CONTROL_SHOW || req->command == CONTROL_SYNC) {
		sync_then_answer(data, req, call);
		return;
	}
	if (req->command == CONTROL_PING) {
		ping_request_execute(data, req, call);
		return;
	}
	body = run(data, req, &error);
	control_call_reply(call, body, error);
}

static void groups(void *data, struct control_groups *ret)
{
	const struct wice_config *cfg = ((struct wice_daemon *)data)->config;

	ret->read_group = cfg->control_group;
	ret->read_gid = cfg->control_gid;
	ret->admin_group = cfg->admin_group;
	ret->admin_gid = cfg->admin_gid;
}

const struct control_handler daemon_control_handler = {
	.execute = execute,
	.groups = groups,
};
