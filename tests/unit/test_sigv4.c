/* test_sigv4.c - unit tests of AWS Signature Version 4 (src/util/sigv4.c): known answers, canonical forms, verification. */
#include "testutil.h"

#include <stdbool.h>
#include <strings.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/sigv4.h"

/*
 * Where the expected values come from. The "suite" cases are AWS's
 * Signature Version 4 test suite (aws-sig-v4-test-suite, credentials
 * AKIDEXAMPLE, region us-east-1, service "service", 20150830T123600Z). The
 * canonical requests follow from the suite's requests by the published
 * rules. Every expected signature below was computed with Debian's
 * python3-botocore 1.29.27 (botocore.auth.SigV4Auth with a fixed clock) and,
 * except where a case says "botocore only", also equals the value AWS
 * publishes in the suite as far as the author remembers it; the two sources
 * agreed on every such case. The S3 cases are the examples of AWS's S3
 * documentation "Signature Calculations for the Authorization Header"
 * (AKIAIOSFODNN7EXAMPLE, examplebucket, 20130524T000000Z), again checked
 * against botocore.auth.S3SigV4Auth.
 */
#define SUITE_KEY_ID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE "20150830T123600Z"
#define SUITE_MS 1440938160000LL /* 2015-08-30T12:36:00Z */
#define SUITE_HOST "example.amazonaws.com"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SUITE_SCOPE "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"

#define S3_KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_MS 1369353600000LL /* 2013-05-24T00:00:00Z */
#define S3_HOST "examplebucket.s3.amazonaws.com"

#define STS_TOKEN                                                                          \
	"AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMi" \
	"cRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZam" \
	"pKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7" \
	"ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/" \
	"oLxBA=="

#define UNRESERVED "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
/* U+1234 ETHIOPIC SYLLABLE SEE, the suite's UTF-8 character. */
#define U1234 "\xe1\x88\xb4"

static const struct sigv4_creds suite_creds = {SUITE_KEY_ID, SUITE_SECRET, NULL};
static const struct sigv4_creds s3_creds = {S3_KEY_ID, S3_SECRET, NULL};

/* One known-answer case in the suite's form: host and x-amz-date plus extra headers. */
struct kat {
	const char *name;
	const char *method;
	const char *path;
	const char *query;
	struct sigv4_header extra[4];
	size_t n_extra;
	const char *payload;
	const char *canonical; /* the canonical request without its last line, the payload hash */
	const char *payload_hash;
	const char *signed_headers;
	const char *signature;
};

#define CANON_HEAD(m, uri, q) m "\n" uri "\n" q "\nhost:" SUITE_HOST "\n"
#define CANON_DATE "x-amz-date:" SUITE_DATE "\n\n"

static const struct kat suite[] = {
	{"get-vanilla", "GET", "/", NULL, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	/* "GET /? HTTP/1.1": an empty query is no query. */
	{"get-vanilla-query", "GET", "/", "", {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"get-vanilla-empty-query-key", "GET", "/", "Param1=value1", {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/", "Param1=value1") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
	{"get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1", {{0}}, 0,
	 NULL,
	 CANON_HEAD("GET", "/", "Param1=value1&Param2=value2") CANON_DATE "host;x-amz-date\n",
	 EMPTY_SHA256, "host;x-amz-date",
	 "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	/* botocore only: sorting by value after name ("V" < "v"). */
	{"get-vanilla-query-order-value", "GET", "/", "Param1=value2&Param1=Value1", {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/", "Param1=Value1&Param1=value2") CANON_DATE "host;x-amz-date\n",
	 EMPTY_SHA256, "host;x-amz-date",
	 "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
	{"get-vanilla-query-unreserved", "GET", "/", UNRESERVED "=" UNRESERVED, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/", UNRESERVED "=" UNRESERVED) CANON_DATE "host;x-amz-date\n",
	 EMPTY_SHA256, "host;x-amz-date",
	 "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
	{"get-vanilla-utf8-query", "GET", "/", U1234 "=bar", {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/", "%E1%88%B4=bar") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
	{"get-header-key-duplicate", "GET", "/", NULL,
	 {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}, 3, NULL,
	 CANON_HEAD("GET", "/", "") "my-header1:value2,value2,value1\n" CANON_DATE
				    "host;my-header1;x-amz-date\n",
	 EMPTY_SHA256, "host;my-header1;x-amz-date",
	 "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
	{"get-header-value-order", "GET", "/", NULL,
	 {{"My-Header1", "value4"}, {"My-Header1", "value1"}, {"My-Header1", "value3"},
	  {"My-Header1", "value2"}},
	 4, NULL,
	 CANON_HEAD("GET", "/", "") "my-header1:value4,value1,value3,value2\n" CANON_DATE
				    "host;my-header1;x-amz-date\n",
	 EMPTY_SHA256, "host;my-header1;x-amz-date",
	 "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
	{"get-header-value-trim", "GET", "/", NULL,
	 {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}, 2, NULL,
	 CANON_HEAD("GET", "/", "") "my-header1:value1\nmy-header2:\"a b c\"\n" CANON_DATE
				    "host;my-header1;my-header2;x-amz-date\n",
	 EMPTY_SHA256, "host;my-header1;my-header2;x-amz-date",
	 "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
	{"get-unreserved", "GET", "/" UNRESERVED, NULL, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/" UNRESERVED, "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
	{"get-utf8", "GET", "/" U1234, NULL, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/%E1%88%B4", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
	/* normalize-path/get-space: a raw space in the path. */
	{"get-space", "GET", "/example space/", NULL, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/example%20space/", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
	{"get-slash", "GET", "//", NULL, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"get-slash-dot-slash", "GET", "/./", NULL, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"get-slash-pointless-dot", "GET", "/./example", NULL, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/example", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"},
	{"get-slashes", "GET", "//example//", NULL, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/example/", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
	{"get-relative", "GET", "/example/..", NULL, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"get-relative-relative", "GET", "/example1/example2/../..", NULL, {{0}}, 0, NULL,
	 CANON_HEAD("GET", "/", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"post-vanilla", "POST", "/", NULL, {{0}}, 0, NULL,
	 CANON_HEAD("POST", "/", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	{"post-vanilla-query", "POST", "/", "Param1=value1", {{0}}, 0, NULL,
	 CANON_HEAD("POST", "/", "Param1=value1") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
	/* botocore only (the published value was not remembered with certainty). */
	{"post-header-key-sort", "POST", "/", NULL, {{"My-Header1", "value1"}}, 1, NULL,
	 CANON_HEAD("POST", "/", "") "my-header1:value1\n" CANON_DATE
				     "host;my-header1;x-amz-date\n",
	 EMPTY_SHA256, "host;my-header1;x-amz-date",
	 "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
	{"post-x-www-form-urlencoded", "POST", "/", NULL,
	 {{"Content-Type", "application/x-www-form-urlencoded"}}, 1, "Param1=value1",
	 "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:" SUITE_HOST
	 "\n" CANON_DATE "content-type;host;x-amz-date\n",
	 "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
	 "content-type;host;x-amz-date",
	 "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
	{"post-x-www-form-urlencoded-parameters", "POST", "/", NULL,
	 {{"Content-Type", "application/x-www-form-urlencoded; charset=utf8"}}, 1, "Param1=value1",
	 "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf8\nhost:" SUITE_HOST
	 "\n" CANON_DATE "content-type;host;x-amz-date\n",
	 "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
	 "content-type;host;x-amz-date",
	 "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
	/* post-sts-token/post-sts-header-before: the session token is signed. */
	{"post-sts-header-before", "POST", "/", NULL, {{"X-Amz-Security-Token", STS_TOKEN}}, 1,
	 NULL,
	 CANON_HEAD("POST", "/", "") "x-amz-date:" SUITE_DATE "\nx-amz-security-token:" STS_TOKEN
				     "\n\nhost;x-amz-date;x-amz-security-token\n",
	 EMPTY_SHA256, "host;x-amz-date;x-amz-security-token",
	 "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
	/*
	 * post-sts-token/post-sts-header-after: the token is added after
	 * signing, so the signature is post-vanilla's.
	 */
	{"post-sts-header-after", "POST", "/", NULL, {{0}}, 0, NULL,
	 CANON_HEAD("POST", "/", "") CANON_DATE "host;x-amz-date\n", EMPTY_SHA256,
	 "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
};

static void run_kat(const struct kat *k)
{
	struct sigv4_header hs[8];
	struct sigv4_request req = {0};
	struct sigv4_signed out;
	struct err e;
	char want[2048];
	size_t n = 0;
	int rc;

	hs[n++] = (struct sigv4_header){"Host", SUITE_HOST};
	hs[n++] = (struct sigv4_header){"X-Amz-Date", SUITE_DATE};
	for (size_t i = 0; i < k->n_extra; i++)
		hs[n++] = k->extra[i];
	req.method = k->method;
	req.path = k->path;
	req.query = k->query;
	req.headers = hs;
	req.n_headers = n;
	req.payload = k->payload;
	req.payload_len = k->payload ? strlen(k->payload) : 0;
	err_init(&e);
	sigv4_signed_init(&out);
	rc = sigv4_sign_exact(&req, &suite_creds, "us-east-1", "service", &out, &e);
	if (rc)
		fail_msg("%s: sigv4_sign_exact failed with %d: %s", k->name, rc, e.msg);
	snprintf(want, sizeof(want), "%s%s", k->canonical, k->payload_hash);
	if (strcmp(out.canonical_request.data, want) != 0)
		fail_msg("%s: canonical request\n%s\nwant\n%s", k->name,
			 out.canonical_request.data, want);
	if (strcmp(out.signature, k->signature) != 0)
		fail_msg("%s: signature %s, want %s", k->name, out.signature, k->signature);
	snprintf(want, sizeof(want),
		 "AWS4-HMAC-SHA256 Credential=" SUITE_SCOPE ", SignedHeaders=%s, Signature=%s",
		 k->signed_headers, k->signature);
	assert_string_equal(out.authorization.data, want);
	assert_int_equal(out.n_add, 1);
	assert_string_equal(out.add[0].name, "Authorization");
	assert_string_equal(out.add[0].value, want);
	assert_string_equal(out.content_sha256, k->payload_hash);
	sigv4_signed_free(&out);
}

static void test_suite_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++)
		run_kat(&suite[i]);
}

static void test_suite_string_to_sign(void **state)
{
	struct sigv4_header hs[] = {{"Host", SUITE_HOST}, {"X-Amz-Date", SUITE_DATE}};
	struct sigv4_request req = {.method = "GET", .path = "/", .headers = hs, .n_headers = 2};
	struct sigv4_signed out;
	struct err e;

	(void)state;
	sigv4_signed_init(&out);
	assert_ok(sigv4_sign_exact(&req, &suite_creds, "us-east-1", "service", &out, &e), &e);
	/* get-vanilla.sts as published. */
	assert_string_equal(out.string_to_sign.data,
			    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/"
			    "aws4_request\n"
			    "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
	sigv4_signed_free(&out);
}

/*
 * The session token through sigv4_sign: it is added and signed, and so is
 * x-amz-content-sha256, so the signature is not the suite's; the structure
 * is checked here and botocore checks the value in test_sigv4_oracle.
 */
static void test_sign_adds_token_date_and_hash(void **state)
{
	struct sigv4_header hs[] = {{"Host", SUITE_HOST}};
	struct sigv4_request req = {.method = "POST", .path = "/", .headers = hs, .n_headers = 1};
	struct sigv4_creds c = {SUITE_KEY_ID, SUITE_SECRET, STS_TOKEN};
	struct sigv4_signed out;
	struct err e;

	(void)state;
	sigv4_signed_init(&out);
	assert_ok(sigv4_sign(&req, &c, "us-east-1", "service", SUITE_MS + 999, &out, &e), &e);
	assert_int_equal(out.n_add, 4);
	assert_string_equal(out.add[0].name, "x-amz-date");
	assert_string_equal(out.add[0].value, SUITE_DATE);
	assert_string_equal(out.add[1].name, "x-amz-content-sha256");
	assert_string_equal(out.add[1].value, EMPTY_SHA256);
	assert_string_equal(out.add[2].name, "x-amz-security-token");
	assert_string_equal(out.add[2].value, STS_TOKEN);
	assert_string_equal(out.add[3].name, "Authorization");
	assert_contains(out.add[3].value,
			"AWS4-HMAC-SHA256 Credential=" SUITE_SCOPE
			", SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
			"x-amz-security-token, Signature=");
	assert_contains(out.canonical_request.data, "x-amz-security-token:" STS_TOKEN "\n");

	/* Signing again refills the same struct; without a token there are three headers. */
	assert_ok(sigv4_sign(&req, &suite_creds, "us-east-1", "service", SUITE_MS, &out, &e), &e);
	assert_int_equal(out.n_add, 3);
	assert_string_equal(out.add[2].name, "Authorization");
	assert_int_equal(out.token.len, 0);
	sigv4_signed_free(&out);
}

/* s3_sign signs an S3 example at 20130524T000000Z with sigv4_sign and checks the header. */
static void s3_sign(const char *method, const char *path, const char *query,
		    const struct sigv4_header *hs, size_t nh, const char *payload,
		    const char *signed_headers, const char *signature, struct sigv4_signed *out)
{
	struct sigv4_request req = {0};
	struct err e;
	char want[1024];

	req.method = method;
	req.path = path;
	req.query = query;
	req.headers = hs;
	req.n_headers = nh;
	req.payload = payload;
	req.payload_len = payload ? strlen(payload) : 0;
	assert_ok(sigv4_sign(&req, &s3_creds, "us-east-1", "s3", S3_MS, out, &e), &e);
	snprintf(want, sizeof(want),
		 "AWS4-HMAC-SHA256 Credential=" S3_KEY_ID "/20130524/us-east-1/s3/aws4_request, "
		 "SignedHeaders=%s, Signature=%s",
		 signed_headers, signature);
	if (strcmp(out->authorization.data, want) != 0)
		fail_msg("%s %s: Authorization\n%s\nwant\n%s\ncanonical request:\n%s", method, path,
			 out->authorization.data, want, out->canonical_request.data);
}

static void test_s3_get_object_example(void **state)
{
	struct sigv4_header hs[] = {{"Host", S3_HOST}, {"Range", "bytes=0-9"}};
	struct sigv4_signed out;

	(void)state;
	sigv4_signed_init(&out);
	s3_sign("GET", "/test.txt", NULL, hs, 2, NULL,
		"host;range;x-amz-content-sha256;x-amz-date",
		"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", &out);
	assert_string_equal(out.canonical_request.data,
			    "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
			    "range:bytes=0-9\nx-amz-content-sha256:" EMPTY_SHA256 "\n"
			    "x-amz-date:20130524T000000Z\n\n"
			    "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256);
	assert_string_equal(out.string_to_sign.data,
			    "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
			    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	sigv4_signed_free(&out);
}

static void test_s3_put_object_example(void **state)
{
	struct sigv4_header hs[] = {{"Host", S3_HOST},
				    {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
				    {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
	struct sigv4_signed out;

	(void)state;
	sigv4_signed_init(&out);
	/* The documentation's key is "test$file.text", sent encoded. */
	s3_sign("PUT", "/test%24file.text", NULL, hs, 3, "Welcome to Amazon S3.",
		"date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
		"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd", &out);
	assert_string_equal(out.content_sha256,
			    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	/* S3 encodes the path once: a '$' sent raw is signed as %24 all the same. */
	s3_sign("PUT", "/test$file.text", NULL, hs, 3, "Welcome to Amazon S3.",
		"date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
		"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd", &out);
	sigv4_signed_free(&out);
}

static void test_s3_get_lifecycle_and_list_examples(void **state)
{
	struct sigv4_header hs[] = {{"Host", S3_HOST}};
	struct sigv4_signed out;

	(void)state;
	sigv4_signed_init(&out);
	s3_sign("GET", "/", "lifecycle", hs, 1, NULL, "host;x-amz-content-sha256;x-amz-date",
		"fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543", &out);
	assert_contains(out.canonical_request.data, "GET\n/\nlifecycle=\n");
	s3_sign("GET", "/", "max-keys=2&prefix=J", hs, 1, NULL,
		"host;x-amz-content-sha256;x-amz-date",
		"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", &out);
	/* The same list with its parameters in the other order signs the same. */
	s3_sign("GET", "/", "prefix=J&max-keys=2", hs, 1, NULL,
		"host;x-amz-content-sha256;x-amz-date",
		"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", &out);
	sigv4_signed_free(&out);
}

static void expect_encode(const char *in, bool keep_slash, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(sigv4_uri_encode(&b, in, strlen(in), keep_slash), 0);
	assert_string_equal(b.data ? b.data : "", want);
	buf_free(&b);
}

static void test_uri_encode(void **state)
{
	struct buf b;

	(void)state;
	expect_encode(UNRESERVED, false, UNRESERVED);
	expect_encode("a b/c", false, "a%20b%2Fc");
	expect_encode("a b/c", true, "a%20b/c");
	expect_encode("anthropic.claude-v2:1", true, "anthropic.claude-v2%3A1");
	expect_encode("%3A", false, "%253A");
	expect_encode("!*'();:@&=+$,?#[]", false,
		      "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%3F%23%5B%5D");
	expect_encode(U1234 "\xff", false, "%E1%88%B4%FF");
	expect_encode("", true, "");
	/* An embedded NUL is a byte like any other. */
	buf_init(&b, 0);
	assert_int_equal(sigv4_uri_encode(&b, "a\0b", 3, false), 0);
	assert_string_equal(b.data, "a%00b");
	buf_free(&b);
	/* The cap holds. */
	buf_init(&b, 8);
	assert_int_equal(sigv4_uri_encode(&b, "        ", 8, false), ERR_LIMIT);
	buf_free(&b);
}

static void test_uri_decode(void **state)
{
	struct buf b;
	const char *in = "%41%62c%2f%2F%zz%4+%";

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(sigv4_uri_decode(&b, in, strlen(in)), 0);
	/* Bad escapes stay as they are, and '+' is not a space. */
	assert_string_equal(b.data, "Abc//%zz%4+%");
	buf_reset(&b);
	assert_int_equal(sigv4_uri_decode(&b, "%00x", 4), 0);
	assert_int_equal(b.len, 2);
	assert_int_equal(b.data[0], '\0');
	buf_free(&b);
}

static void expect_uri(const char *path, bool s3, const char *want)
{
	struct buf b;
	struct err e;

	buf_init(&b, 0);
	assert_ok(sigv4_canonical_uri(&b, path, s3, &e), &e);
	if (strcmp(b.data, want) != 0)
		fail_msg("canonical URI of \"%s\" (%s): \"%s\", want \"%s\"", path ? path : "(null)",
			 s3 ? "s3" : "not s3", b.data, want);
	buf_free(&b);
}

static void test_canonical_uri(void **state)
{
	(void)state;
	/* Every service but S3 encodes the path as sent once more. */
	expect_uri("/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke", false,
		   "/model/anthropic.claude-3-haiku-20240307-v1%253A0/invoke");
	expect_uri("/model/anthropic.claude-3-haiku-20240307-v1:0/invoke", false,
		   "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke");
	expect_uri("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse",
		   false,
		   "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A1%253Ainference-profile%252Fus.x/"
		   "converse");
	expect_uri("", false, "/");
	expect_uri(NULL, false, "/");
	expect_uri("/a/b/../c/./d//", false, "/a/c/d/");
	expect_uri("/../..", false, "/");
	/* S3 encodes once: already encoded stays, raw gets encoded, hex is uppercased. */
	expect_uri("/bucket/my%20key.txt", true, "/bucket/my%20key.txt");
	expect_uri("/bucket/my key.txt", true, "/bucket/my%20key.txt");
	expect_uri("/bucket/a%2fb%3a", true, "/bucket/a%2Fb%3A");
	expect_uri("/bucket/a+b=c", true, "/bucket/a%2Bb%3Dc");
	expect_uri("/bucket/" U1234, true, "/bucket/%E1%88%B4");
	/* S3 keeps dot segments, empty segments and the trailing slash. */
	expect_uri("/bucket//x/./y/../", true, "/bucket//x/./y/../");
	expect_uri("/bucket", true, "/bucket");
	expect_uri("", true, "/");
}

static void expect_query(const char *q, const char *want)
{
	struct buf b;
	struct err e;

	buf_init(&b, 0);
	assert_ok(sigv4_canonical_query(&b, q, &e), &e);
	if (strcmp(b.data ? b.data : "", want) != 0)
		fail_msg("canonical query of \"%s\": \"%s\", want \"%s\"", q ? q : "(null)",
			 b.data ? b.data : "", want);
	buf_free(&b);
}

static void test_canonical_query(void **state)
{
	(void)state;
	expect_query(NULL, "");
	expect_query("", "");
	expect_query("?", "");
	/* Decoded first, then encoded: both spellings of a space are one. */
	expect_query("a=b c", "a=b%20c");
	expect_query("a=b%20c", "a=b%20c");
	expect_query("a=b%2fc", "a=b%2Fc");
	expect_query("prefix=logs/2024/", "prefix=logs%2F2024%2F");
	expect_query("b=2&a=1&a", "a=&a=1&b=2");
	expect_query("flag", "flag=");
	expect_query("k=v=w", "k=v%3Dw");
	expect_query("&&a=1&", "a=1");
	expect_query("a+b=c+d", "a%2Bb=c%2Bd");
	expect_query("?list-type=2&continuation-token=1%2Fabc%3D%3D",
		     "continuation-token=1%2Fabc%3D%3D&list-type=2");
	/* Sorted by encoded name, so "%" (0x25) sorts before letters. */
	expect_query("z=1&" U1234 "=2&A=3&_=4", "%E1%88%B4=2&A=3&_=4&z=1");
	expect_query("x=100%&y=%zz", "x=100%25&y=%25zz");
	expect_query("uploadId=VXBsb2FkIElE&partNumber=10",
		     "partNumber=10&uploadId=VXBsb2FkIElE");
}

static void test_canonical_headers_trim_and_case(void **state)
{
	struct sigv4_header hs[] = {{"Host", "h"},
				    {"X-Trim", "\t a \t\t b  c \t"},
				    {"x-trim", "\x1f\v d \f"},
				    {"X-EMPTY", ""},
				    {"Content-Type", "application/json"}};
	struct sigv4_request req = {.method = "post", .path = "/", .headers = hs, .n_headers = 5,
				    .payload = "{}", .payload_len = 2};
	struct buf cr, sh;
	struct err e;

	(void)state;
	buf_init(&cr, 0);
	buf_init(&sh, 0);
	assert_ok(sigv4_canonical_request(&cr, &sh, &req, "bedrock", &e), &e);
	assert_string_equal(cr.data,
			    "POST\n/\n\ncontent-type:application/json\nhost:h\nx-empty:\n"
			    "x-trim:a b c,d\n\ncontent-type;host;x-empty;x-trim\n"
			    "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
	assert_string_equal(sh.data, "content-type;host;x-empty;x-trim");

	/* x-amz-content-sha256 among the headers stands for the body. */
	hs[4] = (struct sigv4_header){"X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"};
	buf_reset(&cr);
	assert_ok(sigv4_canonical_request(&cr, NULL, &req, "bedrock", &e), &e);
	assert_contains(cr.data, "\nhost;x-amz-content-sha256;x-empty;x-trim\nUNSIGNED-PAYLOAD");

	/* A malformed header name is refused. */
	hs[1].name = "Bad Name";
	buf_reset(&cr);
	assert_int_equal(sigv4_canonical_request(&cr, NULL, &req, "bedrock", &e), ERR_INVAL);
	assert_contains(e.msg, "malformed name");
	buf_free(&cr);
	buf_free(&sh);
}

static void test_sha256_and_dates(void **state)
{
	char hex[SIGV4_HEX_LEN + 1], d[SIGV4_DATE_LEN + 1];
	int64_t ms = 0;
	struct err e;

	(void)state;
	assert_int_equal(sigv4_sha256_hex(NULL, 0, hex), 0);
	assert_string_equal(hex, EMPTY_SHA256);
	assert_int_equal(sigv4_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	assert_ok(sigv4_format_date(SUITE_MS + 999, d, &e), &e);
	assert_string_equal(d, SUITE_DATE);
	assert_ok(sigv4_format_date(0, d, &e), &e);
	assert_string_equal(d, "19700101T000000Z");
	assert_int_equal(sigv4_format_date(-1, d, &e), ERR_INVAL);
	assert_contains(e.msg, "system clock");
	assert_int_equal(sigv4_parse_date(SUITE_DATE, &ms), 0);
	assert_int_equal(ms, SUITE_MS);
	assert_int_equal(sigv4_parse_date("20240229T235959Z", &ms), 0);
	ms = 7;
	assert_int_equal(sigv4_parse_date("20150830T123600", &ms), ERR_INVAL);
	assert_int_equal(sigv4_parse_date("20150830T123600Z ", &ms), ERR_INVAL);
	assert_int_equal(sigv4_parse_date("20150230T123600Z", &ms), ERR_INVAL);
	assert_int_equal(sigv4_parse_date("2015-08-30T12:36:00Z", &ms), ERR_INVAL);
	assert_int_equal(sigv4_parse_date("20150830t123600z", &ms), ERR_INVAL);
	assert_int_equal(sigv4_parse_date("", &ms), ERR_INVAL);
	assert_int_equal(ms, 7);
}

static void test_sign_rejects_bad_input(void **state)
{
	struct sigv4_header hs[3] = {{"Host", SUITE_HOST}, {"X-Amz-Date", SUITE_DATE}};
	struct sigv4_request req = {.method = "GET", .path = "/", .headers = hs, .n_headers = 1};
	struct sigv4_creds nokey = {"", SUITE_SECRET, NULL};
	struct sigv4_creds badtoken = {SUITE_KEY_ID, SUITE_SECRET, "a\r\nX-Evil: 1"};
	struct sigv4_signed out;
	struct err e;

	(void)state;
	sigv4_signed_init(&out);
	assert_int_equal(sigv4_sign(&req, &nokey, "us-east-1", "s3", SUITE_MS, &out, &e), ERR_AUTH);
	assert_contains(e.msg, "access key id");
	assert_int_equal(sigv4_sign(&req, NULL, "us-east-1", "s3", SUITE_MS, &out, &e), ERR_AUTH);
	assert_int_equal(sigv4_sign(&req, &badtoken, "us-east-1", "s3", SUITE_MS, &out, &e),
			 ERR_AUTH);
	assert_contains(e.msg, "line break");
	assert_int_equal(sigv4_sign(&req, &suite_creds, "", "s3", SUITE_MS, &out, &e), ERR_INVAL);
	assert_contains(e.msg, "region");
	assert_int_equal(sigv4_sign(&req, &suite_creds, "us-east-1", "s/3", SUITE_MS, &out, &e),
			 ERR_INVAL);
	assert_contains(e.msg, "service");
	assert_int_equal(sigv4_sign(&req, &suite_creds, "us-east-1", "s3", -5, &out, &e), ERR_INVAL);

	/* The signer adds x-amz-date itself. */
	req.n_headers = 2;
	assert_int_equal(sigv4_sign(&req, &suite_creds, "us-east-1", "s3", SUITE_MS, &out, &e),
			 ERR_INVAL);
	assert_contains(e.msg, "x-amz-date");
	assert_int_equal(out.n_add, 0);

	/* host is always signed, so it must be there. */
	req.headers = hs + 1;
	req.n_headers = 0;
	assert_int_equal(sigv4_sign(&req, &suite_creds, "us-east-1", "s3", SUITE_MS, &out, &e),
			 ERR_INVAL);
	assert_contains(e.msg, "host");
	req.n_headers = 1;
	assert_int_equal(sigv4_sign_exact(&req, &suite_creds, "us-east-1", "s3", &out, &e),
			 ERR_INVAL);
	assert_contains(e.msg, "host");

	/* sigv4_sign_exact needs the date among the headers. */
	req.headers = hs;
	req.n_headers = 1;
	assert_int_equal(sigv4_sign_exact(&req, &suite_creds, "us-east-1", "s3", &out, &e),
			 ERR_INVAL);
	assert_contains(e.msg, "x-amz-date");

	/* Payload hashes must agree and fit. */
	hs[1] = (struct sigv4_header){"x-amz-content-sha256", EMPTY_SHA256};
	req.n_headers = 2;
	req.payload_hash = "UNSIGNED-PAYLOAD";
	assert_int_equal(sigv4_sign(&req, &suite_creds, "us-east-1", "s3", SUITE_MS, &out, &e),
			 ERR_INVAL);
	assert_contains(e.msg, "conflicting");
	/* Two of them conflict as well. */
	hs[2] = (struct sigv4_header){"X-Amz-Content-Sha256", EMPTY_SHA256};
	req.n_headers = 3;
	req.payload_hash = NULL;
	assert_int_equal(sigv4_sign(&req, &suite_creds, "us-east-1", "s3", SUITE_MS, &out, &e),
			 ERR_INVAL);
	assert_contains(e.msg, "conflicting");
	req.n_headers = 1;
	req.payload_hash = EMPTY_SHA256 "0";
	assert_int_equal(sigv4_sign(&req, &suite_creds, "us-east-1", "s3", SUITE_MS, &out, &e),
			 ERR_INVAL);
	assert_contains(e.msg, "payload hash");

	/* A caller's x-amz-content-sha256 is used and not added twice. */
	req.payload_hash = NULL;
	hs[1] = (struct sigv4_header){"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"};
	req.n_headers = 2;
	assert_ok(sigv4_sign(&req, &suite_creds, "us-east-1", "s3", SUITE_MS, &out, &e), &e);
	assert_int_equal(out.n_add, 2);
	assert_string_equal(out.content_sha256, "UNSIGNED-PAYLOAD");
	assert_contains(out.canonical_request.data, "\nUNSIGNED-PAYLOAD");
	sigv4_signed_free(&out);
}

/* ---- verification ---- */

#define BEDROCK_HOST "bedrock-runtime.us-east-1.amazonaws.com"
#define BEDROCK_PATH "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"
#define BEDROCK_BODY "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":10}"

static int lookup_table(void *ctx, const char *key_id, struct buf *secret, struct err *e)
{
	int *calls = ctx;

	if (calls)
		(*calls)++;
	if (strcmp(key_id, SUITE_KEY_ID) == 0)
		return buf_puts(secret, SUITE_SECRET);
	if (strcmp(key_id, "AKIDBROKEN") == 0)
		return err_set(e, ERR_IO, "the key file could not be read");
	return ERR_NOTFOUND;
}

/* A request as the server receives it: the client's headers plus what signing added. */
struct rx {
	struct sigv4_header h[16];
	size_t n;
	char auth[2048];
	char hash[SIGV4_HASH_MAX + 1];
	struct sigv4_request req;
	struct sigv4_verify_opts opts;
	struct sigv4_verified out;
	struct err e;
};

static const struct sigv4_header bedrock_headers[] = {
	{"Host", BEDROCK_HOST},
	{"Content-Type", "application/json"},
	{"Accept", "application/json"},
};

/* rx_sign signs a Bedrock InvokeModel request with sigv4_sign and builds what the server sees. */
static void rx_sign(struct rx *rx, const struct sigv4_creds *creds, const char *query)
{
	struct sigv4_request req = {0};
	struct sigv4_signed s;
	struct err e;

	memset(rx, 0, sizeof(*rx));
	req.method = "POST";
	req.path = BEDROCK_PATH;
	req.query = query;
	req.headers = bedrock_headers;
	req.n_headers = 3;
	req.payload = BEDROCK_BODY;
	req.payload_len = strlen(BEDROCK_BODY);
	sigv4_signed_init(&s);
	assert_ok(sigv4_sign(&req, creds, "us-east-1", "bedrock", SUITE_MS, &s, &e), &e);
	for (size_t i = 0; i < 3; i++)
		rx->h[rx->n++] = bedrock_headers[i];
	/* Copy what signing added, since s is freed before the request is verified. */
	snprintf(rx->hash, sizeof(rx->hash), "%s", s.content_sha256);
	snprintf(rx->auth, sizeof(rx->auth), "%s", s.authorization.data);
	for (size_t i = 0; i < s.n_add; i++) {
		if (strcmp(s.add[i].name, "x-amz-date") == 0)
			rx->h[rx->n++] = (struct sigv4_header){"X-Amz-Date", SUITE_DATE};
		else if (strcmp(s.add[i].name, "x-amz-content-sha256") == 0)
			rx->h[rx->n++] = (struct sigv4_header){"X-Amz-Content-Sha256", rx->hash};
		else if (strcmp(s.add[i].name, "x-amz-security-token") == 0)
			rx->h[rx->n++] = (struct sigv4_header){"X-Amz-Security-Token",
							       creds->session_token};
		else
			rx->h[rx->n++] = (struct sigv4_header){"Authorization", rx->auth};
	}
	sigv4_signed_free(&s);
	rx->req.method = "POST";
	rx->req.path = BEDROCK_PATH;
	rx->req.query = query;
	rx->req.headers = rx->h;
	rx->req.n_headers = rx->n;
	rx->req.payload = BEDROCK_BODY;
	rx->req.payload_len = strlen(BEDROCK_BODY);
	rx->opts.region = "us-east-1";
	rx->opts.service = "bedrock";
	rx->opts.now_ms = SUITE_MS;
	rx->opts.lookup = lookup_table;
	err_init(&rx->e);
}

static int rx_verify(struct rx *rx)
{
	err_init(&rx->e);
	return sigv4_verify(&rx->req, &rx->opts, &rx->out, &rx->e);
}

/* expect_verdict verifies rx and checks the code, the verdict and part of the message. */
static void expect_verdict(struct rx *rx, enum sigv4_verdict v, const char *msg)
{
	int rc = rx_verify(rx);

	if (rx->out.verdict != v)
		fail_msg("verdict %d (%s), want %d; rc %d: %s", rx->out.verdict,
			 sigv4_verdict_aws_code(rx->out.verdict), v, rc, rx->e.msg);
	assert_int_equal(rc, v == SIGV4_VERIFIED ? 0 : v == SIGV4_FAILED ? rc : ERR_AUTH);
	if (v == SIGV4_FAILED)
		assert_true(rc < 0 && rc != ERR_AUTH);
	if (msg)
		assert_contains(rx->e.msg, msg);
}

static struct sigv4_header *rx_find(struct rx *rx, const char *name)
{
	for (size_t i = 0; i < rx->n; i++)
		if (strcasecmp(rx->h[i].name, name) == 0)
			return &rx->h[i];
	fail_msg("no header %s", name);
	return NULL;
}

static void rx_drop(struct rx *rx, const char *name)
{
	struct sigv4_header *h = rx_find(rx, name);
	size_t i = (size_t)(h - rx->h);

	memmove(&rx->h[i], &rx->h[i + 1], (rx->n - i - 1) * sizeof(rx->h[0]));
	rx->req.n_headers = --rx->n;
}

static void test_verify_signed_request(void **state)
{
	struct rx rx;
	int calls = 0;

	(void)state;
	rx_sign(&rx, &suite_creds, NULL);
	rx.opts.lookup_ctx = &calls;
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);
	assert_string_equal(rx.out.access_key_id, SUITE_KEY_ID);
	assert_int_equal(calls, 1);
	assert_string_equal(sigv4_verdict_aws_code(rx.out.verdict), "");

	/* Any region and service are accepted when the caller does not fix them. */
	rx.opts.region = NULL;
	rx.opts.service = NULL;
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);

	/* 15 minutes either way is still in time. */
	rx.opts.now_ms = SUITE_MS + SIGV4_MAX_SKEW_MS;
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);
	rx.opts.now_ms = SUITE_MS - SIGV4_MAX_SKEW_MS;
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);

	/* Header names arrive in any case and order. */
	rx_find(&rx, "host")->name = "HOST";
	rx_find(&rx, "x-amz-date")->name = "x-amz-date";
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);
}

static void test_verify_with_session_token_and_query(void **state)
{
	struct sigv4_creds c = {SUITE_KEY_ID, SUITE_SECRET, STS_TOKEN};
	struct rx rx;

	(void)state;
	rx_sign(&rx, &c, "trace=a b&flag");
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);
	assert_contains(rx.auth, "x-amz-security-token");
	/* The same query sent with other, equivalent encodings still verifies. */
	rx.req.query = "flag=&trace=a%20b";
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);
	rx.req.query = "trace=a%20b&flag";
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);
	/* A changed token is caught. */
	rx_find(&rx, "x-amz-security-token")->value = STS_TOKEN "x";
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match the signature you provided");
}

static void test_verify_tolerates_authorization_spacing(void **state)
{
	struct rx rx;
	char squeezed[2048], *w = squeezed;

	(void)state;
	rx_sign(&rx, &suite_creds, NULL);
	/* No spaces after the commas. */
	for (const char *r = rx.auth; *r; r++) {
		if (r[0] == ' ' && r > rx.auth && r[-1] == ',')
			continue;
		*w++ = *r;
	}
	*w = '\0';
	assert_non_null(strstr(squeezed, ",SignedHeaders="));
	rx_find(&rx, "authorization")->value = squeezed;
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);

	/* Many spaces and a tab, and the parameters in another order. */
	{
		char spaced[2048];
		const char *cred = strstr(rx.auth, "Credential=");
		const char *sh = strstr(rx.auth, "SignedHeaders=");
		const char *sig = strstr(rx.auth, "Signature=");

		snprintf(spaced, sizeof(spaced), "AWS4-HMAC-SHA256  %s ,\t %.*s,   %.*s  ", sig,
			 (int)(sh - cred - 2), cred, (int)(sig - sh - 2), sh);
		rx_find(&rx, "authorization")->value = spaced;
		expect_verdict(&rx, SIGV4_VERIFIED, NULL);
	}
}

static void test_verify_detects_changed_bytes(void **state)
{
	struct rx rx;
	char body[256], path[256];

	(void)state;
	/* A body byte: the declared x-amz-content-sha256 no longer matches. */
	rx_sign(&rx, &suite_creds, NULL);
	snprintf(body, sizeof(body), "%s", BEDROCK_BODY);
	body[strlen(body) - 2] = '1';
	rx.req.payload = body;
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "x-amz-content-sha256");
	assert_string_equal(sigv4_verdict_aws_code(rx.out.verdict), "InvalidSignatureException");
	assert_int_equal(sigv4_verdict_http_status(rx.out.verdict), 403);

	/* A path byte. */
	rx_sign(&rx, &suite_creds, NULL);
	snprintf(path, sizeof(path), "%s", BEDROCK_PATH);
	path[8] = 'A';
	rx.req.path = path;
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE,
		       "The request signature we calculated does not match the signature you "
		       "provided");
	/* The model id sent with ':' raw is another canonical URI. */
	rx.req.path = "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke";
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match");

	/* A query byte, and a query where there was none. */
	rx_sign(&rx, &suite_creds, "a=1");
	rx.req.query = "a=2";
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match");
	rx.req.query = NULL;
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match");

	/* A signed header's value, and the method. */
	rx_sign(&rx, &suite_creds, NULL);
	rx_find(&rx, "content-type")->value = "application/jsoN";
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match");
	rx_sign(&rx, &suite_creds, NULL);
	rx.req.method = "PUT";
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match");

	/* An unsigned extra header does not matter. */
	rx_sign(&rx, &suite_creds, NULL);
	rx.h[rx.n++] = (struct sigv4_header){"User-Agent", "curl/7.88"};
	rx.req.n_headers = rx.n;
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);
	/* A repeated signed header does. */
	rx.h[rx.n++] = (struct sigv4_header){"Accept", "text/plain"};
	rx.req.n_headers = rx.n;
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match");

	/* The signature itself: one hex digit, its case, its length. */
	rx_sign(&rx, &suite_creds, NULL);
	{
		char *sig = strstr(rx.auth, "Signature=") + strlen("Signature=");

		sig[0] = sig[0] == '0' ? '1' : '0';
		expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match");
		sig[0] = 'A';
		expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match");
		sig[63] = '\0';
		expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match");
	}
}

static void sign_without_hash_header(struct rx *rx)
{
	/*
	 * The body is signed with sigv4_sign_exact here, without
	 * x-amz-content-sha256, so that a changed body can only be caught by
	 * the signature.
	 */
	struct sigv4_header hs[] = {{"Host", BEDROCK_HOST}, {"X-Amz-Date", SUITE_DATE}};
	struct sigv4_request req = {.method = "POST", .path = BEDROCK_PATH, .headers = hs,
				    .n_headers = 2, .payload = BEDROCK_BODY,
				    .payload_len = strlen(BEDROCK_BODY)};
	struct sigv4_signed s;
	struct err e;

	memset(rx, 0, sizeof(*rx));
	sigv4_signed_init(&s);
	assert_ok(sigv4_sign_exact(&req, &suite_creds, "us-east-1", "bedrock", &s, &e), &e);
	snprintf(rx->auth, sizeof(rx->auth), "%s", s.authorization.data);
	sigv4_signed_free(&s);
	rx->h[0] = hs[0];
	rx->h[1] = hs[1];
	rx->h[2] = (struct sigv4_header){"Authorization", rx->auth};
	rx->n = 3;
	rx->req = req;
	rx->req.headers = rx->h;
	rx->req.n_headers = rx->n;
	rx->opts.region = "us-east-1";
	rx->opts.service = "bedrock";
	rx->opts.now_ms = SUITE_MS;
	rx->opts.lookup = lookup_table;
}

static void test_verify_body_without_content_hash_header(void **state)
{
	struct rx rx;
	char body[256];

	(void)state;
	sign_without_hash_header(&rx);
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);
	snprintf(body, sizeof(body), "%s", BEDROCK_BODY);
	body[0] = '[';
	rx.req.payload = body;
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match the signature you provided");
	rx.req.payload = BEDROCK_BODY;
	rx.req.payload_len--;
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match the signature you provided");
}

static void test_verify_unknown_key_and_lookup_failure(void **state)
{
	struct rx rx;
	char auth[2048], *p;

	(void)state;
	rx_sign(&rx, &suite_creds, NULL);
	snprintf(auth, sizeof(auth), "%s", rx.auth);
	p = strstr(auth, SUITE_KEY_ID);
	memcpy(p, "AKIDNOBODY!", 11);
	/* "AKIDEXAMPLE" and "AKIDNOBODY!" have the same length. */
	rx_find(&rx, "authorization")->value = auth;
	expect_verdict(&rx, SIGV4_UNKNOWN_KEY, "The security token included in the request is invalid");
	assert_string_equal(rx.out.access_key_id, "AKIDNOBODY!");
	assert_string_equal(sigv4_verdict_aws_code(rx.out.verdict), "UnrecognizedClientException");

	memcpy(p, "AKIDBROKEN", 10);
	memmove(p + 10, p + 11, strlen(p + 11) + 1);
	expect_verdict(&rx, SIGV4_FAILED, "the key file could not be read");
	assert_int_equal(rx_verify(&rx), ERR_IO);
	assert_string_equal(rx.out.access_key_id, "AKIDBROKEN");
	assert_string_equal(sigv4_verdict_aws_code(rx.out.verdict), "InternalServerException");
	assert_int_equal(sigv4_verdict_http_status(rx.out.verdict), 500);

	/* No lookup at all is a bug of the caller, not of the client. */
	rx_sign(&rx, &suite_creds, NULL);
	rx.opts.lookup = NULL;
	expect_verdict(&rx, SIGV4_FAILED, "no key lookup");
}

static void test_verify_date_skew(void **state)
{
	struct rx rx;

	(void)state;
	rx_sign(&rx, &suite_creds, NULL);
	/* The server's clock is 16 minutes ahead: the signature has expired. */
	rx.opts.now_ms = SUITE_MS + 16 * 60 * 1000;
	expect_verdict(&rx, SIGV4_EXPIRED,
		       "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z "
		       "(20150830T125200Z - 15 min.)");
	assert_string_equal(sigv4_verdict_aws_code(rx.out.verdict), "InvalidSignatureException");
	/* 16 minutes behind: not yet current. */
	rx.opts.now_ms = SUITE_MS - 16 * 60 * 1000;
	expect_verdict(&rx, SIGV4_EXPIRED,
		       "Signature not yet current: 20150830T123600Z is still later than "
		       "20150830T123500Z (20150830T122000Z + 15 min.)");
	/* One millisecond past the window either way. */
	rx.opts.now_ms = SUITE_MS + SIGV4_MAX_SKEW_MS + 1;
	expect_verdict(&rx, SIGV4_EXPIRED, "Signature expired");
	rx.opts.now_ms = SUITE_MS - SIGV4_MAX_SKEW_MS - 1;
	expect_verdict(&rx, SIGV4_EXPIRED, "not yet current");
	/* A narrower window is honoured. */
	rx.opts.now_ms = SUITE_MS + 2 * 60 * 1000;
	rx.opts.max_skew_ms = 60 * 1000;
	expect_verdict(&rx, SIGV4_EXPIRED, "- 1 min.");
}

static void test_verify_missing_headers(void **state)
{
	struct rx rx;

	(void)state;
	rx_sign(&rx, &suite_creds, NULL);
	rx_drop(&rx, "authorization");
	expect_verdict(&rx, SIGV4_MISSING_AUTH, "Missing Authentication Token");
	assert_string_equal(sigv4_verdict_aws_code(rx.out.verdict),
			    "MissingAuthenticationTokenException");
	assert_string_equal(rx.out.access_key_id, "");

	rx_sign(&rx, &suite_creds, NULL);
	rx_drop(&rx, "x-amz-date");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "'X-Amz-Date'");
	assert_string_equal(sigv4_verdict_aws_code(rx.out.verdict), "IncompleteSignatureException");
	assert_string_equal(rx.out.access_key_id, SUITE_KEY_ID);

	/* A header named in SignedHeaders that did not arrive. */
	rx_sign(&rx, &suite_creds, NULL);
	rx_drop(&rx, "content-type");
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "'content-type' named in SignedHeaders");

	rx_sign(&rx, &suite_creds, NULL);
	rx_find(&rx, "x-amz-date")->value = "2015-08-30T12:36:00Z";
	expect_verdict(&rx, SIGV4_INCOMPLETE, "ISO 8601");

	/* Two Authorization headers. */
	rx_sign(&rx, &suite_creds, NULL);
	rx.h[rx.n++] = (struct sigv4_header){"authorization", rx.auth};
	rx.req.n_headers = rx.n;
	expect_verdict(&rx, SIGV4_INCOMPLETE, "more than one Authorization");
}

static void set_auth(struct rx *rx, const char *v)
{
	rx_find(rx, "authorization")->value = v;
}

static void test_verify_malformed_authorization(void **state)
{
	struct rx rx;

	(void)state;
	rx_sign(&rx, &suite_creds, NULL);
	set_auth(&rx, "");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "Unsupported authorization type");
	set_auth(&rx, "Bearer abc");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "Unsupported authorization type 'Bearer'");
	set_auth(&rx, "AWS AKIDEXAMPLE:c2lnbmF0dXJl");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "Unsupported authorization type 'AWS'");
	set_auth(&rx, "AWS4-HMAC-SHA256");
	expect_verdict(&rx, SIGV4_INCOMPLETE,
		       "Authorization header requires 'Credential' parameter. Authorization "
		       "header requires 'Signature' parameter. Authorization header requires "
		       "'SignedHeaders' parameter.");
	set_auth(&rx, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
		      "aws4_request, SignedHeaders=host;x-amz-date");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "requires 'Signature' parameter");
	set_auth(&rx, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
		      "aws4_request, SignedHeaders=host, Signature");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "name=value");
	set_auth(&rx, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock, "
		      "SignedHeaders=host, Signature=00");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "Credential 'AKIDEXAMPLE/20150830/us-east-1/bedrock'"
					      " is malformed");
	set_auth(&rx, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
		      "aws4_request/x, SignedHeaders=host, Signature=00");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "is malformed");
	set_auth(&rx, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
		      "aws4_request, Credential=X/20150830/us-east-1/bedrock/aws4_request, "
		      "SignedHeaders=host, Signature=00");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "more than one 'Credential'");
	set_auth(&rx, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
		      "aws4_request, SignedHeaders=host;;x-amz-date, Signature=00");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "empty header name");
	/* host must be signed. */
	set_auth(&rx, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
		      "aws4_request, SignedHeaders=x-amz-date, Signature=00");
	expect_verdict(&rx, SIGV4_INCOMPLETE, "'Host' must be a 'SignedHeader'");
}

static void test_verify_credential_scope(void **state)
{
	struct rx rx;

	(void)state;
	rx_sign(&rx, &suite_creds, NULL);
	rx.opts.region = "us-west-2";
	expect_verdict(&rx, SIGV4_BAD_SCOPE,
		       "Credential should be scoped to a valid region, not 'us-east-1'");
	assert_contains(rx.e.msg, "'us-west-2'");
	assert_string_equal(sigv4_verdict_aws_code(rx.out.verdict), "InvalidSignatureException");
	rx.opts.region = "us-east-1";
	rx.opts.service = "s3";
	expect_verdict(&rx, SIGV4_BAD_SCOPE, "Credential should be scoped to correct service: 's3'");

	rx_sign(&rx, &suite_creds, NULL);
	set_auth(&rx, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150829/us-east-1/bedrock/"
		      "aws4_request, SignedHeaders=host;x-amz-date, Signature=00");
	expect_verdict(&rx, SIGV4_BAD_SCOPE,
		       "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
		       "date from HTTP: '20150829' != '20150830', from '20150830T123600Z'.");
	set_auth(&rx, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
		      "aws4_requesT, SignedHeaders=host;x-amz-date, Signature=00");
	expect_verdict(&rx, SIGV4_BAD_SCOPE, "valid terminator: 'aws4_request', not 'aws4_requesT'");
}

static void test_verify_payload_hash_rules(void **state)
{
	struct rx rx;
	struct sigv4_header hs[] = {{"Host", BEDROCK_HOST},
				    {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}};
	struct sigv4_request req = {.method = "POST", .path = BEDROCK_PATH, .headers = hs,
				    .n_headers = 2, .payload = BEDROCK_BODY,
				    .payload_len = strlen(BEDROCK_BODY)};
	struct sigv4_signed s;
	struct err e;

	(void)state;
	/* UNSIGNED-PAYLOAD only where the caller allows it. */
	sigv4_signed_init(&s);
	assert_ok(sigv4_sign(&req, &suite_creds, "us-east-1", "bedrock", SUITE_MS, &s, &e), &e);
	memset(&rx, 0, sizeof(rx));
	rx.h[0] = hs[0];
	rx.h[1] = hs[1];
	rx.h[2] = (struct sigv4_header){"x-amz-date", SUITE_DATE};
	snprintf(rx.auth, sizeof(rx.auth), "%s", s.authorization.data);
	rx.h[3] = (struct sigv4_header){"authorization", rx.auth};
	rx.n = 4;
	sigv4_signed_free(&s);
	rx.req = req;
	rx.req.headers = rx.h;
	rx.req.n_headers = rx.n;
	rx.opts = (struct sigv4_verify_opts){.region = "us-east-1", .service = "bedrock",
					     .now_ms = SUITE_MS, .lookup = lookup_table};
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "UNSIGNED-PAYLOAD is not accepted");
	rx.opts.allow_unsigned_payload = true;
	expect_verdict(&rx, SIGV4_VERIFIED, NULL);

	/* A declared hash in upper case is compared without regard to case. */
	rx_sign(&rx, &suite_creds, NULL);
	{
		static char upper[SIGV4_HEX_LEN + 1];
		const char *v = rx_find(&rx, "x-amz-content-sha256")->value;

		for (int i = 0; i <= SIGV4_HEX_LEN; i++)
			upper[i] = (char)(v[i] >= 'a' && v[i] <= 'f' ? v[i] - 32 : v[i]);
		rx_find(&rx, "x-amz-content-sha256")->value = upper;
		/* The canonical request then carries the upper-case spelling: a mismatch. */
		expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "does not match the signature");
	}
	rx_find(&rx, "x-amz-content-sha256")->value = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
	expect_verdict(&rx, SIGV4_BAD_SIGNATURE, "not supported");
}

static void test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(sigv4_verdict_aws_code(SIGV4_MISSING_AUTH),
			    "MissingAuthenticationTokenException");
	assert_string_equal(sigv4_verdict_aws_code(SIGV4_INCOMPLETE), "IncompleteSignatureException");
	assert_string_equal(sigv4_verdict_aws_code(SIGV4_UNKNOWN_KEY), "UnrecognizedClientException");
	assert_string_equal(sigv4_verdict_aws_code(SIGV4_BAD_SIGNATURE), "InvalidSignatureException");
	assert_string_equal(sigv4_verdict_aws_code(SIGV4_EXPIRED), "InvalidSignatureException");
	assert_string_equal(sigv4_verdict_aws_code(SIGV4_BAD_SCOPE), "InvalidSignatureException");
	assert_string_equal(sigv4_verdict_aws_code(SIGV4_FAILED), "InternalServerException");
	assert_int_equal(sigv4_verdict_http_status(SIGV4_MISSING_AUTH), 403);
	assert_int_equal(sigv4_verdict_http_status(SIGV4_FAILED), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite_vectors),
		cmocka_unit_test(test_suite_string_to_sign),
		cmocka_unit_test(test_sign_adds_token_date_and_hash),
		cmocka_unit_test(test_s3_get_object_example),
		cmocka_unit_test(test_s3_put_object_example),
		cmocka_unit_test(test_s3_get_lifecycle_and_list_examples),
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_uri_decode),
		cmocka_unit_test(test_canonical_uri),
		cmocka_unit_test(test_canonical_query),
		cmocka_unit_test(test_canonical_headers_trim_and_case),
		cmocka_unit_test(test_sha256_and_dates),
		cmocka_unit_test(test_sign_rejects_bad_input),
		cmocka_unit_test(test_verify_signed_request),
		cmocka_unit_test(test_verify_with_session_token_and_query),
		cmocka_unit_test(test_verify_tolerates_authorization_spacing),
		cmocka_unit_test(test_verify_detects_changed_bytes),
		cmocka_unit_test(test_verify_body_without_content_hash_header),
		cmocka_unit_test(test_verify_unknown_key_and_lookup_failure),
		cmocka_unit_test(test_verify_date_skew),
		cmocka_unit_test(test_verify_missing_headers),
		cmocka_unit_test(test_verify_malformed_authorization),
		cmocka_unit_test(test_verify_credential_scope),
		cmocka_unit_test(test_verify_payload_hash_rules),
		cmocka_unit_test(test_verdict_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
