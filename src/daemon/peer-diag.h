/* Why a peer's path is what it is: `wice show IFACE PEER` and the
 * "diagnosis" member of `wice show --json` (status.c), and the path a
 * `wice ping` reply took.
 *
 * Only what the daemon knows goes in: the candidate types each side
 * gathered this session, which agent (direct or relay) selected a pair or
 * failed, the port mapping's state, whether another peer carries the
 * peer's addresses, the daemon's own NAT probe (nat-watch.h) and what the
 * peer's candidates show of its NAT: a server reflexive candidate on the
 * port of its base means a NAT that kept the port; a peer reflexive one
 * (the address its checks came from) on the server reflexive address but
 * another port means a NAT that maps per destination.  libnice tells
 * nothing of single checks, so failures are per agent. */
#pragma once

#include <json-glib/json-glib.h>
#include <nice/agent.h>

#include "nat-probe.h"
#include "peer.h"

/* Bits of NiceCandidateType, for the types of a candidate list. */
#define PEER_DIAG_TYPE_BIT(t) (1u << (t))

/* Pure: from a list of NiceCandidate (either side's). */
void peer_diag_evidence(GSList *candidates, struct peer_nat_evidence *ret);
/* The same of @pa's own candidates and of the peer's it has (@pa->agent
 * set). */
void peer_diag_agent_evidence(const struct peer_agent *pa, struct peer_nat_evidence *local,
			      struct peer_nat_evidence *remote);

/* Keeps what a failing agent knew (its candidates go with it) and @why
 * (a static string); called by peer-ice.c when libnice fails the agent. */
void peer_diag_on_agent_failed(struct peer_agent *pa, const char *why);

/* "path" ("direct", "relay", "via" or null), "path_detail" ("direct
 * srflx", "relay", "via KEY"), the selected pair's "local_type",
 * "remote_type" and "remote" (ADDRESS:PORT), "via" (key) or null. */
void peer_diag_add_path(JsonBuilder *b, const struct wice_peer *peer);
/* "diagnosis": {"verdict","local_types","remote_types","agents":[{"agent",
 * "state","reason","local_types","remote_types"}],"nat","peer_nat",
 * "port_mapping"}; @ours: the daemon's NAT probe, NULL when it has none. */
void peer_diag_add(JsonBuilder *b, const struct wice_peer *peer, const struct nat_summary *ours);
