/* SPDX-License-Identifier: MIT */
/* An XDP_PASS program on an interface, held by a BPF link (see vn_klink_xdp_pass()). */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

#include "vnicd/log.h"
#include "vnicd/netlink.h"

int vn_bpf_prog_load(union bpf_attr *attr)
{
	int fd, e, signalled = 0;

	while ((fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, attr, sizeof(*attr))) < 0 &&
	       errno == EAGAIN && ++signalled < 5)
		;
	e = errno;
	if (signalled) /* rare: say so, to find where the signals come from */
		VN_INFO(
		    "BPF_PROG_LOAD of %s: the verifier was interrupted by a signal %d time(s)%s",
		    attr->prog_name, signalled, fd < 0 && e == EAGAIN ? ": giving up" : "");
	if (fd < 0 && e == ENOSPC && attr->log_buf) { /* the log did not fit */
		attr->log_buf = 0, attr->log_size = 0, attr->log_level = 0;
		return vn_bpf_prog_load(attr);
	}
	return fd < 0 ? -e : fd;
}

int vn_bpf_return_prog(uint32_t type, int32_t ret, uint32_t flags, const char *name,
		       const char *license, char *log, size_t loglen)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = ret},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = G_N_ELEMENTS(insns);
	attr.license = (uintptr_t)license;
	attr.prog_flags = flags;
	if (log) {
		attr.log_buf = (uintptr_t)log;
		attr.log_size = (uint32_t)loglen;
		attr.log_level = 1;
	}
	g_strlcpy(attr.prog_name, name, sizeof(attr.prog_name));
	return vn_bpf_prog_load(&attr);
}

/* `r0 = XDP_PASS; exit`, declared multi-buffer aware (@frags) or not. Return: fd or -errno. */
static int xdp_pass_prog(bool frags, char *log, size_t loglen)
{
	return vn_bpf_return_prog(BPF_PROG_TYPE_XDP, XDP_PASS, frags ? BPF_F_XDP_HAS_FRAGS : 0,
				  "vnicd_xdp_pass", "GPL", log, loglen);
}

int vn_klink_xdp_pass(int ifindex, char *emsg, size_t elen)
{
	char log[256] = "";
	union bpf_attr attr;
	int prog, link;

	/* multi-buffer aware: a veth then still takes a peer MTU above a page (jumbo frames) */
	prog = xdp_pass_prog(true, log, sizeof(log));
	if (prog == -EINVAL) /* before Linux 5.18 */
		prog = xdp_pass_prog(false, log, sizeof(log));
	if (prog < 0) {
		snprintf(emsg, elen, "BPF_PROG_LOAD: %s%s%s", g_strerror(-prog), log[0] ? ": " : "",
			 log);
		return prog;
	}
	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (uint32_t)prog;
	attr.link_create.target_ifindex = (uint32_t)ifindex;
	attr.link_create.attach_type = BPF_XDP;
	attr.link_create.flags = XDP_FLAGS_DRV_MODE;
	link = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	link = link < 0 ? -errno : link;
	close(prog); /* the link holds the program */
	if (link < 0)
		snprintf(emsg, elen, "BPF_LINK_CREATE (XDP, driver mode): %s", g_strerror(-link));
	return link;
}
