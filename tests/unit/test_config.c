/* SPDX-License-Identifier: MIT */
/* Configuration parsing: defaults, overrides, and refusal of bad keys and values. */
#include <string.h>

#include <glib.h>

#include "vnicd/config.h"
#include "vnicd/log.h"

static void test_defaults(void)
{
	struct vn_config c;

	vn_config_defaults(&c);
	g_assert_cmpstr(c.control_socket, ==, "/run/vnicd/vnicd.sock");
	g_assert_cmpstr(c.state_dir, ==, "/var/lib/vnicd");
	g_assert_cmpint(c.workers, ==, 1);
	g_assert_cmpuint(c.fdb_aging, ==, 300);
	g_assert_cmpuint(c.fdb_max, ==, 8192);
	g_assert_cmpstr(c.hugepages, ==, "auto");
	g_assert_cmpstr(c.rxq_assign, ==, "cycles");
	g_assert_cmpuint(c.rxq_rebalance_interval_ms, ==, 5000);
	g_assert_cmpuint(c.rxq_rebalance_threshold, ==, 25);
	g_assert_cmpuint(c.idle_poll_us, ==, 2000);
	vn_config_clear(&c);
}

static void test_overrides(void)
{
	struct vn_config c;
	g_autoptr(GError) err = NULL;
	const char *ini = "# comment\n[vnicd]\nworkers = 2\nfdb_aging=60\nlog_level = debug\n"
			  "control_socket=/tmp/x.sock\nhugepages=no\neal_args=--vdev net_null0\n"
			  "rxq_assign = roundrobin\nrxq_rebalance_interval_ms = 0\n";

	vn_config_defaults(&c);
	g_assert_cmpint(vn_config_load_data(&c, ini, strlen(ini), &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(c.workers, ==, 2);
	g_assert_cmpuint(c.fdb_aging, ==, 60);
	g_assert_cmpint(c.log_level, ==, VN_LOG_DEBUG);
	g_assert_cmpstr(c.control_socket, ==, "/tmp/x.sock");
	g_assert_cmpstr(c.hugepages, ==, "no");
	g_assert_cmpstr(c.eal_args, ==, "--vdev net_null0");
	g_assert_cmpstr(c.rxq_assign, ==, "roundrobin");
	g_assert_cmpuint(c.rxq_rebalance_interval_ms, ==, 0);
	g_assert_cmpstr(c.state_dir, ==, "/var/lib/vnicd"); /* untouched default */
	vn_config_clear(&c);
}

static void expect_bad(const char *ini, const char *needle)
{
	struct vn_config c;
	g_autoptr(GError) err = NULL;

	vn_config_defaults(&c);
	g_assert_cmpint(vn_config_load_data(&c, ini, strlen(ini), &err), <, 0);
	g_assert_nonnull(err);
	if (!strstr(err->message, needle))
		g_error("error '%s' does not mention '%s'", err->message, needle);
	vn_config_clear(&c);
}

static void test_bad(void)
{
	expect_bad("[vnicd]\nworkerz=2\n", "workerz");
	expect_bad("[vnicd]\nworkers=0\n", "workers");
	expect_bad("[vnicd]\nworkers=two\n", "two");
	expect_bad("[vnicd]\nfdb_max=-5\n", "fdb_max");
	expect_bad("[other]\nx=1\n", "other");
	expect_bad("[vnicd]\nlog_level=loud\n", "loud");
	expect_bad("[vnicd]\nhugepages=maybe\n", "maybe");
	expect_bad("[vnicd\nworkers=1\n", "");
	expect_bad("[vnicd]\nrxq_assign=random\n", "random");
	expect_bad("[vnicd]\nrxq_rebalance_threshold=0\n", "rxq_rebalance_threshold");
	expect_bad("[vnicd]\nrxq_rebalance_interval_ms=-1\n", "rxq_rebalance_interval_ms");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/overrides", test_overrides);
	g_test_add_func("/config/bad", test_bad);
	return g_test_run();
}
