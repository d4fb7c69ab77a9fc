/* SPDX-License-Identifier: MIT */
/* The kernel's view of uplink interfaces: libnl-3 route/link and route/addr caches. */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include <glib-unix.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "vnicd/log.h"
#include "vnicd/uplink.h"

struct vn_klink_watch {
	int ifindex;
	vn_klink_cb cb;
	void *ud;
};

/* One cache manager for every watch, in the namespace the first watch was made in. */
static struct {
	struct nl_cache_mngr *mngr;
	struct nl_cache *links, *addrs;
	guint src;
	GPtrArray *watches;
} nl;

static void fill(struct rtnl_link *l, bool present, struct vn_klink *out)
{
	struct nl_addr *a = rtnl_link_get_addr(l);
	unsigned flags = rtnl_link_get_flags(l);

	memset(out, 0, sizeof(*out));
	out->ifindex = rtnl_link_get_ifindex(l);
	out->present = present;
	out->admin_up = flags & IFF_UP;
	out->carrier = present && out->admin_up && rtnl_link_get_carrier(l) != 0;
	g_strlcpy(out->ifname, rtnl_link_get_name(l) ? rtnl_link_get_name(l) : "",
		  sizeof(out->ifname));
	rtnl_link_operstate2str(rtnl_link_get_operstate(l), out->operstate, sizeof(out->operstate));
	for (char *p = out->operstate; *p; p++)
		*p = g_ascii_tolower(*p);
	out->mtu = rtnl_link_get_mtu(l);
	out->promiscuity = rtnl_link_get_promiscuity(l);
	if (a && nl_addr_get_len(a) == RTE_ETHER_ADDR_LEN)
		memcpy(out->mac.addr_bytes, nl_addr_get_binary_addr(a), RTE_ETHER_ADDR_LEN);
}

static void notify(int ifindex, const struct vn_klink *l)
{
	for (guint i = 0; nl.watches && i < nl.watches->len; i++) {
		struct vn_klink_watch *w = nl.watches->pdata[i];
		if (w->ifindex == ifindex)
			w->cb(w->ud, l);
	}
}

static void on_change(struct nl_cache *cache, struct nl_object *obj, int action, void *arg)
{
	struct vn_klink k;
	int ifindex;

	if (cache == nl.links) {
		struct rtnl_link *l = (struct rtnl_link *)obj;
		fill(l, action != NL_ACT_DEL, &k);
		notify(k.ifindex, &k);
		return;
	}
	/* an address came or went: report the link as it is */
	ifindex = rtnl_addr_get_ifindex((struct rtnl_addr *)obj);
	{
		struct rtnl_link *l = rtnl_link_get(nl.links, ifindex);
		if (!l)
			return;
		fill(l, true, &k);
		rtnl_link_put(l);
		notify(ifindex, &k);
	}
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer ud)
{
	int rc = nl_cache_mngr_data_ready(nl.mngr);

	if (rc < 0)
		VN_LOG_RL(VN_LOG_WARN, "netlink: reading link notifications failed: %s",
			  nl_geterror(rc));
	return G_SOURCE_CONTINUE;
}

static void nl_teardown(void)
{
	if (nl.src)
		g_source_remove(nl.src);
	if (nl.mngr)
		nl_cache_mngr_free(nl.mngr); /* frees its caches */
	if (nl.watches)
		g_ptr_array_free(nl.watches, TRUE);
	memset(&nl, 0, sizeof(nl));
}

static int nl_setup(GError **err)
{
	int rc;

	if (nl.mngr)
		return 0;
	rc = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, NL_AUTO_PROVIDE, &nl.mngr);
	if (rc == 0)
		rc = nl_cache_mngr_add(nl.mngr, "route/link", on_change, NULL, &nl.links);
	if (rc == 0)
		rc = nl_cache_mngr_add(nl.mngr, "route/addr", on_change, NULL, &nl.addrs);
	if (rc < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot read the kernel's interfaces through netlink: %s",
			    nl_geterror(rc));
		nl_teardown();
		return -EIO;
	}
	nl.watches = g_ptr_array_new_with_free_func(g_free);
	nl.src = g_unix_fd_add(nl_cache_mngr_get_fd(nl.mngr), G_IO_IN, on_readable, NULL);
	return 0;
}

struct vn_klink_watch *vn_klink_watch(int ifindex, vn_klink_cb cb, void *ud, struct vn_klink *now,
				      GError **err)
{
	struct vn_klink_watch *w;
	struct rtnl_link *l;

	if (nl_setup(err) < 0)
		return NULL;
	l = rtnl_link_get(nl.links, ifindex);
	if (!l) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no interface with index %d",
			    ifindex);
		if (nl.watches->len == 0)
			nl_teardown();
		return NULL;
	}
	fill(l, true, now);
	rtnl_link_put(l);
	w = g_new0(struct vn_klink_watch, 1);
	w->ifindex = ifindex;
	w->cb = cb;
	w->ud = ud;
	g_ptr_array_add(nl.watches, w);
	return w;
}

void vn_klink_unwatch(struct vn_klink_watch *w)
{
	if (!w || !nl.watches)
		return;
	g_ptr_array_remove(nl.watches, w); /* frees it */
	if (nl.watches->len == 0)
		nl_teardown();
}

struct addr_walk {
	int ifindex;
	JsonBuilder *b;
};

static void addr_cb(struct nl_object *obj, void *arg)
{
	struct addr_walk *aw = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	char buf[INET6_ADDRSTRLEN + 8];

	if (rtnl_addr_get_ifindex(a) != aw->ifindex || !rtnl_addr_get_local(a))
		return;
	nl_addr2str(rtnl_addr_get_local(a), buf, sizeof(buf));
	json_builder_add_string_value(aw->b, buf);
}

void vn_klink_addresses(int ifindex, JsonBuilder *b)
{
	struct addr_walk aw = {ifindex, b};

	if (nl.addrs)
		nl_cache_foreach(nl.addrs, addr_cb, &aw);
}

static int nle_errno(int nle)
{
	switch (-nle) {
	case NLE_BUSY:
		return EBUSY;
	case NLE_PERM:
		return EPERM;
	case NLE_INVAL:
		return EINVAL;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_NODEV:
	case NLE_OBJ_NOTFOUND:
		return ENODEV;
	default:
		return EIO;
	}
}

int vn_klink_get(int ifindex, struct vn_klink *out)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *l = NULL;
	int rc = -NLE_NOMEM;

	if (sk && (rc = nl_connect(sk, NETLINK_ROUTE)) == 0 &&
	    (rc = rtnl_link_get_kernel(sk, ifindex, NULL, &l)) == 0) {
		fill(l, true, out);
		rtnl_link_put(l);
	}
	nl_socket_free(sk);
	return rc < 0 ? -nle_errno(rc) : 0;
}

int vn_klink_set_mac(int ifindex, const struct rte_ether_addr *mac, GError **err)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *orig = NULL, *chg = NULL;
	struct nl_addr *a = NULL;
	int rc = -NLE_NOMEM;

	if (!sk)
		goto out;
	if ((rc = nl_connect(sk, NETLINK_ROUTE)) < 0 ||
	    (rc = rtnl_link_get_kernel(sk, ifindex, NULL, &orig)) < 0)
		goto out;
	chg = rtnl_link_alloc();
	a = nl_addr_build(AF_LLC, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	if (!chg || !a) {
		rc = -NLE_NOMEM;
		goto out;
	}
	rtnl_link_set_addr(chg, a);
	rc = rtnl_link_change(sk, orig, chg, 0);
out:
	if (rc < 0)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot set the MAC of interface %d: %s", ifindex, nl_geterror(rc));
	nl_addr_put(a);
	if (chg)
		rtnl_link_put(chg);
	if (orig)
		rtnl_link_put(orig);
	nl_socket_free(sk);
	return rc < 0 ? -nle_errno(rc) : 0;
}
