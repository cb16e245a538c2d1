/* log.c - one-line log messages on stderr. */
#include "util/log.h"
#include "util/time.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum log_level level = LOG_WARN;
static int env_read;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void read_env(void)
{
	const char *v = getenv("BARGE_LOG");

	env_read = 1;
	if (!v)
		return;
	if (!strcmp(v, "debug"))
		level = LOG_DEBUG;
	else if (!strcmp(v, "info"))
		level = LOG_INFO;
	else if (!strcmp(v, "warn"))
		level = LOG_WARN;
	else if (!strcmp(v, "error"))
		level = LOG_ERROR;
	else if (!strcmp(v, "off"))
		level = LOG_OFF;
}

void log_set_level(enum log_level lvl)
{
	level = lvl;
	if (!env_read)
		read_env();
}

enum log_level log_get_level(void)
{
	if (!env_read)
		read_env();
	return level;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	char ts[32];
	char line[2048];
	va_list ap;

	if (lvl < log_get_level() || lvl >= LOG_OFF)
		return;
	time_format_rfc3339(time_now_ms(), ts, sizeof(ts));
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	fprintf(stderr, "%s %s %s\n", ts, names[lvl], line);
	pthread_mutex_unlock(&lock);
}
