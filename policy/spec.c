/* SPDX-License-Identifier: MIT */
/* Policy specs on the control thread: validate and merge `port.set`, build and describe policies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/fastpath.h"
#include "vnicd/args.h"
#include "vnicd/policy.h"

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, __VA_ARGS__);            \
		return -EINVAL;                                                                    \
	} while (0)

static const char *const mode_names[VN_VLAN__MAX] = {
    [VN_VLAN_NONE] = "none",
    [VN_VLAN_ACCESS] = "access",
    [VN_VLAN_TRUNK] = "trunk",
    [VN_VLAN_NATIVE_UNTAGGED] = "native-untagged",
    [VN_VLAN_NATIVE_TAGGED] = "native-tagged",
    [VN_VLAN_DOT1Q_TUNNEL] = "dot1q-tunnel",
};

static const char *const spec_keys[] = {
    "vlan_mode",	 "vlan",     "vlans",	"tpid",	    "lock_mac",	     "allowed_ip",
    "allow_dhcp_server", "allow_ra", "inbound", "outbound", "storm_control", NULL};

const char *vn_vlan_mode_name(enum vn_vlan_mode m)
{
	return (unsigned)m < VN_VLAN__MAX ? mode_names[m] : "?";
}

static int mode_of(const char *s)
{
	for (int i = 0; i < VN_VLAN__MAX; i++)
		if (strcmp(mode_names[i], s) == 0)
			return i;
	return -1;
}

/* A whole number given as a JSON integer or a string (decimal, or 0x hex when @hex). */
static bool node_uint(JsonNode *n, bool hex, guint64 *out)
{
	if (vn_json_is(n, G_TYPE_INT64)) {
		gint64 v = json_node_get_int(n);
		if (v < 0)
			return false;
		*out = (guint64)v;
		return true;
	}
	if (vn_json_is(n, G_TYPE_STRING)) {
		const char *s = json_node_get_string(n);
		if (hex && g_str_has_prefix(s, "0x"))
			return g_ascii_string_to_unsigned(s + 2, 16, 0, G_MAXUINT64, out, NULL);
		return g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT64, out, NULL);
	}
	return false;
}

static char *node_text(JsonNode *n)
{
	if (vn_json_is(n, G_TYPE_STRING))
		return g_strdup(json_node_get_string(n));
	return json_to_string(n, FALSE);
}

/* Parse a VLAN list ("10,20-30" or [10, 20]) into @bm (bits 1..4094). */
static int parse_vlans(JsonNode *n, uint64_t bm[64], GError **err)
{
	g_autofree char *txt = node_text(n);
	g_auto(GStrv) parts = NULL;
	unsigned count = 0;

	memset(bm, 0, 64 * sizeof(uint64_t));
	if (JSON_NODE_HOLDS_ARRAY(n)) {
		JsonArray *a = json_node_get_array(n);
		for (guint i = 0; i < json_array_get_length(a); i++) {
			guint64 v;
			if (!node_uint(json_array_get_element(a, i), false, &v) || v < 1 ||
			    v > VN_VID_MAX)
				FAIL("invalid --vlans %s (VLAN IDs are 1-4094)", txt);
			bm[v >> 6] |= 1ULL << (v & 63);
			count++;
		}
	} else if (vn_json_is(n, G_TYPE_STRING)) {
		parts = g_strsplit(json_node_get_string(n), ",", -1);
		for (char **p = parts; *p; p++) {
			guint64 lo, hi;
			char *dash = strchr(*p, '-');
			if (dash)
				*dash = 0;
			if (!g_ascii_string_to_unsigned(*p, 10, 0, G_MAXUINT64, &lo, NULL) ||
			    (dash &&
			     !g_ascii_string_to_unsigned(dash + 1, 10, 0, G_MAXUINT64, &hi, NULL)))
				FAIL("invalid --vlans '%s' (expected a list like 10,20-30)", txt);
			if (!dash)
				hi = lo;
			if (lo < 1 || hi > VN_VID_MAX || lo > hi)
				FAIL("invalid --vlans '%s' (VLAN IDs are 1-4094, ranges low-high)",
				     txt);
			for (guint64 v = lo; v <= hi; v++)
				bm[v >> 6] |= 1ULL << (v & 63);
			count++;
		}
	} else {
		FAIL("invalid --vlans %s (expected a list like 10,20-30)", txt);
	}
	if (!count)
		FAIL("--vlans needs at least one VLAN ID");
	return 0;
}

/* Canonical text of a VLAN bitmap (bits 1..4094): "10,20-30". */
static char *vlans_text(const uint64_t bm[64])
{
	GString *s = g_string_new(NULL);

	for (unsigned v = 1; v <= VN_VID_MAX; v++) {
		unsigned e = v;
		if (!((bm[v >> 6] >> (v & 63)) & 1))
			continue;
		while (e + 1 <= VN_VID_MAX && ((bm[(e + 1) >> 6] >> ((e + 1) & 63)) & 1))
			e++;
		if (s->len)
			g_string_append_c(s, ',');
		if (e == v)
			g_string_append_printf(s, "%u", v);
		else
			g_string_append_printf(s, "%u-%u", v, e);
		v = e;
	}
	return g_string_free(s, FALSE);
}

static int parse_vid(JsonNode *n, const char *what, guint64 *vid, GError **err)
{
	g_autofree char *txt = node_text(n);

	if (!node_uint(n, false, vid) || *vid < 1 || *vid > VN_VID_MAX)
		FAIL("invalid %s %s (a VLAN ID is 1-4094)", what, txt);
	return 0;
}

static int parse_bool(JsonNode *n, const char *what, bool *out, GError **err)
{
	if (!vn_json_is(n, G_TYPE_BOOLEAN))
		FAIL("%s must be true or false", what);
	*out = json_node_get_boolean(n);
	return 0;
}

/* An IPv4 or IPv6 address in canonical text. */
static int parse_ip(const char *s, char out[INET6_ADDRSTRLEN], GError **err)
{
	uint8_t b[16];

	if (inet_pton(AF_INET, s, b) == 1)
		inet_ntop(AF_INET, b, out, INET6_ADDRSTRLEN);
	else if (inet_pton(AF_INET6, s, b) == 1)
		inet_ntop(AF_INET6, b, out, INET6_ADDRSTRLEN);
	else
		FAIL("invalid address '%s' in --allowed-ip (expected IPv4 or IPv6 addresses)", s);
	return 0;
}

/* --allowed-ip: "a,b", "none"/"" (clear), or ["a", "b"]; into a new array (NULL: cleared). */
static int parse_ips(JsonNode *n, JsonArray **out, GError **err)
{
	g_autoptr(JsonArray) a = json_array_new();
	g_auto(GStrv) parts = NULL;

	*out = NULL;
	if (JSON_NODE_HOLDS_NULL(n))
		return 0;
	if (vn_json_is(n, G_TYPE_STRING)) {
		const char *s = json_node_get_string(n);
		if (!*s || strcmp(s, "none") == 0)
			return 0;
		parts = g_strsplit(s, ",", -1);
	} else if (JSON_NODE_HOLDS_ARRAY(n)) {
		JsonArray *in = json_node_get_array(n);
		parts = g_new0(char *, json_array_get_length(in) + 1);
		for (guint i = 0; i < json_array_get_length(in); i++) {
			JsonNode *e = json_array_get_element(in, i);
			if (!vn_json_is(e, G_TYPE_STRING))
				FAIL("--allowed-ip must list addresses as strings");
			parts[i] = g_strdup(json_node_get_string(e));
		}
	} else {
		FAIL("--allowed-ip must be a list of addresses");
	}
	for (char **p = parts; *p; p++) {
		char canon[INET6_ADDRSTRLEN];
		bool dup = false;
		if (parse_ip(g_strstrip(*p), canon, err) < 0)
			return -EINVAL;
		for (guint i = 0; i < json_array_get_length(a) && !dup; i++)
			dup = strcmp(json_array_get_string_element(a, i), canon) == 0;
		if (!dup)
			json_array_add_string_element(a, canon);
	}
	if (json_array_get_length(a) > VN_POLICY_MAX_IPS)
		FAIL("--allowed-ip lists %u addresses (at most %d)", json_array_get_length(a),
		     VN_POLICY_MAX_IPS);
	if (json_array_get_length(a))
		*out = g_steal_pointer(&a);
	return 0;
}

/*
 * A rate spec: "average=KBps[,peak=KBps][,burst=KiB]", "none"/null (clear) or an object
 * {average, peak, burst}; into a new normalised object (NULL: cleared).
 */
static int parse_rate(JsonNode *n, const char *what, JsonObject **out, GError **err)
{
	g_autoptr(JsonObject) o = json_object_new();
	g_autofree char *txt = node_text(n);
	guint64 v[3] = {0};
	bool seen[3] = {false};
	static const char *const names[3] = {"average", "peak", "burst"};

	*out = NULL;
	if (JSON_NODE_HOLDS_NULL(n) ||
	    (vn_json_is(n, G_TYPE_STRING) && (strcmp(json_node_get_string(n), "none") == 0)))
		return 0;
	if (vn_json_is(n, G_TYPE_STRING)) {
		g_auto(GStrv) parts = g_strsplit(json_node_get_string(n), ",", -1);
		for (char **p = parts; *p; p++) {
			char *eq = strchr(*p, '=');
			int k = -1;
			if (eq) {
				*eq = 0;
				for (int i = 0; i < 3; i++)
					if (strcmp(*p, names[i]) == 0)
						k = i;
			}
			if (k < 0 || seen[k] ||
			    !g_ascii_string_to_unsigned(eq + 1, 10, 1, G_MAXUINT64, &v[k], NULL))
				FAIL("invalid %s '%s' (expected "
				     "average=KBps[,peak=KBps][,burst=KiB], "
				     "positive whole numbers, or none)",
				     what, txt);
			seen[k] = true;
		}
	} else if (JSON_NODE_HOLDS_OBJECT(n)) {
		JsonObject *in = json_node_get_object(n);
		g_autoptr(GList) keys = json_object_get_members(in);
		for (GList *l = keys; l; l = l->next) {
			int k = -1;
			JsonNode *e = json_object_get_member(in, l->data);
			for (int i = 0; i < 3; i++)
				if (strcmp(l->data, names[i]) == 0)
					k = i;
			if (k < 0)
				FAIL("invalid %s: unknown member '%s'", what, (char *)l->data);
			if (JSON_NODE_HOLDS_NULL(e))
				continue;
			if (!node_uint(e, false, &v[k]) || v[k] == 0)
				FAIL("invalid %s %s: %s must be a positive whole number", what, txt,
				     names[k]);
			seen[k] = true;
		}
	} else {
		FAIL("invalid %s %s (expected average=KBps[,peak=KBps][,burst=KiB] or none)", what,
		     txt);
	}
	if (!seen[0])
		FAIL("invalid %s '%s': average=KBps is required", what, txt);
	if (v[0] > VN_METER_MAX_KBPS || v[1] > VN_METER_MAX_KBPS)
		FAIL("invalid %s '%s': rates are at most %llu KBps", what, txt,
		     (unsigned long long)VN_METER_MAX_KBPS);
	if (seen[1] && v[1] < v[0])
		FAIL("invalid %s '%s': peak is below average", what, txt);
	if (v[2] > VN_METER_MAX_BURST_KIB)
		FAIL("invalid %s '%s': burst is at most %llu KiB", what, txt,
		     (unsigned long long)VN_METER_MAX_BURST_KIB);
	for (int i = 0; i < 3; i++)
		if (seen[i])
			json_object_set_int_member(o, names[i], (gint64)v[i]);
	*out = g_steal_pointer(&o);
	return 0;
}

static JsonNode *member(JsonObject *o, const char *k)
{
	return o ? json_object_get_member(o, k) : NULL;
}

/* Member @k of @chg when it is there, otherwise of @cur. */
static JsonNode *changed(JsonObject *chg, JsonObject *cur, const char *k)
{
	return member(chg, k) ? member(chg, k) : member(cur, k);
}

/* The VLAN members of a spec being merged, parsed (bm is only set when has_vlans). */
struct vlan_members {
	int mode;
	guint64 vid, tpid;
	uint64_t bm[64];
	bool has_vid, has_vlans, has_tpid;
};

/* Reject any member of @chg that is not a policy setting. */
static int check_keys(JsonObject *chg, GError **err)
{
	g_autoptr(GList) keys = NULL;

	if (!chg)
		return 0;
	keys = json_object_get_members(chg);
	for (GList *l = keys; l; l = l->next) {
		bool known = false;
		for (const char *const *k = spec_keys; *k && !known; k++)
			known = strcmp(*k, l->data) == 0;
		if (!known)
			FAIL("unknown policy setting '%s'", (char *)l->data);
	}
	return 0;
}

/* The VLAN mode of @vsrc into v->mode (VN_VLAN_NONE when it has none). */
static int parse_vlan_mode(JsonObject *vsrc, struct vlan_members *v, GError **err)
{
	JsonNode *n = member(vsrc, "vlan_mode");

	v->mode = VN_VLAN_NONE;
	if (n &&
	    (!vn_json_is(n, G_TYPE_STRING) || (v->mode = mode_of(json_node_get_string(n))) < 0)) {
		g_autofree char *t = node_text(n);
		FAIL("invalid --vlan-mode %s (access, trunk, native-untagged, "
		     "native-tagged, "
		     "dot1q-tunnel or none)",
		     t);
	}
	return 0;
}

/* vlan, vlans and tpid, each from @chg when there, otherwise from @vsrc, into @v. */
static int parse_vlan_ids(JsonObject *chg, JsonObject *vsrc, struct vlan_members *v, GError **err)
{
	JsonNode *nv = changed(chg, vsrc, "vlan");
	JsonNode *nl = changed(chg, vsrc, "vlans");
	JsonNode *nt = changed(chg, vsrc, "tpid");

	if (nv && !JSON_NODE_HOLDS_NULL(nv)) {
		if (parse_vid(nv, "--vlan", &v->vid, err) < 0)
			return -EINVAL;
		v->has_vid = true;
	}
	if (nl && !JSON_NODE_HOLDS_NULL(nl)) {
		if (parse_vlans(nl, v->bm, err) < 0)
			return -EINVAL;
		v->has_vlans = true;
	}
	if (nt && !JSON_NODE_HOLDS_NULL(nt)) {
		g_autofree char *t = node_text(nt);
		if (!node_uint(nt, true, &v->tpid) || (v->tpid != 0x8100 && v->tpid != 0x88a8 &&
						       v->tpid != 0x9100 && v->tpid != 0x9200))
			FAIL("invalid --tpid %s (0x88a8, 0x8100, 0x9100 or 0x9200)", t);
		v->has_tpid = true;
	}
	return 0;
}

/* Does the VLAN mode have the VLAN members it needs, and only those? */
static int check_vlan_combination(const struct vlan_members *v, GError **err)
{
	switch (v->mode) {
	case VN_VLAN_NONE:
		if (v->has_vid || v->has_vlans || v->has_tpid)
			FAIL("--vlan, --vlans and --tpid need a --vlan-mode (the port has "
			     "none)");
		break;
	case VN_VLAN_ACCESS:
	case VN_VLAN_DOT1Q_TUNNEL:
		if (!v->has_vid)
			FAIL("--vlan-mode %s needs --vlan N", mode_names[v->mode]);
		if (v->has_vlans)
			FAIL("--vlans does not apply to --vlan-mode %s (one VLAN: --vlan N)",
			     mode_names[v->mode]);
		break;
	case VN_VLAN_TRUNK:
		if (!v->has_vlans)
			FAIL("--vlan-mode trunk needs --vlans LIST");
		if (v->has_vid)
			FAIL("--vlan does not apply to --vlan-mode trunk (for a native "
			     "VLAN use "
			     "native-untagged or native-tagged)");
		break;
	default:
		if (!v->has_vid)
			FAIL("--vlan-mode %s needs --vlan N (the native VLAN)",
			     mode_names[v->mode]);
		break;
	}
	if (v->has_tpid && v->mode != VN_VLAN_DOT1Q_TUNNEL)
		FAIL("--tpid applies to --vlan-mode dot1q-tunnel only");
	return 0;
}

/* Write the VLAN members of @v into @o in their normalised form (defaults left out). */
static void set_vlan_members(JsonObject *o, const struct vlan_members *v)
{
	if (v->mode != VN_VLAN_NONE)
		json_object_set_string_member(o, "vlan_mode", mode_names[v->mode]);
	if (v->has_vid)
		json_object_set_int_member(o, "vlan", (gint64)v->vid);
	if (v->has_vlans) {
		g_autofree char *t = vlans_text(v->bm);
		json_object_set_string_member(o, "vlans", t);
	}
	if (v->has_tpid && v->tpid != VN_TPID_8021AD) {
		char t[8];
		snprintf(t, sizeof(t), "0x%04x", (unsigned)v->tpid);
		json_object_set_string_member(o, "tpid", t);
	}
}

/* VLAN members into @o: a new --vlan-mode starts afresh; otherwise changes apply to @cur's. */
static int merge_vlan(JsonObject *cur, JsonObject *chg, JsonObject *o, GError **err)
{
	JsonObject *vsrc = member(chg, "vlan_mode") ? chg : cur;
	struct vlan_members v = {.mode = VN_VLAN_NONE};

	if (parse_vlan_mode(vsrc, &v, err) < 0 || parse_vlan_ids(chg, vsrc, &v, err) < 0 ||
	    check_vlan_combination(&v, err) < 0)
		return -EINVAL;
	set_vlan_members(o, &v);
	return 0;
}

/* Anti-spoofing members into @o: the flags (lock_mac needs @has_mac), then allowed_ip. */
static int merge_antispoof(JsonObject *cur, JsonObject *chg, bool has_mac, JsonObject *o,
			   GError **err)
{
	static const char *const flags[] = {"lock_mac", "allow_dhcp_server", "allow_ra"};
	static const char *const flag_opts[] = {"--lock-mac", "--allow-dhcp-server", "--allow-ra"};
	JsonNode *n;
	bool b;

	for (int i = 0; i < 3; i++) {
		n = changed(chg, cur, flags[i]);
		if (!n)
			continue;
		if (parse_bool(n, flag_opts[i], &b, err) < 0)
			return -EINVAL;
		if (b)
			json_object_set_boolean_member(o, flags[i], TRUE);
	}
	if (json_object_has_member(o, "lock_mac") && !has_mac)
		FAIL("--lock-mac needs the port's MAC address (port add ... --mac MAC)");
	if ((n = changed(chg, cur, "allowed_ip"))) {
		JsonArray *a;
		if (parse_ips(n, &a, err) < 0)
			return -EINVAL;
		if (a)
			json_object_set_array_member(o, "allowed_ip", a);
	}
	return 0;
}

/* Bandwidth members (inbound, then outbound) into @o. */
static int merge_rates(JsonObject *cur, JsonObject *chg, JsonObject *o, GError **err)
{
	for (int d = 0; d < 2; d++) {
		const char *k = d ? "outbound" : "inbound";
		JsonNode *n = changed(chg, cur, k);
		if (n) {
			JsonObject *r;
			if (parse_rate(n, d ? "--outbound" : "--inbound", &r, err) < 0)
				return -EINVAL;
			if (r)
				json_object_set_object_member(o, k, r);
		}
	}
	return 0;
}

/* Storm control into @o: frames a second, 1..VN_STORM_MAX_PPS, or "none"/null (cleared). */
static int merge_storm(JsonObject *cur, JsonObject *chg, JsonObject *o, GError **err)
{
	JsonNode *n = changed(chg, cur, "storm_control");
	guint64 pps;

	if (!n || JSON_NODE_HOLDS_NULL(n) ||
	    (vn_json_is(n, G_TYPE_STRING) && strcmp(json_node_get_string(n), "none") == 0))
		return 0;
	if (!node_uint(n, false, &pps) || pps < 1 || pps > VN_STORM_MAX_PPS) {
		g_autofree char *t = node_text(n);
		FAIL("invalid --storm-control %s (frames per second, 1-%llu, or none)", t,
		     (unsigned long long)VN_STORM_MAX_PPS);
	}
	json_object_set_int_member(o, "storm_control", (gint64)pps);
	return 0;
}

int vn_policy_spec_merge(JsonObject *cur, JsonObject *chg, bool has_mac, JsonObject **out,
			 GError **err)
{
	g_autoptr(JsonObject) o = json_object_new();

	*out = NULL;
	if (check_keys(chg, err) < 0 || merge_vlan(cur, chg, o, err) < 0 ||
	    merge_antispoof(cur, chg, has_mac, o, err) < 0 || merge_rates(cur, chg, o, err) < 0 ||
	    merge_storm(cur, chg, o, err) < 0)
		return -EINVAL;
	*out = g_steal_pointer(&o);
	return 0;
}

static guint64 get_uint(JsonObject *o, const char *k)
{
	JsonNode *n = member(o, k);
	guint64 v = 0;

	if (n)
		node_uint(n, true, &v);
	return v;
}

static int build_meter(JsonObject *spec, const char *k, const struct vn_meter *prev,
		       struct vn_meter **out, GError **err)
{
	JsonNode *n = member(spec, k);
	JsonObject *r;

	*out = NULL;
	if (!n || !JSON_NODE_HOLDS_OBJECT(n))
		return 0;
	r = json_node_get_object(n);
	*out = g_aligned_alloc0(1, sizeof(struct vn_meter), RTE_CACHE_LINE_SIZE);
	if (vn_meter_init(*out, get_uint(r, "average"), get_uint(r, "peak"), get_uint(r, "burst"),
			  prev) < 0) {
		g_aligned_free(*out);
		*out = NULL;
		FAIL("invalid --%s rate", k);
	}
	return 0;
}

int vn_policy_build(JsonObject *spec, const struct rte_ether_addr *mac, bool external,
		    const struct vn_port_policy *prev, struct vn_port_policy **out, GError **err)
{
	struct vn_port_policy *p;
	JsonNode *n;
	int mode = VN_VLAN_NONE;

	*out = NULL;
	if ((n = member(spec, "vlan_mode")) && vn_json_is(n, G_TYPE_STRING))
		mode = mode_of(json_node_get_string(n));
	if (mode < 0)
		FAIL("invalid vlan_mode in the stored policy");
	if (mode == VN_VLAN_NONE && !external && !member(spec, "lock_mac") &&
	    !member(spec, "allowed_ip") && !member(spec, "inbound") && !member(spec, "outbound") &&
	    !member(spec, "allow_dhcp_server") && !member(spec, "allow_ra") &&
	    !member(spec, "storm_control"))
		return 0; /* nothing to apply: the fast path */
	p = g_aligned_alloc0(1, sizeof(*p), RTE_CACHE_LINE_SIZE);
	p->tpid = VN_TPID_8021AD;
	if (mode == VN_VLAN_NONE && external) {
		mode = VN_VLAN_TRUNK; /* uplinks: every VLAN tagged, the untagged LAN untagged */
		memset(p->vlans, 0xff, sizeof(p->vlans));
		p->vlans[63] &= ~(1ULL << 63); /* 4095 is never a VLAN */
		p->default_uplink = true;
	} else if (mode != VN_VLAN_NONE) {
		GError *e = NULL;
		p->vlan = (uint16_t)get_uint(spec, "vlan");
		if ((n = member(spec, "vlans")) && parse_vlans(n, p->vlans, &e) < 0) {
			g_propagate_error(err, e);
			vn_policy_free(p);
			return -EINVAL;
		}
		if (member(spec, "tpid"))
			p->tpid = (uint16_t)get_uint(spec, "tpid");
		if (mode != VN_VLAN_TRUNK) /* the access/native/S-VLAN is always carried */
			p->vlans[p->vlan >> 6] |= 1ULL << (p->vlan & 63);
	}
	p->vlan_mode = (uint8_t)mode;
	p->vlan_aware = mode != VN_VLAN_NONE;
	switch (mode) { /* untagged frames received (vn_vlan_classify()) */
	case VN_VLAN_ACCESS:
	case VN_VLAN_NATIVE_UNTAGGED:
	case VN_VLAN_NATIVE_TAGGED:
		p->untagged_seg = (int16_t)p->vlan;
		break;
	case VN_VLAN_TRUNK:
		p->untagged_seg = (p->vlans[0] & 1) ? 0 : -1;
		break;
	default: /* none: not classified; dot1q-tunnel: the slow path */
		p->untagged_seg = mode == VN_VLAN_NONE ? 0 : -1;
		break;
	}
	p->tagged_in = mode == VN_VLAN_TRUNK || mode == VN_VLAN_NATIVE_UNTAGGED ||
		       mode == VN_VLAN_NATIVE_TAGGED;
	p->lock_mac = member(spec, "lock_mac") != NULL;
	p->allow_dhcp_server = member(spec, "allow_dhcp_server") != NULL;
	p->allow_ra = member(spec, "allow_ra") != NULL;
	if (mac) {
		p->mac = *mac;
		p->has_eui64 = true;
		p->eui64[0] = 0xfe;
		p->eui64[1] = 0x80;
		p->eui64[8] = (uint8_t)(mac->addr_bytes[0] ^ 0x02);
		memcpy(p->eui64 + 9, mac->addr_bytes + 1, 2);
		p->eui64[11] = 0xff;
		p->eui64[12] = 0xfe;
		memcpy(p->eui64 + 13, mac->addr_bytes + 3, 3);
	}
	if ((n = member(spec, "allowed_ip")) && JSON_NODE_HOLDS_ARRAY(n)) {
		JsonArray *a = json_node_get_array(n);
		for (guint i = 0; i < json_array_get_length(a) && i < VN_POLICY_MAX_IPS; i++) {
			const char *s = json_array_get_string_element(a, i);
			if (s && inet_pton(AF_INET, s, &p->ip4[p->nr_ip4]) == 1)
				p->nr_ip4++;
			else if (s && inet_pton(AF_INET6, s, p->ip6[p->nr_ip6]) == 1)
				p->nr_ip6++;
		}
	}
	p->ip_guard = p->nr_ip4 || p->nr_ip6;
	p->antispoof = p->lock_mac || p->ip_guard;
	if (build_meter(spec, "inbound", prev ? prev->in : NULL, &p->in, err) < 0 ||
	    build_meter(spec, "outbound", prev ? prev->out : NULL, &p->out, err) < 0) {
		vn_policy_free(p);
		return -EINVAL;
	}
	if (member(spec, "storm_control")) {
		p->storm = g_aligned_alloc0(1, sizeof(struct vn_storm), RTE_CACHE_LINE_SIZE);
		if (vn_storm_init(p->storm, get_uint(spec, "storm_control"),
				  prev ? prev->storm : NULL) < 0) {
			vn_policy_free(p);
			FAIL("invalid --storm-control in the stored policy");
		}
	}
	*out = p;
	return 0;
}

void vn_policy_free(struct vn_port_policy *p)
{
	if (!p)
		return;
	g_aligned_free(p->in);
	g_aligned_free(p->out);
	g_aligned_free(p->storm);
	g_aligned_free(p);
}

static void describe_meter(JsonBuilder *b, const char *k, const struct vn_meter *mt)
{
	json_builder_set_member_name(b, k);
	if (!mt) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "average");
	json_builder_add_int_value(b, (gint64)mt->average_kBps);
	json_builder_set_member_name(b, "peak");
	if (mt->peak_kBps)
		json_builder_add_int_value(b, (gint64)mt->peak_kBps);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "burst");
	if (mt->burst_kib)
		json_builder_add_int_value(b, (gint64)mt->burst_kib);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "bucket_bytes");
	json_builder_add_int_value(b, (gint64)mt->cbs);
	json_builder_set_member_name(b, "peak_bucket_bytes");
	json_builder_add_int_value(b, (gint64)mt->pbs);
	json_builder_end_object(b);
}

void vn_policy_describe(const struct vn_port_policy *p, JsonBuilder *b)
{
	static const struct vn_port_policy none = {.tpid = VN_TPID_8021AD};
	char ip[INET6_ADDRSTRLEN];

	if (!p)
		p = &none;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "vlan_mode");
	json_builder_add_string_value(b, vn_vlan_mode_name(p->vlan_mode));
	json_builder_set_member_name(b, "vlan");
	if (p->vlan_aware && p->vlan_mode != VN_VLAN_TRUNK)
		json_builder_add_int_value(b, p->vlan);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "vlans");
	json_builder_begin_array(b);
	for (unsigned v = 1; p->vlan_aware && v <= VN_VID_MAX; v++)
		if (vn_policy_admits(p, (uint16_t)v))
			json_builder_add_int_value(b, v);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "untagged_lan");
	json_builder_add_boolean_value(b, vn_policy_admits(p, 0));
	json_builder_set_member_name(b, "tpid");
	if (p->vlan_mode == VN_VLAN_DOT1Q_TUNNEL) {
		char t[8];
		snprintf(t, sizeof(t), "0x%04x", p->tpid);
		json_builder_add_string_value(b, t);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_set_member_name(b, "default_uplink");
	json_builder_add_boolean_value(b, p->default_uplink);
	json_builder_set_member_name(b, "lock_mac");
	json_builder_add_boolean_value(b, p->lock_mac);
	json_builder_set_member_name(b, "allowed_ip");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < p->nr_ip4; i++)
		json_builder_add_string_value(b, inet_ntop(AF_INET, &p->ip4[i], ip, sizeof(ip)));
	for (unsigned i = 0; i < p->nr_ip6; i++)
		json_builder_add_string_value(b, inet_ntop(AF_INET6, p->ip6[i], ip, sizeof(ip)));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "allow_dhcp_server");
	json_builder_add_boolean_value(b, p->allow_dhcp_server);
	json_builder_set_member_name(b, "allow_ra");
	json_builder_add_boolean_value(b, p->allow_ra);
	describe_meter(b, "inbound", p->in);
	describe_meter(b, "outbound", p->out);
	json_builder_set_member_name(b, "storm_control");
	if (p->storm) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "pps");
		json_builder_add_int_value(b, (gint64)p->storm->pps);
		json_builder_set_member_name(b, "bucket_frames");
		json_builder_add_int_value(b, p->storm->burst);
		json_builder_end_object(b);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_end_object(b);
}
