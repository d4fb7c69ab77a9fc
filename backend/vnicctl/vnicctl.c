/* SPDX-License-Identifier: MIT */
/* vnicctl: command-line client of vnicd; one verbs table gives its usage, checks and dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnicd-config.h"
#include "vnicctl.h"

/*
 * The flags. Their order here is the order in which a flag given to a command that does not
 * take it is reported (the first one wins), and flags are named in this order when they are
 * listed together ("--vm and --port belong to 'stats'").
 */
enum flag_id {
	F_NONE, /* ends a verb's list */
	F_HELP,
	F_VERSION,
	F_SOCKET,
	F_JSON,
	F_DETAIL,
	F_COMMANDS,
	F_OUT,
	F_COUNT,
	F_DURATION,
	F_SNAPLEN,
	F_PATH,
	F_SERVER,
	F_MAC,
	F_QUEUES,
	F_IFNAME,
	F_NETNS,
	F_MTU,
	F_OWNER,
	F_VM_UUID,
	F_VM_NAME,
	F_VLAN_MODE,
	F_VLAN,
	F_VLANS,
	F_TPID,
	F_LOCK_MAC,
	F_NO_LOCK_MAC,
	F_ALLOWED_IP,
	F_ALLOW_DHCP_SERVER,
	F_NO_ALLOW_DHCP_SERVER,
	F_ALLOW_RA,
	F_NO_ALLOW_RA,
	F_INBOUND,
	F_OUTBOUND,
	F_STORM_CONTROL,
	F_REFLECTIVE_RELAY,
	F_VM,
	F_PORT,
	F_UPLINK,
	F_UPLINK_DRIVER,
	F_NOPROMISC,
	F_MODE,
	F_HAIRPIN,
	F_NET,
	F_ENCAP,
	F_VNI,
	F_LOCAL,
	F_UNDERLAY,
	F_REMOTE,
	F_DSTPORT,
	F_GATEWAY,
	F_VNI_MAP,
	F_SRC,
	F_DST,
	F_IP,
	F_PROTO,
	F_SPORT,
	F_DPORT,
	F_LEN,
	F_FRAME,
	F_ONCE,
	F_SUBNET,
	F_EXTERNAL,
	F_EXTERNAL_IP,
	F_MASQUERADE,
	F_PORT_RANGE,
	F_DHCP_RANGE,
	F_EXTERNAL_GATEWAY,
	F_CONNTRACK_MAX,
	F_CONNTRACK_TIMEOUTS,
	F_EXTERNAL_PORT,
	F_TO,
	F_FLOATING_IP,
	F_FORWARD,
	F_DHCP_HOST,
	F_DNS,
	N_FLAGS
};

enum flag_type {
	FT_SWITCH, /* no value; sends true (false when it negates) */
	FT_STRING, /* sent as given */
	FT_UINT,   /* a whole number 0..G_MAXINT32, checked when read; sent as a number */
	FT_ONOFF,  /* on|off (or true|false, yes|no), checked before sending; sent as true|false */
	FT_VLAN,   /* sent as a number when it is one of 0..65535, else as given (vnicd explains) */
};

struct flag {
	const char *name;  /* "--path" */
	const char *alias; /* "-s", or NULL */
	enum flag_type type;
	const char *key; /* its member of the request's "args"; flags sharing one contradict */
	bool negates;	 /* a switch that sends false */
	bool global;	 /* every command takes it */
};

static const struct flag flags[N_FLAGS] = {
    [F_HELP] = {"--help", "-h", FT_SWITCH, .global = true},
    [F_VERSION] = {"--version", NULL, FT_SWITCH, .global = true},
    [F_SOCKET] = {"--socket", "-s", FT_STRING, .global = true},
    [F_JSON] = {"--json", NULL, FT_SWITCH, .global = true},
    /* only stats reads it, but every command has always taken it */
    [F_DETAIL] = {"--detail", NULL, FT_SWITCH, .global = true},
    /* the verbs table for scripts (bash completion, the manual's test): print_commands() */
    [F_COMMANDS] = {"--commands", NULL, FT_SWITCH, .global = true},
    /* capture makes its own request (vc_capture()) */
    [F_OUT] = {"--out", NULL, FT_STRING},
    [F_COUNT] = {"--count", NULL, FT_UINT},
    [F_DURATION] = {"--duration", NULL, FT_UINT},
    [F_SNAPLEN] = {"--snaplen", NULL, FT_UINT},
    [F_PATH] = {"--path", NULL, FT_STRING, "path"},
    [F_SERVER] = {"--server", NULL, FT_SWITCH, "server"},
    [F_MAC] = {"--mac", NULL, FT_STRING, "mac"},
    [F_QUEUES] = {"--queues", NULL, FT_UINT, "queues"},
    [F_IFNAME] = {"--ifname", NULL, FT_STRING, "ifname"},
    [F_NETNS] = {"--netns", NULL, FT_STRING, "netns"},
    [F_MTU] = {"--mtu", NULL, FT_UINT, "mtu"},
    [F_OWNER] = {"--owner", NULL, FT_UINT, "owner"},
    [F_VM_UUID] = {"--vm-uuid", NULL, FT_STRING, "vm_uuid"},
    [F_VM_NAME] = {"--vm-name", NULL, FT_STRING, "vm_name"},
    [F_VLAN_MODE] = {"--vlan-mode", NULL, FT_STRING, "vlan_mode"},
    [F_VLAN] = {"--vlan", NULL, FT_VLAN, "vlan"},
    [F_VLANS] = {"--vlans", NULL, FT_STRING, "vlans"},
    [F_TPID] = {"--tpid", NULL, FT_STRING, "tpid"},
    [F_LOCK_MAC] = {"--lock-mac", NULL, FT_SWITCH, "lock_mac"},
    [F_NO_LOCK_MAC] = {"--no-lock-mac", NULL, FT_SWITCH, "lock_mac", .negates = true},
    [F_ALLOWED_IP] = {"--allowed-ip", NULL, FT_STRING, "allowed_ip"},
    [F_ALLOW_DHCP_SERVER] = {"--allow-dhcp-server", NULL, FT_SWITCH, "allow_dhcp_server"},
    [F_NO_ALLOW_DHCP_SERVER] = {"--no-allow-dhcp-server", NULL, FT_SWITCH, "allow_dhcp_server",
				.negates = true},
    [F_ALLOW_RA] = {"--allow-ra", NULL, FT_SWITCH, "allow_ra"},
    [F_NO_ALLOW_RA] = {"--no-allow-ra", NULL, FT_SWITCH, "allow_ra", .negates = true},
    [F_INBOUND] = {"--inbound", NULL, FT_STRING, "inbound"},
    [F_OUTBOUND] = {"--outbound", NULL, FT_STRING, "outbound"},
    [F_STORM_CONTROL] = {"--storm-control", NULL, FT_STRING, "storm_control"},
    [F_REFLECTIVE_RELAY] = {"--reflective-relay", NULL, FT_ONOFF, "reflective_relay"},
    [F_VM] = {"--vm", NULL, FT_STRING, "vm"},
    [F_PORT] = {"--port", NULL, FT_STRING, "port"},
    [F_UPLINK] = {"--uplink", NULL, FT_STRING, "uplink"},
    [F_UPLINK_DRIVER] = {"--uplink-driver", NULL, FT_STRING, "uplink_driver"},
    [F_NOPROMISC] = {"--nopromisc", NULL, FT_SWITCH, "nopromisc"},
    [F_MODE] = {"--mode", NULL, FT_STRING, "mode"},
    [F_HAIRPIN] = {"--hairpin", NULL, FT_STRING, "hairpin"},
    [F_NET] = {"--net", NULL, FT_STRING, "net"},
    [F_ENCAP] = {"--type", NULL, FT_STRING, "encap"},
    [F_VNI] = {"--vni", NULL, FT_UINT, "vni"},
    [F_LOCAL] = {"--local", NULL, FT_STRING, "local"},
    [F_UNDERLAY] = {"--underlay", NULL, FT_STRING, "underlay"},
    [F_REMOTE] = {"--remote", NULL, FT_STRING, "remote"},
    [F_DSTPORT] = {"--dstport", NULL, FT_UINT, "dstport"},
    [F_GATEWAY] = {"--gateway", NULL, FT_STRING, "gateway"},
    [F_VNI_MAP] = {"--vni-map", NULL, FT_STRING, "vni_map"},
    [F_SRC] = {"--src", NULL, FT_STRING, "src"},
    [F_DST] = {"--dst", NULL, FT_STRING, "dst"},
    [F_IP] = {"--ip", NULL, FT_STRING, "ip"},
    [F_PROTO] = {"--proto", NULL, FT_STRING, "proto"},
    [F_SPORT] = {"--sport", NULL, FT_UINT, "sport"},
    [F_DPORT] = {"--dport", NULL, FT_UINT, "dport"},
    [F_LEN] = {"--len", NULL, FT_UINT, "len"},
    [F_FRAME] = {"--frame", NULL, FT_STRING, "frame"},
    [F_ONCE] = {"--once", NULL, FT_SWITCH},
    [F_SUBNET] = {"--subnet", NULL, FT_STRING, "subnet"},
    [F_EXTERNAL] = {"--external", NULL, FT_STRING, "external"},
    [F_EXTERNAL_IP] = {"--external-ip", NULL, FT_STRING, "external_ip"},
    [F_MASQUERADE] = {"--masquerade", NULL, FT_SWITCH, "masquerade"},
    [F_PORT_RANGE] = {"--port-range", NULL, FT_STRING, "port_range"},
    [F_DHCP_RANGE] = {"--dhcp-range", NULL, FT_STRING, "dhcp_range"},
    [F_EXTERNAL_GATEWAY] = {"--external-gateway", NULL, FT_STRING, "external_gateway"},
    [F_CONNTRACK_MAX] = {"--conntrack-max", NULL, FT_UINT, "conntrack_max"},
    [F_CONNTRACK_TIMEOUTS] = {"--conntrack-timeouts", NULL, FT_STRING, "conntrack_timeouts"},
    [F_EXTERNAL_PORT] = {"--external-port", NULL, FT_UINT, "external_port"},
    [F_TO] = {"--to", NULL, FT_STRING, "to"},
    [F_FLOATING_IP] = {"--floating-ip", NULL, FT_STRING, "floating_ip"},
    [F_FORWARD] = {"--forward", NULL, FT_STRING, "forward"},
    [F_DHCP_HOST] = {"--dhcp-host", NULL, FT_STRING, "dhcp_host"},
    [F_DNS] = {"--dns", NULL, FT_STRING, "dns"},
};

/* One command line, read. */
struct call {
	const char *sock;
	const char *const *args; /* the positional arguments after the command's name */
	unsigned nargs;
	const char *val[N_FLAGS]; /* each flag's value (a switch: its name), NULL when not given */
};

enum verb_attr {
	V_READ = 1 << 0,    /* a read command: --help shows that it takes --json */
	V_LENIENT = 1 << 1, /* ignores the flags of other commands (capture always has) */
};

#define VERB_MAX_FLAGS 24

struct verb {
	const char *name;	     /* one or two words: "ping", "port add" */
	unsigned min_args, max_args; /* positional arguments after the name */
	const char *arg_keys[3];     /* the members of "args" they become */
	/* the flags it takes besides the global ones, in the order they are sent; F_NONE ends */
	enum flag_id flags[VERB_MAX_FLAGS];
	const char *needs_flag; /* NULL, or the error when none of its flags is given ("": usage) */
	const char *cmd;	/* the control command (include/vnicd/ctl.h) */
	int (*run)(const struct verb *v, const struct call *c);
	void (*render)(JsonNode *res, bool detail); /* text output of its result, or NULL */
	unsigned attrs;				    /* enum verb_attr */
	const char *usage; /* its arguments; "usage: NAME USAGE" when their number is wrong */
	/* --help: its lines if usage says too little ('\n' between, ' ' starts a continuation) */
	const char *forms;
	const char *help; /* --help: what it does ('\n' between lines) */
};

static int run_request(const struct verb *v, const struct call *c);
static int run_capture(const struct verb *v, const struct call *c);
static int run_top(const struct verb *v, const struct call *c);

/* Every command, in the order --help lists them. */
static const struct verb verbs[] = {
    {
	.name = "net add",
	.min_args = 2,
	.max_args = 2,
	.arg_keys = {"name", "type"},
	.flags = {F_UPLINK,	   F_UPLINK_DRIVER,
		  F_MODE,	   F_HAIRPIN,
		  F_NOPROMISC,	   F_ENCAP,
		  F_VNI,	   F_LOCAL,
		  F_UNDERLAY,	   F_REMOTE,
		  F_DSTPORT,	   F_MTU,
		  F_GATEWAY,	   F_SUBNET,
		  F_EXTERNAL,	   F_EXTERNAL_IP,
		  F_MASQUERADE,	   F_PORT_RANGE,
		  F_DHCP_RANGE,	   F_EXTERNAL_GATEWAY,
		  F_CONNTRACK_MAX, F_CONNTRACK_TIMEOUTS,
		  F_DHCP_HOST,	   F_DNS},
	.cmd = "net.add",
	.run = run_request,
	.usage = "NAME bridge|macvtap|overlay|nat [--uplink IFNAME|DEVARGS] "
		 "[--mode M] [--hairpin H] "
		 "[--nopromisc] [--type T --vni N --local IP --underlay NET ...]",
	.forms = "NAME bridge [--uplink IFNAME|DEVARGS] [--uplink-driver af_packet|af_xdp]\n"
		 "NAME macvtap --uplink IFNAME|DEVARGS [--uplink-driver af_packet|af_xdp]\n"
		 " [--mode vepa|bridge|private|passthru]\n"
		 " [--hairpin external|emulated] [--nopromisc]\n"
		 "NAME overlay --type vxlan|geneve|nvgre --vni N --local IP[/PREFIX]\n"
		 " --underlay NET [--remote IP[,IP...]] [--dstport P] [--mtu N]\n"
		 " [--gateway IP]\n"
		 "NAME nat --subnet A.B.C.D/N [--gateway IP] --external NET\n"
		 " --external-ip IP[/PREFIX]|--masquerade [--external-gateway IP]\n"
		 " [--port-range LOW-HIGH] [--dhcp-range FIRST-LAST] [--mtu N]\n"
		 " [--dhcp-host MAC=IP[,...]] [--dns IP[:PORT]|none]\n"
		 " [--conntrack-max N] [--conntrack-timeouts NAME=S[,...]]",
	.help = "make a network: a learning bridge, ports on an uplink\n"
		"as the kernel's macvlan modes, an overlay carried by\n"
		"a tunnel over network --underlay (which has an uplink),\n"
		"or guests behind vnicd as their gateway, DHCP server and\n"
		"NAT router towards network --external;\n"
		"the uplink is a kernel interface (eth1: af_packet, or\n"
		"af_xdp with --uplink-driver) or a DPDK device's devargs\n"
		"such as net_af_packet0,iface=eth1 (its port: NAME-uplink,\n"
		"of kind uplink)",
    },
    {
	.name = "net set",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"name"},
	.flags = {F_MODE, F_HAIRPIN, F_REMOTE},
	.needs_flag = "net set needs --mode and/or --hairpin, or --remote",
	.cmd = "net.set",
	.run = run_request,
	.usage = "NAME [--mode vepa|bridge|private|passthru] [--hairpin external|emulated] "
		 "[--remote IP[,IP...]]",
	.help = "change a macvtap network (the mode only without ports),\n"
		"or an overlay's remote VTEPs",
    },
    {
	.name = "net del",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"name"},
	.cmd = "net.del",
	.run = run_request,
	.usage = "NAME",
	.help = "remove a network without ports (and its uplink)",
    },
    {
	.name = "net list",
	.cmd = "net.list",
	.run = run_request,
	.render = vc_render_net_list,
	.attrs = V_READ,
	.usage = "",
	.help = "list networks",
    },
    {
	.name = "net show",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"name"},
	.cmd = "net.show",
	.run = run_request,
	.render = vc_render_net_show,
	.attrs = V_READ,
	.usage = "NAME",
	.help = "one network: FDB counters, uplink link state",
    },
    {
	.name = "port add",
	.min_args = 2,
	.max_args = 2,
	.arg_keys = {"name", "kind"},
	.flags = {F_NET, F_PATH, F_SERVER, F_MAC, F_QUEUES, F_IFNAME, F_NETNS, F_MTU, F_OWNER,
		  F_VM_UUID, F_VM_NAME, F_VNI, F_VNI_MAP, F_FLOATING_IP, F_FORWARD},
	.cmd = "port.add",
	.run = run_request,
	.usage = "NAME vhost|tap|vnet [--path SOCK] [--ifname IF] [--net NET] ...",
	.forms = "NAME vhost --path SOCK [--server] [--mac MAC] [--queues N] [--net NET]\n"
		 "NAME tap [--ifname IF] [--netns NS] [--mtu N] [--mac MAC] [--queues N]\n"
		 " [--net NET]\n"
		 "NAME vnet --ifname IF [--owner UID] [--mac MAC] [--queues N] [--net NET]\n"
		 "NAME vhost|tap|vnet ... [--vm-uuid UUID] [--vm-name NAME]\n"
		 "NAME vhost|tap|vnet ... [--vni N] [--vni-map VLAN:VNI,...]\n"
		 " [--floating-ip IP] [--forward tcp|udp:EXT:GUEST,...]",
	.help = "make a port: vhost-user (vnicd connects to SOCK, or\n"
		"listens on it with --server), a TAP device vnicd makes or\n"
		"opens (in namespace NS), or a guest's TAP device that QEMU\n"
		"opens (owned by UID); every kind also takes --vm-uuid UUID\n"
		"and --vm-name NAME (per-VM accounting)",
    },
    {
	.name = "port del",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"name"},
	.cmd = "port.del",
	.run = run_request,
	.usage = "NAME",
	.help = "remove a port",
    },
    {
	.name = "port set",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"name"},
	.flags = {F_VLAN_MODE, F_VLAN, F_VLANS, F_TPID, F_LOCK_MAC, F_NO_LOCK_MAC, F_ALLOWED_IP,
		  F_ALLOW_DHCP_SERVER, F_NO_ALLOW_DHCP_SERVER, F_ALLOW_RA, F_NO_ALLOW_RA, F_INBOUND,
		  F_OUTBOUND, F_STORM_CONTROL, F_REFLECTIVE_RELAY, F_VNI, F_VNI_MAP, F_FLOATING_IP,
		  F_FORWARD},
	.needs_flag = "port set needs at least one setting (see vnicctl --help)",
	.cmd = "port.set",
	.run = run_request,
	.usage = "NAME [--vlan-mode MODE] [--vlan N] [--vlans LIST] ...",
	.forms = "NAME [--vlan-mode access|trunk|native-untagged|native-tagged|dot1q-tunnel|none]\n"
		 " [--vlan N] [--vlans LIST] [--tpid 0x88a8] [--lock-mac|--no-lock-mac]\n"
		 " [--allowed-ip LIST|none] [--allow-dhcp-server|--no-allow-dhcp-server]\n"
		 " [--allow-ra|--no-allow-ra] [--inbound SPEC|none] [--outbound SPEC|none]\n"
		 " [--storm-control PPS|none] [--reflective-relay on|off]\n"
		 " [--vni N] [--vni-map VLAN:VNI,...|none]\n"
		 " [--floating-ip IP|none] [--forward tcp|udp:EXT:GUEST,...|none]",
	.help = "L2 policy, applied at once; SPEC is\n"
		"average=KBps[,peak=KBps][,burst=KiB];\n"
		"--storm-control: broadcast, multicast and flooded\n"
		"frames from the port at most PPS a second (the rest\n"
		"dropped, counted as storm);\n"
		"--reflective-relay: frames may go back out of the\n"
		"port (the Linux bridge's hairpin flag); --vni: an overlay\n"
		"port's VNI (tenant isolation); --vni-map: its tagged frames\n"
		"by VLAN into other VNIs; --floating-ip: a NAT network\n"
		"port's 1:1 address outside; --forward: external ports to\n"
		"it that follow its address",
    },
    {
	.name = "port list",
	.cmd = "port.list",
	.run = run_request,
	.render = vc_render_port_list,
	.attrs = V_READ,
	.usage = "",
	.help = "list ports",
    },
    {
	.name = "port show",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"name"},
	.cmd = "port.show",
	.run = run_request,
	.render = vc_render_port_show,
	.attrs = V_READ,
	.usage = "NAME",
	.help = "one port, with its counters",
    },
    {
	.name = "fdb show",
	.flags = {F_NET},
	.cmd = "fdb.show",
	.run = run_request,
	.render = vc_render_fdb_show,
	.attrs = V_READ,
	.usage = "[--net NET]",
	.help = "forwarding database",
    },
    {
	.name = "fdb add",
	.min_args = 2,
	.max_args = 2,
	.arg_keys = {"mac", "port"},
	.cmd = "fdb.add",
	.run = run_request,
	.usage = "MAC PORT",
	.help = "static entry",
    },
    {
	.name = "fdb flush",
	.flags = {F_NET},
	.cmd = "fdb.flush",
	.run = run_request,
	.render = vc_render_fdb_flush,
	.usage = "[--net NET]",
	.help = "remove learned and static entries",
    },
    {
	.name = "vtep add",
	.min_args = 3,
	.max_args = 3,
	.arg_keys = {"net", "mac", "ip"},
	.cmd = "vtep.add",
	.run = run_request,
	.usage = "NET MAC IP",
	.help = "static entry of an overlay's VTEP table: MAC is behind\nremote VTEP IP",
    },
    {
	.name = "vtep del",
	.min_args = 2,
	.max_args = 2,
	.arg_keys = {"net", "mac"},
	.cmd = "vtep.del",
	.run = run_request,
	.usage = "NET MAC",
	.help = "remove a static VTEP entry",
    },
    {
	.name = "vtep show",
	.max_args = 1,
	.arg_keys = {"net"},
	.cmd = "vtep.show",
	.run = run_request,
	.render = vc_render_vtep_show,
	.attrs = V_READ,
	.usage = "[NET]",
	.help = "remote MACs of overlays and the VTEP each is behind",
    },
    {
	.name = "nat forward add",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"net"},
	.flags = {F_PROTO, F_EXTERNAL_PORT, F_TO},
	.cmd = "nat.forward.add",
	.run = run_request,
	.usage = "NET --proto tcp|udp --external-port P --to IP:PORT",
	.help = "forward external port P of NAT network NET to a guest",
    },
    {
	.name = "nat forward del",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"net"},
	.flags = {F_PROTO, F_EXTERNAL_PORT},
	.cmd = "nat.forward.del",
	.run = run_request,
	.usage = "NET --proto tcp|udp --external-port P",
	.help = "remove a port forward (new connections stop,\ntracked ones go on)",
    },
    {
	.name = "nat forward list",
	.max_args = 1,
	.arg_keys = {"net"},
	.cmd = "nat.forward.list",
	.run = run_request,
	.render = vc_render_nat_forwards,
	.attrs = V_READ,
	.usage = "[NET]",
	.help = "port forwards of NAT networks",
    },
    {
	.name = "nat conntrack flush",
	.max_args = 1,
	.arg_keys = {"net"},
	.cmd = "nat.conntrack.flush",
	.run = run_request,
	.render = vc_render_fdb_flush,
	.usage = "[NET]",
	.help = "forget the tracked connections of NAT networks",
    },
    {
	.name = "nat conntrack",
	.max_args = 1,
	.arg_keys = {"net"},
	.cmd = "nat.conntrack",
	.run = run_request,
	.render = vc_render_nat_conntrack,
	.attrs = V_READ,
	.usage = "[NET]",
	.help = "tracked connections of NAT networks",
    },
    {
	.name = "stats",
	.flags = {F_PORT, F_VM},
	.cmd = "stats",
	.run = run_request,
	.render = vc_render_stats,
	.attrs = V_READ,
	.usage = "[--port NAME] [--vm UUID] [--detail]",
	.help = "per-NIC and per-VM totals (one line each; --detail:\n"
		"by class and drop reason)",
    },
    {
	.name = "stats reset",
	.flags = {F_PORT, F_VM},
	.needs_flag = "",
	.cmd = "stats.reset",
	.run = run_request,
	.render = vc_render_stats_reset,
	.usage = "--vm UUID | --port NAME",
	.help = "forget those totals",
    },
    {
	.name = "capture",
	.min_args = 1,
	.max_args = 1,
	.flags = {F_OUT, F_COUNT, F_DURATION, F_SNAPLEN},
	.run = run_capture,
	.attrs = V_LENIENT,
	.usage = "PORT --out FILE.pcapng [--count N|--duration S] [--snaplen N]",
	.help = "record both directions of a port (pcapng)",
    },
    {
	.name = "log-level",
	.max_args = 1,
	.arg_keys = {"level"},
	.cmd = "log.level",
	.run = run_request,
	.render = vc_render_log_level,
	.usage = "[error|warning|info|debug]",
	.help = "set the level of vnicd's log at run time (without\n"
		"LEVEL: show it)",
    },
    {
	.name = "trace",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"port"},
	.flags = {F_SRC, F_DST, F_VLAN, F_IP, F_PROTO, F_SPORT, F_DPORT, F_LEN, F_FRAME},
	.cmd = "trace",
	.run = run_request,
	.render = vc_render_trace,
	.attrs = V_READ,
	.usage = "PORT [--src MAC] [--dst MAC] [--vlan N] [--ip SRC,DST] ...",
	.forms = "PORT [--src MAC] [--dst MAC] [--vlan N] [--ip SRC,DST]\n"
		 " [--proto tcp|udp|icmp] [--sport P] [--dport P] [--len N]\n"
		 "PORT --frame HEX",
	.help = "where a frame received on PORT would go, and why:\n"
		"a dry run through the real pipeline (nothing sent,\n"
		"learned or counted), every decision in order",
    },
    {
	.name = "top",
	.flags = {F_ONCE},
	.run = run_top,
	.attrs = V_READ,
	.usage = "[--once]",
	.help = "live view of the busiest ports, VMs and workers\n"
		"(q quits; --once: one screen; --json: a sample a\n"
		"second, one object per line)",
    },
    {
	.name = "libvirt status",
	.cmd = "libvirt.status",
	.run = run_request,
	.render = vc_render_libvirt_status,
	.attrs = V_READ,
	.usage = "",
	.help = "the libvirt listener: its connection and counters",
    },
    {
	.name = "ping",
	.cmd = "ping",
	.run = run_request,
	.render = vc_render_ping,
	.usage = "",
	.help = "check that vnicd answers",
    },
};

G_STATIC_ASSERT(G_N_ELEMENTS(verbs) <= 64); /* flag_owners() */

static G_GNUC_NORETURN G_GNUC_PRINTF(1, 2) void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vnicctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see vnicctl --help)\n");
	exit(VC_EXIT_USAGE);
}

/* ---------------------------------------------------------------- the tables, looked up */

/* Return: whether @v takes flag @f (the global ones aside). */
static bool verb_takes(const struct verb *v, enum flag_id f)
{
	for (unsigned k = 0; k < VERB_MAX_FLAGS && v->flags[k] != F_NONE; k++)
		if (v->flags[k] == f)
			return true;
	return false;
}

/* Return: the set of verbs (bit i: verbs[i]) that take flag @f. */
static guint64 flag_owners(enum flag_id f)
{
	guint64 owners = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
		if (verb_takes(&verbs[i], f))
			owners |= (guint64)1 << i;
	return owners;
}

/* Return: whether the first word of verb name @name is @w (a word: no space in it). */
static bool first_word_is(const char *name, const char *w)
{
	size_t n = strcspn(name, " ");

	return !strchr(w, ' ') && strlen(w) == n && strncmp(name, w, n) == 0;
}

/* Return: whether verb names @a and @b start with the same word. */
static bool same_family(const char *a, const char *b)
{
	size_t n = strcspn(a, " ");

	return n == strcspn(b, " ") && strncmp(a, b, n) == 0;
}

/*
 * Return: whether verb name @name is the two words @w0 @w1 (@w1 may be NULL), or with @one_word,
 * the single word @w0.
 */
static bool name_is(const char *name, const char *w0, const char *w1, bool one_word)
{
	size_t n = strlen(w0);

	if (!first_word_is(name, w0))
		return false;
	if (one_word)
		return name[n] == '\0';
	return name[n] == ' ' && w1 && strcmp(name + n + 1, w1) == 0;
}

/* Return: the verb named @w0 @w1 (two words) or else @w0 (one word), or NULL. */
static const struct verb *verb_find(const char *w0, const char *w1)
{
	for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
		if (name_is(verbs[i].name, w0, w1, false))
			return &verbs[i];
	for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
		if (name_is(verbs[i].name, w0, NULL, true))
			return &verbs[i];
	return NULL;
}

/* Return: whether @w0 is the first word of any verb ("port"). */
static bool is_family(const char *w0)
{
	for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
		if (first_word_is(verbs[i].name, w0))
			return true;
	return false;
}

/* Return: the flag spelled @a, or -1. */
static int flag_find(const char *a)
{
	for (int f = F_NONE + 1; f < N_FLAGS; f++)
		if (strcmp(a, flags[f].name) == 0 || g_strcmp0(a, flags[f].alias) == 0)
			return f;
	return -1;
}

/* ---------------------------------------------------------------- --help */

#define HELP_COLUMN 33 /* where the description of a command starts */

/* A verb's lines in --help: its forms (or usage), then what it does from HELP_COLUMN on. */
static void print_verb(const struct verb *v)
{
	const char *text = v->forms ? v->forms : v->usage, *l, *e;
	int len = 0;

	for (l = text;; l = e + 1) {
		e = strchrnul(l, '\n');
		if (l != text)
			putchar('\n');
		if (*l == ' ') /* a continuation: under the arguments */
			len = printf("%*s%.*s", (int)strlen(v->name) + 2, "", (int)(e - l), l);
		else
			len = printf("  %s%s%.*s", v->name, e > l ? " " : "", (int)(e - l), l);
		if (!*e)
			break;
	}
	if (v->attrs & V_READ)
		len += printf(" [--json]");
	if (len <= HELP_COLUMN - 2)
		printf("%*s", HELP_COLUMN - len, "");
	else
		printf("\n%*s", HELP_COLUMN, "");
	for (l = v->help;; l = e + 1) {
		e = strchrnul(l, '\n');
		printf("%*s%.*s\n", l != v->help ? HELP_COLUMN : 0, "", (int)(e - l), l);
		if (!*e)
			break;
	}
}

/*
 * --help: with a command before it (the positional arguments so far, @pos), that command's
 * lines (or those of its family: "port"); else every command.
 */
static void print_help(GPtrArray *pos)
{
	const char *w0 = pos->len > 0 ? pos->pdata[0] : NULL;
	const char *w1 = pos->len > 1 ? pos->pdata[1] : NULL;
	const struct verb *v = w0 && w1 ? verb_find(w0, w1) : NULL;

	if (v && strchr(v->name, ' ')) {
		print_verb(v);
		return;
	}
	if (w0 && is_family(w0)) {
		for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
			if (first_word_is(verbs[i].name, w0))
				print_verb(&verbs[i]);
		return;
	}
	printf("usage: vnicctl [--socket PATH] [--json] COMMAND\ncommands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
		print_verb(&verbs[i]);
	printf("options of every command:\n");
	for (int f = F_NONE + 1; f < N_FLAGS; f++)
		if (flags[f].global)
			printf("  %s%s%s%s\n", flags[f].name, flags[f].alias ? ", " : "",
			       flags[f].alias ? flags[f].alias : "",
			       flags[f].type == FT_SWITCH ? "" : " VALUE");
	printf("The socket defaults to $VNICD_SOCKET or /run/vnicd/vnicd.sock.\n"
	       "COMMAND --help shows one command, e.g. vnicctl port --help.\n");
}

/* Print flag @f as --commands lists it: its name, and '=' when it takes a value. */
static void print_flag_word(enum flag_id f, bool *first)
{
	printf("%s%s%s", *first ? "" : " ", flags[f].name, flags[f].type == FT_SWITCH ? "" : "=");
	*first = false;
}

/*
 * --commands: the verbs table for scripts (bash completion, the manual's test), one verb a
 * line: "NAME<TAB>FLAGS<TAB>USAGE", FLAGS separated by spaces with '=' after those taking a
 * value; a first line "*<TAB>FLAGS" has the flags of every command.
 */
static void print_commands(void)
{
	bool first = true;

	printf("*\t");
	for (int f = F_NONE + 1; f < N_FLAGS; f++)
		if (flags[f].global && f != F_COMMANDS)
			print_flag_word(f, &first);
	printf("\n");
	for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
		const struct verb *v = &verbs[i];

		first = true;
		printf("%s\t", v->name);
		for (unsigned k = 0; k < VERB_MAX_FLAGS && v->flags[k] != F_NONE; k++)
			print_flag_word(v->flags[k], &first);
		printf("\t%s\n", v->usage);
	}
}

/* ---------------------------------------------------------------- reading the command line */

/* Return: @v of flag @opt as a whole number 0..G_MAXINT32; a usage error if it is not one. */
static gint64 parse_uint(const char *opt, const char *v)
{
	guint64 n;

	if (!v || !g_ascii_string_to_unsigned(v, 10, 0, G_MAXINT32, &n, NULL))
		usage_error("%s needs a whole number, got '%s'", opt, v ? v : "");
	return (gint64)n;
}

/* Return: "on"/"off" (or true/false, yes/no) @v of flag @opt; a usage error otherwise. */
static bool parse_onoff(const char *opt, const char *v)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes"))
		return true;
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no"))
		return false;
	usage_error("%s takes on or off, not '%s'", opt, v);
}

/*
 * Read @argv into @c's flags and the positional arguments @pos: flags may come anywhere, a
 * value is the next argument whatever it looks like. Exits on a usage error, and after --help
 * or --version.
 */
static void parse_argv(int argc, char **argv, struct call *c, GPtrArray *pos)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		int f = flag_find(a);

		if (f < 0 && a[0] == '-' && a[1] == '-')
			usage_error("unknown option '%s'", a);
		if (f < 0) {
			g_ptr_array_add(pos, (gpointer)a);
			continue;
		}
		if (f == F_HELP) {
			print_help(pos);
			exit(0);
		}
		if (f == F_COMMANDS) {
			print_commands();
			exit(0);
		}
		if (f == F_VERSION) {
			printf("vnicctl %s\n", VNICD_VERSION);
			exit(0);
		}
		if (flags[f].type == FT_SWITCH)
			val = flags[f].name;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			usage_error("%s needs a value", a);
		if (flags[f].type == FT_UINT)
			parse_uint(a, val);
		for (int g = F_NONE + 1; g < N_FLAGS; g++)
			if (g != f && c->val[g] && flags[f].key &&
			    g_strcmp0(flags[g].key, flags[f].key) == 0)
				usage_error("%s and %s contradict each other", flags[g].name, a);
		c->val[f] = val;
	}
}

/*
 * The command the positional arguments @pos start with; *@words: how many words its name
 * has. Exits with a usage error when there is none.
 */
static const struct verb *find_verb(GPtrArray *pos, unsigned *words)
{
	const char *w0 = pos->len > 0 ? pos->pdata[0] : NULL;
	const char *w1 = pos->len > 1 ? pos->pdata[1] : NULL;
	const struct verb *v;

	if (!w0)
		usage_error("no command given");
	if (pos->len > 2) { /* three words: "nat forward add" */
		g_autofree char *w12 = g_strdup_printf("%s %s", w1, (const char *)pos->pdata[2]);
		v = verb_find(w0, w12);
		if (v && strchr(v->name, ' ') != strrchr(v->name, ' ')) {
			*words = 3;
			return v;
		}
	}
	v = verb_find(w0, w1);
	if (v) {
		*words = strchr(v->name, ' ') ? 2 : 1;
		return v;
	}
	if (!is_family(w0))
		usage_error("unknown command '%s'", w0);
	if (!w1)
		usage_error("'%s' needs a subcommand", w0);
	usage_error("unknown command '%s %s'", w0, w1);
}

/* Return: @items as "a", "a and b", "a, b and c", each between @quote. */
static char *join_and(GPtrArray *items, const char *quote)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < items->len; i++)
		g_string_append_printf(s, "%s%s%s%s",
				       i == 0		     ? ""
				       : i + 1 == items->len ? " and "
							     : ", ",
				       quote, (const char *)items->pdata[i], quote);
	return g_string_free(s, FALSE);
}

/* Return: whether verb name @n extends one in @names by a word ("stats reset" of "stats"). */
static bool extends_any(GPtrArray *names, const char *n)
{
	for (guint k = 0; k < names->len; k++) {
		size_t l = strlen(names->pdata[k]);

		if (strncmp(n, names->pdata[k], l) == 0 && n[l] == ' ')
			return true;
	}
	return false;
}

/*
 * Refuse flag @f, which @v does not take: name it with the other flags of the same commands
 * (once per request member: --lock-mac stands for --no-lock-mac too) and those commands
 * ("stats" stands for "stats reset" too); a flag that commands of several families take
 * (--net) is said not to apply to @v.
 */
static G_GNUC_NORETURN void refuse_flag(const struct verb *v, enum flag_id f)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autoptr(GPtrArray) owners = g_ptr_array_new();
	g_autofree char *flag_list = NULL, *owner_list = NULL;
	guint64 set = flag_owners(f);

	for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
		const char *n = verbs[i].name;

		if (!(set & ((guint64)1 << i)))
			continue;
		if (owners->len && !same_family(owners->pdata[0], n))
			/* one-word commands with the space vnicctl has always printed: 'ping ' */
			usage_error("%s does not apply to '%s%s'", flags[f].name, v->name,
				    strchr(v->name, ' ') ? "" : " ");
		if (!extends_any(owners, n))
			g_ptr_array_add(owners, (gpointer)n);
	}
	for (int g = F_NONE + 1; g < N_FLAGS; g++) {
		bool seen = false;

		if (flags[g].global || flag_owners(g) != set)
			continue;
		for (int h = F_NONE + 1; h < g && flags[g].key; h++)
			seen |= flag_owners(h) == set && g_strcmp0(flags[h].key, flags[g].key) == 0;
		if (!seen)
			g_ptr_array_add(names, (gpointer)flags[g].name);
	}
	flag_list = join_and(names, "");
	owner_list = join_and(owners, "'");
	usage_error("%s belong%s to %s", flag_list, names->len == 1 ? "s" : "", owner_list);
}

/*
 * Check call @c of @v against the table, in this order: the number of arguments, a flag it
 * needs, the values of its on|off flags, the flags of other commands. Exits on a usage error.
 */
static void check_call(const struct verb *v, const struct call *c)
{
	bool any = false;

	if (c->nargs < v->min_args)
		usage_error("usage: %s %s", v->name, v->usage);
	if (c->nargs > v->max_args)
		usage_error("unexpected argument '%s'", c->args[v->max_args]);
	for (unsigned k = 0; k < VERB_MAX_FLAGS && v->flags[k] != F_NONE; k++)
		any |= c->val[v->flags[k]] != NULL;
	if (v->needs_flag && !any && *v->needs_flag)
		usage_error("%s", v->needs_flag);
	else if (v->needs_flag && !any)
		usage_error("usage: %s %s", v->name, v->usage);
	for (unsigned k = 0; k < VERB_MAX_FLAGS && v->flags[k] != F_NONE; k++)
		if (flags[v->flags[k]].type == FT_ONOFF && c->val[v->flags[k]])
			parse_onoff(flags[v->flags[k]].name, c->val[v->flags[k]]);
	if (v->attrs & V_LENIENT)
		return;
	for (int f = F_NONE + 1; f < N_FLAGS; f++)
		if (c->val[f] && !flags[f].global && !verb_takes(v, f))
			refuse_flag(v, f);
}

/* ---------------------------------------------------------------- the commands */

/* Add flag @f's member with value @val (as its type says) to the object @b is building. */
static void add_flag(JsonBuilder *b, enum flag_id f, const char *val)
{
	guint64 num;

	json_builder_set_member_name(b, flags[f].key);
	switch (flags[f].type) {
	case FT_SWITCH:
		json_builder_add_boolean_value(b, !flags[f].negates);
		break;
	case FT_UINT:
		json_builder_add_int_value(b, parse_uint(flags[f].name, val));
		break;
	case FT_ONOFF:
		json_builder_add_boolean_value(b, parse_onoff(flags[f].name, val));
		break;
	case FT_VLAN:
		if (g_ascii_string_to_unsigned(val, 10, 0, 65535, &num, NULL))
			json_builder_add_int_value(b, (gint64)num);
		else
			json_builder_add_string_value(b, val);
		break;
	case FT_STRING:
		json_builder_add_string_value(b, val);
		break;
	}
}

/*
 * The request line of @v: {"args": {ARG_KEYS..., FLAGS...}, "cmd": CMD} with the positional
 * arguments first, then the flags given in the order @v lists them.
 */
static char *request_line(const struct verb *v, const struct call *c)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *req = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "args");
	json_builder_begin_object(b);
	for (unsigned i = 0; i < c->nargs; i++) {
		json_builder_set_member_name(b, v->arg_keys[i]);
		json_builder_add_string_value(b, c->args[i]);
	}
	for (unsigned k = 0; k < VERB_MAX_FLAGS && v->flags[k] != F_NONE; k++)
		if (c->val[v->flags[k]] && flags[v->flags[k]].key)
			add_flag(b, v->flags[k], c->val[v->flags[k]]);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "cmd");
	json_builder_add_string_value(b, v->cmd);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	req = json_generator_to_data(gen, NULL);
	return g_strdup_printf("%s\n", req);
}

/* The handler of most commands: one request, its result printed. Return: the exit status. */
static int run_request(const struct verb *v, const struct call *c)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *line = request_line(v, c);
	JsonNode *root = vc_transact(c->sock, line, parser, -1), *res;
	JsonObject *ro;

	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		fprintf(stderr, "vnicctl: malformed answer from vnicd\n");
		return 1;
	}
	ro = json_node_get_object(root);
	if (!json_object_get_boolean_member_with_default(ro, "ok", FALSE)) {
		fprintf(stderr, "vnicctl: error: %s\n", vc_str(ro, "error", "unknown error"));
		return 1;
	}
	res = json_object_get_member(ro, "result");
	if (c->val[F_JSON])
		vc_print_json(res);
	else if (v->render && res && !JSON_NODE_HOLDS_NULL(res))
		v->render(res, c->val[F_DETAIL] != NULL);
	return 0;
}

/* Return: whole-number flag @f of @c, or -1 when not given. */
static gint64 uint_flag(const struct call *c, enum flag_id f)
{
	return c->val[f] ? parse_uint(flags[f].name, c->val[f]) : -1;
}

/* capture PORT --out FILE [--count N] [--duration S] [--snaplen N]. Return: the exit status. */
static int run_capture(const struct verb *v, const struct call *c)
{
	gint64 count = uint_flag(c, F_COUNT), duration = uint_flag(c, F_DURATION);

	if (!c->val[F_OUT])
		usage_error("capture needs --out FILE.pcapng");
	if (count == 0 || duration == 0)
		usage_error("--count and --duration must be at least 1");
	return vc_capture(c->sock, c->args[0], c->val[F_OUT], count, duration,
			  uint_flag(c, F_SNAPLEN), c->val[F_JSON] != NULL);
}

/* top [--once]: see top.c. Return: the exit status. */
static int run_top(const struct verb *v, const struct call *c)
{
	return vc_top(c->sock, c->val[F_ONCE] != NULL, c->val[F_JSON] != NULL);
}

/* vnicctl [--socket PATH] [--json] COMMAND...: see print_help(). Return: the exit status. */
int main(int argc, char **argv)
{
	g_autoptr(GPtrArray) pos = g_ptr_array_new();
	struct call c = {0};
	const struct verb *v;
	unsigned words;

	parse_argv(argc, argv, &c, pos);
	v = find_verb(pos, &words);
	c.args = (const char *const *)pos->pdata + words;
	c.nargs = pos->len - words;
	c.sock = c.val[F_SOCKET]	    ? c.val[F_SOCKET]
		 : g_getenv("VNICD_SOCKET") ? g_getenv("VNICD_SOCKET")
					    : "/run/vnicd/vnicd.sock";
	check_call(v, &c);
	return v->run(v, &c);
}
