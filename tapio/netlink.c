/* SPDX-License-Identifier: MIT */
/* Kernel links through libnl-3: namespaces, look-up, set-up, ingress drop, change watches. */
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
#include <sys/syscall.h>
#include <unistd.h>

#include <glib-unix.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/act/gact.h>
#include <netlink/route/action.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/matchall.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>
#include <netlink/socket.h>

#include "tapio.h"
#include "vnicd/log.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

#define NETNS_DIR "/var/run/netns"
#define INGRESS_HANDLE 0xffff0000u /* "ffff:", the ingress qdisc */

/* ---- namespaces ---- */

static bool ns_name_valid(const char *ns)
{
	return ns[0] && strlen(ns) < 256 && !strchr(ns, '/') && strcmp(ns, ".") && strcmp(ns, "..");
}

int vn_netns_open(const char *ns)
{
	g_autofree char *path = NULL;
	int fd;

	if (!ns_name_valid(ns))
		return -EINVAL;
	path = g_build_filename(NETNS_DIR, ns, NULL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int vn_netns_enter(const char *ns, GError **err)
{
	int self, target;

	if (!ns || !*ns)
		return -1;
	target = vn_netns_open(ns);
	if (target < 0) {
		int e = -target;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e),
			    e == ENOENT ? "network namespace '%s' does not exist (" NETNS_DIR "/%s)"
					: "cannot open network namespace '%s': %s",
			    ns, e == ENOENT ? ns : g_strerror(e));
		return target;
	}
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
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

/* ---- requests ---- */

struct nl_sock *vn_nl_open(void)
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

void vn_nl_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);
}

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

/* Send @msg (freed here) with NLM_F_ACK, feed replies to @valid. Return: 0 or -errno. */
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

static void parse_linkinfo(struct nlattr *a, struct vn_link_info *li)
{
	struct nlattr *tb[IFLA_INFO_MAX + 1], *td[IFLA_TUN_MAX + 1];

	if (nla_parse_nested(tb, IFLA_INFO_MAX, a, NULL) < 0)
		return;
	if (tb[IFLA_INFO_KIND])
		g_strlcpy(li->kind, nla_get_string(tb[IFLA_INFO_KIND]), sizeof(li->kind));
	if (strcmp(li->kind, "tun") != 0 || !tb[IFLA_INFO_DATA] ||
	    nla_parse_nested(td, IFLA_TUN_MAX, tb[IFLA_INFO_DATA], NULL) < 0)
		return;
	if (td[IFLA_TUN_TYPE])
		li->tun_type = nla_get_u8(td[IFLA_TUN_TYPE]);
	if (td[IFLA_TUN_MULTI_QUEUE])
		li->tun_mq = nla_get_u8(td[IFLA_TUN_MULTI_QUEUE]);
	if (td[IFLA_TUN_PERSIST])
		li->tun_persist = nla_get_u8(td[IFLA_TUN_PERSIST]);
}

static int parse_link(struct nlmsghdr *nlh, struct vn_link_info *li)
{
	struct ifinfomsg *ifi;
	struct nlattr *tb[IFLA_MAX + 1];

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return -EINVAL;
	if (nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return -EINVAL;
	ifi = nlmsg_data(nlh);
	memset(li, 0, sizeof(*li));
	li->ifindex = ifi->ifi_index;
	li->flags = ifi->ifi_flags;
	li->carrier = !!(ifi->ifi_flags & IFF_LOWER_UP);
	if (tb[IFLA_CARRIER])
		li->carrier = nla_get_u8(tb[IFLA_CARRIER]);
	if (tb[IFLA_MTU])
		li->mtu = nla_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6) {
		memcpy(li->mac, nla_data(tb[IFLA_ADDRESS]), 6);
		li->has_mac = true;
	}
	if (tb[IFLA_IFNAME])
		g_strlcpy(li->name, nla_get_string(tb[IFLA_IFNAME]), sizeof(li->name));
	if (tb[IFLA_IFALIAS])
		g_strlcpy(li->alias, nla_get_string(tb[IFLA_IFALIAS]), sizeof(li->alias));
	if (tb[IFLA_LINKINFO])
		parse_linkinfo(tb[IFLA_LINKINFO], li);
	return 0;
}

struct get_ctx {
	struct vn_link_info *out;
	bool found;
};

static int get_valid(struct nl_msg *msg, void *arg)
{
	struct get_ctx *c = arg;

	if (parse_link(nlmsg_hdr(msg), c->out) == 0)
		c->found = true;
	return NL_OK;
}

int vn_link_get(struct nl_sock *sk, const char *name, int ifindex, struct vn_link_info *out)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = name ? 0 : ifindex};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK);
	struct get_ctx c = {.out = out};
	int rc;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    (name && nla_put_string(msg, IFLA_IFNAME, name) < 0) ||
	    nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	rc = request(sk, msg, get_valid, &c, NULL, 0);
	if (rc == 0 && !c.found)
		rc = -ENODEV;
	return rc;
}

int vn_link_set(struct nl_sock *sk, int ifindex, const struct vn_link_change *c, GError **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
	char kmsg[160] = "";
	int rc;

	if (!msg)
		return -ENOMEM;
	if (c->up >= 0) {
		ifi.ifi_change |= IFF_UP;
		ifi.ifi_flags |= c->up ? IFF_UP : 0;
	}
	if (c->noarp >= 0) {
		ifi.ifi_change |= IFF_NOARP;
		ifi.ifi_flags |= c->noarp ? IFF_NOARP : 0;
	}
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    (c->mac && nla_put(msg, IFLA_ADDRESS, 6, c->mac) < 0) ||
	    (c->mtu && nla_put_u32(msg, IFLA_MTU, c->mtu) < 0) ||
	    (c->alias && *c->alias && nla_put_string(msg, IFLA_IFALIAS, c->alias) < 0) ||
	    (c->alias && !*c->alias && nla_put(msg, IFLA_IFALIAS, 0, NULL) < 0) || /* remove */
	    (c->netns_fd >= 0 && nla_put_u32(msg, IFLA_NET_NS_FD, (uint32_t)c->netns_fd) < 0)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	rc = request(sk, msg, NULL, NULL, kmsg, sizeof(kmsg));
	if (rc < 0)
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc), "%s%s%s", g_strerror(-rc),
			    kmsg[0] ? ": " : "", kmsg);
	return rc;
}

int vn_link_del(struct nl_sock *sk, int ifindex)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return request(sk, msg, NULL, NULL, NULL, 0);
}

/* A classic "return TC_ACT_SHOT" program for cls_bpf in direct-action mode. Return: fd. */
static int drop_prog(void)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_SHOT},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SCHED_CLS;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = G_N_ELEMENTS(insns);
	attr.license = (uintptr_t) "MIT";
	g_strlcpy(attr.prog_name, "vnicd_drop", sizeof(attr.prog_name));
	fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

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

int vn_link_ingress_drop(struct nl_sock *sk, int ifindex, bool on)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int rc;

	if (!q)
		return -ENOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
	rtnl_tc_set_kind(TC_CAST(q), "ingress");
	if (!on) {
		rc = rtnl_qdisc_delete(sk, q);
		rtnl_qdisc_put(q);
		return rc < 0 ? -EIO : 0;
	}
	/* a fresh ingress qdisc (replacing one left behind), then one drop-everything filter */
	rtnl_qdisc_delete(sk, q);
	rc = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_qdisc_put(q);
	if (rc < 0)
		return -EOPNOTSUPP;
	rc = filter_bpf(sk, ifindex);
	if (rc < 0)
		rc = filter_matchall(sk, ifindex);
	if (rc < 0)
		vn_link_ingress_drop(sk, ifindex, false);
	return rc;
}

/* ---- watches ---- */

struct vn_link_watch {
	struct nl_sock *ev;  /* RTNLGRP_LINK subscription, non-blocking */
	struct nl_sock *req; /* resynchronisation after an overrun, same namespace */
	guint src;
	int ifindex;
	vn_link_cb cb;
	void *ud;
};

static int watch_valid(struct nl_msg *msg, void *arg)
{
	struct vn_link_watch *w = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct vn_link_info li;

	if (parse_link(nlh, &li) == 0 && li.ifindex == w->ifindex)
		w->cb(w->ud, &li, nlh->nlmsg_type == RTM_DELLINK);
	return NL_OK;
}

static gboolean watch_ready(gint fd, GIOCondition cond, gpointer ud)
{
	struct vn_link_watch *w = ud;
	int rc;

	for (int i = 0; i < 64; i++) {
		rc = nl_recvmsgs_default(w->ev);
		if (rc == -NLE_AGAIN || rc == 0)
			break;
		if (rc == -NLE_NOMEM) { /* ENOBUFS: events were lost; ask for the current state */
			struct vn_link_info li;
			int g = vn_link_get(w->req, NULL, w->ifindex, &li);
			if (g == 0)
				w->cb(w->ud, &li, false);
			else if (g == -ENODEV)
				w->cb(w->ud, &(struct vn_link_info){.ifindex = w->ifindex}, true);
			continue;
		}
		if (rc < 0)
			break;
	}
	return G_SOURCE_CONTINUE;
}

struct vn_link_watch *vn_link_watch_new(int ifindex, vn_link_cb cb, void *ud, GError **err)
{
	struct vn_link_watch *w = g_new0(struct vn_link_watch, 1);

	w->ifindex = ifindex;
	w->cb = cb;
	w->ud = ud;
	w->ev = nl_socket_alloc();
	w->req = vn_nl_open();
	if (!w->ev || !w->req)
		goto fail;
	nl_socket_disable_seq_check(w->ev);
	nl_socket_modify_cb(w->ev, NL_CB_VALID, NL_CB_CUSTOM, watch_valid, w);
	if (nl_connect(w->ev, NETLINK_ROUTE) < 0 ||
	    nl_socket_add_membership(w->ev, RTNLGRP_LINK) < 0 ||
	    nl_socket_set_nonblocking(w->ev) < 0)
		goto fail;
	nl_socket_set_buffer_size(w->ev, 1 << 20, 0);
	w->src = g_unix_fd_add(nl_socket_get_fd(w->ev), G_IO_IN, watch_ready, w);
	return w;
fail:
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot open a netlink socket: %s",
		    g_strerror(errno));
	vn_link_watch_free(w);
	return NULL;
}

void vn_link_watch_free(struct vn_link_watch *w)
{
	if (!w)
		return;
	if (w->src)
		g_source_remove(w->src);
	if (w->ev)
		nl_socket_free(w->ev);
	vn_nl_close(w->req);
	g_free(w);
}
