/* advice.c - what an input costs for nothing: inflated max_tokens, duplicates, whitespace. */
#include "cli/advice.h"
#include "cli/cli.h"
#include "util/buf.h"
#include "core/compact.h"
#include "core/pricing.h"
#include "util/ids.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADVICE_NONE UINT32_MAX
/* Seeds of the two halves of the 128-bit hash of a modelInput. */
#define ADVICE_SEED_A 0x9e3779b97f4a7c15ull
#define ADVICE_SEED_B 0xc2b2ae3d27d4eb4full
/* How many groups of duplicates the report quotes. */
#define ADVICE_GROUPS_SHOWN 3
#define ADVICE_MSG_MAX 2048
/* The longest file name an example shows; five examples and the text fit a message. */
#define ADVICE_WHERE_MAX 160

/*
 * The typical answer of each family, in tokens. Batch work is mostly
 * summaries, extractions and classifications: a summary of a document runs
 * to a few hundred tokens (the seed's 500), a label to a handful. 512 is
 * also the default that Bedrock's prompt families (Llama's max_gen_len,
 * Titan's maxTokenCount) and barge's estimate assume. Embeddings answer
 * with vectors and have no max_tokens.
 */
static const int64_t typical_answer[FAM__COUNT] = {
	[FAM_ANTHROPIC_MESSAGES] = 512,
	[FAM_LLAMA] = 512,
	[FAM_MISTRAL] = 512,
	[FAM_TITAN_TEXT] = 512,
	[FAM_NOVA] = 512,
	[FAM_CONVERSE] = 512,
	[FAM_TITAN_EMBED] = 0,
	[FAM_OPENAI_CHAT] = 512,
	[FAM_OPENAI_COMPLETIONS] = 512,
	[FAM_OPENAI_EMBEDDINGS] = 0,
};

/* One record as the advice keeps it: 24 bytes, so a million fit in 24 MB. */
struct adv_rec {
	uint64_t line;
	uint32_t max_tokens;
	uint32_t prompt_tokens;
	uint32_t input;
	uint32_t dup_of; /* the first record with the same modelInput, or ADVICE_NONE */
};

/* A slot of the table of modelInput hashes; first is a record index + 1 (0: empty). */
struct dup_slot {
	uint64_t h1, h2;
	uint32_t first;
	uint32_t count;
};

struct spread {
	int64_t min, median, p90, max;
};

/* Where a flag's example lines are. */
struct example {
	uint32_t input;
	uint64_t line;
};

struct advice {
	const struct family *fam;
	const struct model_cfg *model;
	struct prices p;
	bool nomem;

	struct adv_rec *recs;
	size_t n, cap;
	uint64_t seen; /* every valid record, also past ADVICE_MAX_RECORDS */

	struct dup_slot *slots;
	size_t slot_cap, slot_n;

	/* whitespace, as `barge compact` would remove it */
	uint64_t ws_records;
	uint64_t ws_bytes;
	int64_t ws_tokens;
	struct example ws_ex[ADVICE_EXAMPLES];
	size_t n_ws_ex;

	/* computed by advice_finish */
	bool finished;
	struct spread mt, pt;
	int64_t typical, ceiling, median_limit;
	uint64_t mt_flagged, mt_over_ceiling, mt_over_median;
	double mt_cost_above;
	struct example mt_ex[ADVICE_EXAMPLES];
	size_t n_mt_ex;
	uint64_t dup_groups, dup_records;
	double dup_cost;
	char mt_msg[ADVICE_MSG_MAX];
	char dup_msg[ADVICE_MSG_MAX];
	char ws_msg[ADVICE_MSG_MAX];
};

int64_t advice_typical_answer(const struct family *fam)
{
	if (!fam || (unsigned)fam->id >= FAM__COUNT || fam->embeddings)
		return 0;
	return typical_answer[fam->id];
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

void advice_sort(int64_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_i64);
}

int64_t advice_quantile(const int64_t *v, size_t n, double q)
{
	size_t k;

	if (!n)
		return 0;
	/* Nearest rank: the smallest value with at least q of the values at or below it. */
	k = (size_t)((double)n * q + 0.999999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

struct advice *advice_new(const struct family *fam, const struct model_cfg *model)
{
	struct advice *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->fam = fam;
	a->model = model;
	a->p.input_per_1k = model->input_price_per_1k;
	a->p.output_per_1k = model->output_price_per_1k;
	a->p.batch_discount = model->batch_discount;
	return a;
}

void advice_free(struct advice *a)
{
	if (!a)
		return;
	free(a->recs);
	free(a->slots);
	free(a);
}

/* batch_cost is the batch price of input and output tokens on the advice's model. */
static double batch_cost(const struct advice *a, double in, double out)
{
	struct costs c;

	pricing_compute(&a->p, in, out, &c);
	return c.batch_total;
}

static int slots_grow(struct advice *a)
{
	size_t ncap = a->slot_cap ? a->slot_cap * 2 : 1024;
	struct dup_slot *nv = calloc(ncap, sizeof(*nv));

	if (!nv)
		return ERR_NOMEM;
	for (size_t i = 0; i < a->slot_cap; i++) {
		size_t j;

		if (!a->slots[i].first)
			continue;
		for (j = a->slots[i].h1 & (ncap - 1); nv[j].first; j = (j + 1) & (ncap - 1))
			;
		nv[j] = a->slots[i];
	}
	free(a->slots);
	a->slots = nv;
	a->slot_cap = ncap;
	return 0;
}

/*
 * dup_find returns the index of the first record whose modelInput has the
 * same bytes as raw (by a 128-bit hash), or ADVICE_NONE after recording
 * raw as belonging to record idx.
 */
static uint32_t dup_find(struct advice *a, const char *raw, size_t n, uint32_t idx)
{
	uint64_t h1 = hash64(raw, n, ADVICE_SEED_A), h2 = hash64(raw, n, ADVICE_SEED_B);
	size_t j;

	if ((a->slot_n + 1) * 2 > a->slot_cap && slots_grow(a)) {
		a->nomem = true;
		return ADVICE_NONE;
	}
	for (j = h1 & (a->slot_cap - 1); a->slots[j].first; j = (j + 1) & (a->slot_cap - 1)) {
		if (a->slots[j].h1 == h1 && a->slots[j].h2 == h2) {
			a->slots[j].count++;
			return a->slots[j].first - 1;
		}
	}
	a->slots[j].h1 = h1;
	a->slots[j].h2 = h2;
	a->slots[j].first = idx + 1;
	a->slots[j].count = 1;
	a->slot_n++;
	return ADVICE_NONE;
}

static uint32_t clamp_u32(int64_t v)
{
	return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void advice_on_record(void *ud, const struct record *rec, unsigned input_idx, uint64_t line_no)
{
	struct advice *a = ud;
	struct adv_rec *r;
	struct compact_stats st = {0};
	struct compact_opts co = {false};
	struct err e;
	int64_t in = 0, out = 0;

	a->seen++;
	if (a->nomem || a->n >= ADVICE_MAX_RECORDS)
		return;
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 1024;
		struct adv_rec *nv;

		if (ncap > ADVICE_MAX_RECORDS)
			ncap = ADVICE_MAX_RECORDS;
		nv = realloc(a->recs, ncap * sizeof(*nv));
		if (!nv) {
			a->nomem = true;
			return;
		}
		a->recs = nv;
		a->cap = ncap;
	}
	a->fam->estimate(rec->mi, &in, &out);
	r = &a->recs[a->n];
	r->line = line_no;
	r->input = input_idx;
	r->max_tokens = clamp_u32(out);
	r->prompt_tokens = clamp_u32(in);
	r->dup_of = rec->mi_raw ? dup_find(a, rec->mi_raw, rec->mi_raw_len, (uint32_t)a->n)
				: ADVICE_NONE;
	/* What `barge compact` would remove, counted without changing the record. */
	if (compact_model_input(a->fam, rec->mi, false, &co, &st, &e)) {
		a->nomem = true;
		return;
	}
	a->ws_bytes += st.bytes_before - st.bytes_after;
	a->ws_tokens += compact_tokens_saved(&st);
	if (st.long_runs) {
		if (a->n_ws_ex < ADVICE_EXAMPLES)
			a->ws_ex[a->n_ws_ex++] = (struct example){input_idx, line_no};
		a->ws_records++;
	}
	a->n++;
}

/* spread_of fills s from the field of every record that get reads. */
static int spread_of(const struct advice *a, uint32_t (*get)(const struct adv_rec *),
		     struct spread *s)
{
	int64_t *v;

	memset(s, 0, sizeof(*s));
	if (!a->n)
		return 0;
	v = malloc(a->n * sizeof(*v));
	if (!v)
		return ERR_NOMEM;
	for (size_t i = 0; i < a->n; i++)
		v[i] = get(&a->recs[i]);
	advice_sort(v, a->n);
	s->min = v[0];
	s->median = advice_quantile(v, a->n, 0.5);
	s->p90 = advice_quantile(v, a->n, 0.9);
	s->max = v[a->n - 1];
	free(v);
	return 0;
}

static uint32_t get_max_tokens(const struct adv_rec *r)
{
	return r->max_tokens;
}

static uint32_t get_prompt_tokens(const struct adv_rec *r)
{
	return r->prompt_tokens;
}

/* put_where appends "file:line" of an example. */
static void put_where(struct buf *b, const struct job_input *inputs, uint32_t input,
		      uint64_t line)
{
	const char *uri = inputs ? inputs[input].uri : "?";
	size_t n = strlen(uri);

	/* A long path keeps its end, which tells the files apart, so the advice still fits. */
	if (n > ADVICE_WHERE_MAX)
		buf_printf(b, "...%s:%llu", uri + n - (ADVICE_WHERE_MAX - 3), (unsigned long long)line);
	else
		buf_printf(b, "%s:%llu", uri, (unsigned long long)line);
}

static void fmt_usd(double v, char *out, size_t n)
{
	pricing_fmt_usd(v, out, n);
}

/* flag_max_tokens finds the records whose max_tokens is far above a typical answer. */
static void flag_max_tokens(struct advice *a)
{
	a->typical = advice_typical_answer(a->fam);
	if (!a->typical)
		return;
	a->ceiling = a->typical * ADVICE_CEILING_FACTOR;
	a->median_limit = a->mt.median * ADVICE_MEDIAN_FACTOR;
	if (a->median_limit < a->typical)
		a->median_limit = a->typical;
	for (size_t i = 0; i < a->n; i++) {
		const struct adv_rec *r = &a->recs[i];
		int64_t mt = r->max_tokens, limit = INT64_MAX;

		if (mt > a->ceiling) {
			a->mt_over_ceiling++;
			limit = a->ceiling;
		}
		if (mt > a->median_limit) {
			a->mt_over_median++;
			if (a->median_limit < limit)
				limit = a->median_limit;
		}
		if (limit == INT64_MAX)
			continue;
		a->mt_flagged++;
		/* What the estimate budgets above the limit, were every answer to run to its end. */
		a->mt_cost_above += batch_cost(a, 0, (double)(mt - limit));
		if (a->n_mt_ex < ADVICE_EXAMPLES)
			a->mt_ex[a->n_mt_ex++] = (struct example){r->input, r->line};
	}
}

/* flag_duplicates counts the groups of identical modelInput and what the extra copies cost. */
static void flag_duplicates(struct advice *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct adv_rec *r = &a->recs[i];

		if (r->dup_of == ADVICE_NONE || r->dup_of == i)
			continue;
		a->dup_records++;
		a->dup_cost += batch_cost(a, r->prompt_tokens, r->max_tokens);
		/* The first of a group points at itself: it leads the group. */
		if (a->recs[r->dup_of].dup_of != r->dup_of) {
			a->recs[r->dup_of].dup_of = r->dup_of;
			a->dup_groups++;
		}
	}
}

static void msg_max_tokens(struct advice *a, const struct job_input *inputs)
{
	struct buf b;
	char n[32], c[32], t[32], m[32], ml[32], usd[32];

	buf_init(&b, ADVICE_MSG_MAX - 1);
	buf_fmt_int(n, sizeof(n), (int64_t)a->mt_flagged);
	buf_fmt_int(c, sizeof(c), a->ceiling);
	buf_fmt_int(t, sizeof(t), a->typical);
	buf_fmt_int(m, sizeof(m), a->mt.median);
	buf_fmt_int(ml, sizeof(ml), a->median_limit);
	fmt_usd(a->mt_cost_above, usd, sizeof(usd));
	buf_printf(&b, "%s record%s ask%s for far more than a typical answer: %llu above %s "
		       "(%dx the typical %s-token answer of %s), %llu above %s (%dx the file's "
		       "median of %s, or the typical answer if more); e.g. ",
		   n, a->mt_flagged == 1 ? "" : "s", a->mt_flagged == 1 ? "s" : "",
		   (unsigned long long)a->mt_over_ceiling, c, ADVICE_CEILING_FACTOR, t,
		   a->fam->name, (unsigned long long)a->mt_over_median, ml, ADVICE_MEDIAN_FACTOR,
		   m);
	for (size_t i = 0; i < a->n_mt_ex; i++) {
		if (i)
			buf_puts(&b, ", ");
		put_where(&b, inputs, a->mt_ex[i].input, a->mt_ex[i].line);
	}
	buf_printf(&b, ". The output budget above those limits is %s at batch price: lower "
		       "max_tokens",
		   usd);
	snprintf(a->mt_msg, sizeof(a->mt_msg), "%s", b.data ? b.data : "");
	buf_free(&b);
}

/* put_group appends the lines of the group led by record lead: "a.jsonl:2 = :5 = :7". */
static void put_group(struct buf *b, const struct advice *a, const struct job_input *inputs,
		      size_t lead)
{
	size_t shown = 1;

	put_where(b, inputs, a->recs[lead].input, a->recs[lead].line);
	for (size_t i = lead + 1; i < a->n && shown < ADVICE_EXAMPLES; i++) {
		if (a->recs[i].dup_of != lead)
			continue;
		buf_puts(b, " = ");
		if (a->recs[i].input == a->recs[lead].input)
			buf_printf(b, ":%llu", (unsigned long long)a->recs[i].line);
		else
			put_where(b, inputs, a->recs[i].input, a->recs[i].line);
		shown++;
	}
}

static void msg_duplicates(struct advice *a, const struct job_input *inputs)
{
	struct buf b;
	char g[32], r[32], usd[32];
	size_t shown = 0;

	buf_init(&b, ADVICE_MSG_MAX - 1);
	buf_fmt_int(g, sizeof(g), (int64_t)a->dup_groups);
	buf_fmt_int(r, sizeof(r), (int64_t)a->dup_records);
	fmt_usd(a->dup_cost, usd, sizeof(usd));
	buf_printf(&b, "%s group%s of identical modelInput hold%s %s extra record%s (", g,
		   a->dup_groups == 1 ? "" : "s", a->dup_groups == 1 ? "s" : "", r,
		   a->dup_records == 1 ? "" : "s");
	for (size_t i = 0; i < a->n && shown < ADVICE_GROUPS_SHOWN; i++) {
		if (a->recs[i].dup_of != i)
			continue;
		if (shown++)
			buf_puts(&b, "; ");
		put_group(&b, a, inputs, i);
	}
	if (a->dup_groups > ADVICE_GROUPS_SHOWN)
		buf_puts(&b, "; ...");
	buf_printf(&b, "), which cost about %s at batch price (input and max_tokens output): drop "
		       "the duplicates",
		   usd);
	snprintf(a->dup_msg, sizeof(a->dup_msg), "%s", b.data ? b.data : "");
	buf_free(&b);
}

static void msg_whitespace(struct advice *a, const struct job_input *inputs)
{
	struct buf b;
	char r[32], by[32], tk[32], usd[32];

	buf_init(&b, ADVICE_MSG_MAX - 1);
	buf_fmt_int(r, sizeof(r), (int64_t)a->ws_records);
	buf_fmt_int(by, sizeof(by), (int64_t)a->ws_bytes);
	buf_fmt_int(tk, sizeof(tk), a->ws_tokens);
	fmt_usd(batch_cost(a, (double)a->ws_tokens, 0), usd, sizeof(usd));
	buf_printf(&b, "%s record%s long runs of whitespace in %s text (e.g. ", r,
		   a->ws_records == 1 ? " has" : "s have", a->ws_records == 1 ? "its" : "their");
	for (size_t i = 0; i < a->n_ws_ex; i++) {
		if (i)
			buf_puts(&b, ", ");
		put_where(&b, inputs, a->ws_ex[i].input, a->ws_ex[i].line);
	}
	buf_printf(&b, "); `barge compact` would remove %s bytes, about %s input tokens (%s at "
		       "batch price): run barge compact",
		   by, tk, usd);
	snprintf(a->ws_msg, sizeof(a->ws_msg), "%s", b.data ? b.data : "");
	buf_free(&b);
}

int advice_finish(struct advice *a, const struct job_input *inputs, struct err *e)
{
	if (a->nomem || spread_of(a, get_max_tokens, &a->mt) ||
	    spread_of(a, get_prompt_tokens, &a->pt))
		return err_set(e, ERR_NOMEM, "out of memory while gathering advice");
	flag_max_tokens(a);
	flag_duplicates(a);
	if (a->mt_flagged)
		msg_max_tokens(a, inputs);
	if (a->dup_groups)
		msg_duplicates(a, inputs);
	if (a->ws_records)
		msg_whitespace(a, inputs);
	a->finished = true;
	return 0;
}

static void put_spread_text(struct buf *b, const char *what, const struct spread *s,
			    const char *note)
{
	char v[4][32];

	buf_fmt_int(v[0], sizeof(v[0]), s->min);
	buf_fmt_int(v[1], sizeof(v[1]), s->median);
	buf_fmt_int(v[2], sizeof(v[2]), s->p90);
	buf_fmt_int(v[3], sizeof(v[3]), s->max);
	buf_printf(b, "  %-14s min %s, median %s, p90 %s, max %s%s\n", what, v[0], v[1], v[2],
		   v[3], note);
}

void advice_put_text(const struct advice *a, struct buf *b)
{
	char n[32];

	if (!a->finished || !a->n)
		return;
	buf_fmt_int(n, sizeof(n), (int64_t)a->n);
	buf_printf(b, "advice on %s valid record%s", n, a->n == 1 ? "" : "s");
	if (a->seen > a->n)
		buf_printf(b, " (the first %s of %llu)", n, (unsigned long long)a->seen);
	buf_printf(b, ", priced as %s:\n", a->model->id);
	if (a->typical)
		put_spread_text(b, "max_tokens", &a->mt, "");
	put_spread_text(b, "prompt tokens", &a->pt, " (approximate: 4 bytes a token)");
	if (a->mt_flagged)
		buf_printf(b, "  max_tokens: %s\n", a->mt_msg);
	if (a->dup_groups)
		buf_printf(b, "  duplicates: %s\n", a->dup_msg);
	if (a->ws_records)
		buf_printf(b, "  whitespace: %s\n", a->ws_msg);
	if (!a->mt_flagged && !a->dup_groups && !a->ws_records)
		buf_puts(b, "  nothing to flag: max_tokens, duplicates and whitespace look right\n");
}

static void put_spread_json(struct buf *b, const struct spread *s)
{
	buf_printf(b, "{\"min\":%lld,\"median\":%lld,\"p90\":%lld,\"max\":%lld}", (long long)s->min,
		   (long long)s->median, (long long)s->p90, (long long)s->max);
}

static void put_examples_json(struct buf *b, const struct job_input *inputs,
			      const struct example *ex, size_t n)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		buf_puts(b, i ? ",{\"uri\":" : "{\"uri\":");
		buf_put_json_cstr(b, inputs ? inputs[ex[i].input].uri : "?");
		buf_printf(b, ",\"line\":%llu}", (unsigned long long)ex[i].line);
	}
	buf_putc(b, ']');
}

/* put_usd_json appends dollars rounded to micro-dollars, as the manifest's cost does. */
static void put_usd_json(struct buf *b, double v)
{
	buf_printf(b, "%.6f", v);
}

/* put_groups_json appends the quoted groups as arrays of {uri, line}. */
static void put_groups_json(struct buf *b, const struct advice *a,
			    const struct job_input *inputs)
{
	size_t shown = 0;

	buf_putc(b, '[');
	for (size_t i = 0; i < a->n && shown < ADVICE_GROUPS_SHOWN; i++) {
		struct example ex[ADVICE_EXAMPLES];
		size_t k = 0;

		if (a->recs[i].dup_of != i)
			continue;
		ex[k++] = (struct example){a->recs[i].input, a->recs[i].line};
		for (size_t j = i + 1; j < a->n && k < ADVICE_EXAMPLES; j++)
			if (a->recs[j].dup_of == i)
				ex[k++] = (struct example){a->recs[j].input, a->recs[j].line};
		if (shown++)
			buf_putc(b, ',');
		put_examples_json(b, inputs, ex, k);
	}
	buf_putc(b, ']');
}

void advice_put_json(const struct advice *a, const struct job_input *inputs, struct buf *b)
{
	bool first = true;

	if (!a->finished) {
		buf_puts(b, "null");
		return;
	}
	buf_printf(b, "{\"records\":%llu,\"recordsSeen\":%llu,\"modelId\":",
		   (unsigned long long)a->n, (unsigned long long)a->seen);
	buf_put_json_cstr(b, a->model->id);
	buf_puts(b, ",\"maxTokens\":");
	if (a->typical && a->n)
		put_spread_json(b, &a->mt);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"promptTokens\":");
	if (a->n)
		put_spread_json(b, &a->pt);
	else
		buf_puts(b, "null");
	buf_printf(b, ",\"typicalAnswerTokens\":%lld,\"maxTokensCeiling\":%lld,\"flags\":[",
		   (long long)a->typical, (long long)a->ceiling);
	if (a->mt_flagged) {
		buf_printf(b, "{\"kind\":\"max_tokens\",\"records\":%llu,\"overCeiling\":%llu,"
			       "\"overMedian\":%llu,\"ceiling\":%lld,\"medianLimit\":%lld,"
			       "\"batchCostAbove\":",
			   (unsigned long long)a->mt_flagged, (unsigned long long)a->mt_over_ceiling,
			   (unsigned long long)a->mt_over_median, (long long)a->ceiling,
			   (long long)a->median_limit);
		put_usd_json(b, a->mt_cost_above);
		buf_puts(b, ",\"examples\":");
		put_examples_json(b, inputs, a->mt_ex, a->n_mt_ex);
		buf_puts(b, ",\"action\":\"lower max_tokens\",\"message\":");
		buf_put_json_cstr(b, a->mt_msg);
		buf_putc(b, '}');
		first = false;
	}
	if (a->dup_groups) {
		buf_printf(b, "%s{\"kind\":\"duplicates\",\"groups\":%llu,\"records\":%llu,"
			       "\"batchCost\":",
			   first ? "" : ",", (unsigned long long)a->dup_groups,
			   (unsigned long long)a->dup_records);
		put_usd_json(b, a->dup_cost);
		buf_puts(b, ",\"examples\":");
		put_groups_json(b, a, inputs);
		buf_puts(b, ",\"action\":\"drop the duplicates\",\"message\":");
		buf_put_json_cstr(b, a->dup_msg);
		buf_putc(b, '}');
		first = false;
	}
	if (a->ws_records) {
		buf_printf(b, "%s{\"kind\":\"whitespace\",\"records\":%llu,\"bytesSaved\":%llu,"
			       "\"tokensSaved\":%lld,\"batchCost\":",
			   first ? "" : ",", (unsigned long long)a->ws_records,
			   (unsigned long long)a->ws_bytes, (long long)a->ws_tokens);
		put_usd_json(b, batch_cost(a, (double)a->ws_tokens, 0));
		buf_puts(b, ",\"examples\":");
		put_examples_json(b, inputs, a->ws_ex, a->n_ws_ex);
		buf_puts(b, ",\"action\":\"run barge compact\",\"message\":");
		buf_put_json_cstr(b, a->ws_msg);
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
}
