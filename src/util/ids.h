/* ids.h - job ids, generated record ids, hashing and seeded randomness. */
#ifndef BARGE_IDS_H
#define BARGE_IDS_H

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

#endif
