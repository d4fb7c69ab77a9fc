/* SPDX-License-Identifier: MIT */
/* The `port add` arguments of the "tap" and "vnet" port kinds: their checks and defaults. */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "tapio.h"
#include "vnicd/args.h"
#include "vnicd/port.h"

/* Linux's dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or white space. */
static bool ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || g_ascii_isspace(s[i]) ||
		    (unsigned char)s[i] < 0x20)
			return false;
	return true;
}

int vn_tap_get_args(JsonObject *args, bool vnet, struct tap_args *a, GError **err)
{
	const char *name = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	a->queues = 1;
	if ((rc = vn_arg_str(args, "ifname", vnet, &a->ifname, err)) < 0 ||
	    (rc = vn_arg_str(args, "name", false, &name, err)) < 0 ||
	    (rc = vn_arg_str(args, "mac", false, &a->mac, err)) < 0 ||
	    (rc = vn_arg_uint(args, "queues", 1, VN_MAX_QUEUES, &a->queues, err)) < 0)
		return rc;
	if (vnet) {
		a->owner = G_MAXUINT32;
		if ((rc = vn_arg_uint(args, "owner", 0, G_MAXUINT32 - 1, &a->owner, err)) < 0)
			return rc;
		a->has_owner = a->owner != G_MAXUINT32;
	} else if ((rc = vn_arg_str(args, "netns", false, &a->netns, err)) < 0) {
		return rc;
	}
	if ((rc = vn_arg_uint(args, "mtu", 68, 65535, &a->mtu, err)) < 0)
		return rc;
	if (!a->ifname) {
		if (!name || !ifname_valid(name))
			FAIL(EINVAL,
			     "port name '%s' is not usable as a device name (1-15 characters): "
			     "give --ifname",
			     name ? name : "");
		a->ifname = name;
	} else if (!ifname_valid(a->ifname)) {
		FAIL(strlen(a->ifname) >= IFNAMSIZ ? ENAMETOOLONG : EINVAL,
		     "invalid --ifname '%s' (1-%d characters, no '/', ':' or spaces)", a->ifname,
		     IFNAMSIZ - 1);
	}
	if (a->netns && (!*a->netns || strlen(a->netns) > 255 || strchr(a->netns, '/') ||
			 !strcmp(a->netns, ".") || !strcmp(a->netns, "..")))
		FAIL(EINVAL, "invalid --netns '%s' (a name from `ip netns list`)", a->netns);
	return 0;
}
