/* SPDX-License-Identifier: MIT */
/* Network kinds by name, and the part of a network every kind shares. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vnicd/bridge.h"
#include "vnicd/datapath.h"
#include "vnicd/net.h"

static const struct vn_net_kind *const kinds[] = {&vn_bridge_net_kind, &vn_macvtap_net_kind};

const struct vn_net_kind *vn_net_kind_find(const char *name)
{
	for (size_t i = 0; name && i < G_N_ELEMENTS(kinds); i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

const struct vn_net_kind *vn_net_kind_at(size_t i)
{
	return i < G_N_ELEMENTS(kinds) ? kinds[i] : NULL;
}

char *vn_net_kind_names(void)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "", kinds[i]->name);
	return g_string_free(s, FALSE);
}

static bool listed(const char *const *keys, const char *key)
{
	for (; keys && *keys; keys++)
		if (strcmp(*keys, key) == 0)
			return true;
	return false;
}

const struct vn_net_kind *vn_net_kind_of_port_key(const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
		if (listed(kinds[i]->port_keys, key))
			return kinds[i];
	return NULL;
}

bool vn_net_key_known(const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
		if (listed(kinds[i]->keys, key))
			return true;
	return false;
}

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
	}
	return 0;
}

void vn_net_fini(struct vn_net *n)
{
	vn_fdb_free(n->fdb);
	n->fdb = NULL;
}
