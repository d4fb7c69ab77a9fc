/* SPDX-License-Identifier: MIT */
/*
 * libvirt domain XML: the NICs vnicd serves, their policy, and the control requests for them.
 *
 * Input: a domain's XML as `virsh dumpxml` prints it or as a libvirt `qemu` hook reads it
 * on stdin (at `prepare` without device aliases, from `start` on with them), and the policy
 * element alone as virDomainGetMetadata() returns it. Output: one struct vn_domxml with a
 * record per NIC vnicd serves, and the control-protocol requests (include/vnicd/ctl.h) that
 * make vnicd's ports match them. No libvirt call, no I/O, no DPDK: the hook program, vnicd's
 * libvirt listener, the tests and the fuzzer all link it. Thread: any (no global state but
 * libxml2's, initialised on first use).
 *
 * NICs: every `<interface type='vhostuser'>` (source path, mode: libvirt's mode='client'
 * means QEMU connects, so vnicd is the socket *server*), and every `<interface
 * type='ethernet'>` whose MAC the policy metadata names (its `<target dev=>` must be given:
 * it becomes a vnicd `vnet` port precreating that TAP; libvirt then opens it, with
 * managed='no'). Other interface types are counted for the naming index but are not vnicd's.
 * Honoured from libvirt's own elements: `<mac address=>`, `<driver queues=>`,
 * `<bandwidth>` inbound/outbound average/peak/burst (`floor` ignored), `<mtu size=>` (the
 * port's `mtu`: vnicd refuses it above what the network carries), and for ethernet NICs
 * `<vlan>` (one tag:
 * access; several or trunk='yes': trunk; a tag with nativeMode: native-tagged/untagged).
 *
 * Port naming rule (the same in prepare and start XML, so both name the same port):
 *     <domain>-net<N>
 * N is the number of the NIC's libvirt alias when that alias is "net<N>" (libvirt names
 * NICs net0, net1, ... in device order at start, and the next free number on hotplug);
 * otherwise (no alias yet, at prepare; or a user alias "ua-...") its position among all
 * `<interface>` elements of `<devices>`, counting from 0. When the domain name has characters
 * other than A-Z a-z 0-9 _ . - (each becomes '_'), starts with '-' or '.', or the whole name
 * would exceed VN_DOMXML_PORT_MAX - 1 characters, <domain> is the sanitised name cut short
 * followed by '.' and 8 hex digits of the SHA-256 of the full domain name, so names stay
 * unique and stable.
 *
 * Policy metadata (namespace VN_DOMXML_NS, any prefix; in a domain's `<metadata>`):
 *   <policy>
 *     <interface mac="52:54:00:aa:00:01" network="br0">      network: default "br0"
 *       <vlan mode="access|trunk|native-untagged|native-tagged|dot1q-tunnel|none"
 *             tag="42" tags="10,20-30" tpid="0x88a8"/>
 *       <antispoof lock-mac="yes" allowed-ip="192.0.2.10,2001:db8::10"
 *                  allow-dhcp-server="no" allow-ra="no"/>
 *       <bandwidth><inbound average="KBps" peak="KBps" burst="KiB"/><outbound .../></bandwidth>
 *       <storm-control pps="1000"/>
 *       <overlay vni="5010" vni-map="10:5010,20:5020"/>
 *       <nat floating-ip="203.0.113.5">
 *         <forward proto="tcp|udp" port="8080" to-port="80"/>
 *       </nat>
 *     </interface>
 *   </policy>
 * Booleans are yes/no (also true/false, on/off). Metadata `<bandwidth>` and `<vlan>` take
 * precedence over libvirt's. Unknown elements or attributes in the namespace are errors
 * (a typo must not silently drop a VLAN). `<nat>` becomes the port's `floating_ip` and
 * `forward` settings (ports of vnicd nat networks; vnicd refuses them on other networks).
 */
#ifndef VNICD_DOMXML_H
#define VNICD_DOMXML_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#define VN_DOMXML_NS "https://vnicd.dev/xmlns/policy/1"
#define VN_DOMXML_DEFAULT_NET "br0"
#define VN_DOMXML_PORT_MAX 32		    /* port names incl. the NUL (vnicd's VN_NAME_MAX) */
#define VN_DOMXML_MAX_XML (4 * 1024 * 1024) /* bytes of domain XML accepted */
#define VN_DOMXML_MAX_NICS 32		    /* vnicd NICs (and metadata interfaces) per domain */
#define VN_DOMXML_MAX_INTERFACES 256	    /* <interface> elements of any type per domain */
#define VN_DOMXML_MAX_FORWARDS 8	    /* NAT forwards per interface (vnicd: 8 per port) */
#define VN_DOMXML_MAX_QUEUES 16		    /* <driver queues=> (vnicd's VN_MAX_QUEUES) */
#define VN_DOMXML_MAC_LEN 18		    /* "aa:bb:cc:dd:ee:ff" + NUL */
#define VN_DOMXML_UUID_LEN 37		    /* 8-4-4-4-12 + NUL */
#define VN_DOMXML_IFNAME_MAX 16		    /* ethernet target dev incl. the NUL (IFNAMSIZ) */

/** GError domain of this module's errors (code: 0). */
#define VN_DOMXML_ERROR (vn_domxml_error_quark())
GQuark vn_domxml_error_quark(void);

enum vn_domxml_type {
	VN_DOMXML_VHOSTUSER, /* <interface type='vhostuser'>: a vnicd "vhost" port */
	VN_DOMXML_ETHERNET,  /* <interface type='ethernet'>: a vnicd "vnet" port */
};

/** A rate of <bandwidth>: average/peak in KBps (1000 bytes/s), burst in KiB; 0 = not given. */
struct vn_domxml_rate {
	guint64 average, peak, burst;
};

/** One NAT port forward of the metadata: @proto "tcp"|"udp", public @port -> guest @to_port. */
struct vn_domxml_forward {
	char proto[4];
	guint16 port, to_port;
};

/**
 * One `<interface>` of the policy metadata (strings owned; NULL / 0 = not given).
 */
struct vn_domxml_policy {
	char mac[VN_DOMXML_MAC_LEN]; /* lower case */
	char *network;		     /* never NULL: VN_DOMXML_DEFAULT_NET when not given */
	char *vlan_mode;	     /* vnicctl's mode name; NULL: no <vlan> */
	guint vlan;		     /* tag (access/native/S-VLAN), 0: none */
	char *vlans;		     /* trunk list in vnicctl's syntax */
	char *tpid;		     /* "0x88a8", ... */
	bool has_antispoof;	     /* an <antispoof> element was given (its flags below) */
	bool lock_mac, allow_dhcp_server, allow_ra;
	char *allowed_ip; /* "a,b" */
	bool has_bandwidth;
	struct vn_domxml_rate inbound, outbound;
	guint64 storm_pps;
	guint32 vni;
	char *vni_map;
	bool has_nat;	   /* a <nat> element was given (its floating IP and forwards below) */
	char *floating_ip; /* IPv4 */
	GArray *forwards;  /* of struct vn_domxml_forward, never NULL */
};

/** One NIC vnicd serves (strings owned). */
struct vn_domxml_nic {
	enum vn_domxml_type type;
	guint index;			     /* N of the naming rule */
	guint position;			     /* among all <interface> elements, from 0 */
	char port[VN_DOMXML_PORT_MAX];	     /* the vnicd port name */
	char *alias;			     /* libvirt's device alias ("net0"), NULL at prepare */
	char mac[VN_DOMXML_MAC_LEN];	     /* lower case; "" when the XML has none */
	char *path;			     /* vhostuser: the socket path */
	bool vnicd_server;		     /* vhostuser: libvirt mode='client': vnicd listens */
	char ifname[VN_DOMXML_IFNAME_MAX];   /* ethernet: <target dev=> ("" when none) */
	guint queues;			     /* <driver queues=>, 0 when not given */
	guint mtu;			     /* <mtu size=>, 0 when not given */
	struct vn_domxml_rate bw_in, bw_out; /* libvirt's <bandwidth> */
	char *lv_vlan_mode;		     /* ethernet: libvirt's <vlan> as a vnicctl mode */
	guint lv_vlan;			     /* ... its (native) tag */
	char *lv_vlans;			     /* ... its trunk list */
	const struct vn_domxml_policy *policy; /* the metadata's for its MAC (owned by the
						  vn_domxml), or NULL */
};

/** A parsed domain. */
struct vn_domxml {
	char *name;		       /* <name> */
	char uuid[VN_DOMXML_UUID_LEN]; /* <uuid>, lower case */
	GPtrArray *nics;	       /* the NICs vnicd serves (pointers into @all), in device
					  order */
	GPtrArray *all;		       /* struct vn_domxml_nic * (owned): every vhostuser and every
					  ethernet NIC, whether the metadata names it or not (a
					  metadata change may) */
	GPtrArray *policies;	       /* struct vn_domxml_policy *, the metadata's interfaces */
};

/**
 * vn_domxml_parse() - parse the domain XML @xml (@len bytes, at most VN_DOMXML_MAX_XML;
 * NUL termination not needed). DTDs and entities are refused, nothing is fetched.
 * Return: the domain (free with vn_domxml_free()), or NULL with @err naming the element or
 * attribute at fault (a bad MAC, a vhostuser NIC without a socket path, too many NICs...).
 */
struct vn_domxml *vn_domxml_parse(const char *xml, gsize len, GError **err);

/**
 * vn_domxml_set_metadata() - replace @dom's policy with the policy element @xml (@len bytes)
 * as virDomainGetMetadata() returns it (`<policy>` with no namespace prefix, or in
 * VN_DOMXML_NS under any prefix; NULL/0: the metadata was removed), and re-link every NIC's
 * policy; @dom->nics is rebuilt (an ethernet NIC the new policy names joins it, one it no
 * longer names leaves it). On error @dom is unchanged.
 * Return: 0, or -EINVAL with @err.
 */
int vn_domxml_set_metadata(struct vn_domxml *dom, const char *xml, gsize len, GError **err);

typedef struct vn_domxml vn_domxml;

/** vn_domxml_free() - free @dom (NULL is fine). */
void vn_domxml_free(struct vn_domxml *dom);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(vn_domxml, vn_domxml_free)

/** vn_domxml_find_alias() - Return: the NIC of @dom with libvirt alias @alias, or NULL. */
const struct vn_domxml_nic *vn_domxml_find_alias(const struct vn_domxml *dom, const char *alias);

/** vn_domxml_find_mac() - Return: the NIC of @dom with MAC @mac (any case), or NULL. */
const struct vn_domxml_nic *vn_domxml_find_mac(const struct vn_domxml *dom, const char *mac);

/**
 * vn_domxml_port_add() - the `port.add` request for @nic of @dom as a JSON object
 * {"cmd": "port.add", "args": {name, kind, path|ifname, [server], [mac], [queues], [mtu],
 * net, vm_uuid, vm_name, [policy], [vni], [vni_map], [floating_ip], [forward]}} (the policy
 * as in vn_domxml_port_set(), with defaults left out). @notes (may be NULL) gets one-line
 * notes on settings vnicd cannot apply (none at present).
 * Return: a new node (json_node_unref it).
 */
JsonNode *vn_domxml_port_add(const struct vn_domxml *dom, const struct vn_domxml_nic *nic,
			     GPtrArray *notes);

/**
 * vn_domxml_port_set() - the `port.set` request that makes the port of @nic carry exactly
 * @nic's effective policy (metadata over libvirt's elements): every policy setting given,
 * cleared ones as "none"/false, so it also undoes a setting the metadata no longer has;
 * `vni`/`vni_map` only when the metadata gives them (they apply to overlay ports only).
 * Return: a new node {"cmd": "port.set", "args": {...}} (json_node_unref it).
 */
JsonNode *vn_domxml_port_set(const struct vn_domxml_nic *nic);

/**
 * vn_domxml_port_set_libvirt() - a `port.set` request for port @port (an existing vnet port
 * that @nic, an ethernet NIC the metadata does not name, targets) with only what libvirt's
 * own elements of @nic state (<vlan>, <bandwidth>); other settings of the port are kept.
 * Return: a new node (json_node_unref it), or NULL when @nic states nothing.
 */
JsonNode *vn_domxml_port_set_libvirt(const struct vn_domxml_nic *nic, const char *port);

/** vn_domxml_port_del() - Return: a new node {"cmd": "port.del", "args": {"name": port}}. */
JsonNode *vn_domxml_port_del(const struct vn_domxml_nic *nic);

/**
 * vn_domxml_nic_requests() - the requests that create @nic's port and give it its policy:
 * port.add then port.set, appended to @reqs (a GPtrArray of JsonNode * with
 * json_node_unref as its free function); notes as for vn_domxml_port_add().
 */
void vn_domxml_nic_requests(const struct vn_domxml *dom, const struct vn_domxml_nic *nic,
			    GPtrArray *reqs, GPtrArray *notes);

/** vn_domxml_request_line() - Return: @req as one JSON line without the newline (g_free it). */
char *vn_domxml_request_line(JsonNode *req);

#endif
