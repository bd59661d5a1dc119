/* qvm-img check: the image's metadata checked (and repaired with -r), with
 * qemu-img's report and exit codes. */
#include <getopt.h>
#include <string.h>
#include "img.h"

/* qemu-img check's exit codes */
enum { CHECK_OK = 0, CHECK_INCOMPLETE = 1, CHECK_CORRUPT = 2, CHECK_LEAKS = 3,
       CHECK_UNSUPPORTED = 63 };

static void print_human(const struct blk_check *r)
{
	if (!r->corruptions && !r->leaks && !r->check_errors)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%llu errors were found on the image.\n"
		       "Data may be corrupted, or further writes to the image may corrupt it.\n",
		       (unsigned long long)r->corruptions);
	if (r->leaks)
		printf("\n%llu leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n",
		       (unsigned long long)r->leaks);
	if (r->check_errors)
		printf("\n%llu internal errors have occurred during the check.\n",
		       (unsigned long long)r->check_errors);
	if (r->total_clusters && r->allocated_clusters)
		printf("%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, "
		       "%0.2f%% compressed clusters\n",
		       (unsigned long long)r->allocated_clusters,
		       (unsigned long long)r->total_clusters,
		       r->allocated_clusters * 100.0 / r->total_clusters,
		       r->fragmented_clusters * 100.0 / r->allocated_clusters,
		       r->compressed_clusters * 100.0 / r->allocated_clusters);
	if (r->image_end_offset)
		printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
}

static void print_json(const struct blk_check *r, const char *file, const char *fmt)
{
	printf("{\n");
	if (r->image_end_offset)
		printf("    \"image-end-offset\": %llu,\n",
		       (unsigned long long)r->image_end_offset);
	if (r->total_clusters)
		printf("    \"total-clusters\": %llu,\n", (unsigned long long)r->total_clusters);
	/* like qemu-img, the counts that are 0 are left out */
	if (r->allocated_clusters)
		printf("    \"allocated-clusters\": %llu,\n",
		       (unsigned long long)r->allocated_clusters);
	if (r->fragmented_clusters)
		printf("    \"fragmented-clusters\": %llu,\n",
		       (unsigned long long)r->fragmented_clusters);
	if (r->compressed_clusters)
		printf("    \"compressed-clusters\": %llu,\n",
		       (unsigned long long)r->compressed_clusters);
	if (r->corruptions)
		printf("    \"corruptions\": %llu,\n", (unsigned long long)r->corruptions);
	if (r->leaks)
		printf("    \"leaks\": %llu,\n", (unsigned long long)r->leaks);
	if (r->corruptions_fixed)
		printf("    \"corruptions-fixed\": %llu,\n",
		       (unsigned long long)r->corruptions_fixed);
	if (r->leaks_fixed)
		printf("    \"leaks-fixed\": %llu,\n", (unsigned long long)r->leaks_fixed);
	printf("    \"check-errors\": %llu,\n", (unsigned long long)r->check_errors);
	printf("    \"filename\": \"%s\",\n    \"format\": \"%s\"\n}\n", file, fmt);
}

int img_check(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'O' },
		{ "repair", required_argument, NULL, 'r' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *file;
	bool json = false, quiet = false, force_share = false;
	struct blk_check r, fixed;
	int c, fix = 0, rc;
	struct blk *b;

	while ((c = getopt_long(argc, argv, ":f:r:qUT:", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'r':
			if (!strcmp(optarg, "leaks"))
				fix = BLK_FIX_LEAKS;
			else if (!strcmp(optarg, "all"))
				fix = BLK_FIX_LEAKS | BLK_FIX_ERRORS;
			else
				return img_usage_error("Unknown option value for -r (expecting "
						       "'leaks' or 'all'): %s", optarg);
			break;
		case 'O':
			if (img_parse_output(optarg, &json))
				return 1;
			break;
		case 'q': quiet = true; break;
		case 'U': force_share = true; break;
		case 'T': break;
		default: return img_bad_option(c, argv);
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	file = argv[optind];
	b = img_open(file, fmt, !fix, true, BLK_CACHE_WRITEBACK,
		     force_share ? BLK_SHARE_ALL : fix ? BLK_SHARE_TOOL : BLK_SHARE_INSPECT);
	if (!b)
		return CHECK_INCOMPLETE;
	if (strcmp(blk_format_name(b), "qcow2")) {
		blk_close(b);
		if (!quiet)
			img_error("This image format does not support checks");
		return CHECK_UNSUPPORTED;
	}
	memset(&r, 0, sizeof(r));
	if (blk_check(b, fix, &r)) {
		blk_close(b);
		if (!quiet)
			img_error("Check failed: %s", file);
		return CHECK_INCOMPLETE;
	}
	if (fix && (r.leaks_fixed || r.corruptions_fixed)) {
		if (!quiet && !json)
			printf("The following inconsistencies were found and repaired:\n\n"
			       "    %llu leaked clusters\n    %llu corruptions\n\n"
			       "Double checking the fixed image now...\n",
			       (unsigned long long)r.leaks_fixed,
			       (unsigned long long)r.corruptions_fixed);
		memset(&fixed, 0, sizeof(fixed));
		if (blk_check(b, 0, &fixed)) {
			blk_close(b);
			if (!quiet)
				img_error("Check failed: %s", file);
			return CHECK_INCOMPLETE;
		}
		fixed.leaks_fixed = r.leaks_fixed;
		fixed.corruptions_fixed = r.corruptions_fixed;
		r = fixed;
	}
	blk_close(b);
	if (!quiet) {
		if (json)
			print_json(&r, file, "qcow2");
		else
			print_human(&r);
	}
	if (r.check_errors)
		rc = CHECK_INCOMPLETE;
	else if (r.corruptions)
		rc = CHECK_CORRUPT;
	else if (r.leaks)
		rc = CHECK_LEAKS;
	else
		rc = CHECK_OK;
	return rc;
}
