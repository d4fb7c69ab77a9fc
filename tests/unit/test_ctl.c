/* SPDX-License-Identifier: MIT */
/* Control protocol: well-formed requests and every kind of malformed input, without sockets. */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vnicd/confine.h"
#include "vnicd/ctl.h"
#include "vnicd/metrics.h"

static struct vn_config cfg;

static JsonObject *ask(struct vn_switch *sw, const char *line, JsonParser *p)
{
	g_autofree char *resp = vn_ctl_handle_line(sw, line, strlen(line));
	g_autoptr(GError) err = NULL;

	g_assert_nonnull(resp);
	g_assert_null(strchr(resp, '\n')); /* one line */
	g_assert_true(json_parser_load_from_data(p, resp, -1, &err));
	return json_node_get_object(json_parser_get_root(p));
}

static void expect_error(struct vn_switch *sw, const char *line, const char *needle)
{
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o = ask(sw, line, p);
	const char *msg;

	g_assert_false(json_object_get_boolean_member(o, "ok"));
	msg = json_object_get_string_member(o, "error");
	if (!strstr(msg, needle))
		g_error("request %s: error '%s' does not mention '%s'", line, msg, needle);
}

static void expect_ok(struct vn_switch *sw, const char *line)
{
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o = ask(sw, line, p);

	if (!json_object_get_boolean_member(o, "ok"))
		g_error("request %s failed: %s", line, json_object_get_string_member(o, "error"));
}

static void test_malformed(void)
{
	struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);

	expect_error(sw, "{not json", "malformed JSON");
	expect_error(sw, "[1,2]", "JSON object");
	expect_error(sw, "\"port.add\"", "JSON object");
	expect_error(sw, "{}", "cmd");
	expect_error(sw, "{\"cmd\": 5}", "cmd");
	expect_error(sw, "{\"cmd\": \"nope\"}", "unknown command 'nope'");
	expect_error(sw, "{\"cmd\": \"net.add\", \"args\": 3}", "args");
	expect_error(sw, "{\"cmd\": \"net.add\", \"args\": {}}", "missing argument 'name'");
	expect_error(sw, "{\"cmd\": \"net.add\", \"args\": {\"name\": 1, \"type\": \"bridge\"}}",
		     "must be a string");
	expect_error(sw,
		     "{\"cmd\": \"net.add\", \"args\": {\"name\": \"a b\", \"type\": \"bridge\"}}",
		     "invalid network name");
	expect_error(sw, "{\"cmd\": \"net.add\", \"args\": {\"name\": \"x\", \"type\": \"hub\"}}",
		     "unsupported network type 'hub'");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"p\", \"kind\": \"vhost\", "
		     "\"path\": \"/tmp/p\", \"queues\": \"x\"}}",
		     "whole number");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"p\", \"kind\": \"vhost\", "
		     "\"path\": \"/tmp/p\", \"queues\": 99}}",
		     "out of range");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"p\", \"kind\": \"vhost\", "
		     "\"path\": \"/tmp/p\", \"server\": \"yes\"}}",
		     "true or false");
	expect_error(sw, "\xff\xfe", "UTF-8");
	vn_switch_free(sw);
}

static void test_semantics(void)
{
	struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o;

	expect_ok(sw, "{\"cmd\": \"ping\"}");
	expect_ok(sw,
		  "{\"cmd\": \"net.add\", \"args\": {\"name\": \"br0\", \"type\": \"bridge\"}}");
	expect_error(sw,
		     "{\"cmd\": \"net.add\", \"args\": {\"name\": \"br0\", \"type\": \"bridge\"}}",
		     "already exists");
	expect_ok(sw, "{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm1\", \"kind\": \"vhost\", "
		      "\"path\": \"/tmp/vm1.sock\", \"mac\": \"02:00:00:00:00:01\"}}");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm1\", \"kind\": \"vhost\", "
		     "\"path\": \"/tmp/vm2.sock\"}}",
		     "already exists");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm2\", \"kind\": \"vhost\", "
		     "\"path\": \"/tmp/vm1.sock\"}}",
		     "already used by port 'vm1'");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm2\", \"kind\": \"vhost\", "
		     "\"path\": \"/tmp/vm2.sock\", \"mac\": \"02:00:00:00:00\"}}",
		     "invalid MAC");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm2\", \"kind\": \"vhost\", "
		     "\"path\": \"/tmp/vm2.sock\", \"mac\": \"ff:ff:ff:ff:ff:ff\"}}",
		     "not a unicast");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm2\", \"kind\": \"vhost\", "
		     "\"path\": \"/tmp/vm2.sock\", \"net\": \"nonet\"}}",
		     "no network 'nonet'");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm2\", \"kind\": \"tape\", "
		     "\"path\": \"/tmp/vm2.sock\"}}",
		     "unsupported port kind");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm2\", \"kind\": \"vhost\"}}",
		     "--path");
	expect_error(sw, "{\"cmd\": \"net.del\", \"args\": {\"name\": \"br0\"}}",
		     "still has 1 port");
	expect_error(sw, "{\"cmd\": \"port.del\", \"args\": {\"name\": \"ghost\"}}",
		     "no port 'ghost'");
	expect_error(sw, "{\"cmd\": \"fdb.add\", \"args\": {\"mac\": \"zz\", \"port\": \"vm1\"}}",
		     "invalid MAC");
	expect_error(
	    sw,
	    "{\"cmd\": \"fdb.add\", \"args\": {\"mac\": \"02:00:00:00:00:09\", \"port\": \"x\"}}",
	    "no port 'x'");
	expect_ok(sw, "{\"cmd\": \"fdb.add\", \"args\": {\"mac\": \"02:00:00:00:00:09\", \"port\": "
		      "\"vm1\"}}");
	o = ask(sw, "{\"cmd\": \"port.list\"}", p);
	g_assert_true(json_object_get_boolean_member(o, "ok"));
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(o, "result")), ==, 1);
	expect_ok(sw, "{\"cmd\": \"port.del\", \"args\": {\"name\": \"vm1\"}}");
	expect_ok(sw, "{\"cmd\": \"net.del\", \"args\": {\"name\": \"br0\"}}");
	vn_switch_free(sw);
}

static void test_limits(void)
{
	struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);

	for (unsigned i = 0; i < cfg.max_nets; i++) {
		g_autofree char *req = g_strdup_printf(
		    "{\"cmd\": \"net.add\", \"args\": {\"name\": \"n%u\", \"type\": \"bridge\"}}",
		    i);
		expect_ok(sw, req);
	}
	expect_error(sw,
		     "{\"cmd\": \"net.add\", \"args\": {\"name\": \"more\", \"type\": \"bridge\"}}",
		     "limit");
	vn_switch_free(sw);
}

static void test_persistence(void)
{
	g_autofree char *dir = g_dir_make_tmp("vnicd-ctl-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "state.json", NULL);
	g_autofree char *bad = g_strdup_printf("%s.bad", path);
	g_autofree char *latest = g_strdup_printf("%s.latest-8", path);
	g_autofree char *torn = g_strdup_printf("%s.latest-9", path);
	struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o;

	/* no file: the default network appears */
	g_assert_cmpint(vn_switch_restore(sw, path, NULL), ==, 0);
	vn_switch_set_state_file(sw, path);
	expect_ok(sw,
		  "{\"cmd\": \"net.add\", \"args\": {\"name\": \"blue\", \"type\": \"bridge\"}}");
	expect_ok(sw, "{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"kind\": \"vhost\", "
		      "\"path\": \"/run/vnicd/a.sock\", \"server\": true, \"queues\": 2, \"net\": "
		      "\"blue\"}}");
	vn_switch_free(sw);

	sw = vn_switch_new(&cfg, NULL, NULL);
	g_assert_cmpint(vn_switch_restore(sw, path, NULL), ==, 0);
	o = ask(sw, "{\"cmd\": \"port.show\", \"args\": {\"name\": \"a\"}}", p);
	g_assert_true(json_object_get_boolean_member(o, "ok"));
	o = json_object_get_object_member(o, "result");
	g_assert_cmpstr(json_object_get_string_member(o, "net"), ==, "blue");
	g_assert_true(json_object_get_boolean_member(o, "server"));
	g_assert_cmpint(json_object_get_int_member(o, "queues"), ==, 2);
	/* killed before its last change was durable: the newest complete PATH.latest-N wins */
	expect_ok(sw,
		  "{\"cmd\": \"net.add\", \"args\": {\"name\": \"red\", \"type\": \"bridge\"}}");
	g_assert_cmpint(vn_switch_save(sw, latest, NULL), ==, 0);
	g_assert_true(g_file_set_contents(torn, "{\"version\": 1, \"gener", -1, NULL));
	vn_switch_free(sw);
	sw = vn_switch_new(&cfg, NULL, NULL);
	g_assert_cmpint(vn_switch_restore(sw, path, NULL), ==, 0);
	expect_error(sw,
		     "{\"cmd\": \"net.add\", \"args\": {\"name\": \"red\", \"type\": \"bridge\"}}",
		     "already exists");
	g_assert_false(g_file_test(latest, G_FILE_TEST_EXISTS) ||
		       g_file_test(torn, G_FILE_TEST_EXISTS));
	vn_switch_free(sw);

	/* a corrupt file is kept aside and vnicd starts from defaults */
	g_assert_true(g_file_set_contents(path, "{\"version\": 1, \"nets\": [", -1, NULL));
	sw = vn_switch_new(&cfg, NULL, NULL);
	g_assert_cmpint(vn_switch_restore(sw, path, NULL), ==, 0);
	g_assert_true(g_file_test(bad, G_FILE_TEST_EXISTS));
	expect_error(sw,
		     "{\"cmd\": \"net.add\", \"args\": {\"name\": \"br0\", \"type\": \"bridge\"}}",
		     "already exists");
	vn_switch_free(sw);
	g_unlink(bad);
	g_unlink(path);
	g_rmdir(dir);
}

/* Networks with uplinks, macvtap modes, net.set and port.set --reflective-relay (no DPDK). */
static void test_uplinks(void)
{
	g_autofree char *dir = g_dir_make_tmp("vnicd-ctl-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "state.json", NULL);
	struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o;

#define NET_ADD(json) "{\"cmd\": \"net.add\", \"args\": " json "}"
#define MVT_PORT(n, extra)                                                                         \
	"{\"cmd\": \"port.add\", \"args\": {\"name\": \"" n "\", \"kind\": \"vhost\", \"path\": "  \
	"\"/tmp/" n ".sock\", \"net\": \"mv\"" extra "}}"
	vn_switch_set_state_file(sw, path);
	expect_error(sw, NET_ADD("{\"name\": \"mv\", \"type\": \"macvtap\"}"), "need --uplink");
	expect_error(sw, NET_ADD("{\"name\": \"b\", \"type\": \"bridge\", \"mode\": \"vepa\"}"),
		     "apply to macvtap");
	expect_error(
	    sw,
	    NET_ADD("{\"name\": \"mv\", \"type\": \"macvtap\", \"uplink\": \"x\", \"mode\": "
		    "\"hub\"}"),
	    "unknown --mode 'hub'");
	expect_error(sw,
		     NET_ADD("{\"name\": \"mv\", \"type\": \"macvtap\", \"uplink\": \"x\", "
			     "\"hairpin\": \"maybe\"}"),
		     "unknown --hairpin");
	expect_error(
	    sw,
	    NET_ADD("{\"name\": \"mv\", \"type\": \"macvtap\", \"uplink\": \"x\", \"mode\": "
		    "\"passthru\", \"hairpin\": \"emulated\"}"),
	    "not with --mode passthru");
	expect_error(sw,
		     NET_ADD("{\"name\": \"mv\", \"type\": \"macvtap\", \"uplink\": \"x\", "
			     "\"nopromisc\": true}"),
		     "--nopromisc applies to --mode passthru");
	expect_error(sw, NET_ADD("{\"name\": \"mv\", \"type\": \"macvtap\", \"uplink\": \"a b\"}"),
		     "no spaces");
	expect_error(
	    sw,
	    NET_ADD("{\"name\": \"mv\", \"type\": \"macvtap\", \"uplink\": \"x\", \"colour\": "
		    "1}"),
	    "--colour does not apply");
	expect_error(sw,
		     NET_ADD("{\"name\": \"a-network-name-of-25chars\", \"type\": \"bridge\", "
			     "\"uplink\": \"x\"}"),
		     "too long for its uplink port");
	/* --uplink IFNAME: an existing kernel interface, with a known driver */
	expect_error(sw,
		     NET_ADD("{\"name\": \"b\", \"type\": \"bridge\", \"uplink\": \"nosuch0\"}"),
		     "'nosuch0': no such interface");
	expect_error(sw,
		     NET_ADD("{\"name\": \"b\", \"type\": \"bridge\", \"uplink\": \"lo\", "
			     "\"uplink_driver\": \"pcap\"}"),
		     "af_packet or af_xdp");
	expect_error(sw,
		     NET_ADD("{\"name\": \"b\", \"type\": \"bridge\", \"uplink\": "
			     "\"net_tap0\", \"uplink_driver\": \"af_xdp\"}"),
		     "goes with --uplink IFNAME");
	expect_ok(sw, NET_ADD("{\"name\": \"mv\", \"type\": \"macvtap\", \"uplink\": "
			      "\"net_af_packet0,iface=eth9\", \"hairpin\": \"emulated\"}"));
	expect_error(sw,
		     NET_ADD("{\"name\": \"mv2\", \"type\": \"macvtap\", \"uplink\": "
			     "\"net_af_packet0,iface=eth9\"}"),
		     "already the uplink of network 'mv'");
	o = ask(sw, "{\"cmd\": \"net.show\", \"args\": {\"name\": \"mv\"}}", p);
	o = json_object_get_object_member(o, "result");
	g_assert_cmpstr(json_object_get_string_member(o, "uplink"), ==, "mv-uplink");
	g_assert_cmpstr(json_object_get_string_member(o, "mode"), ==, "vepa");
	g_assert_cmpstr(json_object_get_string_member(o, "hairpin"), ==, "emulated");
	g_assert_cmpint(json_object_get_int_member(o, "ports"), ==, 1);
	/* the uplink is a port like any other, but goes only with its network */
	expect_error(sw, "{\"cmd\": \"port.del\", \"args\": {\"name\": \"mv-uplink\"}}",
		     "vnicctl net del mv");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"u\", \"kind\": \"uplink\", "
		     "\"devargs\": \"net_tap0\"}}",
		     "made with their network");
	/* macvtap ports: a unicast MAC each, unique; the mode changes only without ports */
	expect_error(sw, MVT_PORT("g1", ""), "need --mac");
	expect_ok(sw, MVT_PORT("g1", ", \"mac\": \"02:00:00:00:00:01\""));
	expect_error(sw, MVT_PORT("g2", ", \"mac\": \"02:00:00:00:00:01\""),
		     "already used by port 'g1'");
	expect_error(sw,
		     MVT_PORT("g2", ", \"mac\": \"02:00:00:00:00:02\", \"reflective_relay\": true"),
		     "applies to ports of bridge networks");
	expect_error(
	    sw, "{\"cmd\": \"port.set\", \"args\": {\"name\": \"g1\", \"reflective_relay\": true}}",
	    "applies to ports of bridge networks");
	expect_error(sw, "{\"cmd\": \"fdb.flush\", \"args\": {\"net\": \"mv\"}}", "not flushed");
	expect_error(sw,
		     "{\"cmd\": \"fdb.add\", \"args\": {\"mac\": \"02:00:00:00:00:09\", "
		     "\"port\": \"g1\"}}",
		     "macvtap network");
	expect_error(sw,
		     "{\"cmd\": \"net.set\", \"args\": {\"name\": \"mv\", \"mode\": \"bridge\"}}",
		     "has 1 port(s) attached");
	expect_error(sw, "{\"cmd\": \"net.set\", \"args\": {\"name\": \"mv\"}}", "nothing to set");
	expect_ok(
	    sw, "{\"cmd\": \"net.set\", \"args\": {\"name\": \"mv\", \"hairpin\": \"external\"}}");
	expect_error(sw, "{\"cmd\": \"net.del\", \"args\": {\"name\": \"mv\"}}",
		     "still has 1 port");
	expect_ok(sw, "{\"cmd\": \"port.del\", \"args\": {\"name\": \"g1\"}}");
	expect_ok(sw,
		  "{\"cmd\": \"net.set\", \"args\": {\"name\": \"mv\", \"mode\": \"passthru\"}}");
	expect_ok(sw, MVT_PORT("p1", ", \"mac\": \"02:00:00:00:00:05\""));
	expect_error(sw, MVT_PORT("p2", ", \"mac\": \"02:00:00:00:00:06\""), "passthru mode");
	/* bridge network with an uplink; reflective relay on its uplink */
	expect_ok(sw,
		  NET_ADD("{\"name\": \"adj\", \"type\": \"bridge\", \"uplink\": \"net_tap0\"}"));
	expect_ok(sw, "{\"cmd\": \"port.set\", \"args\": {\"name\": \"adj-uplink\", "
		      "\"reflective_relay\": true}}");
	expect_error(
	    sw, "{\"cmd\": \"net.set\", \"args\": {\"name\": \"adj\", \"hairpin\": \"emulated\"}}",
	    "apply to macvtap networks");
	vn_switch_free(sw);

	/* all of it comes back after a restart */
	sw = vn_switch_new(&cfg, NULL, NULL);
	g_assert_cmpint(vn_switch_restore(sw, path, NULL), ==, 0);
	o = ask(sw, "{\"cmd\": \"net.show\", \"args\": {\"name\": \"mv\"}}", p);
	o = json_object_get_object_member(o, "result");
	g_assert_cmpstr(json_object_get_string_member(o, "mode"), ==, "passthru");
	g_assert_cmpint(json_object_get_int_member(o, "ports"), ==, 2);
	o = ask(sw, "{\"cmd\": \"port.show\", \"args\": {\"name\": \"adj-uplink\"}}", p);
	o = json_object_get_object_member(o, "result");
	g_assert_true(json_object_get_boolean_member(o, "reflective_relay"));
	g_assert_cmpstr(json_object_get_string_member(o, "kind"), ==, "uplink");
	expect_ok(sw, "{\"cmd\": \"port.del\", \"args\": {\"name\": \"p1\"}}");
	expect_ok(sw, "{\"cmd\": \"net.del\", \"args\": {\"name\": \"mv\"}}");
	expect_error(sw, "{\"cmd\": \"port.show\", \"args\": {\"name\": \"mv-uplink\"}}",
		     "no port");
	vn_switch_free(sw);
#undef NET_ADD
#undef MVT_PORT
	g_unlink(path);
	g_rmdir(dir);
}

#define NET_ADD(json) "{\"cmd\": \"net.add\", \"args\": " json "}"
#define OV_ADD(extra)                                                                              \
	NET_ADD("{\"name\": \"ov\", \"type\": \"overlay\", \"underlay\": \"ul\", " extra "}")

/* Overlay networks: their arguments checked, shown, changed and saved (no data path here). */
static void test_overlays(void)
{
	struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o;

	expect_ok(sw,
		  NET_ADD("{\"name\": \"ul\", \"type\": \"bridge\", \"uplink\": \"net_tap9\"}"));
	expect_error(sw, OV_ADD("\"encap\": \"vxlan\", \"local\": \"10.0.0.1\""), "--vni");
	expect_error(sw, OV_ADD("\"vni\": 5, \"local\": \"10.0.0.1\""), "needs --type");
	expect_error(sw, OV_ADD("\"encap\": \"stt\", \"vni\": 5, \"local\": \"10.0.0.1\""),
		     "unknown --type 'stt'");
	expect_error(sw, OV_ADD("\"encap\": \"vxlan\", \"vni\": 16777216, \"local\": \"10.0.0.1\""),
		     "vni");
	expect_error(sw, OV_ADD("\"encap\": \"vxlan\", \"vni\": 5, \"local\": \"10.0.0.300\""),
		     "invalid --local");
	expect_error(sw,
		     OV_ADD("\"encap\": \"nvgre\", \"vni\": 5, \"local\": \"10.0.0.1\", "
			    "\"dstport\": 9"),
		     "--dstport does not apply to nvgre");
	expect_error(sw,
		     OV_ADD("\"encap\": \"vxlan\", \"vni\": 5, \"local\": \"10.0.0.1\", "
			    "\"remote\": \"fd00::2\""),
		     "invalid --remote 'fd00::2'");
	expect_error(sw,
		     OV_ADD("\"encap\": \"vxlan\", \"vni\": 5, \"local\": \"10.0.0.1\", "
			    "\"uplink\": \"net_tap8\""),
		     "an overlay has no --uplink");
	expect_error(sw,
		     NET_ADD("{\"name\": \"ov\", \"type\": \"overlay\", \"underlay\": \"nope\", "
			     "\"encap\": \"vxlan\", \"vni\": 5, \"local\": \"10.0.0.1\"}"),
		     "no network 'nope'");
	expect_ok(sw, OV_ADD("\"encap\": \"geneve\", \"vni\": 5, \"local\": \"fd00::1\", "
			     "\"remote\": \"fd00::2,fd00::3\", \"mtu\": 9000"));
	o = ask(sw, "{\"cmd\": \"net.show\", \"args\": {\"name\": \"ov\"}}", p);
	o = json_object_get_object_member(o, "result");
	g_assert_cmpstr(json_object_get_string_member(o, "encap"), ==, "geneve");
	g_assert_cmpint(json_object_get_int_member(o, "dstport"), ==, 6081);
	g_assert_cmpint(json_object_get_int_member(o, "guest_mtu"), ==, 9000 - 70);
	expect_ok(sw, "{\"cmd\": \"port.add\", \"args\": {\"name\": \"g1\", \"kind\": \"vhost\", "
		      "\"path\": \"/tmp/ov-g1.sock\", \"net\": \"ov\", \"vni\": 7}}");
	expect_error(sw,
		     "{\"cmd\": \"port.add\", \"args\": {\"name\": \"g2\", \"kind\": \"vhost\", "
		     "\"path\": \"/tmp/ov-g2.sock\", \"net\": \"ul\", \"vni\": 7}}",
		     "applies to ports of overlay networks");
	expect_error(sw, "{\"cmd\": \"port.set\", \"args\": {\"name\": \"g1\", \"vni\": 0}}",
		     "vni");
	expect_error(sw, "{\"cmd\": \"net.set\", \"args\": {\"name\": \"ov\", \"remote\": \"x\"}}",
		     "invalid --remote 'x'");
	expect_ok(sw,
		  "{\"cmd\": \"net.set\", \"args\": {\"name\": \"ov\", \"remote\": \"fd00::4\"}}");
	expect_error(
	    sw, "{\"cmd\": \"net.set\", \"args\": {\"name\": \"ul\", \"remote\": \"fd00::4\"}}",
	    "apply to overlay networks");
	expect_error(sw,
		     "{\"cmd\": \"vtep.add\", \"args\": {\"net\": \"ul\", \"mac\": "
		     "\"02:00:00:00:00:01\", \"ip\": \"fd00::2\"}}",
		     "VTEP entries belong to overlays");
	expect_error(sw,
		     "{\"cmd\": \"vtep.add\", \"args\": {\"net\": \"ov\", \"mac\": "
		     "\"01:00:00:00:00:01\", \"ip\": \"fd00::2\"}}",
		     "invalid MAC");
	expect_error(sw,
		     "{\"cmd\": \"vtep.add\", \"args\": {\"net\": \"ov\", \"mac\": "
		     "\"02:00:00:00:00:01\", \"ip\": \"10.0.0.2\"}}",
		     "of --local's family");
	expect_ok(sw, "{\"cmd\": \"vtep.add\", \"args\": {\"net\": \"ov\", \"mac\": "
		      "\"02:00:00:00:00:01\", \"ip\": \"fd00::2\"}}");
	expect_error(sw,
		     "{\"cmd\": \"vtep.del\", \"args\": {\"net\": \"ov\", \"mac\": "
		     "\"02:00:00:00:00:02\"}}",
		     "no static VTEP entry");
	expect_ok(sw, "{\"cmd\": \"vtep.show\", \"args\": {\"net\": \"ov\"}}");
	expect_error(sw, "{\"cmd\": \"net.del\", \"args\": {\"name\": \"ul\"}}",
		     "the underlay of overlay 'ov'");
	expect_ok(sw, "{\"cmd\": \"port.del\", \"args\": {\"name\": \"g1\"}}");
	expect_ok(sw, "{\"cmd\": \"net.del\", \"args\": {\"name\": \"ov\"}}");
	expect_ok(sw, "{\"cmd\": \"net.del\", \"args\": {\"name\": \"ul\"}}");
	vn_switch_free(sw);
}

/* Uplink devargs: only drivers and options that open no file as root (validation-only mode). */
static void test_devargs(void)
{
	struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);
	static const char *const ok[] = {
	    "net_af_packet0,iface=eth9,qpairs=2,blocksz=4096,framesz=2048,framecnt=512,"
	    "qdisc_bypass=1,fanout_mode=hash",
	    "net_af_xdp1,iface=eth9,start_queue=0,queue_count=1,shared_umem=1,busy_budget=0,"
	    "force_copy=1",
	    "net_tap3,iface=vt0,mac=fixed,persist",
	    "net_tap",
	    "net_memif0,role=server,socket=/run/vnicd-bench-memif.sock,id=0",
	    "net_memif1,socket=/run/vnicd/m.sock,socket-abstract=no",
	    "0000:01:00.0",
	    "01:00.1",
	    "wire:w1/0",
	    "wire:W-2_x/1",
	};
	static const struct {
		const char *devargs, *needle;
	} bad[] = {
	    {"net_pcap0,tx_pcap=/etc/passwd", "device 'net_pcap0' is not allowed"},
	    {"net_pcap0,iface=eth9", "not allowed"},
	    {"net_ring0", "device 'net_ring0' is not allowed"},
	    {"net_null0", "not allowed"},
	    {"eth_af_packet0,iface=eth9", "not allowed"},
	    {"net_af_packetX,iface=eth9", "not allowed"},
	    {"net_af_packet0,iface=eth9,colour=red", "option 'colour' is not allowed"},
	    {"net_af_packet0,iface=eth9,=1", "option '' is not allowed"},
	    {"net_af_xdp0,iface=eth9,xdp_prog=/tmp/x.o", "option 'xdp_prog' is not allowed"},
	    {"net_af_xdp0,iface=eth9,uds_path=/tmp/x.sock", "option 'uds_path' is not allowed"},
	    {"net_tap0,remote=eth0", "option 'remote' is not allowed"},
	    {"net_memif0,role=server", "needs socket=/run/vnicd"},
	    {"net_memif0,socket=/tmp/m.sock", "must be a clean path under /run/"},
	    {"net_memif0,socket=/run/vnicd/../m.sock", "must be a clean path"},
	    {"net_memif0,socket=/run/vnicd", "must be a clean path"},
	    {"net_memif0,socket=/run/vnicd.sock,owner-uid=0", "option 'owner-uid' is not allowed"},
	    {"0000:01:00.0,safe-mode-support=1", "a PCI device takes no options"},
	    {"0000:01:00.8", "not allowed"},
	    {"1:00.0", "not allowed"},
	    {"vdev:net_af_packet0,iface=eth9", "not allowed"},
	    {"bus=pci,addr=0000:01:00.0", "not allowed"},
	    {"wire:w1", "wire:NAME/0 or wire:NAME/1"},
	    {"wire:w1/2", "wire:NAME/0 or wire:NAME/1"},
	    {"wire:/1", "1-15 characters"},
	    {"wire:sixteen-chars-xy/0", "1-15 characters"},
	    {"wire:a,b/0", "letters, digits"},
	    {"wire:../x/0", "letters, digits"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		g_autofree char *add = g_strdup_printf(
		    "{\"cmd\": \"net.add\", \"args\": {\"name\": \"u\", \"type\": \"bridge\", "
		    "\"uplink\": \"%s\"}}",
		    ok[i]);
		expect_ok(sw, add);
		expect_ok(sw, "{\"cmd\": \"net.del\", \"args\": {\"name\": \"u\"}}");
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *add = g_strdup_printf(
		    "{\"cmd\": \"net.add\", \"args\": {\"name\": \"u\", \"type\": \"bridge\", "
		    "\"uplink\": \"%s\"}}",
		    bad[i].devargs);
		expect_error(sw, add, bad[i].needle);
	}
	/* the refusal says what is allowed */
	expect_error(sw,
		     "{\"cmd\": \"net.add\", \"args\": {\"name\": \"u\", \"type\": \"macvtap\", "
		     "\"uplink\": \"net_pcap0,tx_pcap=/etc/passwd\"}}",
		     "allowed: net_af_packetN, net_af_xdpN, net_tapN, net_memifN");
	expect_error(sw,
		     "{\"cmd\": \"net.add\", \"args\": {\"name\": \"u\", \"type\": \"bridge\", "
		     "\"uplink\": \"net_ring0\"}}",
		     "or a wire's end wire:NAME/0 or wire:NAME/1");
	vn_switch_free(sw);
}

#define VHOST_ADD(path, server)                                                                    \
	"{\"cmd\": \"port.add\", \"args\": {\"name\": \"s\", \"kind\": \"vhost\", \"path\": "      \
	"\"" path "\", \"server\": " server "}}"

/* Server-mode sockets only inside vhost_socket_dirs; client paths anywhere. */
static void test_socket_dirs(void)
{
	struct vn_config c2;
	struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);
	g_autoptr(GError) err = NULL;

	g_assert_cmpstr(cfg.vhost_socket_dirs, ==, "/run/vnicd");
	expect_ok(sw,
		  "{\"cmd\": \"net.add\", \"args\": {\"name\": \"br0\", \"type\": \"bridge\"}}");
	expect_error(sw, VHOST_ADD("/tmp/s.sock", "true"),
		     "outside the directories vnicd may create sockets in (vhost_socket_dirs = "
		     "/run/vnicd)");
	expect_error(sw, VHOST_ADD("/dev/log", "true"), "outside the directories");
	expect_error(sw, VHOST_ADD("/run/vnicdX/s.sock", "true"), "outside the directories");
	expect_error(sw, VHOST_ADD("/run/vnicd", "true"), "outside the directories");
	expect_error(sw, VHOST_ADD("/run/vnicd/../s.sock", "true"), "without '.', '..'");
	expect_error(sw, VHOST_ADD("/run/vnicd//s.sock", "true"), "without '.', '..'");
	expect_ok(sw, VHOST_ADD("/run/vnicd/s.sock", "true"));
	expect_ok(sw, "{\"cmd\": \"port.del\", \"args\": {\"name\": \"s\"}}");
	expect_ok(sw, VHOST_ADD("/run/vnicd/sub/s.sock", "true"));
	expect_ok(sw, "{\"cmd\": \"port.del\", \"args\": {\"name\": \"s\"}}");
	expect_ok(sw, VHOST_ADD("/tmp/s.sock", "false")); /* client mode: vnicd only connects */
	expect_ok(sw, "{\"cmd\": \"port.del\", \"args\": {\"name\": \"s\"}}");
	vn_switch_free(sw);

	/* the setting: ';'-separated, blanks and a trailing '/' tolerated, "" allows none */
	vn_config_defaults(&c2);
	g_assert_cmpint(
	    vn_config_load_data(&c2, "[vnicd]\nvhost_socket_dirs = /srv/a/; /srv/b\n", -1, NULL),
	    ==, 0);
	g_assert_cmpint(vn_socket_path_allowed("/srv/a/x.sock", c2.vhost_socket_dirs, NULL), ==, 0);
	g_assert_cmpint(vn_socket_path_allowed("/srv/b/c/x.sock", c2.vhost_socket_dirs, NULL), ==,
			0);
	g_assert_cmpint(vn_socket_path_allowed("/run/vnicd/x.sock", c2.vhost_socket_dirs, NULL), ==,
			-EPERM);
	g_assert_cmpint(
	    vn_config_load_data(&c2, "[vnicd]\nvhost_socket_dirs = /srv/../etc\n", -1, &err), ==,
	    -EINVAL);
	g_assert_nonnull(strstr(err->message, "vhost_socket_dirs"));
	g_clear_error(&err);
	g_assert_cmpint(vn_config_load_data(&c2, "[vnicd]\nvhost_socket_dirs = run\n", -1, NULL),
			==, -EINVAL);
	g_assert_cmpint(vn_config_load_data(&c2, "[vnicd]\nvhost_socket_dirs =\n", -1, NULL), ==,
			0);
	g_assert_cmpint(vn_socket_path_allowed("/run/vnicd/x.sock", c2.vhost_socket_dirs, NULL), ==,
			-EPERM);
	vn_config_clear(&c2);

	g_assert_true(vn_path_plain("/"));
	g_assert_true(vn_path_plain("/run/vnicd/a.sock"));
	g_assert_true(vn_path_plain("/run/vnicd/..a"));
	g_assert_false(vn_path_plain("run/vnicd"));
	g_assert_false(vn_path_plain("/run/vnicd/"));
	g_assert_false(vn_path_plain("/run/./vnicd"));
	g_assert_false(vn_path_plain("/run/vnicd/.."));
	g_assert_false(vn_path_plain(""));
}

/* Bind an AF_UNIX socket of @type at @path; listen when @listen. Return: the fd. */
static int bound(const char *path, int type, bool listen_too)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	if (listen_too)
		g_assert_cmpint(listen(fd, 1), ==, 0);
	return fd;
}

/* What vnicd finds at a server path: only a stale stream socket is removed; symlinks resolved. */
static void test_stale_socket(void)
{
	g_autofree char *dir = g_dir_make_tmp("vnicd-sock-XXXXXX", NULL);
	g_autofree char *dgram = g_build_filename(dir, "log", NULL);
	g_autofree char *live = g_build_filename(dir, "live.sock", NULL);
	g_autofree char *stale = g_build_filename(dir, "stale.sock", NULL);
	g_autofree char *file = g_build_filename(dir, "file", NULL);
	g_autofree char *link = g_build_filename(dir, "link.sock", NULL);
	g_autofree char *out = g_dir_make_tmp("vnicd-out-XXXXXX", NULL);
	g_autofree char *esc = g_build_filename(dir, "escape", NULL);
	g_autofree char *esc_sock = g_build_filename(esc, "x.sock", NULL);
	g_autoptr(GError) err = NULL;
	struct stat st;
	int fd_dgram, fd_live, fd_stale;

	g_assert_cmpint(vn_stale_socket_remove(dgram, NULL), ==, 0); /* nothing there */
	fd_dgram = bound(dgram, SOCK_DGRAM, false); /* like /dev/log: EPROTOTYPE to a stream */
	g_assert_cmpint(vn_stale_socket_remove(dgram, &err), ==, -EEXIST);
	g_assert_nonnull(strstr(err->message, "not a stale vhost-user socket"));
	g_clear_error(&err);
	g_assert_cmpint(lstat(dgram, &st), ==, 0);
	fd_live = bound(live, SOCK_STREAM, true);
	g_assert_cmpint(vn_stale_socket_remove(live, NULL), ==, -EADDRINUSE);
	g_assert_cmpint(lstat(live, &st), ==, 0);
	fd_stale = bound(stale, SOCK_STREAM, false); /* bound, nobody listening: refused */
	g_assert_true(g_file_set_contents(file, "keep", -1, NULL));
	g_assert_cmpint(vn_stale_socket_remove(file, NULL), ==, -EEXIST);
	g_assert_cmpint(symlink(stale, link), ==, 0);
	g_assert_cmpint(vn_stale_socket_remove(link, NULL), ==, -EEXIST); /* not followed */
	g_assert_cmpint(lstat(link, &st), ==, 0);
	g_assert_cmpint(vn_stale_socket_remove(stale, NULL), ==, 0);
	g_assert_cmpint(lstat(stale, &st), ==, -1);
	g_assert_cmpint(lstat(file, &st), ==, 0);

	/* a symlinked directory inside an allowed one that leads outside is refused */
	g_assert_cmpint(symlink(out, esc), ==, 0);
	g_assert_cmpint(vn_socket_path_allowed(esc_sock, dir, NULL), ==, 0); /* by name */
	g_assert_cmpint(vn_socket_path_resolved(esc_sock, dir, &err), ==, -EPERM);
	g_clear_error(&err);
	g_assert_cmpint(vn_socket_path_resolved(live, dir, NULL), ==, 0);

	close(fd_dgram);
	close(fd_live);
	close(fd_stale);
	g_unlink(esc);
	g_rmdir(out);
	g_unlink(link);
	g_unlink(file);
	g_unlink(live);
	g_unlink(dgram);
	g_rmdir(dir);
}

/* A ledger of @n entries (each its own VM) plus @live ports attached to some of them. */
static struct vn_switch *big_ledger(const char *dir, unsigned n, unsigned live)
{
	g_autofree char *path = g_build_filename(dir, "ledger.json", NULL);
	g_autoptr(GString) s = g_string_new("{\"version\": 1, \"written\": 0, \"entries\": [");
	static struct vn_config big;
	struct vn_switch *sw;

	big = cfg;
	big.ledger_max = 1000000;
	big.max_ports = 1024;
	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(
		    s,
		    "%s{\"port\": \"p%u\", \"vm_uuid\": "
		    "\"%08x-0000-4000-8000-000000000000\", \"vm_name\": \"vm%u\", "
		    "\"updated\": 0, \"counters\": {\"rx_packets\": %u}}",
		    i ? "," : "", i, i, i, i);
	g_string_append(s, "]}");
	g_assert_true(g_file_set_contents(path, s->str, -1, NULL));
	sw = vn_switch_new(&big, NULL, NULL);
	vn_switch_open_ledger(sw, path);
	g_unlink(path);
	expect_ok(sw, "{\"cmd\": \"net.add\", \"args\": {\"name\": \"br0\", \"type\": "
		      "\"bridge\"}}");
	for (unsigned i = 0; i < live; i++) {
		g_autofree char *req = g_strdup_printf(
		    "{\"cmd\": \"port.add\", \"args\": {\"name\": \"p%u\", \"kind\": \"vhost\", "
		    "\"path\": \"/run/vnicd/p%u.sock\", \"server\": true, "
		    "\"vm_uuid\": \"%08x-0000-4000-8000-000000000000\"}}",
		    i, i, i);
		expect_ok(sw, req);
	}
	return sw;
}

/* Renders the exposition of a @n-entry ledger: every VM's series exactly once with its value.
 * Returns the seconds it took (reported, never asserted: speed lives in tests/bench/). */
static double check_metrics(struct vn_switch *sw, unsigned n)
{
	gint64 t0 = g_get_monotonic_time();
	g_autofree char *text = vn_switch_metrics(sw);
	double dt = (g_get_monotonic_time() - t0) / 1e6;

	for (unsigned i = 0; i < n; i += n / 50) {
		g_autofree char *want =
		    g_strdup_printf("vnicd_vm_rx_packets_total{vm_uuid=\"%08x-0000-4000-8000-"
				    "000000000000\",vm_name=\"vm%u\"} %u\n",
				    i, i, i);
		const char *hit = strstr(text, want);

		g_assert_nonnull(hit);
		g_assert_null(strstr(hit + 1, want));
	}
	return dt;
}

/* A scrape of a big ledger with live ports is complete and has no duplicate series. The
 * times are printed (meson test -v ctl) for the linear-scrape fix; not asserted. */
static void test_metrics_scale(void)
{
	g_autofree char *dir = g_dir_make_tmp("vnicd-metrics-XXXXXX", NULL);
	struct vn_switch *half = big_ledger(dir, 2500, 500);
	struct vn_switch *full = big_ledger(dir, 5000, 1000);
	double t_half = check_metrics(half, 2500);
	double t_full = check_metrics(full, 5000);

	g_test_message("metrics: 2500 entries %.1f ms, 5000 entries %.1f ms", t_half * 1e3,
		       t_full * 1e3);
	vn_switch_free(half);
	vn_switch_free(full);
	g_rmdir(dir);
}

/* json-glib 1.6 recurses once per level: a deep line is refused before it is parsed. */
static void test_nesting(void)
{
	struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);
	g_autofree char *deep = g_strnfill(100000, '[');
	g_autofree char *deep_obj = NULL;
	GString *at_limit = g_string_new("{\"cmd\": \"ping\", \"args\": {\"x\": ");
	g_autofree char *at_limit_s = NULL;

	expect_error(sw, deep, "nested deeper than 32");
	/* objects count as much as arrays */
	{
		GString *o = g_string_new(NULL);
		for (int i = 0; i < 1000; i++)
			g_string_append(o, "{\"a\":");
		deep_obj = g_string_free(o, FALSE);
	}
	expect_error(sw, deep_obj, "nested deeper than 32");
	/* brackets inside strings, escaped quotes included, are not nesting */
	expect_error(sw,
		     "{\"cmd\": \"nope\", \"args\": {\"s\": \"\\\"[[[[[[[[[[[[[[[[[[[[[[[["
		     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\\\"}}",
		     "unknown command 'nope'");
	/* 32 levels are fine: 2 here plus 30 arrays */
	for (int i = 0; i < 30; i++)
		g_string_append_c(at_limit, '[');
	for (int i = 0; i < 30; i++)
		g_string_append_c(at_limit, ']');
	g_string_append(at_limit, "}}");
	at_limit_s = g_string_free(at_limit, FALSE);
	expect_ok(sw, at_limit_s);
	/* one more is not */
	{
		g_autofree char *over = NULL;
		GString *o = g_string_new("{\"cmd\": \"ping\", \"args\": {\"x\": ");
		for (int i = 0; i < 31; i++)
			g_string_append_c(o, '[');
		for (int i = 0; i < 31; i++)
			g_string_append_c(o, ']');
		g_string_append(o, "}}");
		over = g_string_free(o, FALSE);
		expect_error(sw, over, "nested deeper than 32");
	}
	vn_switch_free(sw);
}

/* One read of @text with descriptors @fds (none when @n is 0) into @f. */
static void frame_push(struct vn_ctl_frame *f, const char *text, const int *fds, unsigned n)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {(void *)text, strlen(text)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n) {
		struct cmsghdr *cm;
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	vn_ctl_frame_push(f, &mh, strlen(text));
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Lines across reads, descriptors for the next request, untaken ones closed, the limit. */
static void test_framing(void)
{
	struct vn_ctl_frame f;
	const char *line;
	g_autofree char *big = g_malloc(VN_CTL_MAX_LINE + 2);
	int p[2], q[2];

	g_assert_cmpint(pipe(p), ==, 0);
	g_assert_cmpint(pipe(q), ==, 0);
	vn_ctl_frame_init(&f);
	frame_push(&f, "{\"cmd\":\"pi", p, 2); /* two: the last is kept */
	g_assert_cmpint(vn_ctl_frame_next(&f, &line), ==, 0);
	g_assert_false(fd_open(p[0]));
	g_assert_cmpint(f.fd, ==, p[1]);
	frame_push(&f, "ng\"}\n\n{\"cmd\":\"ping\"}\n{\"c", NULL, 0);
	g_assert_cmpint(vn_ctl_frame_next(&f, &line), ==, 14);
	g_assert_cmpmem(line, 14, "{\"cmd\":\"ping\"}", 14);
	g_assert_cmpint(f.fd, ==, p[1]); /* the first request's, not taken */
	g_assert_cmpint(vn_ctl_frame_next(&f, &line), ==, 14);
	g_assert_cmpint(f.fd, ==, -1);
	g_assert_false(fd_open(p[1]));
	g_assert_cmpint(vn_ctl_frame_next(&f, &line), ==, 0);
	frame_push(&f, "md\":\"ping\"}\n", q, 1);
	g_assert_cmpint(vn_ctl_frame_next(&f, &line), ==, 14);
	f.fd = -1; /* taken by the request */
	g_assert_cmpint(vn_ctl_frame_next(&f, &line), ==, 0);
	g_assert_true(fd_open(q[0]));
	close(q[0]);
	frame_push(&f, "{", q + 1, 1); /* a partial request's descriptor goes with the stream */
	vn_ctl_frame_clear(&f);
	g_assert_false(fd_open(q[1]));

	memset(big, 'a', VN_CTL_MAX_LINE + 1); /* one byte over, no newline yet */
	big[VN_CTL_MAX_LINE + 1] = '\0';
	vn_ctl_frame_init(&f);
	frame_push(&f, big + 1, NULL, 0); /* exactly the limit: more is needed */
	g_assert_cmpint(vn_ctl_frame_next(&f, &line), ==, 0);
	frame_push(&f, "\n", NULL, 0);
	g_assert_cmpint(vn_ctl_frame_next(&f, &line), ==, VN_CTL_MAX_LINE);
	frame_push(&f, big, NULL, 0);
	g_assert_cmpint(vn_ctl_frame_next(&f, &line), ==, -E2BIG);
	vn_ctl_frame_clear(&f);
}

/* The metrics endpoint's request parser, in reads of any split. */
static void test_http(void)
{
	static const struct {
		const char *req;
		enum vn_http_route r;
	} cases[] = {
	    {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", VN_HTTP_METRICS},
	    {"GET /metrics?x=1 HTTP/1.0\n\n", VN_HTTP_METRICS},
	    {"GET /metricsx HTTP/1.0\n\n", VN_HTTP_NOT_FOUND},
	    {"GET / HTTP/1.0\r\n\r\n", VN_HTTP_NOT_FOUND},
	    {"POST /metrics HTTP/1.0\r\n\r\n", VN_HTTP_BAD_METHOD},
	    {"GET /metrics HTTP/1.0\r\n", VN_HTTP_MORE},
	};
	g_autoptr(GString) big = g_string_new(NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		for (size_t split = 1; split <= strlen(cases[i].req); split++) {
			g_autoptr(GString) req = g_string_new(NULL);
			const char *s = cases[i].req;
			enum vn_http_route r = VN_HTTP_MORE;
			for (size_t off = 0; off < strlen(s) && r == VN_HTTP_MORE; off += split)
				r = vn_metrics_http_feed(req, s + off, MIN(split, strlen(s) - off));
			g_assert_cmpint(r, ==, cases[i].r);
		}
	g_string_append(big, "GET /metrics HTTP/1.0\r\nX: ");
	while (big->len < VN_METRICS_REQ_MAX - 4)
		g_string_append_c(big, 'a');
	g_string_append(big, "\r\n\r\nbody after the header, past the limit");
	for (size_t split = 1000; split <= big->len; split += 3000) {
		g_autoptr(GString) req = g_string_new(NULL);
		enum vn_http_route r = VN_HTTP_MORE;
		for (size_t off = 0; off < big->len && r == VN_HTTP_MORE; off += split)
			r = vn_metrics_http_feed(req, big->str + off, MIN(split, big->len - off));
		g_assert_cmpint(r, ==, VN_HTTP_METRICS); /* the header ends within the limit */
	}
	g_string_truncate(big, VN_METRICS_REQ_MAX - 3); /* its end one byte past the limit */
	g_string_append(big, "\r\n\r\n");
	{
		g_autoptr(GString) req = g_string_new(NULL);
		g_assert_cmpint(vn_metrics_http_feed(req, big->str, big->len), ==,
				VN_HTTP_TOO_LONG);
	}
	{
		g_autoptr(GString) out = g_string_new(NULL);
		vn_metrics_http_reply(out, VN_HTTP_METRICS, "a 1\n");
		g_assert_nonnull(strstr(out->str, "HTTP/1.0 200 OK\r\n"));
		g_assert_nonnull(strstr(out->str, "Content-Length: 4\r\n"));
		g_assert_true(g_str_has_suffix(out->str, "\r\n\r\na 1\n"));
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	vn_config_defaults(&cfg);
	cfg.max_nets = 8;
	g_test_add_func("/ctl/malformed", test_malformed);
	g_test_add_func("/ctl/nesting", test_nesting);
	g_test_add_func("/ctl/semantics", test_semantics);
	g_test_add_func("/ctl/limits", test_limits);
	g_test_add_func("/ctl/persistence", test_persistence);
	g_test_add_func("/ctl/uplinks", test_uplinks);
	g_test_add_func("/ctl/overlays", test_overlays);
	g_test_add_func("/ctl/devargs", test_devargs);
	g_test_add_func("/ctl/socket_dirs", test_socket_dirs);
	g_test_add_func("/ctl/stale_socket", test_stale_socket);
	g_test_add_func("/ctl/metrics_scale", test_metrics_scale);
	g_test_add_func("/ctl/framing", test_framing);
	g_test_add_func("/ctl/http", test_http);
	return g_test_run();
}
