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

/* ---- checks of a modelInput ---- */

enum { FMT_OPTIONAL = 0, FMT_REQUIRED = 1 };

/* The upper bound of an integer check that has none. */
#define FMT_NO_MAX INT64_MAX

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
int fmt_check_object_member(json_object *o, const char *parent, const char *key, int req,
			    struct err *e);
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

/*
 * fmt_check_turn checks the role of turn idx (path names the message, e.g.
 * "messages[1]") for the user/assistant alternation of the Anthropic and
 * Bedrock message APIs; prev is the previous turn's role or NULL.
 */
int fmt_check_turn(const char *path, size_t idx, json_object *msg, const char *prev,
		   struct err *e);

/* ---- estimates ---- */

/*
 * fmt_count_text returns the bytes of prompt text in v: a string's length,
 * or for an array the lengths of its strings and of the string "text"
 * members of its objects (the text blocks of every message API).
 */
size_t fmt_count_text(json_object *v);

/* fmt_count_messages adds fmt_count_text of each message's "content". */
size_t fmt_count_messages(json_object *messages);

/* fmt_max_tokens reads a max-tokens member, or def when it is absent. */
int64_t fmt_max_tokens(json_object *o, const char *key, int64_t def);

/* ---- neutral requests ---- */

/* A borrowed span of bytes (not NUL-terminated). */
struct fmt_str {
	const char *p;
	size_t n;
};

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

/* The names a family gives to the sampling settings (NULL: it has none). */
struct fmt_sampling_keys {
	const char *max_tokens;
	const char *temperature;
	const char *top_p;
	const char *top_k;
	const char *stop;
};

/* fmt_sampling_read fills s from the members of o named by k. */
void fmt_sampling_read(json_object *o, const struct fmt_sampling_keys *k,
		       struct fmt_sampling *s);

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

void fmt_chat_init(struct fmt_chat *c);
/* fmt_chat_free frees the arrays; the borrowed spans stay the input's. */
void fmt_chat_free(struct fmt_chat *c);
int fmt_chat_system(struct fmt_chat *c, const char *p, size_t n, struct err *e);
/*
 * fmt_chat_turn starts a turn of role ("user" or "assistant"), or keeps
 * adding to the last one when it has the same role: every target API
 * accepts merged turns, and Anthropic requires them.
 */
int fmt_chat_turn(struct fmt_chat *c, const char *role, struct err *e);
/* fmt_chat_part appends a copy of p to the current turn. */
int fmt_chat_part(struct fmt_chat *c, const struct fmt_part *p, struct err *e);
int fmt_chat_text(struct fmt_chat *c, const char *p, size_t n, struct err *e);

/*
 * The builders below fill out with a malloc'd body the caller then owns;
 * on failure out->body is NULL. upstream is the backend's model name.
 */
int fmt_build_openai_chat(const struct fmt_chat *c, const char *upstream,
			  struct wire_req *out, struct err *e);
int fmt_build_openai_completion(struct fmt_str prompt, const struct fmt_sampling *s,
				const char *upstream, struct wire_req *out, struct err *e);
int fmt_build_anthropic(const struct fmt_chat *c, const char *upstream,
			struct wire_req *out, struct err *e);
/*
 * fmt_req_finish hands the body in b to out (which then owns it) or, when b
 * failed on its cap or an allocation, frees it and says so.
 */
int fmt_req_finish(struct buf *b, const char *path, struct wire_req *out, struct err *e);
/* fmt_build_native serializes mi as it is (Bedrock families on Bedrock). */
int fmt_build_native(json_object *mi, const char *path, struct wire_req *out,
		     struct err *e);
/*
 * fmt_build_renamed serializes mi with "model": upstream first and without
 * its own "model" or the members of the NULL-terminated list drop (which
 * may itself be NULL).
 */
int fmt_build_renamed(json_object *mi, const char *path, const char *upstream,
		      const char *const *drop, struct wire_req *out, struct err *e);
/*
 * fmt_prompt_to_wire sends a single-prompt family (llama, mistral,
 * titan-text): as is to Bedrock, as a completion to OpenAI, as one user
 * message to Anthropic.
 */
int fmt_prompt_to_wire(enum wire w, json_object *mi, struct fmt_str prompt,
		       const struct fmt_sampling *s, const char *upstream,
		       struct wire_req *out, struct err *e);

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

void fmt_result_init(struct fmt_result *res);
void fmt_result_free(struct fmt_result *res);

/*
 * fmt_read_answer reads a text answer into res: on WIRE_OPENAI a
 * chat.completion (chat) or text_completion (!chat), on WIRE_ANTHROPIC a
 * Message. A body without the text gives ERR_REMOTE. Token counts missing
 * from the body are taken from the response headers, else 0.
 */
int fmt_read_answer(enum wire w, bool chat, const struct wire_resp *r,
		    struct fmt_result *res, struct err *e);
/* fmt_read_openai_embedding reads data[0].embedding and the prompt tokens. */
int fmt_read_openai_embedding(const struct wire_resp *r, struct fmt_result *res,
			      struct err *e);

/*
 * fmt_native_answer checks that a native body is an object whose key has
 * type t, else ERR_REMOTE naming the missing field.
 */
int fmt_native_answer(const struct wire_resp *r, const char *key, json_type t,
		      struct err *e);

/*
 * fmt_usage_fill sets u from counts found in a body (-1: none), falling
 * back to the response headers and then to 0.
 */
void fmt_usage_fill(struct usage *u, const struct wire_resp *r, int64_t in, int64_t out);

/* fmt_get_i64 reads an integer at o.key, or -1 when there is none. */
int64_t fmt_get_i64(json_object *o, const char *key);

/* The stop reasons of each dialect. */
enum fmt_stop fmt_stop_from_openai(const char *reason);
enum fmt_stop fmt_stop_from_anthropic(const char *reason);
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
/* fmt_put_done turns a failed output buffer into an error. */
int fmt_put_done(struct buf *b, struct err *e);

/*
 * fmt_put_id writes key: prefix followed by id, or by a fresh random id
 * when the backend gave none (id NULL).
 */
void fmt_put_id(struct buf *b, const char *key, const char *prefix, const char *id);

/* fmt_new_id writes n-1 random [A-Za-z0-9] characters and a NUL. */
void fmt_new_id(char *out, size_t n);

#endif
