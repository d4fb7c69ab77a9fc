/* SPDX-License-Identifier: MIT */
/*
 * DNS over TCP at the gateway of a NAT network (RFC 7766: what a resolver falls back to
 * after a truncated UDP answer). A guest's TCP connection to the gateway's address, port
 * 53, ends here, in a small TCP endpoint of its own (in-order data only; what the guest has
 * not acknowledged is sent again), and its bytes are relayed both ways over a TCP
 * connection of vnicd's own to the upstream resolver (the UDP forwarder's). Control
 * thread only: the legs punt the segments to it (punt_wanted()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>
#include <rte_ip.h>
#include <rte_random.h>
#include <rte_tcp.h>

#include "nat_priv.h"
#include "vnicd/args.h"
#include "vnicd/log.h"

#define DT_CONNS 64	       /* connections at once per network */
#define DT_PER_GUEST 8	       /* of them from one guest address */
#define DT_IN_MAX 4096	       /* guest bytes not yet written upstream (our window) */
#define DT_OUT_MAX (65535 + 2) /* upstream bytes not yet acknowledged: one whole answer */
#define DT_MSS 1460u	       /* the largest segment sent (at most the guest's MSS) */
#define DT_RTO_MS 300u	       /* resend what is not acknowledged after this */
#define DT_RETRIES 6	       /* then the connection is reset */
#define DT_IDLE_MS 30000       /* a connection with no segment this long is reset */
#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)

struct dt_conn {
	bool used, established, guest_fin, up_eof, fin_sent, connected;
	uint32_t ip;   /* the guest (network order) */
	uint16_t port; /* its port (network order) */
	struct rte_ether_addr mac;
	uint32_t iss, snd_una, snd_nxt, snd_max, rcv_nxt; /* snd_max: the most ever sent */
	uint32_t out_seq; /* the sequence number of out's first byte */
	uint32_t wnd;	  /* the guest's window (no scaling is agreed) */
	uint16_t mss;
	int fd;
	guint src;
	GIOCondition cond;
	GByteArray *to_up, *out;
	uint64_t last_rx, last_tx;
	unsigned retries;
};

struct nat_dns_tcp {
	struct sockaddr_in up;
	struct dt_conn c[DT_CONNS];
	uint64_t accepted, refused, resets;
};

struct dt_ctx {
	struct nat_net *nn;
	struct dt_conn *c;
};

static void conn_watch(struct nat_net *nn, struct dt_conn *c);

/* One segment to the guest of @c: @flags, sequence @seq, @len bytes of @data. */
static void seg(struct nat_net *nn, const struct dt_conn *c, uint32_t seq, uint8_t flags,
		const uint8_t *data, size_t len)
{
	uint8_t f[14 + 20 + 24 + DT_MSS];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	size_t opt = (flags & RTE_TCP_SYN_FLAG) ? 4 : 0;
	size_t room = DT_IN_MAX - (c->to_up ? c->to_up->len : 0);

	memcpy(f, &c->mac, 6);
	memcpy(f + 6, &nn->leg[0]->mac, 6);
	f[12] = 0x08, f[13] = 0;
	memset(ip, 0, sizeof(*ip) + sizeof(*th) + opt);
	ip->version_ihl = 0x45;
	ip->total_length = htons((uint16_t)(20 + 20 + opt + len));
	ip->fragment_offset = htons(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = nn->nat.gw;
	ip->dst_addr = c->ip;
	th->src_port = htons(53);
	th->dst_port = c->port;
	th->sent_seq = htonl(seq);
	th->recv_ack = (flags & RTE_TCP_ACK_FLAG) ? htonl(c->rcv_nxt) : 0;
	th->data_off = (uint8_t)((20 + opt) / 4) << 4;
	th->tcp_flags = flags;
	th->rx_win = htons((uint16_t)room);
	if (opt) { /* MSS */
		uint8_t *o = (uint8_t *)(th + 1);
		o[0] = 2, o[1] = 4, o[2] = DT_MSS >> 8, o[3] = DT_MSS & 0xff;
	}
	memcpy((uint8_t *)(th + 1) + opt, data, len);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	nat_leg_send(nn, 0, f, 14 + 20 + 20 + opt + len);
}

/* A reset answering a segment (@seq, @ack, @flags, @plen) no connection takes (RFC 9293). */
static void reset_reply(struct nat_net *nn, uint32_t ip, uint16_t port,
			const struct rte_ether_addr *mac, uint32_t seq, uint32_t ack, uint8_t flags,
			uint32_t plen)
{
	struct dt_conn c = {.ip = ip, .port = port, .mac = *mac};

	if (flags & RTE_TCP_ACK_FLAG) {
		seg(nn, &c, ack, RTE_TCP_RST_FLAG, NULL, 0);
		return;
	}
	c.rcv_nxt = seq + plen + !!(flags & RTE_TCP_SYN_FLAG) + !!(flags & RTE_TCP_FIN_FLAG);
	seg(nn, &c, 0, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
}

static void conn_free(struct dt_conn *c)
{
	if (c->src)
		g_source_remove(c->src);
	if (c->fd >= 0)
		close(c->fd);
	if (c->to_up)
		g_byte_array_unref(c->to_up);
	if (c->out)
		g_byte_array_unref(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Reset @c towards the guest and forget it. */
static void conn_reset(struct nat_net *nn, struct dt_conn *c)
{
	seg(nn, c, c->snd_nxt, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
	nn->dns_tcp->resets++;
	conn_free(c);
}

/* Send what the guest's window lets through from snd_nxt on, then our FIN once upstream
 * has closed and all of it went. */
static void push(struct nat_net *nn, struct dt_conn *c, uint64_t now)
{
	uint32_t end = c->out_seq + c->out->len;

	if (!c->established)
		return;
	while (SEQ_LT(c->snd_nxt, end) && c->snd_nxt - c->snd_una < c->wnd) {
		uint32_t n = RTE_MIN(end - c->snd_nxt, (uint32_t)c->mss);
		n = RTE_MIN(n, c->wnd - (c->snd_nxt - c->snd_una));
		seg(nn, c, c->snd_nxt, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
		    c->out->data + (c->snd_nxt - c->out_seq), n);
		c->snd_nxt += n;
		c->last_tx = now;
	}
	if (SEQ_LT(c->snd_max, c->snd_nxt))
		c->snd_max = c->snd_nxt;
	if (c->up_eof && !c->fin_sent && c->snd_nxt == end) {
		seg(nn, c, c->snd_nxt, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
		c->snd_nxt++;
		c->fin_sent = true;
		c->last_tx = now;
		if (SEQ_LT(c->snd_max, c->snd_nxt))
			c->snd_max = c->snd_nxt;
	}
}

/* Write what the guest sent upstream, as far as the socket takes it. Return: 0 or -errno. */
static int up_write(struct dt_conn *c)
{
	while (c->connected && c->to_up->len) {
		ssize_t w = send(c->fd, c->to_up->data, c->to_up->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		g_byte_array_remove_range(c->to_up, 0, (guint)w);
	}
	if (c->connected && c->guest_fin && !c->to_up->len)
		shutdown(c->fd, SHUT_WR);
	return 0;
}

static gboolean up_ready(gint fd, GIOCondition cond, gpointer ud)
{
	struct dt_ctx *x = ud;
	struct dt_conn *c = x->c;
	struct nat_net *nn = x->nn;
	uint64_t now = nat_now_ms();
	uint8_t buf[4096];
	uint32_t room;

	if (!c->connected && (cond & (G_IO_OUT | G_IO_ERR | G_IO_HUP))) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			c->src = 0;
			conn_reset(nn, c);
			return G_SOURCE_REMOVE;
		}
		c->connected = true;
	}
	room = DT_IN_MAX - c->to_up->len;
	if (up_write(c) < 0) {
		c->src = 0;
		conn_reset(nn, c);
		return G_SOURCE_REMOVE;
	}
	if (c->established && room < c->mss && DT_IN_MAX - c->to_up->len >= c->mss)
		seg(nn, c, c->snd_nxt, RTE_TCP_ACK_FLAG, NULL, 0); /* the window opens again */
	while ((cond & (G_IO_IN | G_IO_HUP)) && !c->up_eof && c->out->len < DT_OUT_MAX) {
		ssize_t r = recv(fd, buf, RTE_MIN(sizeof(buf), (size_t)(DT_OUT_MAX - c->out->len)),
				 MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) { /* upstream closed (or failed): our FIN follows the data */
			c->up_eof = true;
			break;
		}
		g_byte_array_append(c->out, buf, (guint)r);
	}
	push(nn, c, now);
	c->src = 0; /* conn_watch() makes the source it needs now */
	conn_watch(nn, c);
	return G_SOURCE_REMOVE;
}

/* Watch upstream for what @c waits on: the connect, room to write, data while there is
 * room for it. */
static void conn_watch(struct nat_net *nn, struct dt_conn *c)
{
	GIOCondition cond = 0;

	if (!c->connected || c->to_up->len)
		cond |= G_IO_OUT;
	if (c->connected && !c->up_eof && c->out->len < DT_OUT_MAX)
		cond |= G_IO_IN;
	if (c->src && cond == c->cond)
		return;
	if (c->src)
		g_source_remove(c->src);
	c->src = 0;
	c->cond = cond;
	if (cond) {
		struct dt_ctx *x = g_new(struct dt_ctx, 1);
		*x = (struct dt_ctx){.nn = nn, .c = c};
		c->src = g_unix_fd_add_full(G_PRIORITY_DEFAULT, c->fd, cond, up_ready, x, g_free);
	}
}

/* A SYN from a guest: a connection, SYN-ACK sent, upstream connecting. */
static void conn_open(struct nat_net *nn, const uint8_t *f, const struct rte_tcp_hdr *th,
		      uint32_t ip, uint64_t now)
{
	struct nat_dns_tcp *t = nn->dns_tcp;
	struct dt_conn *c = NULL;
	const uint8_t *o = (const uint8_t *)(th + 1),
		      *oe = (const uint8_t *)th + (th->data_off >> 4) * 4;
	int fd;

	unsigned mine = 0;

	for (unsigned i = 0; i < DT_CONNS; i++) {
		if (!t->c[i].used && !c)
			c = &t->c[i];
		mine += t->c[i].used && t->c[i].ip == ip;
	}
	if (mine >= DT_PER_GUEST) /* one guest cannot take every slot */
		c = NULL;
	fd = c ? socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
	if (fd < 0 || (connect(fd, (const struct sockaddr *)&t->up, sizeof(t->up)) < 0 &&
		       errno != EINPROGRESS)) {
		if (fd >= 0)
			close(fd);
		t->refused++;
		reset_reply(nn, ip, th->src_port, (const struct rte_ether_addr *)(f + 6),
			    ntohl(th->sent_seq), 0, th->tcp_flags, 0);
		return;
	}
	*c = (struct dt_conn){.used = true,
			      .ip = ip,
			      .port = th->src_port,
			      .fd = fd,
			      .mss = 536,
			      .wnd = ntohs(th->rx_win),
			      .last_rx = now};
	memcpy(&c->mac, f + 6, 6);
	while (o + 1 < oe && *o != 0) { /* options: the MSS */
		if (*o == 1) {
			o++;
			continue;
		}
		if (o[1] < 2 || o + o[1] > oe)
			break;
		if (o[0] == 2 && o[1] == 4)
			c->mss = (uint16_t)RTE_MIN((unsigned)(o[2] << 8 | o[3]), DT_MSS);
		o += o[1];
	}
	c->mss = RTE_MAX(c->mss, (uint16_t)64);
	c->to_up = g_byte_array_new();
	c->out = g_byte_array_new();
	c->iss = (uint32_t)rte_rand();
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->out_seq = c->iss + 1;
	c->rcv_nxt = ntohl(th->sent_seq) + 1;
	seg(nn, c, c->iss, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
	c->last_tx = now;
	t->accepted++;
	conn_watch(nn, c);
}

/* What segment @th says of what we sent: acknowledged bytes leave out, the window. */
static void take_ack(struct dt_conn *c, const struct rte_tcp_hdr *th)
{
	uint32_t ack = ntohl(th->recv_ack);

	if (!(th->tcp_flags & RTE_TCP_ACK_FLAG) || SEQ_LT(ack, c->snd_una) ||
	    SEQ_LT(c->snd_max, ack))
		return;
	if (!c->established && SEQ_LEQ(c->iss + 1, ack))
		c->established = true;
	if (SEQ_LT(c->out_seq, ack)) {
		uint32_t n = RTE_MIN(ack - c->out_seq, c->out->len);
		g_byte_array_remove_range(c->out, 0, n);
		c->out_seq += n;
	}
	if (ack != c->snd_una)
		c->retries = 0;
	c->snd_una = ack;
	if (SEQ_LT(c->snd_nxt, ack)) /* went back, and it had come through after all */
		c->snd_nxt = ack;
	if (c->fin_sent == false && c->up_eof && ack == c->out_seq + c->out->len + 1)
		c->fin_sent = true; /* our first FIN is acknowledged */
	c->wnd = ntohs(th->rx_win);
}

void nat_dns_tcp_input(struct nat_net *nn, const uint8_t *f, size_t len, uint64_t now)
{
	struct nat_dns_tcp *t = nn->dns_tcp;
	uint32_t ihl = (f[14] & 0xfu) * 4u, ip, seq, plen, hl;
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(f + 14 + ihl);
	struct dt_conn *c = NULL;
	uint16_t tot;

	if (!t || ihl < 20 || len < 14 + ihl + sizeof(*th))
		return;
	hl = (th->data_off >> 4) * 4u;
	tot = (uint16_t)(f[16] << 8 | f[17]);
	if (hl < 20 || tot < ihl + hl || 14u + tot > len)
		return; /* malformed or cut: dropped */
	plen = tot - ihl - hl;
	memcpy(&ip, f + 26, 4);
	seq = ntohl(th->sent_seq);
	for (unsigned i = 0; i < DT_CONNS && !c; i++)
		if (t->c[i].used && t->c[i].ip == ip && t->c[i].port == th->src_port)
			c = &t->c[i];
	if (th->tcp_flags & RTE_TCP_RST_FLAG) {
		if (c && seq == c->rcv_nxt) /* exactly in order only (RFC 5961) */
			conn_free(c);
		return;
	}
	if (!c) {
		if ((th->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG)
			conn_open(nn, f, th, ip, now);
		else /* as a closed port answers */
			reset_reply(nn, ip, th->src_port, (const struct rte_ether_addr *)(f + 6),
				    seq, ntohl(th->recv_ack), th->tcp_flags, plen);
		return;
	}
	if (th->tcp_flags & RTE_TCP_SYN_FLAG) {
		if (!c->established) /* the SYN again: our SYN-ACK was lost */
			seg(nn, c, c->iss, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
		else /* a new connection on an old one's port: a challenge ACK (RFC 5961), whose
		      * answer, a reset in order, ends the old one */
			seg(nn, c, c->snd_nxt, RTE_TCP_ACK_FLAG, NULL, 0);
		return;
	}
	c->last_rx = now;
	take_ack(c, th);
	if (plen && seq == c->rcv_nxt && c->established && !c->guest_fin &&
	    c->to_up->len + plen <= DT_IN_MAX) {
		g_byte_array_append(c->to_up, (const uint8_t *)th + hl, plen);
		c->rcv_nxt += plen;
	}
	if ((th->tcp_flags & RTE_TCP_FIN_FLAG) && seq + plen == c->rcv_nxt && c->established &&
	    !c->guest_fin) {
		c->guest_fin = true;
		c->rcv_nxt++;
	}
	/* data or FIN, in order or not, and any segment out of order (a window probe): what
	 * we have; not a bare ACK in order (no ACK of ACKs) */
	if (plen || (th->tcp_flags & RTE_TCP_FIN_FLAG) || seq != c->rcv_nxt)
		seg(nn, c, c->snd_nxt, RTE_TCP_ACK_FLAG, NULL, 0);
	if (up_write(c) < 0) {
		conn_reset(nn, c);
		return;
	}
	push(nn, c, now);
	if (c->guest_fin && c->fin_sent && c->snd_una == c->snd_nxt) { /* both ways done */
		conn_free(c);
		return;
	}
	conn_watch(nn, c);
}

void nat_dns_tcp_tick(struct nat_net *nn, uint64_t now)
{
	struct nat_dns_tcp *t = nn->dns_tcp;

	if (!t)
		return;
	for (unsigned i = 0; i < DT_CONNS; i++) {
		struct dt_conn *c = &t->c[i];
		if (!c->used)
			continue;
		if (now - c->last_rx >= DT_IDLE_MS) {
			conn_reset(nn, c);
			continue;
		}
		uint64_t rto = (uint64_t)DT_RTO_MS << RTE_MIN(c->retries, 4u);
		if (c->snd_una == c->snd_nxt || now - c->last_tx < rto)
			continue;
		if (++c->retries > DT_RETRIES) {
			conn_reset(nn, c);
			continue;
		}
		if (!c->established) { /* the SYN-ACK */
			seg(nn, c, c->iss, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
			c->last_tx = now;
			continue;
		}
		/* go back: what was not acknowledged (and the FIN) again */
		c->snd_nxt = c->snd_una;
		c->fin_sent = false;
		push(nn, c, now);
	}
}

int nat_dns_tcp_start(struct nat_net *nn, const struct sockaddr_in *up)
{
	struct nat_dns_tcp *t = g_new0(struct nat_dns_tcp, 1);

	t->up = *up;
	for (unsigned i = 0; i < DT_CONNS; i++)
		t->c[i].fd = -1;
	nn->dns_tcp = t;
	return 0;
}

void nat_dns_tcp_stop(struct nat_net *nn)
{
	struct nat_dns_tcp *t = nn->dns_tcp;

	if (!t)
		return;
	for (unsigned i = 0; i < DT_CONNS; i++)
		if (t->c[i].used)
			conn_free(&t->c[i]);
	g_free(t);
	nn->dns_tcp = NULL;
}

void nat_dns_tcp_describe(const struct nat_net *nn, JsonBuilder *b)
{
	const struct nat_dns_tcp *t = nn->dns_tcp;
	gint64 open = 0;

	if (!t)
		return;
	for (unsigned i = 0; i < DT_CONNS; i++)
		open += t->c[i].used;
	vn_json_int(b, "tcp_connections", (gint64)t->accepted);
	vn_json_int(b, "tcp_open", open);
	vn_json_int(b, "tcp_refused", (gint64)t->refused);
	vn_json_int(b, "tcp_resets", (gint64)t->resets);
}
