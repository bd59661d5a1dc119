/* png-probe FILE [X,Y ...]: read a PNG with libpng and print "W H", then
 * the RRGGBB hex of each pixel asked for, one a line; with "rows" instead
 * of points, every row as one line of RRGGBB values (tests/display/run). */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: png-probe FILE [X,Y ...]\n");
		return 2;
	}
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&img, argv[1])) {
		fprintf(stderr, "png-probe: %s: %s\n", argv[1], img.message);
		return 1;
	}
	img.format = PNG_FORMAT_RGB;
	unsigned char *rgb = malloc(PNG_IMAGE_SIZE(img));
	if (!rgb || !png_image_finish_read(&img, NULL, rgb, 0, NULL)) {
		fprintf(stderr, "png-probe: %s: %s\n", argv[1], img.message);
		return 1;
	}
	printf("%u %u\n", img.width, img.height);
	if (argc == 3 && !strcmp(argv[2], "rows")) {
		for (unsigned y = 0; y < img.height; y++) {
			for (unsigned x = 0; x < img.width; x++) {
				const unsigned char *p = rgb + ((size_t)y * img.width + x) * 3;
				printf("%02x%02x%02x", p[0], p[1], p[2]);
			}
			putchar('\n');
		}
		free(rgb);
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		unsigned x, y;
		if (sscanf(argv[i], "%u,%u", &x, &y) != 2 || x >= img.width || y >= img.height) {
			fprintf(stderr, "png-probe: bad point %s\n", argv[i]);
			return 2;
		}
		const unsigned char *p = rgb + ((size_t)y * img.width + x) * 3;
		printf("%02x%02x%02x\n", p[0], p[1], p[2]);
	}
	free(rgb);
	return 0;
}
