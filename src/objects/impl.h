/* impl.h - the functions each object store provides to objects.c. */
#ifndef BARGE_OBJECTS_IMPL_H
#define BARGE_OBJECTS_IMPL_H

#include "objects/objects.h"

/* Local files: uri is a path or file:// URI. */
int fs_open_read(const char *uri, uint64_t off, uint64_t len, struct obj_reader **r,
		 struct err *e);
int fs_open_write(const char *uri, struct obj_writer **w, struct err *e);
int fs_stat(const char *uri, struct obj_stat *st, struct err *e);
int fs_remove(const char *uri, struct err *e);
int fs_remove_tree(const char *uri, struct err *e);
int fs_list(const char *prefix, int (*cb)(const char *uri, uint64_t size, void *ud),
	    void *ud, struct err *e);
/* fs_path returns the path part of a plain path or file:// URI. */
const char *fs_path(const char *uri);

/*
 * S3 (s3.c): uri is s3://bucket/key. The store borrows its configuration (a
 * const struct s3_cfg *) for its whole life; s3_store_new returns NULL only
 * when out of memory, and a bad endpoint or region is reported by the first
 * operation. The store may be shared between threads.
 */
struct s3_store;
struct s3_store *s3_store_new(const void *s3_config);
void s3_store_free(struct s3_store *s);
int s3_open_read(struct s3_store *s, const char *uri, uint64_t off, uint64_t len,
		 struct obj_reader **r, struct err *e);
int s3_open_write(struct s3_store *s, const char *uri, struct obj_writer **w, struct err *e);
int s3_stat(struct s3_store *s, const char *uri, struct obj_stat *st, struct err *e);
int s3_remove(struct s3_store *s, const char *uri, struct err *e);
int s3_remove_prefix(struct s3_store *s, const char *uri, struct err *e);
int s3_list(struct s3_store *s, const char *uri,
	    int (*cb)(const char *uri, uint64_t size, void *ud), void *ud, struct err *e);

/*
 * Readers and writers of every store start with this header so that
 * objects.c can dispatch on them.
 */
struct obj_reader_ops {
	int (*read)(struct obj_reader *r, void *buf, size_t n, size_t *got, struct err *e);
	void (*close)(struct obj_reader *r);
};
struct obj_writer_ops {
	int (*write)(struct obj_writer *w, const void *p, size_t n, struct err *e);
	int (*commit)(struct obj_writer *w, struct err *e);
	void (*abort)(struct obj_writer *w);
};
struct obj_reader {
	const struct obj_reader_ops *ops;
};
struct obj_writer {
	const struct obj_writer_ops *ops;
};

#endif
