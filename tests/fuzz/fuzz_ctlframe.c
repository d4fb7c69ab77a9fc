/* SPDX-License-Identifier: MIT */
/* libFuzzer target: control-socket framing, reads of any split with SCM_RIGHTS descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vnicd/ctl.h"
#include "vnicd/log.h"

#define MAX_FDS 7

static struct vn_config cfg;
static struct vn_switch *sw;
static unsigned runs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Every descriptor this input made: all must be closed when its stream is gone. (Not a count
 * of /proc/self/fd: libFuzzer's symbolizer opens pipes of its own while it runs.)
 */
static GArray *made;

/* What the stream must give, whatever its reads: the lines of @all, then maybe -E2BIG. */
struct model {
	GString *all;  /* every byte pushed */
	size_t next;   /* start of the next line the framer has to hand out */
	int fd;	       /* the descriptor the next line must carry (the last one pushed) */
	bool too_long; /* the framer said -E2BIG */
};

/* The next line of the whole stream after m->next (skipping empty ones); 0: none complete. */
static gssize model_line(struct model *m, const char **line)
{
	for (;;) {
		const char *s = m->all->str + m->next;
		const char *nl = memchr(s, '\n', m->all->len - m->next);
		if (!nl)
			return m->all->len - m->next > VN_CTL_MAX_LINE ? -E2BIG : 0;
		m->next += (size_t)(nl - s) + 1;
		if (nl == s)
			continue;
		*line = s;
		return (size_t)(nl - s) > VN_CTL_MAX_LINE ? -E2BIG : nl - s;
	}
}

/* One recvmsg(): @n bytes at @buf with @nfd new descriptors (pipes or /dev/null). */
static void push(struct vn_ctl_frame *f, struct model *m, const char *buf, size_t n, unsigned nfd,
		 bool pipes, bool creds_first)
{
	union {
		char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * (MAX_FDS + 1))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {(void *)buf, n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b};
	struct cmsghdr *cm;
	int fds[MAX_FDS + 1];

	memset(&cbuf, 0, sizeof(cbuf));
	for (unsigned i = 0; i < nfd; i += 1 + pipes) {
		if (pipes ? pipe2(fds + i, O_CLOEXEC) != 0
			  : (fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			__builtin_trap();
	}
	nfd += pipes && nfd % 2; /* pipes come in pairs */
	g_array_append_vals(made, fds, nfd);
	mh.msg_controllen = (creds_first ? CMSG_SPACE(sizeof(struct ucred)) : 0) +
			    (nfd ? CMSG_SPACE(sizeof(int) * nfd) : 0);
	cm = mh.msg_controllen ? CMSG_FIRSTHDR(&mh) : NULL;
	if (creds_first) { /* another kind of ancillary data first: no descriptors in it */
		struct ucred uc = {getpid(), getuid(), getgid()};
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_CREDENTIALS;
		cm->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(cm), &uc, sizeof(uc));
		cm = CMSG_NXTHDR(&mh, cm);
	}
	if (nfd) {
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfd);
		m->fd = fds[nfd - 1]; /* the last one is kept, for the next request */
	}
	vn_ctl_frame_push(f, &mh, n);
	g_string_append_len(m->all, buf, (gssize)n);
}

/* Hand out every line now complete; each must be the model's, with the model's descriptor. */
static void drain(struct vn_ctl_frame *f, struct model *m)
{
	const char *line, *want;
	gssize len, wlen;

	while ((len = vn_ctl_frame_next(f, &line)) != 0) {
		wlen = model_line(m, &want);
		if (len != wlen)
			__builtin_trap(); /* another split gave other lines */
		if (len < 0) {
			m->too_long = true;
			return;
		}
		if (memcmp(line, want, (size_t)len) != 0 || f->fd != m->fd)
			__builtin_trap();
		m->fd = -1;
		if (len < 1024) /* (fuzz_ctl parses long lines; here they only cost time) */
			g_free(vn_ctl_handle_request(sw, line, (gsize)len, &f->fd));
	}
	if (model_line(m, &want) != 0) /* nothing complete left behind */
		__builtin_trap();
}

static void reset_switch(void)
{
	vn_switch_free(sw);
	if (!cfg.control_socket) {
		vn_config_defaults(&cfg);
		vn_log_set_level(VN_LOG_ERR);
	}
	sw = vn_switch_new(&cfg, NULL, NULL);
	vn_switch_net_add(sw, "br0", "bridge", NULL);
}

/*
 * Input: records. A record's first byte: bits 0-1 the kind (3: a run of one byte, 2 bytes of
 * length and the byte follow; else a read of 1 to 256 bytes: 1 byte of length, the bytes),
 * bits 2-4 how many descriptors come with it, bit 5 pipes instead of /dev/null, bit 6 other
 * ancillary data (credentials) before them.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m = {.all = g_string_new(NULL), .fd = -1};
	struct vn_ctl_frame f;
	size_t off = 0;

	if (!sw || ++runs % 5000 == 0) { /* bound the state the requests build up */
		reset_switch();
		made = made ? made : g_array_new(FALSE, FALSE, sizeof(int));
	}
	g_array_set_size(made, 0);
	vn_ctl_frame_init(&f);
	while (off < size && !m.too_long) {
		uint8_t op = data[off++];
		unsigned nfd = (op >> 2) & 7;
		g_autofree char *run = NULL;
		const char *buf;
		size_t n;

		if ((op & 3) == 3) {
			if (off + 3 > size)
				break;
			n = (size_t)data[off] << 8 | data[off + 1];
			buf = run = g_malloc(n + 1);
			memset(run, data[off + 2], n);
			off += 3;
		} else {
			if (off >= size)
				break;
			n = MIN((size_t)data[off] + 1, size - off - 1);
			buf = (const char *)data + off + 1;
			off += 1 + n;
		}
		push(&f, &m, buf, n, nfd, op & 0x20, op & 0x40);
		drain(&f, &m);
	}
	vn_ctl_frame_clear(&f); /* the client goes: the descriptor of a partial request too */
	g_string_free(m.all, TRUE);
	for (guint i = 0; i < made->len; i++) /* (its numbers may have been reused: all closed) */
		if (fcntl(g_array_index(made, int, i), F_GETFD) >= 0 || errno != EBADF)
			__builtin_trap(); /* a descriptor leaked */
	return 0;
}
