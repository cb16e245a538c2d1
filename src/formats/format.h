/* format.h - model families: validating modelInput and translating bodies. */
#ifndef BARGE_FORMAT_H
#define BARGE_FORMAT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * A family is the shape of a record's modelInput and modelOutput (see
 * reference/model-families.md). Each family knows how to validate its input,
 * how to express it in each backend wire dialect, and how to turn the
 * backend's answer back into the family's native modelOutput.
 */
enum family_id {
	FAM_ANTHROPIC_MESSAGES,
	FAM_LLAMA,
	FAM_MISTRAL,
	FAM_TITAN_TEXT,
	FAM_NOVA,
	FAM_CONVERSE,
	FAM_TITAN_EMBED,
	FAM_OPENAI_CHAT,
	FAM_OPENAI_COMPLETIONS,
	FAM_OPENAI_EMBEDDINGS,
	FAM__COUNT
};

/* The dialect a backend speaks on the wire. */
enum wire {
	WIRE_OPENAI,    /* /chat/completions, /completions, /embeddings */
	WIRE_ANTHROPIC, /* /messages */
	WIRE_BEDROCK    /* /model/{id}/invoke or /converse: body as is */
};

/* A request ready for a backend; body is malloc'd and owned by the holder. */
struct wire_req {
	const char *path; /* static string: "/chat/completions", "/messages", ... */
	char *body;
	size_t body_len;
};

/* A backend's answer as the adapter sees it. */
struct wire_resp {
	json_object *body;       /* parsed response body (borrowed), or NULL: parse raw */
	const char *raw;         /* the body's bytes as received, or NULL (borrowed) */
	size_t raw_len;
	int64_t hdr_input_tokens;  /* from response headers where the dialect has them, else -1 */
	int64_t hdr_output_tokens; /* likewise */
};

struct usage {
	int64_t input_tokens;
	int64_t output_tokens;
};

/*
 * The most output tokens any record may ask for where its family sets no
 * lower limit. No model answers with a million tokens, so a larger value is
 * a mistake; the cap also keeps a job's sums of max tokens (and the costs
 * made from them) far from overflowing.
 */
#define FMT_MAX_TOKENS_CAP 1000000

/* family_text_fn is called with one prompt text (a JSON string); nonzero stops a walk. */
typedef int family_text_fn(json_object *str, void *ud);

struct family {
	const char *name;  /* "anthropic-messages", as in configuration */
	enum family_id id;
	bool embeddings;   /* answers are vectors: no output tokens */
	/*
	 * validate checks a modelInput object. On failure e holds
	 * "<field path>: <what is wrong>", e.g. "messages[1].role: must be
	 * \"assistant\" after a user turn".
	 */
	int (*validate)(json_object *mi, struct err *e);
	/*
	 * estimate gives the approximate input tokens of mi (fmt_tokens_text
	 * over every prompt text) and the most output tokens it may use
	 * (max_tokens or the family's default; 0 for embeddings).
	 */
	void (*estimate)(json_object *mi, int64_t *input_tokens, int64_t *max_output_tokens);
	/*
	 * walk_texts calls fn on every prompt text of mi, the strings estimate
	 * counts: the family's text member (system, prompt, inputText or input:
	 * a string, or an array of strings and {"text": ...} blocks) and each
	 * message's content (a string or such an array). Returns what fn
	 * returned first that was not 0.
	 */
	int (*walk_texts)(json_object *mi, family_text_fn *fn, void *ud);
	/*
	 * to_wire builds the request for wire w with model name upstream. raw
	 * (may be NULL) is mi as written: a wire that takes the body itself gets
	 * those bytes, so numbers and escapes reach the backend unchanged. The
	 * caller owns out->body afterwards. ERR_CONFIG when the family cannot
	 * be expressed in w (embeddings on the Anthropic API).
	 */
	int (*to_wire)(enum wire w, json_object *mi, const char *raw, size_t raw_len,
		       const char *upstream, struct wire_req *out, struct err *e);
	/*
	 * from_wire appends the family's native modelOutput (one JSON value) to
	 * out and fills u. mi is the original modelInput (some outputs echo a
	 * setting). model names the model in outputs that carry one. A body
	 * that does not have the expected shape gives ERR_REMOTE with a message
	 * saying what is missing.
	 */
	int (*from_wire)(enum wire w, json_object *mi, const struct wire_resp *r,
			 const char *model, struct buf *out, struct usage *u, struct err *e);
};

/* family_by_name returns the family called name, or NULL. */
const struct family *family_by_name(const char *name);
const struct family *family_by_id(enum family_id id);
/* family_supports_wire says whether a family can be expressed in wire w. */
bool family_supports_wire(const struct family *f, enum wire w);

/*
 * family_walk_texts is f->walk_texts, or for f NULL (a file whose model is
 * not known) the same walk over the union of every family's text members.
 */
int family_walk_texts(const struct family *f, json_object *mi, family_text_fn *fn, void *ud);

/* fmt_tokens_text approximates the tokens of a text: one per 4 bytes, rounded up. */
int64_t fmt_tokens_text(const char *s, size_t n);

#endif
