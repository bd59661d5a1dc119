/* Runs every registered unit test in its own child process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"

static struct unit_test *tests;
static int failed_in_child;

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

static int run_one(struct unit_test *t)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		alarm(60);
		t->fn();
		fflush(NULL);
		_exit(failed_in_child);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "  %s: killed by signal %d\n", t->name, WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
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
		if (run_one(t) == 0) {
			printf("PASS: unit/%s\n", t->name);
			passed++;
		} else {
			printf("FAIL: unit/%s\n", t->name);
			failed++;
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
