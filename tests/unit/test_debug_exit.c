/* isa-debug-exit (user/hw/debug_exit.c). */
#include "unit.h"
#include "machine.h"
#include "hw/hw.h"

TEST(debug_exit_status_rule)
{
	struct machine *m = machine_new(16 << 20);
	CHECK(m);
	CHECK(debug_exit_new(m, 0xf4, 4));
	int status = -1;
	CHECK_EQ(machine_take_request(m, &status), REQ_NONE);
	uint64_t v = 0x10;
	CHECK(machine_pio(m, 0xf4, true, &v, 1));
	CHECK_EQ(machine_take_request(m, &status), REQ_SHUTDOWN);
	CHECK_EQ(status, 33);
	v = 0;
	machine_pio(m, 0xf4, true, &v, 4);
	CHECK_EQ(machine_take_request(m, &status), REQ_SHUTDOWN);
	CHECK_EQ(status, 1);
	v = 0x1234;                            /* word write inside the range */
	machine_pio(m, 0xf6, true, &v, 2);
	CHECK_EQ(machine_take_request(m, &status), REQ_SHUTDOWN);
	CHECK_EQ(status, 0x2469);
	v = 0x1ff;                             /* a byte access sees one byte */
	machine_pio(m, 0xf4, true, &v, 1);
	machine_take_request(m, &status);
	CHECK_EQ(status & 0xff, 0xff);
	CHECK_EQ(status, 0x1ff);
	v = 0;
	machine_pio(m, 0xf4, false, &v, 4);
	CHECK_EQ(v, 0xffffffff);
	CHECK_EQ(machine_take_request(m, NULL), REQ_NONE); /* reads don't exit */
	machine_free(m);
}

TEST(debug_exit_sizes_and_ports)
{
	struct machine *m = machine_new(16 << 20);
	CHECK(m);
	CHECK(!debug_exit_new(m, 0x501, 3));   /* iosize 1, 2 or 4 */
	CHECK(!debug_exit_new(m, 0x501, 0));
	CHECK(debug_exit_new(m, 0x501, 2));
	uint64_t v = 0;
	CHECK(machine_pio(m, 0x502, false, &v, 1));
	CHECK(!machine_pio(m, 0x503, false, &v, 1));
	CHECK(debug_exit_new(m, 0x503, 1));    /* a second one beside it */
	v = 2;
	machine_pio(m, 0x503, true, &v, 1);
	int status;
	CHECK_EQ(machine_take_request(m, &status), REQ_SHUTDOWN);
	CHECK_EQ(status, 5);
	machine_free(m);
}
