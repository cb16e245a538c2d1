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
