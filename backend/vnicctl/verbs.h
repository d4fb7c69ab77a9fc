/* SPDX-License-Identifier: MIT */
/*
 * vnicctl's verbs table: every command with its arguments, flags, control command, runner,
 * renderer and help, and every flag. vnicctl.c reads it for usage, checks and dispatch;
 * --help, --commands, the manual's test and bash completion all come from it.
 */
#ifndef VNICCTL_VERBS_H
#define VNICCTL_VERBS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-glib/json-glib.h>

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
	F_CONTROL,
	F_EVPN_NETNS,
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

#define VERB_MAX_FLAGS 28

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

/** vc_flags - every flag, by enum flag_id. */
extern const struct flag vc_flags[N_FLAGS];

/** vc_verbs, vc_nverbs - every command, in the order --help lists them (at most 64). */
extern const struct verb vc_verbs[];
extern const size_t vc_nverbs;

/* The runners the table names (vnicctl.c). */
int vc_run_request(const struct verb *v, const struct call *c);
int vc_run_capture(const struct verb *v, const struct call *c);
int vc_run_top(const struct verb *v, const struct call *c);

#endif
