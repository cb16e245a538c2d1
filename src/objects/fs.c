/* fs.c - the local-file object store: streamed reads, atomic writes. */
#include "objects/impl.h"
#include "util/ids.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Directory walks stop at this many entries so a hostile tree cannot exhaust memory. */
#define FS_LIST_MAX 100000

const char *fs_path(const char *uri)
{
	if (!strncmp(uri, "file://", 7))
		return uri + 7;
	return uri;
}

struct fs_reader {
	struct obj_reader base;
	int fd;
	uint64_t left; /* bytes still allowed by the range, UINT64_MAX if open-ended */
	char *path;
};

static int fs_reader_read(struct obj_reader *r, void *buf, size_t n, size_t *got,
			  struct err *e)
{
	struct fs_reader *f = (struct fs_reader *)r;
	ssize_t k;

	*got = 0;
	if (f->left == 0)
		return 0;
	if (n > f->left)
		n = (size_t)f->left;
	do {
		k = read(f->fd, buf, n);
	} while (k < 0 && errno == EINTR);
	if (k < 0)
		return err_set(e, ERR_IO, "%s: read failed: %s", f->path, strerror(errno));
	*got = (size_t)k;
	if (f->left != UINT64_MAX)
		f->left -= (uint64_t)k;
	return 0;
}

static void fs_reader_close(struct obj_reader *r)
{
	struct fs_reader *f = (struct fs_reader *)r;

	close(f->fd);
	free(f->path);
	free(f);
}

static const struct obj_reader_ops fs_reader_ops = {fs_reader_read, fs_reader_close};

int fs_open_read(const char *uri, uint64_t off, uint64_t len, struct obj_reader **r,
		 struct err *e)
{
	const char *path = fs_path(uri);
	struct fs_reader *f;
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: cannot open: %s",
			       path, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return err_set(e, ERR_INVAL, "%s: is a directory, not a file", path);
	}
	if (off && lseek(fd, (off_t)off, SEEK_SET) < 0) {
		err_set(e, ERR_IO, "%s: cannot seek to byte %llu: %s", path,
			(unsigned long long)off, strerror(errno));
		close(fd);
		return ERR_IO;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		close(fd);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	f->base.ops = &fs_reader_ops;
	f->fd = fd;
	f->left = len ? len : UINT64_MAX;
	*r = &f->base;
	return 0;
}

#define FS_WBUF (256 * 1024)

/* Writes are gathered in wbuf so that many small lines cost few system calls. */
struct fs_writer {
	struct obj_writer base;
	int fd;
	char *path;
	char *tmp;
	char *wbuf;
	size_t wlen;
};

int objects_mkdirs(const char *dir, struct err *e)
{
	char tmp[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(tmp))
		return err_set(e, ERR_INVAL, "%.200s...: path too long", dir);
	memcpy(tmp, dir, n + 1);
	/* Each prefix that ends before a slash is a directory to have. */
	for (char *p = tmp + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = '\0';
		if (tmp[0] && mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return err_set(e, ERR_IO, "%s: cannot create directory: %s", tmp,
				       strerror(errno));
		*p = c;
		if (!c)
			return 0;
	}
}

bool objects_same(const char *a, const char *b)
{
	struct stat sa, sb;

	if (objects_is_s3(a) || objects_is_s3(b))
		return !strcmp(a, b);
	if (stat(fs_path(a), &sa) < 0 || stat(fs_path(b), &sb) < 0)
		return !strcmp(fs_path(a), fs_path(b));
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* mkdir_parents creates every missing directory above the file path. */
static int mkdir_parents(const char *path, struct err *e)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n == 0)
		return 0;
	if (n >= sizeof(tmp))
		return err_set(e, ERR_INVAL, "%.200s...: path too long", path);
	memcpy(tmp, path, n);
	tmp[n] = '\0';
	return objects_mkdirs(tmp, e);
}

static int write_all(struct fs_writer *f, const char *s, size_t n, struct err *e)
{
	while (n > 0) {
		ssize_t k = write(f->fd, s, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return err_set(e, ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
		}
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

static int flush_wbuf(struct fs_writer *f, struct err *e)
{
	int rc = write_all(f, f->wbuf, f->wlen, e);

	f->wlen = 0;
	return rc;
}

static int fs_writer_write(struct obj_writer *w, const void *p, size_t n, struct err *e)
{
	struct fs_writer *f = (struct fs_writer *)w;
	int rc;

	if (f->wlen + n > FS_WBUF && (rc = flush_wbuf(f, e)))
		return rc;
	if (n >= FS_WBUF)
		return write_all(f, p, n, e);
	memcpy(f->wbuf + f->wlen, p, n);
	f->wlen += n;
	return 0;
}

static void fs_writer_free(struct fs_writer *f)
{
	free(f->path);
	free(f->tmp);
	free(f->wbuf);
	free(f);
}

/* fsync_dir makes a rename in dir durable. */
static void fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	int fd;

	if (n == 0) {
		strcpy(dir, slash ? "/" : ".");
	} else {
		if (n >= sizeof(dir))
			return;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/*
 * fs_writer_commit makes the file durable, then renames it into place, so a
 * crash leaves either the old object or the complete new one.
 */
static int fs_writer_commit(struct obj_writer *w, struct err *e)
{
	struct fs_writer *f = (struct fs_writer *)w;
	int rc = flush_wbuf(f, e);

	if (!rc && fdatasync(f->fd) < 0)
		rc = err_set(e, ERR_IO, "%s: cannot flush to disk: %s", f->path, strerror(errno));
	if (close(f->fd) < 0 && !rc)
		rc = err_set(e, ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
	if (!rc && rename(f->tmp, f->path) < 0)
		rc = err_set(e, ERR_IO, "%s: cannot rename into place: %s", f->path,
			     strerror(errno));
	if (rc)
		unlink(f->tmp);
	else
		fsync_dir(f->path);
	fs_writer_free(f);
	return rc;
}

static void fs_writer_abort(struct obj_writer *w)
{
	struct fs_writer *f = (struct fs_writer *)w;

	close(f->fd);
	unlink(f->tmp);
	fs_writer_free(f);
}

static const struct obj_writer_ops fs_writer_ops = {fs_writer_write, fs_writer_commit,
						    fs_writer_abort};

int fs_open_write(const char *uri, struct obj_writer **w, struct err *e)
{
	const char *path = fs_path(uri);
	struct fs_writer *f;
	unsigned char rnd[6];
	char real[PATH_MAX];
	struct stat st;
	size_t n = strlen(path);
	int rc;

	if (n == 0 || path[n - 1] == '/')
		return err_set(e, ERR_INVAL, "%s: not a file name", path);
	if (stat(path, &st) == 0) {
		/*
		 * The object replaces the file whole, by a rename: a device or a
		 * directory must not be renamed over, and a symbolic link is
		 * written through, so that the link stays and its target changes.
		 */
		if (!S_ISREG(st.st_mode))
			return err_set(e, ERR_INVAL,
				       "%s: exists and is not a regular file; name a file to write",
				       path);
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && realpath(path, real)) {
			path = real;
			n = strlen(path);
		}
	}
	rc = mkdir_parents(path, e);
	if (rc)
		return rc;
	f = calloc(1, sizeof(*f));
	if (!f)
		return err_set(e, ERR_NOMEM, "out of memory");
	f->base.ops = &fs_writer_ops;
	f->path = strdup(path);
	f->tmp = malloc(n + 32);
	f->wbuf = malloc(FS_WBUF);
	if (!f->path || !f->tmp || !f->wbuf) {
		fs_writer_free(f);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	ids_random_bytes(rnd, sizeof(rnd));
	snprintf(f->tmp, n + 32, "%s.tmp-%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5]);
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (f->fd < 0) {
		rc = err_set(e, ERR_IO, "%s: cannot create: %s", f->tmp, strerror(errno));
		fs_writer_free(f);
		return rc;
	}
	*w = &f->base;
	return 0;
}

int fs_stat(const char *uri, struct obj_stat *st, struct err *e)
{
	const char *path = fs_path(uri);
	struct stat s;

	if (stat(path, &s) < 0)
		return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path,
			       strerror(errno));
	st->size = (uint64_t)s.st_size;
	st->is_prefix = S_ISDIR(s.st_mode);
	st->mtime_ms = (int64_t)s.st_mtim.tv_sec * 1000 + s.st_mtim.tv_nsec / 1000000;
	snprintf(st->etag, sizeof(st->etag), "%lld.%09ld-%llu", (long long)s.st_mtim.tv_sec,
		 s.st_mtim.tv_nsec, (unsigned long long)s.st_size);
	return 0;
}

int fs_remove(const char *uri, struct err *e)
{
	const char *path = fs_path(uri);

	if (unlink(path) < 0 && errno != ENOENT)
		return err_set(e, ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
	return 0;
}

/* rm_tree removes path and everything below it; depth bounds the recursion. */
static int rm_tree(const char *path, int depth, struct err *e)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return err_set(e, ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
		return 0;
	}
	if (depth > 32)
		return err_set(e, ERR_LIMIT, "%s: directories nested too deeply", path);
	d = opendir(path);
	if (!d)
		return err_set(e, ERR_IO, "%s: cannot list: %s", path, strerror(errno));
	while (!rc && (de = readdir(d))) {
		char *p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = objects_join(path, de->d_name);
		rc = p ? rm_tree(p, depth + 1, e) : err_set(e, ERR_NOMEM, "out of memory");
		free(p);
	}
	closedir(d);
	if (!rc && rmdir(path) < 0 && errno != ENOENT)
		rc = err_set(e, ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
	return rc;
}

int fs_remove_tree(const char *uri, struct err *e)
{
	return rm_tree(fs_path(uri), 0, e);
}

struct name_list {
	char **v;
	size_t n, cap;
};

static int names_add(struct name_list *l, const char *s, struct err *e)
{
	if (l->n >= FS_LIST_MAX)
		return err_set(e, ERR_LIMIT, "more than %d files under one prefix", FS_LIST_MAX);
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, ncap * sizeof(*nv));

		if (!nv)
			return err_set(e, ERR_NOMEM, "out of memory");
		l->v = nv;
		l->cap = ncap;
	}
	if (!(l->v[l->n] = strdup(s)))
		return err_set(e, ERR_NOMEM, "out of memory");
	l->n++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* walk adds every regular file under dir to l, depth-first. */
static int walk(const char *dir, struct name_list *l, int depth, struct err *e)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > 32)
		return err_set(e, ERR_LIMIT, "%s: directories nested too deeply", dir);
	d = opendir(dir);
	if (!d)
		return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: cannot list: %s",
			       dir, strerror(errno));
	while (!rc && (de = readdir(d))) {
		char *p;
		struct stat st;

		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		p = objects_join(dir, de->d_name);
		if (!p) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			break;
		}
		if (stat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				rc = walk(p, l, depth + 1, e);
			else if (S_ISREG(st.st_mode))
				rc = names_add(l, p, e);
		}
		free(p);
	}
	closedir(d);
	return rc;
}

int fs_list(const char *prefix, int (*cb)(const char *uri, uint64_t size, void *ud),
	    void *ud, struct err *e)
{
	const char *path = fs_path(prefix);
	struct name_list l = {0};
	struct stat st;
	int rc = 0;

	if (stat(path, &st) < 0)
		return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cb(prefix, (uint64_t)st.st_size, ud);
	rc = walk(path, &l, 0, e);
	if (!rc)
		qsort(l.v, l.n, sizeof(*l.v), cmp_names);
	for (size_t i = 0; !rc && i < l.n; i++) {
		if (stat(l.v[i], &st) == 0)
			rc = cb(l.v[i], (uint64_t)st.st_size, ud);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return rc;
}
