/* rlimit.c - raising the process's limit on open files. */
#include "util/rlimit.h"

#include <pthread.h>
#include <sys/resource.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static long current = -1;

static void raise_once(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	current = rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

long rlimit_raise_nofile(void)
{
	pthread_once(&once, raise_once);
	return current;
}
