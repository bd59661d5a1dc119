/*
 * Formats qvm does not read but QEMU does, recognised by their magic so
 * that probing refuses them by name instead of opening them as raw (a
 * vmdk read as raw is its sparse-extent metadata, not the guest's disk).
 * The magics are those each format's specification puts at the start of
 * the file (and QEMU's probes look for).
 */
#include <string.h>
#include "core.h"

static uint32_t le32_at(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static bool starts(const uint8_t *buf, size_t len, const char *magic, size_t n)
{
	return len >= n && !memcmp(buf, magic, n);
}

const char *blk_probe_foreign(const uint8_t *buf, size_t len)
{
	/* qcow (version 1): the qcow2 magic "QFI\xfb" with version 1 */
	if (starts(buf, len, "QFI\xfb", 4) && len >= 8 && be32_at(buf + 4) == 1)
		return "qcow";
	/* VMware: a sparse extent ("KDMV"), a VMware 3 extent ("COWD"), or
	 * a text descriptor file */
	if (starts(buf, len, "KDMV", 4) || starts(buf, len, "COWD", 4) ||
	    starts(buf, len, "# Disk DescriptorFile", 21))
		return "vmdk";
	/* VirtualBox: the signature 0xbeda107f at 0x40, after the text line */
	if (len >= 0x44 && le32_at(buf + 0x40) == 0xbeda107f)
		return "vdi";
	if (starts(buf, len, "vhdxfile", 8))
		return "vhdx";
	/* Virtual PC: a dynamic disk's footer copy at the start ("conectix");
	 * a fixed disk is raw data with the footer at the end only, which
	 * QEMU probes as raw too */
	if (starts(buf, len, "conectix", 8))
		return "vpc";
	if (starts(buf, len, "QED\0", 4))
		return "qed";
	if (starts(buf, len, "LUKS\xba\xbe", 6))
		return "luks";
	if (starts(buf, len, "WithoutFreeSpace", 16) || starts(buf, len, "WithouFreSpacExt", 16))
		return "parallels";
	if (starts(buf, len, "Bochs Virtual HD Image", 22))
		return "bochs";
	if (starts(buf, len, "#!/bin/sh\n#V2.0 Format\nmodprobe cloop", 37))
		return "cloop";
	return NULL;
}
