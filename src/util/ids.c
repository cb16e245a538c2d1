/* ids.c - job ids, generated record ids, sets of ids, hashing and seeded randomness. */
#define _GNU_SOURCE
#include "util/ids.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void ids_random_bytes(void *p, size_t n)
{
	unsigned char *q = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(q + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)r;
	}
	if (got < n) {
		/* No kernel randomness: fall back to time so ids stay distinct. */
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
		for (; got < n; got++) {
			x = mix64(x + got);
			q[got] = (unsigned char)x;
		}
	}
}

void ids_new_job(char out[IDS_JOB_LEN + 1])
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char raw[IDS_JOB_LEN];

	ids_random_bytes(raw, sizeof(raw));
	for (int i = 0; i < IDS_JOB_LEN; i++)
		out[i] = al[raw[i] % 36];
	out[IDS_JOB_LEN] = '\0';
}

void ids_record(const char *job_id, unsigned input_idx, uint64_t record_idx,
		char out[IDS_RECORD_LEN + 1])
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint64_t h = hash64(job_id, strlen(job_id), 0x6261726765ULL);
	uint64_t a, b;

	a = mix64(h ^ mix64(((uint64_t)input_idx << 48) ^ record_idx));
	b = mix64(a ^ 0x9e3779b97f4a7c15ULL);
	for (int i = 0; i < IDS_RECORD_LEN; i++) {
		uint64_t *w = i < 6 ? &a : &b;

		out[i] = al[*w % 36];
		*w /= 36;
	}
	out[IDS_RECORD_LEN] = '\0';
}

uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t hash64(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ mix64(seed);

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- sets of ids ---- */

void idset_init(struct idset *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

/* idset_grow doubles the table; the entries move, their ids do not. */
static int idset_grow(struct idset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1024;
	struct idset_entry *nv = calloc(ncap, sizeof(*nv));

	if (!nv)
		return ERR_NOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->v[i].id)
			continue;
		for (j = s->v[i].h & (ncap - 1); nv[j].id; j = (j + 1) & (ncap - 1))
			;
		nv[j] = s->v[i];
	}
	free(s->v);
	s->v = nv;
	s->cap = ncap;
	return 0;
}

int idset_add(struct idset *s, const char *id, size_t len, uint64_t a, uint64_t b,
	      struct idset_entry **found)
{
	uint64_t h = hash64(id, len, 7);
	struct idset_entry *x;
	size_t j;

	*found = NULL;
	if (s->cap) {
		for (j = h & (s->cap - 1); s->v[j].id; j = (j + 1) & (s->cap - 1)) {
			x = &s->v[j];
			if (x->h == h && x->len == len && !memcmp(x->id, id, len)) {
				*found = x;
				return 1;
			}
		}
	}
	if (s->n >= s->max)
		return 0;
	if ((s->n + 1) * 2 > s->cap && idset_grow(s))
		return ERR_NOMEM;
	for (j = h & (s->cap - 1); s->v[j].id; j = (j + 1) & (s->cap - 1))
		;
	x = &s->v[j];
	x->id = malloc(len + 1);
	if (!x->id)
		return ERR_NOMEM;
	memcpy(x->id, id, len);
	x->id[len] = '\0';
	x->h = h;
	x->len = len;
	x->a = a;
	x->b = b;
	s->n++;
	*found = x;
	return 0;
}

void idset_free(struct idset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->v[i].id);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
