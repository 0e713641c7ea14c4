/* UPnP IGD mappings on a worker thread (portmap-upnp.h). */
#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <stdio.h>
#include <string.h>

#include "portmap-upnp.h"

/* SSDP: how long to wait for answers to each search.  Routers answer
 * within milliseconds; miniupnpc waits this long after the last answer. */
#define UPNP_DISCOVER_MS 1000
/* A network without an IGD is asked again only after this long, so that
 * a mesh of 50 peers starting at once costs one discovery, not 50. */
#define UPNP_RETRY_DISCOVERY_US (60 * G_USEC_PER_SEC)
#define UPNP_ERR_CONFLICT 718
#define UPNP_ERR_ONLY_PERMANENT 725
#define UPNP_PORT_TRIES 4

enum upnp_job_kind {
	UPNP_JOB_MAP,
	UPNP_JOB_UNMAP,
	UPNP_JOB_UNMAP_ALL,
};

struct upnp_job {
	enum upnp_job_kind kind;
	uint64_t id;
	struct sockaddr_in internal;
	uint32_t lifetime;
};

/* What the worker thread alone touches. */
struct upnp_state {
	bool have_igd;
	struct UPNPUrls urls;
	struct IGDdatas data;
	gint64 discovery_failed_us; /* monotonic; 0: never */
	char discovered_on[INET_ADDRSTRLEN]; /* the local address we searched from */
	GHashTable *mappings; /* "ADDR:PORT" (internal) -> external port (GUINT_TO_POINTER) */
};

/* Lets results find the worker's owner until it is freed: the main
 * thread clears @w, results check it there. */
struct upnp_link {
	gatomicrefcount refs;
	struct upnp_worker *w;
};

struct upnp_worker {
	GThreadPool *pool;
	struct upnp_state *state;
	struct upnp_link *link;
	GMainContext *context;
	upnp_result_fn fn;
	void *data;
	GMutex lock; /* guards pending */
	GCond idle;
	unsigned pending; /* jobs pushed and not finished */
	gint found_igd;	  /* atomic: the worker found a router, so it may hold mappings */
};

struct upnp_delivery {
	struct upnp_link *link;
	struct upnp_result result;
};

static struct upnp_link *link_ref(struct upnp_link *l)
{
	g_atomic_ref_count_inc(&l->refs);
	return l;
}

static void link_unref(struct upnp_link *l)
{
	if (g_atomic_ref_count_dec(&l->refs))
		g_free(l);
}

static void internal_key(const struct sockaddr_in *in, char *buf, size_t len)
{
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
	g_snprintf(buf, len, "%s:%u", addr, ntohs(in->sin_port));
}

static void forget_igd(struct upnp_state *s)
{
	if (s->have_igd)
		FreeUPNPUrls(&s->urls);
	s->have_igd = false;
}

/* Finds the IGD, searching from @lanaddr's interface, unless one was
 * found already or none answered a moment ago. */
static bool find_igd(struct upnp_state *s, const char *lanaddr, char *why, size_t why_len)
{
	static const char *const types[] = { "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
					     "urn:schemas-upnp-org:device:InternetGatewayDevice:2", NULL };
	struct UPNPDev *devs;
	char igd_lan[INET_ADDRSTRLEN] = "";
	int err = 0, r;

	if (s->have_igd && strcmp(s->discovered_on, lanaddr) == 0)
		return true;
	forget_igd(s);
	if (s->discovery_failed_us && strcmp(s->discovered_on, lanaddr) == 0 &&
	    g_get_monotonic_time() - s->discovery_failed_us < UPNP_RETRY_DISCOVERY_US) {
		g_strlcpy(why, "no IGD answered lately", why_len);
		return false;
	}
	g_strlcpy(s->discovered_on, lanaddr, sizeof(s->discovered_on));
	devs = upnpDiscoverDevices(types, UPNP_DISCOVER_MS, lanaddr, NULL, UPNP_LOCAL_PORT_ANY, 0, 2, &err, 0);
	r = devs ? UPNP_GetValidIGD(devs, &s->urls, &s->data, igd_lan, sizeof(igd_lan)) : 0;
	freeUPNPDevlist(devs);
	if (r == 1) {
		s->have_igd = true;
		s->discovery_failed_us = 0;
		return true;
	}
	if (r)
		FreeUPNPUrls(&s->urls);
	s->discovery_failed_us = g_get_monotonic_time();
	g_strlcpy(why, r ? "the IGD is not connected" : "no IGD answered", why_len);
	return false;
}

static int add_mapping(struct upnp_state *s, const char *client, uint16_t in_port, uint16_t ext_port,
		       uint32_t *lifetime)
{
	char ext[8], in[8], lease[16];
	int r;

	g_snprintf(ext, sizeof(ext), "%u", ext_port);
	g_snprintf(in, sizeof(in), "%u", in_port);
	g_snprintf(lease, sizeof(lease), "%u", *lifetime);
	r = UPNP_AddPortMapping(s->urls.controlURL, s->data.first.servicetype, ext, in, client, "wice", "UDP", NULL,
				lease);
	if (r == UPNP_ERR_ONLY_PERMANENT && *lifetime) {
		*lifetime = 0;
		r = UPNP_AddPortMapping(s->urls.controlURL, s->data.first.servicetype, ext, in, client, "wice", "UDP",
					NULL, "0");
	}
	return r;
}

/* The external port: the one we had (a renewal), else the internal port,
 * else random ones while the router says another client has it. */
static int map_port(struct upnp_state *s, const struct upnp_job *job, struct upnp_result *res)
{
	char key[32], client[INET_ADDRSTRLEN];
	uint16_t in_port = ntohs(job->internal.sin_port), port;
	int r = -1;

	internal_key(&job->internal, key, sizeof(key));
	inet_ntop(AF_INET, &job->internal.sin_addr, client, sizeof(client));
	port = (uint16_t)GPOINTER_TO_UINT(g_hash_table_lookup(s->mappings, key));
	if (!port)
		port = in_port;
	res->lifetime = job->lifetime;
	for (unsigned i = 0; i < UPNP_PORT_TRIES; i++) {
		r = add_mapping(s, client, in_port, port, &res->lifetime);
		if (r != UPNP_ERR_CONFLICT)
			break;
		port = (uint16_t)g_random_int_range(1024, 65536);
	}
	if (r == UPNPCOMMAND_SUCCESS) {
		g_hash_table_insert(s->mappings, g_strdup(key), GUINT_TO_POINTER(port));
		res->external_port = port;
	}
	return r;
}

static void do_map(struct upnp_state *s, const struct upnp_job *job, struct upnp_result *res)
{
	char lanaddr[INET_ADDRSTRLEN], ext_ip[40] = "";
	int r;

	inet_ntop(AF_INET, &job->internal.sin_addr, lanaddr, sizeof(lanaddr));
	if (!find_igd(s, lanaddr, res->why, sizeof(res->why)))
		return;
	r = map_port(s, job, res);
	if (r != UPNPCOMMAND_SUCCESS) {
		g_snprintf(res->why, sizeof(res->why), "AddPortMapping: %d %s", r, strupnperror(r) ? strupnperror(r) : "");
		/* a router that went away (or rebooted with a new URL) is searched for anew */
		if (r < 0)
			forget_igd(s);
		return;
	}
	r = UPNP_GetExternalIPAddress(s->urls.controlURL, s->data.first.servicetype, ext_ip);
	if (r != UPNPCOMMAND_SUCCESS || inet_pton(AF_INET, ext_ip, &res->external) != 1) {
		g_snprintf(res->why, sizeof(res->why), "GetExternalIPAddress: %d, '%.40s'", r, ext_ip);
		return;
	}
	res->ok = true;
}

static void delete_one(struct upnp_state *s, const char *key, uint16_t port)
{
	char ext[8];

	if (!s->have_igd)
		return;
	g_snprintf(ext, sizeof(ext), "%u", port);
	UPNP_DeletePortMapping(s->urls.controlURL, s->data.first.servicetype, ext, "UDP", NULL);
	g_debug("upnp: deleted the mapping of %s (external port %u)", key, port);
}

static void do_unmap(struct upnp_state *s, const struct upnp_job *job)
{
	char key[32];
	gpointer port;

	internal_key(&job->internal, key, sizeof(key));
	if (!g_hash_table_lookup_extended(s->mappings, key, NULL, &port))
		return;
	delete_one(s, key, (uint16_t)GPOINTER_TO_UINT(port));
	g_hash_table_remove(s->mappings, key);
}

static void do_unmap_all(struct upnp_state *s)
{
	GHashTableIter it;
	gpointer key, port;

	g_hash_table_iter_init(&it, s->mappings);
	while (g_hash_table_iter_next(&it, &key, &port))
		delete_one(s, key, (uint16_t)GPOINTER_TO_UINT(port));
	g_hash_table_remove_all(s->mappings);
}

/* On the main context. */
static gboolean deliver(gpointer data)
{
	struct upnp_delivery *d = data;
	struct upnp_worker *w = d->link->w;

	if (w)
		w->fn(&d->result, w->data);
	return G_SOURCE_REMOVE;
}

static void delivery_free(gpointer data)
{
	struct upnp_delivery *d = data;

	link_unref(d->link);
	g_free(d);
}

static void run_job(gpointer data, gpointer user_data)
{
	struct upnp_job *job = data;
	struct upnp_worker *w = user_data;
	struct upnp_delivery *d;

	switch (job->kind) {
	case UPNP_JOB_MAP:
		d = g_new0(struct upnp_delivery, 1);
		d->result.id = job->id;
		do_map(w->state, job, &d->result);
		if (w->state->have_igd)
			g_atomic_int_set(&w->found_igd, 1);
		d->link = link_ref(w->link);
		g_main_context_invoke_full(w->context, G_PRIORITY_DEFAULT, deliver, d, delivery_free);
		break;
	case UPNP_JOB_UNMAP:
		do_unmap(w->state, job);
		break;
	case UPNP_JOB_UNMAP_ALL:
		do_unmap_all(w->state);
		break;
	}
	g_free(job);
	g_mutex_lock(&w->lock);
	w->pending--;
	g_cond_signal(&w->idle);
	g_mutex_unlock(&w->lock);
}

struct upnp_worker *upnp_worker_new(upnp_result_fn fn, void *data)
{
	struct upnp_worker *w = g_new0(struct upnp_worker, 1);

	w->state = g_new0(struct upnp_state, 1);
	w->state->mappings = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	w->link = g_new0(struct upnp_link, 1);
	g_atomic_ref_count_init(&w->link->refs);
	w->link->w = w;
	w->context = g_main_context_ref_thread_default();
	w->fn = fn;
	w->data = data;
	g_mutex_init(&w->lock);
	g_cond_init(&w->idle);
	/* one thread, so jobs run in order and own the state without locks;
	 * created when the first job comes */
	w->pool = g_thread_pool_new(run_job, w, 1, FALSE, NULL);
	return w;
}

static void push(struct upnp_worker *w, enum upnp_job_kind kind, uint64_t id, const struct sockaddr_in *internal,
		 uint32_t lifetime)
{
	struct upnp_job *job = g_new0(struct upnp_job, 1);

	job->kind = kind;
	job->id = id;
	if (internal)
		job->internal = *internal;
	job->lifetime = lifetime;
	g_mutex_lock(&w->lock);
	w->pending++;
	g_mutex_unlock(&w->lock);
	g_thread_pool_push(w->pool, job, NULL);
}

void upnp_worker_map(struct upnp_worker *w, uint64_t id, const struct sockaddr_in *internal, uint32_t lifetime)
{
	push(w, UPNP_JOB_MAP, id, internal, lifetime);
}

void upnp_worker_unmap(struct upnp_worker *w, const struct sockaddr_in *internal)
{
	push(w, UPNP_JOB_UNMAP, 0, internal, 0);
}

static bool wait_idle(struct upnp_worker *w, unsigned wait_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)wait_ms * 1000;
	bool idle;

	g_mutex_lock(&w->lock);
	while (w->pending && g_cond_wait_until(&w->idle, &w->lock, deadline))
		;
	idle = w->pending == 0;
	g_mutex_unlock(&w->lock);
	return idle;
}

static void worker_destroy(struct upnp_worker *w)
{
	g_thread_pool_free(w->pool, FALSE, TRUE); /* idle: returns at once */
	link_unref(w->link);
	forget_igd(w->state);
	g_hash_table_destroy(w->state->mappings);
	g_free(w->state);
	g_main_context_unref(w->context);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->idle);
	g_free(w);
}

/* A thread busy in miniupnpc's timeouts is left behind: it still uses the
 * state and the worker, so both are left to the exit. */
static void worker_abandon(struct upnp_worker *w)
{
	g_thread_pool_free(w->pool, TRUE, FALSE);
}

void upnp_worker_free(struct upnp_worker *w, unsigned wait_ms)
{
	if (!w)
		return;
	w->link->w = NULL;
	/* No router found (the usual case without UPnP, maybe still
	 * searching): nothing of ours to delete, and no reason to wait for
	 * a search of up to 2 s at every exit. */
	if (!g_atomic_int_get(&w->found_igd)) {
		if (wait_idle(w, 0))
			worker_destroy(w);
		else
			worker_abandon(w);
		return;
	}
	push(w, UPNP_JOB_UNMAP_ALL, 0, NULL, 0);
	if (!wait_idle(w, wait_ms)) {
		g_warning("upnp: the router did not answer in %u ms; its mappings expire on their own", wait_ms);
		worker_abandon(w);
		return;
	}
	worker_destroy(w);
}
