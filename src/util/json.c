/* json.c - strict parsing on json-c, raw member spans, typed getters. */
#include "util/json.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * utf8_seq returns the length of the valid UTF-8 sequence starting at p[i]
 * (a byte >= 0x80), or 0 when it is not one: no overlongs, no surrogates,
 * nothing past U+10FFFF.
 */
static size_t utf8_seq(const unsigned char *p, size_t n, size_t i)
{
	unsigned char c = p[i];
	uint32_t cp;
	size_t need;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n - i <= need)
		return 0;
	for (size_t k = 1; k <= need; k++) {
		if ((p[i + k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i + k] & 0x3f);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

int json_utf8_check(const char *s, size_t n, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(p, n, i);
		if (!k) {
			if (bad)
				*bad = i;
			return 0;
		}
		i += k;
	}
	return 1;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* number_end returns the index past the JSON number at s[i], or 0 if malformed. */
static size_t number_end(const unsigned char *s, size_t n, size_t i)
{
	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !is_digit(s[i]))
		return 0;
	if (s[i] == '0') {
		i++;
	} else {
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i]))
			return 0;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !is_digit(s[i]))
			return 0;
		while (i < n && is_digit(s[i]))
			i++;
	}
	/* A number runs into no further digit, letter or point: "01", "1.x". */
	if (i < n && (isalnum(s[i]) || s[i] == '.'))
		return 0;
	return i;
}

/*
 * lex_check finds what json-c's strict mode lets through in a text it
 * parsed (already valid UTF-8): raw control characters in strings,
 * malformed numbers ("01", "1.") and bare words other than true, false and
 * null (NaN, Infinity).
 */
static int lex_check(const char *text, size_t n, struct err *e)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];

		if (c == '"') {
			for (i++; i < n && s[i] != '"'; ) {
				if (s[i] == '\\') {
					i += 2;
				} else if (s[i] < 0x20) {
					return err_set(e, ERR_INVAL,
						       "invalid JSON at byte %zu: a control character inside a string "
						       "(write it as an escape such as \\n)",
						       i + 1);
				} else {
					i++;
				}
			}
			i++;
		} else if (c == '-' || is_digit(c)) {
			size_t end = number_end(s, n, i);

			if (!end)
				return err_set(e, ERR_INVAL, "invalid JSON at byte %zu: malformed number",
					       i + 1);
			i = end;
		} else if (isalpha(c)) {
			size_t st = i;

			while (i < n && isalnum(s[i]))
				i++;
			if (!((i - st == 4 && (!memcmp(s + st, "true", 4) || !memcmp(s + st, "null", 4))) ||
			      (i - st == 5 && !memcmp(s + st, "false", 5))))
				return err_set(e, ERR_INVAL, "invalid JSON at byte %zu: unexpected \"%.*s\"",
					       st + 1, (int)(i - st > 20 ? 20 : i - st), text + st);
		} else {
			i++;
		}
	}
	return 0;
}

/*
 * A tokener costs an allocation of its whole parse stack, so each thread
 * keeps one and resets it between parses. A thread-specific key also holds
 * it, only so that its destructor frees the tokener when the thread exits:
 * servers start and stop pools of threads, and each would leak one.
 */
static _Thread_local struct json_tokener *cached_tok;
static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;

static void tokener_destroy(void *p)
{
	json_tokener_free(p);
}

static void tokener_key_init(void)
{
	pthread_key_create(&tok_key, tokener_destroy);
}

static struct json_tokener *tokener_get(void)
{
	struct json_tokener *tok = cached_tok;

	if (tok) {
		cached_tok = NULL;
		json_tokener_reset(tok);
		return tok;
	}
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (tok)
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	return tok;
}

static void tokener_put(struct json_tokener *tok)
{
	if (cached_tok) {
		json_tokener_free(tok);
		return;
	}
	cached_tok = tok;
	pthread_once(&tok_once, tokener_key_init);
	pthread_setspecific(tok_key, tok);
}

int json_parse(const char *s, size_t n, json_object **out, struct err *e)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *o;
	size_t off;
	int rc;

	*out = NULL;
	if (n > INT32_MAX)
		return err_set(e, ERR_LIMIT, "JSON text of %zu bytes is too large", n);
	if (!json_utf8_check(s, n, &off))
		return err_set(e, ERR_INVAL, "invalid UTF-8 at byte %zu", off + 1);
	tok = tokener_get();
	if (!tok)
		return err_set(e, ERR_NOMEM, "out of memory parsing JSON");
	o = json_tokener_parse_ex(tok, s, (int)n);
	jerr = json_tokener_get_error(tok);
	off = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/*
		 * A bare number or literal at the very end is complete only once
		 * the tokener sees the end: feed it a terminating NUL.
		 */
		o = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_success) {
			tokener_put(tok);
			goto parsed;
		}
		jerr = json_tokener_continue;
	}
	if (jerr == json_tokener_continue) {
		/* The text ended inside a value: say so plainly. */
		tokener_put(tok);
		json_object_put(o);
		return err_set(e, ERR_INVAL, "invalid JSON: unexpected end of line");
	}
	if (jerr != json_tokener_success) {
		tokener_put(tok);
		return err_set(e, ERR_INVAL, "invalid JSON at byte %zu: %s", off + 1,
			       json_tokener_error_desc(jerr));
	}
	/* Trailing whitespace is fine; anything else is a second value. */
	while (off < n && (s[off] == ' ' || s[off] == '\t' || s[off] == '\r' || s[off] == '\n'))
		off++;
	tokener_put(tok);
	if (off < n) {
		json_object_put(o);
		return err_set(e, ERR_INVAL, "invalid JSON at byte %zu: unexpected text after the value",
			       off + 1);
	}
parsed:
	/* json-c accepted it; now what its strict mode lets through. */
	rc = lex_check(s, n, e);
	if (rc) {
		json_object_put(o);
		return rc;
	}
	*out = o;
	return 0;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* skip_string returns the index just past the string starting at s[i]. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

/* skip_value returns the index just past the value starting at s[i]. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	int depth = 0;

	if (i >= n)
		return n;
	if (s[i] == '"')
		return skip_string(s, n, i);
	if (s[i] != '{' && s[i] != '[') {
		while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
		       s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			i++;
		return i;
	}
	for (; i < n; i++) {
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, n, i) - 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return i + 1;
		}
	}
	return n;
}

int json_scan_object(const char *s, size_t n,
		     int (*cb)(const struct json_span *m, void *ud), void *ud)
{
	size_t i = skip_ws(s, n, 0);

	if (i >= n || s[i] != '{')
		return ERR_INVAL;
	i = skip_ws(s, n, i + 1);
	while (i < n && s[i] != '}') {
		struct json_span m;
		size_t kend, vend;

		if (s[i] != '"')
			return ERR_INVAL;
		kend = skip_string(s, n, i);
		m.key = s + i + 1;
		m.key_len = kend - i - 2;
		i = skip_ws(s, n, kend);
		if (i >= n || s[i] != ':')
			return ERR_INVAL;
		i = skip_ws(s, n, i + 1);
		vend = skip_value(s, n, i);
		m.val = s + i;
		m.val_len = vend - i;
		if (cb(&m, ud))
			return 0;
		i = skip_ws(s, n, vend);
		if (i < n && s[i] == ',')
			i = skip_ws(s, n, i + 1);
	}
	return 0;
}

int json_scan_array(const char *s, size_t n,
		    int (*cb)(const char *val, size_t len, size_t idx, void *ud), void *ud)
{
	size_t i = skip_ws(s, n, 0), idx = 0;

	if (i >= n || s[i] != '[')
		return ERR_INVAL;
	i = skip_ws(s, n, i + 1);
	while (i < n && s[i] != ']') {
		size_t vend = skip_value(s, n, i);
		int rc = cb(s + i, vend - i, idx++, ud);

		if (rc)
			return rc;
		i = skip_ws(s, n, vend);
		if (i < n && s[i] == ',')
			i = skip_ws(s, n, i + 1);
	}
	return 0;
}

bool json_span_key_is(const struct json_span *m, const char *name)
{
	size_t nl = strlen(name);
	json_object *k;
	bool same;
	char *quoted;

	if (!memchr(m->key, '\\', m->key_len))
		return m->key_len == nl && !memcmp(m->key, name, nl);
	/* An escaped key is rare: decode it through the parser. */
	quoted = malloc(m->key_len + 3);
	if (!quoted)
		return false;
	quoted[0] = '"';
	memcpy(quoted + 1, m->key, m->key_len);
	quoted[m->key_len + 1] = '"';
	quoted[m->key_len + 2] = '\0';
	k = json_tokener_parse(quoted);
	free(quoted);
	same = k && json_object_is_type(k, json_type_string) &&
	       (size_t)json_object_get_string_len(k) == nl &&
	       !memcmp(json_object_get_string(k), name, nl);
	json_object_put(k);
	return same;
}

json_object *json_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *json_get_str(json_object *o, const char *key)
{
	json_object *v = json_get(o, key);

	if (!v || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool json_is_type(json_object *o, json_type t)
{
	return o && json_object_is_type(o, t);
}

bool json_is_integer(json_object *o)
{
	double d;

	if (json_is_type(o, json_type_int))
		return true;
	if (!json_is_type(o, json_type_double))
		return false;
	d = json_object_get_double(o);
	return isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0;
}

bool json_get_int64(json_object *o, const char *key, int64_t *v)
{
	json_object *x = json_get(o, key);

	if (!json_is_integer(x))
		return false;
	*v = json_is_type(x, json_type_int) ? json_object_get_int64(x)
					    : (int64_t)json_object_get_double(x);
	return true;
}

bool json_get_double(json_object *o, const char *key, double *v)
{
	json_object *x = json_get(o, key);

	if (!json_is_type(x, json_type_int) && !json_is_type(x, json_type_double))
		return false;
	*v = json_object_get_double(x);
	return true;
}

const char *json_type_word(json_object *o)
{
	if (!o)
		return "null";
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "a value";
}

int json_put(struct buf *b, json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	return buf_append(b, s, len);
}

char *json_dup_str(json_object *o, size_t *len)
{
	size_t l;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &l);
	char *d = malloc(l + 1);

	if (!d)
		return NULL;
	memcpy(d, s, l + 1);
	if (len)
		*len = l;
	return d;
}

/* ---- validation without a tree ---- */

struct jv {
	const unsigned char *s;
	size_t n, i;
	int depth;
	struct err *e;
};

static int jv_fail(struct jv *v, const char *what)
{
	return err_set(v->e, ERR_INVAL, "invalid JSON at byte %zu: %s", v->i + 1, what);
}

static void jv_ws(struct jv *v)
{
	while (v->i < v->n && (v->s[v->i] == ' ' || v->s[v->i] == '\t' || v->s[v->i] == '\n' ||
			       v->s[v->i] == '\r'))
		v->i++;
}

static int jv_string(struct jv *v)
{
	v->i++; /* the opening quote */
	while (v->i < v->n) {
		unsigned char c = v->s[v->i];

		if (c == '"') {
			v->i++;
			return 0;
		}
		if (c < 0x20)
			return jv_fail(v, "a control character inside a string");
		if (c == '\\') {
			unsigned char x = v->i + 1 < v->n ? v->s[v->i + 1] : 0;

			if (x == 'u') {
				for (int k = 2; k < 6; k++) {
					if (v->i + (size_t)k >= v->n || !isxdigit(v->s[v->i + (size_t)k]))
						return jv_fail(v, "a bad \\u escape");
				}
				v->i += 6;
			} else if (x && strchr("\"\\/bfnrt", x)) {
				v->i += 2;
			} else {
				return jv_fail(v, "a bad escape");
			}
		} else if (c >= 0x80) {
			size_t k = utf8_seq(v->s, v->n, v->i);

			if (!k)
				return err_set(v->e, ERR_INVAL, "invalid UTF-8 at byte %zu", v->i + 1);
			v->i += k;
		} else {
			v->i++;
		}
	}
	return jv_fail(v, "an unterminated string");
}

static int jv_value(struct jv *v);

static int jv_container(struct jv *v, char close)
{
	bool object = close == '}';
	int rc;

	if (++v->depth > JSON_MAX_DEPTH)
		return jv_fail(v, "nesting too deep");
	v->i++;
	jv_ws(v);
	if (v->i < v->n && v->s[v->i] == (unsigned char)close) {
		v->i++;
		v->depth--;
		return 0;
	}
	for (;;) {
		jv_ws(v);
		if (object) {
			if (v->i >= v->n || v->s[v->i] != '"')
				return jv_fail(v, "expected a member name");
			if ((rc = jv_string(v)))
				return rc;
			jv_ws(v);
			if (v->i >= v->n || v->s[v->i] != ':')
				return jv_fail(v, "expected ':'");
			v->i++;
		}
		if ((rc = jv_value(v)))
			return rc;
		jv_ws(v);
		if (v->i < v->n && v->s[v->i] == ',') {
			v->i++;
			continue;
		}
		if (v->i < v->n && v->s[v->i] == (unsigned char)close) {
			v->i++;
			v->depth--;
			return 0;
		}
		return jv_fail(v, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int jv_value(struct jv *v)
{
	unsigned char c;

	jv_ws(v);
	if (v->i >= v->n)
		return jv_fail(v, "unexpected end of text");
	c = v->s[v->i];
	if (c == '{')
		return jv_container(v, '}');
	if (c == '[')
		return jv_container(v, ']');
	if (c == '"')
		return jv_string(v);
	if (c == '-' || is_digit(c)) {
		size_t end = number_end(v->s, v->n, v->i);

		if (!end)
			return jv_fail(v, "malformed number");
		v->i = end;
		return 0;
	}
	if (v->n - v->i >= 4 && (!memcmp(v->s + v->i, "true", 4) || !memcmp(v->s + v->i, "null", 4))) {
		v->i += 4;
	} else if (v->n - v->i >= 5 && !memcmp(v->s + v->i, "false", 5)) {
		v->i += 5;
	} else {
		return jv_fail(v, "unexpected character");
	}
	if (v->i < v->n && isalnum(v->s[v->i]))
		return jv_fail(v, "unexpected character");
	return 0;
}

int json_validate(const char *s, size_t n, struct err *e)
{
	struct jv v = {(const unsigned char *)s, n, 0, 0, e};
	int rc = jv_value(&v);

	if (rc)
		return rc;
	jv_ws(&v);
	if (v.i < n)
		return jv_fail(&v, "unexpected text after the value");
	return 0;
}

/* ---- spans by JSON pointer ---- */

struct find_member {
	const char *name;
	size_t len;
	struct json_span found;
	bool ok;
};

static int on_find(const struct json_span *m, void *ud)
{
	struct find_member *f = ud;

	if (m->key_len == f->len && !memcmp(m->key, f->name, f->len)) {
		f->found = *m;
		f->ok = true;
	}
	return 0;
}

/* array_item finds item k of the array at s[0..n). */
static int array_item(const char *s, size_t n, size_t k, struct json_span *out)
{
	size_t i = skip_ws(s, n, 0), idx = 0;

	if (i >= n || s[i] != '[')
		return ERR_NOTFOUND;
	i = skip_ws(s, n, i + 1);
	while (i < n && s[i] != ']') {
		size_t end = skip_value(s, n, i);

		if (idx == k) {
			out->val = s + i;
			out->val_len = end - i;
			return 0;
		}
		idx++;
		i = skip_ws(s, n, end);
		if (i < n && s[i] == ',')
			i = skip_ws(s, n, i + 1);
	}
	return ERR_NOTFOUND;
}

int json_span_at(const char *s, size_t n, const char *pointer, struct json_span *out)
{
	const char *p = pointer;

	memset(out, 0, sizeof(*out));
	out->val = s;
	out->val_len = n;
	while (*p == '/') {
		const char *tok = p + 1;
		size_t len = strcspn(tok, "/");
		size_t i = skip_ws(out->val, out->val_len, 0);

		if (i < out->val_len && out->val[i] == '[') {
			char num[24];

			if (len == 0 || len >= sizeof(num) || strspn(tok, "0123456789") < len)
				return ERR_NOTFOUND;
			memcpy(num, tok, len);
			num[len] = '\0';
			if (array_item(out->val, out->val_len, (size_t)strtoull(num, NULL, 10), out))
				return ERR_NOTFOUND;
		} else {
			/* Member names with escapes or "~" are not used by barge's pointers. */
			struct find_member f = {tok, len, {0}, false};

			if (json_scan_object(out->val, out->val_len, on_find, &f) || !f.ok)
				return ERR_NOTFOUND;
			*out = f.found;
		}
		p = tok + len;
	}
	return 0;
}

bool json_span_int64(const struct json_span *m, int64_t *v)
{
	char tmp[32];
	char *end;
	long long x;

	if (!m->val_len || m->val_len >= sizeof(tmp))
		return false;
	memcpy(tmp, m->val, m->val_len);
	tmp[m->val_len] = '\0';
	x = strtoll(tmp, &end, 10);
	if (end == tmp || *end)
		return false;
	*v = x;
	return true;
}
