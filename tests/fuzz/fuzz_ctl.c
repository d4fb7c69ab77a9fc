/* SPDX-License-Identifier: MIT */
/* libFuzzer target: control-protocol request lines against a validation-only switch. */
#include <stddef.h>
#include <stdint.h>

#include "vnicd/ctl.h"
#include "vnicd/log.h"

static struct vn_config cfg;
static struct vn_switch *sw;
static unsigned runs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *resp;

	if (!sw || ++runs % 5000 == 0) { /* bound the state the inputs build up */
		vn_switch_free(sw);
		if (!cfg.control_socket) {
			vn_config_defaults(&cfg);
			vn_log_set_level(VN_LOG_ERR);
		}
		sw = vn_switch_new(&cfg, NULL, NULL);
		vn_switch_net_add(sw, "br0", "bridge", NULL);
	}
	resp = vn_ctl_handle_line(sw, (const char *)data, size);
	if (!resp || !*resp)
		__builtin_trap(); /* every request gets an answer */
	g_free(resp);
	return 0;
}
