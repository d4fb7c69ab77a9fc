/* SPDX-License-Identifier: MIT */
/* vnicctl's verbs table (verbs.h): every command and every flag. */
#include "vnicctl.h"
#include "verbs.h"

const struct flag vc_flags[N_FLAGS] = {
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
    [F_CONTROL] = {"--control", NULL, FT_STRING, "control"},
    [F_EVPN_NETNS] = {"--evpn-netns", NULL, FT_STRING, "evpn_netns"},
};

/* Every command, in the order --help lists them. */
const struct verb vc_verbs[] = {
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
		  F_DHCP_HOST,	   F_DNS,
		  F_CONTROL,	   F_EVPN_NETNS},
	.cmd = "net.add",
	.run = vc_run_request,
	.usage = "NAME bridge|macvtap|overlay|nat [--uplink IFNAME|DEVARGS] "
		 "[--mode M] [--hairpin H] "
		 "[--nopromisc] [--type T --vni N --local IP --underlay NET ...]",
	.forms = "NAME bridge [--uplink IFNAME|DEVARGS] [--uplink-driver af_packet|af_xdp]\n"
		 "NAME macvtap --uplink IFNAME|DEVARGS [--uplink-driver af_packet|af_xdp]\n"
		 " [--mode vepa|bridge|private|passthru]\n"
		 " [--hairpin external|emulated] [--nopromisc]\n"
		 "NAME overlay --type vxlan|geneve|nvgre --vni N --local IP[/PREFIX]\n"
		 " --underlay NET [--remote IP[,IP...]] [--dstport P] [--mtu N]\n"
		 " [--gateway IP] [--control evpn|static [--evpn-netns NS]]\n"
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
	.flags = {F_MODE, F_HAIRPIN, F_REMOTE, F_CONTROL, F_EVPN_NETNS},
	.needs_flag = "net set needs --mode and/or --hairpin, or --remote or --control",
	.cmd = "net.set",
	.run = vc_run_request,
	.usage = "NAME [--mode vepa|bridge|private|passthru] [--hairpin external|emulated] "
		 "[--remote IP[,IP...]] [--control evpn|static [--evpn-netns NS]]",
	.help = "change a macvtap network (the mode only without ports),\n"
		"or an overlay's remote VTEPs or control plane (EVPN)",
    },
    {
	.name = "net del",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"name"},
	.cmd = "net.del",
	.run = vc_run_request,
	.usage = "NAME",
	.help = "remove a network without ports (and its uplink)",
    },
    {
	.name = "net list",
	.cmd = "net.list",
	.run = vc_run_request,
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
	.run = vc_run_request,
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
	.run = vc_run_request,
	.usage = "NAME vhost|tap|vnet [--path SOCK] [--ifname IF] [--net NET] ...",
	.forms = "NAME vhost --path SOCK [--server] [--mac MAC] [--queues N] [--mtu N]\n"
		 " [--net NET]\n"
		 "NAME tap [--ifname IF] [--netns NS] [--mtu N] [--mac MAC] [--queues N]\n"
		 " [--net NET]\n"
		 "NAME vnet --ifname IF [--owner UID] [--mac MAC] [--queues N] [--mtu N]\n"
		 " [--net NET]\n"
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
	.run = vc_run_request,
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
	.run = vc_run_request,
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
	.name = "port announce",
	.min_args = 1,
	.max_args = 1,
	.arg_keys = {"name"},
	.cmd = "port.announce",
	.run = vc_run_request,
	.usage = "NAME",
	.help = "announce the port's guest where it is now (after a\n"
		"migration or a restore): a RARP for its MAC and gratuitous\n"
		"ARPs for its allowed IPv4 addresses, into its network as if\n"
		"the guest sent them, 3 times 0.5 s apart; at once when its\n"
		"link is up, else from its next link-up",
    },
    {
	.name = "port list",
	.cmd = "port.list",
	.run = vc_run_request,
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
	.run = vc_run_request,
	.render = vc_render_port_show,
	.attrs = V_READ,
	.usage = "NAME",
	.help = "one port, with its counters",
    },
    {
	.name = "fdb show",
	.flags = {F_NET},
	.cmd = "fdb.show",
	.run = vc_run_request,
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
	.run = vc_run_request,
	.usage = "MAC PORT",
	.help = "static entry",
    },
    {
	.name = "fdb flush",
	.flags = {F_NET},
	.cmd = "fdb.flush",
	.run = vc_run_request,
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
	.run = vc_run_request,
	.usage = "NET MAC IP",
	.help = "static entry of an overlay's VTEP table: MAC is behind\nremote VTEP IP",
    },
    {
	.name = "vtep del",
	.min_args = 2,
	.max_args = 2,
	.arg_keys = {"net", "mac"},
	.cmd = "vtep.del",
	.run = vc_run_request,
	.usage = "NET MAC",
	.help = "remove a static VTEP entry",
    },
    {
	.name = "vtep show",
	.max_args = 1,
	.arg_keys = {"net"},
	.cmd = "vtep.show",
	.run = vc_run_request,
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
	.run = vc_run_request,
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
	.run = vc_run_request,
	.usage = "NET --proto tcp|udp --external-port P",
	.help = "remove a port forward (new connections stop,\ntracked ones go on)",
    },
    {
	.name = "nat forward list",
	.max_args = 1,
	.arg_keys = {"net"},
	.cmd = "nat.forward.list",
	.run = vc_run_request,
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
	.run = vc_run_request,
	.render = vc_render_fdb_flush,
	.usage = "[NET]",
	.help = "forget the tracked connections of NAT networks",
    },
    {
	.name = "nat conntrack",
	.max_args = 1,
	.arg_keys = {"net"},
	.cmd = "nat.conntrack",
	.run = vc_run_request,
	.render = vc_render_nat_conntrack,
	.attrs = V_READ,
	.usage = "[NET]",
	.help = "tracked connections of NAT networks",
    },
    {
	.name = "stats",
	.flags = {F_PORT, F_VM},
	.cmd = "stats",
	.run = vc_run_request,
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
	.run = vc_run_request,
	.render = vc_render_stats_reset,
	.usage = "--vm UUID | --port NAME",
	.help = "forget those totals",
    },
    {
	.name = "capture",
	.min_args = 1,
	.max_args = 1,
	.flags = {F_OUT, F_COUNT, F_DURATION, F_SNAPLEN},
	.run = vc_run_capture,
	.attrs = V_LENIENT,
	.usage = "PORT --out FILE.pcapng [--count N|--duration S] [--snaplen N]",
	.help = "record both directions of a port (pcapng)",
    },
    {
	.name = "log-level",
	.max_args = 1,
	.arg_keys = {"level"},
	.cmd = "log.level",
	.run = vc_run_request,
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
	.run = vc_run_request,
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
	.run = vc_run_top,
	.attrs = V_READ,
	.usage = "[--once]",
	.help = "live view of the busiest ports, VMs and workers\n"
		"(q quits; --once: one screen; --json: a sample a\n"
		"second, one object per line)",
    },
    {
	.name = "libvirt status",
	.cmd = "libvirt.status",
	.run = vc_run_request,
	.render = vc_render_libvirt_status,
	.attrs = V_READ,
	.usage = "",
	.help = "the libvirt listener: its connection and counters",
    },
    {
	.name = "ping",
	.cmd = "ping",
	.run = vc_run_request,
	.render = vc_render_ping,
	.usage = "",
	.help = "check that vnicd answers",
    },
};

const size_t vc_nverbs = G_N_ELEMENTS(vc_verbs);
G_STATIC_ASSERT(G_N_ELEMENTS(vc_verbs) <= 64); /* flag_owners() in vnicctl.c */
