/* SPDX-License-Identifier: MIT */
/* The host filter of a masquerading NAT network: a tcx ingress program and its mmapped map. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

#include "vnicd/args.h"
#include "vnicd/host_filter.h"
#include "vnicd/log.h"
#include "vnicd/netlink.h"

/* Linux 6.6's tcx attach points (the build's uapi headers may be older). */
#define HF_TCX_INGRESS 46
#define HF_TCX_NEXT (-1)   /* tcx: on to the next program and tc's own filters */
#define HF_TC_PRIO 0x7a57u /* the cls_bpf filter's priority (before Linux 6.6) */

struct vn_hfilter {
	int ifindex;
	char ifname[IF_NAMESIZE];
	int map, link; /* fds, -1: none */
	bool tc;       /* attached as a cls_bpf filter under clsact instead of tcx */
	struct vn_hf_value *v;
	size_t vlen;
	char note[200]; /* why it is not attached ("" when it is) */
};

/* ---- the program ---- */

#define I(c, d, s, o, i)                                                                           \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX(sz, d, s, o) I(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define ALU_K(op, d, k) I(BPF_ALU64 | (op) | BPF_K, d, 0, 0, k)
#define ALU_X(op, d, s) I(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define JMP_K(op, d, k, o) I(BPF_JMP | (op) | BPF_K, d, 0, o, k)
#define JMP_X(op, d, s, o) I(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define OUT(pc) ((int16_t)(OUT_PC - (pc)-1)) /* the jump from @pc to the exit */
#define OUT_PC 37

/*
 * Drop (TC_ACT_SHOT) an IPv4 TCP or UDP frame, not a later fragment, to the value's
 * address whose destination port has a count; else TCX_NEXT. Direct packet access
 * (skb->data .. data_end: the linear part, which holds the headers of what a veth or a NIC
 * driver delivers; a frame whose headers are not there passes).
 */
static int prog_load(int map, char *log, size_t loglen)
{
	const struct bpf_insn insns[] = {
	    /* 0 */ LDX(BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct __sk_buff, data)),
	    LDX(BPF_W, BPF_REG_3, BPF_REG_1, offsetof(struct __sk_buff, data_end)),
	    ALU_K(BPF_MOV, BPF_REG_0, HF_TCX_NEXT),
	    ALU_X(BPF_MOV, BPF_REG_4, BPF_REG_2),
	    ALU_K(BPF_ADD, BPF_REG_4, 34), /* Ethernet and an IPv4 header */
	    /* 5 */ JMP_X(BPF_JGT, BPF_REG_4, BPF_REG_3, OUT(5)),
	    LDX(BPF_H, BPF_REG_5, BPF_REG_2, 12), /* EtherType, as loaded (little endian) */
	    JMP_K(BPF_JNE, BPF_REG_5, 0x0008, OUT(7)),
	    LDX(BPF_H, BPF_REG_5, BPF_REG_2, 20), /* a fragment offset: no ports here */
	    ALU_K(BPF_AND, BPF_REG_5, 0xff1f),
	    /* 10 */ JMP_K(BPF_JNE, BPF_REG_5, 0, OUT(10)),
	    LDX(BPF_B, BPF_REG_6, BPF_REG_2, 23), /* protocol: r7 the offset of its counts */
	    ALU_K(BPF_MOV, BPF_REG_7, 0),
	    JMP_K(BPF_JEQ, BPF_REG_6, 6, 2),
	    JMP_K(BPF_JNE, BPF_REG_6, 17, OUT(14)),
	    /* 15 */ ALU_K(BPF_MOV, BPF_REG_7, 65536 * 4),
	    LDX(BPF_W, BPF_REG_8, BPF_REG_2, 30), /* the destination address */
	    I(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_9, BPF_PSEUDO_MAP_VALUE, 0, map),
	    I(0, 0, 0, 0, 0), /* offset 0 of the map's value */
	    LDX(BPF_W, BPF_REG_6, BPF_REG_9, 0),
	    /* 20 */ JMP_X(BPF_JNE, BPF_REG_8, BPF_REG_6, OUT(20)),
	    LDX(BPF_B, BPF_REG_5, BPF_REG_2, 14), /* the IPv4 header's length */
	    ALU_K(BPF_AND, BPF_REG_5, 0x0f),
	    ALU_K(BPF_LSH, BPF_REG_5, 2),
	    ALU_X(BPF_MOV, BPF_REG_4, BPF_REG_2),
	    /* 25 */ ALU_X(BPF_ADD, BPF_REG_4, BPF_REG_5),
	    ALU_K(BPF_ADD, BPF_REG_4, 18), /* r4: past the destination port (14 + ihl + 4) */
	    JMP_X(BPF_JGT, BPF_REG_4, BPF_REG_3, OUT(27)),
	    LDX(BPF_H, BPF_REG_5, BPF_REG_4, -2),
	    I(BPF_ALU | BPF_END | BPF_TO_BE, BPF_REG_5, 0, 0, 16),
	    /* 30 */ ALU_K(BPF_AND, BPF_REG_5, 0xffff),
	    ALU_K(BPF_LSH, BPF_REG_5, 2),
	    ALU_X(BPF_ADD, BPF_REG_5, BPF_REG_7),
	    ALU_X(BPF_ADD, BPF_REG_9, BPF_REG_5),
	    LDX(BPF_W, BPF_REG_6, BPF_REG_9, offsetof(struct vn_hf_value, ref)),
	    /* 35 */ JMP_K(BPF_JEQ, BPF_REG_6, 0, 1),
	    ALU_K(BPF_MOV, BPF_REG_0, TC_ACT_SHOT),
	    /* 37: OUT_PC */ I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	union bpf_attr attr;

	G_STATIC_ASSERT(sizeof(insns) / sizeof(insns[0]) == OUT_PC + 1);
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SCHED_CLS;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = G_N_ELEMENTS(insns);
	attr.license = (uintptr_t) "MIT";
	attr.log_buf = (uintptr_t)log;
	attr.log_size = (uint32_t)loglen;
	attr.log_level = 1;
	g_strlcpy(attr.prog_name, "vnicd_masq", sizeof(attr.prog_name));
	return vn_bpf_prog_load(&attr);
}

/* ---- making and attaching ---- */

/* The map (one value, mmappable) and its mapping. Return: 0 or -errno (@hf->note set). */
static int map_make(struct vn_hfilter *hf)
{
	union bpf_attr attr;
	long pg = sysconf(_SC_PAGESIZE);

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = sizeof(struct vn_hf_value);
	attr.max_entries = 1;
	attr.map_flags = BPF_F_MMAPABLE;
	g_strlcpy(attr.map_name, "vnicd_masq", sizeof(attr.map_name));
	hf->map = (int)syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (hf->map < 0 && errno == EPERM) { /* before Linux 5.11: charged to RLIMIT_MEMLOCK */
		struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
		if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0)
			hf->map = (int)syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
		else
			errno = EPERM;
	}
	if (hf->map < 0) {
		hf->map = -errno;
		snprintf(hf->note, sizeof(hf->note), "BPF_MAP_CREATE: %s", g_strerror(errno));
		return hf->map;
	}
	hf->vlen = (sizeof(struct vn_hf_value) + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
	hf->v = mmap(NULL, hf->vlen, PROT_READ | PROT_WRITE, MAP_SHARED, hf->map, 0);
	if (hf->v == MAP_FAILED) {
		int e = errno;
		hf->v = NULL;
		snprintf(hf->note, sizeof(hf->note), "mmap of the BPF map: %s", g_strerror(e));
		return -e;
	}
	return 0;
}

/* ---- before Linux 6.6: clsact and a cls_bpf filter in direct-action mode (netlink) ---- */

struct tc_req {
	struct nlmsghdr n;
	struct tcmsg t;
	char attrs[256];
};

static struct rtattr *attr_add(struct tc_req *r, unsigned short type, const void *d, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)&r->n + NLMSG_ALIGN(r->n.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), d, len);
	r->n.nlmsg_len = NLMSG_ALIGN(r->n.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

/* Send @r to the kernel of vnicd's namespace, its answer's extended message in @emsg.
 * Return: 0 or -errno. */
static int tc_talk(struct tc_req *r, char *emsg, size_t elen)
{
	int one = 1, fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), rc = -EIO;
	char buf[1024];
	ssize_t n;

	if (emsg && elen)
		emsg[0] = '\0';
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (send(fd, r, r->n.nlmsg_len, 0) < 0) {
		rc = -errno;
		goto out;
	}
	if ((n = recv(fd, buf, sizeof(buf), 0)) >= (ssize_t)NLMSG_SPACE(sizeof(struct nlmsgerr))) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		struct nlmsgerr *e = NLMSG_DATA(h);
		rc = h->nlmsg_type == NLMSG_ERROR ? e->error : -EIO;
		if (emsg && (h->nlmsg_flags & NLM_F_ACK_TLVS)) { /* after the echoed request */
			size_t off =
			    NLMSG_SPACE(sizeof(*e)) +
			    ((h->nlmsg_flags & NLM_F_CAPPED) ? 0 : e->msg.nlmsg_len - NLMSG_HDRLEN);
			int len = off < (size_t)n ? (int)((size_t)n - off) : 0;
			for (struct rtattr *a = (struct rtattr *)(buf + off); RTA_OK(a, len);
			     a = RTA_NEXT(a, len))
				if (a->rta_type == NLMSGERR_ATTR_MSG)
					g_strlcpy(emsg, RTA_DATA(a), elen);
		}
	}
out:
	close(fd);
	return rc;
}

static void tc_req_init(struct tc_req *r, const struct vn_hfilter *hf, uint16_t type,
			uint16_t flags)
{
	memset(r, 0, sizeof(*r));
	r->n.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	r->n.nlmsg_type = type;
	r->n.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	r->t.tcm_family = AF_UNSPEC;
	r->t.tcm_ifindex = hf->ifindex;
	r->t.tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
	r->t.tcm_info = TC_H_MAKE(HF_TC_PRIO << 16, htons(ETH_P_IP));
}

/* clsact (kept when there is one) and our filter, replacing one a crashed vnicd left. */
static int tc_attach(struct vn_hfilter *hf, int prog, char *emsg, size_t elen)
{
	struct tc_req r;
	struct rtattr *opt;
	uint32_t fd = (uint32_t)prog, fl = TCA_BPF_FLAG_ACT_DIRECT;
	int rc;

	tc_req_init(&r, hf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
	r.t.tcm_parent = TC_H_CLSACT;
	r.t.tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
	r.t.tcm_info = 0;
	attr_add(&r, TCA_KIND, "clsact", sizeof("clsact"));
	if ((rc = tc_talk(&r, emsg, elen)) < 0 && rc != -EEXIST)
		return rc;
	tc_req_init(&r, hf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_REPLACE);
	r.t.tcm_handle = 1;
	attr_add(&r, TCA_KIND, "bpf", sizeof("bpf"));
	opt = attr_add(&r, TCA_OPTIONS, NULL, 0);
	attr_add(&r, TCA_BPF_FD, &fd, 4);
	attr_add(&r, TCA_BPF_NAME, "vnicd_masq", sizeof("vnicd_masq"));
	attr_add(&r, TCA_BPF_FLAGS, &fl, 4);
	opt->rta_len = (unsigned short)((char *)&r.n + r.n.nlmsg_len - (char *)opt);
	return tc_talk(&r, emsg, elen);
}

static void tc_detach(struct vn_hfilter *hf)
{
	struct tc_req r;

	tc_req_init(&r, hf, RTM_DELTFILTER, 0);
	attr_add(&r, TCA_KIND, "bpf", sizeof("bpf"));
	tc_talk(&r, NULL, 0); /* the interface may be gone: nothing to do then */
}

/* Program and tcx link (else, before Linux 6.6, a cls_bpf filter). Return: 0 or -errno
 * (@hf->note set). */
static int attach(struct vn_hfilter *hf)
{
	char log[512] = "";
	union bpf_attr attr;
	int prog = prog_load(hf->map, log, sizeof(log)), e;

	if (prog < 0) {
		snprintf(hf->note, sizeof(hf->note), "BPF_PROG_LOAD (sched_cls): %s%s%.120s",
			 g_strerror(-prog), log[0] ? ": " : "", log);
		return prog;
	}
	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (uint32_t)prog;
	attr.link_create.target_ifindex = (uint32_t)hf->ifindex;
	attr.link_create.attach_type = HF_TCX_INGRESS;
	hf->link = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	e = errno;
	if (hf->link < 0 && e == EINVAL) { /* no tcx: the classic way */
		if ((e = -tc_attach(hf, prog, log, sizeof(log))) == 0)
			hf->tc = true;
		else
			snprintf(hf->note, sizeof(hf->note),
				 "no tcx; clsact and cls_bpf: %s%s%.100s", g_strerror(e),
				 log[0] ? ": " : "", log);
	} else if (hf->link < 0) {
		snprintf(hf->note, sizeof(hf->note), "BPF_LINK_CREATE (tcx ingress): %s",
			 g_strerror(e));
	}
	close(prog); /* the link or the filter holds the program, the program the map */
	if (hf->link < 0 && !hf->tc) {
		hf->link = -1;
		return -e;
	}
	return 0;
}

struct vn_hfilter *vn_hfilter_new(int ifindex, const char *what)
{
	struct vn_hfilter *hf = g_try_new0(struct vn_hfilter, 1);

	if (!hf)
		return NULL;
	hf->ifindex = ifindex;
	hf->map = hf->link = -1;
	if (!if_indextoname((unsigned)ifindex, hf->ifname))
		snprintf(hf->ifname, sizeof(hf->ifname), "#%d", ifindex);
	if (map_make(hf) < 0 || attach(hf) < 0) {
		VN_WARN("network %s: no host filter on %s: %s; the host's stack will answer the "
			"replies of masqueraded connections (TCP resets, port unreachables)",
			what, hf->ifname, hf->note);
		return hf;
	}
	VN_INFO("network %s: host filter attached at %s ingress of %s (the host's stack misses "
		"the replies to NAT's ports)",
		what, hf->tc ? "cls_bpf (clsact)" : "tcx", hf->ifname);
	return hf;
}

void vn_hfilter_free(struct vn_hfilter *hf)
{
	if (!hf)
		return;
	if (hf->link >= 0)
		close(hf->link); /* the kernel detaches the program */
	if (hf->tc)
		tc_detach(hf); /* clsact stays: other filters may be under it */
	if (hf->v)
		munmap(hf->v, hf->vlen);
	if (hf->map >= 0)
		close(hf->map);
	g_free(hf);
}

uint32_t *vn_hfilter_refs(struct vn_hfilter *hf)
{
	return hf && (hf->link >= 0 || hf->tc) ? (uint32_t *)hf->v->ref : NULL;
}

void vn_hfilter_set_addr(struct vn_hfilter *hf, uint32_t addr)
{
	if (hf && hf->v)
		__atomic_store_n(&hf->v->addr, addr, __ATOMIC_RELAXED);
}

void vn_hfilter_describe(const struct vn_hfilter *hf, JsonBuilder *b)
{
	bool on = hf && (hf->link >= 0 || hf->tc);
	gint64 ports = 0;

	for (unsigned i = 0; on && i < 2 * 65536; i++)
		ports += __atomic_load_n(&hf->v->ref[i >> 16][i & 0xffff], __ATOMIC_RELAXED) != 0;
	json_builder_set_member_name(b, "host_filter");
	json_builder_begin_object(b);
	vn_json_bool(b, "attached", on);
	vn_json_str(b, "ifname", hf ? hf->ifname : NULL);
	vn_json_str(b, "note", hf && hf->note[0] ? hf->note : NULL);
	vn_json_int(b, "ports", ports);
	json_builder_end_object(b);
}

/* ---- the host's ephemeral ports ---- */

/* Is @port in net.ipv4.ip_local_reserved_ports' list @list ("a,b-c,...")? */
static bool reserved(char **list, unsigned port)
{
	for (char **p = list; p && *p; p++) {
		unsigned a, b;
		int n = sscanf(*p, "%u-%u", &a, &b);
		if ((n == 1 && port == a) || (n == 2 && port >= a && port <= b))
			return true;
	}
	return false;
}

unsigned vn_host_ephemeral_overlap(uint16_t lo, uint16_t hi, uint16_t *elo, uint16_t *ehi)
{
	g_autofree char *range = NULL, *res = NULL;
	g_auto(GStrv) list = NULL;
	unsigned a, b, n = 0;

	if (!g_file_get_contents("/proc/sys/net/ipv4/ip_local_port_range", &range, NULL, NULL) ||
	    sscanf(range, "%u %u", &a, &b) != 2 || a > 65535 || b > 65535)
		return 0;
	*elo = (uint16_t)a, *ehi = (uint16_t)b;
	if (g_file_get_contents("/proc/sys/net/ipv4/ip_local_reserved_ports", &res, NULL, NULL))
		list = g_strsplit(g_strstrip(res), ",", -1);
	for (unsigned p = MAX(a, lo); p <= MIN(b, (unsigned)hi); p++)
		n += !reserved(list, p);
	return n;
}
