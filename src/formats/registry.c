/* registry.c - the table of model families and which backend wires each can use. */
#include "formats/common.h"

#include <string.h>

#include "util/json.h"

/*
 * The families in enum family_id order, so that family_by_id is an index.
 * Each family's definition lives in its own file; this table is the one
 * place that lists them all.
 */
static const struct family *const families[FAM__COUNT] = {
	[FAM_ANTHROPIC_MESSAGES] = &fmt_family_anthropic_messages,
	[FAM_LLAMA] = &fmt_family_llama,
	[FAM_MISTRAL] = &fmt_family_mistral,
	[FAM_TITAN_TEXT] = &fmt_family_titan_text,
	[FAM_NOVA] = &fmt_family_nova,
	[FAM_CONVERSE] = &fmt_family_converse,
	[FAM_TITAN_EMBED] = &fmt_family_titan_embed,
	[FAM_OPENAI_CHAT] = &fmt_family_openai_chat,
	[FAM_OPENAI_COMPLETIONS] = &fmt_family_openai_completions,
	[FAM_OPENAI_EMBEDDINGS] = &fmt_family_openai_embeddings,
};

const struct family *family_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < FAM__COUNT; i++)
		if (!strcmp(families[i]->name, name))
			return families[i];
	return NULL;
}

const struct family *family_by_id(enum family_id id)
{
	if ((unsigned)id >= FAM__COUNT)
		return NULL;
	return families[id];
}

/* Without a family every text member any family has is read. */
static const char *const any_text[] = {"system", "prompt", "inputText", "input", NULL};

int family_walk_texts(const struct family *f, json_object *mi, family_text_fn *fn, void *ud)
{
	int rc = 0;

	if (f)
		return f->walk_texts(mi, fn, ud);
	for (size_t i = 0; any_text[i] && !rc; i++)
		rc = fmt_walk_text(json_get(mi, any_text[i]), fn, ud);
	return rc ? rc : fmt_walk_messages(json_get(mi, "messages"), fn, ud);
}

/* is_openai_family is true for the families whose bodies are OpenAI's own. */
static bool is_openai_family(const struct family *f)
{
	return f->id == FAM_OPENAI_CHAT || f->id == FAM_OPENAI_COMPLETIONS ||
	       f->id == FAM_OPENAI_EMBEDDINGS;
}

/*
 * Every family runs on an OpenAI-compatible backend, natively or converted.
 * The Messages API has no embeddings, so embedding families cannot use it.
 * Bedrock's InvokeModel takes only the model's native body, which the
 * OpenAI families do not have.
 */
bool family_supports_wire(const struct family *f, enum wire w)
{
	if (!f)
		return false;
	switch (w) {
	case WIRE_OPENAI:
		return true;
	case WIRE_ANTHROPIC:
		return !f->embeddings;
	case WIRE_BEDROCK:
		return !is_openai_family(f);
	}
	return false;
}

const char *fmt_wire_name(enum wire w)
{
	switch (w) {
	case WIRE_OPENAI:
		return "openai";
	case WIRE_ANTHROPIC:
		return "anthropic";
	case WIRE_BEDROCK:
		return "bedrock";
	}
	return "unknown";
}

/*
 * fmt_check_wire turns a "no" from family_supports_wire into a message that
 * says why, since the fix (another backend or family in the configuration)
 * depends on the reason.
 */
int fmt_check_wire(const struct family *f, enum wire w, struct err *e)
{
	const char *why;

	if (family_supports_wire(f, w))
		return 0;
	if (w == WIRE_ANTHROPIC)
		why = "the Messages API has no embeddings";
	else if (w == WIRE_BEDROCK)
		why = "Bedrock's InvokeModel takes the model's native body; use a Bedrock "
		      "family such as anthropic-messages or converse";
	else
		why = "the wire is not known";
	return err_set(e, ERR_CONFIG, "family %s cannot run on %s %s backend (%s)", f->name,
		       w == WIRE_BEDROCK ? "a" : "an", fmt_wire_name(w), why);
}

/*
 * Token estimates only size rate limits and cost previews before a backend
 * has counted, so a fixed four bytes per token is close enough for English
 * and errs high for code and non-Latin text, which is the safe side.
 */
int64_t fmt_tokens_bytes(size_t n)
{
	return (int64_t)(n / 4 + (n % 4 != 0));
}

int64_t fmt_tokens_text(const char *s, size_t n)
{
	(void)s;
	return fmt_tokens_bytes(n);
}
