/* qvm-img create: a new raw or qcow2 image, optionally over a backing file. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "img.h"

int img_create(int argc, char **argv)
{
	struct blk_create_opts o = { .format = "raw" };
	const char *backing = NULL, *backing_fmt = NULL, *file;
	bool quiet = false, help = false;
	char *opts[16];
	int nopts = 0, c;

	while ((c = getopt(argc, argv, ":f:b:F:o:qu")) != -1) {
		switch (c) {
		case 'f': o.format = optarg; break;
		case 'b': backing = optarg; break;
		case 'F': backing_fmt = optarg; break;
		case 'o':
			if (nopts == 16)
				return img_usage_error("too many -o options");
			opts[nopts++] = optarg;
			break;
		case 'q': quiet = true; break;
		case 'u': break;        /* unsafe: the backing file is not opened anyway */
		default: return img_bad_option(c, argv);
		}
	}
	if (img_check_format(o.format))
		return 1;
	if (optind >= argc) {
		for (int i = 0; i < nopts; i++)
			if (img_parse_create_opts(opts[i], &o, &help, "create"))
				return 1;
		return help ? 0 : img_usage_error("Expecting image file name");
	}
	file = argv[optind++];
	for (int i = 0; i < nopts; i++)
		if (img_parse_create_opts(opts[i], &o, &help, file))
			return 1;
	if (help)
		return 0;
	if (backing)
		o.backing = backing;
	if (backing_fmt)
		o.backing_fmt = backing_fmt;
	if (o.backing_fmt && img_check_format(o.backing_fmt))
		return 1;
	if (optind < argc) {
		if (img_parse_size_or_error(argv[optind++], &o.size))
			return 1;
	}
	if (optind < argc)
		return img_usage_error("Unexpected argument: %s", argv[optind]);
	if (o.backing && !o.backing[0])
		o.backing = NULL;
	if (o.backing && strcmp(o.format, "qcow2")) {
		img_error("%s: Backing file not supported for file format '%s'", file, o.format);
		return 1;
	}
	if (o.backing) {
		/* Like qemu-img: the backing file must open, and gives the size
		 * (and the format when -F is missing). */
		char *path = img_backing_path(file, o.backing);
		struct blk *bb = path ? img_open(path, o.backing_fmt, true, true,
						 BLK_CACHE_WRITEBACK, BLK_SHARE_INSPECT) : NULL;
		free(path);
		if (!bb) {
			img_error("%s: Could not open backing image '%s'", file, o.backing);
			return 1;
		}
		if (!o.size)
			o.size = blk_size(bb);
		if (!o.backing_fmt)
			o.backing_fmt = strdup(blk_format_name(bb));
		blk_close(bb);
	} else if (optind == argc && !o.size) {
		bool given = false;
		for (int i = 0; i < nopts; i++)
			given |= !strncmp(opts[i], "size=", 5) || strstr(opts[i], ",size=");
		if (!given)
			return img_usage_error("Image creation needs a size parameter");
	}
	return img_create_image(file, &o, quiet) ? 1 : 0;
}
