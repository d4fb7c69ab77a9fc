/* SPDX-License-Identifier: MIT */
/* Parses the [vnicd] GKeyFile configuration over the embedded defaults. */
#include <errno.h>
#include <string.h>

#include "vnicd/config.h"
#include "vnicd/confine.h"
#include "vnicd/log.h"

void vn_config_defaults(struct vn_config *c)
{
	memset(c, 0, sizeof(*c));
	c->control_socket = g_strdup("/run/vnicd/vnicd.sock");
	c->state_dir = g_strdup("/var/lib/vnicd");
	c->file_prefix = g_strdup("vnicd");
	c->workers = 1;
	c->log_level = VN_LOG_INFO;
	c->hugepages = g_strdup("auto");
	c->mem_mb = 512;
	c->mbufs = 32767;
	c->max_ports = 256;
	c->max_nets = 64;
	c->max_clients = 32;
	c->ctl_idle_timeout = 60;
	c->fdb_max = 8192;
	c->fdb_aging = 300;
	c->evpn_restart_grace = 30;
	c->fdb_max_per_port = 1024;
	c->fdb_learn_rate = 1000;
	c->idle_sleep_us = 1000;
	c->idle_poll_us = 2000;
	c->checkpoint_interval = 10;
	c->ledger_max = 4096;
	c->metrics_listen = g_strdup("127.0.0.1:9469");
	c->io_uring = g_strdup("auto");
	c->vhost_socket_dirs = g_strdup("/run/vnicd");
	c->vhost_tso_to_guest = g_strdup("no");
	c->rxq_assign = g_strdup("cycles");
	c->rxq_rebalance_interval_ms = 5000;
	c->rxq_rebalance_threshold = 25;
}

void vn_config_clear(struct vn_config *c)
{
	g_free(c->control_socket);
	g_free(c->socket_group);
	g_free(c->state_dir);
	g_free(c->file_prefix);
	g_free(c->worker_cpus);
	g_free(c->main_cpus);
	g_free(c->hugepages);
	g_free(c->eal_args);
	g_free(c->metrics_listen);
	g_free(c->io_uring);
	g_free(c->vhost_socket_dirs);
	g_free(c->vhost_tso_to_guest);
	g_free(c->libvirt_uri);
	g_free(c->vhost_hotplug_dirs);
	g_free(c->rxq_assign);
	memset(c, 0, sizeof(*c));
}

enum key_type { K_STR, K_UINT, K_LEVEL, K_CHOICE, K_DIRS, K_URI };

struct key_desc {
	const char *name;
	enum key_type type;
	size_t off;
	unsigned min, max;
	const char *choices; /* K_CHOICE: '|'-separated */
};

#define OFF(f) offsetof(struct vn_config, f)
static const struct key_desc keys[] = {
    {"control_socket", K_STR, OFF(control_socket)},
    {"socket_group", K_STR, OFF(socket_group)},
    {"state_dir", K_STR, OFF(state_dir)},
    {"file_prefix", K_STR, OFF(file_prefix)},
    {"workers", K_UINT, OFF(workers), 1, 16},
    {"worker_cpus", K_STR, OFF(worker_cpus)},
    {"main_cpus", K_STR, OFF(main_cpus)},
    {"log_level", K_LEVEL, OFF(log_level)},
    {"hugepages", K_CHOICE, OFF(hugepages), 0, 0, "auto|yes|no"},
    {"mem_mb", K_UINT, OFF(mem_mb), 64, 65536},
    {"mbufs", K_UINT, OFF(mbufs), 1023, 4194303},
    {"max_ports", K_UINT, OFF(max_ports), 1, 1024},
    {"max_nets", K_UINT, OFF(max_nets), 1, 4096},
    {"max_clients", K_UINT, OFF(max_clients), 1, 1024},
    {"ctl_idle_timeout", K_UINT, OFF(ctl_idle_timeout), 0, 86400},
    {"fdb_max", K_UINT, OFF(fdb_max), 16, 1048576},
    {"fdb_aging", K_UINT, OFF(fdb_aging), 1, 1000000},
    {"evpn_restart_grace", K_UINT, OFF(evpn_restart_grace), 0, 86400},
    {"fdb_max_per_port", K_UINT, OFF(fdb_max_per_port), 0, 1048576},
    {"fdb_learn_rate", K_UINT, OFF(fdb_learn_rate), 0, 10000000},
    {"idle_sleep_us", K_UINT, OFF(idle_sleep_us), 0, 100000},
    {"idle_poll_us", K_UINT, OFF(idle_poll_us), 0, 100000},
    {"eal_args", K_STR, OFF(eal_args)},
    {"checkpoint_interval", K_UINT, OFF(checkpoint_interval), 1, 86400},
    {"ledger_max", K_UINT, OFF(ledger_max), 16, 1000000},
    {"metrics_listen", K_STR, OFF(metrics_listen)},
    {"io_uring", K_CHOICE, OFF(io_uring), 0, 0, "auto|no"},
    {"vhost_socket_dirs", K_DIRS, OFF(vhost_socket_dirs)},
    {"vhost_tso_to_guest", K_CHOICE, OFF(vhost_tso_to_guest), 0, 0, "no|yes"},
    {"libvirt_uri", K_URI, OFF(libvirt_uri)},
    {"vhost_hotplug_dirs", K_DIRS, OFF(vhost_hotplug_dirs)},
    {"rxq_assign", K_CHOICE, OFF(rxq_assign), 0, 0, "cycles|roundrobin"},
    {"rxq_rebalance_interval_ms", K_UINT, OFF(rxq_rebalance_interval_ms), 0, 3600000},
    {"rxq_rebalance_threshold", K_UINT, OFF(rxq_rebalance_threshold), 1, 100},
};

static const struct key_desc *find_key(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int apply_key(struct vn_config *c, const struct key_desc *k, const char *val, GError **err)
{
	char *base = (char *)c + k->off;

	switch (k->type) {
	case K_STR: {
		char **p = (char **)base;
		g_free(*p);
		*p = *val ? g_strdup(val) : NULL;
		return 0;
	}
	case K_UINT: {
		guint64 v;
		if (!g_ascii_string_to_unsigned(val, 10, k->min, k->max, &v, NULL)) {
			g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "key '%s': '%s' is not a whole number from %u to %u", k->name,
				    val, k->min, k->max);
			return -EINVAL;
		}
		if (k->off == OFF(workers))
			*(int *)base = (int)v;
		else
			*(unsigned *)base = (unsigned)v;
		return 0;
	}
	case K_LEVEL: {
		int l = vn_log_parse_level(val);
		if (l < 0) {
			g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "key '%s': '%s' is not one of error|warning|info|debug",
				    k->name, val);
			return -EINVAL;
		}
		*(int *)base = l;
		return 0;
	}
	case K_DIRS: { /* ';'-separated absolute directories without '.' or '..' */
		g_auto(GStrv) v = g_strsplit(val, ";", -1);
		char **p = (char **)base;
		for (int i = 0; v[i]; i++) {
			g_strstrip(v[i]);
			for (size_t n = strlen(v[i]); n > 1 && v[i][n - 1] == '/'; n--)
				v[i][n - 1] = '\0';
			if (*v[i] && !vn_path_plain(v[i])) {
				g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
					    "key '%s': '%s' is not an absolute directory without "
					    "'.' or '..'",
					    k->name, v[i]);
				return -EINVAL;
			}
		}
		g_free(*p);
		*p = g_strdup(val);
		return 0;
	}
	case K_URI: { /* "" (off, kept as "") or a libvirt URI: scheme://... */
		char **p = (char **)base;
		const char *q = val;
		while (g_ascii_isalnum(*q) || *q == '+' || *q == '-' || *q == '.')
			q++;
		if (*val && (q == val || !g_ascii_isalpha(*val) || !g_str_has_prefix(q, "://") ||
			     strpbrk(val, " \t\n"))) {
			g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "key '%s': '%s' is not a libvirt URI (driver[+transport]://"
				    "[host]/path, e.g. qemu:///system) or empty (off)",
				    k->name, val);
			return -EINVAL;
		}
		g_free(*p);
		*p = g_strdup(val);
		return 0;
	}
	case K_CHOICE: {
		g_auto(GStrv) ch = g_strsplit(k->choices, "|", -1);
		if (!g_strv_contains((const char *const *)ch, val)) {
			g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "key '%s': '%s' is not one of %s", k->name, val, k->choices);
			return -EINVAL;
		}
		char **p = (char **)base;
		g_free(*p);
		*p = g_strdup(val);
		return 0;
	}
	}
	return -EINVAL;
}

int vn_config_load_data(struct vn_config *c, const char *data, gsize len, GError **err)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_auto(GStrv) groups = NULL;
	gsize ngroups = 0;

	if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, err))
		return -EINVAL;
	groups = g_key_file_get_groups(kf, &ngroups);
	for (gsize g = 0; g < ngroups; g++) {
		g_auto(GStrv) names = NULL;
		gsize nkeys = 0;

		if (strcmp(groups[g], "vnicd") != 0) {
			g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
				    "unknown group [%s] (expected [vnicd])", groups[g]);
			return -EINVAL;
		}
		names = g_key_file_get_keys(kf, groups[g], &nkeys, NULL);
		for (gsize i = 0; i < nkeys; i++) {
			const struct key_desc *k = find_key(names[i]);
			g_autofree char *val = NULL;

			if (!k) {
				g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
					    "unknown key '%s' in [vnicd]", names[i]);
				return -EINVAL;
			}
			val = g_key_file_get_string(kf, groups[g], names[i], err);
			if (!val)
				return -EINVAL;
			g_strstrip(val);
			if (apply_key(c, k, val, err) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

int vn_config_load_file(struct vn_config *c, const char *path, GError **err)
{
	g_autofree char *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, err))
		return -ENOENT;
	return vn_config_load_data(c, data, len, err);
}
