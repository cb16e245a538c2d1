/* ids.h - job ids, generated record ids, sets of ids, hashing and seeded randomness. */
#ifndef BARGE_IDS_H
#define BARGE_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDS_JOB_LEN 12
#define IDS_RECORD_LEN 11

/* ids_new_job writes a fresh random 12-character [a-z0-9] id and a NUL. */
void ids_new_job(char out[IDS_JOB_LEN + 1]);
/*
 * ids_record derives the 11-character [A-Z0-9] id of a record that has none
 * from the job id, the input's index and the record's index in that input,
 * so the same record gets the same id on every resume.
 */
void ids_record(const char *job_id, unsigned input_idx, uint64_t record_idx,
		char out[IDS_RECORD_LEN + 1]);
/* ids_random_bytes fills p with n bytes from the kernel's generator. */
void ids_random_bytes(void *p, size_t n);

/* hash64 is a 64-bit FNV-1a hash, finished with a mixer (not for secrets). */
uint64_t hash64(const void *p, size_t n, uint64_t seed);
/* mix64 scrambles the bits of x (splitmix64's finalizer). */
uint64_t mix64(uint64_t x);

/* A small deterministic generator (splitmix64) for simulation and jitter. */
struct rng {
	uint64_t s;
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* rng_unit returns a double in [0, 1). */
double rng_unit(struct rng *r);

/*
 * A set of ids (any bytes), each with two numbers its user keeps with it
 * (validation: the input and line of the first occurrence). Open
 * addressing on hash64; the set owns copies of the ids.
 */
struct idset_entry {
	uint64_t h;
	char *id; /* NUL-terminated copy; NULL for an empty slot */
	size_t len;
	uint64_t a, b;
};

struct idset {
	struct idset_entry *v;
	size_t cap, n;
	size_t max; /* past this many ids the set stops remembering new ones */
};

/* idset_init makes an empty set that remembers at most max ids. */
void idset_init(struct idset *s, size_t max);
/*
 * idset_add looks id up. Present: returns 1 with *found pointing at its
 * entry (the caller may change a and b). Absent: adds it with a and b and
 * returns 0 with *found at the new entry, or NULL when the set is full
 * (max), in which case it remembers nothing more. ERR_NOMEM leaves the set
 * as it was.
 */
int idset_add(struct idset *s, const char *id, size_t len, uint64_t a, uint64_t b,
	      struct idset_entry **found);
void idset_free(struct idset *s);

#endif
