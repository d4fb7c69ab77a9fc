/* SPDX-License-Identifier: MIT */
/*
 * Per-vNIC NAT policy of NAT networks: `port set PORT --floating-ip IP` (1:1 NAT) and
 * `--forward tcp:2222:22` (port forwards that follow the guest's address), on the control
 * thread; the engine (policy/nat.c) sees them as floating IPs and owned port forwards.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "nat_priv.h"
#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"

/* "tcp:2222:22[,udp:5353:53...]" (or "none") into @np's forwards. */
static int forward_parse(const char *s, struct nat_port *np, GError **err)
{
	g_auto(GStrv) parts = g_strsplit(s, ",", -1);

	np->nfwd = 0;
	if (strcmp(s, "none") == 0)
		return 0;
	for (char **p = parts; *p; p++) {
		g_auto(GStrv) f = g_strsplit(g_strstrip(*p), ":", 3);
		guint64 ext, in;
		if (!**p)
			continue;
		if (!f[0] || !f[1] || !f[2] ||
		    (strcmp(f[0], "tcp") != 0 && strcmp(f[0], "udp") != 0) ||
		    !g_ascii_string_to_unsigned(f[1], 10, 1, 65535, &ext, NULL) ||
		    !g_ascii_string_to_unsigned(f[2], 10, 1, 65535, &in, NULL))
			VN_FAIL(err, EINVAL,
				"invalid --forward '%s' (PROTO:EXTERNAL:GUEST[,...], PROTO tcp or "
				"udp)",
				*p);
		if (np->nfwd == G_N_ELEMENTS(np->fwd))
			VN_FAIL(err, EINVAL, "--forward takes at most %zu entries",
				G_N_ELEMENTS(np->fwd));
		np->fwd[np->nfwd].proto = f[0][0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		np->fwd[np->nfwd].ext = htons((uint16_t)ext);
		np->fwd[np->nfwd++].in = htons((uint16_t)in);
	}
	return 0;
}

/* Is @np's setting free of clashes with the network's other forwards and floating IPs? */
static int clash_check(struct nat_net *nn, uint16_t slot, const struct nat_port *np, GError **err)
{
	const struct vn_nat *nt = &nn->nat;

	if (np->fip && ((np->fip & nt->mask) == nt->net || np->fip == nt->ext))
		VN_FAIL(err, EINVAL,
			"--floating-ip must be outside %s and not the external address",
			nn->subnet_s);
	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++)
		if (s != slot && nn->ports[s].used && np->fip && nn->ports[s].fip == np->fip)
			VN_FAIL(err, EEXIST, "floating IP %s is port %s's already",
				inet_ntoa((struct in_addr){np->fip}), nn->ports[s].name);
	for (unsigned i = 0; i < np->nfwd; i++) {
		for (unsigned k = 0; k < nt->nfwd; k++)
			if (nt->fwd[k].owner != slot && nt->fwd[k].proto == np->fwd[i].proto &&
			    nt->fwd[k].ext_port == np->fwd[i].ext)
				VN_FAIL(err, EEXIST, "%s has a forward of %s port %u already",
					nn->base.name,
					np->fwd[i].proto == IPPROTO_TCP ? "tcp" : "udp",
					ntohs(np->fwd[i].ext));
		for (unsigned k = 0; k < i; k++)
			if (np->fwd[k].proto == np->fwd[i].proto &&
			    np->fwd[k].ext == np->fwd[i].ext)
				VN_FAIL(err, EINVAL, "--forward names external port %u twice",
					ntohs(np->fwd[i].ext));
	}
	if (nt->nfloat + (np->fip ? 1u : 0u) > VN_NAT_MAX_FLOAT ||
	    nt->nfwd + np->nfwd > VN_NAT_MAX_FWD)
		VN_FAIL(err, ENOSPC, "%s has %d floating IPs or port forwards already",
			nn->base.name, VN_NAT_MAX_FWD);
	return 0;
}

struct mac_walk {
	uint16_t slot;
	bool found;
	struct rte_ether_addr mac;
};

static int mac_of_slot(const struct vn_fdb_entry *e, void *ud)
{
	struct mac_walk *w = ud;

	if (!w->found && e->port == w->slot) {
		w->found = true;
		w->mac = e->mac;
	}
	return 0;
}

/* The guest address of port @slot now: its DHCP lease, else the address its MAC (--mac, or
 * learned) was seen with. Return: it, or 0. */
static uint32_t inside_addr(struct nat_net *nn, uint16_t slot)
{
	struct nat_port *np = &nn->ports[slot];
	struct mac_walk w = {.slot = slot, .found = np->has_mac, .mac = np->mac};
	uint32_t a = 0;

	if (!w.found && nn->base.fdb)
		vn_fdb_walk(nn->base.fdb, vn_dp_now(), mac_of_slot, &w);
	if (!w.found)
		return 0;
	if (nn->dhcp && (a = vn_dhcp_lease_of(nn->dhcp, &w.mac, nat_now_ms())))
		return a;
	vn_ct_lock(nn->nat.ct);
	for (unsigned i = 0; i < VN_NAT_NEIGH && !a; i++) {
		const struct vn_nat_neigh_e *e = &nn->nat.neigh[0][i];
		uint64_t mw = VN_NAT_NEIGH_VALID;
		memcpy(&mw, &w.mac, RTE_ETHER_ADDR_LEN);
		if (e->w == mw)
			a = e->ip;
	}
	vn_ct_unlock(nn->nat.ct);
	return a;
}

/* The engine's floating IPs and port-owned forwards again, from the ports. */
static void engine_sync(struct nat_net *nn)
{
	struct vn_nat *nt = &nn->nat;
	struct vn_nat_fwd old[VN_NAT_MAX_FWD];
	unsigned k = 0, nold;

	vn_ct_lock(nt->ct);
	nold = nt->nfwd;
	memcpy(old, nt->fwd, sizeof(old));
	for (unsigned i = 0; i < nt->nfwd; i++)
		if (nt->fwd[i].owner == VN_NAT_FWD_NET)
			nt->fwd[k++] = nt->fwd[i];
	nt->nfwd = k;
	nt->nfloat = 0;
	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++) {
		const struct nat_port *np = &nn->ports[s];
		if (!np->used)
			continue;
		if (np->fip && nt->nfloat < VN_NAT_MAX_FLOAT)
			nt->floats[nt->nfloat++] = (struct vn_nat_float){np->fip, np->in};
		for (unsigned i = 0; i < np->nfwd && nt->nfwd < VN_NAT_MAX_FWD; i++)
			nt->fwd[nt->nfwd++] = (struct vn_nat_fwd){.proto = np->fwd[i].proto,
								  .ext_port = np->fwd[i].ext,
								  .to = np->in,
								  .to_port = np->fwd[i].in,
								  .owner = (uint16_t)s};
	}
	/* the host filter's counts: the new forwards' ports first, so none kept goes to 0 */
	for (unsigned i = 0; i < nt->nfwd; i++)
		vn_ct_port_ref(nt->ct, nt->fwd[i].proto, nt->fwd[i].ext_port, 1);
	for (unsigned i = 0; i < nold; i++)
		vn_ct_port_ref(nt->ct, old[i].proto, old[i].ext_port, -1);
	vn_ct_unlock(nt->ct);
}

int nat_port_apply(struct nat_net *nn, struct vn_port *port, JsonObject *args, GError **err)
{
	struct nat_port np = port ? nn->ports[port->slot] : (struct nat_port){0};
	const char *fip = NULL, *fwd = NULL;
	int rc;

	if ((rc = vn_arg_str(args, "floating_ip", false, &fip, err)) < 0 ||
	    (rc = vn_arg_str(args, "forward", false, &fwd, err)) < 0)
		return rc;
	if (fip && strcmp(fip, "none") == 0)
		np.fip = 0;
	else if (fip && inet_pton(AF_INET, fip, &np.fip) != 1)
		VN_FAIL(err, EINVAL, "invalid --floating-ip '%s' (an IPv4 address, or none)", fip);
	if (fwd && (rc = forward_parse(fwd, &np, err)) < 0)
		return rc;
	if (!port || !nn->ports)
		return 0; /* validation only */
	if ((rc = clash_check(nn, port->slot, &np, err)) < 0)
		return rc;
	np.used = np.fip || np.nfwd;
	g_strlcpy(np.name, port->name, sizeof(np.name));
	np.has_mac = port->has_mac;
	np.mac = port->mac;
	nn->ports[port->slot] = np;
	nn->ports[port->slot].in = np.used ? inside_addr(nn, port->slot) : 0;
	engine_sync(nn);
	if (fip && np.fip)
		nat_legs_announce(nn, np.fip);
	return 0;
}

void nat_port_leave(struct nat_net *nn, uint16_t slot)
{
	if (!nn->ports || !nn->ports[slot].used)
		return;
	nn->ports[slot] = (struct nat_port){0};
	engine_sync(nn);
}

void nat_port_refresh(struct nat_net *nn)
{
	bool changed = false;

	for (unsigned s = 0; nn->ports && s < VN_MAX_PORTS_HARD; s++) {
		struct nat_port *np = &nn->ports[s];
		uint32_t a;
		if (!np->used || (a = inside_addr(nn, (uint16_t)s)) == np->in)
			continue;
		np->in = a;
		changed = true;
		VN_INFO("network %s: port %s is %s now", nn->base.name, np->name,
			inet_ntoa((struct in_addr){a}));
	}
	if (changed)
		engine_sync(nn);
}

bool nat_port_is_floating(const struct nat_net *nn, uint32_t a)
{
	for (unsigned s = 0; a && nn->ports && s < VN_MAX_PORTS_HARD; s++)
		if (nn->ports[s].used && nn->ports[s].fip == a)
			return true;
	return false;
}

const char *nat_port_name(const struct nat_net *nn, uint16_t slot)
{
	return nn->ports && slot < VN_MAX_PORTS_HARD ? nn->ports[slot].name : "?";
}

void nat_port_describe(struct nat_net *nn, JsonBuilder *b)
{
	char a[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];

	json_builder_set_member_name(b, "floating_ips");
	json_builder_begin_array(b);
	for (unsigned s = 0; nn->ports && s < VN_MAX_PORTS_HARD; s++) {
		const struct nat_port *np = &nn->ports[s];
		if (!np->used || !np->fip)
			continue;
		json_builder_begin_object(b);
		vn_json_str(b, "port", np->name);
		vn_json_str(b, "floating_ip", inet_ntop(AF_INET, &np->fip, a, sizeof(a)));
		vn_json_str(b, "inside", np->in ? inet_ntop(AF_INET, &np->in, c, sizeof(c)) : NULL);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}
