/* compact.h - redundant whitespace in prompt texts: the rules, and where each family keeps text. */
#ifndef BARGE_COMPACT_H
#define BARGE_COMPACT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/format.h"
#include "util/err.h"

/*
 * The rules, applied to a text outside code fences:
 *  - a run of two or more spaces and tabs becomes one space (a single
 *    space or tab is left alone);
 *  - spaces and tabs at the end of a line, or of the text, are removed;
 *  - three or more line breaks in a row (blank lines holding only spaces
 *    and tabs count as empty) become two, i.e. at most one blank line; the
 *    breaks kept are the first ones, byte for byte, so "\r\n" stays "\r\n";
 *  - with keep_indent, the spaces and tabs that start a line are kept.
 * A fence is a run of three or more backticks anywhere: from it to the next
 * run of at least as many backticks (or to the end of the text when there
 * is none) nothing is touched, fences included. Only ASCII space, tab, LF
 * and CRLF are whitespace here (CR, blanks, LF is a CRLF whose trailing
 * blanks go): a lone CR, no-break spaces and every other non-ASCII byte
 * are text, so UTF-8 sequences pass unchanged. The rules only ever remove
 * bytes, and applying them twice changes nothing more.
 */
struct compact_opts {
	bool keep_indent;
};

/* What compacting found; sums over every text visited. */
struct compact_stats {
	uint64_t fields;         /* text fields seen */
	uint64_t fields_changed;
	uint64_t bytes_before;   /* text bytes (decoded strings) */
	uint64_t bytes_after;
	/* Long runs: 4+ spaces/tabs or 3+ line breaks, outside fences, that change. */
	uint64_t long_runs;
};

/*
 * compact_text writes s[0..n) compacted to out, which has room for n bytes
 * (compacting never grows a text) and does not overlap s, and returns the
 * new length. long_runs, when not NULL, is increased by the long runs found.
 */
size_t compact_text(const char *s, size_t n, char *out, const struct compact_opts *opt,
		    uint64_t *long_runs);

/*
 * compact_model_input compacts every text of mi (as family_walk_texts
 * finds them), adding to st. With apply, the changed strings are replaced
 * in mi; without, mi is left as it is and st says what would change.
 * Returns 0, or ERR_NOMEM.
 */
int compact_model_input(const struct family *fam, json_object *mi, bool apply,
			const struct compact_opts *opt, struct compact_stats *st, struct err *e);

/*
 * compact_raw_rewritable says whether json-c, parsing the JSON text
 * raw[0..n) and writing it back, keeps every value: it is false for an
 * integer it cannot hold (beyond 64 bits, which it clamps), for -0 (which
 * it writes as 0) and for a \u escape of half a surrogate pair (which it
 * replaces with U+FFFD). Such a record is kept as written.
 */
bool compact_raw_rewritable(const char *raw, size_t n);

/*
 * compact_tokens_saved is the input tokens that the change in st saves, by
 * the same rule as the estimate (4 bytes a token), for one record's stats.
 */
int64_t compact_tokens_saved(const struct compact_stats *st);

#endif
