/* SPDX-License-Identifier: MIT */
/* The one atomic, durable file writer: temporary file, fsync, rename, fsync the directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "vnicd/fileio.h"

int vn_file_write_atomic(const char *path, const char *data, size_t len, GError **err)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
	g_autofree char *dir = g_path_get_dirname(path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;

	if (fd < 0)
		goto out_errno;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out_close;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto out_close;
	close(fd);
	if (rename(tmp, path) != 0)
		goto out_errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;

out_close : {
	int e = errno;
	close(fd);
	errno = e;
}
out_errno : {
	int e = errno;
	unlink(tmp);
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "writing %s: %s", path,
		    g_strerror(e));
	return -e;
}
}
