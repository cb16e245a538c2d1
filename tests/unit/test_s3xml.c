/* test_s3xml.c - unit tests of the reader of S3's XML answers in src/objects/s3xml.c. */
#include "testutil.h"

#include "objects/s3xml.h"

/* A ListObjectsV2 page as S3 sends it: truncated, with a continuation token. */
static const char LIST_PAGE1[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>barge-in</Name><Prefix>in/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
	"<IsTruncated>true</IsTruncated>"
	"<Contents><Key>in/a.jsonl</Key><LastModified>2026-11-26T07:49:54.000Z</LastModified>"
	"<ETag>&quot;66ffdf7b1ed74cf9fb3e8ff49aa9eeeb&quot;</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"
	"<Size>1470</Size><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
	"<DisplayName>webfile</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key>in/b.jsonl</Key><LastModified>2026-11-26T07:49:55.000Z</LastModified>"
	"<ETag>\"3858f62230ac3c915f300c664312c11f-3\"</ETag><Size>26214400</Size>"
	"<StorageClass>STANDARD</StorageClass></Contents>"
	"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+x</NextContinuationToken>"
	"<ContinuationToken>14Ytr</ContinuationToken>"
	"</ListBucketResult>";

/* The last page: not truncated, keys with entities, unicode, spaces and '+'. */
static const char LIST_PAGE2[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
	"  <Name>barge-in</Name>\n  <Prefix>in/</Prefix>\n  <StartAfter/>\n"
	"  <KeyCount>3</KeyCount>\n  <MaxKeys>1000</MaxKeys>\n"
	"  <IsTruncated>false</IsTruncated>\n"
	"  <Contents>\n    <Key>in/a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;.jsonl</Key>\n"
	"    <Size>0</Size>\n  </Contents>\n"
	"  <Contents>\n    <Key>in/caf\xC3\xA9 d\xC3\xA9j\xC3\xA0+vu.jsonl</Key>\n"
	"    <Size>18446744073709551615</Size>\n  </Contents>\n"
	"  <Contents>\n    <Key>in/cr&#x0D;lf&#10;&#233;&#x1F600;.jsonl</Key>\n"
	"    <ETag>&quot;x&quot;</ETag>\n    <Size>7</Size>\n  </Contents>\n"
	"</ListBucketResult>\n";

static const char EMPTY_LIST[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
	"<Prefix>nothing/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
	"<IsTruncated>false</IsTruncated></ListBucketResult>";

static const char INITIATE[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Bucket>barge-out</Bucket><Key>out/j/a b.jsonl.out</Key>"
	"<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA--&amp;x</UploadId>"
	"</InitiateMultipartUploadResult>";

static const char NO_SUCH_KEY[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
	"<Key>in/missing.jsonl</Key><RequestId>4442587FB7D0A2F9</RequestId>"
	"<HostId>zg/5Nk3ZHvE+K2Vr2dVvKxbUsPkFCq2M5bYQu0xGpWvJUw==</HostId></Error>";

static const char BAD_SIGNATURE[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
	"<Message>The request signature we calculated does not match the signature you provided. "
	"Check your key and signing method.</Message><AWSAccessKeyId>S3RVER</AWSAccessKeyId>"
	"<StringToSign>AWS4-HMAC-SHA256\n20261126T074954Z\n20261126/us-east-1/s3/aws4_request\n"
	"5d6f</StringToSign><SignatureProvided>abc</SignatureProvided>"
	"<CanonicalRequest>GET\n/b\nlist-type=2&amp;prefix=\nhost:127.0.0.1</CanonicalRequest>"
	"<RequestId>1</RequestId></Error>";

/* What the listing callback saw. */
struct seen {
	char keys[8][S3XML_KEY_MAX + 1];
	uint64_t sizes[8];
	char etags[8][S3XML_ETAG_MAX];
	int n;
	int stop_at; /* return 5 on this call (1-based), 0 for never */
};

static int on_object(const struct s3xml_object *o, void *ud)
{
	struct seen *s = ud;

	if (s->n < 8) {
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", o->key);
		snprintf(s->etags[s->n], sizeof(s->etags[0]), "%s", o->etag);
		s->sizes[s->n] = o->size;
	}
	s->n++;
	return s->n == s->stop_at ? 5 : 0;
}

static int parse(const char *xml, size_t n, struct seen *s, struct s3xml_page *p,
		 struct err *e)
{
	memset(s, 0, sizeof(*s));
	err_init(e);
	return s3xml_parse_list(xml, n, on_object, s, p, e);
}

static void test_list_first_page(void **state)
{
	struct s3xml_page p;
	struct seen s;
	struct err e;

	(void)state;
	assert_ok(parse(LIST_PAGE1, strlen(LIST_PAGE1), &s, &p, &e), &e);
	assert_int_equal(s.n, 2);
	assert_int_equal(p.n_objects, 2);
	assert_string_equal(s.keys[0], "in/a.jsonl");
	assert_int_equal(s.sizes[0], 1470);
	assert_string_equal(s.etags[0], "\"66ffdf7b1ed74cf9fb3e8ff49aa9eeeb\"");
	assert_string_equal(s.keys[1], "in/b.jsonl");
	assert_int_equal(s.sizes[1], 26214400);
	assert_string_equal(s.etags[1], "\"3858f62230ac3c915f300c664312c11f-3\"");
	assert_true(p.truncated);
	/* The next token, not the token this page was asked with. */
	assert_string_equal(p.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+x");
}

static void test_list_last_page_entities_unicode(void **state)
{
	struct s3xml_page p;
	struct seen s;
	struct err e;

	(void)state;
	assert_ok(parse(LIST_PAGE2, strlen(LIST_PAGE2), &s, &p, &e), &e);
	assert_int_equal(s.n, 3);
	assert_false(p.truncated);
	assert_string_equal(p.next_token, "");
	assert_string_equal(s.keys[0], "in/a & b <c> \"d\" 'e'.jsonl");
	assert_int_equal(s.sizes[0], 0);
	assert_string_equal(s.etags[0], "");
	assert_string_equal(s.keys[1], "in/caf\xC3\xA9 d\xC3\xA9j\xC3\xA0+vu.jsonl");
	assert_true(s.sizes[1] == UINT64_MAX);
	assert_string_equal(s.keys[2], "in/cr\rlf\n\xC3\xA9\xF0\x9F\x98\x80.jsonl");
	assert_string_equal(s.etags[2], "\"x\"");
}

static void test_list_empty(void **state)
{
	struct s3xml_page p;
	struct seen s;
	struct err e;

	(void)state;
	assert_ok(parse(EMPTY_LIST, strlen(EMPTY_LIST), &s, &p, &e), &e);
	assert_int_equal(s.n, 0);
	assert_int_equal(p.n_objects, 0);
	assert_false(p.truncated);
}

static void test_list_callback_stops(void **state)
{
	struct s3xml_page p;
	struct seen s;
	struct err e;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	err_init(&e);
	assert_int_equal(s3xml_parse_list(LIST_PAGE1, strlen(LIST_PAGE1), on_object, &s, &p, &e), 5);
	assert_int_equal(s.n, 1);
}

/* Every cut of a listing short of its end is an error, never a shorter listing. */
static void test_list_truncated_everywhere(void **state)
{
	const char *docs[] = {LIST_PAGE1, LIST_PAGE2, EMPTY_LIST};
	struct s3xml_page p;
	struct seen s;
	struct err e;

	(void)state;
	for (size_t d = 0; d < 3; d++) {
		size_t full = strlen(docs[d]);

		/* Trailing whitespace after the root may go: the document is complete. */
		while (full > 0 && (docs[d][full - 1] == '\n' || docs[d][full - 1] == '\r'))
			full--;
		for (size_t n = 0; n < full; n++) {
			int rc = parse(docs[d], n, &s, &p, &e);

			if (rc >= 0)
				fail_msg("document %zu cut at %zu of %zu parsed", d, n, full);
			assert_true(e.msg[0] != '\0');
		}
	}
}

static void test_list_wrong_root_and_bad_entries(void **state)
{
	static const struct {
		const char *xml;
		int rc;
		const char *msg;
	} cases[] = {
		{"<Error><Code>NoSuchBucket</Code></Error>", ERR_INVAL, "not a listing"},
		{"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", ERR_INVAL,
		 "without a <Key>"},
		{"<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>", ERR_INVAL,
		 "without a <Size>"},
		{"<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
		 ERR_INVAL, "not a number"},
		{"<ListBucketResult><Contents><Key>k</Key><Size>18446744073709551616</Size></Contents>"
		 "</ListBucketResult>",
		 ERR_INVAL, "not a number"},
		{"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", ERR_INVAL,
		 "NextContinuationToken"},
		{"<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>", ERR_INVAL,
		 "IsTruncated"},
	};
	struct s3xml_page p;
	struct seen s;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].xml, strlen(cases[i].xml), &s, &p, &e), cases[i].rc);
		assert_contains(e.msg, cases[i].msg);
	}
}

static void test_list_caps(void **state)
{
	struct s3xml_page p;
	struct seen s;
	struct err e;
	char *xml = malloc(3 * S3XML_KEY_MAX + 6000);
	char *o = xml;

	(void)state;
	assert_non_null(xml);
	/* A key of exactly S3's 1,024 bytes is fine; one more byte is not. */
	o += sprintf(o, "<ListBucketResult><Contents><Key>");
	memset(o, 'k', S3XML_KEY_MAX);
	o += S3XML_KEY_MAX;
	o += sprintf(o, "</Key><Size>1</Size></Contents></ListBucketResult>");
	assert_ok(parse(xml, (size_t)(o - xml), &s, &p, &e), &e);
	assert_int_equal(strlen(s.keys[0]), S3XML_KEY_MAX);

	o = xml;
	o += sprintf(o, "<ListBucketResult><Contents><Key>");
	memset(o, 'k', S3XML_KEY_MAX + 1);
	o += S3XML_KEY_MAX + 1;
	o += sprintf(o, "</Key><Size>1</Size></Contents></ListBucketResult>");
	assert_int_equal(parse(xml, (size_t)(o - xml), &s, &p, &e), ERR_LIMIT);
	assert_contains(e.msg, "<Key>");

	/* An overlong token. */
	o = xml;
	o += sprintf(o, "<ListBucketResult><NextContinuationToken>");
	memset(o, 't', S3XML_TOKEN_MAX);
	o += S3XML_TOKEN_MAX;
	o += sprintf(o, "</NextContinuationToken></ListBucketResult>");
	assert_int_equal(parse(xml, (size_t)(o - xml), &s, &p, &e), ERR_LIMIT);
	free(xml);
}

static void test_get_upload_id(void **state)
{
	char out[256];
	struct err e;

	(void)state;
	err_init(&e);
	assert_int_equal(s3xml_get(INITIATE, strlen(INITIATE),
				   "InitiateMultipartUploadResult/UploadId", out, sizeof(out), &e),
			 1);
	assert_string_equal(out, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA--&x");
	assert_int_equal(s3xml_get(INITIATE, strlen(INITIATE), "InitiateMultipartUploadResult/Key",
				   out, sizeof(out), &e),
			 1);
	assert_string_equal(out, "out/j/a b.jsonl.out");
	/* Absent: 0 and an empty string. */
	assert_int_equal(s3xml_get(INITIATE, strlen(INITIATE), "InitiateMultipartUploadResult/Nope",
				   out, sizeof(out), &e),
			 0);
	assert_string_equal(out, "");
	/* The path starts at the root: a child's name alone is not found. */
	assert_int_equal(s3xml_get(INITIATE, strlen(INITIATE), "UploadId", out, sizeof(out), &e), 0);
	assert_int_equal(s3xml_root(INITIATE, strlen(INITIATE), out, sizeof(out), &e), 0);
	assert_string_equal(out, "InitiateMultipartUploadResult");
}

static void test_get_errors(void **state)
{
	char code[64], msg[512];
	struct err e;

	(void)state;
	err_init(&e);
	assert_int_equal(s3xml_get(NO_SUCH_KEY, strlen(NO_SUCH_KEY), "Error/Code", code,
				   sizeof(code), &e),
			 1);
	assert_string_equal(code, "NoSuchKey");
	assert_int_equal(s3xml_get(NO_SUCH_KEY, strlen(NO_SUCH_KEY), "Error/Message", msg,
				   sizeof(msg), &e),
			 1);
	assert_string_equal(msg, "The specified key does not exist.");
	assert_int_equal(s3xml_get(BAD_SIGNATURE, strlen(BAD_SIGNATURE), "Error/Code", code,
				   sizeof(code), &e),
			 1);
	assert_string_equal(code, "SignatureDoesNotMatch");
	assert_int_equal(s3xml_root(BAD_SIGNATURE, strlen(BAD_SIGNATURE), code, sizeof(code), &e),
			 0);
	assert_string_equal(code, "Error");
	/* A Message too long for the caller's buffer is a limit error, not a cut string. */
	assert_int_equal(s3xml_get(BAD_SIGNATURE, strlen(BAD_SIGNATURE), "Error/Message", code,
				   16, &e),
			 ERR_LIMIT);
}

/* Only the element at the path counts, not one of the same name deeper down. */
static void test_get_depth_namespace_cdata(void **state)
{
	static const char nested[] =
		"<Error><Details><Code>Inner</Code></Details><Code>Outer</Code></Error>";
	static const char prefixed[] =
		"<s3:Error xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<s3:Code>SlowDown</s3:Code></s3:Error>";
	static const char cdata[] =
		"\xEF\xBB\xBF<?xml version='1.0'?><!-- a comment with <tags> -->"
		"<Error a='1' b = \"x>y\"><Message>one <![CDATA[a < b & c]]> two</Message>"
		"<!-- more --><Empty/><Code >X</Code ></Error>";
	char out[64];
	struct err e;

	(void)state;
	err_init(&e);
	assert_int_equal(s3xml_get(nested, strlen(nested), "Error/Code", out, sizeof(out), &e), 1);
	assert_string_equal(out, "Outer");
	assert_int_equal(s3xml_get(prefixed, strlen(prefixed), "Error/Code", out, sizeof(out), &e), 1);
	assert_string_equal(out, "SlowDown");
	assert_int_equal(s3xml_get(cdata, strlen(cdata), "Error/Message", out, sizeof(out), &e), 1);
	assert_string_equal(out, "one a < b & c two");
	assert_int_equal(s3xml_get(cdata, strlen(cdata), "Error/Code", out, sizeof(out), &e), 1);
	assert_string_equal(out, "X");
	assert_int_equal(s3xml_get(cdata, strlen(cdata), "Error/Empty", out, sizeof(out), &e), 1);
	assert_string_equal(out, "");
}

static void test_malformed(void **state)
{
	static const struct {
		const char *xml;
		const char *msg;
	} cases[] = {
		{"", "ends before"},
		{"   \n", "ends before"},
		{"not xml at all", "outside its root"},
		{"<Error><Code>X</Message></Error>", "not open"},
		{"<Error><Code>X</Code></Error><Error/>", "second root"},
		{"<Error><Code>a &foo; b</Code></Error>", "unknown entity"},
		{"<Error><Code>a & b</Code></Error>", "bare '&'"},
		{"<Error><Code>&#0;</Code></Error>", "invalid character reference"},
		{"<Error><Code>&#xD800;</Code></Error>", "invalid character reference"},
		{"<Error><Code>&#x110000;</Code></Error>", "invalid character reference"},
		{"<Error><Code>&#12a;</Code></Error>", "invalid character reference"},
		{"<!DOCTYPE x [<!ENTITY a \"b\">]><Error/>", "DOCTYPE"},
		{"<Error a=1><Code>X</Code></Error>", "unquoted"},
		{"<Error a><Code>X</Code></Error>", "without a value"},
		{"<Error></ Error>", "without a name"},
		{"<Error><Code>X</Code></Error>trailing", "outside its root"},
		{"<Error><Code>X</Code>", "ends before"},
		{"<Error><!-- never closed", "truncated"},
		{"<Error><![CDATA[never closed", "truncated"},
		{"<Error><Code/ ></Error>", "stray '/'"},
	};
	char out[64];
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err_init(&e);
		assert_int_equal(s3xml_get(cases[i].xml, strlen(cases[i].xml), "Error/Code", out,
					   sizeof(out), &e),
				 ERR_INVAL);
		assert_contains(e.msg, cases[i].msg);
	}
	/* A NUL byte inside the text of the element read. */
	err_init(&e);
	assert_int_equal(s3xml_get("<Error><Code>a\0b</Code></Error>", 31, "Error/Code", out,
				   sizeof(out), &e),
			 ERR_INVAL);
}

static void test_depth_and_name_caps(void **state)
{
	char xml[2048], out[16];
	char *o = xml;
	struct err e;

	(void)state;
	for (int i = 0; i <= S3XML_DEPTH_MAX; i++)
		o += sprintf(o, "<a>");
	for (int i = 0; i <= S3XML_DEPTH_MAX; i++)
		o += sprintf(o, "</a>");
	err_init(&e);
	assert_int_equal(s3xml_get(xml, (size_t)(o - xml), "a", out, sizeof(out), &e), ERR_LIMIT);
	assert_contains(e.msg, "deeper");

	o = xml;
	*o++ = '<';
	memset(o, 'n', S3XML_NAME_MAX + 1);
	o += S3XML_NAME_MAX + 1;
	o += sprintf(o, "/>");
	assert_int_equal(s3xml_root(xml, (size_t)(o - xml), out, sizeof(out), &e), ERR_LIMIT);
}

static void test_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(s3xml_escape("\"ab-3\" <&> 'x'", out, sizeof(out)), 0);
	assert_string_equal(out, "&quot;ab-3&quot; &lt;&amp;&gt; &apos;x&apos;");
	assert_int_equal(s3xml_escape("plain", out, sizeof(out)), 0);
	assert_string_equal(out, "plain");
	/* No room: an error, never a cut entity. */
	assert_int_equal(s3xml_escape("ab\"", out, 5), ERR_LIMIT);
	assert_int_equal(s3xml_escape("abcd", out, 5), 0);
	assert_int_equal(s3xml_escape("abcde", out, 5), ERR_LIMIT);
}

/* What barge escapes, the reader gives back. */
static void test_escape_round_trip(void **state)
{
	const char *s = "\"9b2cf535f27731c974343645a3985328-12\" & <'>";
	char esc[256], xml[512], out[128];
	struct err e;

	(void)state;
	assert_int_equal(s3xml_escape(s, esc, sizeof(esc)), 0);
	snprintf(xml, sizeof(xml), "<Part><ETag>%s</ETag></Part>", esc);
	err_init(&e);
	assert_int_equal(s3xml_get(xml, strlen(xml), "Part/ETag", out, sizeof(out), &e), 1);
	assert_string_equal(out, s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_first_page),
		cmocka_unit_test(test_list_last_page_entities_unicode),
		cmocka_unit_test(test_list_empty),
		cmocka_unit_test(test_list_callback_stops),
		cmocka_unit_test(test_list_truncated_everywhere),
		cmocka_unit_test(test_list_wrong_root_and_bad_entries),
		cmocka_unit_test(test_list_caps),
		cmocka_unit_test(test_get_upload_id),
		cmocka_unit_test(test_get_errors),
		cmocka_unit_test(test_get_depth_namespace_cdata),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_depth_and_name_caps),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
