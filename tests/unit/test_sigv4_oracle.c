/* test_sigv4_oracle.c - cross-checks the SigV4 signer and verifier (src/util/sigv4.c) against python3-botocore on generated requests. */
#include "testutil.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/sigv4.h"

/*
 * Every case is signed here with sigv4_sign and by botocore
 * (tests/unit/sigv4_oracle.py, run once for all cases with
 * /usr/bin/python3, where Debian's python3-botocore lives); the
 * Authorization headers must be equal byte for byte. Then sigv4_verify must
 * accept each request exactly as botocore signed it, as barge's API does
 * when a boto3 client calls it, and must reject it after one change.
 */
#define N_CASES 400
#define PYTHON "/usr/bin/python3"
#define ORACLE_REL "tests/unit/sigv4_oracle.py"
#define INSTALL_HINT "install it with: apt-get install -y python3-botocore (scripts/deps.sh does)"
#define MAX_GEN_HEADERS 12
#define MAX_PARTS 64

struct gcase {
	const char *service;
	const char *region;
	char method[8];
	struct buf path;  /* as sent */
	struct buf query; /* as sent */
	struct sigv4_header headers[MAX_GEN_HEADERS];
	size_t nh;
	char *parts[MAX_PARTS]; /* owned strings the headers point to */
	size_t nparts;
	unsigned char *payload;
	size_t payload_len;
	bool unsigned_payload;
	bool hash_in_header; /* UNSIGNED-PAYLOAD given as a header rather than payload_hash */
	char akid[24];
	char secret[48];
	char token[200];
	int64_t time_ms;
	struct sigv4_signed sig;
	int sign_rc;
	char sign_err[ERR_MSG_MAX];
	json_object *oracle; /* this case's line from the oracle */
};

static struct gcase cases[N_CASES];
static bool oracle_ran;
static char oracle_failure[4096];

static const char *const regions[] = {"us-east-1", "us-west-2", "eu-central-1",
				      "ap-southeast-2"};

/*
 * Pieces of generated text: unreserved characters, every reserved one, a
 * space, and UTF-8 of two, three and four bytes, so that encoding is
 * exercised everywhere.
 */
static const char *const atoms[] = {
	"a", "b", "z", "A", "Q", "Z", "0", "7", "9", "-", ".", "_", "~", "!", "$", "&",
	"'", "(", ")", "*", "+", ",", ";", "=", ":", "@", "/", "?", "#", "[", "]", "%",
	" ", "\"", "<", ">", "^", "`", "{", "|", "}", "\\", "\xc3\xa9", "\xe1\x88\xb4",
	"\xf0\x9f\x98\x80", "abc", "Key", "v1", "x-y",
};

static const char *const model_ids[] = {
	"anthropic.claude-3-haiku-20240307-v1:0",
	"anthropic.claude-3-5-sonnet-20240620-v1:0",
	"amazon.titan-embed-text-v2:0",
	"meta.llama3-70b-instruct-v1:0",
	"us.anthropic.claude-3-5-haiku-20241022-v1:0",
	"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
	"cohere.embed-english-v3",
};

static const char *const query_names[] = {
	"list-type", "prefix", "continuation-token", "max-keys", "delimiter", "uploadId",
	"partNumber", "start-after", "X-Custom", "a", "A", "b", "versionId", "encoding-type",
};

static uint64_t pick(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

static bool chance(struct rng *r, unsigned percent)
{
	return pick(r, 100) < percent;
}

static char *keep(struct gcase *c, const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	assert_true(c->nparts < MAX_PARTS);
	c->parts[c->nparts++] = p;
	return p;
}

static void gen_text(struct rng *r, struct buf *out, size_t max_atoms)
{
	size_t n = pick(r, max_atoms + 1);

	for (size_t i = 0; i < n; i++)
		buf_puts(out, atoms[pick(r, sizeof(atoms) / sizeof(atoms[0]))]);
}

/* encode_lower percent-encodes like sigv4_uri_encode but with lowercase hex, which decoders must accept. */
static void encode_lower(struct buf *out, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch) || (keep_slash && ch == '/')) {
			buf_putc(out, (char)ch);
		} else {
			buf_putc(out, '%');
			buf_putc(out, hex[ch >> 4]);
			buf_putc(out, hex[ch & 15]);
		}
	}
}

/* encode_some percent-encodes only the characters in must, leaving the rest raw as lenient clients do. */
static void encode_some(struct buf *out, const char *s, size_t n, const char *must)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr(must, s[i]) && s[i])
			buf_printf(out, "%%%02X", (unsigned char)s[i]);
		else
			buf_putc(out, s[i]);
	}
}

/* send_component writes decoded text in one of the spellings a client may send. */
static void send_component(struct rng *r, struct buf *out, const char *s, size_t n,
			   const char *must)
{
	switch (pick(r, 3)) {
	case 0: sigv4_uri_encode(out, s, n, false); break;
	case 1: encode_lower(out, s, n, false); break;
	default: encode_some(out, s, n, must); break;
	}
}

static void gen_path_generic(struct rng *r, struct gcase *c)
{
	struct buf seg;
	size_t nseg = pick(r, 5);

	buf_init(&seg, 0);
	if (nseg == 0) {
		/* "/" or, now and then, nothing at all (signed as "/"). */
		buf_puts(&c->path, chance(r, 80) ? "/" : "");
	}
	for (size_t i = 0; i < nseg; i++) {
		buf_putc(&c->path, '/');
		if (chance(r, 8)) {
			buf_puts(&c->path, chance(r, 50) ? "." : "..");
			continue;
		}
		if (chance(r, 5))
			continue; /* an empty segment: "//" */
		buf_reset(&seg);
		gen_text(r, &seg, 6);
		/* '?' and '#' would end the path; the rest may stay raw. */
		send_component(r, &c->path, seg.data ? seg.data : "", seg.len, "?#");
	}
	if (nseg && chance(r, 20))
		buf_putc(&c->path, '/');
	buf_free(&seg);
}

static void gen_path_bedrock(struct rng *r, struct gcase *c)
{
	static const char *const ops[] = {"invoke", "converse", "invoke-with-response-stream",
					  "converse-stream"};
	const char *id = model_ids[pick(r, sizeof(model_ids) / sizeof(model_ids[0]))];

	if (chance(r, 10)) {
		buf_puts(&c->path, "/model-invocation-jobs");
		return;
	}
	buf_puts(&c->path, "/model/");
	switch (pick(r, 4)) {
	case 0: buf_puts(&c->path, id); break; /* ':' and '/' raw, as curl users send it */
	case 1: encode_lower(&c->path, id, strlen(id), false); break;
	default: sigv4_uri_encode(&c->path, id, strlen(id), false); break; /* as boto3 sends it */
	}
	buf_putc(&c->path, '/');
	buf_puts(&c->path, ops[pick(r, sizeof(ops) / sizeof(ops[0]))]);
}

/*
 * gen_path_s3 sends keys encoded once with uppercase hex, as barge's S3
 * client does: botocore signs an S3 path exactly as given, so only that
 * spelling can be compared.
 */
static void gen_path_s3(struct rng *r, struct gcase *c, char *bucket, size_t bucket_sz)
{
	struct buf key;
	size_t style = pick(r, 10);

	snprintf(bucket, bucket_sz, "bucket-%u", (unsigned)pick(r, 1000));
	buf_init(&key, 0);
	for (size_t i = 0, n = 1 + pick(r, 4); i < n; i++) {
		if (i)
			buf_putc(&key, '/');
		gen_text(r, &key, 5);
	}
	if (chance(r, 10))
		buf_puts(&key, "/./../x//y");
	if (style == 0) {
		buf_puts(&c->path, "/"); /* ListBuckets, or a virtual-hosted bucket listing */
	} else if (style == 1) {
		buf_printf(&c->path, "/%s", bucket); /* a bucket-level request, no trailing slash */
	} else if (style <= 3) {
		buf_putc(&c->path, '/'); /* virtual-hosted style */
		sigv4_uri_encode(&c->path, key.data, key.len, true);
	} else {
		buf_printf(&c->path, "/%s/", bucket);
		sigv4_uri_encode(&c->path, key.data, key.len, true);
	}
	buf_free(&key);
}

static void gen_query(struct rng *r, struct gcase *c)
{
	struct buf t;
	size_t n = chance(r, 40) ? 0 : 1 + pick(r, 5);

	buf_init(&t, 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&c->query, '&');
		if (chance(r, 5))
			buf_putc(&c->query, '&'); /* an empty piece */
		buf_reset(&t);
		if (chance(r, 70))
			buf_puts(&t, query_names[pick(r, sizeof(query_names) / sizeof(query_names[0]))]);
		else
			gen_text(r, &t, 4);
		send_component(r, &c->query, t.data ? t.data : "", t.len, "&=#%");
		if (chance(r, 10))
			continue; /* a bare key */
		buf_putc(&c->query, '=');
		buf_reset(&t);
		gen_text(r, &t, 8);
		send_component(r, &c->query, t.data ? t.data : "", t.len, "&#%");
		/* A '%' that starts no escape is a literal percent sign. */
		if (chance(r, 5))
			buf_puts(&c->query, chance(r, 50) ? "%" : "%zz");
	}
	if (n && chance(r, 5))
		buf_putc(&c->query, '&');
	buf_free(&t);
}

/* gen_value makes a header value with stray spaces and tabs to be trimmed and collapsed. */
static void gen_value(struct rng *r, struct buf *v)
{
	static const char *const words[] = {"alpha", "Beta", "\"q\"", "x=1;", "a,b", "0", "(c)"};
	static const char *const gaps[] = {" ", "  ", "\t", " \t  ", "   "};
	size_t n = 1 + pick(r, 4);

	if (chance(r, 30))
		buf_puts(v, gaps[pick(r, 5)]);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(v, gaps[pick(r, 5)]);
		buf_puts(v, words[pick(r, sizeof(words) / sizeof(words[0]))]);
	}
	if (chance(r, 30))
		buf_puts(v, gaps[pick(r, 5)]);
}

static void add_header(struct gcase *c, const char *name, const char *value)
{
	assert_true(c->nh < MAX_GEN_HEADERS);
	c->headers[c->nh].name = keep(c, name);
	c->headers[c->nh].value = keep(c, value);
	c->nh++;
}

static void gen_headers(struct rng *r, struct gcase *c, const char *host)
{
	static const char *const fixed[][2] = {
		{"Content-Type", "application/json"},
		{"Accept", "application/json"},
		{"X-Amzn-Bedrock-Accept", "*/*"},
		{"Range", "bytes=0-1023"},
		{"If-None-Match", "\"0123abcd\""},
		{"x-amz-storage-class", "STANDARD_IA"},
		{"Content-Encoding", "identity"},
		{"X-Amzn-Bedrock-PerformanceConfig-Latency", "standard"},
	};
	size_t host_at = pick(r, 3), n = pick(r, 5);
	struct buf v;

	buf_init(&v, 0);
	for (size_t i = 0; i <= n; i++) {
		if (i == host_at % (n + 1))
			add_header(c, chance(r, 50) ? "Host" : "host", host);
		if (i == n)
			break;
		if (chance(r, 50)) {
			size_t k = pick(r, sizeof(fixed) / sizeof(fixed[0]));

			add_header(c, fixed[k][0], fixed[k][1]);
			continue;
		}
		buf_reset(&v);
		gen_value(r, &v);
		switch (pick(r, 3)) {
		case 0: add_header(c, "X-Amz-Meta-Note", v.data); break;
		case 1: add_header(c, "x-amz-meta-dup", v.data); break; /* may repeat */
		default: add_header(c, "X-Barge-Test", v.data); break;
		}
	}
	buf_free(&v);
}

static void gen_payload(struct rng *r, struct gcase *c, int *large_left)
{
	size_t n;

	if (chance(r, 30) || (strcmp(c->method, "GET") == 0 && chance(r, 80)))
		return;
	if (*large_left > 0 && chance(r, 2)) {
		(*large_left)--;
		n = ((size_t)1 << 20) + pick(r, 4096);
	} else {
		n = pick(r, 3000);
	}
	c->payload = malloc(n ? n : 1);
	assert_non_null(c->payload);
	if (chance(r, 50)) {
		for (size_t i = 0; i < n; i++)
			c->payload[i] = (unsigned char)rng_next(r);
	} else {
		for (size_t i = 0; i < n; i++)
			c->payload[i] = (unsigned char)"{\"prompt\": \"Hi\"} \n"[i % 19];
	}
	c->payload_len = n;
}

static void gen_case(struct rng *r, struct gcase *c, int *large_left)
{
	static const char *const methods[] = {"GET", "HEAD", "DELETE", "POST", "PUT", "PATCH"};
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char host[128], bucket[32];
	size_t kind = pick(r, 20);

	buf_init(&c->path, 0);
	buf_init(&c->query, 0);
	sigv4_signed_init(&c->sig);
	c->region = regions[pick(r, sizeof(regions) / sizeof(regions[0]))];
	snprintf(c->method, sizeof(c->method), "%s", methods[pick(r, 6)]);
	if (chance(r, 5))
		c->method[1] = (char)(c->method[1] - 'A' + 'a'); /* "GeT": SDKs uppercase it */
	if (kind < 7) {
		c->service = "bedrock";
		gen_path_bedrock(r, c);
		snprintf(host, sizeof(host), "bedrock-runtime.%s.amazonaws.com", c->region);
	} else if (kind < 15) {
		c->service = "s3";
		gen_path_s3(r, c, bucket, sizeof(bucket));
		if (chance(r, 50))
			snprintf(host, sizeof(host), "s3.%s.amazonaws.com", c->region);
		else if (chance(r, 50))
			snprintf(host, sizeof(host), "%s.s3.%s.amazonaws.com", bucket, c->region);
		else
			snprintf(host, sizeof(host), "127.0.0.1:9000");
	} else {
		c->service = kind < 18 ? "service" : "execute-api";
		gen_path_generic(r, c);
		snprintf(host, sizeof(host), chance(r, 50) ? "example.amazonaws.com" : "localhost:8080");
	}
	gen_query(r, c);
	gen_headers(r, c, host);
	gen_payload(r, c, large_left);
	c->unsigned_payload = chance(r, 10);
	c->hash_in_header = c->unsigned_payload && strcmp(c->service, "s3") != 0 && chance(r, 50);
	if (c->hash_in_header)
		add_header(c, "X-Amz-Content-SHA256", SIGV4_UNSIGNED_PAYLOAD);
	snprintf(c->akid, sizeof(c->akid), "%s", chance(r, 50) ? "AKIA" : "ASIA");
	for (size_t i = 4; i < 20; i++)
		c->akid[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[pick(r, 32)];
	c->akid[20] = '\0';
	for (size_t i = 0; i < 40; i++)
		c->secret[i] = b64[pick(r, 64)];
	c->secret[40] = '\0';
	if (chance(r, 30)) {
		size_t n = 100 + pick(r, 80);

		for (size_t i = 0; i < n; i++)
			c->token[i] = b64[pick(r, 64)];
		memcpy(c->token + n, "==", 3);
	}
	/* Anywhere from 2000 to 2099, to the millisecond. */
	c->time_ms = 946684800000LL + (int64_t)pick(r, 3124137600000ULL);
	assert_int_equal(c->path.err, 0);
	assert_int_equal(c->query.err, 0);
}

static void case_request(const struct gcase *c, struct sigv4_request *req)
{
	memset(req, 0, sizeof(*req));
	req->method = c->method;
	req->path = c->path.data;
	req->query = c->query.data;
	req->headers = c->headers;
	req->n_headers = c->nh;
	req->payload = c->payload;
	req->payload_len = c->payload_len;
	if (c->unsigned_payload && !c->hash_in_header)
		req->payload_hash = SIGV4_UNSIGNED_PAYLOAD;
}

static int setup(void **state)
{
	struct rng r;
	int large_left = 4;

	(void)state;
	rng_seed(&r, 0x5169763472ULL);
	for (size_t i = 0; i < N_CASES; i++) {
		struct gcase *c = &cases[i];
		struct sigv4_request req;
		struct sigv4_creds creds;
		struct err e;

		gen_case(&r, c, &large_left);
		case_request(c, &req);
		creds = (struct sigv4_creds){c->akid, c->secret, c->token};
		err_init(&e);
		c->sign_rc = sigv4_sign(&req, &creds, c->region, c->service, c->time_ms, &c->sig, &e);
		snprintf(c->sign_err, sizeof(c->sign_err), "%s", e.msg);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CASES; i++) {
		struct gcase *c = &cases[i];

		buf_free(&c->path);
		buf_free(&c->query);
		for (size_t j = 0; j < c->nparts; j++)
			free(c->parts[j]);
		free(c->payload);
		sigv4_signed_free(&c->sig);
		if (c->oracle)
			json_object_put(c->oracle);
	}
	return 0;
}

static void put_hex(struct buf *b, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = p;

	buf_putc(b, '"');
	if (buf_reserve(b, 2 * n + 1) == 0) {
		for (size_t i = 0; i < n; i++) {
			b->data[b->len++] = hex[s[i] >> 4];
			b->data[b->len++] = hex[s[i] & 15];
		}
		b->data[b->len] = '\0';
	}
	buf_putc(b, '"');
}

static void cases_json(struct buf *b)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < N_CASES; i++) {
		const struct gcase *c = &cases[i];

		buf_printf(b, "%s{\"service\":\"%s\",\"region\":\"%s\",\"method\":\"%s\",\"path\":",
			   i ? ",\n" : "", c->service, c->region, c->method);
		put_hex(b, c->path.data, c->path.len);
		buf_puts(b, ",\"query\":");
		put_hex(b, c->query.data, c->query.len);
		buf_puts(b, ",\"headers\":[");
		for (size_t j = 0; j < c->nh; j++) {
			buf_puts(b, j ? ",[" : "[");
			put_hex(b, c->headers[j].name, strlen(c->headers[j].name));
			buf_putc(b, ',');
			put_hex(b, c->headers[j].value, strlen(c->headers[j].value));
			buf_putc(b, ']');
		}
		buf_puts(b, "],\"payload\":");
		put_hex(b, c->payload, c->payload_len);
		buf_printf(b, ",\"unsigned\":%s,\"akid\":\"%s\",\"secret\":\"%s\",\"token\":",
			   c->unsigned_payload ? "true" : "false", c->akid, c->secret);
		if (c->token[0])
			buf_printf(b, "\"%s\"", c->token);
		else
			buf_puts(b, "null");
		buf_printf(b, ",\"time_ms\":%lld}", (long long)c->time_ms);
	}
	buf_puts(b, "]\n");
}

/* oracle_path finds sigv4_oracle.py from the working directory or from the test binary. */
static bool oracle_path(char *out, size_t outsz)
{
	char exe[PATH_MAX];
	ssize_t n;
	const char *env = getenv("SIGV4_ORACLE");

	if (env && *env) {
		snprintf(out, outsz, "%s", env);
		return access(out, R_OK) == 0;
	}
	if (access(ORACLE_REL, R_OK) == 0) {
		snprintf(out, outsz, "%s", ORACLE_REL);
		return true;
	}
	/* BUILD/tests/test_sigv4_oracle sits two levels below the source tree. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			return false;
		*slash = '\0';
	}
	snprintf(out, outsz, "%s/%s", exe, ORACLE_REL);
	return access(out, R_OK) == 0;
}

static bool run_oracle(void)
{
	char script[PATH_MAX], tmpl[PATH_MAX], cmd[3 * PATH_MAX];
	const char *tmpdir = getenv("TMPDIR");
	struct buf in, out;
	FILE *p = NULL;
	int fd = -1, status;
	bool ok = false, made = false;
	size_t got = 0, off = 0;

	buf_init(&in, (size_t)256 << 20);
	buf_init(&out, (size_t)256 << 20);
	if (access(PYTHON, X_OK) != 0) {
		snprintf(oracle_failure, sizeof(oracle_failure),
			 "%s is missing: this test needs Debian's python3 with python3-botocore; "
			 INSTALL_HINT, PYTHON);
		goto done;
	}
	if (!oracle_path(script, sizeof(script)) || strchr(script, '\'')) {
		snprintf(oracle_failure, sizeof(oracle_failure),
			 "cannot find %s; run the test from the source tree or set SIGV4_ORACLE",
			 ORACLE_REL);
		goto done;
	}
	snprintf(tmpl, sizeof(tmpl), "%s/barge-sigv4-oracle.XXXXXX",
		 tmpdir && *tmpdir && !strchr(tmpdir, '\'') ? tmpdir : "/tmp");
	fd = mkstemp(tmpl);
	if (fd < 0) {
		snprintf(oracle_failure, sizeof(oracle_failure), "mkstemp %s failed", tmpl);
		goto done;
	}
	made = true;
	cases_json(&in);
	assert_int_equal(in.err, 0);
	while (off < in.len) {
		ssize_t w = write(fd, in.data + off, in.len - off);

		if (w <= 0) {
			snprintf(oracle_failure, sizeof(oracle_failure), "writing %s failed", tmpl);
			goto done;
		}
		off += (size_t)w;
	}
	close(fd);
	fd = -1;
	snprintf(cmd, sizeof(cmd), "%s '%s' < '%s' 2>&1", PYTHON, script, tmpl);
	p = popen(cmd, "r");
	if (!p) {
		snprintf(oracle_failure, sizeof(oracle_failure), "popen(%s) failed", cmd);
		goto done;
	}
	for (;;) {
		char chunk[65536];
		size_t n = fread(chunk, 1, sizeof(chunk), p);

		if (n == 0)
			break;
		buf_append(&out, chunk, n);
	}
	status = pclose(p);
	p = NULL;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(oracle_failure, sizeof(oracle_failure),
			 "%s exited with status %d (%s): %.2000s", cmd,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			 WIFEXITED(status) && WEXITSTATUS(status) == 3
				 ? "python3-botocore is missing; " INSTALL_HINT
				 : "see its output",
			 out.data ? out.data : "");
		goto done;
	}
	for (char *line = out.data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		json_object *o, *idx;
		int64_t i;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		o = json_tokener_parse(line);
		if (!o || !json_object_object_get_ex(o, "i", &idx) ||
		    (i = json_object_get_int64(idx)) < 0 || i >= N_CASES || cases[i].oracle) {
			snprintf(oracle_failure, sizeof(oracle_failure),
				 "unexpected line from the oracle: %.500s", line);
			if (o)
				json_object_put(o);
			goto done;
		}
		cases[i].oracle = o;
		got++;
	}
	if (got != N_CASES) {
		snprintf(oracle_failure, sizeof(oracle_failure),
			 "the oracle answered %zu of %d cases", got, N_CASES);
		goto done;
	}
	ok = true;
done:
	if (p)
		pclose(p);
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmpl);
	buf_free(&in);
	buf_free(&out);
	return ok;
}

/* need_oracle runs the oracle once and fails the calling test, with the reason, if it cannot. */
static void need_oracle(void)
{
	if (!oracle_ran) {
		oracle_ran = true;
		if (!run_oracle() && !oracle_failure[0])
			snprintf(oracle_failure, sizeof(oracle_failure), "the oracle failed");
	}
	if (oracle_failure[0])
		fail_msg("botocore oracle unavailable: %s", oracle_failure);
}

static const char *oracle_str(const struct gcase *c, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(c->oracle, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static void describe(const struct gcase *c, size_t i, char *out, size_t outsz)
{
	snprintf(out, outsz, "case %zu: %s %s %s?%s (%s, payload %zu bytes%s%s)", i, c->service,
		 c->method, c->path.data ? c->path.data : "", c->query.data ? c->query.data : "",
		 c->region, c->payload_len, c->unsigned_payload ? ", UNSIGNED-PAYLOAD" : "",
		 c->token[0] ? ", session token" : "");
}

static void test_oracle_runs(void **state)
{
	(void)state;
	need_oracle();
	for (size_t i = 0; i < N_CASES; i++) {
		const char *err = oracle_str(&cases[i], "error");
		char what[1024];

		describe(&cases[i], i, what, sizeof(what));
		if (err)
			fail_msg("botocore could not sign %s: %s", what, err);
		if (cases[i].sign_rc)
			fail_msg("sigv4_sign failed on %s: %d %s", what, cases[i].sign_rc,
				 cases[i].sign_err);
	}
}

/* The generated cases must cover what the brief asks for, or the comparison proves less. */
static void test_cases_cover_the_interesting_shapes(void **state)
{
	size_t s3 = 0, bedrock_colon = 0, tokens = 0, large = 0, empty = 0, unsig = 0, enc_q = 0,
	       methods = 0;

	(void)state;
	for (size_t i = 0; i < N_CASES; i++) {
		const struct gcase *c = &cases[i];

		s3 += strcmp(c->service, "s3") == 0;
		bedrock_colon += strcmp(c->service, "bedrock") == 0 && c->path.data &&
				 (strstr(c->path.data, "%3A") || strstr(c->path.data, ":"));
		tokens += c->token[0] != '\0';
		large += c->payload_len > ((size_t)1 << 20);
		empty += c->payload_len == 0;
		unsig += c->unsigned_payload;
		enc_q += c->query.data && strchr(c->query.data, '%');
		methods += strcmp(c->method, "PUT") == 0;
	}
	assert_true(s3 > 50 && bedrock_colon > 50 && tokens > 50 && large >= 1 && empty > 50 &&
		    unsig > 10 && enc_q > 50 && methods > 20);
	assert_true(N_CASES - s3 > 100);
}

static void test_signatures_match_botocore(void **state)
{
	size_t bad = 0;

	(void)state;
	need_oracle();
	for (size_t i = 0; i < N_CASES; i++) {
		const struct gcase *c = &cases[i];
		const char *auth = oracle_str(c, "authorization");
		char what[1024];

		if (c->sign_rc || !auth)
			fail_msg("case %zu has no signature to compare: barge %d (%s), botocore %s",
				 i, c->sign_rc, c->sign_err, oracle_str(c, "error"));
		if (strcmp(auth, c->sig.authorization.data) == 0)
			continue;
		describe(c, i, what, sizeof(what));
		print_message("%s\n  barge:    %s\n  botocore: %s\n  barge canonical request:\n%s\n"
			      "  botocore canonical request:\n%s\n",
			      what, c->sig.authorization.data, auth, c->sig.canonical_request.data,
			      oracle_str(c, "canonical_request"));
		bad++;
	}
	if (bad)
		fail_msg("%zu of %d Authorization headers differ from botocore's", bad, N_CASES);
}

/* oracle_headers fills hs with the headers botocore's request carried after signing. */
static size_t oracle_headers(const struct gcase *c, struct sigv4_header *hs, size_t max)
{
	json_object *arr;
	size_t n = 0;

	if (!json_object_object_get_ex(c->oracle, "headers", &arr))
		return 0;
	for (size_t i = 0; i < json_object_array_length(arr) && n < max; i++) {
		json_object *pair = json_object_array_get_idx(arr, i);

		hs[n].name = json_object_get_string(json_object_array_get_idx(pair, 0));
		hs[n].value = json_object_get_string(json_object_array_get_idx(pair, 1));
		n++;
	}
	return n;
}

static void test_added_headers_match_botocore(void **state)
{
	(void)state;
	need_oracle();
	for (size_t i = 0; i < N_CASES; i++) {
		const struct gcase *c = &cases[i];
		struct sigv4_header hs[32];
		size_t n = oracle_headers(c, hs, 32);

		for (size_t k = 0; k < c->sig.n_add; k++) {
			bool found = false;

			for (size_t j = 0; j < n && !found; j++)
				found = strcasecmp(hs[j].name, c->sig.add[k].name) == 0 &&
					strcmp(hs[j].value, c->sig.add[k].value) == 0;
			if (!found)
				fail_msg("case %zu: botocore did not send %s: %s", i,
					 c->sig.add[k].name, c->sig.add[k].value);
		}
	}
}

static int lookup_case(void *ctx, const char *key_id, struct buf *secret, struct err *e)
{
	const struct gcase *c = ctx;

	(void)e;
	if (strcmp(key_id, c->akid) != 0)
		return ERR_NOTFOUND;
	return buf_puts(secret, c->secret);
}

/* verify_case verifies case i as the server receives it from botocore, after mutate. */
static int verify_case(size_t i, int mutation, struct sigv4_verified *out, struct err *e)
{
	struct gcase *c = &cases[i];
	struct sigv4_header hs[32];
	struct sigv4_request req;
	struct sigv4_verify_opts opts = {0};
	struct buf path, query;
	unsigned char *body = NULL;
	char hostv[256];
	size_t n = oracle_headers(c, hs, 32);
	int rc;

	buf_init(&path, 0);
	buf_init(&query, 0);
	case_request(c, &req);
	req.headers = hs;
	req.n_headers = n;
	/* The server does not know what the client meant to hash. */
	req.payload_hash = NULL;
	switch (mutation) {
	case 1: /* the last byte of the body, or one more byte */
		body = malloc(c->payload_len + 1);
		assert_non_null(body);
		if (c->payload_len)
			memcpy(body, c->payload, c->payload_len);
		if (c->payload_len)
			body[c->payload_len - 1] ^= 0x01;
		else
			body[0] = 'x';
		req.payload = body;
		req.payload_len = c->payload_len ? c->payload_len : 1;
		break;
	case 2: /* one more character in the path */
		buf_puts(&path, c->path.data ? c->path.data : "");
		buf_putc(&path, 'x');
		req.path = path.data;
		break;
	case 3: /* one more query parameter */
		buf_puts(&query, c->query.data ? c->query.data : "");
		buf_puts(&query, "&zz=1");
		req.query = query.data;
		break;
	case 4: /* a changed Host */
		for (size_t j = 0; j < n; j++) {
			if (strcasecmp(hs[j].name, "host") == 0) {
				snprintf(hostv, sizeof(hostv), "x%s", hs[j].value);
				hs[j].value = hostv;
			}
		}
		break;
	default: break;
	}
	opts.region = c->region;
	opts.service = c->service;
	/* Some clock skew, within the 15 minutes allowed. */
	opts.now_ms = c->time_ms + (int64_t)(i % 29) * 60000 - 14 * 60000;
	opts.allow_unsigned_payload = c->unsigned_payload;
	opts.lookup = lookup_case;
	opts.lookup_ctx = c;
	err_init(e);
	rc = sigv4_verify(&req, &opts, out, e);
	free(body);
	buf_free(&path);
	buf_free(&query);
	return rc;
}

static void test_verifier_accepts_botocore_requests(void **state)
{
	(void)state;
	need_oracle();
	for (size_t i = 0; i < N_CASES; i++) {
		struct sigv4_verified out;
		struct err e;
		char what[1024];
		int rc = verify_case(i, 0, &out, &e);

		if (rc != 0 || out.verdict != SIGV4_VERIFIED) {
			describe(&cases[i], i, what, sizeof(what));
			fail_msg("%s: sigv4_verify refused botocore's request: %d (%s) %s", what, rc,
				 sigv4_verdict_aws_code(out.verdict), e.msg);
		}
		assert_string_equal(out.access_key_id, cases[i].akid);
	}
}

static void test_verifier_rejects_one_change(void **state)
{
	size_t tried = 0;

	(void)state;
	need_oracle();
	for (size_t i = 0; i < N_CASES; i++) {
		int mutation = 1 + (int)(i % 4);
		struct sigv4_verified out;
		struct err e;
		char what[1024];
		int rc;

		/* An unsigned body may change: that is what UNSIGNED-PAYLOAD means. */
		if (mutation == 1 && cases[i].unsigned_payload)
			mutation = 2;
		rc = verify_case(i, mutation, &out, &e);
		tried++;
		if (rc != ERR_AUTH || out.verdict != SIGV4_BAD_SIGNATURE) {
			describe(&cases[i], i, what, sizeof(what));
			fail_msg("%s: change %d was not caught: %d (%s) %s", what, mutation, rc,
				 sigv4_verdict_aws_code(out.verdict), e.msg);
		}
	}
	assert_int_equal(tried, N_CASES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oracle_runs),
		cmocka_unit_test(test_cases_cover_the_interesting_shapes),
		cmocka_unit_test(test_signatures_match_botocore),
		cmocka_unit_test(test_added_headers_match_botocore),
		cmocka_unit_test(test_verifier_accepts_botocore_requests),
		cmocka_unit_test(test_verifier_rejects_one_change),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
