/* SPDX-License-Identifier: MIT */
/* Daemon configuration: GKeyFile INI, group [vnicd]; every key has an embedded default. */
#ifndef VNICD_CONFIG_H
#define VNICD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

/**
 * struct vn_config - every setting of the daemon. Strings are owned (g_free'd by
 * vn_config_clear()). Command-line flags override what the file says.
 */
struct vn_config {
	char *control_socket;	   /* control_socket = /run/vnicd/vnicd.sock */
	char *socket_group;	   /* socket_group = (none): group owning the socket, mode 0660 */
	char *state_dir;	   /* state_dir = /var/lib/vnicd */
	char *file_prefix;	   /* file_prefix = vnicd: DPDK --file-prefix */
	int workers;		   /* workers = 1 */
	char *worker_cpus;	   /* worker_cpus = (none): CPU list to pin workers to, e.g. "1" */
	char *main_cpus;	   /* main_cpus = (none): CPU list of the control thread */
	int log_level;		   /* log_level = info */
	char *hugepages;	   /* hugepages = auto | yes | no */
	unsigned mem_mb;	   /* mem_mb = 512: memory when running without hugepages */
	unsigned mbufs;		   /* mbufs = 32767: packet buffers in the pool */
	unsigned max_ports;	   /* max_ports = 256 */
	unsigned max_nets;	   /* max_nets = 64 */
	unsigned max_clients;	   /* max_clients = 32: concurrent control connections */
	unsigned ctl_idle_timeout; /* ctl_idle_timeout = 60: seconds a control client may go
				      without a complete request before it is closed (0 = never) */
	unsigned fdb_max;	   /* fdb_max = 8192: entries per bridge */
	unsigned fdb_aging;	   /* fdb_aging = 300: seconds */
	unsigned evpn_restart_grace; /* = 30: seconds EVPN keeps a mirror entry found at start */
	unsigned
	    fdb_max_per_port;	 /* fdb_max_per_port = 1024: dynamic entries of one port, 0 none */
	unsigned fdb_learn_rate; /* fdb_learn_rate = 1000: new MACs/s of one port, 0 none */
	unsigned idle_sleep_us;	 /* idle_sleep_us = 1000: longest worker sleep when idle (0 = busy
				    poll) */
	unsigned idle_poll_us;	 /* idle_poll_us = 0: longest adaptive poll of an idle worker before
				    it sleeps (0 = off) */
	char *eal_args;		 /* eal_args = (none): extra DPDK EAL arguments */
	unsigned checkpoint_interval; /* checkpoint_interval = 10: seconds between ledger writes */
	unsigned ledger_max;	      /* ledger_max = 4096: accounting ledger entries */
	char *metrics_listen;	      /* metrics_listen = 127.0.0.1:9469 ("" = off) */
	char
	    *io_uring; /* io_uring = auto | no: TAP/vnet ports use io_uring where the host allows */
	char *vhost_tso_to_guest; /* = no | yes: offer GUEST_TSO4/6 (vn_vhost_params) */
	char *vhost_socket_dirs;  /* vhost_socket_dirs = /run/vnicd: ';'-separated directories
				     where server-mode sockets may be created ("" = none) */
	char *rxq_assign; /* rxq_assign = cycles | roundrobin: rx queues placed on workers by
			     measured load (and re-balanced) or by count */
	unsigned rxq_rebalance_interval_ms; /* rxq_rebalance_interval_ms = 5000 (0 = never) */
	unsigned rxq_rebalance_threshold;   /* rxq_rebalance_threshold = 25: least gain (% of
					       the busiest worker's load) worth moving queues */
	char *libvirt_uri; /* libvirt_uri = (auto): NULL = qemu:///system when libvirtd's socket
			      exists, "" = no libvirt listener, else that URI */
	char *vhost_hotplug_dirs; /* vhost_hotplug_dirs = (none): ';'-separated directories
				     watched for sockets QEMU binds (vhost_hotplug.h) */
};

/** vn_config_defaults() - fill @c with the embedded defaults. */
void vn_config_defaults(struct vn_config *c);

/**
 * vn_config_load_data() - apply the INI text @data over what @c holds.
 * Unknown keys and groups are errors (a typo must not pass silently).
 * Return: 0, or -EINVAL with @err set.
 */
int vn_config_load_data(struct vn_config *c, const char *data, gsize len, GError **err);

/** vn_config_load_file() - vn_config_load_data() on a file's contents. Return: 0 or -errno. */
int vn_config_load_file(struct vn_config *c, const char *path, GError **err);

/** vn_config_clear() - free the strings of @c. */
void vn_config_clear(struct vn_config *c);

#endif
