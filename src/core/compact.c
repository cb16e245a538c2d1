/* compact.c - redundant whitespace in prompt texts: the rules, and where each family keeps text. */
#include "core/compact.h"
#include "formats/common.h"
#include "util/json.h"
#include "util/uri.h"

#include <stdlib.h>
#include <string.h>

/* A run of this many spaces/tabs, or of this many line breaks, is "long". */
#define COMPACT_LONG_SPACES 4
#define COMPACT_LONG_BREAKS 3

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * break_len is the length of the line break at s[i], or 0: LF, or CR and
 * LF with blanks between them (trailing blanks inside a CRLF, which would
 * become a plain CRLF once they are trimmed, so they are trimmed at once).
 */
static size_t break_len(const char *s, size_t n, size_t i)
{
	size_t j = i + 1;

	if (s[i] == '\n')
		return 1;
	if (s[i] != '\r')
		return 0;
	while (j < n && is_blank(s[j]))
		j++;
	return j < n && s[j] == '\n' ? j + 1 - i : 0;
}

/* ticks counts the backticks from s[i]. */
static size_t ticks(const char *s, size_t n, size_t i)
{
	size_t j = i;

	while (j < n && s[j] == '`')
		j++;
	return j - i;
}

/*
 * fence_end returns the offset just past the fence that opens at s[i] with
 * open backticks: past the next run of at least as many, or n when the
 * fence is never closed (an unclosed fence protects the rest of the text,
 * as in Markdown).
 */
static size_t fence_end(const char *s, size_t n, size_t i, size_t open)
{
	size_t j = i + open;

	while (j < n) {
		size_t t;

		if (s[j] != '`') {
			j++;
			continue;
		}
		t = ticks(s, n, j);
		if (t >= open)
			return j + t;
		j += t;
	}
	return n;
}

/*
 * put_blanks writes the blanks s[a..b) as the rules want them where they
 * are not at a line's end: one byte stays as it is, more become one space.
 */
static size_t put_blanks(const char *s, size_t a, size_t b, char *out, size_t o,
			 uint64_t *long_runs)
{
	if (b - a == 1) {
		out[o++] = s[a];
	} else if (b - a > 1) {
		out[o++] = ' ';
		if (b - a >= COMPACT_LONG_SPACES && long_runs)
			(*long_runs)++;
	}
	return o;
}

/*
 * white_run handles the whitespace that starts at s[i] (blanks and line
 * breaks), writing what is kept at out[o]; *pi and the return value move
 * past it.
 */
static size_t white_run(const char *s, size_t n, size_t *pi, char *out, size_t o,
			const struct compact_opts *opt, uint64_t *long_runs)
{
	size_t i = *pi, j = i, breaks = 0, last_end = i, longest = 0, blanks = 0;

	while (j < n) {
		size_t bl = break_len(s, n, j);

		if (is_blank(s[j])) {
			blanks++;
			j++;
			continue;
		}
		if (!bl)
			break;
		if (blanks > longest)
			longest = blanks;
		blanks = 0;
		/* The first two breaks are kept as they are written: CRLF or LF. */
		if (breaks < 2) {
			if (s[j] == '\r')
				out[o++] = '\r';
			out[o++] = '\n';
		}
		breaks++;
		j += bl;
		last_end = j;
	}
	*pi = j;
	if (breaks == 0) {
		/* Blanks within a line; at the text's end they end a line. */
		if (j == n) {
			if (j - i >= COMPACT_LONG_SPACES && long_runs)
				(*long_runs)++;
			return o;
		}
		/* Blanks that open the text are its first line's indentation. */
		if (i == 0 && opt && opt->keep_indent) {
			memcpy(out + o, s, j);
			return o + j;
		}
		return put_blanks(s, i, j, out, o, long_runs);
	}
	if (long_runs && (breaks >= COMPACT_LONG_BREAKS || longest >= COMPACT_LONG_SPACES))
		(*long_runs)++;
	/* What follows the last break starts the next line: its indentation. */
	if (j == n) {
		if (j - last_end >= COMPACT_LONG_SPACES && long_runs)
			(*long_runs)++;
		return o;
	}
	if (opt && opt->keep_indent) {
		memcpy(out + o, s + last_end, j - last_end);
		return o + (j - last_end);
	}
	return put_blanks(s, last_end, j, out, o, long_runs);
}

size_t compact_text(const char *s, size_t n, char *out, const struct compact_opts *opt,
		    uint64_t *long_runs)
{
	size_t i = 0, o = 0;

	while (i < n) {
		char c = s[i];

		if (c == '`') {
			size_t t = ticks(s, n, i);
			size_t end = t >= 3 ? fence_end(s, n, i, t) : i + t;

			memcpy(out + o, s + i, end - i);
			o += end - i;
			i = end;
		} else if (is_blank(c) || break_len(s, n, i)) {
			o = white_run(s, n, &i, out, o, opt, long_runs);
		} else {
			out[o++] = c;
			i++;
		}
	}
	return o;
}

struct compact_ctx {
	bool apply;
	const struct compact_opts *opt;
	struct compact_stats *st;
	char *tmp; /* scratch for one text; grown to the longest text seen */
	size_t cap;
};

static int compact_one(json_object *str, void *ud)
{
	struct compact_ctx *x = ud;
	const char *s = json_object_get_string(str);
	size_t n = (size_t)json_object_get_string_len(str), m;

	if (n + 1 > x->cap) {
		/* Bounded by the text itself, which a line cap already bounds. */
		char *t = realloc(x->tmp, n + 1);

		if (!t)
			return ERR_NOMEM;
		x->tmp = t;
		x->cap = n + 1;
	}
	m = compact_text(s, n, x->tmp, x->opt, &x->st->long_runs);
	x->st->fields++;
	x->st->bytes_before += n;
	x->st->bytes_after += m;
	if (m == n)
		return 0;
	x->st->fields_changed++;
	if (x->apply && !json_object_set_string_len(str, x->tmp, (int)m))
		return ERR_NOMEM;
	return 0;
}

int compact_model_input(const struct family *fam, json_object *mi, bool apply,
			const struct compact_opts *opt, struct compact_stats *st, struct err *e)
{
	struct compact_ctx x = {apply, opt, st, NULL, 0};
	int rc = family_walk_texts(fam, mi, compact_one, &x);

	free(x.tmp);
	if (rc)
		return err_set(e, ERR_NOMEM, "out of memory while compacting a record");
	return 0;
}

/* ---- what json-c cannot write back ---- */

/* hex4 reads four hex digits at s (n bytes available), or -1. */
static long hex4(const char *s, size_t n)
{
	long v = 0;

	if (n < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int d = uri_hex_digit((unsigned char)s[i]);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * integer_fits says whether the digits d[0..n) (no sign, no leading zero)
 * fit json-c's integers: int64 for a negative, uint64 for a positive.
 */
static bool integer_fits(const char *d, size_t n, bool negative)
{
	const char *lim = negative ? "9223372036854775808" : "18446744073709551615";
	size_t ln = strlen(lim);

	return n < ln || (n == ln && memcmp(d, lim, n) <= 0);
}

bool compact_raw_rewritable(const char *raw, size_t n)
{
	bool in_str = false;

	for (size_t i = 0; i < n; i++) {
		char c = raw[i];

		if (in_str) {
			long v, w;

			if (c == '"') {
				in_str = false;
			} else if (c == '\\' && i + 1 < n && raw[i + 1] == 'u') {
				v = hex4(raw + i + 2, n - i - 2);
				i += 5;
				if (v >= 0xDC00 && v <= 0xDFFF)
					return false;
				if (v >= 0xD800 && v <= 0xDBFF) {
					w = i + 2 < n && raw[i + 1] == '\\' && raw[i + 2] == 'u'
						    ? hex4(raw + i + 3, n - i - 3)
						    : -1;
					if (w < 0xDC00 || w > 0xDFFF)
						return false;
					i += 6;
				}
			} else if (c == '\\') {
				i++;
			}
		} else if (c == '"') {
			in_str = true;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			bool negative = c == '-', integer = true;
			size_t start = i + negative, j = start;

			while (j < n && (raw[j] == '-' || raw[j] == '+' || raw[j] == '.' ||
					 raw[j] == 'e' || raw[j] == 'E' || (raw[j] >= '0' && raw[j] <= '9'))) {
				if (raw[j] == '.' || raw[j] == 'e' || raw[j] == 'E')
					integer = false;
				j++;
			}
			/* A number with a fraction or exponent is a double: json-c keeps its text. */
			if (integer && negative && j - start == 1 && raw[start] == '0')
				return false;
			if (integer && !integer_fits(raw + start, j - start, negative))
				return false;
			i = j - 1;
		}
	}
	return true;
}

int64_t compact_tokens_saved(const struct compact_stats *st)
{
	return fmt_tokens_bytes((size_t)st->bytes_before) - fmt_tokens_bytes((size_t)st->bytes_after);
}
