/* SPDX-License-Identifier: MIT */
/*
 * The DNS forwarder of NAT networks: queries guests send to the gateway's address (UDP 53)
 * are relayed, with an identifier of vnicd's own, to the upstream resolver from vnicd's
 * namespace, and the answers relayed back. Control thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "nat_priv.h"
#include "vnicd/args.h"
#include "vnicd/log.h"

#define DNS_PENDING 256	    /* queries in flight per network */
#define DNS_TIMEOUT_MS 5000 /* a query unanswered this long frees its slot */
#define DNS_MAX 1472	    /* the largest answer relayed (one Ethernet frame); larger: TC */

struct dns_pending {
	bool used;
	uint16_t id;   /* the guest's */
	uint16_t port; /* the guest's source port (network order) */
	uint32_t ip;   /* the guest (network order) */
	struct rte_ether_addr mac;
	uint64_t t;
};

struct nat_dns {
	int fd;
	guint src;
	struct sockaddr_in up;
	uint16_t next;
	struct dns_pending p[DNS_PENDING];
	uint64_t queries, answers, dropped;
};

/* An answer from upstream: back to its guest from the gateway's address. */
static void answer(struct nat_net *nn, struct nat_dns *d, uint8_t *msg, size_t len)
{
	uint8_t f[14 + 20 + 8 + DNS_MAX];
	uint16_t id, ulen = (uint16_t)(8 + len), iplen = (uint16_t)(28 + len);
	struct dns_pending *q;
	uint32_t sum = 0;

	memcpy(&id, msg, 2);
	q = &d->p[ntohs(id) % DNS_PENDING];
	if (!q->used || ntohs(id) / DNS_PENDING != (uint16_t)(q->t & 0xff)) {
		d->dropped++;
		return;
	}
	q->used = false;
	memcpy(msg, &q->id, 2);
	memcpy(f, &q->mac, 6);
	memcpy(f + 6, &nn->leg[0]->mac, 6);
	f[12] = 0x08, f[13] = 0;
	memset(f + 14, 0, 28);
	f[14] = 0x45;
	f[16] = (uint8_t)(iplen >> 8), f[17] = (uint8_t)iplen;
	f[22] = 64, f[23] = 17;
	memcpy(f + 26, &nn->nat.gw, 4);
	memcpy(f + 30, &q->ip, 4);
	for (int i = 14; i < 34; i += 2)
		sum += (uint32_t)(f[i] << 8 | f[i + 1]);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	f[24] = (uint8_t)(~sum >> 8), f[25] = (uint8_t)~sum;
	f[34] = 0, f[35] = 53;
	memcpy(f + 36, &q->port, 2);
	f[38] = (uint8_t)(ulen >> 8), f[39] = (uint8_t)ulen; /* UDP checksum 0: none */
	memcpy(f + 42, msg, len);
	nat_leg_send(nn, 0, f, 42 + len);
	d->answers++;
}

/* An answer too large for one frame (@len bytes read of it): its header and question,
 * marked truncated (TC), so that the guest asks again over TCP. Return: its new length, or
 * 0 (no whole question). */
static size_t truncate_answer(uint8_t *msg, size_t len)
{
	unsigned qd = (unsigned)(msg[4] << 8 | msg[5]);
	size_t i = 12;

	if (qd == 0)
		return 0;
	for (unsigned q = 0; q < qd; q++) {
		for (;;) { /* the name: labels, to a zero or a compression pointer */
			if (i >= len)
				return 0;
			if ((msg[i] & 0xc0) == 0xc0) {
				i += 2;
				break;
			}
			if (msg[i] == 0) {
				i++;
				break;
			}
			i += msg[i] + 1u;
		}
		i += 4; /* type, class */
		if (i > len)
			return 0;
	}
	if (i > DNS_MAX) /* a question as long as the frame's room: no room left */
		return 0;
	msg[2] |= 0x02;
	memset(msg + 6, 0, 6); /* no answer, authority or additional records */
	return i;
}

static gboolean readable(gint fd, GIOCondition cond, gpointer ud)
{
	struct nat_net *nn = ud;
	struct nat_dns *d = nn->dns;
	uint8_t buf[DNS_MAX + 1];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	while ((n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >=
	       0) {
		if (n < 12 || from.sin_addr.s_addr != d->up.sin_addr.s_addr ||
		    from.sin_port != d->up.sin_port)
			d->dropped++;
		else if (n > DNS_MAX && !(n = (ssize_t)truncate_answer(buf, (size_t)n)))
			d->dropped++; /* too large, and no question to say so with */
		else
			answer(nn, d, buf, (size_t)n);
		fl = sizeof(from);
	}
	return G_SOURCE_CONTINUE;
}

void nat_dns_query(struct nat_net *nn, const uint8_t *f, size_t len, uint64_t now)
{
	struct nat_dns *d = nn->dns;
	uint32_t ihl = (f[14] & 0xfu) * 4u;
	const uint8_t *udp = f + 14 + ihl, *msg = udp + 8;
	uint8_t out[DNS_MAX];
	struct dns_pending *q = NULL;
	size_t mlen;
	uint16_t id;

	if (!d || len < 14 + ihl + 8 + 12)
		return;
	mlen = RTE_MIN(len - (14 + ihl + 8), (size_t)((udp[4] << 8 | udp[5]) - 8));
	if ((udp[4] << 8 | udp[5]) < 8 + 12 || mlen > sizeof(out)) {
		d->dropped++;
		return;
	}
	for (unsigned i = 0; i < DNS_PENDING && !q; i++) { /* a free slot, or a stale one */
		struct dns_pending *c = &d->p[(d->next + i) % DNS_PENDING];
		if (!c->used || now - c->t >= DNS_TIMEOUT_MS)
			q = c;
	}
	if (!q) {
		d->dropped++;
		return;
	}
	d->next = (uint16_t)((q - d->p) + 1);
	q->used = true;
	memcpy(&q->id, msg, 2);
	memcpy(&q->port, udp, 2);
	memcpy(&q->ip, f + 26, 4);
	memcpy(&q->mac, f + 6, 6);
	q->t = now;
	/* vnicd's identifier: the slot, and 8 bits of the time against late answers */
	id = htons((uint16_t)((now & 0xff) * DNS_PENDING + (uint16_t)(q - d->p)));
	memcpy(out, msg, mlen);
	memcpy(out, &id, 2);
	if (sendto(d->fd, out, mlen, MSG_DONTWAIT, (struct sockaddr *)&d->up, sizeof(d->up)) < 0) {
		q->used = false;
		d->dropped++;
		return;
	}
	d->queries++;
}

int nat_dns_start(struct nat_net *nn, uint32_t ip, uint16_t port)
{
	struct nat_dns *d = g_new0(struct nat_dns, 1);

	d->up =
	    (struct sockaddr_in){.sin_family = AF_INET, .sin_port = port, .sin_addr.s_addr = ip};
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->fd < 0) {
		int rc = -errno;
		g_free(d);
		return rc;
	}
	nn->dns = d;
	d->src = g_unix_fd_add(d->fd, G_IO_IN, readable, nn);
	return nat_dns_tcp_start(nn, &d->up);
}

void nat_dns_stop(struct nat_net *nn)
{
	struct nat_dns *d = nn->dns;

	if (!d)
		return;
	nat_dns_tcp_stop(nn);
	g_source_remove(d->src);
	close(d->fd);
	g_free(d);
	nn->dns = NULL;
}

void nat_dns_describe(struct nat_net *nn, JsonBuilder *b)
{
	struct nat_dns *d = nn->dns;
	char ip[INET_ADDRSTRLEN + 8];

	if (!d) {
		vn_json_str(b, "dns_upstream", NULL);
		return;
	}
	inet_ntop(AF_INET, &d->up.sin_addr, ip, INET_ADDRSTRLEN);
	g_snprintf(ip + strlen(ip), 8, ":%u", ntohs(d->up.sin_port));
	vn_json_str(b, "dns_upstream", ip);
	json_builder_set_member_name(b, "dns_counters");
	json_builder_begin_object(b);
	vn_json_int(b, "queries", (gint64)d->queries);
	vn_json_int(b, "answers", (gint64)d->answers);
	vn_json_int(b, "dropped", (gint64)d->dropped);
	nat_dns_tcp_describe(nn, b);
	json_builder_end_object(b);
}
