/* bedrock.c - the bedrock backend: Bedrock runtime InvokeModel and Converse, SigV4 signed. */
#include "backends/http.h"
#include "util/awscreds.h"
#include "util/buf.h"
#include "util/sigv4.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bedrock_state {
	struct aws_creds creds;
	char region[64];
	char host[512];  /* the Host header, exactly as signed */
	struct sigv4_signed sig;
	struct buf path;
};

/* host_of copies the authority of URL base (host[:port]) into out. */
static int host_of(const char *base, char *out, size_t n)
{
	const char *p = strstr(base, "://");
	size_t len;

	if (!p)
		return -1;
	p += 3;
	len = strcspn(p, "/?#");
	if (len == 0 || len >= n)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

static int bedrock_open(struct ebackend *b, struct curl_slist **headers, struct err *e)
{
	struct bedrock_state *s = calloc(1, sizeof(*s));
	const struct backend_cfg *cfg = b->cfg;
	int rc;

	(void)headers;
	if (!s)
		return err_set(e, ERR_NOMEM, "out of memory");
	http_set_dialect_state(b, s);
	sigv4_signed_init(&s->sig);
	buf_init(&s->path, 4096);
	snprintf(s->region, sizeof(s->region), "%s", cfg->region ? cfg->region : "us-east-1");
	rc = aws_creds_resolve(cfg->access_key_id, cfg->secret_access_key, cfg->session_token,
			       NULL, &s->creds, e);
	if (rc) {
		err_prefix(e, "backend %s (kind bedrock)", cfg->name);
		return rc;
	}
	return 0;
}

static void bedrock_close(struct ebackend *b)
{
	struct bedrock_state *s = http_dialect_state(b);

	if (!s)
		return;
	sigv4_signed_free(&s->sig);
	buf_free(&s->path);
	/* Do not leave the secret in freed memory. */
	memset(&s->creds, 0, sizeof(s->creds));
	free(s);
	http_set_dialect_state(b, NULL);
}

/*
 * bedrock_prepare builds POST /model/{id}/invoke (or /converse), the model
 * id percent-encoded once as the AWS SDKs send it (":" becomes %3A), and
 * signs it: the signer encodes the path once more for the canonical request.
 */
static int bedrock_prepare(struct ebackend *b, const char *base, struct call *c, char **url,
			   struct curl_slist **hdrs, struct err *e)
{
	struct bedrock_state *s = http_dialect_state(b);
	struct sigv4_header h[2];
	struct sigv4_request req;
	struct sigv4_creds cr = {s->creds.access_key_id, s->creds.secret_access_key,
				 s->creds.session_token[0] ? s->creds.session_token : NULL};
	int rc;

	*hdrs = NULL;
	*url = NULL;
	if (!s->host[0] && host_of(base, s->host, sizeof(s->host)))
		return err_set(e, ERR_CONFIG, "backend %s: endpoint %s has no host", b->cfg->name, base);
	buf_reset(&s->path);
	buf_puts(&s->path, "/model/");
	sigv4_uri_encode(&s->path, c->model, strlen(c->model), false);
	buf_puts(&s->path, c->path);
	if (s->path.err)
		return err_set(e, ERR_LIMIT, "model id %.100s is too long", c->model);
	h[0].name = "host";
	h[0].value = s->host;
	h[1].name = "content-type";
	h[1].value = "application/json";
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = s->path.data;
	req.query = "";
	req.headers = h;
	req.n_headers = 2;
	req.payload = c->body;
	req.payload_len = c->body_len;
	rc = sigv4_sign(&req, &cr, s->region, "bedrock", time_now_ms(), &s->sig, e);
	if (rc)
		return rc;
	{
		char line[8192];
		struct curl_slist *l = NULL, *n;

		snprintf(line, sizeof(line), "Host: %s", s->host);
		l = curl_slist_append(l, line);
		for (size_t i = 0; l && i < s->sig.n_add; i++) {
			snprintf(line, sizeof(line), "%s: %s", s->sig.add[i].name, s->sig.add[i].value);
			n = curl_slist_append(l, line);
			if (!n) {
				curl_slist_free_all(l);
				l = NULL;
				break;
			}
			l = n;
		}
		if (!l)
			return err_set(e, ERR_NOMEM, "out of memory");
		*hdrs = l;
	}
	rc = http_join_url(base, s->path.data, url, e);
	if (rc) {
		curl_slist_free_all(*hdrs);
		*hdrs = NULL;
	}
	return rc;
}

static const struct http_dialect bedrock_dialect = {
	.default_base = NULL,
	.open = bedrock_open,
	.prepare = bedrock_prepare,
	.close = bedrock_close,
};

static int bedrock_drv_open(struct ebackend *b, struct err *e)
{
	char base[512];

	if (!b->cfg->base_url) {
		/* The regional endpoint, as the AWS SDKs choose it. */
		snprintf(base, sizeof(base), "https://bedrock-runtime.%s.amazonaws.com",
			 b->cfg->region ? b->cfg->region : "us-east-1");
		return http_open_base(b, &bedrock_dialect, base, e);
	}
	return http_open(b, &bedrock_dialect, e);
}

static enum wire bedrock_wire(const struct family *f)
{
	(void)f;
	return WIRE_BEDROCK;
}

const struct backend_driver bedrock_driver = {
	.kind = "bedrock",
	.open = bedrock_drv_open,
	.close = http_drv_close,
	.start = http_drv_start,
	.cancel = http_drv_cancel,
	.wire = bedrock_wire,
};
