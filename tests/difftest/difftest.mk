# The differential tester (tests/difftest/README.md), included by the
# top-level Makefile.  B, QVM_CFLAGS, CFLAGS, LIB_OBJS and LDLIBS come
# from there.
#
#   make $(B)/difftest     build it
#   make difftest-long     1,000,000 random cases through the interpreter and
#                          the JIT (DIFFTEST_SEED=N to repeat)

DIFFTEST_SRCS := $(wildcard tests/difftest/*.c)
DIFFTEST_OBJS := $(DIFFTEST_SRCS:%.c=$(B)/obj/%.o) $(B)/obj/tests/difftest/trampoline.o
DIFFTEST_SEED ?= $(shell date +%s)

$(B)/difftest: $(DIFFTEST_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/tests/difftest/%.o: tests/difftest/%.S | $(B)/.deps-installed
	@mkdir -p $(dir $@)
	$(CC) $(QVM_CFLAGS) $(CFLAGS) -c -o $@ $<

difftest-long: $(B)/difftest
	$(B)/difftest --engine both --no-tables --random 1000000 --seed $(DIFFTEST_SEED)

.PHONY: difftest-long
-include $(DIFFTEST_OBJS:.o=.d)
