/* SPDX-License-Identifier: MIT */
/* Unit tests of the libvirt domain-XML/metadata parser and its control requests (domxml.h). */
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "vnicd/domxml.h"

#define NS "https://vnicd.dev/xmlns/policy/1"

/* A recorded domain XML of qemu-configs/libvirt/ (VNICD_QEMU_CONFIGS). */
static char *fixture(const char *name)
{
	const char *dir = g_getenv("VNICD_QEMU_CONFIGS");
	g_autofree char *path = g_build_filename(dir ? dir : "qemu-configs/libvirt", name, NULL);
	g_autoptr(GError) err = NULL;
	char *s = NULL;

	g_assert_true(g_file_get_contents(path, &s, NULL, &err));
	return s;
}

static struct vn_domxml *parse_ok(const char *xml)
{
	g_autoptr(GError) err = NULL;
	struct vn_domxml *d = vn_domxml_parse(xml, strlen(xml), &err);

	g_assert_no_error(err);
	g_assert_nonnull(d);
	return d;
}

/* The "args" object of request @req after checking its "cmd". */
static JsonObject *args_of(JsonNode *req, const char *cmd)
{
	JsonObject *o = json_node_get_object(req);

	g_assert_cmpstr(json_object_get_string_member(o, "cmd"), ==, cmd);
	return json_object_get_object_member(o, "args");
}

/* Member @k of @o as compact JSON text ("null" when absent). */
static char *member_text(JsonObject *o, const char *k)
{
	JsonNode *n = json_object_get_member(o, k);

	return n ? json_to_string(n, FALSE) : g_strdup("null");
}

#define ASSERT_MEMBER(o, k, want)                                                                  \
	do {                                                                                       \
		g_autofree char *t_ = member_text((o), (k));                                       \
		g_assert_cmpstr(t_, ==, (want));                                                   \
	} while (0)

/* Insert <alias name='ALIAS'/> after each <mac .../> in order (what libvirt adds at start). */
static char *with_aliases(const char *xml, const char *const *aliases)
{
	g_autoptr(GString) s = g_string_new(xml);
	gsize from = 0;

	for (const char *const *a = aliases; *a; a++) {
		char *m = strstr(s->str + from, "<mac address=");
		g_assert_nonnull(m);
		char *end = strstr(m, "/>") + 2;
		g_autofree char *ins = g_strdup_printf("\n      <alias name='%s'/>", *a);
		gsize pos = (gsize)(end - s->str);
		g_string_insert(s, (gssize)pos, ins);
		from = pos + strlen(ins);
	}
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void test_client(void)
{
	g_autofree char *xml = fixture("vm-client.xml");
	g_autoptr(vn_domxml) d = parse_ok(xml);
	g_autoptr(GPtrArray) reqs = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	const struct vn_domxml_nic *nic;
	JsonObject *a;

	g_assert_cmpstr(d->name, ==, "vm-client");
	g_assert_cmpstr(d->uuid, ==, "0f6e2b1e-5d7a-4c1b-9a51-6e0d1c2b3a01");
	g_assert_cmpuint(d->nics->len, ==, 1);
	nic = d->nics->pdata[0];
	g_assert_cmpint(nic->type, ==, VN_DOMXML_VHOSTUSER);
	g_assert_cmpstr(nic->port, ==, "vm-client-net0");
	g_assert_null(nic->alias);
	g_assert_true(nic->vnicd_server);
	g_assert_cmpstr(nic->path, ==, "/run/vnicd/vm-client-net0.sock");
	g_assert_cmpstr(nic->mac, ==, "52:54:00:aa:01:01");
	g_assert_null(nic->policy);
	vn_domxml_nic_requests(d, nic, reqs, notes);
	g_assert_cmpuint(reqs->len, ==, 2);
	g_assert_cmpuint(notes->len, ==, 0);
	a = args_of(reqs->pdata[0], "port.add");
	ASSERT_MEMBER(a, "name", "\"vm-client-net0\"");
	ASSERT_MEMBER(a, "kind", "\"vhost\"");
	ASSERT_MEMBER(a, "server", "true");
	ASSERT_MEMBER(a, "mac", "\"52:54:00:aa:01:01\"");
	ASSERT_MEMBER(a, "net", "\"br0\"");
	ASSERT_MEMBER(a, "vm_uuid", "\"0f6e2b1e-5d7a-4c1b-9a51-6e0d1c2b3a01\"");
	ASSERT_MEMBER(a, "vm_name", "\"vm-client\"");
	ASSERT_MEMBER(a, "policy", "{}");
	ASSERT_MEMBER(a, "queues", "null");
	a = args_of(reqs->pdata[1], "port.set");
	ASSERT_MEMBER(a, "vlan_mode", "\"none\"");
	ASSERT_MEMBER(a, "lock_mac", "false");
	ASSERT_MEMBER(a, "allowed_ip", "\"none\"");
	ASSERT_MEMBER(a, "inbound", "\"none\"");
	ASSERT_MEMBER(a, "storm_control", "\"none\"");
	ASSERT_MEMBER(a, "vni", "null");
	g_autofree char *line = vn_domxml_request_line(reqs->pdata[0]);
	g_assert_null(strchr(line, '\n'));
	g_assert_true(g_str_has_prefix(line, "{\"cmd\":\"port.add\""));
}

/* prepare (no aliases) and start (aliases) name the same ports; hotplug and user aliases. */
static void test_naming_prepare_start(void)
{
	g_autofree char *xml = fixture("vm-memfd-mq.xml");
	static const char *const start_aliases[] = {"net0", "net1", "net2", NULL};
	static const char *const odd_aliases[] = {"net0", "ua-left", "net7", NULL};
	g_autofree char *start = with_aliases(xml, start_aliases);
	g_autofree char *odd = with_aliases(xml, odd_aliases);
	g_autoptr(vn_domxml) p = parse_ok(xml);
	g_autoptr(vn_domxml) s = parse_ok(start);
	g_autoptr(vn_domxml) o = parse_ok(odd);
	const struct vn_domxml_nic *n;

	g_assert_cmpuint(p->nics->len, ==, 2); /* the type='network' NIC is not vnicd's */
	g_assert_cmpuint(s->nics->len, ==, 2);
	for (guint i = 0; i < 2; i++) {
		const struct vn_domxml_nic *a = p->nics->pdata[i], *b = s->nics->pdata[i];
		g_assert_cmpstr(a->port, ==, b->port);
		g_assert_null(a->alias);
		g_assert_nonnull(b->alias);
	}
	n = p->nics->pdata[0];
	g_assert_cmpstr(n->port, ==, "vm-memfd-mq-net1");
	g_assert_cmpuint(n->queues, ==, 4);
	g_assert_true(n->vnicd_server);
	n = p->nics->pdata[1];
	g_assert_cmpstr(n->port, ==, "vm-memfd-mq-net2");
	g_assert_false(n->vnicd_server);
	n = vn_domxml_find_alias(s, "net2");
	g_assert_nonnull(n);
	g_assert_cmpstr(n->port, ==, "vm-memfd-mq-net2");
	g_assert_null(vn_domxml_find_alias(s, "net0"));
	g_assert_cmpstr(vn_domxml_find_mac(s, "52:54:00:AA:05:01")->port, ==, "vm-memfd-mq-net1");
	/* a user alias keeps the position, a hotplugged net7 its number */
	g_assert_cmpstr(((struct vn_domxml_nic *)o->nics->pdata[0])->port, ==, "vm-memfd-mq-net1");
	g_assert_cmpstr(((struct vn_domxml_nic *)o->nics->pdata[1])->port, ==, "vm-memfd-mq-net7");
}

static char *domain_named(const char *name)
{
	return g_strdup_printf("<domain type='kvm'><name>%s</name>"
			       "<uuid>11111111-2222-3333-4444-555555555555</uuid><devices>"
			       "<interface type='vhostuser'><mac address='52:54:00:00:00:01'/>"
			       "<source type='unix' path='/run/vnicd/x.sock' mode='client'/>"
			       "</interface></devices></domain>",
			       name);
}

static void test_naming_bounds(void)
{
	static const char *const names[] = {
	    "web-1",	      "a-domain-name-that-is-much-too-long-for-a-port",	  "-dash",
	    "späti &amp; co", "a-domain-name-that-is-much-too-long-for-a-port-2", NULL};
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (const char *const *nm = names; *nm; nm++) {
		g_autofree char *xml = domain_named(*nm);
		g_autoptr(vn_domxml) d = parse_ok(xml);
		g_autoptr(vn_domxml) again = parse_ok(xml);
		const struct vn_domxml_nic *n = d->nics->pdata[0];
		size_t len = strlen(n->port);

		g_assert_cmpuint(len, >=, 1);
		g_assert_cmpuint(len, <=, VN_DOMXML_PORT_MAX - 1);
		g_assert_cmpuint(strspn(n->port,
					"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789_.-"),
				 ==, len);
		g_assert_true(n->port[0] != '-' && n->port[0] != '.');
		g_assert_true(g_str_has_suffix(n->port, "-net0"));
		g_assert_cmpstr(n->port, ==, ((struct vn_domxml_nic *)again->nics->pdata[0])->port);
		g_assert_false(g_hash_table_contains(seen, n->port));
		g_hash_table_add(seen, g_strdup(n->port));
	}
	g_assert_true(g_hash_table_contains(seen, "web-1-net0"));
}

static void test_policy(void)
{
	g_autofree char *xml = fixture("vm-policy.xml");
	g_autoptr(vn_domxml) d = parse_ok(xml);
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	const struct vn_domxml_nic *n0, *n1;
	JsonNode *r;
	JsonObject *a, *pol;

	g_assert_cmpuint(d->nics->len, ==, 2);
	g_assert_cmpuint(d->policies->len, ==, 2);
	n0 = d->nics->pdata[0];
	n1 = d->nics->pdata[1];
	g_assert_nonnull(n0->policy);
	g_assert_cmpstr(n0->policy->network, ==, "br0");
	g_assert_cmpstr(n1->policy->network, ==, "lan");
	g_assert_cmpuint(n1->mtu, ==, 1400);
	g_assert_cmpuint(n1->policy->forwards->len, ==, 1);

	r = vn_domxml_port_add(d, n0, notes);
	pol = json_object_get_object_member(args_of(r, "port.add"), "policy");
	ASSERT_MEMBER(pol, "vlan_mode", "\"access\"");
	ASSERT_MEMBER(pol, "vlan", "42");
	ASSERT_MEMBER(pol, "lock_mac", "true");
	ASSERT_MEMBER(pol, "allow_ra", "null"); /* defaults left out of port.add */
	ASSERT_MEMBER(pol, "allowed_ip", "\"192.0.2.31,2001:db8::31\"");
	ASSERT_MEMBER(pol, "storm_control", "2000");
	/* libvirt's <bandwidth> when the metadata has none */
	ASSERT_MEMBER(pol, "inbound", "{\"average\":1000,\"peak\":2000,\"burst\":512}");
	ASSERT_MEMBER(pol, "outbound", "{\"average\":500}");
	json_node_unref(r);
	g_assert_cmpuint(notes->len, ==, 0);

	r = vn_domxml_port_set(n1);
	a = args_of(r, "port.set");
	ASSERT_MEMBER(a, "name", "\"vm-policy-net1\"");
	ASSERT_MEMBER(a, "vlan_mode", "\"none\"");
	ASSERT_MEMBER(a, "vlans", "null");
	/* the metadata's <bandwidth> replaces libvirt's: outbound cleared */
	ASSERT_MEMBER(a, "inbound", "{\"average\":2000,\"peak\":4000,\"burst\":1024}");
	ASSERT_MEMBER(a, "outbound", "\"none\"");
	ASSERT_MEMBER(a, "allow_dhcp_server", "false");
	/* <nat>: the port's floating IP and forwards, as `port set --floating-ip --forward` */
	ASSERT_MEMBER(a, "floating_ip", "\"203.0.113.31\"");
	ASSERT_MEMBER(a, "forward", "\"tcp:8022:22\"");
	json_node_unref(r);
	r = vn_domxml_port_add(d, n1, notes);
	a = args_of(r, "port.add");
	ASSERT_MEMBER(a, "net", "\"lan\"");
	ASSERT_MEMBER(a, "floating_ip", "\"203.0.113.31\"");
	ASSERT_MEMBER(a, "forward", "\"tcp:8022:22\"");
	ASSERT_MEMBER(a, "mtu", "1400"); /* libvirt's <mtu size=> */
	json_node_unref(r);
	g_assert_cmpuint(notes->len, ==, 0); /* everything is applied */
	/* no <nat>: no NAT settings (other kinds of network refuse them) */
	r = vn_domxml_port_set(n0);
	ASSERT_MEMBER(args_of(r, "port.set"), "floating_ip", "null");
	json_node_unref(r);
}

/* <nat> without a floating IP or forwards clears them on port.set; bad <nat> is refused. */
static void test_nat(void)
{
	static const char *const bad[] = {
	    "<nat floating-ip='2001:db8::1'/>",
	    "<nat><forward proto='tcp' port='80'/><forward proto='tcp' port='80'/></nat>",
	    "<nat><forward proto='sctp' port='80'/></nat>",
	};
	g_autofree char *xml = fixture("vm-policy.xml");
	g_autoptr(vn_domxml) d = parse_ok(xml);
	g_autoptr(GError) err = NULL;
	const char *meta = "<policy><interface mac='52:54:00:aa:03:02' network='lan'><nat/>"
			   "</interface></policy>";
	JsonNode *r;
	JsonObject *a;

	g_assert_cmpint(vn_domxml_set_metadata(d, meta, strlen(meta), &err), ==, 0);
	r = vn_domxml_port_set(d->nics->pdata[1]);
	a = args_of(r, "port.set");
	ASSERT_MEMBER(a, "floating_ip", "\"none\"");
	ASSERT_MEMBER(a, "forward", "\"none\"");
	json_node_unref(r);
	r = vn_domxml_port_add(d, d->nics->pdata[1], NULL);
	a = args_of(r, "port.add");
	ASSERT_MEMBER(a, "floating_ip", "null");
	json_node_unref(r);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *m = g_strdup_printf(
		    "<policy><interface mac='52:54:00:aa:03:02'>%s</interface></policy>", bad[i]);
		g_clear_error(&err);
		g_assert_cmpint(vn_domxml_set_metadata(d, m, strlen(m), &err), ==, -EINVAL);
		g_assert_nonnull(err);
	}
}

static void test_ethernet(void)
{
	g_autofree char *xml = fixture("vm-ethernet.xml");
	g_autoptr(vn_domxml) d = parse_ok(xml);
	const struct vn_domxml_nic *n;
	JsonNode *r;
	JsonObject *a;

	g_assert_cmpuint(d->all->len, ==, 2);
	g_assert_cmpuint(d->nics->len, ==, 1); /* tap-other: the metadata does not name it */
	n = d->nics->pdata[0];
	g_assert_cmpint(n->type, ==, VN_DOMXML_ETHERNET);
	g_assert_cmpstr(n->ifname, ==, "vnicd-eth0");
	g_assert_cmpstr(n->port, ==, "vm-ethernet-net0");
	r = vn_domxml_port_add(d, n, NULL);
	a = args_of(r, "port.add");
	ASSERT_MEMBER(a, "kind", "\"vnet\"");
	ASSERT_MEMBER(a, "ifname", "\"vnicd-eth0\"");
	ASSERT_MEMBER(a, "path", "null");
	ASSERT_MEMBER(a, "queues", "2");
	ASSERT_MEMBER(json_object_get_object_member(a, "policy"), "vlan_mode", "\"access\"");
	ASSERT_MEMBER(json_object_get_object_member(a, "policy"), "vlan", "7");
	json_node_unref(r);
	/* the NIC the metadata does not name: only what libvirt's elements say, for any port */
	n = d->all->pdata[1];
	g_assert_null(vn_domxml_port_set_libvirt(n, "adm0"));
	n = d->all->pdata[0];
	r = vn_domxml_port_set_libvirt(n, "adm0");
	a = args_of(r, "port.set");
	ASSERT_MEMBER(a, "name", "\"adm0\"");
	ASSERT_MEMBER(a, "vlan", "7");
	ASSERT_MEMBER(a, "lock_mac", "null");
	ASSERT_MEMBER(a, "inbound", "null");
	json_node_unref(r);
}

static void test_libvirt_vlan_forms(void)
{
	static const struct {
		const char *vlan, *mode, *vlan_id, *vlans;
	} cases[] = {
	    {"<vlan trunk='yes'><tag id='5'/></vlan>", "\"trunk\"", "null", "\"5\""},
	    {"<vlan><tag id='5'/><tag id='6'/></vlan>", "\"trunk\"", "null", "\"5,6\""},
	    {"<vlan trunk='yes'><tag id='5' nativeMode='untagged'/><tag id='6'/></vlan>",
	     "\"native-untagged\"", "5", "\"5,6\""},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *xml = g_strdup_printf(
		    "<domain><name>e</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
		    "<metadata><v:policy xmlns:v='" NS "'><v:interface mac='52:54:00:00:00:02'/>"
		    "</v:policy></metadata><devices><interface type='ethernet'>"
		    "<mac address='52:54:00:00:00:02'/><target dev='e0'/>%s</interface></devices>"
		    "</domain>",
		    cases[i].vlan);
		g_autoptr(vn_domxml) d = parse_ok(xml);
		JsonNode *r = vn_domxml_port_set(d->nics->pdata[0]);
		JsonObject *a = args_of(r, "port.set");

		ASSERT_MEMBER(a, "vlan_mode", cases[i].mode);
		ASSERT_MEMBER(a, "vlan", cases[i].vlan_id);
		ASSERT_MEMBER(a, "vlans", cases[i].vlans);
		json_node_unref(r);
	}
}

/* What virDomainGetMetadata() returns (no prefix), the prefixed form, removal, bad input. */
static void test_metadata(void)
{
	g_autofree char *xml = fixture("vm-ethernet.xml");
	g_autoptr(vn_domxml) d = parse_ok(xml);
	g_autoptr(GError) err = NULL;
	static const char bare[] = "<policy>\n  <interface mac=\"52:54:00:AA:04:02\" "
				   "network=\"br0\">\n    <vlan mode=\"access\" tag=\"42\"/>\n"
				   "  </interface>\n</policy>\n";
	static const char prefixed[] =
	    "<x:policy xmlns:x='" NS "'><x:interface "
	    "mac='52:54:00:aa:04:01' network='lan'><x:overlay vni='5010'/>"
	    "</x:interface></x:policy>";
	static const char dflt[] = "<policy xmlns='" NS "'><interface mac='52:54:00:aa:04:01'>"
				   "<vlan mode='trunk' tags='1-3'/></interface></policy>";
	const struct vn_domxml_nic *n;
	JsonNode *r;

	/* the bare form names the second ethernet NIC: it becomes vnicd's, the first leaves */
	g_assert_cmpint(vn_domxml_set_metadata(d, bare, strlen(bare), &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(d->nics->len, ==, 1);
	n = d->nics->pdata[0];
	g_assert_cmpstr(n->ifname, ==, "tap-other");
	g_assert_cmpstr(n->port, ==, "vm-ethernet-net1");
	r = vn_domxml_port_set(n);
	ASSERT_MEMBER(args_of(r, "port.set"), "vlan", "42");
	json_node_unref(r);

	g_assert_cmpint(vn_domxml_set_metadata(d, prefixed, strlen(prefixed), &err), ==, 0);
	n = d->nics->pdata[0];
	g_assert_cmpstr(n->ifname, ==, "vnicd-eth0");
	g_assert_cmpstr(n->policy->network, ==, "lan");
	r = vn_domxml_port_set(n);
	ASSERT_MEMBER(args_of(r, "port.set"), "vni", "5010");
	ASSERT_MEMBER(args_of(r, "port.set"), "vlan", "7"); /* libvirt's <vlan> again */
	json_node_unref(r);

	g_assert_cmpint(vn_domxml_set_metadata(d, dflt, strlen(dflt), &err), ==, 0);
	r = vn_domxml_port_set(d->nics->pdata[0]);
	ASSERT_MEMBER(args_of(r, "port.set"), "vlans", "\"1-3\"");
	json_node_unref(r);

	/* a bad element leaves the domain as it was */
	static const char bad[] = "<policy><interface mac='52:54:00:aa:04:01'><vlna/></interface>"
				  "</policy>";
	g_assert_cmpint(vn_domxml_set_metadata(d, bad, strlen(bad), &err), ==, -22);
	g_assert_nonnull(strstr(err->message, "vlna"));
	g_clear_error(&err);
	g_assert_cmpstr(((struct vn_domxml_nic *)d->nics->pdata[0])->policy->vlans, ==, "1-3");
	/* another namespace is not ours */
	static const char other[] = "<policy xmlns='urn:other'/>";
	g_assert_cmpint(vn_domxml_set_metadata(d, other, strlen(other), &err), ==, -22);
	g_clear_error(&err);

	/* removed: no ethernet NIC is vnicd's any more */
	g_assert_cmpint(vn_domxml_set_metadata(d, NULL, 0, &err), ==, 0);
	g_assert_cmpuint(d->nics->len, ==, 0);
	g_assert_cmpuint(d->policies->len, ==, 0);
}

static void test_bad_input(void)
{
	static const char head[] = "<domain><name>b</name><uuid>11111111-2222-3333-4444-"
				   "555555555555</uuid>";
	static const char vu[] = "<interface type='vhostuser'><mac address='52:54:00:00:00:01'/>"
				 "<source type='unix' path='/run/vnicd/b.sock' mode='client'/>";
	static const struct {
		const char *xml, *want;
	} cases[] = {
	    {"<domain><name>b", "malformed domain XML"},
	    {"<!DOCTYPE d [<!ENTITY x 'y'>]><domain/>", "DOCTYPE"},
	    {"<network/>", "not a libvirt domain"},
	    {"<domain><name>b</name></domain>", "no <uuid>"},
	    {"<domain><uuid>11111111-2222-3333-4444-555555555555</uuid></domain>", "<name>"},
	    {"<domain><name>b</name><uuid>1234</uuid></domain>", "invalid <uuid>"},
	    {"%s<devices><interface type='vhostuser'><mac address='52:54:00:00:00:0g'/>"
	     "</interface></devices></domain>",
	     "invalid MAC address '52:54:00:00:00:0g' in <mac address=>"},
	    {"%s<devices><interface type='vhostuser'><mac address='01:00:5e:00:00:01'/>"
	     "</interface></devices></domain>",
	     "not a unicast"},
	    {"%s<devices><interface type='vhostuser'><mac address='52:54:00:00:00:01'/>"
	     "</interface></devices></domain>",
	     "no <source path=>"},
	    {"%s<devices><interface type='vhostuser'><source type='unix' path='rel.sock' "
	     "mode='client'/></interface></devices></domain>",
	     "absolute socket path"},
	    {"%s<devices><interface type='vhostuser'><source type='unix' path='/a.sock' "
	     "mode='both'/></interface></devices></domain>",
	     "client or server"},
	    {"%s<devices>%s<driver queues='17'/></interface></devices></domain>",
	     "invalid <driver queues=> '17'"},
	    {"%s<devices>%s</interface>%s</interface></devices></domain>", "same MAC address"},
	    {"%s<metadata><v:policy xmlns:v='" NS "'><v:interface mac='52:54:00:00:00:01'>"
	     "<v:vlan mode='access' tag='5000'/></v:interface></v:policy></metadata></domain>",
	     "invalid <vlan tag=> '5000'"},
	    {"%s<metadata><v:policy xmlns:v='" NS "'><v:interface mac='52:54:00:00:00:01'>"
	     "<v:vlan mode='acces' tag='5'/></v:interface></v:policy></metadata></domain>",
	     "invalid <vlan mode='acces'>"},
	    {"%s<metadata><v:policy xmlns:v='" NS "'><v:interface mac='52:54:00:00:00:01' "
	     "colour='red'/></v:policy></metadata></domain>",
	     "unknown attribute 'colour' of <interface>"},
	    {"%s<metadata><v:policy xmlns:v='" NS "'><v:interface/></v:policy></metadata>"
	     "</domain>",
	     "needs mac="},
	    {"%s<metadata><v:policy xmlns:v='" NS "'><v:interface mac='52:54:00:00:00:01'>"
	     "<v:antispoof allowed-ip='10.0.0.300'/></v:interface></v:policy></metadata></domain>",
	     "invalid address '10.0.0.300'"},
	    {"%s<metadata><v:policy xmlns:v='" NS "'><v:interface mac='52:54:00:00:00:01'/>"
	     "<v:interface mac='52:54:00:00:00:01'/></v:policy></metadata></domain>",
	     "twice"},
	    {"%s<metadata><v:policy xmlns:v='" NS "'><v:interface mac='52:54:00:00:00:05'/>"
	     "</v:policy></metadata><devices><interface type='ethernet'>"
	     "<mac address='52:54:00:00:00:05'/></interface></devices></domain>",
	     "no <target dev=>"},
	    {"%s<metadata><v:policy xmlns:v='" NS "'><v:interface mac='52:54:00:00:00:01'>"
	     "<v:vlan mode='access' tag='5'/><v:vlan mode='access' tag='6'/></v:interface>"
	     "</v:policy></metadata></domain>",
	     "<vlan> is given twice"},
	    {"%s<devices>%s<source type='unix' path='/b.sock' mode='server'/></interface>"
	     "</devices></domain>",
	     "more than one <source>"},
	    {"%s<devices><interface type='ethernet'><target dev='much-too-long-name'/>"
	     "</interface></devices></domain>",
	     "invalid <target dev="},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) err = NULL;
		g_autofree char *xml = g_strdup_printf(cases[i].xml, head, vu, vu);
		struct vn_domxml *d = vn_domxml_parse(xml, strlen(xml), &err);

		if (d || !err || !strstr(err->message, cases[i].want))
			g_test_message("case %zu: %s -> %s", i, xml, err ? err->message : "ok");
		g_assert_null(d);
		g_assert_nonnull(err);
		g_assert_nonnull(strstr(err->message, cases[i].want));
	}
}

static void test_limits(void)
{
	g_autoptr(GString) s = g_string_new("<domain><name>many</name><uuid>11111111-2222-3333-"
					    "4444-555555555555</uuid><devices>");
	g_autoptr(GError) err = NULL;
	g_autofree char *big = NULL;

	for (int i = 0; i <= VN_DOMXML_MAX_NICS; i++)
		g_string_append_printf(
		    s,
		    "<interface type='vhostuser'><mac address='52:54:00:00:01:%02x'/>"
		    "<source type='unix' path='/run/vnicd/%d.sock' mode='server'/>"
		    "</interface>",
		    i, i);
	g_string_append(s, "</devices></domain>");
	g_assert_null(vn_domxml_parse(s->str, s->len, &err));
	g_assert_nonnull(strstr(err->message, "more than 32 NICs"));
	g_clear_error(&err);

	big = g_strnfill(VN_DOMXML_MAX_XML + 1, ' ');
	g_assert_null(vn_domxml_parse(big, strlen(big), &err));
	g_assert_nonnull(strstr(err->message, "larger than"));
	g_clear_error(&err);

	/* entity expansion is not performed, and nothing is fetched */
	static const char ext[] = "<domain><name>&ext;</name></domain>";
	g_assert_null(vn_domxml_parse(ext, strlen(ext), &err));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/domxml/client", test_client);
	g_test_add_func("/domxml/naming_prepare_start", test_naming_prepare_start);
	g_test_add_func("/domxml/naming_bounds", test_naming_bounds);
	g_test_add_func("/domxml/policy", test_policy);
	g_test_add_func("/domxml/nat", test_nat);
	g_test_add_func("/domxml/ethernet", test_ethernet);
	g_test_add_func("/domxml/libvirt_vlan_forms", test_libvirt_vlan_forms);
	g_test_add_func("/domxml/metadata", test_metadata);
	g_test_add_func("/domxml/bad_input", test_bad_input);
	g_test_add_func("/domxml/limits", test_limits);
	return g_test_run();
}
