/* SPDX-License-Identifier: MIT */
/* What users may make vnicd (root) open or create: allowed uplink devargs, server socket paths. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>

#include "vnicd/confine.h"

/*
 * Uplink devargs go to rte_dev_probe() as root, and many PMDs open files or sockets named in
 * their options (net_pcap's rx_pcap/tx_pcap truncate any file, net_af_xdp's xdp_prog loads
 * one). Only the drivers and options below pass; each option is listed with why it is safe.
 * The driver part is the driver's name followed by digits only (the vdev bus matches drivers
 * by prefix, so "net_af_packetX" must not slip through); options are ',' separated key or
 * key=value (a '[' list would split into an unknown key and be refused).
 */
struct devargs_rule {
	const char *driver;
	const char *const *keys;
};

/* net_af_packet: an AF_PACKET socket on an existing interface; no paths. */
static const char *const af_packet_keys[] = {
    "iface",	    /* an interface name: opened by ifindex, no file */
    "qpairs",	    /* a number of queue pairs */
    "blocksz",	    /* ring geometry (numbers) ... */
    "framesz",	    /* ... */
    "framecnt",	    /* ... */
    "qdisc_bypass", /* 0/1: PACKET_QDISC_BYPASS on our own socket */
    "fanout_mode",  /* a PACKET_FANOUT mode name on our own sockets */
    NULL,
};

/*
 * net_af_xdp: AF_XDP sockets on an existing interface. Not allowed: xdp_prog (loads a BPF
 * object from any file as root), use_cni/uds_path/dp_path (connect to a Unix socket path
 * for an fd handed over), use_pinned_map (opens a path in bpffs).
 */
static const char *const af_xdp_keys[] = {
    "iface",	   /* an interface name */
    "start_queue", /* queue numbers on that interface */
    "queue_count", /* ... */
    "shared_umem", /* 0/1: share the UMEM between our own queues */
    "busy_budget", /* a number: busy polling budget */
    "force_copy",  /* 0/1: copy mode instead of zero copy */
    NULL,
};

/*
 * net_tap: a TAP interface vnicd creates. Not allowed: remote (installs TC rules that
 * redirect another host interface's traffic into the TAP: taking over any interface).
 */
static const char *const tap_keys[] = {
    "iface",   /* the name of the TAP to create (TUNSETIFF) */
    "mac",     /* its MAC address, or "fixed" */
    "persist", /* keep the TAP after vnicd closes it: an interface, no file */
    NULL,
};

/*
 * net_memif: shared memory over a Unix socket (benchmarks). socket is required and must lie
 * under /run/ with a name starting /run/vnicd (the default /run/memif.sock is refused).
 * Not allowed: owner-uid/owner-gid (chown the socket file as root).
 */
static const char *const memif_keys[] = {
    "socket",	       /* checked: /run/vnicd... (see memif_socket_ok()) */
    "socket-abstract", /* yes/no: abstract namespace instead of a file: less, not more */
    "id",	       /* numbers, sizes, a role, a MAC, a shared secret: no files */
    "role",
    "bsize",
    "rsize",
    "mac",
    "secret",
    "zero-copy",
    NULL,
};

static const struct devargs_rule devargs_rules[] = {
    {"net_af_packet", af_packet_keys},
    {"net_af_xdp", af_xdp_keys},
    {"net_tap", tap_keys},
    {"net_memif", memif_keys},
};

#define DEVARGS_ALLOWED                                                                            \
	"allowed: net_af_packetN, net_af_xdpN, net_tapN, net_memifN with "                         \
	"socket=/run/vnicd..., a PCI address DDDD:BB:DD.F / BB:DD.F without options, or a wire's " \
	"end wire:NAME/0 or wire:NAME/1"

bool vn_path_plain(const char *path)
{
	const char *p = path;

	if (!path || path[0] != '/')
		return false;
	if (path[1] == '\0')
		return true;
	while (*p == '/') {
		const char *c = p + 1;
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false; /* "//", "/./", "/../" or a trailing '/' */
		p = c + n;
	}
	return true;
}

/* Whether @path is @dir or lies beneath it, by name (both plain). */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static bool hexn(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isxdigit(s[i]))
			return false;
	return true;
}

/* DDDD:BB:DD.F or BB:DD.F (the PCI bus's own syntax, function 0-7). */
static bool pci_addr(const char *s)
{
	size_t len = strlen(s);

	if (len == 12) {
		if (!hexn(s, 4) || s[4] != ':')
			return false;
		s += 5;
	} else if (len != 7) {
		return false;
	}
	return hexn(s, 2) && s[2] == ':' && hexn(s + 3, 2) && s[5] == '.' && s[6] >= '0' &&
	       s[6] <= '7';
}

static bool memif_socket_ok(const char *v)
{
	return vn_path_plain(v) && g_str_has_prefix(v, "/run/vnicd") && strlen(v) > 10;
}

int vn_devargs_check(const char *devargs, GError **err)
{
	g_auto(GStrv) parts = g_strsplit(devargs ? devargs : "", ",", -1);
	const struct devargs_rule *rule = NULL;
	bool has_socket = false;

	if (!parts[0] || !*parts[0]) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--uplink '%s': no device name (" DEVARGS_ALLOWED ")",
			    devargs ? devargs : "");
		return -EINVAL;
	}
	if (pci_addr(parts[0])) {
		if (parts[1]) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "--uplink '%s': a PCI device takes no options (" DEVARGS_ALLOWED
				    ")",
				    devargs);
			return -EINVAL;
		}
		return 0;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(devargs_rules) && !rule; i++) {
		const char *d = devargs_rules[i].driver;
		size_t n = strlen(d);

		if (strncmp(parts[0], d, n) == 0 &&
		    strspn(parts[0] + n, "0123456789") == strlen(parts[0] + n))
			rule = &devargs_rules[i];
	}
	if (!rule) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--uplink '%s': device '%s' is not allowed (" DEVARGS_ALLOWED ")",
			    devargs, parts[0]);
		return -EINVAL;
	}
	for (int i = 1; parts[i]; i++) {
		g_autofree char *key = g_strdup(parts[i]);
		char *eq = strchr(key, '=');
		const char *val = eq ? eq + 1 : "";

		if (eq)
			*eq = '\0';
		if (!*key || !g_strv_contains(rule->keys, key)) {
			g_autofree char *l = g_strjoinv(", ", (char **)rule->keys);
			g_set_error(
			    err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--uplink '%s': option '%s' is not allowed for %s (allowed: %s)",
			    devargs, key, rule->driver, l);
			return -EINVAL;
		}
		if (strcmp(key, "socket") == 0) {
			if (!memif_socket_ok(val)) {
				g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					    "--uplink '%s': %s socket '%s' must be a clean path "
					    "under /run/ starting with /run/vnicd",
					    devargs, rule->driver, val);
				return -EINVAL;
			}
			has_socket = true;
		}
	}
	if (strcmp(rule->driver, "net_memif") == 0 && !has_socket) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--uplink '%s': net_memif needs socket=/run/vnicd... (its default "
			    "socket path is outside vnicd's directories)",
			    devargs);
		return -EINVAL;
	}
	return 0;
}

/* The directories of @dirs (';'-separated, blanks around names ignored, empty ones dropped). */
static GStrv dirs_split(const char *dirs)
{
	g_auto(GStrv) v = g_strsplit(dirs ? dirs : "", ";", -1);
	g_autoptr(GPtrArray) out = g_ptr_array_new();

	for (int i = 0; v[i]; i++) {
		g_strstrip(v[i]);
		/* a trailing '/' is tolerated in the setting: "/run/vnicd/" is /run/vnicd */
		for (size_t n = strlen(v[i]); n > 1 && v[i][n - 1] == '/'; n--)
			v[i][n - 1] = '\0';
		if (*v[i])
			g_ptr_array_add(out, g_strdup(v[i]));
	}
	g_ptr_array_add(out, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

static int refuse_outside(const char *path, const char *dirs, GError **err)
{
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
		    "server socket path '%s' is outside the directories vnicd may create sockets "
		    "in (vhost_socket_dirs = %s); use one of them or a client-mode port",
		    path, dirs && *dirs ? dirs : "(none)");
	return -EPERM;
}

int vn_socket_path_allowed(const char *path, const char *dirs, GError **err)
{
	g_auto(GStrv) v = dirs_split(dirs);

	if (!vn_path_plain(path)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "server socket path '%s' must be absolute without '.', '..' or empty "
			    "components",
			    path ? path : "");
		return -EINVAL;
	}
	for (int i = 0; v[i]; i++)
		if (vn_path_plain(v[i]) && path_under(path, v[i]) && strcmp(path, v[i]) != 0)
			return 0;
	return refuse_outside(path, dirs, err);
}

int vn_socket_path_resolved(const char *path, const char *dirs, GError **err)
{
	g_auto(GStrv) v = dirs_split(dirs);
	g_autofree char *dir = g_path_get_dirname(path);
	char real[PATH_MAX];
	int rc;

	if ((rc = vn_socket_path_allowed(path, dirs, err)) < 0)
		return rc;
	if (!realpath(dir, real)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "directory '%s' of the socket path does not exist", dir);
		return -ENOENT;
	}
	for (int i = 0; v[i]; i++) {
		char rd[PATH_MAX];

		if (realpath(v[i], rd) && path_under(real, rd))
			return 0;
	}
	return refuse_outside(path, dirs, err);
}

int vn_stale_socket_remove(const char *path, GError **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st, st2;
	int fd, rc, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "socket path '%s' too long", path);
		return -ENAMETOOLONG;
	}
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "socket path '%s' exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot probe socket path '%s': %s", path, g_strerror(e));
		return -e;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = rc == 0 ? 0 : errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
			    "socket path '%s' is in use by another listener", path);
		return -EADDRINUSE;
	}
	if (e != ECONNREFUSED) {
		/* e.g. EPROTOTYPE: a live datagram socket such as /dev/log; EACCES: not ours */
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "socket path '%s' exists and is not a stale vhost-user socket (%s); "
			    "left alone",
			    path, g_strerror(e));
		return -EEXIST;
	}
	/* nobody listens: a leftover; unlink it only if it is still the socket probed */
	if (lstat(path, &st2) == 0 && S_ISSOCK(st2.st_mode) && st2.st_dev == st.st_dev &&
	    st2.st_ino == st.st_ino)
		unlink(path);
	return 0;
}
