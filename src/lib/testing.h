/*
 * A tiny unit-test framework.  A test file `foo_test.c` beside the module it
 * tests defines cases with TEST(name) { ... } and checks with EXPECT*; the
 * build links each *_test.c into its own program with tests/unit_main.c.
 * Every case prints "ok NAME" or "FAIL NAME: file:line: what", and the
 * program's exit status is non-zero if any failed.
 */
#ifndef NIMBUS_LIB_TESTING_H
#define NIMBUS_LIB_TESTING_H

#include <inttypes.h>
#include <stdio.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

void test_register(const char *name, void (*fn)(void));
void test_fail(const char *file, int line, const char *what);
int test_failed_now(void);

#define TEST(name)                                                        \
	static void name(void);                                           \
	__attribute__((constructor)) static void register_##name(void)    \
	{                                                                 \
		test_register(#name, name);                               \
	}                                                                 \
	static void name(void)

#define EXPECT(cond)                                                      \
	do {                                                              \
		if (!(cond)) {                                            \
			test_fail(__FILE__, __LINE__, #cond);             \
			return;                                           \
		}                                                         \
	} while (0)

#define EXPECT_EQ(a, b)                                                   \
	do {                                                              \
		unsigned long long a_ = (unsigned long long)(a);          \
		unsigned long long b_ = (unsigned long long)(b);          \
		if (a_ != b_) {                                           \
			char what_[256];                                  \
			snprintf(what_, sizeof what_, "%s == %s (0x%llx != 0x%llx)", \
				 #a, #b, a_, b_);                         \
			test_fail(__FILE__, __LINE__, what_);             \
			return;                                           \
		}                                                         \
	} while (0)

#endif
