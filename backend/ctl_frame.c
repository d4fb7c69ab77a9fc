/* SPDX-License-Identifier: MIT */
/* Control socket framing: one client's reads cut into request lines, with passed descriptors. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vnicd/ctl.h"

void vn_ctl_frame_init(struct vn_ctl_frame *f)
{
	*f = (struct vn_ctl_frame){.in = g_string_new(NULL), .fd = -1};
}

void vn_ctl_frame_clear(struct vn_ctl_frame *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->in)
		g_string_free(f->in, TRUE);
	f->in = NULL;
}

/* Keep @fd for the next request, closing the one kept before (one descriptor a request). */
static void keep_fd(struct vn_ctl_frame *f, int fd)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
}

void vn_ctl_frame_push(struct vn_ctl_frame *f, const struct msghdr *mh, size_t n)
{
	const char *end = (const char *)mh->msg_control + mh->msg_controllen;

	for (struct cmsghdr *cm = mh->msg_controllen ? CMSG_FIRSTHDR(mh) : NULL; cm;
	     cm = CMSG_NXTHDR((struct msghdr *)mh, cm)) {
		const char *d = (const char *)CMSG_DATA(cm);
		size_t nfd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		/* the header's length, but never past the buffer the kernel filled */
		nfd = MIN(cm->cmsg_len - CMSG_LEN(0), (size_t)(end - d)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int fd;
			memcpy(&fd, d + i * sizeof(int), sizeof(int));
			keep_fd(f, fd);
		}
	}
	if (n && mh->msg_iovlen)
		g_string_append_len(f->in, mh->msg_iov[0].iov_base, (gssize)n);
}

gssize vn_ctl_frame_next(struct vn_ctl_frame *f, const char **line)
{
	if (f->handed) { /* the line handed out last did not take the descriptor */
		keep_fd(f, -1);
		f->handed = false;
	}
	for (;;) {
		const char *start = f->in->str + f->pos, *nl;
		size_t pending = f->in->len - f->pos;

		nl = memchr(start + f->scanned, '\n', pending - f->scanned);
		if (!nl) {
			f->scanned = pending;
			if (pending > VN_CTL_MAX_LINE)
				return -E2BIG;
			g_string_erase(f->in, 0, (gssize)f->pos); /* once per read, not per line */
			f->pos = 0;
			return 0;
		}
		f->pos += (size_t)(nl - start) + 1;
		f->scanned = 0;
		if (nl == start)
			continue; /* empty lines are no requests */
		if ((size_t)(nl - start) > VN_CTL_MAX_LINE)
			return -E2BIG;
		*line = start;
		f->handed = true;
		return nl - start;
	}
}
