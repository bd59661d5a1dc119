/* qvm-img resize: a new virtual size, absolute or +/- relative. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "img.h"

int img_resize(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "shrink", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *file, *arg;
	bool quiet = false, shrink = false;
	uint64_t size, cur, n;
	int c, sign = 0, r;
	struct blk *b;

	/* "-1G" as the last argument is a size, not an option (as in qemu-img) */
	if (argc > 2 && argv[argc - 1][0] == '-' && img_parse_size(argv[argc - 1] + 1, &n) == 0) {
		arg = argv[argc - 1];
		argc--;
	} else {
		arg = NULL;
	}
	/* no -U: resizing writes (qemu-img has none either) */
	while ((c = getopt_long(argc, argv, ":f:q", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'S': shrink = true; break;
		default: return img_bad_option(c, argv);
		}
	}
	if (!arg) {
		if (argc - optind != 2)
			return img_usage_error("Expecting image file name and size");
		arg = argv[argc - 1];
		argc--;
	}
	if (argc - optind != 1)
		return img_usage_error("Expecting image file name and size");
	file = argv[optind];
	if (*arg == '+' || *arg == '-')
		sign = *arg++ == '+' ? 1 : -1;
	if (img_parse_size_or_error(arg, &n))
		return 1;
	b = img_open(file, fmt, false, true, BLK_CACHE_WRITEBACK, BLK_SHARE_TOOL);
	if (!b)
		return 1;
	cur = blk_size(b);
	if (sign > 0)
		size = cur + n;
	else if (sign < 0)
		size = n > cur ? 0 : cur - n;
	else
		size = n;
	size = img_round_sector(size);
	if (sign < 0 && n > cur) {
		img_error("New image size must be positive");
		blk_close(b);
		return 1;
	}
	if (size < cur && !shrink) {
		img_error("Use the --shrink option to perform a shrink operation.");
		blk_close(b);
		return 1;
	}
	r = size == cur ? 0 : blk_resize(b, size);
	if (r < 0) {
		/* -ENOTSUP: the format said why (data past the new end ...) */
		if (r != -ENOTSUP)
			img_io_error(r, "%s: Failed to resize the image", file);
		blk_close(b);
		return 1;
	}
	blk_close(b);
	if (!quiet)
		printf("Image resized.\n");
	return 0;
}
