/* The eBPF relay path (issue 14): TURN ChannelData framing in the kernel
 * for relay pairs, with tc programs (proxy/turn-channel.bpf.c) on the
 * device that carries the TURN traffic.
 *
 * WireGuard's endpoint for the peer is the remote candidate (the peer's
 * address as the TURN server relays to it).  On egress, WireGuard's
 * datagrams to it get the ChannelData header and go to the TURN server
 * from libnice's relay socket port; on ingress, ChannelData carrying a
 * WireGuard message on the bound channel reaches WireGuard from the remote
 * candidate.  libnice binds the channel itself when it selects a relay
 * pair (RFC 5766 compatibility: ChannelBind, refreshed while the agent
 * lives) and keeps the allocation; the channel number and the TURN
 * server are learned from libnice's own ChannelData (bpf_relay_learned()),
 * which the user proxy's traffic produces at once.
 *
 * IPv4 only.  The UDP checksum of rewritten packets is 0 (none): a device
 * that computes UDP checksums in hardware would write it over the
 * ChannelData header, which is why only devices without a driver of their
 * own (veth, bridges, tunnels) are used (bpf_relay_attach()).
 *
 * One instance per process: the filters carry a fixed handle and
 * priority, and a new instance replaces those a killed one left. */
#pragma once

#include <gio/gio.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct bpf_relay;

struct bpf_relay_stats {
	uint64_t out_packets, out_bytes, in_packets, in_bytes, errors;
};

/* Loads the programs and creates the maps (nothing attached yet).  Fails
 * where the kernel refuses BPF (privilege, lockdown, no BTF needed). */
struct bpf_relay *bpf_relay_new(GError **error);

/* Attaches the programs to device @ifindex (ingress and egress), once per
 * device. */
bool bpf_relay_attach(struct bpf_relay *relay, int ifindex, GError **error);

/* The device @addr is on, 0 if none, or -1 for a device with a driver that
 * may offload checksums (see above). */
int bpf_relay_device_for(const struct in_addr *addr);

/* Watch relay socket @local for libnice's ChannelData. */
bool bpf_relay_watch(struct bpf_relay *relay, const struct sockaddr_in *local, GError **error);

/* The TURN server and channel learned for @local; false if none yet. */
bool bpf_relay_learned(struct bpf_relay *relay, const struct sockaddr_in *local, struct sockaddr_in *ret_turn,
		       uint16_t *ret_channel);

/* Starts framing WireGuard's (@wg_port) datagrams to @remote through
 * @turn on @channel from @local, and the reverse. */
bool bpf_relay_set_peer(struct bpf_relay *relay, const struct sockaddr_in *local, const struct sockaddr_in *turn,
			uint16_t channel, const struct sockaddr_in *remote, uint16_t wg_port, GError **error);

/* Stops all of it for @local (and @remote/@wg_port, if set). */
void bpf_relay_remove(struct bpf_relay *relay, const struct sockaddr_in *local, const struct sockaddr_in *remote,
		      uint16_t wg_port);

void bpf_relay_get_stats(struct bpf_relay *relay, struct bpf_relay_stats *ret);

/* Detaches the programs from every device (removing the clsact qdisc
 * where it was ours) and frees the maps.  Accepts NULL. */
void bpf_relay_free(struct bpf_relay *relay);

typedef struct bpf_relay bpf_relay;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(bpf_relay, bpf_relay_free)
