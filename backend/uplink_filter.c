/* SPDX-License-Identifier: MIT */
/* The uplink's receive filter (kernel memberships or ethdev MAC filter) and its MAC. */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <rte_ethdev.h>

#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/uplink.h"
#include "uplink_priv.h"

int up_membership(struct uplink_port *up, int type, const struct rte_ether_addr *mac, bool add)
{
	struct packet_mreq mr = {.mr_ifindex = up->ifindex, .mr_type = (unsigned short)type};

	if (mac) {
		mr.mr_alen = RTE_ETHER_ADDR_LEN;
		memcpy(mr.mr_address, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	}
	if (setsockopt(up->mfd, SOL_PACKET, add ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP,
		       &mr, sizeof(mr)) != 0)
		return -errno;
	return 0;
}

static int uc_add(struct uplink_port *up, const struct rte_ether_addr *mac)
{
	int rc;

	if (up->way == FILTER_KERNEL)
		return up_membership(up, PACKET_MR_UNICAST, mac, true);
	rc = rte_eth_dev_mac_addr_add(up->port_id, (struct rte_ether_addr *)mac, 0);
	return rc;
}

void up_uc_del(struct uplink_port *up, const struct rte_ether_addr *mac)
{
	if (up->way == FILTER_KERNEL)
		up_membership(up, PACKET_MR_UNICAST, mac, false);
	else
		rte_eth_dev_mac_addr_remove(up->port_id, (struct rte_ether_addr *)mac);
}

static int promisc_set(struct uplink_port *up, bool on)
{
	if (up->way == FILTER_KERNEL)
		return up_membership(up, PACKET_MR_PROMISC, NULL, on);
	return on ? rte_eth_promiscuous_enable(up->port_id)
		  : rte_eth_promiscuous_disable(up->port_id);
}

static bool in_set(const struct rte_ether_addr *set, unsigned n, const struct rte_ether_addr *m)
{
	for (unsigned i = 0; i < n; i++)
		if (rte_is_same_ether_addr(&set[i], m))
			return true;
	return false;
}

int vn_uplink_filter(struct vn_port *port, const struct rte_ether_addr *macs, unsigned n,
		     bool promisc, GError **err)
{
	struct uplink_port *up = up_of(port);
	bool want_promisc, had_promisc = up->promisc || up->promisc_fallback;
	int rc;

	/* drop what is no longer behind the uplink */
	for (guint i = 0; i < up->uc->len;) {
		struct rte_ether_addr *m = &g_array_index(up->uc, struct rte_ether_addr, i);
		if (in_set(macs, n, m)) {
			i++;
			continue;
		}
		up_uc_del(up, m);
		g_array_remove_index(up->uc, i);
	}
	up->promisc_fallback = false;
	for (unsigned i = 0; i < n; i++) {
		if (in_set((struct rte_ether_addr *)(void *)up->uc->data, up->uc->len, &macs[i]) ||
		    in_set(macs, i, &macs[i]))
			continue;
		rc = uc_add(up, &macs[i]);
		if (rc < 0 && up->way == FILTER_ETHDEV) {
			/* no room (or no filter): receive everything */
			up->promisc_fallback = true;
			continue;
		}
		if (rc < 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "uplink %s: cannot add a unicast address to %s: %s", port->name,
				    up->kl.ifname, g_strerror(-rc));
			return rc;
		}
		g_array_append_val(up->uc, macs[i]);
	}
	want_promisc = promisc || up->promisc_fallback;
	if (want_promisc != had_promisc) {
		rc = promisc_set(up, want_promisc);
		if (rc < 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "uplink %s: cannot turn promiscuous mode %s: %s", port->name,
				    want_promisc ? "on" : "off", g_strerror(-rc));
			up->promisc_fallback = false;
			return rc;
		}
		VN_INFO("uplink %s: promiscuous mode %s%s", port->name, want_promisc ? "on" : "off",
			up->promisc_fallback ? " (its MAC filter is full or missing)" : "");
	}
	up->promisc = promisc;
	return 0;
}

int vn_uplink_set_mac(struct vn_port *port, const struct rte_ether_addr *mac, GError **err)
{
	struct uplink_port *up = up_of(port);
	const struct rte_ether_addr *to = mac ? mac : &up->orig_mac;
	int rc;

	if (rte_is_same_ether_addr(to, &up->mac))
		goto done;
	rc = rte_eth_dev_default_mac_addr_set(up->port_id, (struct rte_ether_addr *)to);
	if (rc < 0 && up->ifindex > 0) /* the PMD cannot: ask the kernel */
		rc = vn_klink_set(up->nl, up->ifindex, &(struct vn_klink_change){.mac = to}, NULL);
	if (rc < 0) {
		char s[RTE_ETHER_ADDR_FMT_SIZE];
		vn_mac_format(to, s);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "uplink %s: cannot set its MAC to %s: %s", port->name, s,
			    g_strerror(-rc));
		return rc;
	}
	up->mac = *to;
	up->kl.mac = *to;
done:
	up->mac_changed = mac != NULL && !rte_is_same_ether_addr(mac, &up->orig_mac);
	port->mac = up->mac;
	if (up->sees_own_tx)
		__atomic_store_n(&up->own, up->mac_changed ? NO_SKIP : mac48(&up->mac),
				 __ATOMIC_RELAXED);
	return 0;
}

bool vn_uplink_lent_mac(const struct vn_port *port, struct rte_ether_addr *orig)
{
	const struct uplink_port *up = cup_of(port);

	*orig = up->orig_mac;
	return up->mac_changed;
}

int vn_uplink_reclaim_mac(struct vn_port *port, const struct rte_ether_addr *orig, GError **err)
{
	struct uplink_port *up = up_of(port);

	if (!rte_is_valid_assigned_ether_addr(orig)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "uplink %s: invalid original MAC", port->name);
		return -EINVAL;
	}
	if (!rte_is_same_ether_addr(orig, &up->orig_mac)) {
		char s[RTE_ETHER_ADDR_FMT_SIZE];
		vn_mac_format(orig, s);
		VN_INFO("uplink %s: its own MAC is %s (lent to a passthru port when vnicd ended)",
			port->name, s);
	}
	up->orig_mac = *orig;
	return vn_uplink_set_mac(port, NULL, err);
}

void vn_uplink_get_mac(const struct vn_port *port, struct rte_ether_addr *mac)
{
	const struct uplink_port *up = cup_of(port);

	*mac = up->ifindex > 0 && up->kl.present ? up->kl.mac : up->mac;
}

bool vn_port_is_uplink(const struct vn_port *p)
{
	return p && strcmp(p->ops->kind, "uplink") == 0;
}
