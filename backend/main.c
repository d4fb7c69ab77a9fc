/* SPDX-License-Identifier: MIT */
/* vnicd: sets up DPDK EAL and the workers, then runs the control thread's GLib main loop. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "vnicd-config.h"
#include "vnicd/capture.h"
#include "vnicd/config.h"
#include "vnicd/ctl.h"
#include "vnicd/datapath.h"
#include "vnicd/log.h"
#include "vnicd/metrics.h"
#include "vnicd/switch.h"
#include "vnicd/vhost_hotplug.h"
#include "vnicd/virt_events.h"

struct opts {
	char *config;
	char *control_socket;
	char *state_dir;
	char *file_prefix;
	char *log_level;
	char *worker_cpus;
	int workers;
	gboolean version;
};

static void opts_clear(struct opts *o)
{
	g_free(o->config);
	g_free(o->control_socket);
	g_free(o->state_dir);
	g_free(o->file_prefix);
	g_free(o->log_level);
	g_free(o->worker_cpus);
}

static gboolean on_signal(gpointer ud)
{
	VN_INFO("signal received: shutting down");
	g_main_loop_quit(ud);
	return G_SOURCE_CONTINUE;
}

static gboolean on_tick(gpointer ud)
{
	vn_switch_tick(ud);
	return G_SOURCE_CONTINUE;
}

static gboolean on_checkpoint(gpointer ud)
{
	vn_switch_checkpoint(ud);
	return G_SOURCE_CONTINUE;
}

/*
 * "auto": a hugetlbfs mount of the default page size that this process may write (an
 * unprivileged vnicd has its own: README "Least privilege"), with enough free pages.
 * Return: its directory (g_free), or NULL: use regular pages.
 */
static char *hugepages_usable(unsigned need_mb)
{
	g_autofree char *mounts = NULL, *meminfo = NULL;
	g_auto(GStrv) lines = NULL;
	const char *p;
	unsigned long free_pages = 0, size_kb = 2048;

	if (!g_file_get_contents("/proc/mounts", &mounts, NULL, NULL) ||
	    !g_file_get_contents("/proc/meminfo", &meminfo, NULL, NULL))
		return NULL;
	if ((p = strstr(meminfo, "HugePages_Free:")))
		free_pages = strtoul(p + strlen("HugePages_Free:"), NULL, 10);
	if ((p = strstr(meminfo, "Hugepagesize:")))
		size_kb = strtoul(p + strlen("Hugepagesize:"), NULL, 10);
	if (free_pages * size_kb / 1024 < need_mb)
		return NULL;
	lines = g_strsplit(mounts, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], " ", 5);
		g_autofree char *want = g_strdup_printf("pagesize=%luM", size_kb / 1024);
		const char *ps;
		if (g_strv_length(f) < 4 || strcmp(f[2], "hugetlbfs") != 0)
			continue;
		ps = strstr(f[3], "pagesize=");
		if (ps && !g_str_has_prefix(ps, want))
			continue;
		if (access(f[1], W_OK | X_OK) == 0)
			return g_strcompress(f[1]); /* /proc/mounts escapes spaces as \040 */
	}
	return NULL;
}

/* Does @eal_args name the hugepage directory itself? */
static bool eal_args_huge_dir(const char *eal_args)
{
	return eal_args && strstr(eal_args, "--huge-dir");
}

static char *all_cpus(void)
{
	cpu_set_t set;
	GString *s = g_string_new(NULL);

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return g_string_free(s, FALSE);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			g_string_append_printf(s, "%s%d", s->len ? "," : "", c);
	return g_string_free(s, FALSE);
}

/* Does @eal_args allow-list PCI devices (-a ADDR, -aADDR, --allow ADDR)? */
static bool eal_args_allow_pci(const char *eal_args)
{
	g_auto(GStrv) v = NULL;

	if (!eal_args || !g_shell_parse_argv(eal_args, NULL, &v, NULL))
		return false;
	for (int i = 0; v[i]; i++)
		if (g_str_has_prefix(v[i], "-a") || g_str_has_prefix(v[i], "--allow"))
			return true;
	return false;
}

/* Build DPDK's argument vector from the configuration. */
static GPtrArray *eal_argv(const struct vn_config *cfg, const char *prog, GError **err)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *cpus = all_cpus();
	g_auto(GStrv) wcpus = cfg->worker_cpus ? g_strsplit(cfg->worker_cpus, ",", -1) : NULL;
	GString *lc = g_string_new(NULL);
	unsigned need_mb = cfg->mbufs / 400 + 96; /* ~2.4 KiB a buffer, plus tables */
	g_autofree char *huge_dir = NULL;
	bool huge = false;

	g_ptr_array_add(a, g_strdup(prog));
	g_ptr_array_add(a, g_strdup_printf("--file-prefix=%s", cfg->file_prefix));
	g_string_append_printf(lc, "0@(%s)", cfg->main_cpus ? cfg->main_cpus : cpus);
	for (int w = 0; w < cfg->workers; w++) {
		const char *wc = cpus;
		if (wcpus && wcpus[0] && *wcpus[0])
			wc = wcpus[w % g_strv_length(wcpus)];
		g_string_append_printf(lc, ",%d@(%s)", w + 1, wc);
	}
	g_ptr_array_add(a, g_strdup("--lcores"));
	g_ptr_array_add(a, g_string_free(lc, FALSE));
	/* no PCI scan unless eal_args allow-lists devices (uplinks on real NICs: -a ADDR) */
	if (!eal_args_allow_pci(cfg->eal_args))
		g_ptr_array_add(a, g_strdup("--no-pci"));
	g_ptr_array_add(a, g_strdup("--no-telemetry"));
	if (strcmp(cfg->hugepages, "yes") == 0)
		huge = true;
	else if (strcmp(cfg->hugepages, "no") == 0)
		huge = false;
	else if (eal_args_huge_dir(cfg->eal_args))
		huge = true;
	else if ((huge_dir = hugepages_usable(need_mb))) {
		huge = true;
		g_ptr_array_add(a, g_strdup("--huge-dir"));
		g_ptr_array_add(a, g_strdup(huge_dir));
	}
	if (!huge) {
		g_ptr_array_add(a, g_strdup("--no-huge"));
		g_ptr_array_add(a, g_strdup_printf("-m%u", MAX(cfg->mem_mb, need_mb)));
	}
	VN_INFO("memory: %s%s%s", huge ? "hugepages" : "regular pages (no usable hugepages)",
		huge_dir ? " in " : "", huge_dir ? huge_dir : "");
	g_ptr_array_add(
	    a, g_strdup_printf("--log-level=*:%s", cfg->log_level >= VN_LOG_DEBUG  ? "info"
						   : cfg->log_level >= VN_LOG_INFO ? "warning"
										   : "error"));
	if (cfg->eal_args) {
		g_auto(GStrv) extra = NULL;
		if (!g_shell_parse_argv(cfg->eal_args, NULL, &extra, err)) {
			g_ptr_array_free(a, TRUE);
			return NULL;
		}
		for (int i = 0; extra[i]; i++)
			g_ptr_array_add(a, g_strdup(extra[i]));
	}
	g_ptr_array_add(a, NULL);
	return a;
}

static int lock_state_dir(const char *dir)
{
	g_autofree char *lock = g_build_filename(dir, "vnicd.lock", NULL);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Everything main() starts, stopped in the reverse order. */
struct daemon {
	struct vn_config cfg;
	int lockfd;
	GPtrArray *eargs;
	char **eal_av;
	struct rte_mempool *mp;
	struct vn_dp *dp;
	GMainLoop *loop;
	struct vn_switch *sw;
	char *state_file, *ledger_file;
	struct vn_ctl *ctl;
	struct vn_metrics *metrics;
	struct vn_virt *virt;
	struct vn_hotplug *hotplug;
};

/* Free what the control thread allocated for @d (the unwind labels in main() do the rest). */
static void daemon_clear(struct daemon *d)
{
	g_clear_pointer(&d->loop, g_main_loop_unref);
	g_clear_pointer(&d->eargs, g_ptr_array_unref);
	g_free(d->eal_av);
	g_free(d->state_file);
	g_free(d->ledger_file);
}

/* Parse the command line into @o. Return: true to go on, false to exit with *@rc. */
static bool parse_options(struct opts *o, int *argc, char ***argv, int *rc)
{
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &o->config, "Configuration file (INI)",
	     "FILE"},
	    {"control-socket", 0, 0, G_OPTION_ARG_FILENAME, &o->control_socket,
	     "Control socket path", "PATH"},
	    {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->state_dir, "State directory", "DIR"},
	    {"file-prefix", 0, 0, G_OPTION_ARG_STRING, &o->file_prefix,
	     "DPDK --file-prefix (one per instance)", "NAME"},
	    {"workers", 'w', 0, G_OPTION_ARG_INT, &o->workers, "Data-path worker threads", "N"},
	    {"worker-cpus", 0, 0, G_OPTION_ARG_STRING, &o->worker_cpus,
	     "CPUs to pin workers to (comma list)", "LIST"},
	    {"log-level", 'l', 0, G_OPTION_ARG_STRING, &o->log_level,
	     "error, warning, info or debug", "LEVEL"},
	    {"version", 'V', 0, G_OPTION_ARG_NONE, &o->version, "Print the version", NULL},
	    {NULL}};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- vnicd, a NIC backend for VMs");
	g_autoptr(GError) err = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &err)) {
		fprintf(stderr, "vnicd: %s (see --help)\n", err->message);
		*rc = 2;
		return false;
	}
	if (o->version) {
		printf("vnicd %s\n", VNICD_VERSION);
		*rc = 0;
		return false;
	}
	if (*argc > 1) {
		fprintf(stderr, "vnicd: unexpected argument '%s' (see --help)\n", (*argv)[1]);
		*rc = 2;
		return false;
	}
	return true;
}

/* Replace the string *@dst with a copy of @opt when the option was given. */
static void override_str(char **dst, const char *opt)
{
	if (opt) {
		g_free(*dst);
		*dst = g_strdup(opt);
	}
}

/* Load the config file, apply the command-line options over it, set the log level. Return: 0/-1 */
static int load_config(struct vn_config *cfg, const struct opts *o)
{
	g_autoptr(GError) err = NULL;

	vn_config_defaults(cfg);
	if (o->config && vn_config_load_file(cfg, o->config, &err) < 0) {
		fprintf(stderr, "vnicd: config %s: %s\n", o->config, err->message);
		return -1;
	}
	override_str(&cfg->control_socket, o->control_socket);
	override_str(&cfg->state_dir, o->state_dir);
	override_str(&cfg->file_prefix, o->file_prefix);
	override_str(&cfg->worker_cpus, o->worker_cpus);
	if (o->workers) {
		if (o->workers < 1 || o->workers > 16) {
			fprintf(stderr, "vnicd: --workers must be 1..16\n");
			return -1;
		}
		cfg->workers = o->workers;
	}
	if (o->log_level) {
		int l = vn_log_parse_level(o->log_level);
		if (l < 0) {
			fprintf(stderr,
				"vnicd: --log-level: '%s' is not error|warning|info|debug\n",
				o->log_level);
			return -1;
		}
		cfg->log_level = l;
	}
	vn_log_set_level(cfg->log_level);
	return 0;
}

/* Create the state directory and take its lock (one vnicd per directory). Return: 0 or -1. */
static int open_state_dir(struct daemon *d)
{
	if (g_mkdir_with_parents(d->cfg.state_dir, 0750) != 0) {
		VN_ERR("cannot create state directory %s: %s", d->cfg.state_dir, g_strerror(errno));
		return -1;
	}
	d->lockfd = lock_state_dir(d->cfg.state_dir);
	if (d->lockfd < 0) {
		VN_ERR("state directory %s is locked by another vnicd (%s)", d->cfg.state_dir,
		       g_strerror(-d->lockfd));
		return -1;
	}
	return 0;
}

/* Initialise DPDK's EAL with the arguments built from the configuration. Return: 0 or -1. */
static int init_eal(struct daemon *d, const char *prog)
{
	g_autoptr(GError) err = NULL;

	d->eargs = eal_argv(&d->cfg, prog, &err);
	if (!d->eargs) {
		VN_ERR("eal_args: %s", err->message);
		return -1;
	}
	/* EAL permutes and overwrites its argv: give it a copy of the pointer array */
	d->eal_av = g_memdup2(d->eargs->pdata, sizeof(char *) * d->eargs->len);
	if (rte_eal_init((int)d->eargs->len - 1, d->eal_av) < 0) {
		VN_ERR("DPDK EAL initialisation failed%s%s (see the EAL messages above)",
		       rte_errno ? ": " : "", rte_errno ? rte_strerror(rte_errno) : "");
		return -1;
	}
	return 0;
}

/* Create the packet buffers and the data path, and launch the workers on their lcores. */
static int start_data_path(struct daemon *d)
{
	unsigned lcore, w = 0;

	d->mp = rte_pktmbuf_pool_create("vn_mbufs", d->cfg.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					(int)rte_socket_id());
	if (!d->mp) {
		VN_ERR("cannot allocate %u packet buffers: %s", d->cfg.mbufs,
		       rte_strerror(rte_errno));
		return -1;
	}
	d->dp = vn_dp_create((unsigned)d->cfg.workers, d->cfg.idle_sleep_us);
	if (!d->dp) {
		VN_ERR("cannot create the data path: %s", g_strerror(errno));
		return -1;
	}
	vn_dp_set_idle_poll(d->dp, d->cfg.idle_poll_us);
	vn_dp_rxq_config(
	    d->dp, strcmp(d->cfg.rxq_assign, "roundrobin") == 0 ? VN_RXQ_ROUNDROBIN : VN_RXQ_CYCLES,
	    d->cfg.rxq_rebalance_threshold);
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		if (w < (unsigned)d->cfg.workers)
			rte_eal_remote_launch(vn_dp_worker_run, vn_dp_worker(d->dp, w++), lcore);
	}
	return 0;
}

/* Create the switch, open its ledger and restore its state from the state directory. */
static void start_switch(struct daemon *d)
{
	g_autoptr(GError) err = NULL;

	d->sw = vn_switch_new(&d->cfg, d->dp, d->mp);
	d->state_file = g_build_filename(d->cfg.state_dir, "state.json", NULL);
	d->ledger_file = g_build_filename(d->cfg.state_dir, "ledger.json", NULL);
	/* before the ports, so they continue their totals */
	vn_switch_open_ledger(d->sw, d->ledger_file);
	if (vn_switch_restore(d->sw, d->state_file, &err) < 0)
		VN_WARN("state: %s", err ? err->message : "?");
	vn_switch_set_state_file(d->sw, d->state_file);
}

/* Start the control socket and, when configured, the Prometheus endpoint. */
static int start_control(struct daemon *d)
{
	g_autoptr(GError) err = NULL;
	const struct vn_config *cfg = &d->cfg;

	d->ctl = vn_ctl_start(d->sw, cfg->control_socket, cfg->socket_group, cfg->max_clients,
			      cfg->ctl_idle_timeout, &err);
	if (!d->ctl) {
		VN_ERR("control socket: %s", err->message);
		return -1;
	}
	if (cfg->metrics_listen && *cfg->metrics_listen) {
		d->metrics = vn_metrics_start(d->sw, cfg->metrics_listen, cfg->max_clients, &err);
		if (!d->metrics) {
			VN_ERR("Prometheus endpoint disabled: %s", err->message);
			g_clear_error(&err);
		} else if (g_str_has_prefix(cfg->metrics_listen, "unix:")) {
			VN_INFO("Prometheus metrics at /metrics on Unix socket %s (mode 0660)",
				cfg->metrics_listen + 5);
		} else {
			VN_INFO("Prometheus metrics at http://%s/metrics (port %u)",
				cfg->metrics_listen, vn_metrics_port(d->metrics));
		}
	}
	return 0;
}

/* Sample the rx queues' loads; with rxq_rebalance_interval_ms, re-balance them too. */
static gboolean on_rxq_tick(gpointer ud)
{
	struct daemon *d = ud;

	vn_dp_rxq_tick(d->dp, d->cfg.rxq_rebalance_interval_ms != 0);
	return G_SOURCE_CONTINUE;
}

/* Checkpoint, arm the timers and signals, and run the main loop until SIGTERM or SIGINT. */
static void run_main_loop(struct daemon *d)
{
	vn_switch_checkpoint(d->sw);
	vn_switch_ledger_flush(d->sw); /* the ledger exists (a new one, a damaged one replaced) */
	g_timeout_add_seconds(d->cfg.checkpoint_interval, on_checkpoint, d->sw);
	g_unix_signal_add(SIGTERM, on_signal, d->loop);
	g_unix_signal_add(SIGINT, on_signal, d->loop);
	/* a capture reader that goes away is EPIPE on that capture, not the end of vnicd */
	signal(SIGPIPE, SIG_IGN);
	g_timeout_add_seconds(1, on_tick, d->sw);
	/* loads are sampled every 5 s when queues are never re-balanced (stats --json) */
	g_timeout_add(d->cfg.rxq_rebalance_interval_ms ? d->cfg.rxq_rebalance_interval_ms : 5000,
		      on_rxq_tick, d);
	VN_INFO("vnicd %s ready: %d worker(s), control socket %s, state %s", VNICD_VERSION,
		d->cfg.workers, d->cfg.control_socket, d->cfg.state_dir);
	g_main_loop_run(d->loop);
}

/* Stop the control plane and save the state. Return: 0, or 1 when saving failed. */
static int stop_control(struct daemon *d)
{
	g_autoptr(GError) err = NULL;

	vn_ctl_stop(d->ctl);
	vn_metrics_stop(d->metrics);
	vn_capture_shutdown();
	vn_switch_set_state_file(d->sw, NULL); /* its pending save made, its thread gone */
	if (vn_switch_save(d->sw, d->state_file, &err) < 0) {
		VN_ERR("saving state: %s", err->message);
		return 1;
	}
	return 0;
}

/* Stop the workers, write the last checkpoint, free the switch and the data path.
 * Return: 0, or -1 when the checkpoint failed. */
static int stop_data_path(struct daemon *d)
{
	int rc = 0;

	vn_dp_stop(d->dp);
	rte_eal_mp_wait_lcore();
	/* the workers are stopped: this checkpoint holds every frame counted */
	if (vn_switch_checkpoint(d->sw) < 0 || vn_switch_ledger_close(d->sw) < 0)
		rc = -1;
	vn_switch_free(d->sw);
	vn_dp_free(d->dp);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o __attribute__((cleanup(opts_clear))) = {.workers = 0};
	struct daemon d __attribute__((cleanup(daemon_clear))) = {.lockfd = -1};
	int rc = 1;

	if (!parse_options(&o, &argc, &argv, &rc))
		return rc;
	vn_log_init();
	if (load_config(&d.cfg, &o) < 0)
		return 2;
	if (open_state_dir(&d) < 0 || init_eal(&d, argv[0]) < 0)
		goto out;
	if (start_data_path(&d) < 0)
		goto out_eal;
	d.loop = g_main_loop_new(NULL, FALSE);
	start_switch(&d);
	if (start_control(&d) < 0)
		goto out_stop;
	/* after the control socket: the listener applies requests as a client would */
	d.virt = vn_virt_start(d.sw, d.cfg.libvirt_uri);
	d.hotplug = vn_hotplug_start(d.sw, d.cfg.vhost_hotplug_dirs);
	run_main_loop(&d);
	vn_hotplug_stop(d.hotplug);
	vn_virt_stop(d.virt);
	rc = stop_control(&d);
out_stop:
	if (stop_data_path(&d) < 0)
		rc = 1;
out_eal:
	rte_mempool_free(d.mp);
	rte_eal_cleanup();
out:
	if (d.lockfd >= 0)
		close(d.lockfd);
	vn_config_clear(&d.cfg);
	if (rc == 0)
		VN_INFO("stopped");
	return rc;
}
