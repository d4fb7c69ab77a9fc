/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest's frames, as fast as sendmmsg allows (batches of 64) on a raw packet
 * socket: `macflood IFNAME MODE SECONDS [SEED]`, MODE one of
 *   macs       unicast to unknown destinations from random source MACs (FDB exhaustion)
 *   broadcast  broadcast storm from one source
 *   malformed  parser food: truncated/garbled IPv4, IPv6, ARP, VLAN stacks, bad lengths
 * Prints the frames sent. Test tool of test_hostile_guest.py.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME_MAX 1514

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void random_unicast(uint8_t *m)
{
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)rnd();
	m[0] = (uint8_t)((m[0] & 0xfc) | 0x02); /* locally administered, unicast */
}

/* One malformed frame into @f; Return: its length (>= 14: the kernel wants a header). */
static size_t malformed(uint8_t *f)
{
	static const uint16_t types[] = {0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x9100};
	size_t len = 14 + rnd() % 80;

	memset(f, 0xff, 6);
	random_unicast(f + 6);
	f[6] = 0x02, f[7] = 0xbb; /* one attacker MAC prefix */
	for (size_t i = 12; i < len; i++)
		f[i] = (uint8_t)rnd();
	*(uint16_t *)(f + 12) = htons(types[rnd() % 6]);
	if (len > 15 && (rnd() & 1)) {				/* an IPv4 header that lies */
		f[14] = (uint8_t)(0x40 | (rnd() % 16));		/* IHL 0..15 */
		*(uint16_t *)(f + 16) = htons((uint16_t)rnd()); /* total length */
	}
	if (len > 18 && (rnd() & 1)) /* a VLAN tag with a VLAN tag inside */
		*(uint16_t *)(f + 16) = htons(0x8100);
	return len;
}

int main(int argc, char **argv)
{
	static uint8_t frames[BATCH][FRAME_MAX];
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_halen = 6};
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long sent = 0;
	double end;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: macflood IFNAME macs|broadcast|malformed SECONDS [SEED]\n");
		return 2;
	}
	rng = argc > 4 ? strtoull(argv[4], NULL, 0) | 1 : 0x9e3779b97f4a7c15ULL;
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	to.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (fd < 0 || !to.sll_ifindex) {
		perror("macflood: socket/interface");
		return 1;
	}
	end = now() + atof(argv[3]);
	while (now() < end) {
		for (int i = 0; i < BATCH; i++) {
			uint8_t *f = frames[i];
			size_t len = 60;
			if (strcmp(argv[2], "malformed") == 0) {
				len = malformed(f);
			} else {
				memset(f, 0, 60);
				if (strcmp(argv[2], "macs") == 0) {
					random_unicast(f);
					random_unicast(f + 6);
				} else {
					memset(f, 0xff, 6);
					memcpy(f + 6, "\x02\xbb\x00\x00\x00\x01", 6);
				}
				f[12] = 0x88, f[13] = 0xb6; /* local experimental EtherType */
			}
			iov[i] = (struct iovec){f, len};
			msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &to,
							       .msg_namelen = sizeof(to),
							       .msg_iov = &iov[i],
							       .msg_iovlen = 1}};
		}
		int n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += (unsigned long)n;
		else
			usleep(100); /* queue full: the kernel drops nothing we count */
	}
	printf("%lu\n", sent);
	return 0;
}
