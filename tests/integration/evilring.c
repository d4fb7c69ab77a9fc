/* SPDX-License-Identifier: MIT */
/*
 * A hostile vhost-user front end (what a compromised QEMU or a guest with a modified
 * virtio-user could do): it speaks the vhost-user protocol itself to a vnicd server socket,
 * shares a memfd as guest memory, and writes the split rings itself.
 *   evilring SOCKET MAC valid N   N good broadcast frames from MAC; prints the frames the
 *                                 back end consumed (a check of this front end)
 *   evilring SOCKET MAC hostile [NAME...]  every scenario below (or those named), each on a
 * connection of its own; one line a scenario: NAME open|closed consumed=K The frames it makes in
 * the hostile scenarios go from MAC to MAC (a bridge drops them as same_port), so whatever gets
 * through reaches nobody. Test tool of test_hostile_guest.py.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum {
	GET_FEATURES = 1,
	SET_FEATURES = 2,
	SET_OWNER = 3,
	SET_MEM_TABLE = 5,
	SET_VRING_NUM = 8,
	SET_VRING_ADDR = 9,
	SET_VRING_BASE = 10,
	SET_VRING_KICK = 12,
	SET_VRING_CALL = 13,
	GET_PROTOCOL_FEATURES = 15,
	SET_PROTOCOL_FEATURES = 16,
	SET_VRING_ENABLE = 18,
};

#define F_PROTOCOL_FEATURES (1ULL << 30)
#define F_VERSION_1 (1ULL << 32)
#define PF_MQ 1ULL
#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4
#define HDR_LEN 12 /* virtio_net_hdr_mrg_rxbuf: VERSION_1 */

#define MEM_SIZE (4u << 20)
#define QSZ 256
/* guest memory layout (offsets = guest physical addresses) */
#define RX_RING 0x0000u
#define TX_RING 0x10000u
#define Q200_RING 0x20000u
#define BUFS 0x100000u
#define IND_TABLE 0x80000u

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct region {
	uint64_t gpa, size, uva, offset;
};

struct msg {
	uint32_t req, flags, size;
	union {
		uint64_t u64;
		struct {
			uint32_t index, num;
		} state;
		struct {
			uint32_t index, flags;
			uint64_t desc, used, avail, log;
		} addr;
		struct {
			uint32_t n, pad;
			struct region r[9];
		} mem;
	} p;
} __attribute__((packed));

struct vu {
	int fd, kick, call;
	uint64_t features;
};

static uint8_t *mem; /* the guest's memory, shared with every connection */
static int memfd;
static uint8_t mac[6];
static uint64_t extra_features; /* negotiated besides VERSION_1 (offload scenarios) */

/* ---- the protocol ---- */

static int vu_send(struct vu *v, uint32_t req, const void *payload, uint32_t size, int pass)
{
	struct msg m = {.req = req, .flags = 1, .size = size};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {&m, 12 + size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (size)
		memcpy(&m.p, payload, size);
	if (pass >= 0) {
		struct cmsghdr *cm;
		mh.msg_control = cbuf.b;
		mh.msg_controllen = sizeof(cbuf.b);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass, sizeof(int));
	}
	return sendmsg(v->fd, &mh, MSG_NOSIGNAL) == (ssize_t)(12 + size) ? 0 : -1;
}

/* A reply's u64 (GET_*), or -1 when the back end closed the connection or said nothing. */
static int vu_get(struct vu *v, uint32_t req, uint64_t *val)
{
	struct pollfd pf = {v->fd, POLLIN, 0};
	struct msg m;
	ssize_t n;

	if (vu_send(v, req, NULL, 0, -1) < 0 || poll(&pf, 1, 2000) != 1)
		return -1;
	n = recv(v->fd, &m, 12 + 8, MSG_WAITALL);
	if (n != 20 || m.req != req)
		return -1;
	*val = m.p.u64;
	return 0;
}

static int vu_state(struct vu *v, uint32_t req, uint32_t index, uint32_t num)
{
	struct {
		uint32_t index, num;
	} s = {index, num};
	return vu_send(v, req, &s, sizeof(s), -1);
}

static int vu_fd(struct vu *v, uint32_t req, uint32_t index, int fd)
{
	uint64_t u = index;
	return vu_send(v, req, &u, sizeof(u), fd);
}

static int vu_addr(struct vu *v, uint32_t index, uint64_t desc, uint64_t avail, uint64_t used)
{
	struct {
		uint32_t index, flags;
		uint64_t desc, used, avail, log;
	} a = {index, 0, desc, used, avail, 0};
	return vu_send(v, SET_VRING_ADDR, &a, sizeof(a), -1);
}

/* The guest's own view of an address: ring addresses are front-end virtual addresses. */
static uint64_t uva(uint32_t off)
{
	return (uint64_t)(uintptr_t)mem + off;
}

static int vu_mem(struct vu *v, uint32_t nregions, uint64_t size, uint64_t offset)
{
	struct {
		uint32_t n, pad;
		struct region r[9];
	} t = {nregions, 0, {{0}}};

	for (uint32_t i = 0; i < nregions && i < 9; i++)
		t.r[i] = (struct region){i * (uint64_t)MEM_SIZE, size, uva(0), offset};
	return vu_send(v, SET_MEM_TABLE, &t, 8 + 32 * (nregions < 9 ? nregions : 9), memfd);
}

/* One vring: size, base, addresses (desc, avail, used in a row at @off), kick, call, on. */
static int vu_vring(struct vu *v, uint32_t index, uint32_t num, uint32_t off)
{
	return vu_state(v, SET_VRING_NUM, index, num) || vu_state(v, SET_VRING_BASE, index, 0) ||
	       vu_addr(v, index, uva(off), uva(off + 0x1000), uva(off + 0x2000)) ||
	       vu_fd(v, SET_VRING_KICK, index, v->kick) ||
	       vu_fd(v, SET_VRING_CALL, index, v->call) || vu_state(v, SET_VRING_ENABLE, index, 1);
}

static int vu_connect(struct vu *v, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	v->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	v->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (int tries = 0; tries < 50; tries++) {
		if (connect(v->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return 0;
		usleep(100 * 1000);
	}
	return -1;
}

static void vu_close(struct vu *v)
{
	close(v->fd);
	close(v->kick);
	close(v->call);
}

/* Features, owner, memory; RX ring good; the TX ring of @tx_num entries (0: not set up). */
static int handshake(struct vu *v, uint32_t tx_num)
{
	uint64_t pf = 0, f;

	if (vu_get(v, GET_FEATURES, &v->features) < 0)
		return -1;
	if ((v->features & F_PROTOCOL_FEATURES) &&
	    (vu_get(v, GET_PROTOCOL_FEATURES, &pf) < 0 ||
	     vu_send(v, SET_PROTOCOL_FEATURES, &(uint64_t){pf & PF_MQ}, 8, -1) < 0))
		return -1;
	f = v->features & (F_VERSION_1 | F_PROTOCOL_FEATURES | extra_features);
	if (vu_send(v, SET_OWNER, NULL, 0, -1) || vu_send(v, SET_FEATURES, &f, 8, -1) ||
	    vu_mem(v, 1, MEM_SIZE, 0) || vu_vring(v, 0, QSZ, RX_RING))
		return -1;
	return tx_num ? vu_vring(v, 1, tx_num, TX_RING) : 0;
}

/* ---- the rings ---- */

static struct desc *descs(uint32_t ring)
{
	return (struct desc *)(mem + ring);
}

static uint16_t *avail(uint32_t ring)
{
	return (uint16_t *)(mem + ring + 0x1000); /* flags, idx, ring[] */
}

static volatile uint16_t *used_idx(uint32_t ring)
{
	return (volatile uint16_t *)(mem + ring + 0x2000 + 2);
}

/* A frame from MAC to @dst in buffer @i; Return: its guest address, *len its length. */
static uint64_t frame(unsigned i, const uint8_t *dst, uint32_t *len)
{
	uint8_t *b = mem + BUFS + i * 2048u;

	memset(b, 0, HDR_LEN + 64);
	memcpy(b + HDR_LEN, dst, 6);
	memcpy(b + HDR_LEN + 6, mac, 6);
	b[HDR_LEN + 12] = 0x88;
	b[HDR_LEN + 13] = 0xb5; /* local experimental ethertype */
	b[HDR_LEN + 14] = (uint8_t)i;
	*len = HDR_LEN + 60;
	return BUFS + i * 2048u;
}

/* Make @n entries of the TX avail ring available (ring[k] = @head(k)) and kick. */
static void publish(struct vu *v, uint16_t idx)
{
	__atomic_store_n(&avail(TX_RING)[1], idx, __ATOMIC_RELEASE);
	if (write(v->kick, &(uint64_t){1}, 8) != 8)
		perror("kick");
}

/* Good descriptors 0..n-1, each one frame to @dst, available at ring slots 0..n-1. */
static void good_descs(unsigned n, const uint8_t *dst)
{
	for (unsigned i = 0; i < n; i++) {
		struct desc *d = &descs(TX_RING)[i % QSZ];
		d->addr = frame(i % QSZ, dst, &d->len);
		d->flags = 0;
		avail(TX_RING)[2 + i % QSZ] = (uint16_t)(i % QSZ);
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the scenarios: each gets a fresh connection and zeroed memory ---- */

/* one descriptor @d at slot 0 of a good TX ring, then a kick */
static int one_desc(struct vu *v, struct desc d)
{
	if (handshake(v, QSZ))
		return -1;
	descs(TX_RING)[0] = d;
	avail(TX_RING)[2] = 0;
	publish(v, 1);
	return 0;
}

static int sc_avail_jump(struct vu *v)
{
	if (handshake(v, QSZ))
		return -1;
	good_descs(QSZ, mac);
	publish(v, 40000); /* 40000 entries "available" in a ring of 256 */
	return 0;
}

static int sc_desc_index(struct vu *v)
{
	if (handshake(v, QSZ))
		return -1;
	avail(TX_RING)[2] = 300;
	avail(TX_RING)[3] = 65535;
	publish(v, 2);
	return 0;
}

static int sc_desc_outside(struct vu *v)
{
	return one_desc(v, (struct desc){1ULL << 40, 64, 0, 0});
}

static int sc_desc_straddle(struct vu *v)
{
	return one_desc(v, (struct desc){MEM_SIZE - 16, 64, 0, 0});
}

static int sc_len0(struct vu *v)
{
	return one_desc(v, (struct desc){BUFS, 0, 0, 0});
}

static int sc_len4g(struct vu *v)
{
	return one_desc(v, (struct desc){BUFS, 0xffffffffu, 0, 0});
}

static int sc_len_short(struct vu *v)
{
	return one_desc(v, (struct desc){BUFS, HDR_LEN - 7, 0, 0});
}

static int sc_write_flag(struct vu *v)
{
	uint32_t len;
	uint64_t a = frame(0, mac, &len);
	return one_desc(v, (struct desc){a, len, D_WRITE, 0});
}

static int sc_chain_loop(struct vu *v)
{
	if (one_desc(v, (struct desc){BUFS, 8, D_NEXT, 1}))
		return -1;
	descs(TX_RING)[1] = (struct desc){BUFS + 8, 8, D_NEXT, 0}; /* back to 0 */
	return 0;
}

static int sc_chain_self(struct vu *v)
{
	return one_desc(v, (struct desc){BUFS, 8, D_NEXT, 0});
}

static int sc_chain_next_oob(struct vu *v)
{
	return one_desc(v, (struct desc){BUFS, 8, D_NEXT, 4000});
}

static int sc_indirect_outside(struct vu *v)
{
	return one_desc(v, (struct desc){1ULL << 40, 4 * 16, D_INDIRECT, 0});
}

static int sc_indirect_loop(struct vu *v)
{
	struct desc *t = (struct desc *)(mem + IND_TABLE);
	t[0] = (struct desc){BUFS, 8, D_NEXT, 1};
	t[1] = (struct desc){BUFS + 8, 8, D_NEXT, 0};
	return one_desc(v, (struct desc){IND_TABLE, 2 * 16, D_INDIRECT, 0});
}

static int sc_indirect_nested(struct vu *v)
{
	struct desc *t = (struct desc *)(mem + IND_TABLE);
	t[0] = (struct desc){IND_TABLE, 16, D_INDIRECT, 0};
	return one_desc(v, (struct desc){IND_TABLE, 16, D_INDIRECT, 0});
}

static int sc_indirect_odd(struct vu *v)
{
	return one_desc(v, (struct desc){IND_TABLE, 17, D_INDIRECT, 0});
}

static int sc_indirect_huge(struct vu *v)
{
	return one_desc(v, (struct desc){IND_TABLE, 0xfffffff0u, D_INDIRECT, 0});
}

/*
 * An IPv4/TCP frame (TCP data offset @doff words) from MAC to MAC in buffer @i behind a
 * virtio-net header asking for @flags, @gso_type, @gso_size, @csum_start; @flen bytes of it
 * are sent. Return: its address.
 */
static uint64_t tcp_frame(unsigned i, uint8_t flags, uint8_t gso_type, uint16_t gso_size,
			  uint16_t csum_start, uint8_t doff, uint16_t flen, uint32_t *len)
{
	uint8_t *b = mem + BUFS + i * 2048u, *p = b + HDR_LEN;

	memset(b, 0, HDR_LEN + 600);
	b[0] = flags, b[1] = gso_type;
	memcpy(b + 4, &gso_size, 2);
	memcpy(b + 6, &csum_start, 2);
	b[8] = 16; /* csum_offset: TCP */
	memcpy(p, mac, 6);
	memcpy(p + 6, mac, 6);
	p[12] = 0x08, p[14] = 0x45, p[16] = 0x02, p[17] = 0x1a; /* IPv4, total length 538 */
	p[22] = 64, p[23] = 6;
	p[34 + 12] = (uint8_t)(doff << 4);
	*len = HDR_LEN + flen;
	return BUFS + i * 2048u;
}

/*
 * Offload requests a guest that negotiated checksum offload and TSO may send: a GSO frame
 * with an MSS of 1 byte, one whose TCP header runs past the frame, a checksum start past the
 * frame, GSO of a frame that is no TCP. Dropped and counted by vnicd (the first two), or
 * completed by the library (the others).
 */
static int sc_offload_bogus(struct vu *v)
{
	static const struct {
		uint8_t flags, gso;
		uint16_t size, start;
		uint8_t doff;
		uint16_t flen;
	} b[] = {{1, 1, 1, 34, 5, 552},
		 {1, 1, 1400, 34, 15, 74},
		 {1, 0, 0, 5000, 5, 552},
		 {1, 3, 1400, 34, 5, 552}};
	unsigned n = sizeof(b) / sizeof(b[0]);

	extra_features = (1ULL << 0) | (1ULL << 11) | (1ULL << 12); /* CSUM, HOST_TSO4/6 */
	if (handshake(v, QSZ)) {
		extra_features = 0;
		return -1;
	}
	extra_features = 0;
	for (unsigned i = 0; i < n; i++) {
		struct desc *d = &descs(TX_RING)[i];
		d->addr = tcp_frame(i, b[i].flags, b[i].gso, b[i].size, b[i].start, b[i].doff,
				    b[i].flen, &d->len);
		d->flags = 0;
		avail(TX_RING)[2 + i] = (uint16_t)i;
	}
	publish(v, (uint16_t)n);
	return 0;
}

static int sc_base_bogus(struct vu *v)
{
	if (handshake(v, 0) || vu_state(v, SET_VRING_NUM, 1, QSZ) ||
	    vu_state(v, SET_VRING_BASE, 1, 60000) ||
	    vu_addr(v, 1, uva(TX_RING), uva(TX_RING + 0x1000), uva(TX_RING + 0x2000)) ||
	    vu_fd(v, SET_VRING_KICK, 1, v->kick) || vu_fd(v, SET_VRING_CALL, 1, v->call) ||
	    vu_state(v, SET_VRING_ENABLE, 1, 1))
		return -1;
	good_descs(QSZ, mac);
	publish(v, 3); /* 3 - 60000: 5539 entries "available" */
	return 0;
}

/* the TX ring with @num entries (then the ring, if accepted, at the memory's very end) */
static int bad_num(struct vu *v, uint32_t num)
{
	uint32_t end = MEM_SIZE - 0x3000; /* desc, avail, used: the avail ring's end is ours */

	if (handshake(v, 0) || vu_state(v, SET_VRING_NUM, 1, num) ||
	    vu_state(v, SET_VRING_BASE, 1, 0) ||
	    vu_addr(v, 1, uva(end), uva(MEM_SIZE - 4), uva(end + 0x2000)) ||
	    vu_fd(v, SET_VRING_KICK, 1, v->kick) || vu_fd(v, SET_VRING_CALL, 1, v->call) ||
	    vu_state(v, SET_VRING_ENABLE, 1, 1))
		return -1;
	*(uint16_t *)(mem + MEM_SIZE - 2) = 7; /* avail idx: 7 entries past the memory */
	if (write(v->kick, &(uint64_t){1}, 8) != 8)
		return -1;
	return 0;
}

static int sc_num_0(struct vu *v)
{
	return bad_num(v, 0);
}

static int sc_num_100(struct vu *v)
{
	return bad_num(v, 100);
}

static int sc_num_65536(struct vu *v)
{
	return bad_num(v, 65536);
}

static int sc_num_32768(struct vu *v)
{
	return bad_num(v, 32768);
}

static int sc_ring_outside(struct vu *v)
{
	if (handshake(v, 0) || vu_state(v, SET_VRING_NUM, 1, QSZ) ||
	    vu_addr(v, 1, uva(0) + (1ULL << 36), uva(TX_RING + 0x1000), uva(TX_RING + 0x2000)) ||
	    vu_fd(v, SET_VRING_KICK, 1, v->kick) || vu_fd(v, SET_VRING_CALL, 1, v->call) ||
	    vu_state(v, SET_VRING_ENABLE, 1, 1))
		return -1;
	publish(v, 1);
	return 0;
}

static int sc_ring_straddle(struct vu *v)
{
	if (handshake(v, 0) || vu_state(v, SET_VRING_NUM, 1, QSZ) ||
	    vu_addr(v, 1, uva(MEM_SIZE - 0x800), uva(TX_RING + 0x1000), uva(TX_RING + 0x2000)) ||
	    vu_fd(v, SET_VRING_KICK, 1, v->kick) || vu_fd(v, SET_VRING_CALL, 1, v->call) ||
	    vu_state(v, SET_VRING_ENABLE, 1, 1))
		return -1;
	publish(v, 1);
	return 0;
}

/* vrings 200 and 201 (pair 100) set up and enabled, beside a good pair 0 */
static int sc_queue_200(struct vu *v)
{
	if (handshake(v, QSZ) || vu_vring(v, 200, QSZ, Q200_RING) ||
	    vu_vring(v, 201, QSZ, Q200_RING + 0x4000))
		return -1;
	good_descs(4, mac);
	publish(v, 4);
	return 0;
}

/* a vring index beyond the library's limit */
static int sc_queue_300(struct vu *v)
{
	if (handshake(v, QSZ) || vu_vring(v, 300, QSZ, Q200_RING))
		return -1;
	publish(v, 0);
	return 0;
}

static int sc_mem_9_regions(struct vu *v)
{
	return vu_get(v, GET_FEATURES, &v->features) || vu_send(v, SET_OWNER, NULL, 0, -1) ||
	       vu_mem(v, 9, MEM_SIZE / 16, 0);
}

static int sc_mem_offset(struct vu *v)
{
	return vu_get(v, GET_FEATURES, &v->features) || vu_send(v, SET_OWNER, NULL, 0, -1) ||
	       vu_mem(v, 1, MEM_SIZE, 1ULL << 50);
}

static int sc_mem_size_0(struct vu *v)
{
	return vu_get(v, GET_FEATURES, &v->features) || vu_send(v, SET_OWNER, NULL, 0, -1) ||
	       vu_mem(v, 1, 0, 0);
}

static int sc_mem_huge(struct vu *v)
{
	return vu_get(v, GET_FEATURES, &v->features) || vu_send(v, SET_OWNER, NULL, 0, -1) ||
	       vu_mem(v, 1, 1ULL << 46, 0);
}

/* a region larger than its file: descriptors past the file's end (SIGBUS if touched) */
static int sc_mem_beyond_file(struct vu *v)
{
	uint64_t pf = 0, f;

	if (vu_get(v, GET_FEATURES, &v->features) < 0)
		return -1;
	if ((v->features & F_PROTOCOL_FEATURES) &&
	    (vu_get(v, GET_PROTOCOL_FEATURES, &pf) < 0 ||
	     vu_send(v, SET_PROTOCOL_FEATURES, &(uint64_t){pf & PF_MQ}, 8, -1) < 0))
		return -1;
	f = v->features & (F_VERSION_1 | F_PROTOCOL_FEATURES);
	if (vu_send(v, SET_OWNER, NULL, 0, -1) || vu_send(v, SET_FEATURES, &f, 8, -1) ||
	    vu_mem(v, 1, 16 * (uint64_t)MEM_SIZE, 0) || vu_vring(v, 0, QSZ, RX_RING) ||
	    vu_vring(v, 1, QSZ, TX_RING))
		return -1;
	descs(TX_RING)[0] = (struct desc){8 * (uint64_t)MEM_SIZE, HDR_LEN + 60, 0, 0};
	avail(TX_RING)[2] = 0;
	publish(v, 1);
	return 0;
}

/* a running device's memory table replaced by one with a region larger than its file */
static int sc_mem_swap(struct vu *v)
{
	if (handshake(v, QSZ))
		return -1;
	good_descs(4, mac);
	publish(v, 4);
	usleep(100 * 1000); /* running, its 4 frames taken */
	descs(TX_RING)[4] = (struct desc){8 * (uint64_t)MEM_SIZE, HDR_LEN + 60, 0, 0};
	avail(TX_RING)[2 + 4] = 4;
	if (vu_mem(v, 1, 16 * (uint64_t)MEM_SIZE, 0))
		return -1;
	publish(v, 5);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct vu *v);
} scenarios[] = {
    {"avail_jump", sc_avail_jump},
    {"desc_index", sc_desc_index},
    {"desc_outside", sc_desc_outside},
    {"desc_straddle", sc_desc_straddle},
    {"len_0", sc_len0},
    {"len_4g", sc_len4g},
    {"len_short", sc_len_short},
    {"write_flag", sc_write_flag},
    {"chain_loop", sc_chain_loop},
    {"chain_self", sc_chain_self},
    {"chain_next_oob", sc_chain_next_oob},
    {"indirect_outside", sc_indirect_outside},
    {"indirect_loop", sc_indirect_loop},
    {"indirect_nested", sc_indirect_nested},
    {"indirect_odd", sc_indirect_odd},
    {"indirect_huge", sc_indirect_huge},
    {"base_bogus", sc_base_bogus},
    {"offload_bogus", sc_offload_bogus},
    {"num_0", sc_num_0},
    {"num_100", sc_num_100},
    {"num_65536", sc_num_65536},
    {"num_32768", sc_num_32768},
    {"ring_outside", sc_ring_outside},
    {"ring_straddle", sc_ring_straddle},
    {"queue_200", sc_queue_200},
    {"queue_300", sc_queue_300},
    {"mem_9_regions", sc_mem_9_regions},
    {"mem_offset", sc_mem_offset},
    {"mem_size_0", sc_mem_size_0},
    {"mem_huge", sc_mem_huge},
    {"mem_beyond_file", sc_mem_beyond_file},
    {"mem_swap", sc_mem_swap},
};

/* the scenarios named in @only (all when @n is 0) */
static int hostile(const char *path, char **only, int n)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		bool named = n == 0;
		struct vu v;
		uint64_t f;
		int rc;

		for (int k = 0; k < n; k++)
			named = named || strcmp(only[k], scenarios[i].name) == 0;
		if (!named)
			continue;
		memset(mem, 0, MEM_SIZE);
		if (vu_connect(&v, path) < 0) {
			fprintf(stderr, "%s: cannot connect to %s\n", scenarios[i].name, path);
			return 1;
		}
		rc = scenarios[i].run(&v);
		usleep(150 * 1000); /* the back end's workers have a go at it */
		printf("%s %s consumed=%u%s\n", scenarios[i].name,
		       vu_get(&v, GET_FEATURES, &f) == 0 ? "open" : "closed",
		       (unsigned)*used_idx(TX_RING), rc ? " refused-early" : "");
		fflush(stdout);
		vu_close(&v);
		usleep(50 * 1000); /* the back end notices the hang-up */
	}
	return 0;
}

/* @n good broadcast frames; waits until the back end consumed them (at most 5 s). */
static int valid(const char *path, unsigned n)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	double t0 = now();
	struct vu v;

	if (n > QSZ || vu_connect(&v, path) < 0 || handshake(&v, QSZ) < 0) {
		fprintf(stderr, "valid: cannot set up the device\n");
		return 1;
	}
	good_descs(n, bcast);
	publish(&v, (uint16_t)n);
	while (*used_idx(TX_RING) != n && now() - t0 < 5)
		usleep(10 * 1000);
	printf("%u\n", (unsigned)*used_idx(TX_RING));
	vu_close(&v);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned m[6];

	if (argc < 4 ||
	    sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
		fprintf(stderr, "usage: evilring SOCKET MAC valid N | hostile [NAME...]\n");
		return 2;
	}
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	memfd = memfd_create("evilring", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, MEM_SIZE) != 0 ||
	    (mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0)) ==
		MAP_FAILED) {
		perror("guest memory");
		return 1;
	}
	if (strcmp(argv[3], "valid") == 0 && argc == 5)
		return valid(argv[1], (unsigned)atoi(argv[4]));
	if (strcmp(argv[3], "hostile") == 0)
		return hostile(argv[1], argv + 4, argc - 4);
	fprintf(stderr, "usage: evilring SOCKET MAC valid N | hostile [NAME...]\n");
	return 2;
}
