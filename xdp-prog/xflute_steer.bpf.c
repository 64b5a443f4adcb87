// SPDX-License-Identifier: (MIT OR Apache-2.0) AND GPL-2.0-only
/*
 * xflute_steer: take exactly the FLUTE flows out of the kernel stack.
 *
 * Ethernet (at most one 802.1Q/802.1ad tag) -> IPv4 or IPv6 -> UDP. The key
 * (destination port, destination address, source address) is looked up in
 * CHANNELS, first with the packet's source (source-specific channel), then with
 * an all-zero source (any-source channel). IPv4 addresses are stored in their
 * IPv4-mapped IPv6 form (::ffff:a.b.c.d) so one key layout serves both
 * families. A match is redirected to the AF_XDP socket bound to the receiving
 * queue; with no socket there, bpf_redirect_map falls back to XDP_PASS.
 * Everything else (ARP, ICMP, IPv6 ND, IP fragments, IPv6 extension headers,
 * other flows, truncated frames) is passed to the kernel untouched.
 *
 * DROP_THRESHOLD[0] is a loss injector for tests and the demo: a matched
 * frame is dropped when a random u32 is below it (0, the default, never drops).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_QUEUES 64
#define MAX_CHANNELS 1024

/* Must match engine/src/io/xdp.rs (ChannelKey). */
struct channel_key {
	__be16 dst_port;
	__u16 reserved; /* always 0 */
	__u8 dst_addr[16];
	__u8 src_addr[16]; /* all zero: any source */
};

/* Must match engine/src/io/xdp.rs (Counter). */
enum counter {
	COUNTER_REDIRECTED = 0,
	COUNTER_PASSED = 1,
	COUNTER_MALFORMED = 2,
	COUNTER_DROPPED = 3,
	COUNTER_COUNT = 4,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CHANNELS);
	__type(key, struct channel_key);
	__type(value, __u32);
} CHANNELS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} XSKS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} COUNTERS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} DROP_THRESHOLD SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

static __always_inline int count(__u32 which, int action)
{
	__u64 *value = bpf_map_lookup_elem(&COUNTERS, &which);

	if (value)
		*value += 1;
	return action;
}

static __always_inline int steer(struct xdp_md *ctx, struct channel_key *key)
{
	struct channel_key any;
	__u32 zero = 0;
	__u32 *threshold;

	if (!bpf_map_lookup_elem(&CHANNELS, key)) {
		__builtin_memcpy(&any, key, sizeof(any));
		__builtin_memset(any.src_addr, 0, sizeof(any.src_addr));
		if (!bpf_map_lookup_elem(&CHANNELS, &any))
			return count(COUNTER_PASSED, XDP_PASS);
	}
	threshold = bpf_map_lookup_elem(&DROP_THRESHOLD, &zero);
	if (threshold && *threshold && bpf_get_prandom_u32() < *threshold)
		return count(COUNTER_DROPPED, XDP_DROP);
	count(COUNTER_REDIRECTED, 0);
	return bpf_redirect_map(&XSKS, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int xflute_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct channel_key key = {};
	struct ethhdr *eth = data;
	struct udphdr *udp;
	void *l3;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return count(COUNTER_MALFORMED, XDP_PASS);
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlan = l3;

		if ((void *)(vlan + 1) > data_end)
			return count(COUNTER_MALFORMED, XDP_PASS);
		proto = vlan->encapsulated_proto;
		l3 = vlan + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return count(COUNTER_MALFORMED, XDP_PASS);
		/* Any fragment (MF set or non-zero offset): the kernel reassembles. */
		if (ip->frag_off & bpf_htons(0x3fff))
			return count(COUNTER_PASSED, XDP_PASS);
		if (ip->protocol != IPPROTO_UDP)
			return count(COUNTER_PASSED, XDP_PASS);
		udp = (void *)ip + ip->ihl * 4;
		key.dst_addr[10] = 0xff;
		key.dst_addr[11] = 0xff;
		__builtin_memcpy(&key.dst_addr[12], &ip->daddr, 4);
		key.src_addr[10] = 0xff;
		key.src_addr[11] = 0xff;
		__builtin_memcpy(&key.src_addr[12], &ip->saddr, 4);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return count(COUNTER_MALFORMED, XDP_PASS);
		/* Extension headers (fragments among them) go to the kernel. */
		if (ip6->nexthdr != IPPROTO_UDP)
			return count(COUNTER_PASSED, XDP_PASS);
		udp = (void *)(ip6 + 1);
		__builtin_memcpy(key.dst_addr, &ip6->daddr, 16);
		__builtin_memcpy(key.src_addr, &ip6->saddr, 16);
	} else {
		return count(COUNTER_PASSED, XDP_PASS);
	}

	if ((void *)(udp + 1) > data_end)
		return count(COUNTER_MALFORMED, XDP_PASS);
	key.dst_port = udp->dest;
	return steer(ctx, &key);
}

char LICENSE[] SEC("license") = "GPL";
