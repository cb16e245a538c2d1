/* config.c - the INI configuration, merged over the built-in catalog. */
#include "util/config.h"
#include "core/catalog.h"
#include "formats/format.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parse_ctx {
	struct config *c;
	struct err *e;
	int failed;
	FILE *f;
	int line;                          /* the line inih is handling */
	int backend_line[CONFIG_MAX_ENTRIES]; /* where each model named its backend */
};

const char *config_kind_name(enum backend_kind k)
{
	switch (k) {
	case BK_SIM: return "sim";
	case BK_OPENAI: return "openai";
	case BK_ANTHROPIC: return "anthropic";
	case BK_BEDROCK: return "bedrock";
	}
	return "?";
}

void config_backend_defaults(struct backend_cfg *b, enum backend_kind k)
{
	memset(b, 0, sizeof(*b));
	b->kind = k;
	b->max_concurrency = k == BK_SIM ? 256 : 64;
	b->timeout_s = 600;
	b->max_attempts = 5;
	b->retry_base_ms = 500;
	b->retry_max_ms = 30000;
	b->max_down_s = 900;
	b->max_response_bytes = (int64_t)64 << 20;
	b->fail_types = SIMF_429 | SIMF_500 | SIMF_503 | SIMF_TIMEOUT | SIMF_RESET | SIMF_MALFORMED;
	b->seed = 1;
	b->retry_after_s = 1;
}

static void limits_defaults(struct limits_cfg *l)
{
	l->max_file_bytes = 209715200;
	l->max_records_per_job = 50000;
	l->min_records_per_job = 1;
	l->chunk_records = 256;
	l->max_line_bytes = 8388608;
}

static void backend_free(struct backend_cfg *b)
{
	free(b->base_url);
	free(b->api_key);
	free(b->anthropic_version);
	free(b->region);
	free(b->access_key_id);
	free(b->secret_access_key);
	free(b->session_token);
}

static void account_free(struct account_cfg *a)
{
	free(a->access_key_id);
	free(a->secret_access_key);
	free(a->api_key);
	for (size_t i = 0; i < a->n_allowed_uris; i++)
		free(a->allowed_uris[i]);
	free(a->allowed_uris);
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < c->n_backends; i++)
		backend_free(&c->backends[i]);
	for (size_t i = 0; i < c->n_accounts; i++)
		account_free(&c->accounts[i]);
	for (size_t i = 0; i < c->n_webhooks; i++) {
		free(c->webhooks[i].url);
		free(c->webhooks[i].secret);
	}
	free(c->webhooks);
	free(c->backends);
	free(c->models);
	free(c->accounts);
	free(c->path);
	free(c->server.listen);
	free(c->server.data);
	free(c->server.store);
	free(c->server.batches);
	free(c->server.region);
	free(c->s3.endpoint);
	free(c->s3.region);
	free(c->s3.access_key_id);
	free(c->s3.secret_access_key);
	free(c->s3.session_token);
	free(c->s3.profile);
	memset(c, 0, sizeof(*c));
}

const struct model_cfg *config_find_model(const struct config *c, const char *id)
{
	for (size_t i = 0; i < c->n_models; i++) {
		if (!strcmp(c->models[i].id, id))
			return &c->models[i];
	}
	return NULL;
}

const struct webhook_cfg *config_find_webhook(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->n_webhooks; i++) {
		if (!strcmp(c->webhooks[i].name, name))
			return &c->webhooks[i];
	}
	return NULL;
}

const struct backend_cfg *config_find_backend(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->n_backends; i++) {
		if (!strcmp(c->backends[i].name, name))
			return &c->backends[i];
	}
	return NULL;
}

/* grow makes room for one more element in a table capped at CONFIG_MAX_ENTRIES. */
static void *grow(void *v, size_t n, size_t size, struct err *e)
{
	void *nv;

	if (n >= CONFIG_MAX_ENTRIES) {
		err_set(e, ERR_LIMIT, "more than %d entries of one kind", CONFIG_MAX_ENTRIES);
		return NULL;
	}
	nv = realloc(v, (n + 1) * size);
	if (!nv)
		err_set(e, ERR_NOMEM, "out of memory");
	return nv;
}

static struct backend_cfg *backend_get(struct config *c, const char *name, struct err *e)
{
	struct backend_cfg *b, *nv;

	for (size_t i = 0; i < c->n_backends; i++) {
		if (!strcmp(c->backends[i].name, name))
			return &c->backends[i];
	}
	if (strlen(name) >= CONFIG_NAME_MAX || !*name) {
		err_set(e, ERR_CONFIG, "backend name \"%s\" is empty or too long", name);
		return NULL;
	}
	nv = grow(c->backends, c->n_backends, sizeof(*nv), e);
	if (!nv)
		return NULL;
	c->backends = nv;
	b = &c->backends[c->n_backends++];
	config_backend_defaults(b, BK_SIM);
	strcpy(b->name, name);
	return b;
}

static struct model_cfg *model_get(struct config *c, const char *id, struct err *e)
{
	struct model_cfg *m, *nv;

	for (size_t i = 0; i < c->n_models; i++) {
		if (!strcmp(c->models[i].id, id)) {
			c->models[i].builtin = false;
			return &c->models[i];
		}
	}
	if (strlen(id) >= CONFIG_NAME_MAX || !*id) {
		err_set(e, ERR_CONFIG, "model id \"%s\" is empty or too long", id);
		return NULL;
	}
	nv = grow(c->models, c->n_models, sizeof(*nv), e);
	if (!nv)
		return NULL;
	c->models = nv;
	m = &c->models[c->n_models++];
	memset(m, 0, sizeof(*m));
	strcpy(m->id, id);
	strcpy(m->backend, "sim");
	m->batch_discount = 0.5;
	return m;
}

static struct account_cfg *account_get(struct config *c, const char *name, struct err *e)
{
	struct account_cfg *a, *nv;

	for (size_t i = 0; i < c->n_accounts; i++) {
		if (!strcmp(c->accounts[i].name, name))
			return &c->accounts[i];
	}
	if (strlen(name) >= CONFIG_NAME_MAX || !*name) {
		err_set(e, ERR_CONFIG, "account name \"%s\" is empty or too long", name);
		return NULL;
	}
	nv = grow(c->accounts, c->n_accounts, sizeof(*nv), e);
	if (!nv)
		return NULL;
	c->accounts = nv;
	a = &c->accounts[c->n_accounts++];
	memset(a, 0, sizeof(*a));
	strcpy(a->name, name);
	strcpy(a->account_id, "000000000000");
	a->max_running_jobs_per_model = 5;
	a->max_queued_jobs_per_model = 20;
	return a;
}

static int set_str(char **dst, const char *v, struct err *e)
{
	char *s = strdup(v);

	if (!s)
		return err_set(e, ERR_NOMEM, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
}

/*
 * set_secret handles "key = literal" and "key_env = VAR". A variable that is
 * not set leaves the secret empty: the code that needs it says so, naming
 * the variable, only when it is actually used.
 */
static int set_secret(char **dst, const char *name, const char *key, const char *v,
		      struct err *e, int *matched)
{
	size_t kl = strlen(key);

	*matched = 0;
	if (!strcmp(name, key)) {
		*matched = 1;
		return set_str(dst, v, e);
	}
	if (!strncmp(name, key, kl) && !strcmp(name + kl, "_env")) {
		const char *ev = getenv(v);

		*matched = 1;
		if (!ev || !*ev) {
			free(*dst);
			*dst = NULL;
			return 0;
		}
		return set_str(dst, ev, e);
	}
	return 0;
}

static int parse_int(const char *v, long long lo, long long hi, long long *out, struct err *e)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end)
		return err_set(e, ERR_CONFIG, "\"%s\" is not a whole number", v);
	if (x < lo || x > hi)
		return err_set(e, ERR_CONFIG, "%lld is out of range %lld..%lld", x, lo, hi);
	*out = x;
	return 0;
}

static int parse_double(const char *v, double lo, double hi, double *out, struct err *e)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(x))
		return err_set(e, ERR_CONFIG, "\"%s\" is not a number", v);
	if (x < lo || x > hi)
		return err_set(e, ERR_CONFIG, "%g is out of range %g..%g", x, lo, hi);
	*out = x;
	return 0;
}

static int parse_bool(const char *v, bool *out, struct err *e)
{
	if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
		*out = false;
		return 0;
	}
	return err_set(e, ERR_CONFIG, "\"%s\" is not true or false", v);
}

int config_parse_fail_types(const char *s, unsigned *bits, struct err *e)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{"429", SIMF_429},         {"500", SIMF_500},     {"503", SIMF_503},
		{"timeout", SIMF_TIMEOUT}, {"reset", SIMF_RESET}, {"malformed", SIMF_MALFORMED},
		{"truncated", SIMF_TRUNCATED},
	};
	char tok[32];
	unsigned out = 0;

	while (*s) {
		size_t n = strcspn(s, ", ");
		bool found = false;

		if (n == 0) {
			s++;
			continue;
		}
		if (n >= sizeof(tok))
			return err_set(e, ERR_CONFIG, "unknown fault type \"%.*s\"", (int)n, s);
		memcpy(tok, s, n);
		tok[n] = '\0';
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (!strcmp(tok, names[i].name)) {
				out |= names[i].bit;
				found = true;
			}
		}
		if (!found)
			return err_set(e, ERR_CONFIG,
				       "unknown fault type \"%s\" (use 429, 500, 503, timeout, reset, "
				       "malformed, truncated)",
				       tok);
		s += n;
	}
	*bits = out;
	return 0;
}

static struct webhook_cfg *webhook_get(struct config *c, const char *name, struct err *e)
{
	struct webhook_cfg *w, *nv;

	for (size_t i = 0; i < c->n_webhooks; i++) {
		if (!strcmp(c->webhooks[i].name, name))
			return &c->webhooks[i];
	}
	if (strlen(name) >= CONFIG_NAME_MAX || !*name) {
		err_set(e, ERR_CONFIG, "webhook name \"%s\" is empty or too long", name);
		return NULL;
	}
	nv = grow(c->webhooks, c->n_webhooks, sizeof(*nv), e);
	if (!nv)
		return NULL;
	c->webhooks = nv;
	w = &c->webhooks[c->n_webhooks++];
	memset(w, 0, sizeof(*w));
	strcpy(w->name, name);
	w->max_attempts = 10;
	return w;
}

static int webhook_key(struct webhook_cfg *w, const char *k, const char *v, struct err *e)
{
	long long n;
	int rc, m;

	if (!strcmp(k, "url")) {
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
			return err_set(e, ERR_CONFIG, "url must start with http:// or https://");
		return set_str(&w->url, v, e);
	}
	if ((rc = set_secret(&w->secret, k, "secret", v, e, &m)) || m)
		return rc;
	if (!strcmp(k, "max_attempts")) {
		rc = parse_int(v, 1, 100, &n, e);
		if (!rc)
			w->max_attempts = (int)n;
		return rc;
	}
	return err_set(e, ERR_CONFIG, "unknown key \"%s\"", k);
}

static int backend_key(struct backend_cfg *b, const char *k, const char *v, struct err *e)
{
	long long n;
	int rc, m;

	if (!strcmp(k, "kind")) {
		if (!strcmp(v, "sim"))
			b->kind = BK_SIM;
		else if (!strcmp(v, "openai"))
			b->kind = BK_OPENAI;
		else if (!strcmp(v, "anthropic"))
			b->kind = BK_ANTHROPIC;
		else if (!strcmp(v, "bedrock"))
			b->kind = BK_BEDROCK;
		else
			return err_set(e, ERR_CONFIG,
				       "kind \"%s\" is not one of sim, openai, anthropic, bedrock", v);
		return 0;
	}
	if (!strcmp(k, "base_url") || !strcmp(k, "endpoint"))
		return set_str(&b->base_url, v, e);
	if (!strcmp(k, "region"))
		return set_str(&b->region, v, e);
	if (!strcmp(k, "anthropic_version"))
		return set_str(&b->anthropic_version, v, e);
	if ((rc = set_secret(&b->api_key, k, "api_key", v, e, &m)) || m)
		return rc;
	if ((rc = set_secret(&b->access_key_id, k, "access_key_id", v, e, &m)) || m)
		return rc;
	if ((rc = set_secret(&b->secret_access_key, k, "secret_access_key", v, e, &m)) || m)
		return rc;
	if ((rc = set_secret(&b->session_token, k, "session_token", v, e, &m)) || m)
		return rc;
	if (!strcmp(k, "timeout_s"))
		return parse_double(v, 0.001, 86400, &b->timeout_s, e);
	if (!strcmp(k, "fail_rate"))
		return parse_double(v, 0, 1, &b->fail_rate, e);
	if (!strcmp(k, "fail_types"))
		return config_parse_fail_types(v, &b->fail_types, e);
	{
		static const struct {
			const char *key;
			size_t off;
			long long lo, hi;
		} ints[] = {
			{"max_concurrency", offsetof(struct backend_cfg, max_concurrency), 1, 100000},
			{"requests_per_minute", offsetof(struct backend_cfg, requests_per_minute), 0,
			 100000000},
			{"tokens_per_minute", offsetof(struct backend_cfg, tokens_per_minute), 0,
			 2000000000},
			{"max_attempts", offsetof(struct backend_cfg, max_attempts), 1, 100},
			{"retry_base_ms", offsetof(struct backend_cfg, retry_base_ms), 0, 3600000},
			{"retry_max_ms", offsetof(struct backend_cfg, retry_max_ms), 0, 3600000},
			{"ttft_ms", offsetof(struct backend_cfg, ttft_ms), 0, 3600000},
			{"itl_ms", offsetof(struct backend_cfg, itl_ms), 0, 600000},
			{"max_seqs", offsetof(struct backend_cfg, max_seqs), 0, 1000000},
			{"retry_after_s", offsetof(struct backend_cfg, retry_after_s), 0, 3600},
			{"max_down_s", offsetof(struct backend_cfg, max_down_s), 0, 604800},
			{"output_tokens", offsetof(struct backend_cfg, output_tokens), 0, 1000000},
		};
		for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
			if (strcmp(k, ints[i].key))
				continue;
			rc = parse_int(v, ints[i].lo, ints[i].hi, &n, e);
			if (!rc)
				*(int *)((char *)b + ints[i].off) = (int)n;
			return rc;
		}
	}
	if (!strcmp(k, "max_response_bytes")) {
		rc = parse_int(v, 1024, (long long)1 << 34, &n, e);
		if (!rc)
			b->max_response_bytes = n;
		return rc;
	}
	if (!strcmp(k, "seed")) {
		rc = parse_int(v, 0, INT64_MAX, &n, e);
		if (!rc)
			b->seed = (uint64_t)n;
		return rc;
	}
	return err_set(e, ERR_CONFIG, "unknown key \"%s\"", k);
}

static int model_key(struct model_cfg *m, const char *k, const char *v, struct err *e)
{
	if (!strcmp(k, "family")) {
		if (!family_by_name(v))
			return err_set(e, ERR_CONFIG,
				       "family \"%s\" is unknown (see `barge models` for the families)", v);
		snprintf(m->family, sizeof(m->family), "%s", v);
		return 0;
	}
	if (!strcmp(k, "backend") || !strcmp(k, "upstream_model")) {
		char *dst = k[0] == 'b' ? m->backend : m->upstream;

		if (strlen(v) >= CONFIG_NAME_MAX)
			return err_set(e, ERR_CONFIG, "%s is too long", k);
		strcpy(dst, v);
		return 0;
	}
	if (!strcmp(k, "input_price_per_1k"))
		return parse_double(v, 0, 1e6, &m->input_price_per_1k, e);
	if (!strcmp(k, "output_price_per_1k"))
		return parse_double(v, 0, 1e6, &m->output_price_per_1k, e);
	if (!strcmp(k, "batch_discount"))
		return parse_double(v, 0, 1, &m->batch_discount, e);
	return err_set(e, ERR_CONFIG, "unknown key \"%s\"", k);
}

static int account_key(struct account_cfg *a, const char *k, const char *v, struct err *e)
{
	long long n;
	int rc, m;

	if (!strcmp(k, "account_id")) {
		if (strlen(v) != 12 || strspn(v, "0123456789") != 12)
			return err_set(e, ERR_CONFIG, "account_id must be 12 digits, got \"%s\"", v);
		strcpy(a->account_id, v);
		return 0;
	}
	if ((rc = set_secret(&a->access_key_id, k, "access_key_id", v, e, &m)) || m)
		return rc;
	if ((rc = set_secret(&a->secret_access_key, k, "secret_access_key", v, e, &m)) || m)
		return rc;
	if ((rc = set_secret(&a->api_key, k, "api_key", v, e, &m)) || m)
		return rc;
	if (!strcmp(k, "webhook")) {
		if (strlen(v) >= sizeof(a->webhook))
			return err_set(e, ERR_CONFIG, "webhook name is too long");
		strcpy(a->webhook, v);
		return 0;
	}
	if (!strcmp(k, "allowed_uris")) {
		const char *s = v;

		while (*s) {
			size_t len = strcspn(s, ", ");
			char **nv;

			if (len == 0) {
				s++;
				continue;
			}
			if (a->n_allowed_uris >= 64)
				return err_set(e, ERR_LIMIT, "more than 64 allowed_uris");
			nv = realloc(a->allowed_uris, (a->n_allowed_uris + 1) * sizeof(*nv));
			if (!nv)
				return err_set(e, ERR_NOMEM, "out of memory");
			a->allowed_uris = nv;
			if (!(nv[a->n_allowed_uris] = strndup(s, len)))
				return err_set(e, ERR_NOMEM, "out of memory");
			a->n_allowed_uris++;
			s += len;
		}
		return 0;
	}
	if (!strcmp(k, "max_running_jobs_per_model") || !strcmp(k, "max_queued_jobs_per_model")) {
		rc = parse_int(v, 1, 100000, &n, e);
		if (!rc && k[4] == 'r')
			a->max_running_jobs_per_model = (int)n;
		else if (!rc)
			a->max_queued_jobs_per_model = (int)n;
		return rc;
	}
	return err_set(e, ERR_CONFIG, "unknown key \"%s\"", k);
}

static int limits_key(struct limits_cfg *l, const char *k, const char *v, struct err *e)
{
	long long n = 0;
	int rc;

	if (!strcmp(k, "max_file_bytes")) {
		if (!(rc = parse_int(v, 1, INT64_MAX, &n, e)))
			l->max_file_bytes = (uint64_t)n;
	} else if (!strcmp(k, "max_records_per_job")) {
		if (!(rc = parse_int(v, 1, 100000000, &n, e)))
			l->max_records_per_job = (uint64_t)n;
	} else if (!strcmp(k, "min_records_per_job")) {
		if (!(rc = parse_int(v, 0, 100000000, &n, e)))
			l->min_records_per_job = (uint64_t)n;
	} else if (!strcmp(k, "chunk_records")) {
		if (!(rc = parse_int(v, 1, 100000, &n, e)))
			l->chunk_records = (unsigned)n;
	} else if (!strcmp(k, "max_line_bytes")) {
		if (!(rc = parse_int(v, 64, (long long)1 << 30, &n, e)))
			l->max_line_bytes = (size_t)n;
	} else {
		return err_set(e, ERR_CONFIG, "unknown key \"%s\"", k);
	}
	return rc;
}

static int server_key(struct server_cfg *s, const char *k, const char *v, struct err *e)
{
	long long n;
	int rc;

	if (!strcmp(k, "listen"))
		return set_str(&s->listen, v, e);
	if (!strcmp(k, "data"))
		return set_str(&s->data, v, e);
	if (!strcmp(k, "store"))
		return set_str(&s->store, v, e);
	if (!strcmp(k, "batches"))
		return set_str(&s->batches, v, e);
	if (!strcmp(k, "region"))
		return set_str(&s->region, v, e);
	if (!strcmp(k, "hour_seconds")) {
		rc = parse_int(v, 1, 3600, &n, e);
		if (!rc)
			s->hour_seconds = (int)n;
		return rc;
	}
	if (!strcmp(k, "runners")) {
		/* 0 runners: an API and lifecycle process whose work `barge worker`s do. */
		rc = parse_int(v, 0, 64, &n, e);
		if (!rc)
			s->runners = (int)n;
		return rc;
	}
	if (!strcmp(k, "lease_seconds")) {
		rc = parse_int(v, 2, 3600, &n, e);
		if (!rc)
			s->lease_seconds = (int)n;
		return rc;
	}
	return err_set(e, ERR_CONFIG, "unknown key \"%s\"", k);
}

static int s3_key(struct s3_cfg *s, const char *k, const char *v, struct err *e)
{
	int rc, m;

	if (!strcmp(k, "endpoint"))
		return set_str(&s->endpoint, v, e);
	if (!strcmp(k, "region"))
		return set_str(&s->region, v, e);
	if (!strcmp(k, "profile"))
		return set_str(&s->profile, v, e);
	if (!strcmp(k, "path_style"))
		return parse_bool(v, &s->path_style, e);
	if ((rc = set_secret(&s->access_key_id, k, "access_key_id", v, e, &m)) || m)
		return rc;
	if ((rc = set_secret(&s->secret_access_key, k, "secret_access_key", v, e, &m)) || m)
		return rc;
	if ((rc = set_secret(&s->session_token, k, "session_token", v, e, &m)) || m)
		return rc;
	return err_set(e, ERR_CONFIG, "unknown key \"%s\"", k);
}

/* on_ini is inih's callback: it returns 0 (stop) after recording an error. */
static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	struct config *c = p->c;
	int rc;

	if (p->failed)
		return 1;
	if (!strncmp(section, "backend.", 8)) {
		struct backend_cfg *b = backend_get(c, section + 8, p->e);

		rc = b ? backend_key(b, name, value, p->e) : p->e->code;
	} else if (!strncmp(section, "model.", 6)) {
		struct model_cfg *m = model_get(c, section + 6, p->e);

		rc = m ? model_key(m, name, value, p->e) : p->e->code;
		if (!rc && !strcmp(name, "backend"))
			p->backend_line[m - c->models] = p->line;
	} else if (!strncmp(section, "account.", 8)) {
		struct account_cfg *a = account_get(c, section + 8, p->e);

		rc = a ? account_key(a, name, value, p->e) : p->e->code;
	} else if (!strncmp(section, "webhook.", 8)) {
		struct webhook_cfg *w = webhook_get(c, section + 8, p->e);

		rc = w ? webhook_key(w, name, value, p->e) : p->e->code;
	} else if (!strcmp(section, "limits")) {
		rc = limits_key(&c->limits, name, value, p->e);
	} else if (!strcmp(section, "server")) {
		rc = server_key(&c->server, name, value, p->e);
	} else if (!strcmp(section, "storage.s3")) {
		rc = s3_key(&c->s3, name, value, p->e);
	} else {
		rc = err_set(p->e, ERR_CONFIG,
			     "unknown section [%s] (sections: server, limits, storage.s3, "
			     "account.NAME, backend.NAME, model.ID, webhook.NAME)",
			     section);
	}
	if (rc) {
		err_prefix(p->e, "[%s] %s", section, name);
		p->failed = 1;
		return 0;
	}
	return 1;
}

/*
 * check_models makes sure every model names a known family and backend,
 * and every account a configured webhook, which can only be known once the
 * whole file is read.
 */
static int check_models(struct config *c, const struct parse_ctx *p, struct err *e)
{
	for (size_t i = 0; i < c->n_accounts; i++) {
		if (c->accounts[i].webhook[0] && !config_find_webhook(c, c->accounts[i].webhook))
			return err_set(e, ERR_CONFIG,
				       "%s: [account.%s] webhook: \"%s\" is not configured (add a "
				       "[webhook.%s] section)",
				       c->path, c->accounts[i].name, c->accounts[i].webhook,
				       c->accounts[i].webhook);
	}
	for (size_t i = 0; i < c->n_webhooks; i++) {
		if (!c->webhooks[i].url)
			return err_set(e, ERR_CONFIG, "%s: [webhook.%s] has no url", c->path,
				       c->webhooks[i].name);
	}
	for (size_t i = 0; i < c->n_models; i++) {
		struct model_cfg *m = &c->models[i];

		if (!m->family[0])
			return err_set(e, ERR_CONFIG, "%s: [model.%s] has no family (add family = ...)",
				       c->path, m->id);
		if (!config_find_backend(c, m->backend))
			return err_set(e, ERR_CONFIG,
				       "%s:%d: [model.%s] backend: \"%s\" is not configured (add a "
				       "[backend.%s] section)",
				       c->path, p->backend_line[i], m->id, m->backend, m->backend);
		if (!m->upstream[0])
			snprintf(m->upstream, sizeof(m->upstream), "%s", m->id);
	}
	return 0;
}

static int defaults(struct config *c, struct err *e)
{
	const struct model_cfg *cat;
	size_t n;
	struct backend_cfg *sim;

	memset(c, 0, sizeof(*c));
	limits_defaults(&c->limits);
	c->server.runners = 2;
	c->server.lease_seconds = 60;
	c->s3.path_style = true;
	if (set_str(&c->server.listen, "127.0.0.1:8080", e) ||
	    set_str(&c->server.data, "./barge-data", e) ||
	    set_str(&c->server.region, "us-east-1", e))
		return e->code;
	sim = backend_get(c, "sim", e);
	if (!sim)
		return e->code;
	cat = catalog_models(&n);
	c->models = calloc(n, sizeof(*c->models));
	if (!c->models)
		return err_set(e, ERR_NOMEM, "out of memory");
	memcpy(c->models, cat, n * sizeof(*cat));
	c->n_models = n;
	return 0;
}

/*
 * read_line feeds inih one line at a time and counts them. inih's lines are
 * short (num bytes); a longer line would be split into nonsense, so it is
 * refused with advice instead.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	char *s = fgets(str, num, p->f);
	size_t n;
	int c;

	if (!s)
		return NULL;
	p->line++;
	n = strlen(s);
	if (n + 1 < (size_t)num || s[n - 1] == '\n' || p->failed)
		return s;
	while ((c = fgetc(p->f)) != EOF && c != '\n')
		;
	if (c == EOF && n + 1 < (size_t)num)
		return s;
	err_set(p->e, ERR_CONFIG,
		"%s:%d: the line is longer than %d characters; split a long list over several "
		"lines of the same key",
		p->c->path, p->line, num - 2);
	p->failed = 2;
	s[0] = '\0';
	return s;
}

int config_load(struct config *c, const char *path, struct err *e)
{
	struct parse_ctx p;
	FILE *f;
	int line, rc;

	memset(&p, 0, sizeof(p));
	p.c = c;
	p.e = e;
	rc = defaults(c, e);
	if (rc)
		return rc;
	if (!path)
		return 0;
	if (set_str(&c->path, path, e))
		return e->code;
	f = fopen(path, "r");
	if (!f)
		return err_set(e, ERR_CONFIG, "cannot read configuration %s: %s", path,
			       strerror(errno));
	p.f = f;
	line = ini_parse_stream(read_line, &p, on_ini, &p);
	fclose(f);
	if (p.failed == 2)
		return ERR_CONFIG;
	if (p.failed) {
		err_prefix(e, "%s:%d", path, line);
		return ERR_CONFIG;
	}
	if (line != 0)
		return err_set(e, ERR_CONFIG, "%s:%d: not a valid INI line", path, line);
	return check_models(c, &p, e);
}
