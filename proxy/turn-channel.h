/* Maps shared by the eBPF TURN channel programs (turn-channel.bpf.c) and
 * their loader (bpf-relay.c).  Addresses and ports in network order. */
#pragma once

#include <linux/types.h>

/* A relay socket of libnice (the allocation's 5-tuple on our side): the
 * egress program fills in the TURN server and the channel from libnice's
 * own ChannelData, so the daemon need not parse ChannelBind. */
struct tc_learn_key {
	__be32 local_addr;
	__be16 local_port;
	__u16 pad;
};

struct tc_learn_val {
	__be32 turn_addr;
	__be16 turn_port;
	__u16 channel; /* host order; 0 until seen */
};

/* WireGuard -> peer: WireGuard's datagram to the peer's endpoint. */
struct tc_out_key {
	__be32 remote_addr;
	__be16 remote_port;
	__be16 wg_port;
};

struct tc_out_val {
	__be32 turn_addr;
	__be16 turn_port;
	__be16 relay_port;
	__u16 channel;
	__u16 pad;
};

/* TURN server -> WireGuard: ChannelData to our relay socket. */
struct tc_in_key {
	__be32 turn_addr;
	__be16 turn_port;
	__be16 relay_port;
};

struct tc_in_val {
	__be32 remote_addr;
	__be16 remote_port;
	__be16 wg_port;
	__u16 channel;
	__u16 pad;
};

enum tc_stat {
	TC_STAT_OUT_PACKETS,
	TC_STAT_OUT_BYTES,
	TC_STAT_IN_PACKETS,
	TC_STAT_IN_BYTES,
	TC_STAT_ERRORS,
	TC_STAT_MAX,
};
