/* Runs every registered unit test in its own child process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"

static struct unit_test *tests;
static int failed_in_child;
static const char *skipped_in_child;

#define EXIT_SKIP 77 /* a child's status for a skipped test */

void unit_register(struct unit_test *t)
{
	t->next = tests;
	tests = t;
}

void unit_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "  %s:%d: check failed: %s\n", file, line, what);
	failed_in_child = 1;
}

void unit_skip(const char *reason)
{
	skipped_in_child = reason;
}

/* 0 passed, 1 skipped, -1 failed */
static int run_one(struct unit_test *t)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		alarm(60);
		t->fn();
		if (skipped_in_child && !failed_in_child)
			printf("SKIP: unit/%s: %s\n", t->name, skipped_in_child);
		fflush(NULL);
		_exit(failed_in_child ? 1 : skipped_in_child ? EXIT_SKIP : 0);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "  %s: killed by signal %d\n", t->name, WTERMSIG(status));
		return -1;
	}
	if (WEXITSTATUS(status) == EXIT_SKIP)
		return 1;
	return WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;
	/* The list was built in reverse registration order: reverse it. */
	struct unit_test *rev = NULL;
	while (tests) {
		struct unit_test *next = tests->next;
		tests->next = rev;
		rev = tests;
		tests = next;
	}
	for (struct unit_test *t = rev; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		int r = run_one(t);
		if (r == 1) {
			skipped++;
		} else if (r == 0) {
			printf("PASS: unit/%s\n", t->name);
			passed++;
		} else {
			printf("FAIL: unit/%s\n", t->name);
			failed++;
		}
	}
	printf("unit: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
