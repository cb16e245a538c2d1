/* testutil.h - what every cmocka unit test includes first. */
#ifndef BARGE_TESTUTIL_H
#define BARGE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* assert_ok fails the test with the error message when rc is not 0. */
#define assert_ok(rc, e)                                                          \
	do {                                                                      \
		int rc_ = (rc);                                                   \
		if (rc_ != 0)                                                     \
			fail_msg("expected success, got %d: %s", rc_, (e)->msg);  \
	} while (0)

/* assert_contains fails unless needle occurs in hay. */
#define assert_contains(hay, needle)                                              \
	do {                                                                      \
		const char *h_ = (hay), *n_ = (needle);                           \
		if (!h_ || !strstr(h_, n_))                                       \
			fail_msg("expected \"%s\" in \"%s\"", n_, h_ ? h_ : "(null)"); \
	} while (0)

#endif
