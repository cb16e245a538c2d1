/* objects.c - dispatches object operations to the store a URI names. */
#include "objects/impl.h"

#include <stdlib.h>
#include <string.h>

struct objects {
	struct s3_store *s3; /* NULL: files only */
};

/* objects_new makes the context; the caller frees it with objects_free. */
struct objects *objects_new(const void *s3_config)
{
	struct objects *o = calloc(1, sizeof(*o));

	if (o && s3_config && !(o->s3 = s3_store_new(s3_config))) {
		free(o);
		return NULL;
	}
	return o;
}

void objects_free(struct objects *o)
{
	if (!o)
		return;
	s3_store_free(o->s3);
	free(o);
}

bool objects_is_s3(const char *uri)
{
	return !strncmp(uri, "s3://", 5);
}

/* no_s3 is the answer for s3:// URIs of a context made without S3 configuration. */
static int no_s3(const char *uri, struct err *e)
{
	return err_set(e, ERR_CONFIG, "%s: s3:// locations need the [storage.s3] configuration",
		       uri);
}

int objects_open_read(struct objects *o, const char *uri, uint64_t off, uint64_t len,
		      struct obj_reader **r, struct err *e)
{
	*r = NULL;
	if (objects_is_s3(uri))
		return o && o->s3 ? s3_open_read(o->s3, uri, off, len, r, e) : no_s3(uri, e);
	return fs_open_read(uri, off, len, r, e);
}

int obj_reader_read(struct obj_reader *r, void *buf, size_t n, size_t *got, struct err *e)
{
	return r->ops->read(r, buf, n, got, e);
}

void obj_reader_close(struct obj_reader *r)
{
	if (r)
		r->ops->close(r);
}

int objects_open_write(struct objects *o, const char *uri, struct obj_writer **w,
		       struct err *e)
{
	*w = NULL;
	if (objects_is_s3(uri))
		return o && o->s3 ? s3_open_write(o->s3, uri, w, e) : no_s3(uri, e);
	return fs_open_write(uri, w, e);
}

int obj_writer_write(struct obj_writer *w, const void *p, size_t n, struct err *e)
{
	return w->ops->write(w, p, n, e);
}

int obj_writer_commit(struct obj_writer *w, struct err *e)
{
	return w->ops->commit(w, e);
}

void obj_writer_abort(struct obj_writer *w)
{
	if (w)
		w->ops->abort(w);
}

int objects_put(struct objects *o, const char *uri, const void *p, size_t n, struct err *e)
{
	struct obj_writer *w;
	int rc = objects_open_write(o, uri, &w, e);

	if (rc)
		return rc;
	rc = obj_writer_write(w, p, n, e);
	if (rc) {
		obj_writer_abort(w);
		return rc;
	}
	return obj_writer_commit(w, e);
}

int objects_stat(struct objects *o, const char *uri, struct obj_stat *st, struct err *e)
{
	if (objects_is_s3(uri))
		return o && o->s3 ? s3_stat(o->s3, uri, st, e) : no_s3(uri, e);
	return fs_stat(uri, st, e);
}

int objects_remove(struct objects *o, const char *uri, struct err *e)
{
	if (objects_is_s3(uri))
		return o && o->s3 ? s3_remove(o->s3, uri, e) : no_s3(uri, e);
	return fs_remove(uri, e);
}

int objects_remove_prefix(struct objects *o, const char *prefix, struct err *e)
{
	if (objects_is_s3(prefix))
		return o && o->s3 ? s3_remove_prefix(o->s3, prefix, e) : no_s3(prefix, e);
	return fs_remove_tree(prefix, e);
}

int objects_list(struct objects *o, const char *prefix,
		 int (*cb)(const char *uri, uint64_t size, void *ud), void *ud, struct err *e)
{
	if (objects_is_s3(prefix))
		return o && o->s3 ? s3_list(o->s3, prefix, cb, ud, e) : no_s3(prefix, e);
	return fs_list(prefix, cb, ud, e);
}

char *objects_join(const char *base, const char *name)
{
	size_t bl = strlen(base), nl;
	char *s;

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	while (*name == '/')
		name++;
	nl = strlen(name);
	s = malloc(bl + nl + 2);
	if (!s)
		return NULL;
	memcpy(s, base, bl);
	s[bl] = '/';
	memcpy(s + bl + 1, name, nl + 1);
	return s;
}

const char *objects_basename(const char *uri)
{
	const char *s = strrchr(uri, '/');

	return s ? s + 1 : uri;
}
