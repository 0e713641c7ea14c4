/* UPnP IGD port mappings (libminiupnpc) on a worker thread.
 *
 * miniupnpc is blocking: discovery waits for SSDP answers (up to 1 s per
 * device type asked for, 2 s in all when no router answers) and every
 * SOAP call is an HTTP request with its own timeouts.  So all of it runs
 * on one worker thread, one job after another, and that thread alone
 * owns what miniupnpc found (the router's control URL) and the mappings
 * made, so no lock guards them.  Results come back to the main context
 * that created the worker. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct upnp_worker;

struct upnp_result {
	uint64_t id; /* as given to upnp_worker_map() */
	bool ok;
	struct in_addr external;
	uint16_t external_port;
	uint32_t lifetime; /* 0: the router only grants permanent mappings */
	char why[96];	   /* when !ok */
};

typedef void (*upnp_result_fn)(const struct upnp_result *r, void *data);

/* @fn gets each result on the thread-default main context of the caller. */
struct upnp_worker *upnp_worker_new(upnp_result_fn fn, void *data);
/* Maps UDP @internal for @lifetime seconds, or renews its mapping. */
void upnp_worker_map(struct upnp_worker *w, uint64_t id, const struct sockaddr_in *internal, uint32_t lifetime);
/* Deletes the mapping of @internal (queued after any map job for it). */
void upnp_worker_unmap(struct upnp_worker *w, const struct sockaddr_in *internal);
/* Deletes every mapping still held, waiting up to @wait_ms for the
 * router; no result is delivered after this.  Accepts NULL. */
void upnp_worker_free(struct upnp_worker *w, unsigned wait_ms);
