// SPDX-License-Identifier: (MIT OR Apache-2.0) AND GPL-2.0-only
/*
 * xflute_gen: a traffic generator for benchmarks and tests, never attached to an interface.
 *
 * User space runs it with BPF_PROG_TEST_RUN in live-frames mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES, Linux 5.18): the kernel builds real xdp_frames from one
 * template frame, runs this program on each, and XDP_TX sends them out of the interface
 * named as ingress in the context. On a veth they land in the peer's rx queue at several
 * million frames per second, faster than any socket can send, so a receiver's ceiling can be
 * measured.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xflute_gen(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
