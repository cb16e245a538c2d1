/* client.c - the client of barge's Bedrock job API: endpoint, credentials, signed calls, errors. */
#include "cli/client.h"
#include "cli/cli.h"
#include "util/config.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/time.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A list of every job of an account is the largest answer; 64 MiB is far past it. */
#define CLIENT_BODY_MAX ((size_t)64 << 20)
#define CLIENT_PATH_MAX ((size_t)16 << 10)
#define CLIENT_URL_MAX ((size_t)32 << 10)
#define CLIENT_CONNECT_TIMEOUT_MS 10000L
#define CLIENT_TIMEOUT_MS 60000L
/* Throttled or unavailable answers are tried this many times in all. */
#define CLIENT_ATTEMPTS 4
#define CLIENT_BACKOFF_MS 250
#define CLIENT_RETRY_AFTER_MAX_MS 20000

bool client_opt_take(struct client_opts *o, int c, const char *arg)
{
	switch (c) {
	case CLIENT_OPT_ENDPOINT: o->endpoint = arg; return true;
	case CLIENT_OPT_REGION: o->region = arg; return true;
	case CLIENT_OPT_CONFIG: o->config = arg; return true;
	case CLIENT_OPT_KEY_ID: o->access_key_id = arg; return true;
	case CLIENT_OPT_SECRET: o->secret_access_key = arg; return true;
	default: return false;
	}
}

void client_resp_init(struct client_resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, CLIENT_BODY_MAX);
}

void client_resp_free(struct client_resp *r)
{
	if (r->json)
		json_object_put(r->json);
	r->json = NULL;
	buf_free(&r->body);
}

/* client_resp_reset empties r for the next answer, keeping its buffer. */
static void client_resp_reset(struct client_resp *r)
{
	if (r->json)
		json_object_put(r->json);
	r->json = NULL;
	r->status = 0;
	r->error_type[0] = '\0';
	r->retry_after[0] = '\0';
	r->retryable = false;
	buf_reset(&r->body);
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/*
 * client_set_endpoint splits url into base (scheme://authority), prefix (its
 * path, no trailing '/') and host. A URL without a scheme is taken as
 * http://, so that "127.0.0.1:8080" works as users type it.
 */
static int client_set_endpoint(struct client *c, const char *url, struct err *e)
{
	const char *scheme = "http://";
	const char *p = url, *auth, *path;
	size_t alen, plen;

	if (strstr(url, "://")) {
		if (!strncasecmp(url, "http://", 7)) {
			p = url + 7;
		} else if (!strncasecmp(url, "https://", 8)) {
			scheme = "https://";
			p = url + 8;
		} else {
			return err_set(e, ERR_CONFIG,
				       "endpoint %.200s (%s) is not an http:// or https:// URL", url,
				       c->endpoint_from);
		}
	}
	auth = p;
	alen = strcspn(auth, "/?#");
	path = auth + alen;
	plen = strcspn(path, "?#");
	if (path[plen])
		return err_set(e, ERR_CONFIG, "endpoint %.200s (%s) must not have a query or fragment",
			       url, c->endpoint_from);
	while (plen && path[plen - 1] == '/')
		plen--;
	if (alen == 0)
		return err_set(e, ERR_CONFIG, "endpoint %.200s (%s) has no host", url,
			       c->endpoint_from);
	if (memchr(auth, '@', alen))
		return err_set(e, ERR_CONFIG,
			       "endpoint %.200s (%s) must not carry user information: requests are "
			       "signed with SigV4 credentials instead", url, c->endpoint_from);
	if (alen >= sizeof(c->host) || plen >= sizeof(c->prefix) ||
	    strlen(scheme) + alen >= sizeof(c->base))
		return err_set(e, ERR_CONFIG, "endpoint %.200s (%s) is too long", url,
			       c->endpoint_from);
	memcpy(c->host, auth, alen);
	c->host[alen] = '\0';
	memcpy(c->prefix, path, plen);
	c->prefix[plen] = '\0';
	snprintf(c->base, sizeof(c->base), "%s%s", scheme, c->host);
	return 0;
}

/*
 * client_listen_url turns a [server] listen value (HOST:PORT) into a URL a
 * client can connect to: a wildcard address means this machine.
 */
static void client_listen_url(const char *listen, char *out, size_t n)
{
	const char *colon = strrchr(listen, ':');
	const char *port = colon ? colon + 1 : "8080";
	size_t hlen = colon ? (size_t)(colon - listen) : strlen(listen);
	char host[256];

	if (hlen >= sizeof(host))
		hlen = sizeof(host) - 1;
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	if (!host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "*"))
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (!strcmp(host, "[::]"))
		snprintf(host, sizeof(host), "[::1]");
	snprintf(out, n, "http://%s:%s", host, port);
}

static int client_pick_endpoint(struct client *c, const struct client_opts *o,
				const struct config *cfg, struct err *e)
{
	char url[600];
	const char *env = env_nonempty("BARGE_ENDPOINT");

	if (o->endpoint && *o->endpoint) {
		snprintf(c->endpoint_from, sizeof(c->endpoint_from), "from --endpoint");
		return client_set_endpoint(c, o->endpoint, e);
	}
	if (env) {
		snprintf(c->endpoint_from, sizeof(c->endpoint_from), "from $BARGE_ENDPOINT");
		return client_set_endpoint(c, env, e);
	}
	if (cfg->path)
		snprintf(c->endpoint_from, sizeof(c->endpoint_from), "from [server] listen in %.120s",
			 cfg->path);
	else
		snprintf(c->endpoint_from, sizeof(c->endpoint_from),
			 "the default [server] listen: no --endpoint, $BARGE_ENDPOINT or configuration");
	client_listen_url(cfg->server.listen ? cfg->server.listen : "127.0.0.1:8080", url,
			  sizeof(url));
	return client_set_endpoint(c, url, e);
}

static int client_pick_region(struct client *c, const struct client_opts *o,
			      const struct config *cfg, struct err *e)
{
	const char *r = o->region && *o->region ? o->region : NULL;

	if (!r)
		r = env_nonempty("AWS_REGION");
	if (!r)
		r = env_nonempty("AWS_DEFAULT_REGION");
	if (!r && cfg->server.region && *cfg->server.region)
		r = cfg->server.region;
	if (!r)
		r = "us-east-1";
	if (strlen(r) >= sizeof(c->region))
		return err_set(e, ERR_CONFIG, "region \"%.80s\" is too long", r);
	for (const char *p = r; *p; p++) {
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
			return err_set(e, ERR_CONFIG,
				       "region \"%.80s\" is not a region name such as us-east-1", r);
	}
	snprintf(c->region, sizeof(c->region), "%s", r);
	return 0;
}

/*
 * client_pick_creds takes, in order: the flags, the environment, the first
 * [account.*] of the configuration that has both keys, then the shared
 * credentials file. The configuration comes before the file because it
 * names the accounts of this barge server, while ~/.aws/credentials usually
 * holds keys for AWS itself.
 */
static int client_pick_creds(struct client *c, const struct client_opts *o,
			     const struct config *cfg, struct err *e)
{
	const struct account_cfg *acct = NULL, *half = NULL;
	bool flags = o->access_key_id || o->secret_access_key;
	int rc;

	if (flags && !(o->access_key_id && *o->access_key_id && o->secret_access_key &&
		       *o->secret_access_key))
		return err_set(e, ERR_CONFIG,
			       "--access-key-id and --secret-access-key go together: give both");
	if (flags || (env_nonempty("AWS_ACCESS_KEY_ID") && env_nonempty("AWS_SECRET_ACCESS_KEY"))) {
		rc = aws_creds_resolve(o->access_key_id, o->secret_access_key, NULL, NULL, &c->creds, e);
		if (rc)
			return rc;
		if (flags)
			snprintf(c->creds.source, sizeof(c->creds.source), "the command line");
	} else {
		for (size_t i = 0; i < cfg->n_accounts && !acct; i++) {
			const struct account_cfg *a = &cfg->accounts[i];

			if (a->access_key_id && *a->access_key_id && a->secret_access_key &&
			    *a->secret_access_key)
				acct = a;
			else if (a->access_key_id && *a->access_key_id && !half)
				half = a;
		}
		if (acct) {
			rc = aws_creds_resolve(acct->access_key_id, acct->secret_access_key, NULL, NULL,
					       &c->creds, e);
			if (rc)
				return rc;
			snprintf(c->creds.source, sizeof(c->creds.source), "[account.%.40s]", acct->name);
		} else {
			rc = aws_creds_resolve(NULL, NULL, NULL, NULL, &c->creds, e);
			if (rc && half)
				return err_set(e, ERR_AUTH,
					       "no credentials to sign requests with: [account.%.40s] of %.200s "
					       "has an access_key_id but no secret_access_key (when it comes "
					       "from secret_access_key_env, set that variable), or give "
					       "--access-key-id and --secret-access-key",
					       half->name, cfg->path ? cfg->path : "the configuration");
			if (rc)
				return err_set(e, ERR_AUTH,
					       "no credentials to sign requests with: give --access-key-id "
					       "and --secret-access-key, set AWS_ACCESS_KEY_ID and "
					       "AWS_SECRET_ACCESS_KEY, or use a configuration (--config or "
					       "$BARGE_CONFIG) with an [account.*] that has access_key_id and "
					       "secret_access_key");
		}
	}
	/* The account id goes into the default role ARN of a submit. */
	snprintf(c->account_id, sizeof(c->account_id), "000000000000");
	if (!acct) {
		for (size_t i = 0; i < cfg->n_accounts && !acct; i++) {
			const struct account_cfg *a = &cfg->accounts[i];

			if (a->access_key_id && !strcmp(a->access_key_id, c->creds.access_key_id))
				acct = a;
		}
	}
	if (acct && acct->account_id[0])
		snprintf(c->account_id, sizeof(c->account_id), "%s", acct->account_id);
	return 0;
}

int client_open(struct client *c, const char *cmd, const struct client_opts *o, struct err *e)
{
	struct config cfg;
	const char *path = o->config && *o->config ? o->config : env_nonempty("BARGE_CONFIG");
	int rc;

	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	sigv4_signed_init(&c->sig);
	buf_init(&c->path, CLIENT_PATH_MAX);
	buf_init(&c->url, CLIENT_URL_MAX);
	rc = config_load(&cfg, path, e);
	if (rc) {
		rc = ERR_CONFIG;
		goto out;
	}
	if ((rc = client_pick_endpoint(c, o, &cfg, e)) || (rc = client_pick_region(c, o, &cfg, e)) ||
	    (rc = client_pick_creds(c, o, &cfg, e)))
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		rc = err_set(e, ERR_INTERNAL, "libcurl could not be initialised");
		goto out;
	}
	c->curl = curl_easy_init();
	if (!c->curl)
		rc = err_set(e, ERR_NOMEM, "out of memory starting libcurl");
out:
	config_free(&cfg);
	return rc;
}

void client_close(struct client *c)
{
	if (c->curl) {
		curl_easy_cleanup(c->curl);
		curl_global_cleanup();
	}
	c->curl = NULL;
	sigv4_signed_free(&c->sig);
	buf_free(&c->path);
	buf_free(&c->url);
	/* Do not leave the secret in memory after the last request. */
	memset(&c->creds, 0, sizeof(c->creds));
}

static size_t client_on_body(char *p, size_t size, size_t n, void *ud)
{
	struct client_resp *r = ud;

	/* A short count makes libcurl stop: the answer went past its cap. */
	if (buf_append(&r->body, p, size * n))
		return 0;
	return size * n;
}

/* client_copy_header copies a header's value, trimmed, into out. */
static void client_copy_header(const char *v, size_t n, char *out, size_t outsz)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

static size_t client_on_header(char *p, size_t size, size_t n, void *ud)
{
	struct client_resp *r = ud;
	size_t len = size * n;
	static const char et[] = "x-amzn-errortype:";
	static const char ra[] = "retry-after:";

	/* A new status line (after a 100 Continue or a redirect) starts afresh. */
	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		r->error_type[0] = '\0';
		r->retry_after[0] = '\0';
	} else if (len > sizeof(et) - 1 && !strncasecmp(p, et, sizeof(et) - 1)) {
		client_copy_header(p + sizeof(et) - 1, len - (sizeof(et) - 1), r->error_type,
				   sizeof(r->error_type));
	} else if (len > sizeof(ra) - 1 && !strncasecmp(p, ra, sizeof(ra) - 1)) {
		client_copy_header(p + sizeof(ra) - 1, len - (sizeof(ra) - 1), r->retry_after,
				   sizeof(r->retry_after));
	}
	return len;
}

/*
 * client_error_name settles the error's name: the x-amzn-ErrorType header
 * ("Name" or "Name:http://..."), else the body's "__type" (possibly
 * "namespace#Name"), else "HTTP <status>".
 */
static void client_error_name(struct client_resp *r, json_object *body)
{
	const char *t;
	char *colon;

	if (r->error_type[0]) {
		colon = strchr(r->error_type, ':');
		if (colon)
			*colon = '\0';
		return;
	}
	t = body ? json_get_str(body, "__type") : NULL;
	if (t && *t) {
		const char *hash = strrchr(t, '#');

		snprintf(r->error_type, sizeof(r->error_type), "%s", hash ? hash + 1 : t);
		colon = strchr(r->error_type, ':');
		if (colon)
			*colon = '\0';
		return;
	}
	snprintf(r->error_type, sizeof(r->error_type), "HTTP %ld", r->status);
}

/* client_error_code is the err code of an error answer, from its name and status. */
static int client_error_code(const struct client_resp *r)
{
	const char *t = r->error_type;

	if (!strcmp(t, "ValidationException"))
		return ERR_INVAL;
	if (!strcmp(t, "ResourceNotFoundException") || r->status == 404)
		return ERR_NOTFOUND;
	if (!strcmp(t, "ConflictException"))
		return ERR_CONFLICT;
	if (!strcmp(t, "ServiceQuotaExceededException"))
		return ERR_LIMIT;
	if (r->status == 401 || r->status == 403)
		return ERR_AUTH;
	if (r->status == 400)
		return ERR_INVAL;
	return ERR_REMOTE;
}

/* client_answer_error fills e from an error answer and decides whether a retry may help. */
static int client_answer_error(struct client_resp *r, const char *method, struct err *e)
{
	json_object *o = NULL;
	struct err pe;
	const char *msg = NULL;
	char snippet[240];
	size_t k = 0;

	err_init(&pe);
	if (r->body.len && !json_parse(r->body.data, r->body.len, &o, &pe) &&
	    !json_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	client_error_name(r, o);
	if (o) {
		msg = json_get_str(o, "message");
		if (!msg)
			msg = json_get_str(o, "Message");
	}
	if (!msg) {
		/* Not the error shape: show the start of whatever came, printable. */
		for (size_t i = 0; i < r->body.len && k + 1 < sizeof(snippet); i++) {
			unsigned char ch = (unsigned char)r->body.data[i];

			snippet[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
		}
		snippet[k] = '\0';
		msg = k ? snippet : "(no message)";
	}
	/*
	 * Throttling and unavailability are worth another try whatever the
	 * request; a server fault only for a read, because a write may have
	 * happened (a submit is safe anyway: its client token makes a repeat
	 * return the same job).
	 */
	r->retryable = r->status == 429 || r->status == 503 ||
		       !strcmp(r->error_type, "ThrottlingException") ||
		       (!strcmp(method, "GET") && (r->status == 500 || r->status == 502 ||
						   r->status == 504));
	err_set(e, client_error_code(r), "%s: %.900s", r->error_type, msg);
	if (o)
		json_object_put(o);
	return e->code;
}

/* client_build_request fills c->path (prefix + path) and c->url (base + path + query). */
static int client_build_request(struct client *c, const char *path, const char *query,
				struct err *e)
{
	buf_reset(&c->path);
	buf_reset(&c->url);
	buf_puts(&c->path, c->prefix);
	buf_puts(&c->path, path);
	buf_puts(&c->url, c->base);
	buf_puts(&c->url, c->path.data ? c->path.data : "/");
	if (query && *query) {
		buf_putc(&c->url, '?');
		buf_puts(&c->url, query);
	}
	if (c->path.err || c->url.err)
		return err_set(e, ERR_LIMIT, "the request's URL is too long");
	return 0;
}

/* client_headers makes the header list of a signed request. The caller frees it. */
static struct curl_slist *client_headers(struct client *c, bool has_body)
{
	/*
	 * An empty "Content-Type:" stops libcurl from adding a form type to a
	 * body-less POST, which would be sent unsigned; "Expect:" stops it
	 * from waiting for 100 Continue on large bodies.
	 */
	const char *fixed[] = {NULL, has_body ? "Content-Type: application/json" : "Content-Type:",
			       "Expect:", "Accept: application/json"};
	size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]);
	struct curl_slist *l = NULL, *n;
	char host[sizeof(c->host) + 8];
	/* The longest added header is a session token of up to 4 KiB. */
	char line[2 * AWSCREDS_MAX + sizeof(c->creds.session_token)];

	snprintf(host, sizeof(host), "Host: %s", c->host);
	fixed[0] = host;
	for (size_t i = 0; i < n_fixed + c->sig.n_add; i++) {
		const char *h = fixed[i < n_fixed ? i : 0];

		if (i >= n_fixed) {
			snprintf(line, sizeof(line), "%s: %s", c->sig.add[i - n_fixed].name,
				 c->sig.add[i - n_fixed].value);
			h = line;
		}
		n = curl_slist_append(l, h);
		if (!n) {
			curl_slist_free_all(l);
			return NULL;
		}
		l = n;
	}
	return l;
}

/* client_transport_error explains a failure to talk to the server at all. */
static int client_transport_error(struct client *c, CURLcode cc, const char *errbuf,
				  struct err *e)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return err_set(e, ERR_REMOTE,
			       "cannot reach the barge server at %s%s (%s; %s): start it with "
			       "`barge serve`, or point at a running one with --endpoint URL or "
			       "$BARGE_ENDPOINT",
			       c->base, c->prefix, c->endpoint_from, why);
	case CURLE_OPERATION_TIMEDOUT:
		return err_set(e, ERR_REMOTE,
			       "the barge server at %s%s (%s) did not answer in time (%s): check that "
			       "it is running and not overloaded, or that --endpoint is right",
			       c->base, c->prefix, c->endpoint_from, why);
	case CURLE_WRITE_ERROR:
		return err_set(e, ERR_LIMIT, "the server's answer is larger than %zu MiB",
			       CLIENT_BODY_MAX >> 20);
	default:
		return err_set(e, ERR_REMOTE, "request to %s%s (%s) failed: %s", c->base, c->prefix,
			       c->endpoint_from, why);
	}
}

static int client_send_once(struct client *c, const char *method, const char *path,
			    const char *query, const char *body, struct client_resp *r,
			    struct err *e)
{
	CURL *h = c->curl;
	struct sigv4_header sh[2];
	struct sigv4_request req;
	struct sigv4_creds cr = {c->creds.access_key_id, c->creds.secret_access_key,
				 c->creds.session_token[0] ? c->creds.session_token : NULL};
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE];
	size_t body_len = body ? strlen(body) : 0;
	bool is_post = !strcmp(method, "POST");
	CURLcode cc;
	int rc;

	client_resp_reset(r);
	if ((rc = client_build_request(c, path, query, e)))
		return rc;
	sh[0].name = "host";
	sh[0].value = c->host;
	sh[1].name = "content-type";
	sh[1].value = "application/json";
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = c->path.data;
	req.query = query;
	req.headers = sh;
	req.n_headers = body ? 2 : 1;
	req.payload = body;
	req.payload_len = body_len;
	rc = sigv4_sign(&req, &cr, c->region, "bedrock", time_now_ms(), &c->sig, e);
	if (rc)
		return rc;
	hdrs = client_headers(c, body != NULL);
	if (!hdrs)
		return err_set(e, ERR_NOMEM, "out of memory");
	errbuf[0] = '\0';
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, c->url.data);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* The path is signed as sent: libcurl must not tidy "." segments. */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CLIENT_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, CLIENT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "barge-client");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, client_on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, client_on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (is_post) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	cc = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	if (cc != CURLE_OK)
		return client_transport_error(c, cc, errbuf, e);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body.err)
		return err_set(e, ERR_LIMIT, "the server's answer is larger than %zu MiB",
			       CLIENT_BODY_MAX >> 20);
	if (r->status < 200 || r->status > 299)
		return client_answer_error(r, method, e);
	if (r->body.len == 0) {
		/* An empty success body is an empty object, as the SDKs read it. */
		r->json = json_object_new_object();
		if (!r->json)
			return err_set(e, ERR_NOMEM, "out of memory");
		return 0;
	}
	rc = json_parse(r->body.data, r->body.len, &r->json, e);
	if (rc || !json_is_type(r->json, json_type_object)) {
		if (r->json)
			json_object_put(r->json);
		r->json = NULL;
		return err_set(e, ERR_REMOTE,
			       "the server at %s%s answered HTTP %ld with something that is not a JSON "
			       "object: is --endpoint a barge server?",
			       c->base, c->prefix, r->status);
	}
	return 0;
}

/* client_backoff_ms is how long to wait before try number attempt + 1. */
static int64_t client_backoff_ms(const struct client_resp *r, int attempt)
{
	int64_t ms = (int64_t)CLIENT_BACKOFF_MS << attempt;
	unsigned char rnd;

	if (r->retry_after[0] && isdigit((unsigned char)r->retry_after[0])) {
		int64_t s = strtoll(r->retry_after, NULL, 10);

		if (s >= 0 && s <= CLIENT_RETRY_AFTER_MAX_MS / 1000)
			return s * 1000;
		return CLIENT_RETRY_AFTER_MAX_MS;
	}
	/* Jitter spreads the retries of many clients throttled at once. */
	ids_random_bytes(&rnd, 1);
	return ms / 2 + ms * rnd / 512;
}

int client_call(struct client *c, const char *method, const char *path, const char *query,
		const char *body, struct client_resp *r, struct err *e)
{
	int rc = 0;

	for (int attempt = 0; attempt < CLIENT_ATTEMPTS; attempt++) {
		rc = client_send_once(c, method, path, query, body, r, e);
		if (rc == 0 || !r->retryable || attempt + 1 == CLIENT_ATTEMPTS)
			break;
		time_sleep_ms(client_backoff_ms(r, attempt));
	}
	return rc;
}

int client_exit_status(int rc)
{
	switch (rc) {
	case 0: return EXIT_COMPLETED;
	case ERR_INVAL:
	case ERR_AUTH:
	case ERR_CONFIG: return EXIT_USAGE;
	default: return EXIT_FAILED;
	}
}

int client_fail(const struct client *c, int rc, const struct err *e, const struct client_resp *r)
{
	const char *t = r ? r->error_type : "";

	fprintf(stderr, "barge %s: %s\n", c->cmd, e->msg);
	if (!strcmp(t, "ResourceNotFoundException"))
		fprintf(stderr, "`barge list` shows the jobs of this account.\n");
	else if (!strcmp(t, "UnrecognizedClientException") ||
		 !strcmp(t, "InvalidSignatureException"))
		fprintf(stderr,
			"The credentials came from %s (access key %.24s, region %s): give the keys of "
			"an [account.*] of the server's configuration with --access-key-id and "
			"--secret-access-key, or check --region.\n",
			c->creds.source, c->creds.access_key_id, c->region);
	else if (!strcmp(t, "ThrottlingException") || !strcmp(t, "ServiceUnavailableException"))
		fprintf(stderr, "The server is busy; try again in a while.\n");
	return client_exit_status(rc);
}

bool client_check_job(const char *job)
{
	const char *id = job;
	size_t n;

	if (!strncmp(job, "arn:", 4)) {
		const char *slash = strrchr(job, '/');

		if (!slash || !strstr(job, ":model-invocation-job/"))
			return false;
		id = slash + 1;
	}
	n = strlen(id);
	if (n != 12)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!islower((unsigned char)id[i]) && !isdigit((unsigned char)id[i]))
			return false;
	}
	return true;
}

int client_job_path(struct buf *out, const char *job, const char *suffix)
{
	buf_puts(out, "/model-invocation-job/");
	/* An ARN has ':' and '/': both are sent encoded, as the SDKs do. */
	sigv4_uri_encode(out, job, strlen(job), false);
	if (suffix)
		buf_puts(out, suffix);
	return out->err;
}

void client_job_id(const char *arn_or_id, char *out, size_t n)
{
	const char *slash = arn_or_id ? strrchr(arn_or_id, '/') : NULL;

	snprintf(out, n, "%s", slash ? slash + 1 : arn_or_id ? arn_or_id : "");
}

int client_get_job(struct client *c, const char *job, struct client_resp *r, struct err *e)
{
	struct buf p;
	int rc;

	buf_init(&p, CLIENT_PATH_MAX);
	if (client_job_path(&p, job, NULL)) {
		rc = err_set(e, ERR_INVAL, "the job identifier is too long");
		goto out;
	}
	rc = client_call(c, "GET", p.data, NULL, NULL, r, e);
	if (rc == 0 && !json_get_str(r->json, "status")) {
		rc = err_set(e, ERR_REMOTE, "the server's job object has no status: is %s%s a barge "
					    "server?", c->base, c->prefix);
	}
out:
	buf_free(&p);
	return rc;
}

int client_help(const char *own, const char *exits)
{
	fputs(own, stdout);
	fputs("\n", stdout);
	fputs(CLIENT_COMMON_HELP, stdout);
	fputs("\n", stdout);
	fputs(exits, stdout);
	fputs(CLIENT_EXIT_HELP, stdout);
	return 0;
}

int client_start(struct client *c, const char *cmd, const struct client_opts *o)
{
	struct err e;
	int rc;

	err_init(&e);
	rc = client_open(c, cmd, o, &e);
	if (rc) {
		fprintf(stderr, "barge %s: %s\n", cmd, e.msg);
		return client_exit_status(rc);
	}
	return 0;
}

int client_take_job(const char *cmd, int argc, char **argv, const char **job)
{
	if (optind >= argc)
		return cli_usage(cmd, "give the JOB: its 12-character id or its ARN (`barge list` "
				      "shows them)");
	if (optind + 1 < argc)
		return cli_usage(cmd, "unexpected argument %s: give one JOB", argv[optind + 1]);
	*job = argv[optind];
	if (!client_check_job(*job))
		return cli_usage(cmd,
				 "\"%s\" is not a job id (12 letters a-z and digits) or a job ARN "
				 "(arn:aws:bedrock:REGION:ACCOUNT:model-invocation-job/ID)",
				 *job);
	return 0;
}

bool client_status_ended(const char *s)
{
	return !strcmp(s, "Completed") || !strcmp(s, "PartiallyCompleted") ||
	       !strcmp(s, "Failed") || !strcmp(s, "Stopped") || !strcmp(s, "Expired");
}

const char *client_job_uri(json_object *job, const char *config, const char *inner)
{
	return json_get_str(json_get(json_get(job, config), inner), "s3Uri");
}
