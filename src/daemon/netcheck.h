/* `wice netcheck`: what the network in front of this host lets through,
 * measured with the STUN and TURN servers of the configuration, without
 * a daemon:
 *
 *   - UDP: does any server answer a Binding request;
 *   - mapping: one socket asks every server; the same mapped address from
 *     two destinations means a NAT that maps independently of the
 *     destination, two addresses one that maps per destination
 *     ("symmetric": then only a relay or a port mapping connects two such
 *     hosts); port preservation: the mapped port is the socket's own;
 *   - hairpinning: a second socket sends to the first one's mapped
 *     address; does it arrive;
 *   - port mapping: PCP, NAT-PMP and UPnP IGD asked for a mapping of a
 *     UDP port each (portmap.h), deleted right after;
 *   - TURN: an unauthenticated Allocate over UDP and TCP to each turn:
 *     server and over TLS to each turns: server; any answer (a 401 with
 *     the server's realm) proves the server is there, with the latency;
 *   - IPv6: a global address here, and Binding answers from servers with
 *     an IPv6 address.
 *
 * Blocking: it runs the thread-default main context itself until its
 * probes are done (a few seconds at most), so it is for the CLI only. */
#pragma once

#include <json-glib/json-glib.h>

#include "wice-config.h"

/* How long the probes may take together (port mapping: four tries over
 * 3.75 s). */
#define NETCHECK_DEADLINE_MS 4500
#define NETCHECK_STUN_TIMEOUT_MS 2500
#define NETCHECK_TCP_TIMEOUT_S 3

/* The report as JSON (wice(8) describes the members); @cfg's servers have
 * their addresses resolved. */
JsonNode *netcheck_run(const struct wice_iface_settings *cfg);
