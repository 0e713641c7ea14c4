/* TURN ChannelData framing in the kernel (tc programs; loader in
 * proxy/bpf-relay.c).
 *
 * Egress: WireGuard's datagram from its listen port to a relayed peer's
 * endpoint gets the 4-byte ChannelData header and goes to the TURN server
 * from libnice's relay socket port, as if libnice had sent it.  libnice's
 * own ChannelData (consent checks on the bound channel) teach the maps the
 * TURN server and the channel number.
 * Ingress: ChannelData from the TURN server on that channel carrying a
 * WireGuard message loses its header and goes to WireGuard's port, from
 * the peer's endpoint; STUN inside ChannelData and everything else stays
 * with libnice.
 *
 * IPv4 only, no IP options or fragments, no GSO packets: those pass
 * unchanged.  The UDP checksum is set to 0 (none, allowed in IPv4), so only
 * addresses, lengths and the IP checksum need fixing. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "turn-channel.h"

#define MAX_PEERS 4096
#define L3 sizeof(struct ethhdr)
#define L4 (L3 + sizeof(struct iphdr))
#define PAYLOAD (L4 + sizeof(struct udphdr))

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PEERS);
	__type(key, struct tc_learn_key);
	__type(value, struct tc_learn_val);
} learn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PEERS);
	__type(key, struct tc_out_key);
	__type(value, struct tc_out_val);
} out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PEERS);
	__type(key, struct tc_in_key);
	__type(value, struct tc_in_val);
} in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void count(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += n;
}

/* An Ethernet IPv4/UDP packet without options or fragments. */
static __always_inline int load_headers(struct __sk_buff *skb, struct iphdr *ip, struct udphdr *udp)
{
	if (skb->protocol != bpf_htons(ETH_P_IP) || skb->gso_segs > 1)
		return -1;
	if (bpf_skb_load_bytes(skb, L3, ip, sizeof(*ip)) < 0 || bpf_skb_load_bytes(skb, L4, udp, sizeof(*udp)) < 0)
		return -1;
	if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
		return -1;
	return 0;
}

/* Type 1-4 and three reserved zero bytes. */
static __always_inline int is_wg(__u32 first)
{
	__u32 h = bpf_ntohl(first);

	return (h & 0x00ffffff) == 0 && (h >> 24) >= 1 && (h >> 24) <= 4;
}

static __always_inline __u16 ip_checksum(struct iphdr *ip)
{
	__u32 sum;

	ip->check = 0;
	sum = bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* libnice's ChannelData out of a relay socket: remember where it goes. */
static __always_inline void learn_channel(struct __sk_buff *skb, const struct iphdr *ip, const struct udphdr *udp)
{
	struct tc_learn_key key = { .local_addr = ip->saddr, .local_port = udp->source };
	struct tc_learn_val *v = bpf_map_lookup_elem(&learn, &key);
	__be16 hdr[2];
	__u16 channel;

	if (!v || bpf_skb_load_bytes(skb, PAYLOAD, hdr, sizeof(hdr)) < 0)
		return;
	channel = bpf_ntohs(hdr[0]);
	if (channel < 0x4000 || channel > 0x7fff)
		return;
	v->turn_addr = ip->daddr;
	v->turn_port = udp->dest;
	v->channel = channel;
}

SEC("tc")
int turn_egress(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;
	struct tc_out_key key = { 0 };
	struct tc_out_val *v;
	__u16 len;
	__be16 cd[2];

	if (load_headers(skb, &ip, &udp) < 0)
		return TC_ACT_OK;
	key.remote_addr = ip.daddr;
	key.remote_port = udp.dest;
	key.wg_port = udp.source;
	v = bpf_map_lookup_elem(&out, &key);
	if (!v) {
		learn_channel(skb, &ip, &udp);
		return TC_ACT_OK;
	}
	len = bpf_ntohs(udp.len);
	if (len < sizeof(udp) || len > 0xffff - 4 || bpf_skb_adjust_room(skb, 4, BPF_ADJ_ROOM_NET, 0) < 0) {
		count(TC_STAT_ERRORS, 1);
		return TC_ACT_OK;
	}
	/* [IP][4 new bytes][old UDP header][payload]: the UDP header goes
	 * right after IP and the ChannelData header after it. */
	ip.daddr = v->turn_addr;
	ip.tot_len = bpf_htons(bpf_ntohs(ip.tot_len) + 4);
	ip.check = ip_checksum(&ip);
	udp.source = v->relay_port;
	udp.dest = v->turn_port;
	udp.len = bpf_htons(len + 4);
	udp.check = 0;
	cd[0] = bpf_htons(v->channel);
	cd[1] = bpf_htons(len - sizeof(udp));
	if (bpf_skb_store_bytes(skb, L3, &ip, sizeof(ip), 0) < 0 ||
	    bpf_skb_store_bytes(skb, L4, &udp, sizeof(udp), 0) < 0 ||
	    bpf_skb_store_bytes(skb, PAYLOAD, cd, sizeof(cd), 0) < 0) {
		count(TC_STAT_ERRORS, 1);
		return TC_ACT_SHOT;
	}
	count(TC_STAT_OUT_PACKETS, 1);
	count(TC_STAT_OUT_BYTES, len - sizeof(udp));
	return TC_ACT_OK;
}

SEC("tc")
int turn_ingress(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;
	struct tc_in_key key = { 0 };
	struct tc_in_val *v;
	__be16 cd[2];
	__u32 first;
	__u16 len, data_len;

	if (load_headers(skb, &ip, &udp) < 0)
		return TC_ACT_OK;
	key.turn_addr = ip.saddr;
	key.turn_port = udp.source;
	key.relay_port = udp.dest;
	v = bpf_map_lookup_elem(&in, &key);
	if (!v || bpf_skb_load_bytes(skb, PAYLOAD, cd, sizeof(cd)) < 0 ||
	    bpf_skb_load_bytes(skb, PAYLOAD + 4, &first, sizeof(first)) < 0)
		return TC_ACT_OK;
	len = bpf_ntohs(udp.len);
	data_len = bpf_ntohs(cd[1]);
	/* Another channel, STUN in our channel, or padding: libnice's. */
	if (bpf_ntohs(cd[0]) != v->channel || !is_wg(first) || len != data_len + sizeof(udp) + 4)
		return TC_ACT_OK;
	if (bpf_skb_adjust_room(skb, -4, BPF_ADJ_ROOM_NET, 0) < 0) {
		count(TC_STAT_ERRORS, 1);
		return TC_ACT_OK;
	}
	ip.saddr = v->remote_addr;
	ip.tot_len = bpf_htons(bpf_ntohs(ip.tot_len) - 4);
	ip.check = ip_checksum(&ip);
	udp.source = v->remote_port;
	udp.dest = v->wg_port;
	udp.len = bpf_htons(data_len + sizeof(udp));
	udp.check = 0;
	if (bpf_skb_store_bytes(skb, L3, &ip, sizeof(ip), BPF_F_RECOMPUTE_CSUM) < 0 ||
	    bpf_skb_store_bytes(skb, L4, &udp, sizeof(udp), BPF_F_RECOMPUTE_CSUM) < 0) {
		count(TC_STAT_ERRORS, 1);
		return TC_ACT_SHOT;
	}
	count(TC_STAT_IN_PACKETS, 1);
	count(TC_STAT_IN_BYTES, data_len);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
