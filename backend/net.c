/* SPDX-License-Identifier: MIT */
/* The part of a network every kind shares: name, id and its FDB. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vnicd/bridge.h"
#include "vnicd/datapath.h"
#include "vnicd/net.h"

int vn_net_init(struct vn_net *n, const struct vn_net_kind *kind, const char *name, uint16_t id,
		const struct vn_net_env *env, GError **err)
{
	g_strlcpy(n->name, name, sizeof(n->name));
	n->kind = kind;
	n->id = id;
	if (env->dp) {
		char hname[48];
		snprintf(hname, sizeof(hname), "%u_%s", id, name);
		n->fdb = vn_fdb_create(hname, env->cfg->fdb_max, vn_dp_qsbr(env->dp));
		if (!n->fdb) {
			int e = errno;
			g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e),
				    "cannot create the FDB of network '%s': %s", name,
				    g_strerror(e));
			return -e;
		}
		vn_fdb_set_port_limits(n->fdb, env->cfg->fdb_max_per_port,
				       env->cfg->fdb_learn_rate);
	}
	return 0;
}

void vn_net_fini(struct vn_net *n)
{
	vn_fdb_free(n->fdb);
	n->fdb = NULL;
}
