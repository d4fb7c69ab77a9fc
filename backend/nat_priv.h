/* SPDX-License-Identifier: MIT */
/* The NAT network kind's own structures, shared by net_nat.c (the kind) and nat_leg.c (its legs).
 */
#ifndef VNICD_NAT_PRIV_H
#define VNICD_NAT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <rte_ring.h>

#include "vnicd/datapath.h"
#include "vnicd/dhcp.h"
#include "vnicd/host_filter.h"
#include "vnicd/nat.h"
#include "vnicd/neigh.h"
#include "vnicd/port.h"

struct nat_net;

#define NAT_LEG_QUEUES 16 /* tx queues of a leg: one per worker (VN_MAX_WORKERS) */

/*
 * One leg of the NAT router: a slot of its own in a network (side 0: the gateway leg in the
 * NAT network; side 1: the external leg in the --external network). What its network
 * delivers to it comes to tx_burst (a worker): ARP and DHCP are punted to the control
 * thread (@punt), IPv4 to its MAC is translated and queued on the leg it leaves by (@inj,
 * which rx_burst reads; @efd wakes its worker).
 */
struct nat_leg {
	struct vn_port base;
	struct nat_net *nn;
	int side;
	struct rte_ether_addr mac;
	struct rte_ring *inj, *punt;
	int efd;
	int armed; /* workers sleeping on @efd (rx_intr armed): inject() must kick them */
	uint64_t punt_drops, inj_drops, not_mine; /* atomic adds */
	/* the connection of each worker's last burst, kept for its next one (tx queue q is
	 * worker q's: NAT_LEG_QUEUES of them); used only by that worker */
	struct {
		struct vn_nat_memo mm;
	} __rte_cache_aligned memo[NAT_LEG_QUEUES];
};

/** The NAT policy of one guest port (`port set --floating-ip`, `--forward`), by slot. */
struct nat_port {
	bool used;
	bool has_mac;
	char name[VN_NAME_MAX];
	struct rte_ether_addr mac; /* its --mac (else the MAC learned on its slot) */
	uint32_t fip;		   /* 0: none */
	uint32_t in;		   /* its guest's address as last found (0: unknown) */
	struct {
		uint8_t proto;
		uint16_t ext, in;
	} fwd[8];
	unsigned nfwd;
};

/** A NAT network (embeds struct vn_net first). */
struct nat_net {
	struct vn_net base;
	struct vn_nat nat; /* the engine (its ct made in create) */
	char *subnet_s, *gateway_s, *external, *external_ip_s, *external_gw_s, *port_range_s,
	    *dhcp_range_s, *timeouts_s, *dhcp_host_s, *dns_s;
	bool masquerade;
	struct rte_ether_addr masq_mac; /* --masquerade: the uplink interface's MAC */
	uint8_t prefix, ext_prefix;
	uint32_t ct_max;
	uint16_t mtu; /* --mtu: the DHCP MTU option (0: none) */
	struct vn_net *ext_net;
	struct nat_leg *leg[2];
	struct vn_neigh *neigh[2];
	struct rte_ring *resolve;    /* (side << 32 | ip) asked by workers */
	struct vn_dhcp *dhcp;	     /* NULL without --dhcp-range */
	struct nat_port *ports;	     /* [VN_MAX_PORTS_HARD] */
	struct nat_dns *dns;	     /* the DNS forwarder, or NULL */
	struct nat_dns_tcp *dns_tcp; /* its DNS over TCP, or NULL */
	struct vn_hfilter *hfilter;  /* --masquerade: the host filter (NULL: none) */
	const struct vn_net_host *host;
	struct vn_dp *dp;
	guint poll_src;
	uint64_t last_tick, last_addr_check;
	uint64_t resolve_drops;
};

/* nat_leg.c */
int nat_legs_make(struct nat_net *nn, GError **err);
void nat_legs_free(struct nat_net *nn);
void nat_legs_describe(struct nat_net *nn, JsonBuilder *b);
uint64_t nat_now_ms(void);
void nat_legs_announce(struct nat_net *nn, uint32_t ip);
/* send @frame out of leg @side (control thread) */
void nat_leg_send(struct nat_net *nn, int side, const uint8_t *frame, size_t len);

/* nat_dns.c: the DNS forwarder (control thread) */
struct nat_dns;
int nat_dns_start(struct nat_net *nn, uint32_t ip, uint16_t port);
void nat_dns_stop(struct nat_net *nn);
void nat_dns_query(struct nat_net *nn, const uint8_t *frame, size_t len, uint64_t now);
void nat_dns_describe(struct nat_net *nn, JsonBuilder *b);
/* nat_dns_tcp.c: DNS over TCP at the gateway, relayed to the same upstream (control thread) */
struct sockaddr_in;
int nat_dns_tcp_start(struct nat_net *nn, const struct sockaddr_in *up);
void nat_dns_tcp_stop(struct nat_net *nn);
/* a TCP segment a guest sent to the gateway's port 53 (punted) */
void nat_dns_tcp_input(struct nat_net *nn, const uint8_t *frame, size_t len, uint64_t now);
/* retransmission and idle timers (every poll of the legs) */
void nat_dns_tcp_tick(struct nat_net *nn, uint64_t now);
void nat_dns_tcp_describe(const struct nat_net *nn, JsonBuilder *b);
/* --masquerade: the external address, prefix, gateway and MAC from the uplink's kernel
 * interface. Return: 0, or -errno (no interface, no IPv4 address). */
int nat_masquerade_read(struct nat_net *nn);

/* nat_port.c: per-port NAT policy (control thread) */
int nat_port_apply(struct nat_net *nn, struct vn_port *port, JsonObject *args, GError **err);
void nat_port_leave(struct nat_net *nn, uint16_t slot);
void nat_port_refresh(struct nat_net *nn);
bool nat_port_is_floating(const struct nat_net *nn, uint32_t a);
const char *nat_port_name(const struct nat_net *nn, uint16_t slot);
void nat_port_describe(struct nat_net *nn, JsonBuilder *b);

#endif
