/* SPDX-License-Identifier: MIT */
/* Which address an interface holds: a one-shot look into a namespace's kernel (libnl-3). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "vnicd/netlink.h"

struct held {
	int ifindex;
	int family;
	const uint8_t *a;
	bool found;
};

static void addr_each(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *ra = (struct rtnl_addr *)obj;
	struct nl_addr *local = rtnl_addr_get_local(ra);
	struct held *h = arg;

	if (h->found || rtnl_addr_get_ifindex(ra) != h->ifindex || !local ||
	    nl_addr_get_family(local) != h->family)
		return;
	h->found =
	    memcmp(nl_addr_get_binary_addr(local), h->a, h->family == AF_INET6 ? 16 : 4) == 0;
}

/* In the thread's namespace: does @ifname hold @h's address? Its MAC into @mac. */
static int held_here(const char *ifname, struct held *h, struct rte_ether_addr *mac)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *link = NULL;
	struct nl_cache *addrs = NULL;
	struct nl_addr *ll;
	int rc = -ENODEV;

	if (!sk || nl_connect(sk, NETLINK_ROUTE) < 0) {
		rc = -EIO;
		goto out;
	}
	if (rtnl_link_get_kernel(sk, 0, ifname, &link) < 0)
		goto out;
	h->ifindex = rtnl_link_get_ifindex(link);
	ll = rtnl_link_get_addr(link);
	if (ll && nl_addr_get_len(ll) == RTE_ETHER_ADDR_LEN)
		memcpy(mac->addr_bytes, nl_addr_get_binary_addr(ll), RTE_ETHER_ADDR_LEN);
	rc = -EIO;
	if (rtnl_addr_alloc_cache(sk, &addrs) < 0)
		goto out;
	nl_cache_foreach(addrs, addr_each, h);
	rc = h->found ? 1 : 0;
out:
	if (addrs)
		nl_cache_free(addrs);
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return rc;
}

int vn_nl_addr_held(const char *ns, const char *ifname, bool v6, const uint8_t *addr,
		    struct rte_ether_addr *mac)
{
	struct held h = {.family = v6 ? AF_INET6 : AF_INET, .a = addr};
	int handle = vn_netns_enter(ns, NULL), rc;

	if (handle < -1)
		return handle;
	rc = held_here(ifname, &h, mac);
	vn_netns_leave(handle);
	return rc;
}

struct lpm {
	int family, ifindex;
	const uint8_t *dst;
	int best; /* prefix length of the best route so far, -1: none */
	bool has_gw;
	uint8_t gw[16];
};

/* Does prefix @p/@plen (bytes) cover @dst? */
static bool covers(const uint8_t *p, unsigned plen, const uint8_t *dst)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(p, dst, full) != 0)
		return false;
	return !rest || ((p[full] ^ dst[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static void route_each(struct nl_object *obj, void *arg)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct lpm *l = arg;
	struct nl_addr *d = rtnl_route_get_dst(r);
	struct rtnl_nexthop *nh;
	struct nl_addr *gw;
	int plen;

	if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_family(r) != l->family ||
	    rtnl_route_get_type(r) != RTN_UNICAST || rtnl_route_get_nnexthops(r) < 1)
		return;
	plen = d ? (int)nl_addr_get_prefixlen(d) : 0;
	if (plen <= l->best ||
	    (plen && !covers(nl_addr_get_binary_addr(d), (unsigned)plen, l->dst)))
		return;
	nh = rtnl_route_nexthop_n(r, 0);
	if (rtnl_route_nh_get_ifindex(nh) != l->ifindex)
		return;
	l->best = plen;
	gw = rtnl_route_nh_get_gateway(nh);
	l->has_gw = gw && nl_addr_get_family(gw) == l->family;
	if (l->has_gw)
		memcpy(l->gw, nl_addr_get_binary_addr(gw), l->family == AF_INET6 ? 16 : 4);
}

int vn_nl_route_gateway(int ifindex, bool v6, const uint8_t *dst, uint8_t *gw)
{
	struct lpm l = {
	    .family = v6 ? AF_INET6 : AF_INET, .ifindex = ifindex, .dst = dst, .best = -1};
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *routes = NULL;
	int rc = -EIO;

	if (sk && nl_connect(sk, NETLINK_ROUTE) == 0 &&
	    rtnl_route_alloc_cache(sk, l.family, 0, &routes) == 0) {
		nl_cache_foreach(routes, route_each, &l);
		rc = l.best < 0 ? -ENOENT : l.has_gw ? 1 : 0;
		if (l.has_gw)
			memcpy(gw, l.gw, v6 ? 16 : 4);
	}
	if (routes)
		nl_cache_free(routes);
	nl_socket_free(sk);
	return rc;
}

struct first4 {
	int ifindex;
	bool found;
	uint8_t a[4];
	unsigned plen;
};

static void addr4_each(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *ra = (struct rtnl_addr *)obj;
	struct nl_addr *local = rtnl_addr_get_local(ra);
	struct first4 *f = arg;

	if (f->found || rtnl_addr_get_ifindex(ra) != f->ifindex || !local ||
	    nl_addr_get_family(local) != AF_INET)
		return;
	memcpy(f->a, nl_addr_get_binary_addr(local), 4);
	f->plen = (unsigned)rtnl_addr_get_prefixlen(ra);
	f->found = true;
}

int vn_nl_addr4_of(int ifindex, uint8_t a[4], unsigned *plen, struct rte_ether_addr *mac)
{
	struct first4 f = {.ifindex = ifindex};
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *addrs = NULL;
	struct rtnl_link *link = NULL;
	int rc = -EIO;

	if (!sk || nl_connect(sk, NETLINK_ROUTE) < 0)
		goto out;
	if (rtnl_link_get_kernel(sk, ifindex, NULL, &link) == 0) {
		struct nl_addr *ll = rtnl_link_get_addr(link);
		if (ll && nl_addr_get_len(ll) == RTE_ETHER_ADDR_LEN)
			memcpy(mac->addr_bytes, nl_addr_get_binary_addr(ll), RTE_ETHER_ADDR_LEN);
		rtnl_link_put(link);
	}
	if (rtnl_addr_alloc_cache(sk, &addrs) < 0)
		goto out;
	nl_cache_foreach(addrs, addr4_each, &f);
	rc = f.found ? 0 : -ENOENT;
	if (f.found) {
		memcpy(a, f.a, 4);
		*plen = f.plen;
	}
out:
	if (addrs)
		nl_cache_free(addrs);
	nl_socket_free(sk);
	return rc;
}
