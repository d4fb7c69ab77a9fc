/* SPDX-License-Identifier: MIT */
/* vnicd's policy metadata of a libvirt domain (libxml2), and the XML helpers of domxml*.c. */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>

#include "domxml_priv.h"

void dx_policy_free(gpointer p)
{
	struct vn_domxml_policy *pol = p;

	if (!pol)
		return;
	g_free(pol->network);
	g_free(pol->vlan_mode);
	g_free(pol->vlans);
	g_free(pol->tpid);
	g_free(pol->allowed_ip);
	g_free(pol->vni_map);
	g_free(pol->floating_ip);
	if (pol->forwards)
		g_array_unref(pol->forwards);
	g_free(pol);
}

/* ---- libxml2 helpers ---- */

/* Is @n an element named @name in our namespace (or, when @bare_ok, in none)? */
bool dx_is_elem(xmlNode *n, const char *name, bool bare_ok)
{
	if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
		return false;
	if (!n->ns || !n->ns->href)
		return bare_ok;
	return strcmp((const char *)n->ns->href, VN_DOMXML_NS) == 0;
}

/* Is @n an element of libvirt's own (no namespace) named @name? */
bool dx_is_lv(xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns && strcmp((const char *)n->name, name) == 0;
}

/* Attribute @name (no namespace) of @n as a new string, or NULL. */
char *dx_attr(xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *s = v ? g_strdup((const char *)v) : NULL;

	xmlFree(v);
	return s;
}

/* The text content of @n, trimmed, as a new string. */
char *dx_text(xmlNode *n)
{
	xmlChar *v = xmlNodeGetContent(n);
	char *s = g_strstrip(g_strdup(v ? (const char *)v : ""));

	xmlFree(v);
	return s;
}

/* Every attribute of @n without a namespace is one of the NULL-terminated @known. */
int dx_attrs_known(xmlNode *n, const char *const *known, GError **err)
{
	for (xmlAttr *a = n->properties; a; a = a->next) {
		bool ok = a->ns != NULL;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcmp(*k, (const char *)a->name) == 0;
		if (!ok)
			FAIL("unknown attribute '%s' of <%s> in the vnicd policy", a->name,
			     n->name);
	}
	return 0;
}

/* A whole number in [@min, @max] from @s (NULL: absent, *@out untouched). */
int dx_parse_uint(const char *s, guint64 min, guint64 max, guint64 *out, const char *what,
		  GError **err)
{
	if (!s)
		return 0;
	if (!g_ascii_string_to_unsigned(s, 10, min, max, out, NULL))
		FAIL("invalid %s '%s' (a whole number from %" G_GUINT64_FORMAT
		     " to %" G_GUINT64_FORMAT ")",
		     what, s, min, max);
	return 0;
}

/* yes/no, true/false, on/off from @s (NULL: absent, *@out untouched). */
int dx_parse_bool(const char *s, bool *out, const char *what, GError **err)
{
	if (!s)
		return 0;
	if (!g_ascii_strcasecmp(s, "yes") || !g_ascii_strcasecmp(s, "true") ||
	    !g_ascii_strcasecmp(s, "on"))
		*out = true;
	else if (!g_ascii_strcasecmp(s, "no") || !g_ascii_strcasecmp(s, "false") ||
		 !g_ascii_strcasecmp(s, "off"))
		*out = false;
	else
		FAIL("invalid %s '%s' (yes or no)", what, s);
	return 0;
}

/* A unicast MAC "aa:bb:cc:dd:ee:ff" (any case) into @out, lower case. */
int dx_parse_mac(const char *s, char out[VN_DOMXML_MAC_LEN], const char *what, GError **err)
{
	unsigned b[6];
	char end;

	if (!s || strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6)
		FAIL("invalid MAC address '%s' in %s (expected aa:bb:cc:dd:ee:ff)", s ? s : "",
		     what);
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !g_ascii_isxdigit(s[i]))
			FAIL("invalid MAC address '%s' in %s (expected aa:bb:cc:dd:ee:ff)", s,
			     what);
	if ((b[0] & 1) || !(b[0] | b[1] | b[2] | b[3] | b[4] | b[5]))
		FAIL("MAC address '%s' in %s is not a unicast address", s, what);
	for (int i = 0; i < 17; i++)
		out[i] = g_ascii_tolower(s[i]);
	out[17] = 0;
	return 0;
}

/* ---- the policy metadata ---- */

static const char *const vlan_modes[] = {
    "access", "trunk", "native-untagged", "native-tagged", "dot1q-tunnel", "none", NULL};

/* A list attribute in vnicctl's syntax: only these characters, bounded. */
static int check_list(const char *s, const char *chars, const char *what, GError **err)
{
	if (!s)
		return 0;
	if (!*s || strlen(s) > 1024 || strspn(s, chars) != strlen(s))
		FAIL("invalid %s '%s'", what, s);
	return 0;
}

static int meta_vlan(xmlNode *n, struct vn_domxml_policy *pol, GError **err)
{
	static const char *const known[] = {"mode", "tag", "tags", "tpid", NULL};
	g_autofree char *tag = dx_attr(n, "tag");
	guint64 v = 0;
	bool ok = false;
	int rc;

	if ((rc = dx_attrs_known(n, known, err)) < 0)
		return rc;
	pol->vlan_mode = dx_attr(n, "mode");
	pol->vlans = dx_attr(n, "tags");
	pol->tpid = dx_attr(n, "tpid");
	if (!pol->vlan_mode)
		FAIL("<vlan> of interface %s in the vnicd policy needs mode=", pol->mac);
	for (const char *const *m = vlan_modes; *m && !ok; m++)
		ok = strcmp(*m, pol->vlan_mode) == 0;
	if (!ok)
		FAIL("invalid <vlan mode='%s'> of interface %s in the vnicd policy (access, trunk, "
		     "native-untagged, native-tagged, dot1q-tunnel or none)",
		     pol->vlan_mode, pol->mac);
	if ((rc = dx_parse_uint(tag, 1, 4094, &v, "<vlan tag=>", err)) < 0 ||
	    (rc = check_list(pol->vlans, "0123456789,- ", "<vlan tags=>", err)) < 0 ||
	    (rc = check_list(pol->tpid, "0123456789abcdefxABCDEFX", "<vlan tpid=>", err)) < 0)
		return rc;
	pol->vlan = (guint)v;
	return 0;
}

static int meta_antispoof(xmlNode *n, struct vn_domxml_policy *pol, GError **err)
{
	static const char *const known[] = {"lock-mac", "allowed-ip", "allow-dhcp-server",
					    "allow-ra", NULL};
	g_autofree char *lock = dx_attr(n, "lock-mac");
	g_autofree char *dhcp = dx_attr(n, "allow-dhcp-server");
	g_autofree char *ra = dx_attr(n, "allow-ra");
	int rc;

	pol->has_antispoof = true;
	pol->allowed_ip = dx_attr(n, "allowed-ip");
	if ((rc = dx_attrs_known(n, known, err)) < 0 ||
	    (rc = dx_parse_bool(lock, &pol->lock_mac, "<antispoof lock-mac=>", err)) < 0 ||
	    (rc = dx_parse_bool(dhcp, &pol->allow_dhcp_server, "<antispoof allow-dhcp-server=>",
				err)) < 0 ||
	    (rc = dx_parse_bool(ra, &pol->allow_ra, "<antispoof allow-ra=>", err)) < 0)
		return rc;
	if (pol->allowed_ip) {
		g_auto(GStrv) ips = g_strsplit(pol->allowed_ip, ",", -1);
		for (char **ip = ips; *ip; ip++) {
			guint8 buf[16];
			g_strstrip(*ip);
			if (inet_pton(AF_INET, *ip, buf) != 1 && inet_pton(AF_INET6, *ip, buf) != 1)
				FAIL("invalid address '%s' in <antispoof allowed-ip=> of "
				     "interface %s",
				     *ip, pol->mac);
		}
	}
	return 0;
}

/* inbound/outbound of a <bandwidth> (libvirt's or ours) into @r. */
static int parse_rate(xmlNode *n, struct vn_domxml_rate *r, bool ours, GError **err)
{
	static const char *const known[] = {"average", "peak", "burst", "floor", NULL};
	g_autofree char *av = dx_attr(n, "average");
	g_autofree char *pk = dx_attr(n, "peak");
	g_autofree char *bu = dx_attr(n, "burst");
	g_autofree char *what = g_strdup_printf("<bandwidth><%s average=>", n->name);
	int rc;

	if (ours && (rc = dx_attrs_known(n, known, err)) < 0)
		return rc;
	if ((rc = dx_parse_uint(av, 1, G_MAXUINT32, &r->average, what, err)) < 0 ||
	    (rc = dx_parse_uint(pk, 1, G_MAXUINT32, &r->peak, "<bandwidth> peak=", err)) < 0 ||
	    (rc = dx_parse_uint(bu, 1, G_MAXUINT32, &r->burst, "<bandwidth> burst=", err)) < 0)
		return rc;
	if (!r->average && (r->peak || r->burst))
		FAIL("%s is required with peak= or burst=", what);
	return 0;
}

int dx_parse_bandwidth(xmlNode *bw, struct vn_domxml_rate *in, struct vn_domxml_rate *out,
		       bool ours, GError **err)
{
	int rc;

	for (xmlNode *c = bw->children; c; c = c->next) {
		if (ours ? dx_is_elem(c, "inbound", true) : dx_is_lv(c, "inbound"))
			rc = parse_rate(c, in, ours, err);
		else if (ours ? dx_is_elem(c, "outbound", true) : dx_is_lv(c, "outbound"))
			rc = parse_rate(c, out, ours, err);
		else if (ours && c->type == XML_ELEMENT_NODE &&
			 dx_is_elem(c, (const char *)c->name, true))
			FAIL("unknown element <%s> in <bandwidth> of the vnicd policy", c->name);
		else
			rc = 0;
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int meta_overlay(xmlNode *n, struct vn_domxml_policy *pol, GError **err)
{
	static const char *const known[] = {"vni", "vni-map", NULL};
	g_autofree char *vni = dx_attr(n, "vni");
	guint64 v = 0;
	int rc;

	pol->vni_map = dx_attr(n, "vni-map");
	if ((rc = dx_attrs_known(n, known, err)) < 0 ||
	    (rc = dx_parse_uint(vni, 1, 16777215, &v, "<overlay vni=>", err)) < 0 ||
	    (rc = check_list(pol->vni_map, "0123456789,: ", "<overlay vni-map=>", err)) < 0)
		return rc;
	pol->vni = (guint32)v;
	return 0;
}

static int meta_forward(xmlNode *n, struct vn_domxml_policy *pol, GError **err)
{
	static const char *const known[] = {"proto", "port", "to-port", NULL};
	g_autofree char *proto = dx_attr(n, "proto");
	g_autofree char *port = dx_attr(n, "port");
	g_autofree char *to = dx_attr(n, "to-port");
	struct vn_domxml_forward f = {{0}};
	guint64 p = 0, t = 0;
	int rc;

	if ((rc = dx_attrs_known(n, known, err)) < 0)
		return rc;
	if (!proto || (strcmp(proto, "tcp") && strcmp(proto, "udp")))
		FAIL("<forward proto=> of interface %s must be tcp or udp", pol->mac);
	if (!port)
		FAIL("<forward> of interface %s needs port=", pol->mac);
	if ((rc = dx_parse_uint(port, 1, 65535, &p, "<forward port=>", err)) < 0 ||
	    (rc = dx_parse_uint(to ? to : port, 1, 65535, &t, "<forward to-port=>", err)) < 0)
		return rc;
	for (guint i = 0; i < pol->forwards->len; i++) {
		const struct vn_domxml_forward *o =
		    &g_array_index(pol->forwards, struct vn_domxml_forward, i);
		if (!strcmp(o->proto, proto) && o->port == p)
			FAIL("<forward proto='%s' port='%s'> of interface %s is given twice", proto,
			     port, pol->mac);
	}
	if (pol->forwards->len >= VN_DOMXML_MAX_FORWARDS)
		FAIL("interface %s has more than %d NAT forwards", pol->mac,
		     VN_DOMXML_MAX_FORWARDS);
	g_strlcpy(f.proto, proto, sizeof(f.proto));
	f.port = (guint16)p;
	f.to_port = (guint16)t;
	g_array_append_val(pol->forwards, f);
	return 0;
}

static int meta_nat(xmlNode *n, struct vn_domxml_policy *pol, GError **err)
{
	static const char *const known[] = {"floating-ip", NULL};
	guint8 buf[16];
	int rc;

	if ((rc = dx_attrs_known(n, known, err)) < 0)
		return rc;
	pol->has_nat = true;
	pol->floating_ip = dx_attr(n, "floating-ip");
	if (pol->floating_ip && inet_pton(AF_INET, pol->floating_ip, buf) != 1)
		FAIL("invalid <nat floating-ip='%s'> of interface %s (an IPv4 address)",
		     pol->floating_ip, pol->mac);
	for (xmlNode *c = n->children; c; c = c->next) {
		if (dx_is_elem(c, "forward", true)) {
			if ((rc = meta_forward(c, pol, err)) < 0)
				return rc;
		} else if (c->type == XML_ELEMENT_NODE &&
			   dx_is_elem(c, (const char *)c->name, true)) {
			FAIL("unknown element <%s> in <nat> of the vnicd policy", c->name);
		}
	}
	return 0;
}

/* One child of a metadata <interface>. */
static int meta_child(xmlNode *c, struct vn_domxml_policy *pol, unsigned *seen, GError **err)
{
	static const char *const once[] = {"vlan",    "antispoof", "bandwidth", "storm-control",
					   "overlay", "nat",	   NULL};
	static const char *const sc_known[] = {"pps", NULL};
	int rc;

	for (unsigned i = 0; once[i]; i++) {
		if (!dx_is_elem(c, once[i], true))
			continue;
		if (*seen & (1u << i))
			FAIL("<%s> is given twice for interface %s in the vnicd policy", once[i],
			     pol->mac);
		*seen |= 1u << i;
	}

	if (dx_is_elem(c, "vlan", true))
		return meta_vlan(c, pol, err);
	if (dx_is_elem(c, "antispoof", true))
		return meta_antispoof(c, pol, err);
	if (dx_is_elem(c, "bandwidth", true)) {
		pol->has_bandwidth = true;
		return dx_parse_bandwidth(c, &pol->inbound, &pol->outbound, true, err);
	}
	if (dx_is_elem(c, "storm-control", true)) {
		g_autofree char *pps = dx_attr(c, "pps");
		if ((rc = dx_attrs_known(c, sc_known, err)) < 0)
			return rc;
		if (!pps)
			FAIL("<storm-control> of interface %s needs pps=", pol->mac);
		return dx_parse_uint(pps, 1, 100000000, &pol->storm_pps, "<storm-control pps=>",
				     err);
	}
	if (dx_is_elem(c, "overlay", true))
		return meta_overlay(c, pol, err);
	if (dx_is_elem(c, "nat", true))
		return meta_nat(c, pol, err);
	if (dx_is_elem(c, (const char *)c->name, true))
		FAIL("unknown element <%s> in <interface> of the vnicd policy", c->name);
	return 0; /* another namespace's */
}

static int meta_interface(xmlNode *n, struct vn_domxml_policy **out, GError **err)
{
	static const char *const known[] = {"mac", "network", NULL};
	g_autoptr(GPtrArray) hold = g_ptr_array_new_with_free_func(dx_policy_free);
	struct vn_domxml_policy *pol = g_new0(struct vn_domxml_policy, 1);
	g_autofree char *mac = dx_attr(n, "mac");
	unsigned seen = 0;
	int rc;

	g_ptr_array_add(hold, pol);
	pol->forwards = g_array_new(FALSE, TRUE, sizeof(struct vn_domxml_forward));
	pol->network = dx_attr(n, "network");
	if ((rc = dx_attrs_known(n, known, err)) < 0)
		return rc;
	if (!mac)
		FAIL("<interface> in the vnicd policy needs mac=");
	if ((rc = dx_parse_mac(mac, pol->mac, "<interface mac=> of the vnicd policy", err)) < 0)
		return rc;
	if (!pol->network)
		pol->network = g_strdup(VN_DOMXML_DEFAULT_NET);
	if (!*pol->network || strlen(pol->network) >= VN_DOMXML_PORT_MAX ||
	    strspn(pol->network,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
		strlen(pol->network))
		FAIL("invalid <interface network='%s'> of interface %s (a vnicd network name)",
		     pol->network, pol->mac);
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && (rc = meta_child(c, pol, &seen, err)) < 0)
			return rc;
	*out = g_ptr_array_steal_index(hold, 0);
	return 0;
}

/* The <policy> element @root (@bare_ok: its children may have no namespace) into @out. */
int dx_meta_policy(xmlNode *root, bool bare_ok, GPtrArray *out, GError **err)
{
	int rc;

	if (!dx_is_elem(root, "policy", bare_ok))
		FAIL("the vnicd policy metadata must be a <policy> element in namespace %s",
		     VN_DOMXML_NS);
	if ((rc = dx_attrs_known(root, (const char *const[]){NULL}, err)) < 0)
		return rc;
	for (xmlNode *c = root->children; c; c = c->next) {
		struct vn_domxml_policy *pol = NULL;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!dx_is_elem(c, "interface", true)) {
			if (dx_is_elem(c, (const char *)c->name, true))
				FAIL("unknown element <%s> in the vnicd policy", c->name);
			continue;
		}
		if (out->len >= VN_DOMXML_MAX_NICS)
			FAIL("the vnicd policy has more than %d interfaces", VN_DOMXML_MAX_NICS);
		if ((rc = meta_interface(c, &pol, err)) < 0)
			return rc;
		g_ptr_array_add(out, pol);
		for (guint i = 0; i + 1 < out->len; i++)
			if (!strcmp(((struct vn_domxml_policy *)out->pdata[i])->mac, pol->mac))
				FAIL("the vnicd policy names interface %s twice", pol->mac);
	}
	return 0;
}
