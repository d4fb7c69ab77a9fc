/* SPDX-License-Identifier: MIT */
/* Kernel links through libnl-3: namespaces, requests, ingress drop, cache-manager watches. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/act/gact.h>
#include <netlink/route/action.h>
#include <netlink/route/addr.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/matchall.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>
#include <netlink/socket.h>

#include "vnicd/log.h"
#include "vnicd/netlink.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* <linux/if.h>, which clashes with <net/if.h> */
#endif

#define NETNS_DIR "/var/run/netns"
#define SELF_NS "/proc/thread-self/ns/net"
#define INGRESS_HANDLE 0xffff0000u /* "ffff:", the ingress qdisc */
#define EVENT_RCVBUF (1 << 20)	   /* notifications queued before ENOBUFS */
#define RESYNC_MAX 4		   /* overruns handled in one go before waiting for the loop */

/* ---- namespaces ---- */

static bool ns_name_valid(const char *ns)
{
	return ns[0] && strlen(ns) < 256 && !strchr(ns, '/') && strcmp(ns, ".") && strcmp(ns, "..");
}

int vn_netns_open(const char *ns)
{
	g_autofree char *path = NULL;
	int fd;

	if (!ns || !*ns) {
		fd = open(SELF_NS, O_RDONLY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if (!ns_name_valid(ns))
		return -EINVAL;
	path = g_build_filename(NETNS_DIR, ns, NULL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* @err for a vn_netns_open(@ns) that failed with @e. Return: -@e. */
static int ns_open_error(const char *ns, int e, GError **err)
{
	if (!ns || !*ns)
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot open the current network namespace: %s", g_strerror(e));
	else
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e),
			    e == ENOENT ? "network namespace '%s' does not exist (" NETNS_DIR "/%s)"
					: "cannot open network namespace '%s': %s",
			    ns, e == ENOENT ? ns : g_strerror(e));
	return -e;
}

int vn_netns_enter(const char *ns, GError **err)
{
	int self, target;

	if (!ns || !*ns)
		return -1;
	target = vn_netns_open(ns);
	if (target < 0)
		return ns_open_error(ns, -target, err);
	self = open(SELF_NS, O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		int e = errno;
		close(target);
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot open the current network namespace: %s", g_strerror(e));
		return -e;
	}
	if (setns(target, CLONE_NEWNET) != 0) {
		int e = errno;
		close(target);
		close(self);
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot enter network namespace '%s': %s", ns, g_strerror(e));
		return -e;
	}
	close(target);
	return self;
}

void vn_netns_leave(int handle)
{
	if (handle < 0)
		return;
	/* cannot fail for a namespace we were in a moment ago; retry once to be sure */
	if (setns(handle, CLONE_NEWNET) != 0 && setns(handle, CLONE_NEWNET) != 0)
		VN_ERR("cannot return to vnicd's network namespace: %s", g_strerror(errno));
	close(handle);
}

static bool same_ns(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Move the calling thread into namespace @target (an fd, left open) unless it is there already
 * (no setns(), so no CAP_SYS_ADMIN needed for vnicd's own namespace).
 * Return: a handle for vn_netns_leave(), -1 when nothing changed, or -errno.
 */
static int enter_fd(int target)
{
	struct stat here, there;
	int self = open(SELF_NS, O_RDONLY | O_CLOEXEC), e;

	if (self < 0)
		return -errno;
	if (fstat(self, &here) == 0 && fstat(target, &there) == 0 && same_ns(&here, &there)) {
		close(self);
		return -1;
	}
	if (setns(target, CLONE_NEWNET) != 0) {
		e = errno;
		close(self);
		return -e;
	}
	return self;
}

/* ---- contexts: one per namespace in use ---- */

struct vn_nl {
	int refs;		    /* handles and watches */
	int nsfd;		    /* the namespace, to make the cache manager in later */
	struct stat id;		    /* st_dev/st_ino of @nsfd: which namespace this is */
	struct nl_sock *req;	    /* requests and resynchronisation, in the namespace */
	struct nl_cache_mngr *mngr; /* while something is watched, else NULL */
	struct nl_cache *links;	    /* route/link of @mngr */
	struct nl_cache *addrs;	    /* route/addr of @mngr */
	guint src;		    /* main-loop source of @mngr's socket */
	GPtrArray *watches;	    /* struct vn_klink_watch *, not owned */
	bool foreign;		    /* per-family link objects to drop from @links */
};

struct vn_klink_watch {
	struct vn_nl *nl; /* a reference */
	int ifindex;
	vn_klink_cb cb;
	void *ud;
};

static GPtrArray *contexts; /* struct vn_nl *, control thread only */

/* A NETLINK_ROUTE socket in the thread's current namespace, with extended acks. */
static struct nl_sock *sock_open(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int one = 1;

	if (!sk)
		return NULL;
	if (nl_connect(sk, NETLINK_ROUTE) < 0) {
		nl_socket_free(sk);
		return NULL;
	}
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	return sk;
}

/* A context for namespace @nsfd (owned by it on success). Return: it, or NULL + @err. */
static struct vn_nl *ctx_new(int nsfd, const struct stat *id, const char *ns, GError **err)
{
	struct vn_nl *nl;
	int h = enter_fd(nsfd), e = 0;
	struct nl_sock *req;

	if (h < -1) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-h),
			    "cannot enter network namespace '%s': %s", ns && *ns ? ns : "(own)",
			    g_strerror(-h));
		return NULL;
	}
	req = sock_open();
	if (!req)
		e = errno ? errno : EIO;
	vn_netns_leave(h);
	if (!req) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot open a netlink socket: %s", g_strerror(e));
		return NULL;
	}
	nl = g_new0(struct vn_nl, 1);
	nl->refs = 1;
	nl->nsfd = nsfd;
	nl->id = *id;
	nl->req = req;
	nl->watches = g_ptr_array_new();
	if (!contexts)
		contexts = g_ptr_array_new();
	g_ptr_array_add(contexts, nl);
	return nl;
}

int vn_nl_open(const char *ns, struct vn_nl **out, GError **err)
{
	struct stat id;
	int fd = vn_netns_open(ns), e;

	*out = NULL;
	if (fd < 0)
		return ns_open_error(ns, -fd, err);
	if (fstat(fd, &id) != 0) {
		e = errno;
		close(fd);
		return ns_open_error(ns, e, err);
	}
	for (guint i = 0; contexts && i < contexts->len; i++) {
		struct vn_nl *nl = contexts->pdata[i];
		if (same_ns(&nl->id, &id)) {
			close(fd);
			nl->refs++;
			*out = nl;
			return 0;
		}
	}
	*out = ctx_new(fd, &id, ns, err);
	if (!*out) {
		close(fd);
		return -EIO;
	}
	return 0;
}

static void cache_stop(struct vn_nl *nl);

void vn_nl_close(struct vn_nl *nl)
{
	if (!nl || --nl->refs > 0)
		return;
	cache_stop(nl);
	g_ptr_array_remove_fast(contexts, nl);
	if (contexts->len == 0) {
		g_ptr_array_free(contexts, TRUE);
		contexts = NULL;
	}
	nl_socket_free(nl->req);
	close(nl->nsfd);
	g_ptr_array_free(nl->watches, TRUE);
	g_free(nl);
}

/* ---- requests ---- */

struct req {
	bool done;
	int err; /* -errno from the kernel, 0 */
	char msg[160];
	nl_recvmsg_msg_cb_t valid;
	void *arg;
};

static int req_valid(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	return r->valid ? r->valid(msg, r->arg) : NL_OK;
}

static int req_ack(struct nl_msg *msg, void *arg)
{
	((struct req *)arg)->done = true;
	return NL_STOP;
}

static int req_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req *r = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off;

	r->done = true;
	r->err = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	if (NLMSG_HDRLEN + off >= nlh->nlmsg_len)
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off),
		      (int)(nlh->nlmsg_len - NLMSG_HDRLEN - off), NULL) == 0 &&
	    tb[NLMSGERR_ATTR_MSG])
		g_strlcpy(r->msg, nla_get_string(tb[NLMSGERR_ATTR_MSG]), sizeof(r->msg));
	return NL_STOP;
}

/*
 * Send @msg (freed here) with NLM_F_ACK, feed replies to @valid, keep the kernel's extended
 * message in @emsg. Return: 0 or -errno.
 */
static int request(struct nl_sock *sk, struct nl_msg *msg, nl_recvmsg_msg_cb_t valid, void *arg,
		   char *emsg, size_t elen)
{
	struct req r = {.valid = valid, .arg = arg};
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int rc;

	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, req_valid, &r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, req_ack, &r);
	nl_cb_err(cb, NL_CB_CUSTOM, req_err, &r);
	rc = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	while (rc >= 0 && !r.done)
		rc = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	if (rc < 0 && !r.done)
		return -EIO;
	if (emsg && elen)
		g_strlcpy(emsg, r.msg, elen);
	return r.err;
}

/* ---- links ---- */

/* *@out from libnl's link object @l. */
static void fill(struct rtnl_link *l, bool present, struct vn_klink *out)
{
	struct nl_addr *a = rtnl_link_get_addr(l);
	unsigned flags = rtnl_link_get_flags(l);
	const char *s;

	memset(out, 0, sizeof(*out));
	out->ifindex = rtnl_link_get_ifindex(l);
	out->present = present;
	out->flags = flags;
	out->admin_up = flags & IFF_UP;
	/* IFF_LOWER_UP stands in should a message come without IFLA_CARRIER */
	out->carrier_raw = rtnl_link_get_carrier(l) != 0 || (flags & IFF_LOWER_UP);
	out->carrier = present && out->admin_up && out->carrier_raw;
	if ((s = rtnl_link_get_name(l)))
		g_strlcpy(out->ifname, s, sizeof(out->ifname));
	rtnl_link_operstate2str(rtnl_link_get_operstate(l), out->operstate, sizeof(out->operstate));
	for (char *p = out->operstate; *p; p++)
		*p = g_ascii_tolower(*p);
	out->mtu = rtnl_link_get_mtu(l);
	out->promiscuity = rtnl_link_get_promiscuity(l);
	if (a && nl_addr_get_len(a) == RTE_ETHER_ADDR_LEN) {
		memcpy(out->mac.addr_bytes, nl_addr_get_binary_addr(a), RTE_ETHER_ADDR_LEN);
		out->has_mac = true;
	}
	if ((s = rtnl_link_get_ifalias(l)))
		g_strlcpy(out->alias, s, sizeof(out->alias));
	if ((s = rtnl_link_get_type(l)))
		g_strlcpy(out->kind, s, sizeof(out->kind));
}

/* IFLA_XDP of a link (libnl keeps none) into @out. */
static void parse_xdp(struct nlmsghdr *nlh, struct vn_klink *out)
{
	struct nlattr *tb[IFLA_MAX + 1], *tx[IFLA_XDP_MAX + 1];

	if (nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0 || !tb[IFLA_XDP] ||
	    nla_parse_nested(tx, IFLA_XDP_MAX, tb[IFLA_XDP], NULL) < 0)
		return;
	if (tx[IFLA_XDP_ATTACHED])
		out->xdp_attached = nla_get_u8(tx[IFLA_XDP_ATTACHED]);
	if (tx[IFLA_XDP_PROG_ID])
		out->xdp_prog_id = nla_get_u32(tx[IFLA_XDP_PROG_ID]);
}

/* The IFLA_TUN_* data of a "tun" link (libnl has no module for the kind) into @out. */
static void parse_tun(struct nlmsghdr *nlh, struct vn_klink *out)
{
	struct nlattr *tb[IFLA_MAX + 1], *ti[IFLA_INFO_MAX + 1], *td[IFLA_TUN_MAX + 1];

	if (strcmp(out->kind, "tun") != 0 ||
	    nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0 ||
	    !tb[IFLA_LINKINFO] ||
	    nla_parse_nested(ti, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0 ||
	    !ti[IFLA_INFO_DATA] || nla_parse_nested(td, IFLA_TUN_MAX, ti[IFLA_INFO_DATA], NULL) < 0)
		return;
	if (td[IFLA_TUN_TYPE])
		out->tun_type = nla_get_u8(td[IFLA_TUN_TYPE]);
	if (td[IFLA_TUN_MULTI_QUEUE])
		out->tun_mq = nla_get_u8(td[IFLA_TUN_MULTI_QUEUE]);
	if (td[IFLA_TUN_PERSIST])
		out->tun_persist = nla_get_u8(td[IFLA_TUN_PERSIST]);
}

struct get_ctx {
	struct vn_klink *out;
	bool found;
};

static void get_obj(struct nl_object *obj, void *arg)
{
	struct get_ctx *c = arg;

	fill((struct rtnl_link *)obj, true, c->out);
	c->found = true;
}

static int get_valid(struct nl_msg *msg, void *arg)
{
	struct get_ctx *c = arg;

	if (nlmsg_hdr(msg)->nlmsg_type == RTM_NEWLINK && nl_msg_parse(msg, get_obj, c) == 0 &&
	    c->found) {
		parse_tun(nlmsg_hdr(msg), c->out);
		parse_xdp(nlmsg_hdr(msg), c->out);
	}
	return NL_OK;
}

int vn_klink_get(struct vn_nl *nl, const char *name, int ifindex, struct vn_klink *out)
{
	struct get_ctx c = {.out = out};
	struct nl_msg *msg = NULL;
	int rc;

	if (!nl || (!name && ifindex <= 0))
		return -EINVAL;
	if (rtnl_link_build_get_request(name ? 0 : ifindex, name, &msg) < 0)
		return -ENOMEM;
	rc = request(nl->req, msg, get_valid, &c, NULL, 0);
	if (rc == 0 && !c.found)
		rc = -ENODEV;
	return rc;
}

/* The changes of @c as a libnl link object. Return: it (the caller puts it), or NULL. */
static struct rtnl_link *change_obj(const struct vn_klink_change *c)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	struct nl_addr *a;

	if (!chg)
		return NULL;
	if (c->up > 0)
		rtnl_link_set_flags(chg, IFF_UP);
	else if (c->up < 0)
		rtnl_link_unset_flags(chg, IFF_UP);
	if (c->noarp > 0)
		rtnl_link_set_flags(chg, IFF_NOARP);
	else if (c->noarp < 0)
		rtnl_link_unset_flags(chg, IFF_NOARP);
	if (c->mtu)
		rtnl_link_set_mtu(chg, c->mtu);
	if (c->alias && *c->alias) /* "" is added by hand: libnl cannot remove an alias */
		rtnl_link_set_ifalias(chg, c->alias);
	if (c->move)
		rtnl_link_set_ns_fd(chg, c->netns_fd);
	if (c->mac) {
		a = nl_addr_build(AF_LLC, c->mac->addr_bytes, RTE_ETHER_ADDR_LEN);
		if (!a) {
			rtnl_link_put(chg);
			return NULL;
		}
		rtnl_link_set_addr(chg, a);
		nl_addr_put(a);
	}
	return chg;
}

int vn_klink_set(struct vn_nl *nl, int ifindex, const struct vn_klink_change *c, GError **err)
{
	struct rtnl_link *orig = rtnl_link_alloc(), *chg = change_obj(c);
	struct nl_msg *msg = NULL;
	char kmsg[160] = "";
	int rc = -ENOMEM;

	if (!nl)
		rc = -EINVAL;
	if (!nl || !orig || !chg)
		goto out;
	rtnl_link_set_ifindex(orig, ifindex);
	if (rtnl_link_build_change_request(orig, chg, NLM_F_ACK, &msg) < 0)
		goto out;
	/* an empty IFLA_IFALIAS removes the alias (a 1-byte "" would keep an empty one) */
	if (c->alias && !*c->alias && nla_put(msg, IFLA_IFALIAS, 0, NULL) < 0) {
		nlmsg_free(msg);
		goto out;
	}
	rc = request(nl->req, msg, NULL, NULL, kmsg, sizeof(kmsg));
out:
	if (chg)
		rtnl_link_put(chg);
	if (orig)
		rtnl_link_put(orig);
	if (rc < 0)
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc), "%s%s%s", g_strerror(-rc),
			    kmsg[0] ? ": " : "", kmsg);
	return rc;
}

int vn_klink_del(struct vn_nl *nl, int ifindex)
{
	struct rtnl_link *l;
	struct nl_msg *msg = NULL;
	int rc;

	if (!nl)
		return -EINVAL;
	if (!(l = rtnl_link_alloc()))
		return -ENOMEM;
	rtnl_link_set_ifindex(l, ifindex);
	rc = rtnl_link_build_delete_request(l, &msg);
	rtnl_link_put(l);
	if (rc < 0)
		return -ENOMEM;
	return request(nl->req, msg, NULL, NULL, NULL, 0);
}

/* ---- ingress drop ---- */

/* A classic "return TC_ACT_SHOT" program for cls_bpf in direct-action mode. Return: fd. */
static int drop_prog(void)
{
	return vn_bpf_return_prog(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_SHOT, 0, "vnicd_drop", "MIT",
				  NULL, 0);
}

/* cls_bpf with the drop program: built by hand, libnl-route has no cls_bpf module. */
static int filter_bpf(struct nl_sock *sk, int ifindex)
{
	struct tcmsg t = {.tcm_family = AF_UNSPEC,
			  .tcm_ifindex = ifindex,
			  .tcm_parent = INGRESS_HANDLE,
			  .tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL))};
	struct nl_msg *msg;
	struct nlattr *opt;
	int fd = drop_prog(), rc;

	if (fd < 0)
		return fd;
	msg = nlmsg_alloc_simple(RTM_NEWTFILTER,
				 NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	if (!msg) {
		close(fd);
		return -ENOMEM;
	}
	if (nlmsg_append(msg, &t, sizeof(t), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, TCA_KIND, "bpf") < 0 || !(opt = nla_nest_start(msg, TCA_OPTIONS)) ||
	    nla_put_u32(msg, TCA_BPF_FD, (uint32_t)fd) < 0 ||
	    nla_put_string(msg, TCA_BPF_NAME, "vnicd_drop") < 0 ||
	    nla_put_u32(msg, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT) < 0) {
		nlmsg_free(msg);
		close(fd);
		return -ENOMEM;
	}
	nla_nest_end(msg, opt);
	rc = request(sk, msg, NULL, NULL, NULL, 0);
	close(fd); /* the filter holds the program */
	return rc;
}

/* matchall with a gact "shot" action, through libnl-route. */
static int filter_matchall(struct nl_sock *sk, int ifindex)
{
	struct rtnl_cls *cls = rtnl_cls_alloc();
	struct rtnl_act *act = rtnl_act_alloc();
	int rc = -ENOMEM;

	if (!cls || !act)
		goto out;
	rtnl_tc_set_ifindex(TC_CAST(cls), ifindex);
	rtnl_tc_set_parent(TC_CAST(cls), INGRESS_HANDLE);
	rtnl_tc_set_kind(TC_CAST(cls), "matchall");
	rtnl_cls_set_protocol(cls, ETH_P_ALL);
	rtnl_cls_set_prio(cls, 1);
	rtnl_tc_set_kind(TC_CAST(act), "gact");
	rtnl_gact_set_action(act, TC_ACT_SHOT);
	rc = -EINVAL;
	if (rtnl_mall_append_action(cls, act) < 0)
		goto out;
	rc = rtnl_cls_add(sk, cls, NLM_F_CREATE) < 0 ? -EOPNOTSUPP : 0;
out:
	if (act)
		rtnl_act_put(act);
	if (cls)
		rtnl_cls_put(cls);
	return rc;
}

int vn_klink_ingress_drop(struct vn_nl *nl, int ifindex, bool on)
{
	struct rtnl_qdisc *q;
	int rc;

	if (!nl)
		return -EINVAL;
	if (!(q = rtnl_qdisc_alloc()))
		return -ENOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
	rtnl_tc_set_kind(TC_CAST(q), "ingress");
	if (!on) {
		rc = rtnl_qdisc_delete(nl->req, q);
		rtnl_qdisc_put(q);
		return rc < 0 ? -EIO : 0;
	}
	/* a fresh ingress qdisc (replacing one left behind), then one drop-everything filter */
	rtnl_qdisc_delete(nl->req, q);
	rc = rtnl_qdisc_add(nl->req, q, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_qdisc_put(q);
	if (rc < 0)
		return -EOPNOTSUPP;
	rc = filter_bpf(nl->req, ifindex);
	if (rc < 0)
		rc = filter_matchall(nl->req, ifindex);
	if (rc < 0)
		vn_klink_ingress_drop(nl, ifindex, false);
	return rc;
}

/* ---- cache manager and watches ---- */

/* The AF_UNSPEC object of link @ifindex in @nl's cache (borrowed), or NULL. */
static struct rtnl_link *find_link(struct vn_nl *nl, int ifindex)
{
	for (struct nl_object *o = nl_cache_get_first(nl->links); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		if (rtnl_link_get_ifindex(l) == ifindex && rtnl_link_get_family(l) == AF_UNSPEC)
			return l;
	}
	return NULL;
}

static void notify(struct vn_nl *nl, const struct vn_klink *k)
{
	for (guint i = 0; i < nl->watches->len; i++) {
		struct vn_klink_watch *w = nl->watches->pdata[i];
		if (w->ifindex == k->ifindex)
			w->cb(w->ud, k);
	}
}

/* Change callback of both caches (also while resynchronising). */
static void on_change(struct nl_cache *cache, struct nl_object *obj, int action, void *arg)
{
	struct vn_nl *nl = arg;
	struct rtnl_link *l;
	struct vn_klink k;

	if (cache == nl->links) {
		l = (struct rtnl_link *)obj;
		/* AF_BRIDGE and AF_INET6 messages are partial views of the link: not reported,
		 * and dropped from the cache once the notifications are read */
		if (rtnl_link_get_family(l) != AF_UNSPEC) {
			nl->foreign = true;
			return;
		}
		fill(l, action != NL_ACT_DEL, &k);
		notify(nl, &k);
		return;
	}
	/* an address came or went: report the link as it is */
	l = find_link(nl, rtnl_addr_get_ifindex((struct rtnl_addr *)obj));
	if (!l)
		return;
	fill(l, true, &k);
	notify(nl, &k);
}

static void drop_foreign(struct vn_nl *nl)
{
	struct nl_object *o, *next;

	nl->foreign = false;
	for (o = nl_cache_get_first(nl->links); o; o = next) {
		next = nl_cache_get_next(o);
		if (rtnl_link_get_family((struct rtnl_link *)o) != AF_UNSPEC)
			nl_cache_remove(o); /* the cache held the only reference */
	}
}

/*
 * Drop the notifications queued on the cache manager's socket: after an overrun they are older
 * than the dump that replaces them, and applying them after it would leave stale state behind.
 */
static void discard_queued(struct vn_nl *nl)
{
	int fd = nl_cache_mngr_get_fd(nl->mngr);

	for (int i = 0; i < 65536; i++)
		if (recv(fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC) < 0 && errno != ENOBUFS &&
		    errno != EINTR)
			break;
}

/*
 * Apply every queued notification. After an overrun (ENOBUFS, reported before what is still
 * queued) the queue is dropped and both caches are read again, the differences reported; what
 * arrives after that is newer than the dump and applied as usual.
 */
static void pump(struct vn_nl *nl)
{
	int rc = 0;

	for (int i = 0; i < RESYNC_MAX; i++) {
		rc = nl_cache_mngr_data_ready(nl->mngr);
		if (rc != -NLE_NOMEM)
			break;
		VN_LOG_RL(VN_LOG_INFO, "netlink: link notifications were lost; reading them again");
		discard_queued(nl);
		if ((rc = nl_cache_resync(nl->req, nl->links, on_change, nl)) < 0 ||
		    (rc = nl_cache_resync(nl->req, nl->addrs, on_change, nl)) < 0)
			break;
	}
	if (rc < 0 && rc != -NLE_NOMEM)
		VN_LOG_RL(VN_LOG_WARN, "netlink: reading link notifications failed: %s",
			  nl_geterror(rc));
	if (nl->foreign)
		drop_foreign(nl);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer ud)
{
	pump(ud);
	return G_SOURCE_CONTINUE;
}

static void cache_stop(struct vn_nl *nl)
{
	if (nl->src)
		g_source_remove(nl->src);
	nl->src = 0;
	nl_cache_mngr_free(nl->mngr); /* frees its caches; NULL is fine */
	nl->mngr = NULL;
	nl->links = nl->addrs = NULL;
}

/* The cache manager of @nl, made in its namespace. Return: 0, or -errno with @err set. */
static int cache_start(struct vn_nl *nl, GError **err)
{
	int h, rc, bufsz = EVENT_RCVBUF;

	if (nl->mngr)
		return 0;
	h = enter_fd(nl->nsfd);
	if (h < -1) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-h),
			    "cannot enter a network namespace to watch it: %s", g_strerror(-h));
		return h;
	}
	/* not NL_AUTO_PROVIDE: libnl's provided caches are process-wide, ours per namespace */
	rc = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, 0, &nl->mngr);
	if (rc == 0)
		rc = nl_cache_mngr_add(nl->mngr, "route/link", on_change, nl, &nl->links);
	if (rc == 0)
		rc = nl_cache_mngr_add(nl->mngr, "route/addr", on_change, nl, &nl->addrs);
	vn_netns_leave(h);
	if (rc < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot read the kernel's interfaces through netlink: %s",
			    nl_geterror(rc));
		cache_stop(nl);
		return -EIO;
	}
	setsockopt(nl_cache_mngr_get_fd(nl->mngr), SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	nl->src = g_unix_fd_add(nl_cache_mngr_get_fd(nl->mngr), G_IO_IN, on_readable, nl);
	return 0;
}

struct vn_klink_watch *vn_klink_watch(struct vn_nl *nl, int ifindex, vn_klink_cb cb, void *ud,
				      struct vn_klink *now, GError **err)
{
	struct vn_klink_watch *w;
	struct rtnl_link *l;

	if (cache_start(nl, err) < 0)
		return NULL;
	pump(nl); /* what the kernel said until now: the state below is current */
	l = find_link(nl, ifindex);
	if (!l) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no interface with index %d",
			    ifindex);
		if (nl->watches->len == 0)
			cache_stop(nl);
		return NULL;
	}
	if (now)
		fill(l, true, now);
	w = g_new0(struct vn_klink_watch, 1);
	w->nl = nl;
	nl->refs++;
	w->ifindex = ifindex;
	w->cb = cb;
	w->ud = ud;
	g_ptr_array_add(nl->watches, w);
	return w;
}

void vn_klink_unwatch(struct vn_klink_watch *w)
{
	struct vn_nl *nl;

	if (!w)
		return;
	nl = w->nl;
	g_ptr_array_remove(nl->watches, w);
	if (nl->watches->len == 0)
		cache_stop(nl);
	g_free(w);
	vn_nl_close(nl);
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

void vn_klink_addresses(const struct vn_klink_watch *w, JsonBuilder *b)
{
	struct addr_walk aw;

	if (!w || !w->nl->addrs)
		return;
	aw = (struct addr_walk){w->ifindex, b};
	nl_cache_foreach(w->nl->addrs, addr_cb, &aw);
}
