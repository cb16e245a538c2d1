/* dialect.c - what the OpenAI and Anthropic batch dialects share: listings and results side by side. */
#include "api/dialect.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"
#include "util/uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool dialect_span_str(const char *line, size_t len, const char *p, char *out, size_t n)
{
	struct json_span s;
	json_object *o = NULL;
	struct err e;
	bool ok;

	if (json_span_at(line, len, p, &s) || json_parse(s.val, s.val_len, &o, &e))
		return false;
	ok = json_is_type(o, json_type_string) && (size_t)json_object_get_string_len(o) < n;
	if (ok)
		memcpy(out, json_object_get_string(o), (size_t)json_object_get_string_len(o) + 1);
	json_object_put(o);
	return ok;
}

int dialect_collect(struct service *svc, const struct account_cfg *a, const char *name_prefix,
		    const char *cursor, bool ascending, size_t want,
		    bool (*live)(struct service *svc, const struct account_cfg *a,
				 const struct job *listed, struct job *out),
		    struct job **out, size_t *n_out, struct err *e)
{
	struct job *got = calloc(want ? want : 1, sizeof(*got));
	char after[IDS_JOB_LEN + 1];
	size_t n = 0;
	int rc = 0;

	if (!got)
		return err_set(e, ERR_NOMEM, "out of memory");
	snprintf(after, sizeof(after), "%s", cursor ? cursor : "");
	while (n < want) {
		struct job_filter f;
		struct job *page = NULL;
		size_t np = 0;

		memset(&f, 0, sizeof(f));
		f.account = a->name;
		f.status = -1;
		f.name_contains = name_prefix;
		f.ascending = ascending;
		f.after_id = after[0] ? after : NULL;
		f.limit = want;
		if ((rc = store_job_list(svc->st, &f, &page, &np, e)))
			break;
		/* Deleted batches and same-named jobs of other dialects are passed over. */
		for (size_t i = 0; i < np && n < want; i++) {
			if (live(svc, a, &page[i], &got[n]))
				n++;
		}
		if (np)
			snprintf(after, sizeof(after), "%s", page[np - 1].id);
		store_jobs_free(page, np);
		if (np < want)
			break;
	}
	if (rc) {
		store_jobs_free(got, n);
		return rc;
	}
	*out = got;
	*n_out = n;
	return 0;
}

int dialect_read_small(struct objects *o, const char *uri, struct buf *b, struct err *e)
{
	struct obj_reader *r = NULL;
	struct obj_stat st;
	char tmp[16384];
	size_t got;
	int rc;

	if ((rc = objects_stat(o, uri, &st, e)))
		return rc == ERR_NOTFOUND ? err_set(e, ERR_NOTFOUND, "%s does not exist", uri) : rc;
	if ((rc = objects_open_read(o, uri, 0, 0, &r, e)))
		return rc;
	while (!(rc = obj_reader_read(r, tmp, sizeof(tmp), &got, e)) && got) {
		if (buf_append(b, tmp, got)) {
			rc = err_set(e, ERR_LIMIT, "%s is larger than %zu bytes", uri, b->max);
			break;
		}
	}
	obj_reader_close(r);
	return rc;
}

void dialect_note_cancel(struct objects *o, const char *dir)
{
	char *uri = objects_join(dir, "cancel_initiated_at"), text[32];
	int n = snprintf(text, sizeof(text), "%lld", (long long)time_now_ms());
	struct err e;

	if (uri && objects_put(o, uri, text, (size_t)n, &e))
		log_warn("%s: cannot keep the time of a cancel: %s", dir, e.msg);
	free(uri);
}

int64_t dialect_cancel_ms(struct objects *o, const char *dir, const struct job *j)
{
	char *uri;
	struct buf b;
	struct err e;
	int64_t ms = 0;

	if (j->status != JS_STOPPING && j->status != JS_STOPPED)
		return 0;
	uri = objects_join(dir, "cancel_initiated_at");
	buf_init(&b, 32);
	if (uri && dialect_read_small(o, uri, &b, &e) == 0 && b.len)
		ms = strtoll(b.data, NULL, 10);
	buf_free(&b);
	free(uri);
	return ms > 0 ? ms : j->modified_ms;
}

int dialect_query_param(const char *query, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);

	for (const char *q = query; *q;) {
		size_t len = strcspn(q, "&");

		if (len >= kl && !strncmp(q, key, kl) && (len == kl || q[kl] == '=')) {
			if (len == kl || uri_pct_decode(q + kl + 1, len - kl - 1, out, n, true))
				return ERR_INVAL;
			return 1;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return 0;
}

void dialect_reverse(struct job *v, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		struct job t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

int dialect_pairs_open(struct dialect_pairs *P, struct objects *o, const char *in_uri,
		       const char *out_uri, size_t max_line, struct err *e)
{
	struct err oe;
	int rc;

	memset(P, 0, sizeof(*P));
	if ((rc = jsonl_open(&P->in, o, in_uri, 0, 0, 1, max_line, e)))
		return rc;
	P->in_open = true;
	/* An output line adds the backend's answer to the request: it needs a cap of its own. */
	P->out_open = jsonl_open(&P->out, o, out_uri, 0, 0, 1, DIALECT_OUT_LINE_MAX, &oe) == 0;
	return 0;
}

int dialect_pairs_next(struct dialect_pairs *P, char cid[DIALECT_ID_MAX + 1], const char **line,
		       size_t *len, struct err *e)
{
	struct jsonl_line il;
	int rc;

	do {
		if ((rc = jsonl_next(&P->in, &il, e)) <= 0)
			return rc;
	} while (!dialect_span_str(il.data, il.len, "/recordId", cid, DIALECT_ID_MAX + 1));
	if (P->out_open && !P->have_out) {
		if ((rc = jsonl_next(&P->out, &P->ol, e)) < 0)
			return rc;
		/* Skipping it would report a request that ran as one that never did. */
		if (rc == 1 && P->ol.too_long)
			return err_set(e, ERR_LIMIT, "line %llu of the job's output is longer than %zu bytes",
				       (unsigned long long)P->ol.line_no, (size_t)DIALECT_OUT_LINE_MAX);
		P->have_out = rc == 1 && dialect_span_str(P->ol.data, P->ol.len, "/recordId", P->oid,
							  sizeof(P->oid));
	}
	*line = NULL;
	*len = 0;
	if (P->have_out && !strcmp(P->oid, cid)) {
		*line = P->ol.data;
		*len = P->ol.len;
		P->have_out = false;
	}
	return 1;
}

void dialect_pairs_close(struct dialect_pairs *P)
{
	if (P->in_open)
		jsonl_close(&P->in);
	if (P->out_open)
		jsonl_close(&P->out);
	P->in_open = P->out_open = false;
}
