/* err.h - error codes and the error record every fallible function fills. */
#ifndef BARGE_ERR_H
#define BARGE_ERR_H

#include <stddef.h>

/*
 * Functions return 0 on success or one of these negative codes, and fill the
 * caller's struct err with a sentence a user can act on. The codes are coarse
 * on purpose: they decide exit statuses and HTTP statuses, while the message
 * carries the detail.
 */
enum {
	ERR_OK = 0,
	ERR_INVAL = -1,    /* bad input: a record, a flag, a request body */
	ERR_NOTFOUND = -2, /* a job, file, model or object that does not exist */
	ERR_IO = -3,       /* a read or write on a file or object failed */
	ERR_LIMIT = -4,    /* a configured limit or buffer cap was exceeded */
	ERR_CONFLICT = -5, /* the operation does not fit the current state */
	ERR_NOMEM = -6,    /* allocation failed */
	ERR_REMOTE = -7,   /* a backend or object store failed */
	ERR_AUTH = -8,     /* credentials missing or wrong */
	ERR_CONFIG = -9,   /* the configuration is unusable */
	ERR_INTERNAL = -10 /* a bug: barge broke one of its own rules */
};

#define ERR_MSG_MAX 1024

struct err {
	int code;
	char msg[ERR_MSG_MAX];
};

/* err_init clears e so that it holds no error. */
void err_init(struct err *e);

/*
 * err_set records code and a printf-style message in e (which may be NULL)
 * and returns code, so that callers can write `return err_set(e, ...)`.
 */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * err_prefix puts "prefix: " in front of the message already in e, so that
 * an outer layer can say where the inner failure happened.
 */
void err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* err_name returns a short stable name for a code ("invalid", "io", ...). */
const char *err_name(int code);

#endif
