/* `[metrics] listen`: the daemon's state and counters as Prometheus text
 * (exposition format 0.0.4) at http://ADDRESS:PORT/metrics.  Read only,
 * no authentication: bind it to loopback, or to an address a firewall
 * keeps to the scraper. */
#pragma once

#include <glib.h>
#include <stdint.h>

struct wice_daemon;
struct wice_metrics;

/* Upper bounds (seconds) of the connect time histogram's buckets. */
#define METRICS_CONNECT_BUCKETS 9

/* Counters the daemon keeps for the endpoint. */
struct wice_counters {
	uint64_t envelopes_received; /* from every backend and the tunnels */
	uint64_t envelopes_sent;     /* publishes, per backend */
	uint64_t connects;           /* peers that reached "connected" */
	double connect_seconds_sum;
	uint64_t connect_buckets[METRICS_CONNECT_BUCKETS]; /* cumulative */
};

void metrics_observe_connect(struct wice_counters *c, double seconds);

struct wice_metrics *metrics_new(struct wice_daemon *d, const char *host, uint16_t port, GError **error);
void metrics_free(struct wice_metrics *m);
/* The page (for tests and the server). */
char *metrics_render(struct wice_daemon *d);
