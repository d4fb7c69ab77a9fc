/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the files vnicd reads back (state.json, ledger.json, the INI config). */
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vnicd/accounting.h"
#include "vnicd/log.h"
#include "vnicd/switch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *dir;
	g_autofree char *path = NULL;
	struct vn_config cfg;

	if (size < 1)
		return 0;
	if (!dir) {
		dir = g_dir_make_tmp("vnicd-fuzz-XXXXXX", NULL);
		vn_log_set_level(-1);
	}
	path = g_build_filename(dir, "input", NULL);
	vn_config_defaults(&cfg);
	switch (data[0] % 3) {
	case 0: { /* state file */
		struct vn_switch *sw = vn_switch_new(&cfg, NULL, NULL);
		g_file_set_contents(path, (const char *)data + 1, (gssize)size - 1, NULL);
		vn_switch_restore(sw, path, NULL);
		vn_switch_free(sw);
		break;
	}
	case 1: { /* ledger */
		struct vn_ledger *l = vn_ledger_new(64);
		g_file_set_contents(path, (const char *)data + 1, (gssize)size - 1, NULL);
		vn_ledger_read(l, path, NULL);
		vn_ledger_free(l);
		break;
	}
	default: /* configuration */
		vn_config_load_data(&cfg, (const char *)data + 1, size - 1, NULL);
		break;
	}
	vn_config_clear(&cfg);
	g_unlink(path);
	{
		g_autofree char *bad = g_strdup_printf("%s.bad", path);
		g_unlink(bad);
	}
	return 0;
}
