/* common.h - helpers shared by the model-family adapters: checks, neutral requests and answers. */
#ifndef BARGE_FORMATS_COMMON_H
#define BARGE_FORMATS_COMMON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/format.h"
#include "util/buf.h"
#include "util/err.h"

/* The families, one definition per family file, listed by registry.c. */
extern const struct family fmt_family_anthropic_messages;
extern const struct family fmt_family_llama;
extern const struct family fmt_family_mistral;
extern const struct family fmt_family_titan_text;
extern const struct family fmt_family_nova;
extern const struct family fmt_family_converse;
extern const struct family fmt_family_titan_embed;
extern const struct family fmt_family_openai_chat;
extern const struct family fmt_family_openai_completions;
extern const struct family fmt_family_openai_embeddings;

/*
 * The output budget assumed when a modelInput names none: it is what the
 * estimate reports and what is sent to backends that require a limit.
 */
#define FMT_DEFAULT_MAX_TOKENS 512

/* The number of wires, for tables indexed by enum wire. */
#define FMT_WIRES (WIRE_BEDROCK + 1)

/* ---- registry.c: which wire a family can use ---- */

/* fmt_wire_name names a wire as users configure it ("openai", ...). */
const char *fmt_wire_name(enum wire w);

/*
 * fmt_check_wire returns 0 when family f can run on wire w, else ERR_CONFIG
 * with a message that says why and what to configure instead.
 */
int fmt_check_wire(const struct family *f, enum wire w, struct err *e);

/* fmt_tokens_bytes approximates the tokens of n bytes of text. */
int64_t fmt_tokens_bytes(size_t n);

/* ---- a family's description ---- */

/* A borrowed span of bytes (not NUL-terminated). */
struct fmt_str {
	const char *p;
	size_t n;
};

/* The names a family gives to the sampling settings (NULL: it has none). */
struct fmt_sampling_keys {
	const char *max_tokens;
	const char *temperature;
	const char *top_p;
	const char *top_k;
	const char *stop;
	/*
	 * An older name of max_tokens, read only when max_tokens is absent:
	 * OpenAI's max_tokens beside max_completion_tokens.
	 */
	const char *max_tokens_old;
};

/*
 * fmt_openai_keys are the names of OpenAI's completions API: those of the
 * requests to OpenAI-compatible backends, which Mistral's body shares.
 */
extern const struct fmt_sampling_keys fmt_openai_keys;

/* Where a native answer counts tokens: member key of the object at JSON pointer at. */
struct fmt_count {
	const char *at;  /* "" for the body itself */
	const char *key; /* NULL: the answer does not count these tokens */
};

/* The shape of an answer that is the modelOutput itself. */
struct fmt_answer {
	const char *key; /* the member every such answer has */
	json_type type;  /* and its type */
	struct fmt_count input_tokens;
	struct fmt_count output_tokens; /* not read for embeddings, which have none */
};

struct fmt_chat;
struct fmt_result;
struct fmt_spec;

/* fmt_chat_block_fn adds one content block, named by path, to the current turn of c. */
typedef int fmt_chat_block_fn(json_object *block, const char *path, enum wire w,
			      struct fmt_chat *c, struct err *e);

/*
 * fmt_chat_fn reads a validated modelInput into c for wire w, whose name
 * goes in messages about content the wire cannot take.
 */
typedef int fmt_chat_fn(const struct fmt_spec *s, json_object *mi, enum wire w,
			struct fmt_chat *c, struct err *e);

/* fmt_validate_fn checks a modelInput as struct family's validate does. */
typedef int fmt_validate_fn(const struct fmt_spec *s, json_object *mi, struct err *e);

/* fmt_put_fn writes the family's modelOutput for an answer read from another wire. */
typedef void fmt_put_fn(const struct fmt_spec *s, const struct fmt_result *res,
			const char *model, struct buf *out);

/*
 * A fmt_spec says what the shared estimate, to_wire and from_wire need to
 * know of a family, so that the flow of each is written once, in common.c.
 * What is truly the family's own (its checks, how its content blocks turn
 * into neutral parts, the shape of its output) stays in its file as hooks.
 */
struct fmt_spec {
	const struct family *family;
	fmt_validate_fn *validate;

	/* ---- where the modelInput keeps things ---- */
	/*
	 * The prompt text outside any message: the prompt of a prompt family,
	 * the input of an embeddings family, or the system prompt of a messages
	 * family. A string or an array of strings or text blocks; NULL: none.
	 */
	const char *text;
	const char *messages; /* the array of turns; NULL: none */
	const char *settings; /* the object of sampling settings; NULL: the body itself */
	const struct fmt_sampling_keys *keys; /* NULL for embeddings, which sample nothing */
	int64_t max_tokens_limit; /* the most max tokens Bedrock allows; 0: no limit */
	size_t max_stop;          /* the most stop sequences Bedrock allows; 0: no limit */
	const char *dimensions;   /* an embedding's size, a name Titan shares with OpenAI */

	/* ---- requests ---- */
	/*
	 * The path of each wire that takes the modelInput itself, indexed by
	 * enum wire; NULL where the body is converted. Bedrock gets the body
	 * as it is; the other wires get it with "model" set to the upstream
	 * name.
	 */
	const char *path[FMT_WIRES];
	/*
	 * prompt is set for a family whose body is one prompt at text: it is
	 * one user message on the Anthropic API, and on an OpenAI-compatible
	 * backend a completion, sent to /completions and read back as a
	 * text_completion.
	 */
	bool prompt;
	/*
	 * to_chat reads the body of a family that is neither a prompt nor
	 * embeddings (which become an /embeddings request of text) for
	 * conversion; the shared code has read the sampling settings into c.
	 */
	fmt_chat_fn *to_chat;
	/* add_block turns one content block into parts, for to_chat = fmt_chat_messages. */
	fmt_chat_block_fn *add_block;

	/* ---- answers ---- */
	/*
	 * The shape of the family's answer on Bedrock, which is the model's
	 * own. The APIs answer in their own fixed shapes.
	 */
	struct fmt_answer bedrock;
	/* put is NULL only for a family whose every wire takes the body itself. */
	fmt_put_fn *put;
};

/* The family callbacks of format.h, for the family that s describes. */
void fmt_spec_estimate(const struct fmt_spec *s, json_object *mi, int64_t *input_tokens,
		       int64_t *max_output_tokens);
int fmt_spec_walk_texts(const struct fmt_spec *s, json_object *mi, family_text_fn *fn, void *ud);
int fmt_spec_to_wire(const struct fmt_spec *s, enum wire w, json_object *mi, const char *raw,
		     size_t raw_len, const char *upstream, struct wire_req *out, struct err *e);
int fmt_spec_from_wire(const struct fmt_spec *s, enum wire w, const struct wire_resp *r,
		       const char *model, struct buf *out, struct usage *u, struct err *e);

/*
 * FMT_DEFINE_FAMILY defines the struct family var from spec. struct
 * family's callbacks are not told which family they serve, so every family
 * needs entry points of its own: the macro writes them once, each handing
 * spec to its fmt_spec_* function.
 */
#define FMT_DEFINE_FAMILY(var, fam_name, fam_id, is_embeddings, spec)                          \
	static int var##_validate(json_object *mi, struct err *e)                              \
	{                                                                                      \
		return (spec).validate(&(spec), mi, e);                                        \
	}                                                                                      \
	static void var##_estimate(json_object *mi, int64_t *in, int64_t *max_out)             \
	{                                                                                      \
		fmt_spec_estimate(&(spec), mi, in, max_out);                                   \
	}                                                                                      \
	static int var##_walk_texts(json_object *mi, family_text_fn *fn, void *ud)             \
	{                                                                                      \
		return fmt_spec_walk_texts(&(spec), mi, fn, ud);                               \
	}                                                                                      \
	static int var##_to_wire(enum wire w, json_object *mi, const char *raw,               \
				 size_t raw_len, const char *upstream, struct wire_req *out,   \
				 struct err *e)                                                \
	{                                                                                      \
		return fmt_spec_to_wire(&(spec), w, mi, raw, raw_len, upstream, out, e);       \
	}                                                                                      \
	static int var##_from_wire(enum wire w, json_object *mi, const struct wire_resp *r,    \
				   const char *model, struct buf *out, struct usage *u,        \
				   struct err *e)                                              \
	{                                                                                      \
		(void)mi;                                                                      \
		return fmt_spec_from_wire(&(spec), w, r, model, out, u, e);                    \
	}                                                                                      \
	const struct family var = {                                                            \
		.name = fam_name,                                                              \
		.id = fam_id,                                                                  \
		.embeddings = is_embeddings,                                                   \
		.validate = var##_validate,                                                    \
		.estimate = var##_estimate,                                                    \
		.walk_texts = var##_walk_texts,                                                \
		.to_wire = var##_to_wire,                                                      \
		.from_wire = var##_from_wire,                                                  \
	}

/*
 * fmt_walk_text calls fn on v when it is a string, or on each string and
 * each string "text" member of the objects of v when it is an array (the
 * text blocks of every message API). fmt_walk_messages does that for each
 * message's "content" of the array msgs. Anything else holds no text.
 */
int fmt_walk_text(json_object *v, family_text_fn *fn, void *ud);
int fmt_walk_messages(json_object *msgs, family_text_fn *fn, void *ud);

/* ---- checks of a modelInput ---- */

enum { FMT_OPTIONAL = 0, FMT_REQUIRED = 1 };

/* The upper bound of an integer check that has none. */
#define FMT_NO_MAX INT64_MAX

/* fmt_check_item_fn checks one value; path names it for messages. */
typedef int fmt_check_item_fn(json_object *v, const char *path, struct err *e);

/*
 * fmt_member finds key in object o and is true only when it is present and
 * not null: every family treats an explicit null like an absent field.
 */
bool fmt_member(json_object *o, const char *key, json_object **v);

/* fmt_path writes "parent.key" (or just key when parent is empty) to dst. */
void fmt_path(char *dst, size_t n, const char *parent, const char *key);

/*
 * fmt_fail sets e to "<parent.key>: must be <expect>, got <what v is>" and
 * returns ERR_INVAL; key may be NULL when parent already names the value.
 */
int fmt_fail(struct err *e, const char *parent, const char *key, const char *expect,
	     json_object *v);

/* fmt_check_object fails unless the modelInput itself is a JSON object. */
int fmt_check_object(json_object *mi, struct err *e);

/*
 * The fmt_check_* functions check member key of object o (parent is the
 * path of o for messages, "" at the top). With FMT_OPTIONAL an absent or
 * null member passes; with FMT_REQUIRED it is an error that says what the
 * field must hold.
 */
int fmt_check_string(json_object *o, const char *parent, const char *key, int req,
		     bool nonempty, struct err *e);
int fmt_check_int(json_object *o, const char *parent, const char *key, int req,
		  int64_t lo, int64_t hi, struct err *e);
int fmt_check_number(json_object *o, const char *parent, const char *key, int req,
		     double lo, double hi, struct err *e);
int fmt_check_bool(json_object *o, const char *parent, const char *key, struct err *e);
/* fmt_check_object_member returns the object in *obj when obj is not NULL (NULL when absent). */
int fmt_check_object_member(json_object *o, const char *parent, const char *key, int req,
			    json_object **obj, struct err *e);
/* fmt_check_string_array allows at most max_items strings (0: no limit). */
int fmt_check_string_array(json_object *o, const char *parent, const char *key,
			   size_t max_items, struct err *e);
/* fmt_check_enum allows only the strings of the NULL-terminated list. */
int fmt_check_enum(json_object *o, const char *parent, const char *key, int req,
		   const char *const *allowed, struct err *e);

/*
 * fmt_check_array_member checks that key holds an array, non-empty when
 * nonempty is set, and returns it in *arr (NULL when optional and absent).
 */
int fmt_check_array_member(json_object *o, const char *parent, const char *key, int req,
			   bool nonempty, json_object **arr, struct err *e);

/* fmt_check_items runs check on each item of arr, named "path[i]". */
int fmt_check_items(json_object *arr, const char *path, fmt_check_item_fn *check,
		    struct err *e);

/*
 * fmt_check_kind checks that o, named by path, is an object (else "must be
 * <what>") whose member key names its kind: one of the NULL-terminated
 * allowed, or any non-empty string when allowed is NULL. *kind, when kind
 * is not NULL, gets the name.
 */
int fmt_check_kind(json_object *o, const char *path, const char *what, const char *key,
		   const char *const *allowed, const char **kind, struct err *e);

/*
 * fmt_check_list checks the required member key of o: a string (non-empty
 * when nonempty) or a non-empty array whose items check accepts. A NULL
 * check wants strings, non-empty when nonempty. expect says what the member
 * must be.
 */
int fmt_check_list(json_object *o, const char *parent, const char *key, const char *expect,
		   bool nonempty, fmt_check_item_fn *check, struct err *e);

/*
 * fmt_check_messages checks "messages", a non-empty array, with check on
 * each message ("messages[1]"). With turns set each message is first held
 * to the user/assistant alternation of the Anthropic and Bedrock message
 * APIs, which also makes sure it is an object with a role.
 */
int fmt_check_messages(json_object *mi, bool turns, fmt_check_item_fn *check, struct err *e);

/* fmt_check_prompt checks that mi is an object with a non-empty string at s->text. */
int fmt_check_prompt(const struct fmt_spec *s, json_object *mi, struct err *e);

/*
 * fmt_check_settings checks the sampling settings that s names, in the
 * order max tokens, temperature, top_p, top_k, stop, within the bounds
 * Bedrock sets for every model it hosts: temperature and top_p from 0 to 1,
 * top_k at least 0. Its settings object, when s has one, is optional.
 */
int fmt_check_settings(const struct fmt_spec *s, json_object *mi, struct err *e);

/*
 * fmt_validate_prompt is the validate of a prompt family: the prompt at
 * s->text and the settings that s names.
 */
int fmt_validate_prompt(const struct fmt_spec *s, json_object *mi, struct err *e);

/* ---- neutral requests ---- */

enum fmt_part_kind { FMT_PART_TEXT, FMT_PART_IMAGE };

/*
 * One piece of a turn. All spans borrow from the modelInput, which must
 * outlive the fmt_chat they are in.
 */
struct fmt_part {
	enum fmt_part_kind kind;
	struct fmt_str text;  /* TEXT */
	struct fmt_str media; /* IMAGE inline: "image/png" */
	struct fmt_str data;  /* IMAGE inline: base64 bytes */
	struct fmt_str url;   /* IMAGE by address, when media and data are empty */
};

/* A turn: role is a static "user" or "assistant"; parts[first..first+count). */
struct fmt_turn {
	const char *role;
	size_t first;
	size_t count;
};

/* Sampling settings, borrowed from the modelInput so numbers keep their text. */
struct fmt_sampling {
	int64_t max_tokens;       /* always set: the input's or the default */
	json_object *temperature; /* NULL when absent */
	json_object *top_p;
	json_object *top_k;
	json_object *stop;        /* a string or a non-empty array of strings */
};

/* A conversation in no particular dialect. */
struct fmt_chat {
	struct fmt_str *system; /* system texts, in order */
	size_t nsystem, cap_system;
	struct fmt_turn *turns;
	size_t nturns, cap_turns;
	struct fmt_part *parts;
	size_t nparts, cap_parts;
	struct fmt_sampling s;
};

/* fmt_str_json borrows the bytes of a JSON string. */
struct fmt_str fmt_str_json(json_object *s);

int fmt_chat_system(struct fmt_chat *c, struct fmt_str text, struct err *e);
/*
 * fmt_chat_turn starts a turn of role ("user" or "assistant"), or keeps
 * adding to the last one when it has the same role: every target API
 * accepts merged turns, and Anthropic requires them.
 */
int fmt_chat_turn(struct fmt_chat *c, const char *role, struct err *e);
/* fmt_chat_part appends a copy of p to the current turn. */
int fmt_chat_part(struct fmt_chat *c, const struct fmt_part *p, struct err *e);
int fmt_chat_text(struct fmt_chat *c, struct fmt_str text, struct err *e);

/*
 * fmt_chat_messages is the to_chat of the Anthropic and Bedrock message
 * bodies: the system texts at s->text, from a string or from text blocks,
 * then each message at s->messages as a turn, its string content as one
 * text and its array content block by block through s->add_block, which
 * gets the block's path ("messages[1].content[0]") for its messages.
 */
int fmt_chat_messages(const struct fmt_spec *s, json_object *mi, enum wire w,
		      struct fmt_chat *c, struct err *e);

/* ---- neutral answers ---- */

enum fmt_stop {
	FMT_STOP_END,      /* the model finished its turn */
	FMT_STOP_LENGTH,   /* the output hit max tokens */
	FMT_STOP_SEQUENCE, /* a stop sequence matched */
	FMT_STOP_TOOL,     /* the model asked for a tool */
	FMT_STOP_FILTER    /* a content filter or refusal ended the answer */
};

/* An answer in no particular dialect. */
struct fmt_result {
	struct buf text;            /* owned: the answer's text */
	enum fmt_stop stop;
	const char *stop_sequence;  /* borrowed from the answer, or NULL */
	const char *id;             /* borrowed: the backend's id, or NULL */
	json_object *embedding;     /* borrowed: the vector of an embeddings answer */
	int64_t input_tokens;       /* -1 when the body has none */
	int64_t output_tokens;
};

/* The stop reasons of each dialect. */
const char *fmt_stop_anthropic(enum fmt_stop s); /* anthropic-messages */
const char *fmt_stop_nova(enum fmt_stop s);      /* nova, converse */
const char *fmt_stop_openai(enum fmt_stop s);    /* openai-chat, -completions */
const char *fmt_stop_titan(enum fmt_stop s);     /* titan-text */
const char *fmt_stop_short(enum fmt_stop s);     /* llama, mistral: stop | length */

/* ---- writing JSON ---- */

/*
 * fmt_key writes "key": after a comma when the buffer does not just have
 * opened an object, so that members can be written in any order.
 */
void fmt_key(struct buf *b, const char *key);
void fmt_put_str(struct buf *b, const char *key, const char *s, size_t n);
void fmt_put_cstr(struct buf *b, const char *key, const char *s);
void fmt_put_i64(struct buf *b, const char *key, int64_t v);
void fmt_put_json(struct buf *b, const char *key, json_object *v);

/*
 * fmt_put_id writes key: prefix followed by id, or by a fresh random id
 * when the backend gave none (id NULL).
 */
void fmt_put_id(struct buf *b, const char *key, const char *prefix, const char *id);

/*
 * fmt_put_usage writes the token counts of res as "usage": {in: ...,
 * out: ...} under each dialect's names, with their sum as total unless
 * total is NULL.
 */
void fmt_put_usage(struct buf *b, const struct fmt_result *res, const char *in,
		   const char *out, const char *total);

#endif
