/* SPDX-License-Identifier: MIT */
/*
 * The macvtap network kind's own names (backend/net_macvtap.c): the modes of Linux
 * drivers/net/macvlan.c and who reflects frames between VEPA ports. A port's mode is its
 * slot's kind byte (struct vn_slot.kmode); the uplink's is VN_MVT_UPLINK.
 */
#ifndef VNICD_MACVTAP_H
#define VNICD_MACVTAP_H

/** Mode of a port in a macvtap network; the values are the kernel's MACVLAN_MODE_*. */
enum vn_mvt_mode {
	VN_MVT_PRIVATE = 1,
	VN_MVT_VEPA = 2,
	VN_MVT_BRIDGE = 4,
	VN_MVT_PASSTHRU = 8,
	VN_MVT_UPLINK = 0x80, /* the slot of the network's uplink */
};

/** Who reflects frames between local VEPA ports. */
enum vn_hairpin {
	VN_HAIRPIN_EXTERNAL = 0, /* the adjacent bridge, if it is in hairpin mode */
	VN_HAIRPIN_EMULATED = 1, /* vnicd, as that bridge would */
};

/** vn_mvt_mode_name() - Return: "vepa", "bridge", "private", "passthru" or "?". */
const char *vn_mvt_mode_name(unsigned mode);

/** vn_mvt_mode_parse() - Return: the enum vn_mvt_mode named @s, or -EINVAL. */
int vn_mvt_mode_parse(const char *s);

/** vn_hairpin_name() - Return: "external" or "emulated". */
const char *vn_hairpin_name(unsigned hairpin);

/** vn_hairpin_parse() - Return: the enum vn_hairpin named @s, or -EINVAL. */
int vn_hairpin_parse(const char *s);

#endif
