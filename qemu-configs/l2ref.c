/* SPDX-License-Identifier: MIT */
/*
 * l2ref: frame injector and collector for a reference switch inside the test guest (the
 * kernel bridge with vlan_filtering, which the host's kernel may lack).
 *
 * Usage: l2ref IF1 [IF2 ...]   (built static by build-guest.sh, runs in the guest)
 * Reads lines "N HEX" from stdin: sends the frame HEX on interface IFN (1-based), then for
 * 150 ms prints every frame any of the interfaces receives as "RX I HEX", the VLAN tag the
 * kernel moved into packet metadata put back in place (PACKET_AUXDATA), so the frame is
 * shown as it was on the wire. After each frame "SENT K"; at the end of input "L2REF-DONE".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXIF 16
#define MAXF 9216

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Print what socket @fd (interface @i) has, tags put back; Return: frames printed. */
static int drain(int fd, int i)
{
	int n = 0;

	for (;;) {
		unsigned char buf[MAXF + 4], out[MAXF + 8];
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		} ctl;
		struct sockaddr_ll from;
		struct iovec iov = {buf, MAXF};
		struct msghdr mh = {.msg_name = &from,
				    .msg_namelen = sizeof(from),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = &ctl,
				    .msg_controllen = sizeof(ctl)};
		ssize_t len = recvmsg(fd, &mh, MSG_DONTWAIT);
		size_t olen;

		if (len < 0)
			return n;
		if (from.sll_pkttype == PACKET_OUTGOING || len < 14)
			continue;
		memcpy(out, buf, 12);
		olen = 12;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			struct tpacket_auxdata aux;
			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
				continue;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			if (aux.tp_status & TP_STATUS_VLAN_VALID) {
				unsigned tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID)
						    ? aux.tp_vlan_tpid
						    : ETH_P_8021Q;
				out[olen++] = (unsigned char)(tpid >> 8);
				out[olen++] = (unsigned char)tpid;
				out[olen++] = (unsigned char)(aux.tp_vlan_tci >> 8);
				out[olen++] = (unsigned char)aux.tp_vlan_tci;
			}
		}
		memcpy(out + olen, buf + 12, (size_t)len - 12);
		olen += (size_t)len - 12;
		printf("RX %d ", i + 1);
		for (size_t k = 0; k < olen; k++)
			printf("%02x", out[k]);
		printf("\n");
		n++;
	}
}

int main(int argc, char **argv)
{
	int fd[MAXIF], nif = argc - 1, one = 1, sent = 0;
	int ifidx[MAXIF];
	char *line = NULL;
	size_t cap = 0;

	if (nif < 1 || nif > MAXIF) {
		fprintf(stderr, "usage: l2ref IF1 [IF2 ...] (at most %d)\n", MAXIF);
		return 2;
	}
	for (int i = 0; i < nif; i++) {
		struct sockaddr_ll sll = {.sll_family = AF_PACKET,
					  .sll_protocol = htons(ETH_P_ALL)};
		ifidx[i] = (int)if_nametoindex(argv[i + 1]);
		fd[i] = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
		sll.sll_ifindex = ifidx[i];
		if (!ifidx[i] || fd[i] < 0 ||
		    setsockopt(fd[i], SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0 ||
		    bind(fd[i], (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			fprintf(stderr, "l2ref: %s: %s\n", argv[i + 1], strerror(errno));
			return 1;
		}
	}
	for (int i = 0; i < nif; i++) /* what arrived before: not ours */
		while (recv(fd[i], line, 0, MSG_DONTWAIT | MSG_TRUNC) >= 0)
			;
	while (getline(&line, &cap, stdin) > 0) {
		unsigned char f[MAXF];
		size_t n = 0;
		char *p;
		long in = strtol(line, &p, 10);
		struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_halen = 6};
		double end;

		if (in < 1 || in > nif)
			continue;
		while (*p == ' ')
			p++;
		while (n < MAXF && hexval(p[0]) >= 0 && hexval(p[1]) >= 0) {
			f[n++] = (unsigned char)(hexval(p[0]) << 4 | hexval(p[1]));
			p += 2;
		}
		to.sll_ifindex = ifidx[in - 1];
		memcpy(to.sll_addr, f, 6);
		if (n < 14 || sendto(fd[in - 1], f, n, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			printf("ERR %d %s\n", sent + 1, n < 14 ? "short frame" : strerror(errno));
			continue;
		}
		end = now() + 0.15;
		while (now() < end) {
			struct pollfd pf[MAXIF];
			for (int i = 0; i < nif; i++)
				pf[i] = (struct pollfd){.fd = fd[i], .events = POLLIN};
			if (poll(pf, (nfds_t)nif, 20) > 0)
				for (int i = 0; i < nif; i++)
					if (pf[i].revents & POLLIN)
						drain(fd[i], i);
		}
		printf("SENT %d\n", ++sent);
		fflush(stdout);
	}
	printf("L2REF-DONE\n");
	free(line);
	return 0;
}
