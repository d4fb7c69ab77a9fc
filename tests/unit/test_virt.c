/* SPDX-License-Identifier: MIT */
/*
 * vnicd's libvirt listener against libvirt's test driver (test:///default), in-process:
 * the test driver's state is shared by every connection of one process, so the test drives
 * domains through its own connection while the listener (its own connection, its worker
 * thread, libvirt's event loop on this GLib loop) follows them into a validation-only switch.
 */
#include <string.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "vnicd/config.h"
#include "vnicd/ctl.h"
#include "vnicd/domxml.h"
#include "vnicd/virt_events.h"
#include "vnicd/virt_loop.h"

static struct vn_config cfg;
static struct vn_switch *sw;
static struct vn_virt *lv;
static virConnectPtr tc; /* the test's own connection */
static char *tmp;

#define UUID1 "6f1f3a52-1b9c-4d58-9c52-3f9e8a3c0001"
#define UUID2 "6f1f3a52-1b9c-4d58-9c52-3f9e8a3c0002"
#define UUID3 "6f1f3a52-1b9c-4d58-9c52-3f9e8a3c0003"
#define GONE "6f1f3a52-1b9c-4d58-9c52-3f9e8a3c00ff"

static JsonNode *ask(const char *line)
{
	g_autofree char *resp = vn_ctl_handle_line(sw, line, strlen(line));
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o;

	g_assert_true(json_parser_load_from_data(p, resp, -1, NULL));
	o = json_node_get_object(json_parser_get_root(p));
	if (!json_object_get_boolean_member(o, "ok"))
		return NULL;
	return json_node_copy(json_object_get_member(o, "result"));
}

static void ok(const char *line)
{
	g_autoptr(JsonNode) r = ask(line);
	if (!r)
		g_error("request failed: %s", line);
}

/* port.show of @name, or NULL when there is none. */
static JsonObject *port(const char *name)
{
	g_autofree char *line =
	    g_strdup_printf("{\"cmd\":\"port.show\",\"args\":{\"name\":\"%s\"}}", name);
	JsonNode *r = ask(line);
	JsonObject *o;

	if (!r)
		return NULL;
	o = json_object_ref(json_node_get_object(r));
	json_node_unref(r);
	return o;
}

static bool port_exists(const char *name)
{
	g_autoptr(JsonObject) o = port(name);
	return o != NULL;
}

/* The VLAN tag in force on @name's policy (0: none, -1: no port). */
static gint64 port_vlan(const char *name)
{
	g_autoptr(JsonObject) o = port(name);
	JsonObject *pol;

	if (!o)
		return -1;
	pol = json_object_get_object_member(o, "policy");
	return pol ? json_object_get_int_member_with_default(pol, "vlan", 0) : 0;
}

/* Run the main loop until @cond(@arg) holds, at most 30 s. */
static bool wait_until(bool (*cond)(const char *), const char *arg)
{
	gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < end) {
		if (cond(arg))
			return true;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(2000);
	}
	return cond(arg);
}

static bool exists(const char *n)
{
	return port_exists(n);
}

static bool absent(const char *n)
{
	return !port_exists(n);
}

static bool vlan_is(const char *spec) /* "port=tag" */
{
	g_auto(GStrv) v = g_strsplit(spec, "=", 2);
	return port_vlan(v[0]) == g_ascii_strtoll(v[1], NULL, 10);
}

static bool connects_at_least(const char *n)
{
	struct vn_virt_stats st;
	vn_virt_get_stats(lv, &st);
	return st.connected && st.connects >= g_ascii_strtoull(n, NULL, 10);
}

static bool disconnected(const char *n)
{
	struct vn_virt_stats st;
	vn_virt_get_stats(lv, &st);
	return !st.connected && st.disconnects >= 1;
}

/* The listener's old registration is gone: libvirt removes the event state's timer, the
 * one watch or timer of this process (the test driver has no socket), with its last
 * callback. */
static bool deregistered(const char *n)
{
	return vn_virt_loop_active() == 0;
}

static char *dom_xml(const char *name, const char *uuid, const char *mac, int vlan)
{
	g_autofree char *meta =
	    vlan ? g_strdup_printf("<metadata><vnicd:policy xmlns:vnicd='%s'><vnicd:interface "
				   "mac='%s' network='br0'><vnicd:vlan mode='access' tag='%d'/>"
				   "</vnicd:interface></vnicd:policy></metadata>",
				   VN_DOMXML_NS, mac, vlan)
		 : g_strdup("");

	return g_strdup_printf(
	    "<domain type='test'><name>%s</name><uuid>%s</uuid><memory>65536</memory>"
	    "<os><type>hvm</type></os>%s<devices>"
	    "<interface type='vhostuser'><mac address='%s'/>"
	    "<source type='unix' path='%s/%s.sock' mode='server'/><model type='virtio'/>"
	    "</interface>"
	    "<interface type='network'><source network='default'/></interface>"
	    "</devices></domain>",
	    name, uuid, meta, mac, tmp, name);
}

static virDomainPtr start_domain(const char *name, const char *uuid, const char *mac, int vlan)
{
	g_autofree char *xml = dom_xml(name, uuid, mac, vlan);
	virDomainPtr d = virDomainCreateXML(tc, xml, 0);

	if (!d)
		g_error("virDomainCreateXML %s: %s", name, virGetLastErrorMessage());
	return d;
}

static void port_add_labelled(const char *name, const char *uuid)
{
	g_autofree char *line = g_strdup_printf(
	    "{\"cmd\":\"port.add\",\"args\":{\"name\":\"%s\",\"kind\":\"vhost\",\"path\":"
	    "\"%s/%s.sock\"%s%s%s}}",
	    name, tmp, name, uuid ? ",\"vm_uuid\":\"" : "", uuid ? uuid : "", uuid ? "\"" : "");
	ok(line);
}

/* ---- libvirt's event loop on GLib (virt_loop.c), through libvirt's public calls ---- */

struct loop_probe {
	int calls, last_events, freed, remove_self;
};

static void probe_handle(int watch, int fd, int events, void *opaque)
{
	struct loop_probe *p = opaque;
	char c;

	p->calls++;
	p->last_events = events;
	if (events & VIR_EVENT_HANDLE_READABLE)
		g_assert_cmpint(read(fd, &c, 1), ==, 1);
	if (p->remove_self)
		g_assert_cmpint(virEventRemoveHandle(watch), ==, 0);
}

static void probe_timer(int timer, void *opaque)
{
	struct loop_probe *p = opaque;

	p->calls++;
	if (p->remove_self)
		g_assert_cmpint(virEventRemoveTimeout(timer), ==, 0);
}

static void probe_free(void *opaque)
{
	((struct loop_probe *)opaque)->freed++;
}

static void spin(int iterations)
{
	for (int i = 0; i < iterations; i++) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
}

static void test_loop_handles(void)
{
	struct loop_probe p = {0};
	unsigned before = vn_virt_loop_active();
	int fds[2], w;

	g_assert_cmpint(pipe(fds), ==, 0);
	w = virEventAddHandle(fds[0], VIR_EVENT_HANDLE_READABLE, probe_handle, &p, probe_free);
	g_assert_cmpint(w, >, 0);
	g_assert_cmpuint(vn_virt_loop_active(), ==, before + 1);
	spin(5);
	g_assert_cmpint(p.calls, ==, 0); /* nothing to read */
	g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
	spin(5);
	g_assert_cmpint(p.calls, ==, 1);
	g_assert_cmpint(p.last_events, ==, VIR_EVENT_HANDLE_READABLE);
	virEventUpdateHandle(w, 0); /* disabled: data waits */
	g_assert_cmpint(write(fds[1], "y", 1), ==, 1);
	spin(5);
	g_assert_cmpint(p.calls, ==, 1);
	virEventUpdateHandle(w, VIR_EVENT_HANDLE_READABLE);
	spin(5);
	g_assert_cmpint(p.calls, ==, 2);
	close(fds[1]); /* the writer goes: hang-up */
	p.remove_self = 1;
	spin(5);
	g_assert_cmpint(p.calls, ==, 3);
	g_assert_true(p.last_events & VIR_EVENT_HANDLE_HANGUP);
	/* removed from its own callback: the free callback ran later, from the loop, once */
	g_assert_cmpint(p.freed, ==, 1);
	g_assert_cmpuint(vn_virt_loop_active(), ==, before);
	g_assert_cmpint(virEventRemoveHandle(w), ==, -1); /* gone */
	close(fds[0]);
}

static void test_loop_timers(void)
{
	struct loop_probe p = {0}, q = {0};
	unsigned before = vn_virt_loop_active();
	int t = virEventAddTimeout(5, probe_timer, &p, probe_free);
	int u = virEventAddTimeout(-1, probe_timer, &q, probe_free);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

	g_assert_cmpint(t, >, 0);
	g_assert_cmpint(u, >, 0);
	while (p.calls < 3 && g_get_monotonic_time() < end) /* periodic */
		spin(1);
	g_assert_cmpint(p.calls, >=, 3);
	g_assert_cmpint(q.calls, ==, 0); /* -1: disabled */
	virEventUpdateTimeout(t, -1);
	p.calls = 0;
	spin(30);
	g_assert_cmpint(p.calls, ==, 0);
	virEventUpdateTimeout(u, 0); /* 0: every iteration */
	spin(5);
	g_assert_cmpint(q.calls, >=, 4);
	g_assert_cmpint(virEventRemoveTimeout(t), ==, 0);
	g_assert_cmpint(p.freed, ==, 0); /* not inside the remove call */
	spin(2);
	g_assert_cmpint(p.freed, ==, 1);
	q.remove_self = 1;
	spin(3);
	g_assert_cmpint(q.freed, ==, 1);
	g_assert_cmpuint(vn_virt_loop_active(), ==, before);
}

/* vm1 runs before the listener starts; an operator's port and a stale port of a domain that
 * no longer runs exist: the first scan creates vm1's port, removes only the stale one. */
static void test_reconcile_at_connect(void)
{
	virDomainPtr d = start_domain("vm1", UUID1, "52:54:00:aa:00:01", 42);
	struct vn_virt_stats st;

	virDomainFree(d);
	port_add_labelled("manual", NULL);
	port_add_labelled("old-net0", GONE);
	port_add_labelled("other-net3", NULL); /* rule-shaped name, no label: an operator's */
	lv = vn_virt_start(sw, "test:///default");
	g_assert_nonnull(lv);
	g_assert_true(wait_until(connects_at_least, "1"));
	g_assert_true(wait_until(exists, "vm1-net0"));
	g_assert_cmpint(port_vlan("vm1-net0"), ==, 42);
	{
		g_autoptr(JsonObject) o = port("vm1-net0");
		g_assert_cmpstr(json_object_get_string_member(o, "vm_uuid"), ==, UUID1);
		g_assert_cmpstr(json_object_get_string_member(o, "vm_name"), ==, "vm1");
		g_assert_cmpstr(json_object_get_string_member(o, "mac"), ==, "52:54:00:aa:00:01");
	}
	g_assert_true(wait_until(absent, "old-net0"));
	g_assert_true(port_exists("manual"));
	g_assert_true(port_exists("other-net3"));
	g_assert_false(port_exists("vm1-net1")); /* the type='network' NIC is not vnicd's */
	vn_virt_get_stats(lv, &st);
	g_assert_cmpuint(st.reconciles, ==, 1);
	g_assert_cmpuint(st.requests_failed, ==, 0);
	g_assert_cmpuint(st.domains, ==, 2); /* and the test driver's own "test" */
	{				     /* the same through the control protocol */
		g_autoptr(JsonNode) r = ask("{\"cmd\":\"libvirt.status\"}");
		JsonObject *o = json_node_get_object(r);
		g_assert_true(json_object_get_boolean_member(o, "enabled"));
		g_assert_true(json_object_get_boolean_member(o, "connected"));
		g_assert_false(json_object_get_boolean_member(o, "auto"));
		g_assert_cmpstr(json_object_get_string_member(o, "uri"), ==, "test:///default");
		g_assert_cmpint(json_object_get_int_member(o, "reconciles"), ==, 1);
		g_assert_cmpint(json_object_get_int_member(o, "domains"), ==, 2);
	}
}

/* A domain started while the listener runs gets its port (lifecycle STARTED). */
static void test_started(void)
{
	virDomainPtr d = start_domain("vm2", UUID2, "52:54:00:aa:00:02", 0);

	virDomainFree(d);
	g_assert_true(wait_until(exists, "vm2-net0"));
	g_assert_cmpint(port_vlan("vm2-net0"), ==, 0);
}

/* `virsh metadata --live`: METADATA_CHANGE moves the live port into another VLAN, and
 * removing the policy takes the VLAN away. */
static void test_metadata(void)
{
	virDomainPtr d = virDomainLookupByUUIDString(tc, UUID2);
	g_autofree char *pol = g_strdup_printf(
	    "<policy><interface mac='52:54:00:aa:00:02'><vlan mode='access' tag='7'/></interface>"
	    "</policy>");

	g_assert_nonnull(d);
	g_assert_cmpint(virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, pol, "vnicd",
					     VN_DOMXML_NS, VIR_DOMAIN_AFFECT_LIVE),
			==, 0);
	g_assert_true(wait_until(vlan_is, "vm2-net0=7"));
	/* a policy outside the namespace is not vnicd's: nothing changes */
	g_assert_cmpint(virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, "<x/>", "o",
					     "https://example.org/other", VIR_DOMAIN_AFFECT_LIVE),
			==, 0);
	/* an invalid policy (unknown VLAN mode) is counted and leaves the port as it was */
	g_assert_cmpint(virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT,
					     "<policy><interface mac='52:54:00:aa:00:02'><vlan "
					     "mode='sideways' tag='9'/></interface></policy>",
					     "vnicd", VN_DOMXML_NS, VIR_DOMAIN_AFFECT_LIVE),
			==, 0);
	{
		struct vn_virt_stats st;
		gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
		do {
			g_main_context_iteration(NULL, FALSE);
			g_usleep(2000);
			vn_virt_get_stats(lv, &st);
		} while (st.xml_errors == 0 && g_get_monotonic_time() < end);
		g_assert_cmpuint(st.xml_errors, ==, 1);
	}
	g_assert_cmpint(port_vlan("vm2-net0"), ==, 7);
	g_assert_cmpint(virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, NULL, NULL,
					     VN_DOMXML_NS, VIR_DOMAIN_AFFECT_LIVE),
			==, 0);
	g_assert_true(wait_until(vlan_is, "vm2-net0=0"));
	virDomainFree(d);
}

/* Destroying a domain removes its port (lifecycle STOPPED); the others stay. */
static void test_stopped(void)
{
	virDomainPtr d = virDomainLookupByUUIDString(tc, UUID2);

	g_assert_cmpint(virDomainDestroy(d), ==, 0);
	virDomainFree(d);
	g_assert_true(wait_until(absent, "vm2-net0"));
	g_assert_true(port_exists("vm1-net0"));
	g_assert_true(port_exists("manual"));
}

/* The connection drops; meanwhile vm1 stops and vm3 starts (events nobody hears): the
 * reconnect re-registers and re-scans, so vm1's port goes and vm3's comes. */
static void test_reconnect_rescan(void)
{
	virDomainPtr d;

	vn_virt_reconnect(lv);
	g_assert_true(wait_until(disconnected, NULL));
	/* Events only after the worker has deregistered the old callbacks: libvirt 9.0's
	 * virObjectEventStateQueueRemote() reads state->timer before it takes the state's lock,
	 * so an event queued by this thread while the worker removes the last callback is left
	 * in the queue with no timer; every later event then queues behind it and none is ever
	 * dispatched (the test driver's event state is shared by the process's connections). */
	g_assert_true(wait_until(deregistered, NULL));
	d = virDomainLookupByUUIDString(tc, UUID1);
	g_assert_cmpint(virDomainDestroy(d), ==, 0);
	virDomainFree(d);
	d = start_domain("vm3", UUID3, "52:54:00:aa:00:03", 30);
	virDomainFree(d);
	g_assert_true(wait_until(connects_at_least, "2"));
	g_assert_true(wait_until(exists, "vm3-net0"));
	g_assert_cmpint(port_vlan("vm3-net0"), ==, 30);
	g_assert_true(wait_until(absent, "vm1-net0"));
	g_assert_true(port_exists("manual"));
	/* events flow again after the re-registration */
	d = virDomainLookupByUUIDString(tc, UUID3);
	g_assert_cmpint(virDomainDestroy(d), ==, 0);
	virDomainFree(d);
	g_assert_true(wait_until(absent, "vm3-net0"));
}

/* An operator's port with a domain NIC's name is left alone and counted. */
static void test_conflict(void)
{
	virDomainPtr d;
	struct vn_virt_stats st;

	port_add_labelled("vm4-net0", NULL);
	d = start_domain("vm4", "6f1f3a52-1b9c-4d58-9c52-3f9e8a3c0004", "52:54:00:aa:00:04", 5);
	{
		gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
		do {
			g_main_context_iteration(NULL, FALSE);
			g_usleep(2000);
			vn_virt_get_stats(lv, &st);
		} while (st.conflicts == 0 && g_get_monotonic_time() < end);
	}
	g_assert_cmpuint(st.conflicts, ==, 1);
	g_assert_cmpint(port_vlan("vm4-net0"), ==, 0); /* not given the domain's policy */
	g_assert_cmpint(virDomainDestroy(d), ==, 0);
	virDomainFree(d);
	for (int i = 0; i < 200; i++) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(2000);
	}
	g_assert_true(port_exists("vm4-net0")); /* STOPPED does not remove it either */
}

/* An ethernet NIC is vnicd's (a vnet port precreating its TAP) while the metadata names
 * its MAC: naming it live makes the port, dropping it from the policy removes the port. */
static void test_ethernet_by_metadata(void)
{
	static const char xml[] =
	    "<domain type='test'><name>vm5</name><uuid>6f1f3a52-1b9c-4d58-9c52-3f9e8a3c0005</uuid>"
	    "<memory>65536</memory><os><type>hvm</type></os><devices>"
	    "<interface type='ethernet'><mac address='52:54:00:aa:00:05'/>"
	    "<target dev='vn5tap' managed='no'/></interface></devices></domain>";
	virDomainPtr d = virDomainCreateXML(tc, xml, 0);
	g_autoptr(JsonObject) o = NULL;

	g_assert_nonnull(d);
	for (int i = 0; i < 300; i++) { /* STARTED is handled: nothing to make yet */
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	g_assert_false(port_exists("vm5-net0"));
	g_assert_cmpint(virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT,
					     "<policy><interface mac='52:54:00:aa:00:05'><vlan "
					     "mode='access' tag='12'/></interface></policy>",
					     "vnicd", VN_DOMXML_NS, VIR_DOMAIN_AFFECT_LIVE),
			==, 0);
	g_assert_true(wait_until(vlan_is, "vm5-net0=12"));
	o = port("vm5-net0");
	g_assert_cmpstr(json_object_get_string_member(o, "kind"), ==, "vnet");
	g_assert_cmpstr(json_object_get_string_member(o, "ifname"), ==, "vn5tap");
	g_assert_cmpint(
	    virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT,
				 "<policy><interface mac='52:54:00:aa:00:99'/></policy>", "vnicd",
				 VN_DOMXML_NS, VIR_DOMAIN_AFFECT_LIVE),
	    ==, 0);
	g_assert_true(wait_until(absent, "vm5-net0"));
	g_assert_cmpint(virDomainDestroy(d), ==, 0);
	virDomainFree(d);
}

/* Stopping the listener closes its connection and leaves the ports as they are. */
static void test_stop(void)
{
	vn_virt_stop(lv);
	lv = NULL;
	g_assert_true(port_exists("manual"));
	{
		g_autoptr(JsonNode) r = ask("{\"cmd\":\"libvirt.status\"}");
		g_assert_false(json_object_get_boolean_member(json_node_get_object(r), "enabled"));
	}
	g_assert_null(vn_virt_start(sw, "")); /* "" = off */
}

/* A libvirtd that accepts the connection and never answers (a socket nobody reads): stopping
 * the listener does not wait for it for ever (vnicd's shutdown saves its state after). */
static void test_stop_hung_libvirtd(void)
{
	g_autofree char *path = g_build_filename(tmp, "hung.sock", NULL);
	g_autofree char *uri = g_strdup_printf("qemu:///system?socket=%s", path);
	GSocketAddress *addr = g_unix_socket_address_new(path);
	GSocket *s = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
	struct vn_virt *v;
	struct vn_virt_stats st;

	g_assert_true(g_socket_bind(s, addr, TRUE, NULL));
	g_assert_true(g_socket_listen(s, NULL));
	v = vn_virt_start(sw, uri);
	g_assert_nonnull(v);
	spin(300); /* the worker is inside virConnectOpen(), waiting for an answer */
	vn_virt_get_stats(v, &st);
	g_assert_false(st.connected);
	vn_virt_stop(v); /* returns: the worker is left behind */
	g_assert_true(port_exists("manual"));
	g_object_unref(s);
	g_object_unref(addr);
	g_unlink(path);
}

/* libvirt_uri in the configuration file. */
static void test_config(void)
{
	struct vn_config c;
	g_autoptr(GError) err = NULL;
	static const char *const bad[] = {"libvirt_uri = system", "libvirt_uri = ://x",
					  "libvirt_uri = qemu:/system", "libvirt_uri = 1x:///y",
					  NULL};

	vn_config_defaults(&c);
	g_assert_null(c.libvirt_uri); /* auto */
	g_assert_cmpint(
	    vn_config_load_data(&c, "[vnicd]\nlibvirt_uri = qemu+ssh://h/system\n", -1, &err), ==,
	    0);
	g_assert_cmpstr(c.libvirt_uri, ==, "qemu+ssh://h/system");
	g_assert_cmpint(vn_config_load_data(&c, "[vnicd]\nlibvirt_uri =\n", -1, &err), ==, 0);
	g_assert_cmpstr(c.libvirt_uri, ==, "");
	for (int i = 0; bad[i]; i++) {
		g_autofree char *ini = g_strdup_printf("[vnicd]\n%s\n", bad[i]);
		g_clear_error(&err);
		g_assert_cmpint(vn_config_load_data(&c, ini, -1, &err), <, 0);
		g_assert_nonnull(strstr(err->message, "libvirt URI"));
	}
	vn_config_clear(&c);
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	tmp = g_dir_make_tmp("vnicd-virt-XXXXXX", NULL);
	vn_config_defaults(&cfg);
	g_free(cfg.vhost_socket_dirs);
	cfg.vhost_socket_dirs = g_strdup(tmp);
	sw = vn_switch_new(&cfg, NULL, NULL);
	ok("{\"cmd\":\"net.add\",\"args\":{\"name\":\"br0\",\"type\":\"bridge\"}}");
	vn_virt_loop_register();
	tc = virConnectOpen("test:///default");
	g_assert_nonnull(tc);
	g_test_add_func("/virt/loop_handles", test_loop_handles);
	g_test_add_func("/virt/loop_timers", test_loop_timers);
	g_test_add_func("/virt/reconcile_at_connect", test_reconcile_at_connect);
	g_test_add_func("/virt/started", test_started);
	g_test_add_func("/virt/metadata_live", test_metadata);
	g_test_add_func("/virt/stopped", test_stopped);
	g_test_add_func("/virt/reconnect_rescan", test_reconnect_rescan);
	g_test_add_func("/virt/operator_port_left_alone", test_conflict);
	g_test_add_func("/virt/ethernet_by_metadata", test_ethernet_by_metadata);
	g_test_add_func("/virt/stop", test_stop);
	g_test_add_func("/virt/stop_hung_libvirtd", test_stop_hung_libvirtd);
	g_test_add_func("/virt/config", test_config);
	rc = g_test_run();
	virConnectClose(tc);
	vn_switch_free(sw);
	vn_config_clear(&cfg);
	g_rmdir(tmp);
	g_free(tmp);
	return rc;
}
