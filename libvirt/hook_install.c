/* SPDX-License-Identifier: MIT */
/* `vnicd-libvirt-hook install`: make this program libvirt's qemu hook, keeping an earlier one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hook.h"

#define HOOK_MARK "# Installed by 'vnicd-libvirt-hook install'"
#define HOOK_MOVED "qemu-before-vnicd" /* the name an earlier hook gets in qemu.d/ */

/* The hook script that runs @self (with --socket @sock when not NULL). */
static char *script(const char *self, const char *sock)
{
	g_autofree char *qs = sock ? g_shell_quote(sock) : NULL;
	g_autofree char *qself = g_shell_quote(self);

	return g_strdup_printf("#!/bin/sh\n" HOOK_MARK "; it runs again to update this file.\n"
			       "# libvirt runs executables in qemu.d/ after this one; a hook that\n"
			       "# was here before was moved there as " HOOK_MOVED ".\n"
			       "exec %s%s%s \"$@\"\n",
			       qself, qs ? " --socket " : "", qs ? qs : "");
}

/* Write @text to @path atomically (a temporary file, fsync, rename), mode 0755. */
static int write_atomic(const char *path, const char *text)
{
	g_autofree char *tmp = g_strdup_printf("%s.vnicd-tmp", path);
	size_t len = strlen(text), off = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0755);

	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n <= 0)
			goto fail_fd;
		off += (size_t)n;
	}
	if (fchmod(fd, 0755) != 0 || fsync(fd) != 0)
		goto fail_fd;
	close(fd);
	if (rename(tmp, path) != 0)
		goto fail;
	return 0;
fail_fd:
	close(fd);
fail:
	fprintf(stderr, "%s: cannot write %s: %s\n", HOOK_PROG, path, g_strerror(errno));
	unlink(tmp);
	return -1;
}

/* Move the earlier hook @hook into @dir/qemu.d/ under a free name. Return: 0 or -1. */
static int move_aside(const char *dir, const char *hook)
{
	g_autofree char *d = g_build_filename(dir, "qemu.d", NULL);
	g_autofree char *to = NULL;

	if (g_mkdir_with_parents(d, 0755) != 0) {
		fprintf(stderr, "%s: cannot make %s: %s\n", HOOK_PROG, d, g_strerror(errno));
		return -1;
	}
	errno = 0;
	for (int n = 0; n < 100; n++) {
		g_free(to);
		to = n ? g_strdup_printf("%s/%s.%d", d, HOOK_MOVED, n)
		       : g_strdup_printf("%s/%s", d, HOOK_MOVED);
		if (access(to, F_OK) != 0 && errno == ENOENT)
			break;
	}
	if (access(to, F_OK) == 0 || rename(hook, to) != 0) {
		fprintf(stderr, "%s: cannot move %s to %s: %s\n", HOOK_PROG, hook, to,
			errno ? g_strerror(errno) : "names taken");
		return -1;
	}
	printf("moved the existing hook %s to %s: libvirt runs it after vnicd's\n", hook, to);
	return 0;
}

/* Is the file at @path ours: our script, or a link to this program? */
static bool is_ours(const char *path, const char *self)
{
	g_autofree char *text = NULL;
	g_autofree char *real = realpath(path, NULL);

	if (real && !strcmp(real, self))
		return true;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return false;
	return strstr(text, HOOK_MARK) != NULL;
}

/**
 * hook_install() - make @dir/qemu run this program (see hook.h). Return: the exit status.
 */
int hook_install(const char *dir, const char *sock)
{
	g_autofree char *self = realpath("/proc/self/exe", NULL);
	g_autofree char *hook = NULL;
	g_autofree char *want = NULL;
	g_autofree char *have = NULL;
	struct stat st;

	if (!self) {
		fprintf(stderr, "%s: cannot find its own path: %s\n", HOOK_PROG, g_strerror(errno));
		return 1;
	}
	if (!dir)
		dir = HOOK_DEFAULT_DIR;
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		fprintf(stderr, "%s: cannot make %s: %s\n", HOOK_PROG, dir, g_strerror(errno));
		return 1;
	}
	hook = g_build_filename(dir, "qemu", NULL);
	want = script(self, sock);
	if (lstat(hook, &st) == 0) {
		if (!is_ours(hook, self)) {
			if (move_aside(dir, hook) < 0)
				return 1;
		} else if (S_ISREG(st.st_mode) && g_file_get_contents(hook, &have, NULL, NULL) &&
			   !strcmp(have, want) && (st.st_mode & 0777) == 0755) {
			printf("%s already runs %s: nothing to do\n", hook, self);
			return 0;
		}
	} else if (errno != ENOENT) {
		fprintf(stderr, "%s: %s: %s\n", HOOK_PROG, hook, g_strerror(errno));
		return 1;
	}
	if (write_atomic(hook, want) < 0)
		return 1;
	printf("installed %s (runs %s); restart libvirtd if it had no qemu hook when it "
	       "started\n",
	       hook, self);
	return 0;
}
