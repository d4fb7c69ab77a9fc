/* SPDX-License-Identifier: MIT */
/*
 * UDP frame blaster and sink for tap_bench.py: `udpflood send IP PORT SECONDS [PAYLOAD]`
 * sends as fast as sendmmsg allows (batches of 64) and prints the datagrams sent;
 * `udpflood recv PORT SECONDS` counts what arrives (recvmmsg) and prints it.
 * `udpflood flows A.B SECONDS` sends each datagram to a destination of its own (A.B.x.y,
 * ports 1024-65535 in turn: a new connection for a NAT or conntrack on the way) and
 * prints the datagrams sent (nat_bench.py).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int do_send(const char *ip, int port, double secs, size_t payload)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	char *buf = calloc(1, payload ? payload : 1);
	unsigned long long sent = 0;
	double end;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || !buf || inet_pton(AF_INET, ip, &to.sin_addr) != 1) {
		perror("udpflood send");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf;
		iov[i].iov_len = payload;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
	}
	end = now() + secs;
	while (now() < end) {
		int n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += (unsigned)n;
		else if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR &&
			 errno != ECONNREFUSED)
			break;
	}
	printf("%llu\n", sent);
	return 0;
}

/* Every datagram to a (address, port) of its own under @net16 ("A.B"). */
static int do_flows(const char *net16, double secs)
{
	static struct sockaddr_in to[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov = {.iov_base = "flow", .iov_len = 4};
	struct in_addr base;
	char ip[32];
	unsigned long long sent = 0, k = 0;
	double end;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ip, sizeof(ip), "%s.0.0", net16);
	if (fd < 0 || inet_pton(AF_INET, ip, &base) != 1) {
		perror("udpflood flows");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(to[i]);
	}
	end = now() + secs;
	while (now() < end) {
		int n;
		for (int i = 0; i < BATCH; i++, k++) {
			to[i].sin_family = AF_INET;
			to[i].sin_port = htons((uint16_t)(1024 + k % 64512));
			to[i].sin_addr.s_addr =
			    htonl(ntohl(base.s_addr) + 1 + (uint32_t)(k / 64512));
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += (unsigned)n;
		else if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR &&
			 errno != ECONNREFUSED)
			break;
		k -= (unsigned)(BATCH - (n > 0 ? n : 0)); /* the unsent ones again */
	}
	printf("%llu\n", sent);
	return 0;
}

static int do_recv(int port, double secs)
{
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	static char bufs[BATCH][2048];
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	unsigned long long got = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), sz = 8 << 20;
	double end;

	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0) {
		perror("udpflood recv");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	printf("ready\n");
	fflush(stdout);
	end = now() + secs;
	while (now() < end) {
		int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n > 0)
			got += (unsigned)n;
	}
	printf("%llu\n", got);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], atoi(argv[3]), atof(argv[4]),
			       argc > 5 ? (size_t)atoi(argv[5]) : 18);
	if (argc >= 4 && strcmp(argv[1], "recv") == 0)
		return do_recv(atoi(argv[2]), atof(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "flows") == 0)
		return do_flows(argv[2], atof(argv[3]));
	fprintf(stderr, "usage: udpflood send IP PORT SECONDS [PAYLOAD] | recv PORT SECONDS | "
			"flows A.B SECONDS\n");
	return 2;
}
