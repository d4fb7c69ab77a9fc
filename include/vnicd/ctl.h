/* SPDX-License-Identifier: MIT */
/*
 * Control protocol: newline-delimited JSON over a unix stream socket.
 *
 * Each request is one line holding one JSON object:
 *     {"cmd": "port.add", "args": {"name": "vm1", "kind": "vhost", "path": "/run/vm1.sock"}}
 * and gets exactly one response line:
 *     {"ok": true, "result": <value>}
 *     {"ok": false, "error": "one line naming the problem"}
 * A client may send several requests on one connection; they are answered in order.
 * Lines longer than VN_CTL_MAX_LINE are refused and the connection closed; a line nested
 * deeper than VN_CTL_MAX_DEPTH ([ and {) is refused before it is parsed. A client that lets
 * more than VN_CTL_MAX_OUT of replies pile up unread is closed before its next request is
 * answered; one without a complete request for ctl_idle_timeout seconds is closed too.
 *
 * Commands ("args" members; [] = optional):
 *   ping                                   -> {"version"}
 *   net.add   name, type("bridge"|"macvtap"), [uplink], [mode], [hairpin], [nopromisc] -> null
 *             uplink: DPDK devargs, or a kernel interface name with [uplink_driver]
 *             ("af_packet" (default) | "af_xdp"): made the devargs net_af_packetN,iface=NAME
 *             uplink: DPDK devargs ("net_af_packet0,iface=eth1"); the network then has port
 *             NAME-uplink (kind "uplink"). macvtap networks need one; mode "vepa" (default)|
 *             "bridge"|"private"|"passthru"; hairpin "external" (default)|"emulated";
 *             nopromisc (passthru: the uplink is not made promiscuous).
 *   net.set   name, [mode], [hairpin]      -> null (macvtap; the mode only without ports)
 *   net.del   name                         -> null (no ports but its uplink, which goes too)
 *   net.list                               -> [{name, type, ports, fdb_entries, uplink,
 *                                              [mode, hairpin, nopromisc]}]
 *   net.show  name                         -> {..., port_names, fdb{...}, uplink_link{devargs,
 *                                              driver, ifname, carrier, carrier_changes,
 *                                              operstate, mtu, promiscuity, uplink_mac,
 *                                              addresses, filter{method, unicast,
 *                                              promiscuous, allmulticast, mac_lent, ...}}}
 *   port.add  name, kind("vhost"), path, [server], [mac], [queues], [net], [mtu]   -> null
 *             (mtu: vhost, tap, vnet; refused above the network's guest MTU)
 *   port.del  name                         -> null
 *   port.announce name                     -> null  (RARP + gratuitous ARPs of the port's
 *             guest, at once or at its next link-up: vn_switch_port_announce())
 *   port.set  name, [vlan_mode], [vlan], [vlans], [tpid], [lock_mac], [allowed_ip],
 *             [allow_dhcp_server], [allow_ra], [inbound], [outbound]   -> null
 *             Changes the port's L2 policy (members not given are kept; see policy.h):
 *             vlan_mode "access"|"trunk"|"native-untagged"|"native-tagged"|"dot1q-tunnel"|
 *             "none" (clears vlan, vlans, tpid); vlan 1-4094; vlans "10,20-30" or [10, 20];
 *             tpid "0x88a8" (dot1q-tunnel; also 0x8100, 0x9100, 0x9200); lock_mac,
 *             allow_dhcp_server, allow_ra true|false; allowed_ip "a,b", ["a", "b"] or "none";
 *             inbound/outbound "average=KBps[,peak=KBps][,burst=KiB]", {average, peak, burst}
 *             or "none". port.add also takes these in an optional "policy" object.
 *             reflective_relay true|false (ports of bridge networks): frames may go back out
 *             of the port they came in by (the Linux bridge's hairpin flag).
 *   port.list                              -> [{name, kind, net, mac, link, path,
 *                                              reflective_relay, [macvtap_mode], ...}]
 *             an uplink also shows its link (as net.show's uplink_link), ethdev_port, queues
 *             and wire{rx_packets, tx_packets, ...}: what its PMD counted
 *   port.show name                         -> {..., policy{...}, slot, stats{...}}
 *             policy (the policy in force): {vlan_mode, vlan, vlans: [ids], untagged_lan,
 *             tpid, default_uplink, lock_mac, allowed_ip: [...], allow_dhcp_server,
 *             allow_ra, inbound, outbound: null | {average, peak, burst, bucket_bytes,
 *             peak_bucket_bytes}}
 *   fdb.show  [net]                        -> [{net, vlan, mac, port, type, age}]
 *   fdb.add   mac, port                    -> null
 *   fdb.flush [net]                        -> {removed}
 *   stats     [port], [vm]                 -> {ports: [{name, net, vm_uuid, vm_name, COUNTERS}],
 *                                              vms: [{vm_uuid, vm_name, ports, COUNTERS}],
 *                                              ledger{...}, workers, limits}
 *   stats.reset [vm], [port]               -> {reset: n}
 *   log.level [level]                      -> {level, previous (when level was given)}
 *   net.add type "nat": subnet, [gateway], external, external_ip|masquerade,
 *             [external_gateway], [port_range], [dhcp_range], [dhcp_host], [mtu], [dns],
 *             [conntrack_max], [conntrack_timeouts] (see nat.h and the README)
 *   nat.forward.add  net, proto("tcp"|"udp"), external_port, to("IP:PORT") -> null
 *   nat.forward.del  net, proto, external_port   -> null
 *   nat.forward.list [net]                 -> [{net, [port], proto, external_port, to}]
 *   nat.conntrack    [net]                 -> [{net, proto, state, original{src, dst,
 *                                              sport, dport | id}, reply{...}, snat, dnat,
 *                                              expires_in, packets_original, ...}]
 *   nat.conntrack.flush [net]              -> {removed}
 *   port.set/port.add of a NAT network's port: [floating_ip] (IP|"none"),
 *             [forward] ("tcp:2222:22,..."|"none"), reported under policy
 *   capture.start port, [count], [duration], [snaplen]   + the output file's descriptor
 *                                             passed with SCM_RIGHTS -> capture status
 *   capture.status id / capture.stop id    -> {id, port, state (running|done|failed),
 *                                              packets, bytes, dropped, seconds, reason, error}
 *   trace     port, [frame] | [src], [dst], [vlan], [ip], [proto], [sport], [dport], [len]
 *                                        -> {port, net, net_type, frame, steps: [{step, verdict,
 *                                            reason}], truncated, destinations: [{port, vlan,
 *                                            tpid, tagged, len, encap}], drops{reason: n},
 *                                            verdict ("forwarded"|"dropped")}
 *             a dry run of the frame through the pipeline (include/vnicd/trace.h): nothing is
 *             sent, learned or counted.
 *   libvirt.status                         -> {enabled, [uri, auto, connected, connects,
 *                                              connect_failures, disconnects, events,
 *                                              reconciles, requests, requests_failed,
 *                                              xml_errors, conflicts, libvirt_errors, domains]}
 *             the libvirt listener (include/vnicd/virt_events.h); enabled false: none
 * COUNTERS: rx_packets rx_bytes tx_packets tx_bytes, {rx,tx}_{unicast,multicast,broadcast,
 * local,external,tunnel}_{packets,bytes}, drops{reason: n}, drops_total (totals kept in the
 * accounting ledger across port removal and restarts).
 * Peers are checked with SO_PEERCRED: root, the daemon's own uid, or a member of the
 * socket's group (socket_group: the peer's primary group, or its supplementary groups as
 * SO_PEERGROUPS reports them at connect time; the user database only on kernels before
 * 4.13) may connect. Of max_clients connections the last is kept for root.
 */
#ifndef VNICD_CTL_H
#define VNICD_CTL_H

#include <glib.h>
#include <sys/socket.h>

#include "vnicd/switch.h"

#define VN_CTL_MAX_LINE (64 * 1024)
#define VN_CTL_MAX_DEPTH 32		  /* [ and { levels of a request line */
#define VN_CTL_MAX_OUT (8u * 1024 * 1024) /* unread reply bytes before a client is closed */

struct vn_ctl;

/**
 * vn_ctl_handle_line() - parse one request line, run it against @sw, and return the
 * response line (without the newline; g_free it). Never fails: malformed input yields an
 * error response. Thread: control.
 */
char *vn_ctl_handle_line(struct vn_switch *sw, const char *line, gsize len);

/**
 * vn_ctl_start() - listen on @path (mode 0660, group @group when not NULL) and serve
 * requests from the default GLib main context, at most @max_clients at once (the last one
 * for root only, when @max_clients > 1); clients without a complete request for
 * @idle_timeout seconds are closed (0: never).
 * Return: the server, or NULL with @err set. Thread: control.
 */
struct vn_ctl *vn_ctl_start(struct vn_switch *sw, const char *path, const char *group,
			    unsigned max_clients, unsigned idle_timeout, GError **err);

/** vn_ctl_stop() - close every connection, unlink the socket, free. */
void vn_ctl_stop(struct vn_ctl *ctl);

/**
 * vn_ctl_handle_request() - vn_ctl_handle_line() for a request that came with descriptor
 * *@fd (-1: none): a request that needs one (capture.start) takes it and sets *@fd to -1;
 * otherwise it stays the caller's. Return: the response line (g_free it). Thread: control.
 */
char *vn_ctl_handle_request(struct vn_switch *sw, const char *line, gsize len, int *fd);

/*
 * Framing (backend/ctl_frame.c): a client's reads, however they split the byte stream, cut
 * into request lines; descriptors passed with SCM_RIGHTS belong to the next request line
 * (one a request: of several, the last is kept and the others closed); a descriptor the
 * request does not take is closed once it has been answered. Empty lines are skipped; a line
 * longer than VN_CTL_MAX_LINE, complete or not, ends the stream.
 */
struct vn_ctl_frame {
	GString *in;	/* bytes received, from the start of the pending line (pos) on */
	size_t pos;	/* start of the next line in @in */
	size_t scanned; /* bytes after @pos already known to hold no newline */
	int fd;		/* descriptor for the next request, or -1 */
	bool handed;	/* a line was handed out: its untaken @fd is closed at the next call */
};

/** vn_ctl_frame_init() - an empty stream, no descriptor. */
void vn_ctl_frame_init(struct vn_ctl_frame *f);

/** vn_ctl_frame_clear() - free the buffer and close a descriptor still held. */
void vn_ctl_frame_clear(struct vn_ctl_frame *f);

/**
 * vn_ctl_frame_push() - add what one recvmsg() returned: the descriptors of @mh's SCM_RIGHTS
 * messages (owned by @f from now on) and @n bytes of its first iovec. Call it only after
 * vn_ctl_frame_next() returned 0.
 */
void vn_ctl_frame_push(struct vn_ctl_frame *f, const struct msghdr *mh, size_t n);

/**
 * vn_ctl_frame_next() - the next request line: *@line points at it (no newline, not
 * NUL-terminated, valid until the next call) and f->fd is its descriptor, which the caller
 * may take (set it to -1). Return: the line's length, 0 when more bytes are needed, -E2BIG
 * when the line is longer than VN_CTL_MAX_LINE (close the stream).
 */
gssize vn_ctl_frame_next(struct vn_ctl_frame *f, const char **line);

#endif
