/* multipart.h - multipart/form-data bodies (RFC 7578), parsed in place. */
#ifndef BARGE_API_MULTIPART_H
#define BARGE_API_MULTIPART_H

#include <stddef.h>

#include "util/err.h"

/* One part of a form: its name, an uploaded file's name, and its bytes. */
struct multipart_part {
	char name[64];
	char filename[256]; /* "" when the part is no file */
	const char *data;   /* inside the body; not NUL-terminated */
	size_t len;
};

#define MULTIPART_MAX_PARTS 16

/*
 * multipart_parse splits body[0..len) by the boundary that content_type
 * ("multipart/form-data; boundary=...") names into at most
 * MULTIPART_MAX_PARTS parts, pointing into the body. Returns the number of
 * parts, or ERR_INVAL with what is malformed in e.
 */
int multipart_parse(const char *content_type, const char *body, size_t len,
		    struct multipart_part *parts, struct err *e);

/* multipart_find returns the part called name among parts[0..n), or NULL. */
const struct multipart_part *multipart_find(const struct multipart_part *parts, int n,
					    const char *name);

#endif
