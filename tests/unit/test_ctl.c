/* SPDX-License-Identifier: MIT */
/* Control protocol: well-formed requests and every kind of malformed input, without sockets. */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "vnicd/ctl.h"

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
	expect_error(sw, "{\"cmd\": \"net.add\", \"args\": {\"name\": \"a b\", \"type\": \"bridge\"}}",
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
	expect_ok(sw, "{\"cmd\": \"net.add\", \"args\": {\"name\": \"br0\", \"type\": \"bridge\"}}");
	expect_error(sw, "{\"cmd\": \"net.add\", \"args\": {\"name\": \"br0\", \"type\": \"bridge\"}}",
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
	expect_error(sw, "{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm2\", \"kind\": \"vhost\"}}",
		     "--path");
	expect_error(sw, "{\"cmd\": \"net.del\", \"args\": {\"name\": \"br0\"}}", "still has 1 port");
	expect_error(sw, "{\"cmd\": \"port.del\", \"args\": {\"name\": \"ghost\"}}", "no port 'ghost'");
	expect_error(sw, "{\"cmd\": \"fdb.add\", \"args\": {\"mac\": \"zz\", \"port\": \"vm1\"}}",
		     "invalid MAC");
	expect_error(sw,
		     "{\"cmd\": \"fdb.add\", \"args\": {\"mac\": \"02:00:00:00:00:09\", \"port\": \"x\"}}",
		     "no port 'x'");
	expect_ok(sw,
		  "{\"cmd\": \"fdb.add\", \"args\": {\"mac\": \"02:00:00:00:00:09\", \"port\": \"vm1\"}}");
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
			"{\"cmd\": \"net.add\", \"args\": {\"name\": \"n%u\", \"type\": \"bridge\"}}", i);
		expect_ok(sw, req);
	}
	expect_error(sw, "{\"cmd\": \"net.add\", \"args\": {\"name\": \"more\", \"type\": \"bridge\"}}",
		     "limit");
	vn_switch_free(sw);
}

static void test_persistence(void)
{
	g_autofree char *dir = g_dir_make_tmp("vnicd-ctl-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "state.json", NULL);
	g_autofree char *bad = g_strdup_printf("%s.bad", path);
	struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o;

	/* no file: the default network appears */
	g_assert_cmpint(vn_switch_restore(sw, path, NULL), ==, 0);
	vn_switch_set_state_file(sw, path);
	expect_ok(sw, "{\"cmd\": \"net.add\", \"args\": {\"name\": \"blue\", \"type\": \"bridge\"}}");
	expect_ok(sw, "{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"kind\": \"vhost\", "
		      "\"path\": \"/tmp/a.sock\", \"server\": true, \"queues\": 2, \"net\": \"blue\"}}");
	vn_switch_free(sw);

	sw = vn_switch_new(&cfg, NULL, NULL);
	g_assert_cmpint(vn_switch_restore(sw, path, NULL), ==, 0);
	o = ask(sw, "{\"cmd\": \"port.show\", \"args\": {\"name\": \"a\"}}", p);
	g_assert_true(json_object_get_boolean_member(o, "ok"));
	o = json_object_get_object_member(o, "result");
	g_assert_cmpstr(json_object_get_string_member(o, "net"), ==, "blue");
	g_assert_true(json_object_get_boolean_member(o, "server"));
	g_assert_cmpint(json_object_get_int_member(o, "queues"), ==, 2);
	vn_switch_free(sw);

	/* a corrupt file is kept aside and vnicd starts from defaults */
	g_assert_true(g_file_set_contents(path, "{\"version\": 1, \"nets\": [", -1, NULL));
	sw = vn_switch_new(&cfg, NULL, NULL);
	g_assert_cmpint(vn_switch_restore(sw, path, NULL), ==, 0);
	g_assert_true(g_file_test(bad, G_FILE_TEST_EXISTS));
	expect_error(sw, "{\"cmd\": \"net.add\", \"args\": {\"name\": \"br0\", \"type\": \"bridge\"}}",
		     "already exists");
	vn_switch_free(sw);
	g_unlink(bad);
	g_unlink(path);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	vn_config_defaults(&cfg);
	cfg.max_nets = 8;
	g_test_add_func("/ctl/malformed", test_malformed);
	g_test_add_func("/ctl/semantics", test_semantics);
	g_test_add_func("/ctl/limits", test_limits);
	g_test_add_func("/ctl/persistence", test_persistence);
	return g_test_run();
}
