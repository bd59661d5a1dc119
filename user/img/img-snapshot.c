/* qvm-img snapshot: list, create, apply and delete internal snapshots. */
#include <getopt.h>
#include <stdlib.h>
#include "img.h"

int img_snapshot(int argc, char **argv)
{
	enum { NONE, LIST, CREATE, APPLY, DELETE } act = NONE;
	const char *name = NULL, *fmt = NULL, *file;
	bool quiet = false, force_share = false;
	struct blk *b;
	int c, r = 0;

	while ((c = getopt(argc, argv, ":la:c:d:f:qU")) != -1) {
		int want = c == 'l' ? LIST : c == 'a' ? APPLY : c == 'c' ? CREATE :
			   c == 'd' ? DELETE : NONE;
		if (want != NONE) {
			if (act != NONE)
				return img_usage_error("Cannot mix '-l', '-a', '-c', '-d'");
			act = want;
			name = optarg;
			continue;
		}
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'U': force_share = true; break;
		default: return img_bad_option(c, argv);
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	if (act == NONE)
		act = LIST;
	file = argv[optind];
	b = img_open(file, fmt, act == LIST, true, BLK_CACHE_WRITEBACK,
		     act == LIST ? img_inspect_share(force_share)
				 : force_share ? BLK_SHARE_ALL : BLK_SHARE_TOOL);
	if (!b)
		return 1;
	switch (act) {
	case LIST: {
		unsigned n = 0;
		struct blk_snapshot *sn = blk_snapshot_list(b, &n);
		if (sn && n && !quiet) {
			printf("Snapshot list:\n");
			img_print_snapshot_table(sn, n);
		}
		free(sn);
		break;
	}
	case CREATE: r = blk_snapshot_create(b, name); break;
	case APPLY: r = blk_snapshot_apply(b, name); break;
	case DELETE: r = blk_snapshot_delete(b, name); break;
	default: break;
	}
	blk_close(b);
	return r ? 1 : 0;
}
