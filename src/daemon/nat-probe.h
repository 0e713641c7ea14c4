/* Where do our UDP packets come from, seen from outside?  One UDP socket
 * asks several STUN (or TURN) servers with Binding requests, or TURN
 * servers with an unauthenticated Allocate, and collects what each saw
 * (the mapped address) and how long it took.  Two servers that saw the
 * socket from two different ports mean a NAT that maps per destination
 * (endpoint-dependent, "symmetric"); the same port everywhere, one that
 * does not.  `wice netcheck` runs it once with every server of the
 * configuration, the daemon (nat-watch.h) at start and when the network
 * changes, to explain its paths in `wice show`.
 *
 * Runs on the thread-default main loop with a non-blocking socket;
 * requests are resent at 200, 400, 800 ms... until answered or the
 * deadline. */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stun-wire.h"

/* Destinations one probe asks: a limit on what a configuration makes us
 * send. */
#define NAT_PROBE_MAX_TARGETS 16

struct nat_probe;

struct nat_probe_result {
	struct sockaddr_storage to;
	socklen_t to_len;
	enum stun_wire_method method;
	bool answered;
	struct stun_wire_reply reply;
	gint64 rtt_us;
};

typedef void (*nat_probe_fn)(struct nat_probe *p, void *data);

/* A probe with one UDP socket of @family (AF_INET or AF_INET6) on an
 * ephemeral port. */
struct nat_probe *nat_probe_new(int family, GError **error);
/* Accepts NULL. */
void nat_probe_free(struct nat_probe *p);
/* Adds a destination (of the probe's family); false when full or of
 * another family. */
bool nat_probe_add(struct nat_probe *p, const struct sockaddr *to, socklen_t len, enum stun_wire_method method);
/* Sends every request and calls @fn once, from the loop, when all are
 * answered or @timeout_ms passed. */
void nat_probe_run(struct nat_probe *p, guint timeout_ms, nat_probe_fn fn, void *data);
/* Hairpinning: a second socket sends a Binding request to @mapped (this
 * probe's socket as a server saw it); @fn runs when it arrived here or
 * after @timeout_ms (nat_probe_hairpinned() says which). */
void nat_probe_hairpin(struct nat_probe *p, const struct sockaddr_storage *mapped, guint timeout_ms,
		       nat_probe_fn fn, void *data);
bool nat_probe_hairpinned(const struct nat_probe *p);

size_t nat_probe_n_results(const struct nat_probe *p);
const struct nat_probe_result *nat_probe_get_result(const struct nat_probe *p, size_t i);
uint16_t nat_probe_local_port(const struct nat_probe *p);

/* What the answers say together. */
enum nat_mapping {
	NAT_MAPPING_UNKNOWN,     /* fewer than two destinations answered */
	NAT_MAPPING_INDEPENDENT, /* the same mapped address for every destination */
	NAT_MAPPING_DEPENDENT,   /* a different one per destination */
};

struct nat_summary {
	unsigned answered;  /* destinations that answered a Binding request */
	bool have_mapped;   /* @mapped: the first answer's */
	struct sockaddr_storage mapped;
	enum nat_mapping mapping;
	int port_preserved; /* the mapped port is our socket's: 1, 0, -1 unknown */
};

/* Pure: from the results of Binding requests (and the socket's
 * @local_port). */
void nat_summarize(const struct nat_probe_result *results, size_t n, uint16_t local_port, struct nat_summary *ret);
const char *nat_mapping_name(enum nat_mapping m);
/* "198.51.100.1:4000", "[2001:db8::1]:4000" */
char *nat_format_address(const struct sockaddr_storage *a);
