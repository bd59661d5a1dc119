/*
 * A minimal unit-test framework: a TEST(name) { ... CHECK(...); } in any
 * file under tests/unit/ registers itself; tests/unit/runner.c runs each in a

 * child process so that a crash is a failure, not the end of the run.
 */
#ifndef QVM_UNIT_H
#define QVM_UNIT_H

#include <stdio.h>

struct unit_test {
	const char *name, *file;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);
void unit_fail(const char *file, int line, const char *what);
/* Mark the running test skipped: the runner prints "SKIP: unit/NAME:
 * reason" instead of PASS (a failed check still makes it FAIL). */
void unit_skip(const char *reason);

#define TEST(name)                                                          \
	static void test_##name(void);                                      \
	static struct unit_test unit_##name = { #name, __FILE__, test_##name, 0 }; \
	__attribute__((constructor)) static void unit_reg_##name(void)      \
	{ unit_register(&unit_##name); }                                    \
	static void test_##name(void)

/* Skip the rest of the test (something it needs is missing here). */
#define SKIP(reason)                                                        \
	do {                                                                \
		unit_skip(reason);                                          \
		return;                                                     \
	} while (0)

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			unit_fail(__FILE__, __LINE__, #cond);               \
			return;                                             \
		}                                                           \
	} while (0)

#define CHECK_EQ(a, b)                                                      \
	do {                                                                \
		unsigned long long a_ = (unsigned long long)(a);            \
		unsigned long long b_ = (unsigned long long)(b);            \
		if (a_ != b_) {                                             \
			char what_[256];                                    \
			snprintf(what_, sizeof(what_), "%s == %s (0x%llx != 0x%llx)", \
				 #a, #b, a_, b_);                           \
			unit_fail(__FILE__, __LINE__, what_);               \
			return;                                             \
		}                                                           \
	} while (0)

#endif
