/* SPDX-License-Identifier: MIT */
/* The DHCPv4 server of NAT networks: leases of a pool per client MAC, on byte buffers. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "vnicd/args.h"
#include "vnicd/dhcp.h"
#include "vnicd/mac.h"

#define BOOTP_OFF (14 + 20 + 8) /* the BOOTP message in a frame with a 20-byte IP header */
#define BOOTP_FIXED 236
#define MAGIC 0x63825363u

enum { DISCOVER = 1, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM };
enum { LEASE_OFFERED = 0, LEASE_BOUND };
#define OFFER_MS 30000 /* an offer holds its address this long */

struct lease {
	struct rte_ether_addr mac;
	uint32_t ip; /* network order */
	uint64_t expires;
	uint8_t state;
};

struct stat_lease {
	struct rte_ether_addr mac;
	uint32_t ip;
};

struct vn_dhcp {
	struct vn_dhcp_cfg c;
	struct stat_lease st[VN_DHCP_MAX_STATIC];
	unsigned nst;
	GArray *leases; /* struct lease */
	struct vn_dhcp_counters n;
};

struct vn_dhcp *vn_dhcp_new(const struct vn_dhcp_cfg *c)
{
	struct vn_dhcp *d;

	if (ntohl(c->lo) > ntohl(c->hi) || !c->lo)
		return NULL;
	d = g_new0(struct vn_dhcp, 1);
	d->c = *c;
	if (!d->c.lease_s)
		d->c.lease_s = 3600;
	d->leases = g_array_new(FALSE, TRUE, sizeof(struct lease));
	return d;
}

void vn_dhcp_free(struct vn_dhcp *d)
{
	if (!d)
		return;
	g_array_unref(d->leases);
	g_free(d);
}

static struct lease *by_mac(const struct vn_dhcp *d, const struct rte_ether_addr *mac)
{
	for (guint i = 0; i < d->leases->len; i++) {
		struct lease *l = &g_array_index(d->leases, struct lease, i);
		if (rte_is_same_ether_addr(&l->mac, mac))
			return l;
	}
	return NULL;
}

int vn_dhcp_static_add(struct vn_dhcp *d, const struct rte_ether_addr *mac, uint32_t ip)
{
	for (unsigned i = 0; i < d->nst; i++)
		if (d->st[i].ip == ip || rte_is_same_ether_addr(&d->st[i].mac, mac))
			return -EEXIST;
	if (d->nst == VN_DHCP_MAX_STATIC)
		return -ENOSPC;
	d->st[d->nst++] = (struct stat_lease){*mac, ip};
	return 0;
}

/* The static address of @mac, or 0; *@other: @ip is another client's static address. */
static uint32_t static_of(const struct vn_dhcp *d, const struct rte_ether_addr *mac, uint32_t ip,
			  bool *other)
{
	uint32_t mine = 0;

	*other = false;
	for (unsigned i = 0; i < d->nst; i++) {
		bool me = rte_is_same_ether_addr(&d->st[i].mac, mac);
		if (me)
			mine = d->st[i].ip;
		else if (d->st[i].ip == ip)
			*other = true;
	}
	return mine;
}

/* Is @ip (network order) free for @mac at @now: in the pool (or @mac's static address), not
 * the server's, not another client's static one, leased to nobody else? */
static bool ip_free(const struct vn_dhcp *d, uint32_t ip, const struct rte_ether_addr *mac,
		    uint64_t now)
{
	uint32_t h = ntohl(ip);
	bool other, stat = static_of(d, mac, ip, &other) == ip;

	if (other || ip == d->c.server || ip == d->c.router ||
	    (!stat && (h < ntohl(d->c.lo) || h > ntohl(d->c.hi))))
		return false;
	for (guint i = 0; i < d->leases->len; i++) {
		const struct lease *l = &g_array_index(d->leases, struct lease, i);
		if (l->ip == ip && l->expires > now && !rte_is_same_ether_addr(&l->mac, mac))
			return false;
	}
	return true;
}

/* The lease of @mac (made, holding @want when free, else the first free address). */
static struct lease *lease_for(struct vn_dhcp *d, const struct rte_ether_addr *mac, uint32_t want,
			       uint64_t now)
{
	struct lease *l = by_mac(d, mac);
	bool other;
	uint32_t st = static_of(d, mac, 0, &other);

	if (st)
		want = st; /* a static client gets its address whatever it asks for */
	if (l && (l->expires > now || ip_free(d, l->ip, mac, now)) && (!want || want == l->ip))
		return l;
	if (!want || !ip_free(d, want, mac, now)) {
		want = 0;
		if (l && ip_free(d, l->ip, mac, now))
			want = l->ip;
		for (uint32_t h = ntohl(d->c.lo); !want && h <= ntohl(d->c.hi); h++)
			if (ip_free(d, htonl(h), mac, now))
				want = htonl(h);
	}
	if (!want) {
		d->n.pool_full++;
		return NULL;
	}
	if (!l) {
		for (guint i = 0; i < d->leases->len && !l; i++) /* an expired one is reused */
			if (g_array_index(d->leases, struct lease, i).expires <= now)
				l = &g_array_index(d->leases, struct lease, i);
		if (!l) {
			g_array_set_size(d->leases, d->leases->len + 1);
			l = &g_array_index(d->leases, struct lease, d->leases->len - 1);
		}
	}
	l->mac = *mac;
	l->ip = want;
	l->state = LEASE_OFFERED;
	l->expires = now + OFFER_MS;
	return l;
}

/* The options of the message at @o (@len bytes): type, requested address, server id. */
static int opts_parse(const uint8_t *o, size_t len, uint8_t *type, uint32_t *req, uint32_t *sid)
{
	for (size_t i = 0; i < len;) {
		uint8_t code = o[i], l;
		if (code == 255)
			return 0;
		if (code == 0) {
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + (l = o[i + 1]) > len)
			return -EBADMSG;
		if (code == 53 && l == 1)
			*type = o[i + 2];
		else if (code == 50 && l == 4)
			memcpy(req, o + i + 2, 4);
		else if (code == 54 && l == 4)
			memcpy(sid, o + i + 2, 4);
		i += 2u + l;
	}
	return 0;
}

static uint8_t *opt(uint8_t *p, uint8_t code, const void *v, uint8_t len)
{
	p[0] = code;
	p[1] = len;
	memcpy(p + 2, v, len);
	return p + 2 + len;
}

/* The reply of @type to request @req (its BOOTP message) offering @yiaddr into @out. */
static int reply(struct vn_dhcp *d, const uint8_t *req, uint8_t type, uint32_t yiaddr,
		 const struct rte_ether_addr *mac, uint8_t *out)
{
	uint8_t *b = out + BOOTP_OFF, *p;
	uint32_t lease = htonl(d->c.lease_s), magic = htonl(MAGIC);
	uint16_t mtu = htons(d->c.mtu), ulen, iplen;
	uint32_t sum = 0;

	memset(out, 0, VN_DHCP_REPLY_MAX);
	memset(out, 0xff, 6);
	memcpy(out + 6, mac, 6);
	out[12] = 0x08;
	b[0] = 2;			 /* BOOTREPLY */
	memcpy(b + 1, req + 1, 3);	 /* htype, hlen, hops */
	memcpy(b + 4, req + 4, 4);	 /* xid */
	memcpy(b + 10, req + 10, 2);	 /* flags */
	memcpy(b + 12, req + 12, 4);	 /* ciaddr */
	memcpy(b + 16, &yiaddr, 4);	 /* yiaddr */
	memcpy(b + 20, &d->c.server, 4); /* siaddr */
	memcpy(b + 28, req + 28, 16);	 /* chaddr */
	memcpy(b + BOOTP_FIXED, &magic, 4);
	p = opt(b + BOOTP_FIXED + 4, 53, &type, 1);
	p = opt(p, 54, &d->c.server, 4);
	if (type != NAK) {
		p = opt(p, 51, &lease, 4);
		p = opt(p, 1, &d->c.mask, 4);
		if (d->c.router)
			p = opt(p, 3, &d->c.router, 4);
		if (d->c.dns)
			p = opt(p, 6, &d->c.dns, 4);
		if (d->c.mtu)
			p = opt(p, 26, &mtu, 2);
	}
	*p = 255;
	ulen = (uint16_t)(8 + 300);
	iplen = (uint16_t)(20 + ulen);
	out[14] = 0x45;
	out[16] = (uint8_t)(iplen >> 8), out[17] = (uint8_t)iplen;
	out[22] = 64;
	out[23] = 17;
	memcpy(out + 26, &d->c.server, 4);
	memset(out + 30, 0xff, 4);
	for (int i = 14; i < 34; i += 2)
		sum += (uint32_t)(out[i] << 8 | out[i + 1]);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	out[24] = (uint8_t)(~sum >> 8), out[25] = (uint8_t)~sum;
	out[34] = 0, out[35] = 67, out[36] = 0, out[37] = 68; /* ports; checksum 0: none */
	out[38] = (uint8_t)(ulen >> 8), out[39] = (uint8_t)ulen;
	return 14 + iplen;
}

int vn_dhcp_input(struct vn_dhcp *d, const uint8_t *f, size_t len, uint64_t now,
		  const struct rte_ether_addr *mac, uint8_t *out, size_t outlen)
{
	uint8_t type = 0;
	uint32_t want = 0, sid = 0, magic, ihl;
	struct rte_ether_addr ch;
	const uint8_t *b;
	struct lease *l;

	if (len < 14 + 20 + 8 || f[12] != 0x08 || f[13] != 0 || (f[14] >> 4) != 4 ||
	    f[14 + 9] != 17)
		return 0;
	ihl = (f[14] & 0xf) * 4u;
	if (ihl < 20 || len < 14 + ihl + 8 || f[14 + ihl + 2] != 0 || f[14 + ihl + 3] != 67)
		return 0;
	b = f + 14 + ihl + 8;
	if (outlen < VN_DHCP_REPLY_MAX || len < 14 + ihl + 8 + BOOTP_FIXED + 4)
		goto bad;
	memcpy(&magic, b + BOOTP_FIXED, 4);
	if (b[0] != 1 || b[1] != 1 || b[2] != 6 || ntohl(magic) != MAGIC ||
	    opts_parse(b + BOOTP_FIXED + 4, len - (14 + ihl + 8 + BOOTP_FIXED + 4), &type, &want,
		       &sid) < 0)
		goto bad;
	memcpy(&ch, b + 28, 6);
	if (!rte_is_valid_assigned_ether_addr(&ch))
		goto bad;
	switch (type) {
	case DISCOVER:
		d->n.discovers++;
		if (!(l = lease_for(d, &ch, want, now)))
			return 0;
		d->n.offers++;
		return reply(d, b, OFFER, l->ip, mac, out);
	case REQUEST:
		d->n.requests++;
		if (sid && sid != d->c.server) { /* the client took another server's offer */
			if ((l = by_mac(d, &ch)) && l->state == LEASE_OFFERED)
				l->expires = 0;
			return 0;
		}
		if (!want)
			memcpy(&want, b + 12, 4); /* renewing: ciaddr */
		if (!want || !(l = lease_for(d, &ch, want, now)) || l->ip != want) {
			d->n.naks++;
			return reply(d, b, NAK, 0, mac, out);
		}
		l->state = LEASE_BOUND;
		l->expires = now + (uint64_t)d->c.lease_s * 1000u;
		d->n.acks++;
		return reply(d, b, ACK, l->ip, mac, out);
	case RELEASE:
		d->n.releases++;
		if ((l = by_mac(d, &ch)))
			l->expires = 0;
		return 0;
	default:
		return 0;
	}
bad:
	d->n.malformed++;
	return -EBADMSG;
}

uint64_t vn_dhcp_changes(const struct vn_dhcp *d)
{
	return d->n.acks + d->n.releases;
}

uint32_t vn_dhcp_lease_of(const struct vn_dhcp *d, const struct rte_ether_addr *mac, uint64_t now)
{
	const struct lease *l = by_mac(d, mac);

	return l && l->state == LEASE_BOUND && l->expires > now ? l->ip : 0;
}

static void lease_json(const struct lease *l, uint64_t now, JsonBuilder *b, bool state)
{
	char m[VN_MAC_STRLEN], ip[INET_ADDRSTRLEN];

	vn_mac_format(&l->mac, m);
	inet_ntop(AF_INET, &l->ip, ip, sizeof(ip));
	json_builder_begin_object(b);
	vn_json_str(b, "mac", m);
	vn_json_str(b, "ip", ip);
	if (state)
		vn_json_str(b, "state", l->state == LEASE_BOUND ? "bound" : "offered");
	vn_json_int(b, "expires_in", (gint64)((l->expires - now) / 1000u));
	json_builder_end_object(b);
}

void vn_dhcp_describe(const struct vn_dhcp *d, uint64_t now, JsonBuilder *b)
{
	json_builder_set_member_name(b, "leases");
	json_builder_begin_array(b);
	for (guint i = 0; i < d->leases->len; i++) {
		const struct lease *l = &g_array_index(d->leases, struct lease, i);
		if (l->expires > now)
			lease_json(l, now, b, true);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "dhcp_counters");
	json_builder_begin_object(b);
	vn_json_int(b, "discovers", (gint64)d->n.discovers);
	vn_json_int(b, "offers", (gint64)d->n.offers);
	vn_json_int(b, "requests", (gint64)d->n.requests);
	vn_json_int(b, "acks", (gint64)d->n.acks);
	vn_json_int(b, "naks", (gint64)d->n.naks);
	vn_json_int(b, "releases", (gint64)d->n.releases);
	vn_json_int(b, "malformed", (gint64)d->n.malformed);
	vn_json_int(b, "pool_full", (gint64)d->n.pool_full);
	json_builder_end_object(b);
}

void vn_dhcp_save(const struct vn_dhcp *d, uint64_t now, JsonBuilder *b)
{
	json_builder_begin_array(b);
	for (guint i = 0; i < d->leases->len; i++) {
		const struct lease *l = &g_array_index(d->leases, struct lease, i);
		if (l->state == LEASE_BOUND && l->expires > now)
			lease_json(l, now, b, false);
	}
	json_builder_end_array(b);
}

void vn_dhcp_restore(struct vn_dhcp *d, JsonArray *a, uint64_t now)
{
	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		struct lease l = {.state = LEASE_BOUND};
		const char *mac = o ? vn_obj_str(o, "mac") : NULL,
			   *ip = o ? vn_obj_str(o, "ip") : NULL;
		gint64 left = o && json_object_has_member(o, "expires_in")
				  ? json_object_get_int_member(o, "expires_in")
				  : 0;
		if (!mac || !ip || vn_mac_parse(mac, &l.mac) < 0 ||
		    inet_pton(AF_INET, ip, &l.ip) != 1 || left <= 0 ||
		    !ip_free(d, l.ip, &l.mac, now))
			continue;
		l.expires = now + (uint64_t)left * 1000u;
		g_array_append_val(d->leases, l);
	}
}
