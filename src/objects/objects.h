/* objects.h - reading and writing input and output objects by URI. */
#ifndef BARGE_OBJECTS_H
#define BARGE_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/*
 * An object is named by a URI: a plain path, a file:// URI, or (with the S3
 * store) s3://bucket/key. Readers stream, writers are atomic: nothing is
 * visible under the final name until commit succeeds, so a reader never sees
 * a half-written output.
 */
struct objects;     /* context: storage configuration, shared read-only */
struct obj_reader;
struct obj_writer;

struct obj_stat {
	uint64_t size;
	int64_t mtime_ms;
	char etag[80]; /* a version tag: "mtime-size" for files, the ETag for S3 */
	bool is_prefix; /* a directory (or S3 prefix), not an object */
};

/* objects_new returns a context for the configured stores (NULL config: files only). */
struct objects *objects_new(const void *s3_config);
void objects_free(struct objects *o);

/* objects_is_s3 is true for an s3:// URI. */
bool objects_is_s3(const char *uri);

/*
 * objects_open_read opens uri for streaming from byte off; len 0 means to
 * the end. The caller owns *r and closes it with obj_reader_close.
 */
int objects_open_read(struct objects *o, const char *uri, uint64_t off, uint64_t len,
		      struct obj_reader **r, struct err *e);
/* obj_reader_read reads up to n bytes; *got == 0 means the end. */
int obj_reader_read(struct obj_reader *r, void *buf, size_t n, size_t *got, struct err *e);
void obj_reader_close(struct obj_reader *r);

/*
 * objects_open_write starts writing uri. The caller owns *w until it calls
 * obj_writer_commit (which publishes the object and frees w, also on
 * failure) or obj_writer_abort (which discards everything and frees w).
 */
int objects_open_write(struct objects *o, const char *uri, struct obj_writer **w,
		       struct err *e);
int obj_writer_write(struct obj_writer *w, const void *p, size_t n, struct err *e);
int obj_writer_commit(struct obj_writer *w, struct err *e);
void obj_writer_abort(struct obj_writer *w);

/* objects_put writes a whole small object at once. */
int objects_put(struct objects *o, const char *uri, const void *p, size_t n, struct err *e);
int objects_stat(struct objects *o, const char *uri, struct obj_stat *st, struct err *e);
/* objects_remove deletes uri; a missing object is not an error. */
int objects_remove(struct objects *o, const char *uri, struct err *e);

/*
 * objects_remove_prefix deletes every object under prefix (for files, the
 * directory tree). Used for barge's own scratch objects, such as parts.
 */
int objects_remove_prefix(struct objects *o, const char *prefix, struct err *e);

/*
 * objects_list calls cb with the URI and size of every object under prefix
 * (a directory or key prefix), in byte order of the names. A prefix that
 * names a single object lists that object alone.
 */
int objects_list(struct objects *o, const char *prefix,
		 int (*cb)(const char *uri, uint64_t size, void *ud), void *ud, struct err *e);

/*
 * objects_join makes "base/name" with exactly one slash between them; the
 * result is malloc'd (caller frees) or NULL when out of memory.
 */
char *objects_join(const char *base, const char *name);
/*
 * objects_mkdirs creates the local directory dir and its missing parents,
 * like mkdir -p (mode 0755). A directory that exists is fine; what was
 * created before a failure stays.
 */
int objects_mkdirs(const char *dir, struct err *e);

/*
 * objects_same says whether locations a and b name the same object: for
 * files, the same existing file or directory (by device and inode, so
 * "./x", "x" and a link to x are all x); for S3, the same URI.
 */
bool objects_same(const char *a, const char *b);

/* objects_basename returns a pointer to the last path component of uri. */
const char *objects_basename(const char *uri);

#endif
