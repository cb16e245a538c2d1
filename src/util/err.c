/* err.c - filling and decorating struct err. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_init(struct err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void err_prefix(struct err *e, const char *fmt, ...)
{
	char old[ERR_MSG_MAX];
	va_list ap;
	size_t n;

	if (!e)
		return;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/* Append ": old" by hand so that truncation is silent, not a warning. */
	n = strlen(e->msg);
	if (n + 2 < sizeof(e->msg)) {
		memcpy(e->msg + n, ": ", 2);
		n += 2;
		size_t rest = sizeof(e->msg) - n - 1;
		size_t ol = strnlen(old, rest);
		memcpy(e->msg + n, old, ol);
		e->msg[n + ol] = '\0';
	}
}

const char *err_name(int code)
{
	switch (code) {
	case ERR_OK: return "ok";
	case ERR_INVAL: return "invalid";
	case ERR_NOTFOUND: return "not found";
	case ERR_IO: return "io";
	case ERR_LIMIT: return "limit";
	case ERR_CONFLICT: return "conflict";
	case ERR_NOMEM: return "out of memory";
	case ERR_REMOTE: return "remote";
	case ERR_AUTH: return "auth";
	case ERR_CONFIG: return "config";
	default: return "internal";
	}
}
