/* smc-reset.elf: multiboot, run WITHOUT -no-reboot.  Boot 1 runs a
 * function of its own image, patches the function's immediate in place
 * (self-modifying code), checks that the patched code runs, and resets
 * through port 0xcf9.  The VMM loads the image again at the reset (QEMU:
 * SeaBIOS and its multiboot option ROM; qvm: its loader), so boot 2 must
 * run the image's original code, not what a decoded-code cache kept of
 * the patched one.  Boots are counted in CMOS RAM, which survives the
 * reset. */
#include "guest.h"

#define CMOS_MAGIC	0x6e	/* 0xa5 once the test has started */
#define CMOS_BOOT	0x6f	/* boots so far */
#define ORIGINAL	0x11111111u
#define PATCHED		0x22222222u

/* answer(): "mov $ORIGINAL, %eax; ret", its immediate at answer_imm */
__asm__(".pushsection .text\n"
	".globl answer\n"
	"answer:\n"
	"	.byte 0xb8\n"
	".globl answer_imm\n"
	"answer_imm:\n"
	"	.long 0x11111111\n"
	"	ret\n"
	".popsection\n");
uint32_t answer(void);
extern uint8_t answer_imm[4];

static uint8_t cmos_get(uint8_t r) { outb(0x70, r); return inb(0x71); }
static void cmos_put(uint8_t r, uint8_t v) { outb(0x70, r); outb(0x71, v); }

/* Call through a pointer the compiler cannot see through, several times
 * so that an emulator has decoded (and cached) the code. */
static uint32_t run_answer(void)
{
	uint32_t (*volatile fn)(void) = answer;
	uint32_t v = 0;
	for (int i = 0; i < 50; i++)
		v = fn();
	return v;
}

static const char *what(uint32_t v)
{
	return v == ORIGINAL ? "the original code" : v == PATCHED ? "the patched code" : "neither";
}

int main(void)
{
	test_name = "smc-reset";
	int boot = cmos_get(CMOS_MAGIC) == 0xa5 ? cmos_get(CMOS_BOOT) + 1 : 1;
	cmos_put(CMOS_MAGIC, 0xa5);
	cmos_put(CMOS_BOOT, boot);
	printk("smc-reset: boot %d\n", boot);
	uint32_t v = run_answer();
	printk("smc-reset: boot %d runs %s (0x%x)\n", boot, what(v), v);
	if (boot == 1) {
		check(v == ORIGINAL, "boot 1: the loaded image's code runs");
		*(volatile uint32_t *)answer_imm = PATCHED;
		v = run_answer();
		printk("smc-reset: after the patch: %s (0x%x)\n", what(v), v);
		check(v == PATCHED, "a store into the code changes what runs");
		if (test_failures()) {
			cmos_put(CMOS_MAGIC, 0);
			test_done();
		}
		printk("smc-reset: resetting via port 0xcf9\n");
		reset_cf9();
	}
	cmos_put(CMOS_MAGIC, 0);
	check(boot == 2, "one reset, boot 2 (boot %d)", boot);
	check(v == ORIGINAL, "after the reset the reloaded image's code runs, not the patched code");
	check(*(volatile uint32_t *)answer_imm == ORIGINAL, "the image's bytes are back (0x%x)",
	      *(volatile uint32_t *)answer_imm);
	test_done();
}
