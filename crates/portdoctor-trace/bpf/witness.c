// SPDX-License-Identifier: GPL-2.0 OR MIT
// The kernel witness: every skb the kernel drops (tracepoint skb:kfree_skb, BTF-enabled so no
// tracefs is needed) that belongs to one flow, sent to user space on a ring buffer with the
// kernel's drop reason, the dropping function's address and the packet's headers.
//
// Self-contained on purpose: no vmlinux.h, no libbpf headers, so `build.sh` needs only clang.
// The kernel structures below carry preserve_access_index: clang records each field access as
// a CO-RE relocation and the loader (aya) rewrites the offsets from the running kernel's BTF
// (/sys/kernel/btf/vmlinux), so one object fits every kernel whose BTF names these fields.

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define CORE __attribute__((preserve_access_index))

// Helper numbers are UAPI (include/uapi/linux/bpf.h, enum bpf_func_id).
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)130;
static __u64 (*bpf_ktime_get_boot_ns)(void) = (void *)125;

#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_LRU_HASH 9
#define BPF_MAP_TYPE_RINGBUF 27

struct net_device {
	char name[16];
	int ifindex;
} CORE;

struct sk_buff {
	struct net_device *dev;
	unsigned char *head;
	unsigned char *data;
	__u16 network_header;
} CORE;

// The flow, written by the loader before the program is loaded (.rodata: the verifier sees the
// constants and prunes what a run does not need). Ports in host order, addresses as on the wire.
volatile const __u16 cfg_port = 0;
volatile const __u8 cfg_proto = 6;
// 0: any peer; 4 or 6: the peer must lie in cfg_from/cfg_mask (IPv4 uses the first 4 bytes).
volatile const __u8 cfg_from_family = 0;
volatile const __u8 cfg_from[16] = {0};
volatile const __u8 cfg_mask[16] = {0};

struct event {
	__u64 ts;        // bpf_ktime_get_boot_ns (CLOCK_BOOTTIME, what /proc/uptime counts)
	__u64 location;  // the address the kernel passed as the drop's location
	__u32 reason;    // enum skb_drop_reason
	__u32 ifindex;
	__u8 family;     // 4 or 6
	__u8 proto;
	__u8 tcp_flags;
	__u8 reason_given; // 0: this kernel's tracepoint has no reason (before 5.17): location only
	__u16 sport;     // host order
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
	char ifname[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

// [0] packets of the flow received (netif_receive_skb); [1] drop events the ring buffer had no
// room for: the report says so rather than claiming no drops; [2] drop events sent.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

// Clients of the flow seen arriving (address, port): a drop after DNAT changed the server's
// address or port still names the client, so it is matched here.
struct client {
	__u8 addr[16];
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct client);
	__type(value, __u8);
} clients SEC(".maps");

static __attribute__((always_inline)) void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		__sync_fetch_and_add(c, 1);
}

// Reads the IP and TCP/UDP headers at `ip` into `e`; 0 when they are not IPv4/IPv6 TCP/UDP.
// One read covers an IPv6 header or an option-less IPv4 one with the TCP flags (the common
// case: this runs for every packet received, so reads are few). Reading past a short packet's
// end stays inside the skb's allocation (skb_shared_info follows the data).
static __attribute__((always_inline)) int headers(unsigned char *ip, struct event *e)
{
	__u8 h[56];
	if (bpf_probe_read_kernel(h, sizeof(h), ip))
		return 0;
	__u8 *l4;
	__u8 t[14];
	if ((h[0] >> 4) == 4) {
		e->family = 4;
		e->proto = h[9];
		__builtin_memcpy(e->saddr, h + 12, 4);
		__builtin_memcpy(e->daddr, h + 16, 4);
		if ((h[0] & 0xf) == 5) {
			l4 = h + 20;
		} else {
			if (bpf_probe_read_kernel(t, sizeof(t), ip + (h[0] & 0xf) * 4))
				return 0;
			l4 = t;
		}
	} else if ((h[0] >> 4) == 6) {
		// Extension headers are not followed: the flows asked about carry none in practice.
		e->family = 6;
		e->proto = h[6];
		__builtin_memcpy(e->saddr, h + 8, 16);
		__builtin_memcpy(e->daddr, h + 24, 16);
		l4 = h + 40;
	} else {
		return 0;
	}
	if (e->proto != cfg_proto)
		return 0;
	e->sport = (l4[0] << 8) | l4[1];
	e->dport = (l4[2] << 8) | l4[3];
	if (e->proto == 6)
		e->tcp_flags = l4[13];
	return 1;
}

static __attribute__((always_inline)) int peer_matches(const __u8 *addr, __u8 family)
{
	if (cfg_from_family == 0)
		return 1;
	if (cfg_from_family != family)
		return 0;
	int n = family == 4 ? 4 : 16;
	for (int i = 0; i < 16; i++) {
		if (i < n && (addr[i] & cfg_mask[i]) != cfg_from[i])
			return 0;
	}
	return 1;
}

// 1: a packet to the port from a matching client; 2: a packet from the port to one.
static __attribute__((always_inline)) int direction(struct event *e)
{
	if (e->dport == cfg_port && peer_matches(e->saddr, e->family))
		return 1;
	if (e->sport == cfg_port && peer_matches(e->daddr, e->family))
		return 2;
	return 0;
}

static __attribute__((always_inline)) int learned(const __u8 *addr, __u16 port, __u8 proto)
{
	struct client c = {};
	__builtin_memcpy(c.addr, addr, 16);
	c.port = port;
	c.proto = proto;
	return bpf_map_lookup_elem(&clients, &c) != 0;
}

// The drop of `skb` at `location`, when it is the flow's: sent to user space with `reason`.
static __attribute__((always_inline)) int report_drop(struct sk_buff *skb, __u64 location, __u32 reason,
						      __u8 reason_given)
{
	struct event e = {};
	if (!headers(skb->head + skb->network_header, &e))
		return 0;
	if (!direction(&e)) {
		// A packet of a remembered client (after DNAT): only once the flow has had a packet.
		__u32 seen = 0;
		__u64 *n = bpf_map_lookup_elem(&counters, &seen);
		if (!n || !*n || (!learned(e.saddr, e.sport, e.proto) && !learned(e.daddr, e.dport, e.proto)))
			return 0;
	}
	e.ts = bpf_ktime_get_boot_ns();
	e.location = location;
	e.reason = reason;
	e.reason_given = reason_given;
	struct net_device *dev = skb->dev;
	if (dev) {
		e.ifindex = dev->ifindex;
		bpf_probe_read_kernel(e.ifname, sizeof(e.ifname), dev->name);
	}
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0))
		count(1);
	else
		count(2);
	return 0;
}

// Linux 5.17 and later: kfree_skb(skb, location, reason[, rx_sk]).
// A BTF-enabled tracepoint's skb is a typed kernel pointer: its fields are read by direct
// (fault-safe) loads, cheaper than a helper call each.
SEC("tp_btf/kfree_skb")
int witness_drop(__u64 *ctx)
{
	return report_drop((struct sk_buff *)ctx[0], ctx[1], (__u32)ctx[2], 1);
}

// Linux 5.5 to 5.16: kfree_skb(skb, location), no reason. The verifier refuses a read of an
// argument the tracepoint does not have, so this program reads two; the loader picks one of
// the two by the kernel's BTF (the arguments of btf_trace_kfree_skb).
SEC("tp_btf/kfree_skb")
int witness_drop_location(__u64 *ctx)
{
	return report_drop((struct sk_buff *)ctx[0], ctx[1], 0, 0);
}

// Counts the flow's packets as they arrive and remembers their clients. At this tracepoint the
// network header offset is not set yet for a NIC's packets: skb->data points at it.
SEC("tp_btf/netif_receive_skb")
int witness_rx(__u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	struct event e = {};
	if (!headers(skb->data, &e) || direction(&e) != 1)
		return 0;

	count(0);
	struct client c = {};
	__builtin_memcpy(c.addr, e.saddr, 16);
	c.port = e.sport;
	c.proto = e.proto;
	__u8 one = 1;
	bpf_map_update_elem(&clients, &c, &one, 0);
	return 0;
}

char _license[] SEC("license") = "GPL";
