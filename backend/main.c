/* SPDX-License-Identifier: MIT */
/* vnicd: sets up DPDK EAL and the workers, then runs the control thread's GLib main loop. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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

/* "auto": use hugepages when hugetlbfs is mounted and enough 2 MiB pages are free. */
static bool hugepages_usable(unsigned need_mb)
{
	g_autofree char *mounts = NULL, *meminfo = NULL;
	const char *p;
	unsigned long free_pages = 0, size_kb = 2048;

	if (!g_file_get_contents("/proc/mounts", &mounts, NULL, NULL) ||
	    !strstr(mounts, " hugetlbfs "))
		return false;
	if (!g_file_get_contents("/proc/meminfo", &meminfo, NULL, NULL))
		return false;
	if ((p = strstr(meminfo, "HugePages_Free:")))
		free_pages = strtoul(p + strlen("HugePages_Free:"), NULL, 10);
	if ((p = strstr(meminfo, "Hugepagesize:")))
		size_kb = strtoul(p + strlen("Hugepagesize:"), NULL, 10);
	return free_pages * size_kb / 1024 >= need_mb;
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
	bool huge;

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
	else
		huge = hugepages_usable(need_mb);
	if (!huge) {
		g_ptr_array_add(a, g_strdup("--no-huge"));
		g_ptr_array_add(a, g_strdup_printf("-m%u", MAX(cfg->mem_mb, need_mb)));
	}
	VN_INFO("memory: %s", huge ? "hugepages" : "regular pages (no usable hugepages)");
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

int main(int argc, char **argv)
{
	struct opts o __attribute__((cleanup(opts_clear))) = {.workers = 0};
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config, "Configuration file (INI)",
	     "FILE"},
	    {"control-socket", 0, 0, G_OPTION_ARG_FILENAME, &o.control_socket,
	     "Control socket path", "PATH"},
	    {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.state_dir, "State directory", "DIR"},
	    {"file-prefix", 0, 0, G_OPTION_ARG_STRING, &o.file_prefix,
	     "DPDK --file-prefix (one per instance)", "NAME"},
	    {"workers", 'w', 0, G_OPTION_ARG_INT, &o.workers, "Data-path worker threads", "N"},
	    {"worker-cpus", 0, 0, G_OPTION_ARG_STRING, &o.worker_cpus,
	     "CPUs to pin workers to (comma list)", "LIST"},
	    {"log-level", 'l', 0, G_OPTION_ARG_STRING, &o.log_level,
	     "error, warning, info or debug", "LEVEL"},
	    {"version", 'V', 0, G_OPTION_ARG_NONE, &o.version, "Print the version", NULL},
	    {NULL}};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- vnicd, a NIC backend for VMs");
	g_autoptr(GError) err = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	g_autoptr(GPtrArray) eargs = NULL;
	g_autofree char **eal_av = NULL;
	g_autofree char *state_file = NULL, *ledger_file = NULL;
	struct vn_metrics *metrics = NULL;
	struct vn_config cfg;
	struct rte_mempool *mp = NULL;
	struct vn_dp *dp = NULL;
	struct vn_switch *sw = NULL;
	struct vn_ctl *ctl = NULL;
	unsigned lcore, w = 0;
	int lockfd = -1, rc = 1;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "vnicd: %s (see --help)\n", err->message);
		return 2;
	}
	if (o.version) {
		printf("vnicd %s\n", VNICD_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "vnicd: unexpected argument '%s' (see --help)\n", argv[1]);
		return 2;
	}
	vn_config_defaults(&cfg);
	if (o.config && vn_config_load_file(&cfg, o.config, &err) < 0) {
		fprintf(stderr, "vnicd: config %s: %s\n", o.config, err->message);
		return 2;
	}
	if (o.control_socket) {
		g_free(cfg.control_socket);
		cfg.control_socket = g_strdup(o.control_socket);
	}
	if (o.state_dir) {
		g_free(cfg.state_dir);
		cfg.state_dir = g_strdup(o.state_dir);
	}
	if (o.file_prefix) {
		g_free(cfg.file_prefix);
		cfg.file_prefix = g_strdup(o.file_prefix);
	}
	if (o.worker_cpus) {
		g_free(cfg.worker_cpus);
		cfg.worker_cpus = g_strdup(o.worker_cpus);
	}
	if (o.workers) {
		if (o.workers < 1 || o.workers > 16) {
			fprintf(stderr, "vnicd: --workers must be 1..16\n");
			return 2;
		}
		cfg.workers = o.workers;
	}
	if (o.log_level) {
		int l = vn_log_parse_level(o.log_level);
		if (l < 0) {
			fprintf(stderr,
				"vnicd: --log-level: '%s' is not error|warning|info|debug\n",
				o.log_level);
			return 2;
		}
		cfg.log_level = l;
	}
	vn_log_set_level(cfg.log_level);

	if (g_mkdir_with_parents(cfg.state_dir, 0750) != 0) {
		VN_ERR("cannot create state directory %s: %s", cfg.state_dir, g_strerror(errno));
		goto out;
	}
	lockfd = lock_state_dir(cfg.state_dir);
	if (lockfd < 0) {
		VN_ERR("state directory %s is locked by another vnicd (%s)", cfg.state_dir,
		       g_strerror(-lockfd));
		goto out;
	}
	eargs = eal_argv(&cfg, argv[0], &err);
	if (!eargs) {
		VN_ERR("eal_args: %s", err->message);
		goto out;
	}
	/* EAL permutes and overwrites its argv: give it a copy of the pointer array */
	eal_av = g_memdup2(eargs->pdata, sizeof(char *) * eargs->len);
	if (rte_eal_init((int)eargs->len - 1, eal_av) < 0) {
		VN_ERR("DPDK EAL initialisation failed%s%s (see the EAL messages above)",
		       rte_errno ? ": " : "", rte_errno ? rte_strerror(rte_errno) : "");
		goto out;
	}
	mp = rte_pktmbuf_pool_create("vn_mbufs", cfg.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     (int)rte_socket_id());
	if (!mp) {
		VN_ERR("cannot allocate %u packet buffers: %s", cfg.mbufs, rte_strerror(rte_errno));
		goto out_eal;
	}
	dp = vn_dp_create((unsigned)cfg.workers, cfg.idle_sleep_us);
	if (!dp) {
		VN_ERR("cannot create the data path: %s", g_strerror(errno));
		goto out_eal;
	}
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		if (w < (unsigned)cfg.workers)
			rte_eal_remote_launch(vn_dp_worker_run, vn_dp_worker(dp, w++), lcore);
	}
	loop = g_main_loop_new(NULL, FALSE);
	sw = vn_switch_new(&cfg, dp, mp);
	state_file = g_build_filename(cfg.state_dir, "state.json", NULL);
	ledger_file = g_build_filename(cfg.state_dir, "ledger.json", NULL);
	vn_switch_open_ledger(sw,
			      ledger_file); /* before the ports, so they continue their totals */
	if (vn_switch_restore(sw, state_file, &err) < 0)
		VN_WARN("state: %s", err ? err->message : "?");
	g_clear_error(&err);
	vn_switch_set_state_file(sw, state_file);
	ctl = vn_ctl_start(sw, cfg.control_socket, cfg.socket_group, cfg.max_clients, &err);
	if (!ctl) {
		VN_ERR("control socket: %s", err->message);
		goto out_stop;
	}
	if (cfg.metrics_listen && *cfg.metrics_listen) {
		metrics = vn_metrics_start(sw, cfg.metrics_listen, cfg.max_clients, &err);
		if (!metrics) {
			VN_ERR("Prometheus endpoint disabled: %s", err->message);
			g_clear_error(&err);
		} else {
			VN_INFO("Prometheus metrics at http://%s/metrics (port %u)",
				cfg.metrics_listen, vn_metrics_port(metrics));
		}
	}
	vn_switch_checkpoint(sw);
	g_timeout_add_seconds(cfg.checkpoint_interval, on_checkpoint, sw);
	g_unix_signal_add(SIGTERM, on_signal, loop);
	g_unix_signal_add(SIGINT, on_signal, loop);
	g_timeout_add_seconds(1, on_tick, sw);
	VN_INFO("vnicd %s ready: %d worker(s), control socket %s, state %s", VNICD_VERSION,
		cfg.workers, cfg.control_socket, cfg.state_dir);
	g_main_loop_run(loop);
	rc = 0;

	vn_ctl_stop(ctl);
	vn_metrics_stop(metrics);
	vn_capture_shutdown();
	if (vn_switch_save(sw, state_file, &err) < 0) {
		VN_ERR("saving state: %s", err->message);
		rc = 1;
	}
out_stop:
	vn_dp_stop(dp);
	rte_eal_mp_wait_lcore();
	/* the workers are stopped: this checkpoint holds every frame counted */
	if (vn_switch_checkpoint(sw) < 0)
		rc = 1;
	vn_switch_free(sw);
	vn_dp_free(dp);
out_eal:
	rte_mempool_free(mp);
	rte_eal_cleanup();
out:
	if (lockfd >= 0)
		close(lockfd);
	vn_config_clear(&cfg);
	if (rc == 0)
		VN_INFO("stopped");
	return rc;
}
