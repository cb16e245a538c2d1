/* json.h - strict parsing on json-c, raw member spans, typed getters. */
#ifndef BARGE_JSON_H
#define BARGE_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define JSON_MAX_DEPTH 64

/*
 * json_utf8_check returns 1 if s[0..n) is valid UTF-8 (no overlongs, no
 * surrogates, nothing past U+10FFFF); otherwise 0 and the offset of the first
 * bad byte in *bad.
 */
int json_utf8_check(const char *s, size_t n, size_t *bad);

/*
 * json_parse parses exactly one JSON value from s[0..n), strictly, with
 * UTF-8 checked and nesting bounded. On success *out owns a new reference
 * (json_object_put it). On failure *out is NULL and e says what is wrong and
 * at which byte.
 */
int json_parse(const char *s, size_t n, json_object **out, struct err *e);

/*
 * json_validate checks that s[0..n) is exactly one strict JSON value (valid
 * UTF-8, nesting bounded by JSON_MAX_DEPTH) without building anything: a
 * fraction of json_parse's cost, for answers whose bytes are kept as they
 * are. On failure e says what is wrong and at which byte.
 */
int json_validate(const char *s, size_t n, struct err *e);

/* A member of a JSON object as it appears in the source text. */
struct json_span {
	const char *key; /* the key's characters without quotes, as written */
	size_t key_len;
	const char *val; /* the value's bytes, as written */
	size_t val_len;
};

/*
 * json_scan_object finds the members of the object in s[0..n) without
 * decoding them, so that values can be echoed byte for byte. The text must
 * already be valid JSON (json_parse it first). Calls cb for each member in
 * order; cb returns nonzero to stop. Returns 0, or ERR_INVAL if s is not an
 * object.
 */
int json_scan_object(const char *s, size_t n,
		     int (*cb)(const struct json_span *m, void *ud), void *ud);

/*
 * json_scan_array calls cb with the bytes of each element of the array in
 * valid JSON text s[0..n), in order, without building anything: so that a
 * large array is parsed one element at a time. cb returns nonzero to stop,
 * and that value is returned; ERR_INVAL if s is not an array.
 */
int json_scan_array(const char *s, size_t n,
		    int (*cb)(const char *val, size_t len, size_t idx, void *ud), void *ud);

/*
 * json_span_at finds the value a JSON pointer names ("/usage",
 * "/results/0"; "" is the whole text) in valid JSON text s[0..n), as
 * written. Returns 0 with out->val/val_len set, or ERR_NOTFOUND.
 */
int json_span_at(const char *s, size_t n, const char *pointer, struct json_span *out);
/* json_span_int64 reads a span that is an integer; false for anything else. */
bool json_span_int64(const struct json_span *m, int64_t *v);

/* json_span_key_is compares a scanned key with name, decoding escapes. */
bool json_span_key_is(const struct json_span *m, const char *name);

/* Getters that return NULL / false when the member is absent or mistyped. */
json_object *json_get(json_object *o, const char *key);
const char *json_get_str(json_object *o, const char *key);
bool json_get_int64(json_object *o, const char *key, int64_t *v);
bool json_get_double(json_object *o, const char *key, double *v);
bool json_is_type(json_object *o, json_type t);
/* json_is_integer is true for an integer-valued number (1, 1.0, 1e3). */
bool json_is_integer(json_object *o);
/* json_type_word names a value's type for messages ("a string", ...). */
const char *json_type_word(json_object *o);

/* json_put appends o serialized compactly (no slash escaping) to b. */
int json_put(struct buf *b, json_object *o);
/* json_dup_str returns a malloc'd compact serialization of o, or NULL. */
char *json_dup_str(json_object *o, size_t *len);

#endif
