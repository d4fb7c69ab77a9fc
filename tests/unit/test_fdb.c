/* SPDX-License-Identifier: MIT */
/* FDB unit tests, and a differential test against a naive reference under random operations. */
#include <string.h>

#include <glib.h>

#include "testutil.h"
#include "vnicd/bridge.h"

#define POOL 64
#define MAXE 40

/* The reference: a plain array, one slot per (segment, MAC) of the pool. */
struct ref_entry {
	bool used, is_static;
	int port;
	uint64_t seen;
	bool marked; /* refreshed since the last fold: seen at the next age() or walk() */
};

struct ref {
	struct ref_entry e[2][POOL];
	unsigned count;
};

static struct rte_ether_addr pool_mac(unsigned i)
{
	struct rte_ether_addr m = {{0x02, 0x00, 0x5e, 0x00, (uint8_t)(i >> 8), (uint8_t)i}};
	return m;
}

static int ref_learn(struct ref *r, unsigned seg, unsigned i, int port, uint64_t now)
{
	struct ref_entry *e = &r->e[seg][i];

	if (e->used) {
		if (e->is_static || e->port == port) {
			e->marked = true;
			return 0;
		}
		e->port = port;
		e->seen = now;
		e->marked = false;
		return 2;
	}
	if (r->count >= MAXE)
		return -ENOSPC;
	*e = (struct ref_entry){true, false, port, now, false};
	r->count++;
	return 1;
}

static int ref_add_static(struct ref *r, unsigned seg, unsigned i, int port, uint64_t now)
{
	struct ref_entry *e = &r->e[seg][i];

	if (!e->used) {
		if (r->count >= MAXE)
			return -ENOSPC;
		r->count++;
	}
	*e = (struct ref_entry){true, true, port, now, false};
	return 0;
}

static unsigned ref_age(struct ref *r, uint64_t now, uint64_t max)
{
	unsigned n = 0;

	for (unsigned s = 0; s < 2; s++)
		for (unsigned i = 0; i < POOL; i++) {
			struct ref_entry *e = &r->e[s][i];
			if (e->marked)
				e->seen = now;
			e->marked = false;
			if (e->used && !e->is_static && now > e->seen && now - e->seen > max) {
				e->used = false;
				r->count--;
				n++;
			}
		}
	return n;
}

static unsigned ref_flush(struct ref *r, int port, bool with_static)
{
	unsigned n = 0;

	for (unsigned s = 0; s < 2; s++)
		for (unsigned i = 0; i < POOL; i++) {
			struct ref_entry *e = &r->e[s][i];
			if (e->used && (with_static || !e->is_static) &&
			    (port < 0 || e->port == port)) {
				e->used = false;
				r->count--;
				n++;
			}
		}
	return n;
}

static void check_same(struct vn_fdb *fdb, struct ref *r, unsigned step)
{
	struct vn_fdb_stats st;

	for (unsigned s = 0; s < 2; s++)
		for (unsigned i = 0; i < POOL; i++) {
			struct rte_ether_addr m = pool_mac(i);
			int got = vn_fdb_lookup(fdb, (uint16_t)s, &m);
			int want = r->e[s][i].used ? r->e[s][i].port : -ENOENT;
			if (got != want)
				g_error("step %u: seg %u mac %u: fdb says %d, reference %d", step,
					s, i, got, want);
		}
	vn_fdb_get_stats(fdb, &st);
	g_assert_cmpuint(st.entries, ==, r->count);
}

/*
 * The data path's way: look up a batch of random keys with (seg, pool MAC @i) first at once
 * (each result must say what the reference holds), then learn that one on @port from its
 * result. Return: what vn_fdb_learn_res() returned.
 */
static int bulk_learn(struct vn_fdb *fdb, const struct ref *r, GRand *rnd, unsigned seg, unsigned i,
		      int port, uint64_t now)
{
	struct vn_fdb_key keys[VN_FDB_BULK];
	uint64_t res[VN_FDB_BULK];
	unsigned idx[VN_FDB_BULK];
	unsigned nk = (unsigned)g_rand_int_range(rnd, 1, VN_FDB_BULK + 1);

	for (unsigned k = 0; k < nk; k++) {
		unsigned ks = k ? (unsigned)g_rand_int_range(rnd, 0, 2) : seg;
		idx[k] = k ? (unsigned)g_rand_int_range(rnd, 0, POOL) : i;
		keys[k] = (struct vn_fdb_key){.seg = (uint16_t)ks, .mac = pool_mac(idx[k])};
	}
	vn_fdb_lookup_bulk(fdb, keys, nk, 1, res);
	for (unsigned k = 0; k < nk; k++) {
		const struct ref_entry *e = &r->e[keys[k].seg][idx[k]];
		g_assert_cmpint(vn_fdb_res_port(res[k]), ==, e->used ? e->port : -ENOENT);
	}
	return vn_fdb_learn_res(fdb, res[0], &keys[0], (uint16_t)port, now);
}

static void test_differential(void)
{
	struct vn_fdb *fdb = vn_fdb_create("diff", MAXE, NULL);
	struct ref *r = g_new0(struct ref, 1);
	GRand *rnd = g_rand_new_with_seed(0x5eed);
	uint64_t now = 1000;
	unsigned full_seen = 0;

	g_assert_nonnull(fdb);
	for (unsigned step = 0; step < 20000; step++) {
		unsigned op = g_rand_int_range(rnd, 0, 100);
		unsigned seg = g_rand_int_range(rnd, 0, 2);
		unsigned i = g_rand_int_range(rnd, 0, POOL);
		int port = g_rand_int_range(rnd, 0, 8);
		struct rte_ether_addr m = pool_mac(i);

		if (op < 30) {
			int a = vn_fdb_learn(fdb, (uint16_t)seg, &m, (uint16_t)port, now);
			int b = ref_learn(r, seg, i, port, now);
			g_assert_cmpint(a, ==, b);
			full_seen += a == -ENOSPC;
		} else if (op < 60) {
			int a = bulk_learn(fdb, r, rnd, seg, i, port, now);
			g_assert_cmpint(a, ==, ref_learn(r, seg, i, port, now));
			full_seen += a == -ENOSPC;
		} else if (op < 70) {
			now += g_rand_int_range(rnd, 0, 5);
		} else if (op < 78) {
			unsigned max = g_rand_int_range(rnd, 1, 10);
			g_assert_cmpuint(vn_fdb_age(fdb, now, max), ==, ref_age(r, now, max));
		} else if (op < 84) {
			int a = vn_fdb_add_static(fdb, (uint16_t)seg, &m, (uint16_t)port, now);
			g_assert_cmpint(a, ==, ref_add_static(r, seg, i, port, now));
		} else if (op < 92) {
			bool had = r->e[seg][i].used;
			g_assert_cmpint(vn_fdb_del(fdb, (uint16_t)seg, &m), ==, had ? 0 : -ENOENT);
			if (had) {
				r->e[seg][i].used = false;
				r->count--;
			}
		} else if (op < 97) {
			bool ws = g_rand_boolean(rnd);
			g_assert_cmpuint(vn_fdb_flush(fdb, port, ws), ==, ref_flush(r, port, ws));
		} else {
			g_assert_cmpuint(vn_fdb_flush(fdb, -1, false), ==, ref_flush(r, -1, false));
		}
		check_same(fdb, r, step);
	}
	g_assert_cmpuint(full_seen, >, 0); /* the limit was exercised */
	g_rand_free(rnd);
	g_free(r);
	vn_fdb_free(fdb);
}

static int count_cb(const struct vn_fdb_entry *e, void *ud)
{
	(*(unsigned *)ud)++;
	return 0;
}

static void test_basics(void)
{
	struct vn_fdb *fdb = vn_fdb_create("basic", 4, NULL);
	struct rte_ether_addr a = pool_mac(1), b = pool_mac(2);
	struct vn_fdb_stats st;
	unsigned n = 0;

	g_assert_cmpint(vn_fdb_lookup(fdb, 0, &a), ==, -ENOENT);
	g_assert_cmpint(vn_fdb_learn(fdb, 0, &a, 3, 10), ==, 1);
	g_assert_cmpint(vn_fdb_lookup(fdb, 0, &a), ==, 3);
	g_assert_cmpint(vn_fdb_lookup(fdb, 1, &a), ==, -ENOENT); /* other segment */
	g_assert_cmpint(vn_fdb_learn(fdb, 0, &a, 4, 11), ==, 2); /* MAC move */
	g_assert_cmpint(vn_fdb_lookup(fdb, 0, &a), ==, 4);
	g_assert_cmpint(vn_fdb_add_static(fdb, 0, &b, 1, 11), ==, 0);
	g_assert_cmpint(vn_fdb_learn(fdb, 0, &b, 2, 12), ==, 0); /* static never moves */
	g_assert_cmpint(vn_fdb_lookup(fdb, 0, &b), ==, 1);
	g_assert_cmpuint(vn_fdb_age(fdb, 400, 300), ==, 1); /* a aged, b static stays */
	g_assert_cmpint(vn_fdb_lookup(fdb, 0, &a), ==, -ENOENT);
	g_assert_cmpint(vn_fdb_lookup(fdb, 0, &b), ==, 1);
	vn_fdb_walk(fdb, 400, count_cb, &n);
	g_assert_cmpuint(n, ==, 1);
	vn_fdb_get_stats(fdb, &st);
	g_assert_cmpuint(st.learned, ==, 1);
	g_assert_cmpuint(st.moved, ==, 1);
	g_assert_cmpuint(st.aged, ==, 1);
	vn_fdb_free(fdb);
}

static void test_limit(void)
{
	struct vn_fdb *fdb = vn_fdb_create("limit", 16, NULL);
	struct vn_fdb_stats st;

	for (unsigned i = 0; i < 16; i++) {
		struct rte_ether_addr m = pool_mac(i);
		g_assert_cmpint(vn_fdb_learn(fdb, 0, &m, 0, 1), ==, 1);
	}
	for (unsigned i = 16; i < 20; i++) {
		struct rte_ether_addr m = pool_mac(i);
		g_assert_cmpint(vn_fdb_learn(fdb, 0, &m, 0, 1), ==, -ENOSPC);
	}
	vn_fdb_get_stats(fdb, &st);
	g_assert_cmpuint(st.full, ==, 4);
	g_assert_cmpuint(st.entries, ==, 16);
	vn_fdb_free(fdb);
}

/* A random unicast locally administered MAC. */
static struct rte_ether_addr rand_mac(void)
{
	struct rte_ether_addr m;

	for (unsigned i = 0; i < 6; i++)
		m.addr_bytes[i] = (uint8_t)g_test_rand_int();
	m.addr_bytes[0] = (uint8_t)((m.addr_bytes[0] & 0xfc) | 0x02);
	return m;
}

/*
 * Issue 16 (7): one port flooding 5000 random source MACs into an FDB of 8192 shared by all
 * takes at most its share (fdb_max_per_port); other ports still learn, across segments, and
 * nothing of theirs is pushed out. Its share frees as its entries age or move away.
 */
static void test_port_limit(void)
{
	struct vn_fdb *fdb = vn_fdb_create("perport", 8192, NULL);
	struct rte_ether_addr v = pool_mac(1), w = pool_mac(2);
	struct vn_fdb_port_stats ps;
	unsigned ok = 0;

	vn_fdb_set_port_limits(fdb, 1024, 0);
	g_assert_cmpint(vn_fdb_learn(fdb, 0, &v, 2, 1), ==, 1); /* the victim, before */
	for (unsigned i = 0; i < 5000; i++) {
		struct rte_ether_addr m = rand_mac();
		int rc = vn_fdb_learn(fdb, (uint16_t)(i % 3), &m, 1, 1);
		g_assert_true(rc == 1 || rc == -ENOSPC);
		ok += rc == 1;
	}
	g_assert_cmpuint(ok, ==, 1024);
	vn_fdb_port_stats(fdb, 1, &ps);
	g_assert_cmpuint(ps.entries, ==, 1024);
	g_assert_cmpuint(ps.refused, ==, 5000 - 1024);
	g_assert_cmpint(vn_fdb_lookup(fdb, 0, &v), ==, 2);	/* still there */
	g_assert_cmpint(vn_fdb_learn(fdb, 7, &w, 3, 2), ==, 1); /* others still learn */
	g_assert_cmpint(vn_fdb_lookup(fdb, 7, &w), ==, 3);
	/* moving a MAC to the full port is refused too; moving one away frees a place */
	g_assert_cmpint(vn_fdb_learn(fdb, 0, &v, 1, 2), ==, -ENOSPC);
	g_assert_cmpint(vn_fdb_lookup(fdb, 0, &v), ==, 2);
	vn_fdb_set_port_limits(fdb, 0, 0); /* no limit: the move goes through */
	g_assert_cmpint(vn_fdb_learn(fdb, 0, &v, 1, 2), ==, 2);
	g_assert_cmpint(vn_fdb_learn(fdb, 0, &v, 2, 2), ==, 2);
	vn_fdb_set_port_limits(fdb, 1024, 0);
	vn_fdb_port_stats(fdb, 1, &ps);
	g_assert_cmpuint(ps.entries, ==, 1024);
	vn_fdb_port_stats(fdb, 2, &ps);
	g_assert_cmpuint(ps.entries, ==, 1);
	/* aging frees the share (the victim and w were seen later) */
	g_assert_cmpuint(vn_fdb_age(fdb, 302, 300), ==, 1024);
	vn_fdb_port_stats(fdb, 1, &ps);
	g_assert_cmpuint(ps.entries, ==, 0);
	{
		struct rte_ether_addr m = rand_mac();
		g_assert_cmpint(vn_fdb_learn(fdb, 0, &m, 1, 302), ==, 1);
	}
	/* a static entry on the port is not part of its share; flushing the port resets */
	g_assert_cmpint(vn_fdb_add_static(fdb, 0, &w, 1, 302), ==, 0);
	vn_fdb_port_stats(fdb, 1, &ps);
	g_assert_cmpuint(ps.entries, ==, 1);
	g_assert_cmpuint(vn_fdb_flush(fdb, 1, true), ==, 2);
	vn_fdb_port_stats(fdb, 1, &ps);
	g_assert_cmpuint(ps.entries + ps.refused, ==, 0);
	vn_fdb_free(fdb);
}

/* The learn rate: at most fdb_learn_rate new MACs of one port per second (@now unit). */
static void test_learn_rate(void)
{
	struct vn_fdb *fdb = vn_fdb_create("rate", 8192, NULL);
	struct vn_fdb_port_stats ps;
	unsigned ok = 0;

	vn_fdb_set_port_limits(fdb, 0, 100);
	for (unsigned i = 0; i < 150; i++) {
		struct rte_ether_addr m = rand_mac();
		int rc = vn_fdb_learn(fdb, 0, &m, 1, 5);
		g_assert_true(rc == 1 || rc == -EBUSY);
		ok += rc == 1;
	}
	g_assert_cmpuint(ok, ==, 100);
	{ /* another port has its own budget; the next second a new one */
		struct rte_ether_addr m = rand_mac(), n = rand_mac();
		g_assert_cmpint(vn_fdb_learn(fdb, 0, &m, 2, 5), ==, 1);
		g_assert_cmpint(vn_fdb_learn(fdb, 0, &n, 1, 6), ==, 1);
	}
	vn_fdb_port_stats(fdb, 1, &ps);
	g_assert_cmpuint(ps.throttled, ==, 50);
	g_assert_cmpuint(ps.entries, ==, 101);
	vn_fdb_free(fdb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	vn_test_eal_init();
	g_test_add_func("/fdb/basics", test_basics);
	g_test_add_func("/fdb/limit", test_limit);
	g_test_add_func("/fdb/port_limit", test_port_limit);
	g_test_add_func("/fdb/learn_rate", test_learn_rate);
	g_test_add_func("/fdb/differential", test_differential);
	return g_test_run();
}
