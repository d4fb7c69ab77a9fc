/* SPDX-License-Identifier: MIT */
/*
 * BGP EVPN for overlay networks: the reconcile between an overlay's FDB and its kernel
 * mirror in FRR's namespace. See evpn.h for the model. Control thread.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <glib-unix.h>
#include <linux/neighbour.h>

#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/config.h"
#include "vnicd/evpn.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/overlay.h"

#include "evpn_priv.h"

#define EVPN_TICK_MS 200    /* reconcile period (and at most this late after an event) */
#define EVPN_TAKEN_MS 1500  /* a mirror entry zebra took away is not put back before */
#define EVPN_MAX_MACS 65536 /* remote or mirrored MACs per overlay (then counted, ignored) */

struct mkey { /* a MAC in a VNI */
	uint32_t vni;
	uint8_t mac[6];
	uint16_t zero;
};

struct fkey { /* a flood-list entry */
	uint32_t vni;
	struct vn_tun_addr ip;
};

struct vn_evpn {
	struct vn_overlay *ov;
	char *netns_arg; /* --evpn-netns, or NULL */
	char *netns;	 /* the namespace in use ("": vnicd's) */
	struct evk *k;
	struct evk_dev dev[VN_OV_MAX_VNIS]; /* by segment (vni 0: none) */
	GHashTable *kmirror;		    /* mkey -> keep-until ms (0: ours) */
	GHashTable *kremote;		    /* mkey -> struct vn_tun_addr (zebra's) */
	GHashTable *applied;		    /* mkey -> struct vn_tun_addr (in the FDB) */
	GHashTable *kflood;		    /* fkey set */
	GHashTable *taken;		    /* mkey -> ms zebra took it off the mirror */
	GHashTable *local;		    /* this round's local MACs: mkey set */
	guint tick_src, ev_src;
	bool resync, dumping;
	uint64_t grace_ms, now_ms;
	uint64_t advertised, withdrawn, remote_added, remote_removed, moved_here, moved_away,
	    overflow, errors;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static guint mkey_hash(gconstpointer p)
{
	const struct mkey *k = p;
	return g_int_hash(&k->vni) * 31 + ((guint)k->mac[2] << 24 | (guint)k->mac[3] << 16 |
					   (guint)k->mac[4] << 8 | k->mac[5]);
}

static gboolean mkey_eq(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(struct mkey)) == 0;
}

static guint fkey_hash(gconstpointer p)
{
	const struct fkey *k = p;
	guint h = k->vni;
	for (unsigned i = 0; i < 16; i++)
		h = h * 31 + k->ip.a[i];
	return h;
}

static gboolean fkey_eq(gconstpointer a, gconstpointer b)
{
	const struct fkey *x = a, *y = b;
	return x->vni == y->vni && x->ip.v6 == y->ip.v6 && memcmp(x->ip.a, y->ip.a, 16) == 0;
}

static struct mkey mkey_of(uint32_t vni, const uint8_t *mac)
{
	struct mkey k = {.vni = vni};
	memcpy(k.mac, mac, 6);
	return k;
}

static bool addr_eq(const struct vn_tun_addr *a, const struct vn_tun_addr *b)
{
	return a->v6 == b->v6 && memcmp(a->a, b->a, a->v6 ? 16 : 4) == 0;
}

/* ---- arguments ---- */

int vn_evpn_parse(JsonObject *args, struct vn_evpn_args *a, GError **err)
{
	const char *control = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = vn_arg_str(args, "control", false, &control, err)) < 0 ||
	    (rc = vn_arg_str(args, "evpn_netns", false, &a->netns, err)) < 0)
		return rc;
	if (control && strcmp(control, "evpn") != 0 && strcmp(control, "static") != 0)
		VN_FAIL(err, EINVAL, "unknown --control '%s' (evpn or static)", control);
	a->on = control && strcmp(control, "evpn") == 0;
	if (a->netns && !a->on)
		VN_FAIL(err, EINVAL, "--evpn-netns needs --control evpn");
	if (a->netns && (!*a->netns || strchr(a->netns, '/')))
		VN_FAIL(err, EINVAL, "invalid --evpn-netns '%s' (a name in /run/netns)", a->netns);
	return 0;
}

/* ---- the kernel's view ---- */

/* The segment whose device @ifindex is (*@vx: its vxlan device), or -1. */
static int seg_of_ifindex(const struct vn_evpn *e, int ifindex, bool *vx)
{
	for (unsigned i = 0; i < VN_OV_MAX_VNIS; i++) {
		if (!e->dev[i].vni)
			continue;
		if (e->dev[i].md == ifindex || e->dev[i].vx == ifindex) {
			*vx = e->dev[i].vx == ifindex;
			return (int)i;
		}
	}
	return -1;
}

static void on_mirror(struct vn_evpn *e, bool add, uint32_t vni, const struct evk_entry *en)
{
	struct mkey k = mkey_of(vni, en->mac);

	if (!en->master || !(en->state & NUD_NOARP) || (en->state & NUD_PERMANENT))
		return; /* not a mirror entry: the port's own address, or learned */
	if (add) {
		if (!g_hash_table_contains(e->kmirror, &k)) {
			if (g_hash_table_size(e->kmirror) >= EVPN_MAX_MACS) {
				e->overflow++;
				return;
			}
			g_hash_table_insert(
			    e->kmirror, g_memdup2(&k, sizeof(k)),
			    GSIZE_TO_POINTER(e->dumping ? e->now_ms + e->grace_ms : 0));
		}
	} else if (g_hash_table_remove(e->kmirror, &k) && !e->dumping) {
		/* not our deletion (ours leave the table first): zebra moved it away */
		g_hash_table_insert(e->taken, g_memdup2(&k, sizeof(k)),
				    GSIZE_TO_POINTER(e->now_ms));
	}
}

static void on_vxlan(struct vn_evpn *e, bool add, uint32_t vni, const struct evk_entry *en)
{
	static const uint8_t zero[6];

	if (en->master || !en->has_dst || en->dst.v6 != e->ov->loc.addr.v6)
		return;
	if (memcmp(en->mac, zero, 6) == 0) {
		struct fkey f = {.vni = vni, .ip = en->dst};
		if (add)
			g_hash_table_add(e->kflood, g_memdup2(&f, sizeof(f)));
		else
			g_hash_table_remove(e->kflood, &f);
		return;
	}
	struct mkey k = mkey_of(vni, en->mac);
	if (!add) {
		struct vn_tun_addr *cur = g_hash_table_lookup(e->kremote, &k);
		if (cur && addr_eq(cur, &en->dst))
			g_hash_table_remove(e->kremote, &k);
		return;
	}
	if (!g_hash_table_contains(e->kremote, &k) &&
	    g_hash_table_size(e->kremote) >= EVPN_MAX_MACS) {
		e->overflow++;
		return;
	}
	g_hash_table_insert(e->kremote, g_memdup2(&k, sizeof(k)),
			    g_memdup2(&en->dst, sizeof(en->dst)));
}

static void on_entry(void *ud, bool add, const struct evk_entry *en)
{
	struct vn_evpn *e = ud;
	bool vx = false;
	int seg = seg_of_ifindex(e, en->ifindex, &vx);

	if (seg < 0)
		return;
	if (vx)
		on_vxlan(e, add, e->dev[seg].vni, en);
	else
		on_mirror(e, add, e->dev[seg].vni, en);
}

/* Read everything again (at start, and when events were lost). */
static int resync(struct vn_evpn *e)
{
	int rc;

	g_hash_table_remove_all(e->kmirror);
	g_hash_table_remove_all(e->kremote);
	g_hash_table_remove_all(e->kflood);
	e->dumping = true;
	rc = evk_dump(e->k, on_entry, e);
	e->dumping = false;
	e->resync = rc < 0;
	return rc;
}

/* ---- the reconcile ---- */

/* The overlay's segment of VNI @vni with kernel devices, or -1. */
static int seg_of_vni(const struct vn_evpn *e, uint32_t vni)
{
	for (unsigned i = 0; i < VN_OV_MAX_VNIS; i++)
		if (e->dev[i].vni == vni)
			return (int)i;
	return -1;
}

static int local_entry(const struct vn_fdb_entry *fe, void *ud)
{
	struct vn_evpn *e = ud;
	struct vn_overlay *ov = e->ov;
	const struct vn_slot *s =
	    fe->port < VN_MAX_PORTS_HARD ? vn_dp_slot(ov->dp, fe->port) : NULL;
	struct mkey k;

	if (!s || !s->port || s->tun || s->net != &ov->base || fe->seg >= VN_OV_MAX_VNIS ||
	    !e->dev[fe->seg].vni)
		return 0;
	k = mkey_of(e->dev[fe->seg].vni, fe->mac.addr_bytes);
	g_hash_table_add(e->local, g_memdup2(&k, sizeof(k)));
	return 0;
}

/* A reference of EVPN's on the remote VTEP at @ip (made, not flooding, when new). */
static struct vn_tun_port *remote_ref(struct vn_evpn *e, const struct vn_tun_addr *ip)
{
	g_autoptr(GError) err = NULL;
	struct vn_tun_port *r = vn_ov_remote_add(e->ov, ip, false, &err);

	if (!r) {
		e->errors++;
		VN_WARN("evpn %s: %s", e->ov->base.name, err ? err->message : "no remote");
		return NULL;
	}
	r->evpn_refs++;
	return r;
}

static void remote_unref(struct vn_evpn *e, const struct vn_tun_addr *ip)
{
	struct vn_tun_port *r = vn_ov_remote_find(e->ov, ip);

	if (r && r->evpn_refs && --r->evpn_refs == 0 && !r->statics && !r->flood)
		vn_ov_remote_del(e->ov, r);
}

/* Zebra's remote MACs into the FDB: new or changed ones override a learned local entry. */
static void apply_remotes(struct vn_evpn *e, uint64_t now)
{
	struct vn_overlay *ov = e->ov;
	GHashTableIter it;
	gpointer kp, vp;

	g_hash_table_iter_init(&it, e->kremote);
	while (g_hash_table_iter_next(&it, &kp, &vp)) {
		const struct mkey *k = kp;
		const struct vn_tun_addr *ip = vp, *was = g_hash_table_lookup(e->applied, k);
		int seg = seg_of_vni(e, k->vni);
		struct vn_tun_port *r;
		bool fresh = !was || !addr_eq(was, ip);
		int rc;

		if (seg < 0)
			continue;
		if (fresh) {
			if (!(r = remote_ref(e, ip)))
				continue;
			if (was)
				remote_unref(e, was);
			g_hash_table_insert(e->applied, g_memdup2(k, sizeof(*k)),
					    g_memdup2(ip, sizeof(*ip)));
			e->remote_added++;
		} else if (!(r = vn_ov_remote_find(ov, ip))) {
			continue;
		}
		rc = vn_fdb_set_dynamic(ov->base.fdb, (uint16_t)seg,
					(const struct rte_ether_addr *)k->mac, r->base.slot, now,
					fresh);
		if (rc == 2 && fresh)
			e->moved_away++;
	}
	/* what zebra no longer has leaves the FDB (when it still points there) */
	g_hash_table_iter_init(&it, e->applied);
	while (g_hash_table_iter_next(&it, &kp, &vp)) {
		const struct mkey *k = kp;
		const struct vn_tun_addr *ip = vp;
		struct vn_tun_port *r;
		int seg;

		if (g_hash_table_contains(e->kremote, k))
			continue;
		seg = seg_of_vni(e, k->vni);
		r = vn_ov_remote_find(ov, ip);
		if (seg >= 0 && r &&
		    vn_fdb_lookup(ov->base.fdb, (uint16_t)seg,
				  (const struct rte_ether_addr *)k->mac) == r->base.slot)
			vn_fdb_del(ov->base.fdb, (uint16_t)seg,
				   (const struct rte_ether_addr *)k->mac);
		remote_unref(e, ip);
		g_hash_table_iter_remove(&it);
		e->remote_removed++;
	}
}

/* Local MACs onto the mirror port; the mirror's others off it (after their grace). */
static void mirror_locals(struct vn_evpn *e)
{
	GHashTableIter it;
	gpointer kp, vp;

	g_hash_table_iter_init(&it, e->local);
	while (g_hash_table_iter_next(&it, &kp, NULL)) {
		const struct mkey *k = kp;
		const struct evk_dev *d = &e->dev[seg_of_vni(e, k->vni)];
		gpointer t = g_hash_table_lookup(e->taken, k);
		const struct vn_tun_addr *stale;

		if (g_hash_table_lookup_extended(e->kmirror, k, NULL, &vp)) {
			if (vp) /* kept since the restart: ours again */
				g_hash_table_insert(e->kmirror, g_memdup2(k, sizeof(*k)), NULL);
			continue;
		}
		if (t && e->now_ms - GPOINTER_TO_SIZE(t) < EVPN_TAKEN_MS)
			continue; /* zebra took it: its remote entry is on its way */
		if (g_hash_table_size(e->kmirror) >= EVPN_MAX_MACS) {
			e->overflow++;
			continue;
		}
		if ((stale = g_hash_table_lookup(e->kremote, k))) { /* it moved here */
			evk_del_remote(e->k, d, k->mac, stale);
			e->moved_here++;
		}
		if (evk_mirror(e->k, d, k->mac, true) < 0) {
			e->errors++;
			continue;
		}
		g_hash_table_remove(e->taken, k);
		g_hash_table_insert(e->kmirror, g_memdup2(k, sizeof(*k)), NULL);
		e->advertised++;
	}
	g_hash_table_iter_init(&it, e->kmirror);
	while (g_hash_table_iter_next(&it, &kp, &vp)) {
		const struct mkey *k = kp;
		int seg = seg_of_vni(e, k->vni);

		if (g_hash_table_contains(e->local, k) || (vp && e->now_ms < GPOINTER_TO_SIZE(vp)))
			continue;
		if (seg >= 0)
			evk_mirror(e->k, &e->dev[seg], k->mac, false);
		g_hash_table_iter_remove(&it);
		e->withdrawn++;
	}
}

/* The flood list: the overlay's flooding remotes are the union over its VNIs. */
static void apply_flood(struct vn_evpn *e)
{
	struct vn_overlay *ov = e->ov;
	GHashTableIter it;
	gpointer kp;

	g_hash_table_iter_init(&it, e->kflood);
	while (g_hash_table_iter_next(&it, &kp, NULL)) {
		const struct fkey *f = kp;
		struct vn_tun_port *r = vn_ov_remote_find(ov, &f->ip);
		g_autoptr(GError) err = NULL;

		if (seg_of_vni(e, f->vni) < 0 || (r && r->evpn_flood))
			continue;
		if (!(r = vn_ov_remote_add(ov, &f->ip, true, &err))) {
			e->errors++;
			VN_WARN("evpn %s: %s", ov->base.name, err ? err->message : "no remote");
			continue;
		}
		r->evpn_flood = true;
	}
	for (unsigned i = ov->nr_rem; i-- > 0;) {
		struct vn_tun_port *r = ov->rem[i];
		bool listed = false;

		if (!r->evpn_flood)
			continue;
		g_hash_table_iter_init(&it, e->kflood);
		while (!listed && g_hash_table_iter_next(&it, &kp, NULL))
			listed = addr_eq(&((const struct fkey *)kp)->ip, &r->ip);
		if (listed)
			continue;
		r->evpn_flood = false;
		vn_ov_remote_unflood(ov, r);
	}
}

/* Forget what the tables hold for @vni (its devices went). */
static void purge_vni(struct vn_evpn *e, uint32_t vni)
{
	GHashTable *by_mac[] = {e->kmirror, e->kremote, e->taken};
	GHashTableIter it;
	gpointer kp, vp;

	for (unsigned t = 0; t < G_N_ELEMENTS(by_mac); t++) {
		g_hash_table_iter_init(&it, by_mac[t]);
		while (g_hash_table_iter_next(&it, &kp, NULL))
			if (((const struct mkey *)kp)->vni == vni)
				g_hash_table_iter_remove(&it);
	}
	g_hash_table_iter_init(&it, e->kflood);
	while (g_hash_table_iter_next(&it, &kp, NULL))
		if (((const struct fkey *)kp)->vni == vni)
			g_hash_table_iter_remove(&it);
	g_hash_table_iter_init(&it, e->applied);
	while (g_hash_table_iter_next(&it, &kp, &vp))
		if (((const struct mkey *)kp)->vni == vni) {
			remote_unref(e, vp);
			g_hash_table_iter_remove(&it);
		}
}

/* The devices of the VNIs ports were put in (`port set --vni`): made and removed with them. */
static void sync_vnis(struct vn_evpn *e)
{
	struct vn_overlay *ov = e->ov;
	bool dumped = false;

	for (unsigned i = 1; i < VN_OV_MAX_VNIS; i++) {
		uint32_t want = i < ov->nr_vni && ov->vni_users[i] ? ov->vni[i] : 0;
		g_autoptr(GError) err = NULL;

		if (e->dev[i].vni == want)
			continue;
		if (e->dev[i].vni) {
			evk_remove(e->k, &e->dev[i]);
			purge_vni(e, e->dev[i].vni);
			e->dev[i] = (struct evk_dev){0};
		}
		if (!want)
			continue;
		if (evk_make(e->k, want, &ov->loc.addr, ov->dstport, &e->dev[i], &err) < 0) {
			e->dev[i] = (struct evk_dev){0};
			if (e->errors++ % 50 == 0) /* retried every tick: logged now and then */
				VN_WARN("evpn %s: %s", ov->base.name, err->message);
			continue;
		}
		if (!dumped)
			e->resync = dumped = true; /* what zebra has for it already */
	}
}

static void reconcile(struct vn_evpn *e)
{
	GHashTableIter it;
	gpointer vp;

	e->now_ms = mono_ms();
	sync_vnis(e);
	if (e->resync && resync(e) < 0)
		return;
	apply_remotes(e, vn_dp_now()); /* first: they may replace local entries */
	g_hash_table_remove_all(e->local);
	vn_fdb_walk(e->ov->base.fdb, vn_dp_now(), local_entry, e);
	mirror_locals(e);
	apply_flood(e);
	g_hash_table_iter_init(&it, e->taken);
	while (g_hash_table_iter_next(&it, NULL, &vp))
		if (e->now_ms - GPOINTER_TO_SIZE(vp) >= EVPN_TAKEN_MS)
			g_hash_table_iter_remove(&it);
}

static gboolean on_tick(gpointer ud)
{
	reconcile(ud);
	return G_SOURCE_CONTINUE;
}

static gboolean on_events(gint fd, GIOCondition cond, gpointer ud)
{
	struct vn_evpn *e = ud;

	e->now_ms = mono_ms();
	if (evk_read(e->k, on_entry, e) == -ENOBUFS)
		e->resync = true;
	reconcile(e);
	return G_SOURCE_CONTINUE;
}

/* ---- life cycle ---- */

static void evpn_free(struct vn_evpn *e, bool keep_kernel)
{
	struct vn_overlay *ov = e->ov;
	GHashTableIter it;
	gpointer vp;

	if (e->tick_src)
		g_source_remove(e->tick_src);
	if (e->ev_src)
		g_source_remove(e->ev_src);
	if (!ov->host->closing && ov->dp) { /* what EVPN put in the overlay goes */
		g_hash_table_iter_init(&it, e->applied);
		while (g_hash_table_iter_next(&it, NULL, &vp))
			remote_unref(e, vp);
		g_hash_table_remove_all(e->kflood);
		apply_flood(e);
	}
	for (unsigned i = 0; e->k && !keep_kernel && i < VN_OV_MAX_VNIS; i++)
		if (e->dev[i].vni)
			evk_remove(e->k, &e->dev[i]);
	evk_close(e->k);
	g_hash_table_unref(e->kmirror);
	g_hash_table_unref(e->kremote);
	g_hash_table_unref(e->applied);
	g_hash_table_unref(e->kflood);
	g_hash_table_unref(e->taken);
	g_hash_table_unref(e->local);
	g_free(e->netns_arg);
	g_free(e->netns);
	g_free(e);
}

/* FRR's namespace: --evpn-netns, or the one holding --local behind a tap port. */
static int find_netns(struct vn_evpn *e, const struct vn_evpn_args *a, GError **err)
{
	const char *ns = a->netns;

	if (!ns && e->ov->vtep)
		ns = vn_vtep_holder_netns(e->ov->vtep);
	if (!ns)
		VN_FAIL(
		    err, EINVAL,
		    "--control evpn: no namespace for FRR (give --evpn-netns NS, or put --local "
		    "%s on a namespace behind a tap port of '%s')",
		    e->ov->local_str, e->ov->underlay);
	e->netns = g_strdup(ns);
	return 0;
}

static int check_zebra(const char *ns, GError **err)
{
	int rc = evk_zebra_runs(ns);

	if (rc == 0)
		VN_FAIL(
		    err, ENOENT,
		    "--control evpn: FRR's zebra does not run in namespace '%s' (start FRR there "
		    "first)",
		    *ns ? ns : "(vnicd's)");
	if (rc == -EACCES)
		VN_WARN("evpn: cannot tell whether zebra runs in namespace '%s'", ns);
	return 0;
}

int vn_evpn_attach(struct vn_overlay *ov, const struct vn_evpn_args *a, unsigned grace_s,
		   bool check_frr, GError **err)
{
	struct vn_evpn *e = g_new0(struct vn_evpn, 1);
	int rc;

	e->ov = ov;
	e->netns_arg = g_strdup(a->netns);
	e->grace_ms = (uint64_t)grace_s * 1000;
	e->kmirror = g_hash_table_new_full(mkey_hash, mkey_eq, g_free, NULL);
	e->kremote = g_hash_table_new_full(mkey_hash, mkey_eq, g_free, g_free);
	e->applied = g_hash_table_new_full(mkey_hash, mkey_eq, g_free, g_free);
	e->kflood = g_hash_table_new_full(fkey_hash, fkey_eq, g_free, NULL);
	e->taken = g_hash_table_new_full(mkey_hash, mkey_eq, g_free, NULL);
	e->local = g_hash_table_new_full(mkey_hash, mkey_eq, g_free, NULL);
	e->now_ms = mono_ms();
	if (ov->type != VN_TUN_VXLAN)
		rc = -EINVAL,
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "--control evpn needs --type vxlan (FRR's EVPN is VXLAN)");
	else if (ov->nr_rem)
		rc = -EINVAL,
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "--control evpn takes no --remote: BGP gives the remotes");
	else
		rc = find_netns(e, a, err);
	if (rc == 0 && check_frr)
		rc = check_zebra(e->netns, err);
	if (rc == 0)
		rc = evk_open(*e->netns ? e->netns : NULL, &e->k, err);
	if (rc == 0)
		rc = evk_make(e->k, ov->vni[0], &ov->loc.addr, ov->dstport, &e->dev[0], err);
	if (rc == 0 && resync(e) < 0)
		e->resync = true; /* the tick tries again */
	if (rc < 0) {
		evpn_free(e, true); /* evk_make() removed what it made */
		return rc;
	}
	e->tick_src = g_timeout_add(EVPN_TICK_MS, on_tick, e);
	e->ev_src = g_unix_fd_add(evk_event_fd(e->k), G_IO_IN, on_events, e);
	ov->evpn = e;
	reconcile(e);
	VN_INFO("network %s: EVPN through FRR in namespace '%s' (vnb%u, vnx%u, vnm%u)",
		ov->base.name, e->netns, ov->vni[0], ov->vni[0], ov->vni[0]);
	return 0;
}

void vn_evpn_detach(struct vn_overlay *ov, bool keep_kernel)
{
	if (!ov->evpn)
		return;
	evpn_free(ov->evpn, keep_kernel);
	ov->evpn = NULL;
}

/* `net set NAME --control evpn|static [--evpn-netns NS]` (@remote: --remote given too). */
int vn_evpn_set(struct vn_overlay *ov, JsonObject *args, bool remote, GError **err)
{
	struct vn_evpn_args ea;
	int rc;

	if (!json_object_has_member(args, "control")) {
		if (json_object_has_member(args, "evpn_netns"))
			VN_FAIL(err, EINVAL, "--evpn-netns needs --control evpn");
		if (remote && ov->evpn)
			VN_FAIL(err, EINVAL,
				"'%s' runs EVPN: BGP gives the remotes (--control static "
				"first)",
				ov->base.name);
		return 0;
	}
	if ((rc = vn_evpn_parse(args, &ea, err)) < 0)
		return rc;
	if (ea.on && remote)
		VN_FAIL(err, EINVAL, "--control evpn takes no --remote: BGP gives the remotes");
	if (!ov->dp)
		return 0;
	if (!ea.on) {
		vn_evpn_detach(ov, false);
		return 0;
	}
	if (ov->evpn)
		VN_FAIL(err, EEXIST, "'%s' runs EVPN already (--control static first)",
			ov->base.name);
	for (unsigned i = ov->nr_rem; i-- > 0;) /* the hand-made flood list goes */
		if (ov->rem[i]->flood && !ov->rem[i]->statics)
			vn_ov_remote_del(ov, ov->rem[i]);
	return vn_evpn_attach(ov, &ea, ov->evpn_grace, true, err);
}

bool vn_evpn_has_remote(const struct vn_overlay *ov, uint32_t vni, const uint8_t *mac)
{
	struct mkey k;

	if (!ov->evpn)
		return false;
	k = mkey_of(vni, mac);
	return g_hash_table_contains(ov->evpn->applied, &k);
}

bool vn_evpn_on(const struct vn_overlay *ov)
{
	return ov->evpn != NULL;
}

void vn_evpn_describe(const struct vn_overlay *ov, JsonBuilder *b)
{
	const struct vn_evpn *e = ov->evpn;

	vn_json_str(b, "control", e ? "evpn" : "static");
	if (!e)
		return;
	json_builder_set_member_name(b, "evpn");
	json_builder_begin_object(b);
	vn_json_str(b, "netns", e->netns);
	json_builder_set_member_name(b, "vnis");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < VN_OV_MAX_VNIS; i++) {
		char n[16];
		if (!e->dev[i].vni)
			continue;
		json_builder_begin_object(b);
		vn_json_int(b, "vni", e->dev[i].vni);
		snprintf(n, sizeof(n), "vnb%u", e->dev[i].vni);
		vn_json_str(b, "bridge", n);
		snprintf(n, sizeof(n), "vnx%u", e->dev[i].vni);
		vn_json_str(b, "vxlan", n);
		snprintf(n, sizeof(n), "vnm%u", e->dev[i].vni);
		vn_json_str(b, "mirror_port", n);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	vn_json_int(b, "local_macs", g_hash_table_size(e->kmirror));
	vn_json_int(b, "remote_macs", g_hash_table_size(e->kremote));
	vn_json_int(b, "flood_vteps", g_hash_table_size(e->kflood));
	vn_json_int(b, "advertised", (gint64)e->advertised);
	vn_json_int(b, "withdrawn", (gint64)e->withdrawn);
	vn_json_int(b, "remote_added", (gint64)e->remote_added);
	vn_json_int(b, "remote_removed", (gint64)e->remote_removed);
	vn_json_int(b, "moved_here", (gint64)e->moved_here);
	vn_json_int(b, "moved_away", (gint64)e->moved_away);
	vn_json_int(b, "overflow", (gint64)e->overflow);
	vn_json_int(b, "errors", (gint64)e->errors);
	json_builder_end_object(b);
}

void vn_evpn_persist(const struct vn_overlay *ov, JsonBuilder *b)
{
	if (!ov->evpn)
		return;
	vn_json_str(b, "control", "evpn");
	if (*ov->evpn->netns) /* the one found too: a restart does not wait for the holder */
		vn_json_str(b, "evpn_netns", ov->evpn->netns);
}
