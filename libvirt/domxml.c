/* SPDX-License-Identifier: MIT */
/* libvirt domain XML and vnicd's policy metadata into NIC records (libxml2); contract: domxml.h */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "domxml_priv.h"

GQuark vn_domxml_error_quark(void)
{
	return g_quark_from_static_string("vn-domxml-error-quark");
}

#define VN_DOMXML_NAME_MAX 200 /* bytes of a domain name (vnicd's --vm-name limit) */

static void nic_free(gpointer p)
{
	struct vn_domxml_nic *nic = p;

	if (!nic)
		return;
	g_free(nic->alias);
	g_free(nic->path);
	g_free(nic->lv_vlan_mode);
	g_free(nic->lv_vlans);
	g_free(nic);
}

/**
 * vn_domxml_free() - free @dom (NULL is fine).
 */
void vn_domxml_free(struct vn_domxml *dom)
{
	if (!dom)
		return;
	g_free(dom->name);
	if (dom->nics)
		g_ptr_array_unref(dom->nics);
	if (dom->all)
		g_ptr_array_unref(dom->all);
	if (dom->policies)
		g_ptr_array_unref(dom->policies);
	g_free(dom);
}

/* ---- the domain ---- */

/* Read @len bytes of XML into a document; NULL with @err on a syntax error or a DTD. */
static xmlDoc *read_doc(const char *xml, gsize len, const char *what, GError **err)
{
	xmlParserCtxt *ctx;
	xmlDoc *doc;

	if (len > VN_DOMXML_MAX_XML) {
		g_set_error(err, VN_DOMXML_ERROR, 0, "%s is larger than %d bytes", what,
			    VN_DOMXML_MAX_XML);
		return NULL;
	}
	xmlInitParser();
	ctx = xmlNewParserCtxt();
	if (!ctx) {
		g_set_error(err, VN_DOMXML_ERROR, 0, "out of memory");
		return NULL;
	}
	doc = xmlCtxtReadMemory(ctx, xml, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		xmlError *e = xmlCtxtGetLastError(ctx);
		g_autofree char *m = g_strstrip(g_strdup(e && e->message ? e->message : "?"));
		g_set_error(err, VN_DOMXML_ERROR, 0, "malformed %s: line %d: %s", what,
			    e ? e->line : 0, m);
	} else if (doc->intSubset || doc->extSubset || !xmlDocGetRootElement(doc)) {
		g_set_error(err, VN_DOMXML_ERROR, 0, "%s: a DOCTYPE is not accepted", what);
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctx);
	return doc;
}

static bool uuid_valid(const char *s)
{
	static const int dash[] = {8, 13, 18, 23};

	if (strlen(s) != 36)
		return false;
	for (int i = 0, d = 0; i < 36; i++) {
		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				return false;
			d++;
		} else if (!g_ascii_isxdigit(s[i])) {
			return false;
		}
	}
	return true;
}

/* The <domain> part of the port names of @name (see domxml.h): into @out, <= @room chars. */
static void port_prefix(const char *name, char *out, size_t room)
{
	g_autofree char *s = g_strdup(name);
	bool changed = s[0] == '-' || s[0] == '.';

	for (char *p = s; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("_.-", *p)) {
			*p = '_';
			changed = true;
		}
	if (s[0] == '-' || s[0] == '.')
		s[0] = '_';
	if (!changed && strlen(s) <= room) {
		g_strlcpy(out, s, room + 1);
		return;
	}
	g_autofree char *h = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, -1);
	size_t keep = room > 9 ? room - 9 : 0;
	if (strlen(s) < keep)
		keep = strlen(s);
	snprintf(out, room + 1, "%.*s.%.8s", (int)keep, s, h);
}

/* Name @nic's port from the domain name and its index. */
static void nic_name(const char *domain, struct vn_domxml_nic *nic)
{
	char suffix[24], prefix[VN_DOMXML_PORT_MAX];
	guint64 n;

	nic->index = nic->position;
	if (nic->alias && g_str_has_prefix(nic->alias, "net") && nic->alias[3] &&
	    g_ascii_string_to_unsigned(nic->alias + 3, 10, 0, 99999, &n, NULL))
		nic->index = (guint)n;
	snprintf(suffix, sizeof(suffix), "-net%u", nic->index);
	port_prefix(domain, prefix, VN_DOMXML_PORT_MAX - 1 - strlen(suffix));
	g_strlcpy(nic->port, prefix, sizeof(nic->port)); /* prefix + suffix fit (see above) */
	g_strlcat(nic->port, suffix, sizeof(nic->port));
}

/* libvirt's <vlan> of an ethernet NIC as a vnicctl VLAN mode. */
static int lv_vlan(xmlNode *v, struct vn_domxml_nic *nic, GError **err)
{
	g_autofree char *trunk = dx_attr(v, "trunk");
	g_autoptr(GString) list = g_string_new(NULL);
	g_autofree char *native = NULL;
	guint ntags = 0, native_tag = 0;
	int rc;

	for (xmlNode *t = v->children; t; t = t->next) {
		g_autofree char *id = NULL;
		g_autofree char *nm = NULL;
		guint64 tag = 0;
		if (!dx_is_lv(t, "tag"))
			continue;
		id = dx_attr(t, "id");
		nm = dx_attr(t, "nativeMode");
		if (!id)
			FAIL("<vlan><tag> of interface %s needs id=", nic->mac);
		if ((rc = dx_parse_uint(id, 1, 4094, &tag, "<vlan><tag id=>", err)) < 0)
			return rc;
		if (++ntags > 4094)
			FAIL("<vlan> of interface %s has too many tags", nic->mac);
		if (nm) {
			if (strcmp(nm, "tagged") && strcmp(nm, "untagged"))
				FAIL("invalid <tag nativeMode='%s'> of interface %s", nm, nic->mac);
			g_free(native);
			native = g_strdup_printf("native-%s", nm);
			native_tag = (guint)tag;
		}
		g_string_append_printf(list, "%s%u", list->len ? "," : "", (guint)tag);
	}
	if (!ntags)
		return 0;
	if (native) {
		nic->lv_vlan_mode = g_steal_pointer(&native);
		nic->lv_vlan = native_tag;
		nic->lv_vlans = g_strdup(list->str);
	} else if (ntags == 1 && !(trunk && !strcmp(trunk, "yes"))) {
		nic->lv_vlan_mode = g_strdup("access");
		nic->lv_vlan = (guint)g_ascii_strtoull(list->str, NULL, 10);
	} else {
		nic->lv_vlan_mode = g_strdup("trunk");
		nic->lv_vlans = g_strdup(list->str);
	}
	return 0;
}

/* The vhostuser <source type='unix' path= mode=>. */
static int nic_source(xmlNode *c, struct vn_domxml_nic *nic, GError **err)
{
	g_autofree char *type = dx_attr(c, "type");
	g_autofree char *mode = dx_attr(c, "mode");

	nic->path = dx_attr(c, "path");
	if (type && strcmp(type, "unix"))
		FAIL("vhostuser interface %d: <source type='%s'> is not 'unix'", nic->position,
		     type);
	if (!nic->path || nic->path[0] != '/' || strlen(nic->path) >= 108)
		FAIL("vhostuser interface %d: <source path=> must be an absolute socket path of "
		     "at most 107 bytes",
		     nic->position);
	if (!mode || (strcmp(mode, "client") && strcmp(mode, "server")))
		FAIL("vhostuser interface %d: <source mode=> must be client or server",
		     nic->position);
	nic->vnicd_server = !strcmp(mode, "client");
	return 0;
}

/* One child element @c of an <interface>. */
static int nic_child(xmlNode *c, struct vn_domxml_nic *nic, unsigned *seen, GError **err)
{
	static const char *const once[] = {"mac", "alias", "source", "target", "vlan", NULL};
	g_autofree char *v = NULL;
	guint64 n = 0;
	int rc;

	for (unsigned i = 0; once[i]; i++) {
		if (!dx_is_lv(c, once[i]))
			continue;
		if (*seen & (1u << i))
			FAIL("interface %u has more than one <%s>", nic->position, once[i]);
		*seen |= 1u << i;
	}

	if (dx_is_lv(c, "mac")) {
		v = dx_attr(c, "address");
		return dx_parse_mac(v, nic->mac, "<mac address=>", err);
	}
	if (dx_is_lv(c, "alias")) {
		nic->alias = dx_attr(c, "name");
		if (!nic->alias || !*nic->alias || strlen(nic->alias) > 64)
			FAIL("interface %d: invalid <alias name=>", nic->position);
		return 0;
	}
	if (dx_is_lv(c, "source") && nic->type == VN_DOMXML_VHOSTUSER)
		return nic_source(c, nic, err);
	if (dx_is_lv(c, "target") && nic->type == VN_DOMXML_ETHERNET) {
		v = dx_attr(c, "dev");
		if (v && (!*v || strlen(v) >= VN_DOMXML_IFNAME_MAX || strpbrk(v, "/: \t\n")))
			FAIL("interface %d: invalid <target dev='%s'> (1-15 characters)",
			     nic->position, v);
		g_strlcpy(nic->ifname, v ? v : "", sizeof(nic->ifname));
		return 0;
	}
	if (dx_is_lv(c, "driver")) {
		v = dx_attr(c, "queues");
		rc = dx_parse_uint(v, 1, VN_DOMXML_MAX_QUEUES, &n, "<driver queues=>", err);
		nic->queues = (guint)n;
		return rc;
	}
	if (dx_is_lv(c, "mtu")) {
		v = dx_attr(c, "size");
		rc = dx_parse_uint(v, 68, 65535, &n, "<mtu size=>", err);
		nic->mtu = (guint)n;
		return rc;
	}
	if (dx_is_lv(c, "bandwidth"))
		return dx_parse_bandwidth(c, &nic->bw_in, &nic->bw_out, false, err);
	if (dx_is_lv(c, "vlan") && nic->type == VN_DOMXML_ETHERNET)
		return lv_vlan(c, nic, err);
	return 0;
}

/* One <interface> at @position: a new NIC record in @out, or NULL when not a candidate. */
static int parse_interface(xmlNode *n, guint position, struct vn_domxml_nic **out, GError **err)
{
	g_autofree char *type = dx_attr(n, "type");
	struct vn_domxml_nic *nic;
	unsigned seen = 0;
	int rc = 0;

	*out = NULL;
	if (!type || (strcmp(type, "vhostuser") && strcmp(type, "ethernet")))
		return 0;
	nic = g_new0(struct vn_domxml_nic, 1);
	nic->type = strcmp(type, "vhostuser") ? VN_DOMXML_ETHERNET : VN_DOMXML_VHOSTUSER;
	nic->position = position;
	for (xmlNode *c = n->children; c && rc == 0; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			rc = nic_child(c, nic, &seen, err);
	if (rc == 0 && nic->type == VN_DOMXML_VHOSTUSER && !nic->path) {
		g_set_error(err, VN_DOMXML_ERROR, 0, "vhostuser interface %u has no <source path=>",
			    position);
		rc = -EINVAL;
	}
	if (rc < 0) {
		nic_free(nic);
		return rc;
	}
	*out = nic;
	return 0;
}

static const struct vn_domxml_policy *policy_for(GPtrArray *pols, const char *mac)
{
	for (guint i = 0; *mac && i < pols->len; i++) {
		const struct vn_domxml_policy *p = pols->pdata[i];
		if (!strcmp(p->mac, mac))
			return p;
	}
	return NULL;
}

/*
 * Link every NIC of @all to its policy in @pols and list the NICs vnicd serves into a new
 * *@nics. Return: 0, or -EINVAL when the policy names an ethernet NIC without target dev or
 * too many NICs are vnicd's (nothing changed then).
 */
static int relink(GPtrArray *all, GPtrArray *pols, GPtrArray **nics, GError **err)
{
	g_autoptr(GPtrArray) l = g_ptr_array_new();

	for (guint i = 0; i < all->len; i++) {
		struct vn_domxml_nic *nic = all->pdata[i];
		const struct vn_domxml_policy *p = policy_for(pols, nic->mac);
		if (nic->type == VN_DOMXML_ETHERNET && !p)
			continue;
		if (nic->type == VN_DOMXML_ETHERNET && !*nic->ifname)
			FAIL("the vnicd policy names ethernet interface %s, which has no "
			     "<target dev=>",
			     nic->mac);
		if (l->len >= VN_DOMXML_MAX_NICS)
			FAIL("more than %d NICs for vnicd in one domain", VN_DOMXML_MAX_NICS);
		g_ptr_array_add(l, nic);
	}
	for (guint i = 0; i < all->len; i++) {
		struct vn_domxml_nic *nic = all->pdata[i];
		nic->policy = policy_for(pols, nic->mac);
	}
	*nics = g_steal_pointer(&l);
	return 0;
}

/* The <devices> element: every candidate NIC into dom->all, named. */
static int parse_devices(xmlNode *devs, struct vn_domxml *dom, guint *position, GError **err)
{
	int rc;

	for (xmlNode *c = devs->children; c; c = c->next) {
		struct vn_domxml_nic *nic = NULL;
		if (!dx_is_lv(c, "interface"))
			continue;
		if (*position >= VN_DOMXML_MAX_INTERFACES)
			FAIL("more than %d <interface> elements", VN_DOMXML_MAX_INTERFACES);
		if ((rc = parse_interface(c, (*position)++, &nic, err)) < 0)
			return rc;
		if (!nic)
			continue;
		nic_name(dom->name, nic);
		for (guint i = 0; i < dom->all->len; i++) {
			struct vn_domxml_nic *o = dom->all->pdata[i];
			bool dup_port = !strcmp(o->port, nic->port);
			bool dup_mac = *nic->mac && !strcmp(o->mac, nic->mac);
			if (dup_port || dup_mac) {
				g_set_error(err, VN_DOMXML_ERROR, 0,
					    "interfaces %u and %u have the same %s", o->position,
					    nic->position, dup_mac ? "MAC address" : "port name");
				nic_free(nic);
				return -EINVAL;
			}
		}
		g_ptr_array_add(dom->all, nic);
	}
	return 0;
}

/* Find the vnicd <policy> in a domain's <metadata>, or NULL. */
static xmlNode *find_policy(xmlNode *md)
{
	for (xmlNode *c = md->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && c->ns && c->ns->href &&
		    !strcmp((const char *)c->ns->href, VN_DOMXML_NS))
			return c;
	return NULL;
}

/* The children of <domain> we read: name, uuid, metadata, devices. */
static int parse_domain(xmlNode *root, struct vn_domxml *dom, GError **err)
{
	xmlNode *devs = NULL, *pol = NULL;
	guint position = 0;
	int rc;

	for (xmlNode *c = root->children; c; c = c->next) {
		if (dx_is_lv(c, "name") && !dom->name) {
			dom->name = dx_text(c);
		} else if (dx_is_lv(c, "uuid") && !*dom->uuid) {
			g_autofree char *u = dx_text(c);
			if (!uuid_valid(u))
				FAIL("invalid <uuid>%s</uuid> (expected 8-4-4-4-12 hex digits)", u);
			for (int i = 0; i < 37; i++)
				dom->uuid[i] = g_ascii_tolower(u[i]);
		} else if (dx_is_lv(c, "metadata") && !pol) {
			pol = find_policy(c);
		} else if (dx_is_lv(c, "devices") && !devs) {
			devs = c;
		}
	}
	if (!dom->name || !*dom->name || strlen(dom->name) > VN_DOMXML_NAME_MAX)
		FAIL("the domain needs a <name> of 1-%d bytes", VN_DOMXML_NAME_MAX);
	if (!*dom->uuid)
		FAIL("domain '%s' has no <uuid>", dom->name);
	if (pol && (rc = dx_meta_policy(pol, false, dom->policies, err)) < 0)
		return rc;
	if (devs && (rc = parse_devices(devs, dom, &position, err)) < 0)
		return rc;
	return relink(dom->all, dom->policies, &dom->nics, err);
}

/**
 * vn_domxml_parse() - parse the domain XML @xml (@len bytes, at most VN_DOMXML_MAX_XML).
 * Return: the domain (free with vn_domxml_free()), or NULL with @err naming what is wrong.
 */
struct vn_domxml *vn_domxml_parse(const char *xml, gsize len, GError **err)
{
	g_autoptr(vn_domxml) dom = g_new0(struct vn_domxml, 1);
	xmlDoc *doc;
	xmlNode *root;
	int rc;

	dom->all = g_ptr_array_new_with_free_func(nic_free);
	dom->policies = g_ptr_array_new_with_free_func(dx_policy_free);
	if (!(doc = read_doc(xml, len, "domain XML", err)))
		return NULL;
	root = xmlDocGetRootElement(doc);
	if (!dx_is_lv(root, "domain")) {
		g_set_error(err, VN_DOMXML_ERROR, 0, "not a libvirt domain: the root is <%s>",
			    root->name);
		xmlFreeDoc(doc);
		return NULL;
	}
	rc = parse_domain(root, dom, err);
	xmlFreeDoc(doc);
	return rc < 0 ? NULL : g_steal_pointer(&dom);
}

/**
 * vn_domxml_set_metadata() - replace @dom's policy with the element @xml (NULL: none).
 * Return: 0, or -EINVAL with @err (@dom unchanged).
 */
int vn_domxml_set_metadata(struct vn_domxml *dom, const char *xml, gsize len, GError **err)
{
	g_autoptr(GPtrArray) pols = g_ptr_array_new_with_free_func(dx_policy_free);
	g_autoptr(GPtrArray) nics = NULL;
	int rc = 0;

	if (xml && len) {
		xmlDoc *doc = read_doc(xml, len, "vnicd policy metadata", err);
		if (!doc)
			return -EINVAL;
		rc = dx_meta_policy(xmlDocGetRootElement(doc), true, pols, err);
		xmlFreeDoc(doc);
		if (rc < 0)
			return rc;
	}
	if ((rc = relink(dom->all, pols, &nics, err)) < 0) /* fails before changing links */
		return rc;
	g_ptr_array_unref(dom->nics);
	dom->nics = g_steal_pointer(&nics);
	g_ptr_array_unref(dom->policies);
	dom->policies = g_steal_pointer(&pols);
	return 0;
}

/** vn_domxml_find_alias() - Return: the NIC of @dom with libvirt alias @alias, or NULL. */
const struct vn_domxml_nic *vn_domxml_find_alias(const struct vn_domxml *dom, const char *alias)
{
	for (guint i = 0; alias && i < dom->nics->len; i++) {
		const struct vn_domxml_nic *nic = dom->nics->pdata[i];
		if (nic->alias && !strcmp(nic->alias, alias))
			return nic;
	}
	return NULL;
}

/** vn_domxml_find_mac() - Return: the NIC of @dom with MAC @mac (any case), or NULL. */
const struct vn_domxml_nic *vn_domxml_find_mac(const struct vn_domxml *dom, const char *mac)
{
	for (guint i = 0; mac && i < dom->nics->len; i++) {
		const struct vn_domxml_nic *nic = dom->nics->pdata[i];
		if (*nic->mac && !g_ascii_strcasecmp(nic->mac, mac))
			return nic;
	}
	return NULL;
}
