/* SPDX-License-Identifier: MIT */
/*
 * EVPN's kernel mirror in FRR's namespace: the devices of each VNI, the mirror port's FDB
 * entries, and the bridge FDB as the kernel reports it (a dump, then RTNLGRP_NEIGH events).
 * See evpn.h for what they are for. Control thread; the sockets are made inside the
 * namespace once, so nothing here enters it again.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>

#include "vnicd/args.h"
#include "vnicd/log.h"
#include "vnicd/netlink.h"

#include "evpn_priv.h"

#define EVK_RCVBUF (4 << 20) /* events queued before ENOBUFS */

struct evk {
	struct nl_sock *req; /* requests and dumps */
	struct nl_sock *ev;  /* RTNLGRP_NEIGH */
	evk_cb cb;	     /* of the dump or read in progress */
	void *ud;
};

/* ---- sockets ---- */

static struct nl_sock *sock_in_ns(bool events)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (!sk)
		return NULL;
	if (events)
		nl_socket_disable_seq_check(sk);
	if (nl_connect(sk, NETLINK_ROUTE) < 0) {
		nl_socket_free(sk);
		return NULL;
	}
	if (events &&
	    (nl_socket_add_membership(sk, RTNLGRP_NEIGH) < 0 || nl_socket_set_nonblocking(sk) < 0 ||
	     nl_socket_set_buffer_size(sk, EVK_RCVBUF, 0) < 0)) {
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

int evk_open(const char *ns, struct evk **out, GError **err)
{
	g_autofree struct evk *k = g_new0(struct evk, 1);
	int h = vn_netns_enter(ns, err);

	if (h < -1)
		return h;
	k->req = sock_in_ns(false);
	k->ev = k->req ? sock_in_ns(true) : NULL;
	vn_netns_leave(h);
	if (!k->ev) {
		if (k->req)
			nl_socket_free(k->req);
		VN_FAIL(err, EIO, "cannot open netlink sockets in namespace '%s'", ns ? ns : "");
	}
	*out = g_steal_pointer(&k);
	return 0;
}

void evk_close(struct evk *k)
{
	if (!k)
		return;
	nl_socket_free(k->ev);
	nl_socket_free(k->req);
	g_free(k);
}

int evk_event_fd(const struct evk *k)
{
	return nl_socket_get_fd(k->ev);
}

/* ---- devices ---- */

static void dev_names(uint32_t vni, char br[16], char vx[16], char md[16], char mp[16])
{
	snprintf(br, 16, "vnb%u", vni);
	snprintf(vx, 16, "vnx%u", vni);
	snprintf(md, 16, "vnm%u", vni);
	snprintf(mp, 16, "vnp%u", vni);
}

/* The ifindex of @name, or -ENODEV; the link itself in *@out when @out. */
static int link_get(struct evk *k, const char *name, struct rtnl_link **out)
{
	struct rtnl_link *l = NULL;
	int idx;

	if (rtnl_link_get_kernel(k->req, 0, name, &l) < 0 || !l)
		return -ENODEV;
	idx = rtnl_link_get_ifindex(l);
	if (out)
		*out = l;
	else
		rtnl_link_put(l);
	return idx;
}

struct vni_user {
	uint32_t vni;
	const char *ours;
	char *who;
	size_t len;
	bool found;
};

static void vni_each(struct nl_object *o, void *arg)
{
	struct rtnl_link *l = (struct rtnl_link *)o;
	struct vni_user *u = arg;
	uint32_t id;

	if (u->found || !rtnl_link_is_vxlan(l) || rtnl_link_vxlan_get_id(l, &id) < 0 ||
	    id != u->vni || strcmp(rtnl_link_get_name(l), u->ours) == 0)
		return;
	g_strlcpy(u->who, rtnl_link_get_name(l), u->len);
	u->found = true;
}

int evk_vni_user(struct evk *k, uint32_t vni, char *who, size_t len)
{
	char br[16], vx[16], md[16], mp[16];
	struct vni_user u = {.vni = vni, .ours = vx, .who = who, .len = len};
	struct nl_cache *c = NULL;
	int rc;

	dev_names(vni, br, vx, md, mp);
	if ((rc = rtnl_link_alloc_cache(k->req, AF_UNSPEC, &c)) < 0)
		return -EIO;
	nl_cache_foreach(c, vni_each, &u);
	nl_cache_free(c);
	return u.found;
}

/* Is @vx (ours by name) the vxlan device we would make? */
static bool vx_matches(struct rtnl_link *l, uint32_t vni, const struct vn_tun_addr *local,
		       uint16_t dstport)
{
	struct nl_addr *a = NULL;
	uint32_t id = 0, port = 0;
	bool ok;

	if (!rtnl_link_is_vxlan(l) || rtnl_link_vxlan_get_id(l, &id) < 0 || id != vni ||
	    rtnl_link_vxlan_get_port(l, &port) < 0 || port != dstport ||
	    rtnl_link_vxlan_get_local(l, &a) < 0 || !a)
		return false;
	ok = nl_addr_get_len(a) == (local->v6 ? 16u : 4u) &&
	     memcmp(nl_addr_get_binary_addr(a), local->a, local->v6 ? 16 : 4) == 0;
	nl_addr_put(a);
	return ok;
}

/* Set @idx up, in @master (when > 0), with no IPv6 link-local address (sends nothing). */
static int link_prepare(struct evk *k, int idx, int master)
{
	struct rtnl_link *l = rtnl_link_alloc(), *chg = rtnl_link_alloc();
	int rc = -ENOMEM;

	if (l && chg) {
		rtnl_link_set_ifindex(l, idx);
		rtnl_link_inet6_set_addr_gen_mode(chg, IN6_ADDR_GEN_MODE_NONE);
		if (master > 0)
			rtnl_link_set_master(chg, master);
		rtnl_link_set_flags(chg, IFF_UP);
		rc = rtnl_link_change(k->req, l, chg, 0);
		if (rc < 0 && master > 0) { /* an older kernel refusing the af-spec: without */
			rtnl_link_put(chg);
			chg = rtnl_link_alloc();
			rtnl_link_set_master(chg, master);
			rtnl_link_set_flags(chg, IFF_UP);
			rc = rtnl_link_change(k->req, l, chg, 0);
		}
		rc = rc < 0 ? -EIO : 0;
	}
	if (l)
		rtnl_link_put(l);
	if (chg)
		rtnl_link_put(chg);
	return rc;
}

static int make_bridge(struct evk *k, const char *name)
{
	struct rtnl_link *l = rtnl_link_bridge_alloc();
	int rc;

	if (!l)
		return -ENOMEM;
	rtnl_link_set_name(l, name);
	rc = rtnl_link_add(k->req, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(l);
	return rc < 0 ? -EIO : link_get(k, name, NULL);
}

static int make_vxlan(struct evk *k, const char *name, uint32_t vni,
		      const struct vn_tun_addr *local, uint16_t dstport)
{
	struct rtnl_link *l = rtnl_link_vxlan_alloc();
	struct nl_addr *a;
	int rc = -ENOMEM;

	if (!l)
		return -ENOMEM;
	a = nl_addr_build(local->v6 ? AF_INET6 : AF_INET, local->a, local->v6 ? 16 : 4);
	if (a) {
		rtnl_link_set_name(l, name);
		rtnl_link_vxlan_set_id(l, vni);
		rtnl_link_vxlan_set_local(l, a);
		rtnl_link_vxlan_set_port(l, dstport);
		rtnl_link_vxlan_set_learning(l, 0);
		rc = rtnl_link_add(k->req, l, NLM_F_CREATE | NLM_F_EXCL);
		rc = rc < 0 ? (rc == -NLE_EXIST ? -EEXIST : -EIO) : link_get(k, name, NULL);
		nl_addr_put(a);
	}
	rtnl_link_put(l);
	return rc;
}

static int make_veth(struct evk *k, const char *name, const char *peer)
{
	struct rtnl_link *l = rtnl_link_veth_alloc();
	int rc;

	if (!l)
		return -ENOMEM;
	rtnl_link_set_name(l, name);
	rtnl_link_set_name(rtnl_link_veth_get_peer(l), peer);
	rc = rtnl_link_add(k->req, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_veth_release(l);
	return rc < 0 ? -EIO : link_get(k, name, NULL);
}

static void del_name(struct evk *k, const char *name)
{
	struct rtnl_link *l = rtnl_link_alloc();

	if (!l)
		return;
	rtnl_link_set_name(l, name);
	rtnl_link_delete(k->req, l);
	rtnl_link_put(l);
}

/* Take over what a previous vnicd left: keep what is right, delete what is not. */
static void take_over(struct evk *k, const char *vx, uint32_t vni, const struct vn_tun_addr *local,
		      uint16_t dstport)
{
	struct rtnl_link *l = NULL;

	if (link_get(k, vx, &l) < 0)
		return;
	if (!vx_matches(l, vni, local, dstport)) {
		VN_INFO("evpn: replacing %s (not VNI %u, --local or dstport %u)", vx, vni, dstport);
		del_name(k, vx);
	}
	rtnl_link_put(l);
}

int evk_make(struct evk *k, uint32_t vni, const struct vn_tun_addr *local, uint16_t dstport,
	     struct evk_dev *d, GError **err)
{
	char br[16], vx[16], md[16], mp[16], who[IFNAMSIZ];
	bool made_br = false, made_vx = false, made_md = false;
	int rc;

	dev_names(vni, br, vx, md, mp);
	*d = (struct evk_dev){.vni = vni};
	if ((rc = evk_vni_user(k, vni, who, sizeof(who))) > 0)
		VN_FAIL(err, EEXIST, "VNI %u is in use by device '%s' in FRR's namespace", vni,
			who);
	take_over(k, vx, vni, local, dstport);
	if ((d->br = link_get(k, br, NULL)) < 0 && (made_br = true) &&
	    (d->br = make_bridge(k, br)) < 0)
		goto fail;
	if ((d->vx = link_get(k, vx, NULL)) < 0 && (made_vx = true) &&
	    (d->vx = make_vxlan(k, vx, vni, local, dstport)) < 0)
		goto fail;
	if ((d->md = link_get(k, md, NULL)) < 0 && (made_md = true) &&
	    (d->md = make_veth(k, md, mp)) < 0)
		goto fail;
	if ((d->mp = link_get(k, mp, NULL)) < 0)
		goto fail;
	if (link_prepare(k, d->br, 0) < 0 || link_prepare(k, d->vx, d->br) < 0 ||
	    link_prepare(k, d->md, d->br) < 0 || link_prepare(k, d->mp, 0) < 0)
		goto fail;
	return 0;
fail:
	if (made_md)
		del_name(k, md);
	if (made_vx)
		del_name(k, vx);
	if (made_br)
		del_name(k, br);
	VN_FAIL(err, EIO,
		"cannot make the kernel mirror of VNI %u (%s, %s, %s/%s) in FRR's namespace", vni,
		br, vx, md, mp);
}

void evk_remove(struct evk *k, const struct evk_dev *d)
{
	char br[16], vx[16], md[16], mp[16];

	dev_names(d->vni, br, vx, md, mp);
	del_name(k, md); /* its peer goes with it */
	del_name(k, vx);
	del_name(k, br);
}

/* ---- FDB entries ---- */

static int neigh_req(struct evk *k, int type, int flags, int ifindex, uint16_t state, uint8_t ntf,
		     const uint8_t mac[6], const struct vn_tun_addr *dst)
{
	struct ndmsg ndm = {
	    .ndm_family = AF_BRIDGE, .ndm_ifindex = ifindex, .ndm_state = state, .ndm_flags = ntf};
	struct nl_msg *m = nlmsg_alloc_simple(type, flags);
	int rc = -ENOMEM;

	if (!m)
		return -ENOMEM;
	if (nlmsg_append(m, &ndm, sizeof(ndm), NLMSG_ALIGNTO) < 0 ||
	    nla_put(m, NDA_LLADDR, 6, mac) < 0 ||
	    (dst && nla_put(m, NDA_DST, dst->v6 ? 16 : 4, dst->a) < 0))
		goto out;
	rc = nl_send_auto(k->req, m);
	if (rc >= 0)
		rc = nl_wait_for_ack(k->req);
	rc = rc < 0 ? (rc == -NLE_OBJ_NOTFOUND ? -ENOENT : -EIO) : 0;
out:
	nlmsg_free(m);
	return rc;
}

int evk_mirror(struct evk *k, const struct evk_dev *d, const uint8_t mac[6], bool add)
{
	if (add)
		return neigh_req(k, RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE,
				 d->md, NUD_NOARP, NTF_MASTER, mac, NULL);
	return neigh_req(k, RTM_DELNEIGH, NLM_F_REQUEST, d->md, NUD_NOARP, NTF_MASTER, mac, NULL);
}

int evk_del_remote(struct evk *k, const struct evk_dev *d, const uint8_t mac[6],
		   const struct vn_tun_addr *dst)
{
	return neigh_req(k, RTM_DELNEIGH, NLM_F_REQUEST, d->vx, 0, NTF_SELF, mac, dst);
}

/* ---- the kernel's view: dumps and events ---- */

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct evk *k = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[NDA_MAX + 1];
	struct evk_entry e = {0};
	struct ndmsg *ndm;

	if (h->nlmsg_type != RTM_NEWNEIGH && h->nlmsg_type != RTM_DELNEIGH)
		return NL_OK;
	if (nlmsg_parse(h, sizeof(*ndm), tb, NDA_MAX, NULL) < 0)
		return NL_OK;
	ndm = nlmsg_data(h);
	if (ndm->ndm_family != AF_BRIDGE || !tb[NDA_LLADDR] || nla_len(tb[NDA_LLADDR]) != 6)
		return NL_OK;
	e.ifindex = ndm->ndm_ifindex;
	e.state = ndm->ndm_state;
	e.flags = ndm->ndm_flags;
	e.master = tb[NDA_MASTER] != NULL;
	memcpy(e.mac, nla_data(tb[NDA_LLADDR]), 6);
	if (tb[NDA_DST] && (nla_len(tb[NDA_DST]) == 4 || nla_len(tb[NDA_DST]) == 16)) {
		e.has_dst = true;
		e.dst.v6 = nla_len(tb[NDA_DST]) == 16;
		memcpy(e.dst.a, nla_data(tb[NDA_DST]), (size_t)nla_len(tb[NDA_DST]));
	}
	k->cb(k->ud, h->nlmsg_type == RTM_NEWNEIGH, &e);
	return NL_OK;
}

int evk_dump(struct evk *k, evk_cb cb, void *ud)
{
	struct ndmsg ndm = {.ndm_family = AF_BRIDGE};
	int rc;

	k->cb = cb;
	k->ud = ud;
	nl_socket_modify_cb(k->req, NL_CB_VALID, NL_CB_CUSTOM, on_msg, k);
	rc = nl_send_simple(k->req, RTM_GETNEIGH, NLM_F_DUMP, &ndm, sizeof(ndm));
	if (rc >= 0)
		rc = nl_recvmsgs_default(k->req);
	nl_socket_modify_cb(k->req, NL_CB_VALID, NL_CB_DEFAULT, NULL, NULL);
	return rc < 0 ? -EIO : 0;
}

int evk_read(struct evk *k, evk_cb cb, void *ud)
{
	int rc;

	k->cb = cb;
	k->ud = ud;
	nl_socket_modify_cb(k->ev, NL_CB_VALID, NL_CB_CUSTOM, on_msg, k);
	do
		rc = nl_recvmsgs_default(k->ev);
	while (rc > 0);
	if (rc == -NLE_NOMEM) /* libnl's mapping of ENOBUFS: events were lost */
		return -ENOBUFS;
	return rc < 0 && rc != -NLE_AGAIN ? -EIO : 0;
}

/* ---- is FRR there? ---- */

int evk_zebra_runs(const char *ns)
{
	g_autofree char *path = ns && *ns ? g_build_filename("/var/run/netns", ns, NULL)
					  : g_strdup("/proc/self/ns/net");
	struct stat target;
	struct dirent *de;
	DIR *d;
	int found = 0, denied = 0;

	if (stat(path, &target) != 0)
		return -errno;
	if (!(d = opendir("/proc")))
		return -errno;
	while (!found && (de = readdir(d))) {
		char p[300], comm[32] = "";
		struct stat st;
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/comm", de->d_name);
		if (!(f = fopen(p, "re")))
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (strcmp(comm, "zebra\n") != 0)
			continue;
		snprintf(p, sizeof(p), "/proc/%s/ns/net", de->d_name);
		if (stat(p, &st) != 0)
			denied += errno == EACCES || errno == EPERM;
		else
			found = st.st_ino == target.st_ino && st.st_dev == target.st_dev;
	}
	closedir(d);
	return found ? 1 : denied ? -EACCES : 0;
}
