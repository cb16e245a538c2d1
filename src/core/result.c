/* result.c - a record's result: output lines and the per-chunk journal. */
#include "core/result.h"
#include "util/ids.h"
#include "util/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOURNAL_LINE_MAX ((size_t)256 << 20)

void result_clear(struct result *r)
{
	free(r->out);
	memset(r, 0, sizeof(*r));
}

void result_count(struct job_counts *c, const struct result *r)
{
	c->processed++;
	if (r->ok)
		c->success++;
	else
		c->errors++;
	c->input_tokens += r->input_tokens;
	c->output_tokens += r->output_tokens;
	c->retries += r->retries;
	c->throttles += r->throttles;
}

struct spans {
	const char *id, *mi;
	size_t id_len, mi_len;
};

static int on_span(const struct json_span *m, void *ud)
{
	struct spans *s = ud;

	if (json_span_key_is(m, "recordId") && m->val_len && m->val[0] == '"') {
		s->id = m->val;
		s->id_len = m->val_len;
	} else if (json_span_key_is(m, "modelInput")) {
		s->mi = m->val;
		s->mi_len = m->val_len;
	}
	return 0;
}

/*
 * line_spans finds recordId and modelInput in a line. A successful record's
 * line was valid when it was sent; an error record's line may not be JSON at
 * all, so it is checked first.
 */
static void line_spans(const char *line, size_t len, bool trusted, struct spans *s)
{
	memset(s, 0, sizeof(*s));
	if (!trusted) {
		json_object *o = NULL;
		struct err e;
		bool obj;

		if (json_parse(line, len, &o, &e))
			return;
		obj = json_is_type(o, json_type_object);
		json_object_put(o);
		if (!obj)
			return;
	}
	json_scan_object(line, len, on_span, s);
}

int result_put_line(struct buf *b, const char *line, size_t len, const char *job_id,
		    unsigned input_idx, int64_t rec_idx, const struct result *r)
{
	struct spans s;

	line_spans(line, len, r->ok, &s);
	buf_puts(b, "{\"recordId\":");
	if (s.id) {
		buf_append(b, s.id, s.id_len);
	} else {
		char gen[IDS_RECORD_LEN + 1];

		ids_record(job_id, input_idx, (uint64_t)rec_idx, gen);
		buf_put_json_cstr(b, gen);
	}
	buf_puts(b, ",\"modelInput\":");
	if (s.mi)
		buf_append(b, s.mi, s.mi_len);
	else
		buf_puts(b, "null");
	if (r->ok) {
		buf_puts(b, ",\"modelOutput\":");
		buf_append(b, r->out, r->out_len);
	} else {
		buf_printf(b, ",\"error\":{\"errorCode\":%d,\"errorMessage\":", r->code);
		buf_put_json_str(b, r->out ? r->out : "", r->out ? r->out_len : 0);
		buf_putc(b, '}');
	}
	return buf_puts(b, "}\n");
}

int result_put_journal(struct buf *b, int64_t k, const struct result *r)
{
	/* One entry per record: plain appends, since printf costs here. */
	buf_puts(b, "{\"k\":");
	buf_put_i64(b, k);
	buf_puts(b, r->ok ? ",\"ok\":1,\"code\":" : ",\"ok\":0,\"code\":");
	buf_put_i64(b, r->code);
	buf_puts(b, ",\"it\":");
	buf_put_i64(b, r->input_tokens);
	buf_puts(b, ",\"ot\":");
	buf_put_i64(b, r->output_tokens);
	buf_puts(b, ",\"r\":");
	buf_put_i64(b, r->retries);
	buf_puts(b, ",\"t\":");
	buf_put_i64(b, r->throttles);
	buf_puts(b, ",\"o\":");
	if (r->ok)
		buf_append(b, r->out, r->out_len);
	else
		buf_put_json_str(b, r->out ? r->out : "", r->out ? r->out_len : 0);
	return buf_puts(b, "}\n");
}

struct jspan {
	const char *v;
	size_t n;
};

static int on_o(const struct json_span *m, void *ud)
{
	struct jspan *o = ud;

	if (json_span_key_is(m, "o")) {
		o->v = m->val;
		o->n = m->val_len;
		return 1;
	}
	return 0;
}

/* load_entry fills v from one journal line; returns 0 or ERR_INVAL. */
static int load_entry(const char *line, size_t len, struct result *v, int64_t n)
{
	json_object *o = NULL, *msg;
	struct jspan span = {0};
	int64_t k, ok, code, it, ot, r, t;
	struct err e;
	struct result *x;

	if (json_parse(line, len, &o, &e))
		return ERR_INVAL;
	if (!json_get_int64(o, "k", &k) || !json_get_int64(o, "ok", &ok) ||
	    !json_get_int64(o, "code", &code) || !json_get_int64(o, "it", &it) ||
	    !json_get_int64(o, "ot", &ot) || !json_get_int64(o, "r", &r) ||
	    !json_get_int64(o, "t", &t) || !json_object_object_get_ex(o, "o", &msg)) {
		json_object_put(o);
		return ERR_INVAL;
	}
	if (k < 0 || k >= n) {
		json_object_put(o);
		return 0;
	}
	x = &v[k];
	result_clear(x);
	x->done = true;
	x->ok = ok != 0;
	x->code = (int)code;
	x->input_tokens = it;
	x->output_tokens = ot;
	x->retries = (int)r;
	x->throttles = (int)t;
	if (x->ok) {
		/* modelOutput is kept as written, not re-serialized. */
		json_scan_object(line, len, on_o, &span);
		x->out = malloc(span.n + 1);
		if (x->out) {
			memcpy(x->out, span.v, span.n);
			x->out[span.n] = '\0';
			x->out_len = span.n;
		}
	} else {
		const char *s = json_object_get_string(msg);

		x->out = strdup(s ? s : "");
		x->out_len = x->out ? strlen(x->out) : 0;
	}
	json_object_put(o);
	if (!x->out) {
		x->done = false;
		return ERR_NOMEM;
	}
	return 0;
}

int64_t result_load_journal(const char *path, struct result *v, int64_t n, struct err *e)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long good = 0;
	int64_t count = 0;
	int rc = 0;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, ERR_IO, "%s: cannot read journal: %s", path, strerror(errno));
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] != '\n' || (size_t)len > JOURNAL_LINE_MAX)
			break; /* torn by a crash */
		rc = load_entry(line, (size_t)len - 1, v, n);
		if (rc == ERR_NOMEM) {
			free(line);
			fclose(f);
			return err_set(e, ERR_NOMEM, "out of memory reading %s", path);
		}
		if (rc)
			break;
		good = ftell(f);
		count++;
	}
	free(line);
	fclose(f);
	/* Whatever follows the last good entry is a torn write: drop it. */
	if (truncate(path, good) < 0)
		return err_set(e, ERR_IO, "%s: cannot repair journal: %s", path, strerror(errno));
	return count;
}
