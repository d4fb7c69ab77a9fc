/* SPDX-License-Identifier: MIT */
/* The learning bridge's forwarding database: rte_hash keyed by (segment, MAC), lock-free reads. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include <glib.h>

#include "vnicd/bridge.h"
#include "vnicd/log.h"
#include "vnicd/port.h"

/* Hash data word: port in the low 16 bits, flags above, and from bit 32 the key's position
 * in the table plus one (0: not known yet), which a key keeps for its lifetime: a bulk
 * lookup (data, no positions) still finds the key's last-seen time. */
#define FDB_STATIC (1ULL << 16)
#define FDB_VALID (1ULL << 17)
#define FDB_POS_SHIFT 32

/* vn_fdb_lookup_bulk() of this many keys or fewer looks them up one by one. */
#define FDB_BULK_MIN 2

/* Learning by one port: its dynamic entries and its learns in the current second (workers
 * update both atomically; a racing pair of learns may overshoot a limit by the workers). */
struct fdb_port {
	uint32_t entries;   /* dynamic entries on the port */
	uint32_t win_n;	    /* learns and moves to the port in second @win */
	uint64_t win;	    /* the second (@now) @win_n counts */
	uint64_t refused;   /* learns refused: the port at max_per_port */
	uint64_t throttled; /* learns refused: the port over learn_rate */
};

struct vn_fdb {
	struct rte_hash *h;
	struct fdb_port *pp;		   /* by port slot, VN_MAX_PORTS_HARD of them */
	uint32_t max_per_port, learn_rate; /* 0: no limit */
	uint32_t *seen;			   /* last-seen time by key position (control) */
	uint64_t *marks;		   /* a bit by key position: seen since the last fold */
	uint32_t max_entries;
	uint32_t nr_pos;
	bool rcu;
	/* counters: workers update them only on the rare learn/move path, atomically */
	uint64_t entries;
	uint64_t learned;
	uint64_t moved;
	uint64_t aged;
	uint64_t full;
	uint64_t gen; /* one more at every change of what a key maps to (vn_fdb_gen()) */
};

/* What a key maps to changed (after the change: a reader of the older count looks again). */
static inline void fdb_changed(struct vn_fdb *fdb)
{
	__atomic_add_fetch(&fdb->gen, 1, __ATOMIC_RELEASE);
}

uint64_t vn_fdb_gen(const struct vn_fdb *fdb)
{
	return __atomic_load_n(&fdb->gen, __ATOMIC_ACQUIRE);
}

static inline void fdb_key_make(struct vn_fdb_key *k, uint16_t seg,
				const struct rte_ether_addr *mac)
{
	k->seg = seg;
	k->mac = *mac;
}

/* rte_hash's hash of the 8-byte keys: one CRC32-C instruction (rte_hash_crc() loops on the
 * length). */
static uint32_t fdb_key_hash(const void *key, uint32_t len, uint32_t init)
{
	uint64_t v;

	memcpy(&v, key, sizeof(v));
	return rte_hash_crc_8byte(v, init);
}

/* rte_hash's key compare for the 8-byte keys: one load each instead of a call to memcmp(). */
static int fdb_key_cmp(const void *a, const void *b, size_t len)
{
	uint64_t x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x != y;
}

struct vn_fdb *vn_fdb_create(const char *name, uint32_t max_entries, struct rte_rcu_qsbr *qsbr)
{
	char hname[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {0};
	struct vn_fdb *fdb;
	uint32_t size = max_entries < 64 ? 64 : max_entries;

	fdb = rte_zmalloc("vn_fdb", sizeof(*fdb), RTE_CACHE_LINE_SIZE);
	if (!fdb) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(hname, sizeof(hname), "fdb_%s", name);
	p.name = hname;
	p.entries = size;
	p.key_len = sizeof(struct vn_fdb_key);
	p.hash_func = fdb_key_hash;
	p.socket_id = SOCKET_ID_ANY;
	p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
		       RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	fdb->h = rte_hash_create(&p);
	if (!fdb->h) {
		int e = rte_errno ? rte_errno : ENOMEM;
		rte_free(fdb);
		errno = e;
		return NULL;
	}
	rte_hash_set_cmp_func(fdb->h, fdb_key_cmp);
	if (qsbr) {
		struct rte_hash_rcu_config rc = {
		    .v = qsbr,
		    .mode = RTE_HASH_QSBR_MODE_DQ,
		};
		if (rte_hash_rcu_qsbr_add(fdb->h, &rc) != 0) {
			int e = rte_errno ? rte_errno : EINVAL;
			rte_hash_free(fdb->h);
			rte_free(fdb);
			errno = e;
			return NULL;
		}
		fdb->rcu = true;
	}
	fdb->nr_pos = (uint32_t)rte_hash_max_key_id(fdb->h) + 1;
	fdb->seen = rte_zmalloc("vn_fdb_seen", sizeof(uint32_t) * fdb->nr_pos, RTE_CACHE_LINE_SIZE);
	fdb->marks = rte_zmalloc("vn_fdb_marks", sizeof(uint64_t) * ((fdb->nr_pos + 63) / 64),
				 RTE_CACHE_LINE_SIZE);
	if (!fdb->seen || !fdb->marks) {
		rte_free(fdb->seen);
		rte_free(fdb->marks);
		rte_hash_free(fdb->h);
		rte_free(fdb);
		errno = ENOMEM;
		return NULL;
	}
	fdb->pp =
	    rte_zmalloc("vn_fdb_ports", sizeof(*fdb->pp) * VN_MAX_PORTS_HARD, RTE_CACHE_LINE_SIZE);
	if (!fdb->pp) {
		rte_hash_free(fdb->h);
		rte_free(fdb->seen);
		rte_free(fdb->marks);
		rte_free(fdb);
		errno = ENOMEM;
		return NULL;
	}
	fdb->max_entries = max_entries;
	return fdb;
}

void vn_fdb_set_port_limits(struct vn_fdb *fdb, uint32_t max_per_port, uint32_t learn_rate)
{
	__atomic_store_n(&fdb->max_per_port, max_per_port, __ATOMIC_RELAXED);
	__atomic_store_n(&fdb->learn_rate, learn_rate, __ATOMIC_RELAXED);
}

/* Dynamic entries of a port: +1/-1 on @port's count (slots beyond the table: not counted). */
static inline void port_count(struct vn_fdb *fdb, uint64_t data, int delta)
{
	uint16_t port = data & 0xffff;

	if (!(data & FDB_STATIC) && port < VN_MAX_PORTS_HARD)
		__atomic_add_fetch(&fdb->pp[port].entries, (uint32_t)delta, __ATOMIC_RELAXED);
}

/*
 * May @port take one more MAC (a new entry, or one moving to it) at second @now? Counts the
 * learn in the port's second, or the refusal. Return: 0, -ENOSPC (the port holds
 * max_per_port dynamic entries) or -EBUSY (over learn_rate this second).
 */
static int port_admit(struct vn_fdb *fdb, uint16_t port, uint64_t now)
{
	uint32_t max = __atomic_load_n(&fdb->max_per_port, __ATOMIC_RELAXED);
	uint32_t rate = __atomic_load_n(&fdb->learn_rate, __ATOMIC_RELAXED);
	struct fdb_port *pp;

	if (port >= VN_MAX_PORTS_HARD || (!max && !rate))
		return 0;
	pp = &fdb->pp[port];
	if (max && __atomic_load_n(&pp->entries, __ATOMIC_RELAXED) >= max) {
		__atomic_add_fetch(&pp->refused, 1, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	if (rate) {
		if (__atomic_load_n(&pp->win, __ATOMIC_RELAXED) != now) {
			__atomic_store_n(&pp->win, now, __ATOMIC_RELAXED);
			__atomic_store_n(&pp->win_n, 0, __ATOMIC_RELAXED);
		}
		if (__atomic_add_fetch(&pp->win_n, 1, __ATOMIC_RELAXED) > rate) {
			__atomic_add_fetch(&pp->throttled, 1, __ATOMIC_RELAXED);
			return -EBUSY;
		}
	}
	return 0;
}

void vn_fdb_port_stats(const struct vn_fdb *fdb, uint16_t port, struct vn_fdb_port_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (port >= VN_MAX_PORTS_HARD)
		return;
	st->entries = __atomic_load_n(&fdb->pp[port].entries, __ATOMIC_RELAXED);
	st->refused = __atomic_load_n(&fdb->pp[port].refused, __ATOMIC_RELAXED);
	st->throttled = __atomic_load_n(&fdb->pp[port].throttled, __ATOMIC_RELAXED);
}

void vn_fdb_free(struct vn_fdb *fdb)
{
	if (!fdb)
		return;
	rte_hash_free(fdb->h);
	rte_free(fdb->seen);
	rte_free(fdb->marks);
	rte_free(fdb->pp);
	rte_free(fdb);
}

/*
 * Last-seen times. A worker refreshing a known entry only sets its position's bit in @marks
 * (128 KiB for a million entries: in the core's cache, where a time per entry, 4 MiB, was
 * one more cache miss per frame at that size); the control thread folds the bits into
 * @seen (fdb_fold()) before it ages or shows entries, so a time is at most one fold late.
 * Inserts and moves set the time itself and clear the bit.
 */
static inline void fdb_mark(struct vn_fdb *fdb, uint32_t pos)
{
	uint64_t *w = &fdb->marks[pos >> 6], bit = 1ULL << (pos & 63);

	if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
		__atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
}

static void fdb_stamp(struct vn_fdb *fdb, uint32_t pos, uint64_t now)
{
	fdb->seen[pos] = (uint32_t)now;
	__atomic_fetch_and(&fdb->marks[pos >> 6], ~(1ULL << (pos & 63)), __ATOMIC_RELAXED);
}

/* Entries marked since the last fold were seen by @now. Thread: control. */
static void fdb_fold(struct vn_fdb *fdb, uint64_t now)
{
	for (uint32_t i = 0; i < (fdb->nr_pos + 63) / 64; i++) {
		uint64_t m = __atomic_load_n(&fdb->marks[i], __ATOMIC_RELAXED);
		if (!m)
			continue;
		m = __atomic_exchange_n(&fdb->marks[i], 0, __ATOMIC_RELAXED);
		for (; m; m &= m - 1) {
			uint32_t pos = i * 64 + (uint32_t)__builtin_ctzll(m);
			if (pos < fdb->nr_pos)
				fdb->seen[pos] = (uint32_t)now;
		}
	}
}

/* Insert or update key @k with @data (port and flags) and last-seen @now; @pos: the key's
 * position when it is in the table, -1 when it is new. Return: 0 or -ENOSPC. */
static int fdb_insert(struct vn_fdb *fdb, const struct vn_fdb_key *k, uint64_t data, uint64_t now,
		      int32_t pos)
{
	bool is_new = pos < 0;

	if (is_new) {
		/* Reserve a place under the limit first; several workers may race here. */
		uint64_t n = __atomic_add_fetch(&fdb->entries, 1, __ATOMIC_RELAXED);
		if (n > fdb->max_entries) {
			__atomic_sub_fetch(&fdb->entries, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&fdb->full, 1, __ATOMIC_RELAXED);
			return -ENOSPC;
		}
	}
	if (!is_new)
		data |= (uint64_t)(pos + 1) << FDB_POS_SHIFT;
	if (rte_hash_add_key_data(fdb->h, k, (void *)(uintptr_t)data) != 0) {
		if (is_new)
			__atomic_sub_fetch(&fdb->entries, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&fdb->full, 1, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	if (is_new) { /* its position is known now: into its data (an update cannot fail) */
		pos = rte_hash_lookup(fdb->h, k);
		if (pos >= 0 && (uint32_t)pos < fdb->nr_pos) {
			fdb_stamp(fdb, (uint32_t)pos, now);
			data |= (uint64_t)(pos + 1) << FDB_POS_SHIFT;
			rte_hash_add_key_data(fdb->h, k, (void *)(uintptr_t)data);
		}
		fdb_changed(fdb);
		return 0;
	}
	if ((uint32_t)pos < fdb->nr_pos)
		fdb_stamp(fdb, (uint32_t)pos, now);
	fdb_changed(fdb);
	return 0;
}

/* Move the entry of @k (data @d, at position @pos) to @port. Return: 2 (moved), or -ENOSPC. */
static int fdb_move(struct vn_fdb *fdb, const struct vn_fdb_key *k, uint64_t d, uint16_t port,
		    uint64_t now, int32_t pos)
{
	int rc = fdb_insert(fdb, k, FDB_VALID | port, now, pos);

	if (rc < 0)
		return rc;
	port_count(fdb, d, -1);
	port_count(fdb, FDB_VALID | port, 1);
	__atomic_add_fetch(&fdb->moved, 1, __ATOMIC_RELAXED);
	return 2;
}

int vn_fdb_learn(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac, uint16_t port,
		 uint64_t now)
{
	struct vn_fdb_key k;
	void *data;
	int32_t pos;
	int rc;

	fdb_key_make(&k, seg, mac);
	pos = rte_hash_lookup_data(fdb->h, &k, &data);
	if (pos >= 0) {
		uint64_t d = (uintptr_t)data;
		if ((d & 0xffff) == port || (d & FDB_STATIC)) {
			if ((uint32_t)pos < fdb->nr_pos)
				fdb_mark(fdb, (uint32_t)pos);
			return 0;
		}
		if ((rc = port_admit(fdb, port, now)) < 0)
			return rc;
		return fdb_move(fdb, &k, d, port, now, pos);
	}
	if ((rc = port_admit(fdb, port, now)) < 0)
		return rc;
	rc = fdb_insert(fdb, &k, FDB_VALID | port, now, -1);
	if (rc < 0)
		return rc;
	port_count(fdb, FDB_VALID | port, 1);
	__atomic_add_fetch(&fdb->learned, 1, __ATOMIC_RELAXED);
	return 1;
}

int vn_fdb_learn_peek(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac,
		      uint16_t port, uint64_t now)
{
	uint32_t max = __atomic_load_n(&fdb->max_per_port, __ATOMIC_RELAXED);
	uint32_t rate = __atomic_load_n(&fdb->learn_rate, __ATOMIC_RELAXED);
	const struct fdb_port *pp = &fdb->pp[port < VN_MAX_PORTS_HARD ? port : 0];
	struct vn_fdb_key k;
	void *data;
	bool is_new;

	fdb_key_make(&k, seg, mac);
	is_new = rte_hash_lookup_data(fdb->h, &k, &data) < 0;
	if (!is_new && (((uintptr_t)data & 0xffff) == port || ((uintptr_t)data & FDB_STATIC)))
		return 0;
	if (port < VN_MAX_PORTS_HARD && max &&
	    __atomic_load_n(&pp->entries, __ATOMIC_RELAXED) >= max)
		return -ENOSPC;
	if (port < VN_MAX_PORTS_HARD && rate &&
	    __atomic_load_n(&pp->win, __ATOMIC_RELAXED) == now &&
	    __atomic_load_n(&pp->win_n, __ATOMIC_RELAXED) >= rate)
		return -EBUSY;
	if (is_new && __atomic_load_n(&fdb->entries, __ATOMIC_RELAXED) >= fdb->max_entries)
		return -ENOSPC;
	return is_new ? 1 : 2;
}

int vn_fdb_lookup(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac)
{
	struct vn_fdb_key k;
	void *data;

	fdb_key_make(&k, seg, mac);
	if (rte_hash_lookup_data(fdb->h, &k, &data) < 0)
		return -ENOENT;
	return (int)((uintptr_t)data & 0xffff);
}

void vn_fdb_lookup_bulk(struct vn_fdb *fdb, const struct vn_fdb_key *keys, unsigned n,
			unsigned nlearn, uint64_t *res)
{
	const void *kp[VN_FDB_BULK];
	void *data[VN_FDB_BULK];
	hash_sig_t sig[VN_FDB_BULK];
	uint64_t hit = 0;

	if (n <= FDB_BULK_MIN) { /* one by one: rte_hash's bulk look-up costs more for few */
		for (unsigned i = 0; i < n; i++) {
			void *d;
			res[i] = rte_hash_lookup_data(fdb->h, &keys[i], &d) >= 0 ? (uintptr_t)d : 0;
		}
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		kp[i] = &keys[i];
		sig[i] = fdb_key_hash(&keys[i], sizeof(keys[i]), 0); /* inline: no call per key */
	}
	if (rte_hash_lookup_with_hash_bulk_data(fdb->h, kp, sig, n, &hit, data) < 0)
		hit = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t d = (hit >> i) & 1 ? (uintptr_t)data[i] : 0;
		uint64_t pos = d >> FDB_POS_SHIFT;
		res[i] = d;
		if (i < nlearn && pos && pos <= fdb->nr_pos)
			rte_prefetch0(&fdb->marks[(pos - 1) >> 6]);
	}
}

int vn_fdb_learn_res(struct vn_fdb *fdb, uint64_t res, const struct vn_fdb_key *k, uint16_t port,
		     uint64_t now)
{
	uint64_t pos = res >> FDB_POS_SHIFT;

	if ((res & FDB_VALID) && ((res & 0xffff) == port || (res & FDB_STATIC)) && pos &&
	    pos <= fdb->nr_pos) {
		fdb_mark(fdb, (uint32_t)(pos - 1));
		return 0;
	}
	return vn_fdb_learn(fdb, k->seg, &k->mac, port, now);
}

int vn_fdb_add_static(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac,
		      uint16_t port, uint64_t now)
{
	struct vn_fdb_key k;
	bool is_new;

	void *data = NULL;
	int rc;

	int32_t pos;

	fdb_key_make(&k, seg, mac);
	pos = rte_hash_lookup_data(fdb->h, &k, &data);
	is_new = pos < 0;
	rc = fdb_insert(fdb, &k, FDB_VALID | FDB_STATIC | port, now, pos);
	if (rc == 0 && !is_new)
		port_count(fdb, (uintptr_t)data, -1); /* a dynamic entry made static */
	return rc;
}

int vn_fdb_set_dynamic(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac,
		       uint16_t port, uint64_t now, bool move)
{
	struct vn_fdb_key k;
	void *data = NULL;
	int32_t pos;
	int rc;

	fdb_key_make(&k, seg, mac);
	pos = rte_hash_lookup_data(fdb->h, &k, &data);
	if (pos >= 0) {
		uint64_t d = (uintptr_t)data;
		if (d & FDB_STATIC)
			return -EEXIST;
		if ((d & 0xffff) == port) {
			if ((uint32_t)pos < fdb->nr_pos)
				fdb_stamp(fdb, (uint32_t)pos, now);
			return 0;
		}
		return move ? fdb_move(fdb, &k, d, port, now, pos) : -EBUSY;
	}
	if ((rc = fdb_insert(fdb, &k, FDB_VALID | port, now, -1)) < 0)
		return rc;
	port_count(fdb, FDB_VALID | port, 1);
	return 1;
}

static int fdb_remove(struct vn_fdb *fdb, const void *key)
{
	void *data = NULL;
	int32_t pos;

	if (rte_hash_lookup_data(fdb->h, key, &data) < 0)
		return -ENOENT;
	pos = rte_hash_del_key(fdb->h, key);
	if (pos < 0)
		return -ENOENT;
	port_count(fdb, (uintptr_t)data, -1);
	fdb_changed(fdb);
	/* With RCU attached, rte_hash frees the slot after the grace period itself. */
	if (!fdb->rcu)
		rte_hash_free_key_with_position(fdb->h, pos);
	__atomic_sub_fetch(&fdb->entries, 1, __ATOMIC_RELAXED);
	return 0;
}

int vn_fdb_del(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac)
{
	struct vn_fdb_key k;

	fdb_key_make(&k, seg, mac);
	return fdb_remove(fdb, &k);
}

/* Walk the table collecting keys to delete (deleting while iterating is not allowed). */
static unsigned fdb_remove_if(struct vn_fdb *fdb, bool (*pred)(uint64_t d, uint64_t seen, void *),
			      void *ud, uint64_t *counter)
{
	const void *key;
	void *data;
	uint32_t iter = 0;
	int32_t pos;
	unsigned removed = 0, n = 0, cap = 256;
	struct vn_fdb_key *victims = g_new(struct vn_fdb_key, cap);

	while ((pos = rte_hash_iterate(fdb->h, &key, &data, &iter)) >= 0) {
		uint64_t seen = (uint32_t)pos < fdb->nr_pos ? fdb->seen[pos] : 0;
		if (!pred((uintptr_t)data, seen, ud))
			continue;
		if (n == cap) {
			cap *= 2;
			victims = g_renew(struct vn_fdb_key, victims, cap);
		}
		memcpy(&victims[n++], key, sizeof(struct vn_fdb_key));
	}
	for (unsigned i = 0; i < n; i++)
		if (fdb_remove(fdb, &victims[i]) == 0)
			removed++;
	g_free(victims);
	if (counter)
		__atomic_add_fetch(counter, removed, __ATOMIC_RELAXED);
	return removed;
}

struct age_ctx {
	uint64_t now, max_age;
};

static bool pred_aged(uint64_t d, uint64_t seen, void *ud)
{
	struct age_ctx *a = ud;

	return !(d & FDB_STATIC) && a->now > seen && a->now - seen > a->max_age;
}

unsigned vn_fdb_age(struct vn_fdb *fdb, uint64_t now, uint64_t max_age)
{
	struct age_ctx a = {now, max_age};

	fdb_fold(fdb, now);
	return fdb_remove_if(fdb, pred_aged, &a, &fdb->aged);
}

struct flush_ctx {
	int port;
	bool with_static;
};

static bool pred_flush(uint64_t d, uint64_t seen, void *ud)
{
	struct flush_ctx *f = ud;

	if ((d & FDB_STATIC) && !f->with_static)
		return false;
	return f->port < 0 || (int)(d & 0xffff) == f->port;
}

unsigned vn_fdb_flush(struct vn_fdb *fdb, int port, bool with_static)
{
	struct flush_ctx f = {port, with_static};

	if (port >= 0 && port < VN_MAX_PORTS_HARD && with_static) { /* the port left its slot */
		__atomic_store_n(&fdb->pp[port].refused, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&fdb->pp[port].throttled, 0, __ATOMIC_RELAXED);
	}
	return fdb_remove_if(fdb, pred_flush, &f, NULL);
}

int vn_fdb_walk(struct vn_fdb *fdb, uint64_t now, int (*cb)(const struct vn_fdb_entry *e, void *ud),
		void *ud)
{
	const void *key;
	void *data;
	uint32_t iter = 0;
	int32_t pos;
	int rc = 0;

	fdb_fold(fdb, now);
	while ((pos = rte_hash_iterate(fdb->h, &key, &data, &iter)) >= 0) {
		const struct vn_fdb_key *k = key;
		uint64_t d = (uintptr_t)data;
		uint64_t seen = (uint32_t)pos < fdb->nr_pos ? fdb->seen[pos] : now;
		struct vn_fdb_entry e = {
		    .seg = k->seg,
		    .port = d & 0xffff,
		    .is_static = (d & FDB_STATIC) != 0,
		    .age = now > seen ? now - seen : 0,
		};
		e.mac = k->mac;
		rc = cb(&e, ud);
		if (rc)
			break;
	}
	return rc;
}

void vn_fdb_get_stats(const struct vn_fdb *fdb, struct vn_fdb_stats *st)
{
	st->entries = __atomic_load_n(&fdb->entries, __ATOMIC_RELAXED);
	st->learned = __atomic_load_n(&fdb->learned, __ATOMIC_RELAXED);
	st->moved = __atomic_load_n(&fdb->moved, __ATOMIC_RELAXED);
	st->aged = __atomic_load_n(&fdb->aged, __ATOMIC_RELAXED);
	st->full = __atomic_load_n(&fdb->full, __ATOMIC_RELAXED);
}
