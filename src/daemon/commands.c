/* What the control requests do to the daemon: the handler table the
 * daemon gives the control socket (control.h).  Each command makes a reply
 * body that starts with "ok": true, or an error for the client.  Access
 * was checked before; the request itself was validated by
 * control_request_parse. */
#include "config.h"

#include <errno.h>

#include "control/control.h"
#include "daemon.h"
#include "peer.h"

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

static bool sync_one(struct wice_iface *iface, GError **error)
{
	int r = iface_sync(iface);

	if (r < 0)
		g_set_error(error, CONTROL_ERROR, -r, "cannot read interface '%s': %s", iface->name, g_strerror(-r));
	return r == 0;
}

static JsonNode *do_sync(struct wice_daemon *d, const struct control_request *req, GError **error)
{
	g_autoptr(GList) ifaces = NULL;

	if (*req->interface) {
		struct wice_iface *iface = find_iface(d, req->interface, error);

		return iface && sync_one(iface, error) ? ok_body(NULL, NULL) : NULL;
	}
	ifaces = g_hash_table_get_values(d->ifaces);
	for (GList *l = ifaces; l; l = l->next)
		if (!sync_one(l->data, error))
			return NULL;
	return ok_body(NULL, NULL);
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

static JsonNode *run(struct wice_daemon *d, const struct control_request *req, GError **error)
{
	const char *ifname = *req->interface ? req->interface : NULL;

	switch (req->command) {
	case CONTROL_SHOW:
		return status_build(d, ifname, req->has_peer ? req->peer : NULL, error);
	case CONTROL_ADD:
		return daemon_add_iface_by_operator(d, ifname, error) ? ok_body(NULL, NULL) : NULL;
	case CONTROL_DELETE:
		return daemon_remove_iface_by_operator(d, ifname, error) ? ok_body(NULL, NULL) : NULL;
	case CONTROL_RESTART:
		return do_restart(d, req, error);
	case CONTROL_SYNC:
		return do_sync(d, req, error);
	case CONTROL_RELOAD:
		return do_reload(d, error);
	case CONTROL_MONITOR:
		break; /* the connection's business, see control.c */
	}
	g_set_error(error, CONTROL_ERROR, EINVAL, "command '%s' is not handled here", control_command_name(req->command));
	return NULL;
}

static void execute(void *data, const struct control_request *req, struct control_call *call)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) body = run(data, req, &error);

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
