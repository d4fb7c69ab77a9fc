/* SPDX-License-Identifier: MIT */
/* A guest's announcement after it moved (migration, restore): RARP and gratuitous ARPs. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <rte_mbuf.h>

#include "switch_priv.h"
#include "vnicd/args.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/neigh.h"
#include "vnicd/policy.h"
#include "vnicd/uplink.h"

/*
 * `port.announce` (vnicctl port announce NAME; the libvirt hook at migrate/restore): a RARP
 * for the port's MAC, as QEMU's self-announcement after a migration makes it, and a
 * gratuitous ARP for each single IPv4 address the port's `allowed_ip` lists, injected as if
 * the guest had sent them (vn_dp_inject(): its ingress policy, the network's learning, so
 * switches upstream and an EVPN mirror see the MAC here at once). Sent ANN_ROUNDS times,
 * ANN_GAP_MS apart, at once when the port's link is up, else from its next link-up (a
 * migrated or restored guest connects when it runs on this host); the link is watched
 * every ANN_POLL_MS while any port waits.
 */
#define ANN_ROUNDS 3
#define ANN_GAP_MS 500
#define ANN_POLL_MS 50
#define ANN_MAX_IPS 16 /* gratuitous ARPs per round */
#define RARP_LEN 60

/* QEMU's announce_self_create(): a RARP request "who am I" from @mac, padded to 60 bytes. */
static void build_rarp(uint8_t *f, const struct rte_ether_addr *mac)
{
	memset(f, 0, RARP_LEN);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac->addr_bytes, 6);
	f[12] = 0x80, f[13] = 0x35;	    /* ETH_P_RARP */
	f[14] = 0x00, f[15] = 0x01;	    /* hardware: Ethernet */
	f[16] = 0x08, f[17] = 0x00;	    /* protocol: IPv4 */
	f[18] = 6, f[19] = 4;		    /* address lengths */
	f[20] = 0x00, f[21] = 0x03;	    /* reverse request */
	memcpy(f + 22, mac->addr_bytes, 6); /* sender hardware address */
	memcpy(f + 32, mac->addr_bytes, 6); /* target hardware address */
}

/* Inject @len bytes of @frame as received on @sp. Return: 0, or -errno. */
static int inject(struct vn_switch *sw, struct sw_port *sp, const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(sw->mp);
	char *d = m ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;

	if (!d) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	memcpy(d, frame, len);
	return vn_dp_inject(sw->dp, sp->port, m);
}

/* The single IPv4 addresses of @sp's allowed_ip (as `port show` gives them) into @ips. */
static unsigned allowed_v4(struct vn_switch *sw, struct sw_port *sp, uint32_t *ips)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	JsonArray *a;
	unsigned n = 0;

	vn_policy_describe(vn_dp_policy_get(sw->dp, sp->slot), b);
	root = json_builder_get_root(b);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root) ||
	    !json_object_has_member(json_node_get_object(root), "allowed_ip") ||
	    !JSON_NODE_HOLDS_ARRAY(
		json_object_get_member(json_node_get_object(root), "allowed_ip")))
		return 0;
	a = json_object_get_array_member(json_node_get_object(root), "allowed_ip");
	for (guint i = 0; i < json_array_get_length(a) && n < ANN_MAX_IPS; i++) {
		const char *s = json_array_get_string_element(a, i);
		g_autofree char *ip = g_strdup(s ? s : "");
		char *slash = strchr(ip, '/');
		if (slash && strcmp(slash, "/32") != 0)
			continue; /* a prefix: no one address to announce */
		if (slash)
			*slash = 0;
		if (inet_pton(AF_INET, ip, &ips[n]) == 1)
			n++;
	}
	return n;
}

/* One round of @sp's announcement. */
static void announce_round(struct vn_switch *sw, struct sw_port *sp)
{
	struct rte_ether_addr mac;
	uint8_t f[RARP_LEN > VN_NEIGH_ARP_LEN ? RARP_LEN : VN_NEIGH_ARP_LEN];
	uint32_t ips[ANN_MAX_IPS];
	unsigned nips = allowed_v4(sw, sp, ips), sent = 0;
	int len;

	if (!sp->mac || vn_mac_parse(sp->mac, &mac) < 0)
		return;
	build_rarp(f, &mac);
	sent += inject(sw, sp, f, RARP_LEN) == 0;
	for (unsigned i = 0; i < nips; i++) {
		struct vn_tun_addr a = {0};
		memcpy(a.a, &ips[i], 4);
		if ((len = vn_neigh_build_garp(f, sizeof(f), &mac, &a)) > 0)
			sent += inject(sw, sp, f, (size_t)len) == 0;
	}
	sp->announcements++;
	VN_INFO("port %s: announced %s (RARP and %u gratuitous ARP%s; %u of %u frames queued)",
		sp->name, sp->mac, nips, nips == 1 ? "" : "s", sent, nips + 1);
}

/* Send what is due; Return: true while some port waits for its link or has rounds left. */
static bool announce_run(struct vn_switch *sw)
{
	gint64 now = g_get_monotonic_time();
	bool busy = false;

	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		bool up = sp->port && sp->port->ops->link_up(sp->port);
		if (sp->ann_pending && up) {
			sp->ann_pending = false;
			sp->ann_rounds = ANN_ROUNDS;
			sp->ann_next = now;
		}
		if (sp->ann_rounds && up && now >= sp->ann_next) {
			announce_round(sw, sp);
			sp->ann_rounds--;
			sp->ann_next = now + ANN_GAP_MS * 1000;
		} else if (sp->ann_rounds && !up) {
			sp->ann_rounds = 0; /* gone again: its next connect is no move */
		}
		busy = busy || sp->ann_pending || sp->ann_rounds;
	}
	return busy;
}

/* Every ANN_POLL_MS while announce_run() has something to wait for. */
static gboolean announce_tick(gpointer ud)
{
	struct vn_switch *sw = ud;

	if (announce_run(sw))
		return G_SOURCE_CONTINUE;
	sw->ann_timer = 0;
	return G_SOURCE_REMOVE;
}

int vn_switch_port_announce(struct vn_switch *sw, JsonObject *args, GError **err)
{
	const char *name = NULL;
	struct sw_port *sp;
	int rc;

	if ((rc = vn_arg_str(args, "name", true, &name, err)) < 0)
		return rc;
	sp = find_port(sw, name);
	if (!sp)
		SET_ERR(ENOENT, "no port '%s'", name);
	if (sp->internal || sp->kind == &vn_uplink_kind)
		SET_ERR(EINVAL, "port '%s' is not a guest's: nothing to announce", name);
	if (!sp->mac)
		SET_ERR(EINVAL, "port '%s' has no MAC (port add --mac): nothing to announce", name);
	if (!sw->dp || !sp->port)
		return 0;	/* validation only */
	sp->ann_pending = true; /* sent at once when the link is up */
	sp->ann_rounds = 0;
	if (announce_run(sw) && !sw->ann_timer)
		sw->ann_timer = g_timeout_add(ANN_POLL_MS, announce_tick, sw);
	return 0;
}

void sw_announce_stop(struct vn_switch *sw)
{
	if (sw->ann_timer)
		g_source_remove(sw->ann_timer);
	sw->ann_timer = 0;
}
