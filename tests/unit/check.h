/* check: the counters and CHECK() macro shared by the C unit tests:
 * CHECK(condition, printf-style message) counts a pass or prints the line
 * and message of a failure (CHECK_THAT(condition): the condition's text); main() reports `passed`
 * and `failed` (check_report). */
#ifndef TERN_TEST_CHECK_H
#define TERN_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int passed, failed;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			printf("FAIL line %d: ", __LINE__);                                        \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
		}                                                                                  \
	} while (0)

/* CHECK whose message is the condition itself. */
#define CHECK_THAT(cond) CHECK(cond, "%s", #cond)

/* Removes a test's temporary directory and everything in it. */
static inline void check_remove_dir(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("cleanup of %s failed\n", dir);
}

/* Prints the counts; what main() returns. */
static inline int check_report(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, passed, failed);
	return failed ? 1 : 0;
}

#endif
