/* Asynchronous lookups of a configuration's ICE server names (resolve.h). */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "resolve.h"

struct config_resolve {
	gint refs; /* one per lookup in flight, one while starting */
	struct wice_config *cfg;
	config_resolved_fn done;
	void *userdata;
	GCancellable *cancel;
	unsigned pending;
	bool again; /* config_resolve_again(): a failed lookup keeps the address */
};

struct lookup {
	struct config_resolve *r;
	struct wice_ice_server *server;
};

static void resolve_unref(struct config_resolve *r)
{
	if (--r->refs > 0)
		return;
	g_object_unref(r->cancel);
	g_free(r);
}

static void finish_one(struct config_resolve *r)
{
	if (--r->pending == 0 && !g_cancellable_is_cancelled(r->cancel))
		r->done(r->cfg, r->userdata);
}

static void store_result(struct wice_ice_server *s, GList *addrs, const GError *error, bool again)
{
	g_autofree char *text = NULL;

	if (!addrs && again && *s->address) {
		g_debug("cannot resolve ICE server '%s' again: %s; keeping %s", s->host, error->message, s->address);
		return;
	}
	if (!addrs) {
		g_warning("cannot resolve ICE server '%s': %s; skipping it", s->host, error->message);
		return;
	}
	text = g_inet_address_to_string(addrs->data);
	if (again && strcmp(text, s->address) != 0)
		g_message("ICE server '%s' moved from %s to %s: new sessions take the new address", s->host,
			  *s->address ? s->address : "(none)", text);
	g_strlcpy(s->address, text, sizeof(s->address));
}

static void on_resolved(GObject *source, GAsyncResult *res, gpointer data)
{
	struct lookup *l = data;
	struct config_resolve *r = l->r;
	g_autoptr(GError) error = NULL;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(source), res, &error);

	/* Once cancelled, the configuration may be gone: touch nothing. */
	if (!g_cancellable_is_cancelled(r->cancel)) {
		store_result(l->server, addrs, error, r->again);
		finish_one(r);
	}
	g_resolver_free_addresses(addrs);
	resolve_unref(r);
	g_free(l);
}

static void resolve_server(struct config_resolve *r, GResolver *resolver, struct wice_ice_server *s)
{
	g_autoptr(GInetAddress) literal = g_inet_address_new_from_string(s->host);
	struct lookup *l;

	if (literal) {
		g_strlcpy(s->address, s->host, sizeof(s->address));
		return;
	}
	l = g_new0(struct lookup, 1);
	l->r = r;
	l->server = s;
	r->refs++;
	r->pending++;
	g_resolver_lookup_by_name_async(resolver, s->host, r->cancel, on_resolved, l);
}

static void resolve_settings(struct config_resolve *r, GResolver *resolver, struct wice_iface_settings *s)
{
	for (size_t i = 0; i < s->n_ice_servers; i++)
		resolve_server(r, resolver, &s->ice_servers[i]);
}

static struct config_resolve *resolve_config(struct wice_config *cfg, config_resolved_fn done, void *userdata,
					     bool again)
{
	g_autoptr(GResolver) resolver = g_resolver_get_default();
	struct config_resolve *r = g_new0(struct config_resolve, 1);
	bool finished;

	r->again = again;
	r->refs = 1;
	r->pending = 1;
	r->cfg = cfg;
	r->done = done;
	r->userdata = userdata;
	r->cancel = g_cancellable_new();
	resolve_settings(r, resolver, &cfg->defaults);
	for (size_t i = 0; i < cfg->n_ifaces; i++)
		resolve_settings(r, resolver, &cfg->ifaces[i].settings);
	finish_one(r);
	finished = r->pending == 0;
	resolve_unref(r);
	return finished ? NULL : r;
}

struct config_resolve *config_resolve_start(struct wice_config *cfg, config_resolved_fn done, void *userdata)
{
	return resolve_config(cfg, done, userdata, false);
}

struct config_resolve *config_resolve_again(struct wice_config *cfg, config_resolved_fn done, void *userdata)
{
	return resolve_config(cfg, done, userdata, true);
}

void config_resolve_cancel(struct config_resolve *r)
{
	if (r)
		g_cancellable_cancel(r->cancel);
}
