/* SPDX-License-Identifier: MIT */
/* Network kinds by name: the table of the kinds built in. */
#include <string.h>

#include "vnicd/nat.h"
#include "vnicd/net.h"

static const struct vn_net_kind *const kinds[] = {&vn_bridge_net_kind, &vn_macvtap_net_kind,
						  &vn_overlay_net_kind, &vn_nat_net_kind};

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
