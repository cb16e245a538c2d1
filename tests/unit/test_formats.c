/* test_formats.c - unit tests of the model-family adapters in src/formats/. */
#include "testutil.h"

#include <json-c/json_pointer.h>

#include "formats/common.h"
#include "formats/format.h"
#include "util/json.h"

/*
 * The JSON in these tests is written with single quotes, which sq() turns
 * into double quotes, so that bodies stay readable; no test text contains
 * an apostrophe.
 */
static char *sq(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

/*
 * pj parses single-quoted JSON; the caller puts the result. The text is
 * parsed inside an array because json_parse wants a terminated value, and
 * a bare 5 or true at the end of the text is not.
 */
static json_object *pj(const char *s)
{
	char *t = sq(s), *wrapped;
	json_object *arr = NULL, *o;
	size_t n = strlen(t) + 3;
	struct err e;
	int rc;

	wrapped = malloc(n);
	assert_non_null(wrapped);
	snprintf(wrapped, n, "[%s]", t);
	err_init(&e);
	rc = json_parse(wrapped, strlen(wrapped), &arr, &e);
	free(wrapped);
	free(t);
	if (rc)
		fail_msg("bad test JSON (%s): %s", e.msg, s);
	o = json_object_get(json_object_array_get_idx(arr, 0));
	json_object_put(arr);
	return o;
}

static const struct family *fam(const char *name)
{
	const struct family *f = family_by_name(name);

	if (!f)
		fail_msg("no family %s", name);
	return f;
}

/* at follows a JSON pointer ("/choices/0/text"); NULL when absent. */
static json_object *at(json_object *o, const char *ptr)
{
	json_object *v = NULL;

	if (json_pointer_get(o, ptr, &v))
		return NULL;
	return v;
}

static void check_str(json_object *o, const char *ptr, const char *want)
{
	json_object *v = at(o, ptr);

	if (!json_is_type(v, json_type_string))
		fail_msg("%s: expected the string \"%s\", got %s in %s", ptr, want,
			 v ? json_object_to_json_string(v) : "nothing",
			 json_object_to_json_string(o));
	assert_string_equal(json_object_get_string(v), want);
}

static void check_int(json_object *o, const char *ptr, int64_t want)
{
	json_object *v = at(o, ptr);

	if (!json_is_type(v, json_type_int))
		fail_msg("%s: expected %lld, got %s in %s", ptr, (long long)want,
			 v ? json_object_to_json_string(v) : "nothing",
			 json_object_to_json_string(o));
	assert_int_equal(json_object_get_int64(v), want);
}

static void check_num(json_object *o, const char *ptr, double want)
{
	json_object *v = at(o, ptr);

	if (!json_is_type(v, json_type_double) && !json_is_type(v, json_type_int))
		fail_msg("%s: expected %g in %s", ptr, want, json_object_to_json_string(o));
	assert_float_equal(json_object_get_double(v), want, 1e-12);
}

static void check_null(json_object *o, const char *ptr)
{
	json_object *v = (json_object *)1;

	if (json_pointer_get(o, ptr, &v) || v != NULL)
		fail_msg("%s: expected null in %s", ptr, json_object_to_json_string(o));
}

/* ---- validation ---- */

struct bad {
	const char *mi;
	const char *frag;
};

static void expect_valid(const char *family, const char *mi)
{
	json_object *o = pj(mi);
	struct err e;
	int rc;

	err_init(&e);
	rc = fam(family)->validate(o, &e);
	if (rc)
		fail_msg("%s: expected %s to be valid, got: %s", family, mi, e.msg);
	json_object_put(o);
}

static void expect_bad(const char *family, const struct bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_object *o = pj(cases[i].mi);
		char *frag = sq(cases[i].frag);
		struct err e;
		int rc;

		err_init(&e);
		rc = fam(family)->validate(o, &e);
		if (rc != ERR_INVAL)
			fail_msg("%s case %zu (%s): expected ERR_INVAL, got %d", family, i,
				 cases[i].mi, rc);
		if (!strstr(e.msg, frag))
			fail_msg("%s case %zu (%s): expected \"%s\" in \"%s\"", family, i,
				 cases[i].mi, frag, e.msg);
		free(frag);
		json_object_put(o);
	}
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static void test_registry_lookup(void **state)
{
	static const char *const names[] = {"anthropic-messages", "llama", "mistral",
					    "titan-text", "nova", "converse", "titan-embed",
					    "openai-chat", "openai-completions",
					    "openai-embeddings"};
	(void)state;
	for (size_t i = 0; i < NCASES(names); i++) {
		const struct family *f = family_by_name(names[i]);

		assert_non_null(f);
		assert_string_equal(f->name, names[i]);
		assert_int_equal(f->id, (int)i);
		assert_ptr_equal(family_by_id(f->id), f);
	}
	assert_null(family_by_name("claude"));
	assert_null(family_by_name(NULL));
	assert_null(family_by_id(FAM__COUNT));
	assert_true(fam("titan-embed")->embeddings);
	assert_true(fam("openai-embeddings")->embeddings);
	assert_false(fam("nova")->embeddings);
}

static void test_registry_wires(void **state)
{
	(void)state;
	for (int id = 0; id < FAM__COUNT; id++) {
		const struct family *f = family_by_id((enum family_id)id);
		bool oa = id >= FAM_OPENAI_CHAT;

		assert_true(family_supports_wire(f, WIRE_OPENAI));
		assert_int_equal(family_supports_wire(f, WIRE_ANTHROPIC), !f->embeddings);
		assert_int_equal(family_supports_wire(f, WIRE_BEDROCK), !oa);
	}
	assert_false(family_supports_wire(NULL, WIRE_OPENAI));
}

static void test_tokens_text(void **state)
{
	(void)state;
	assert_int_equal(fmt_tokens_text("", 0), 0);
	assert_int_equal(fmt_tokens_text("a", 1), 1);
	assert_int_equal(fmt_tokens_text("abcd", 4), 1);
	assert_int_equal(fmt_tokens_text("abcde", 5), 2);
	assert_int_equal(fmt_tokens_text(NULL, 8000), 2000);
	assert_int_equal(fmt_tokens_text(NULL, 8001), 2001);
}

static void test_validate_anthropic(void **state)
{
	static const struct bad bad[] = {
		{"[]", "modelInput: must be a JSON object, got an empty array"},
		{"'hi'", "modelInput: must be a JSON object, got 'hi'"},
		{"{'messages':[{'role':'user','content':'hi'}]}",
		 "max_tokens: is missing; it must be an integer between 1 and 1000000"},
		{"{'max_tokens':0,'messages':[{'role':'user','content':'hi'}]}",
		 "max_tokens: must be an integer between 1 and 1000000, got 0"},
		{"{'max_tokens':'100','messages':[{'role':'user','content':'hi'}]}",
		 "max_tokens: must be an integer between 1 and 1000000, got '100'"},
		{"{'max_tokens':10.5,'messages':[{'role':'user','content':'hi'}]}",
		 "max_tokens: must be an integer between 1 and 1000000, got 10.5"},
		{"{'max_tokens':1000001,'messages':[{'role':'user','content':'hi'}]}",
		 "max_tokens: must be an integer between 1 and 1000000, got 1000001"},
		{"{'max_tokens':10}", "messages: is missing; it must be a non-empty array"},
		{"{'max_tokens':10,'messages':[]}",
		 "messages: must be a non-empty array, got an empty array"},
		{"{'max_tokens':10,'messages':'hi'}", "messages: must be a non-empty array, got 'hi'"},
		{"{'max_tokens':10,'messages':['hi']}",
		 "messages[0]: must be an object with 'role' and 'content', got 'hi'"},
		{"{'max_tokens':10,'messages':[{'role':'assistant','content':'hi'}]}",
		 "messages[0].role: must be 'user' in the first turn, got 'assistant'"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':'a'},{'role':'user','content':'b'}]}",
		 "messages[1].role: must be 'assistant' after a 'user' turn"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':'a'},{'role':'assistant','content':'b'},{'role':'assistant','content':'c'}]}",
		 "messages[2].role: must be 'user' after an 'assistant' turn"},
		{"{'max_tokens':10,'messages':[{'role':'system','content':'a'}]}",
		 "messages[0].role: must be 'user' or 'assistant', got 'system'"},
		{"{'max_tokens':10,'messages':[{'content':'a'}]}", "messages[0].role: is missing"},
		{"{'max_tokens':10,'messages':[{'role':'user'}]}",
		 "messages[0].content: is missing; it must be a non-empty string or a non-empty array of content blocks"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':''}]}",
		 "messages[0].content: must be a non-empty string or a non-empty array of content blocks, got ''"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':[]}]}",
		 "messages[0].content: must be a non-empty string or a non-empty array of content blocks, got an empty array"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':7}]}",
		 "messages[0].content: must be a non-empty string or a non-empty array of content blocks, got 7"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':[{'type':'text'}]}]}",
		 "messages[0].content[0].text: is missing; it must be a non-empty string"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':[{'type':'text','text':5}]}]}",
		 "messages[0].content[0].text: must be a non-empty string, got 5"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':[{'type':'video'}]}]}",
		 "messages[0].content[0].type: must be one of 'text', 'image', 'document', 'tool_use', 'tool_result', got 'video'"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':[{'text':'x'}]}]}",
		 "messages[0].content[0].type: is missing"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':[{'type':'image'}]}]}",
		 "messages[0].content[0].source: is missing; it must be an object"},
		{"{'max_tokens':10,'messages':[{'role':'user','content':['x']}]}",
		 "messages[0].content[0]: must be a content block object, got 'x'"},
		{"{'max_tokens':10,'system':5,'messages':[{'role':'user','content':'a'}]}",
		 "system: must be a string or an array of text blocks, got 5"},
		{"{'max_tokens':10,'system':[{'type':'text'}],'messages':[{'role':'user','content':'a'}]}",
		 "system[0].text: is missing"},
		{"{'max_tokens':10,'temperature':1.5,'messages':[{'role':'user','content':'a'}]}",
		 "temperature: must be a number between 0 and 1, got 1.5"},
		{"{'max_tokens':10,'temperature':'hot','messages':[{'role':'user','content':'a'}]}",
		 "temperature: must be a number between 0 and 1, got 'hot'"},
		{"{'max_tokens':10,'top_p':-0.1,'messages':[{'role':'user','content':'a'}]}",
		 "top_p: must be a number between 0 and 1, got -0.1"},
		{"{'max_tokens':10,'top_k':-1,'messages':[{'role':'user','content':'a'}]}",
		 "top_k: must be an integer of at least 0, got -1"},
		{"{'max_tokens':10,'stop_sequences':'x','messages':[{'role':'user','content':'a'}]}",
		 "stop_sequences: must be an array, got 'x'"},
		{"{'max_tokens':10,'stop_sequences':['a',1],'messages':[{'role':'user','content':'a'}]}",
		 "stop_sequences[1]: must be a string, got 1"},
		{"{'anthropic_version':2023,'max_tokens':10,'messages':[{'role':'user','content':'a'}]}",
		 "anthropic_version: must be a string, got 2023"},
	};

	(void)state;
	expect_valid("anthropic-messages",
		     "{'anthropic_version':'bedrock-2023-05-31','max_tokens':512,"
		     "'messages':[{'role':'user','content':'Hello'}]}");
	expect_valid("anthropic-messages",
		     "{'max_tokens':1,'system':'Be brief.','temperature':0,'top_p':1,'top_k':0,"
		     "'stop_sequences':[],'metadata':{'user_id':'u1'},'temperature':null,"
		     "'messages':[{'role':'user','content':[{'type':'text','text':'What is this?'},"
		     "{'type':'image','source':{'type':'base64','media_type':'image/png','data':'iVBORw0KGgo='}}]},"
		     "{'role':'assistant','content':'A cat.'},{'role':'user','content':'Sure?'}]}");
	expect_valid("anthropic-messages",
		     "{'max_tokens':100,'system':[{'type':'text','text':'You are a bot.'}],"
		     "'messages':[{'role':'user','content':'Weather?'},"
		     "{'role':'assistant','content':[{'type':'tool_use','id':'toolu_01','name':'weather','input':{'city':'Paris'}}]},"
		     "{'role':'user','content':[{'type':'tool_result','tool_use_id':'toolu_01','content':'sunny'}]}]}");
	expect_bad("anthropic-messages", bad, NCASES(bad));
}

static void test_validate_llama(void **state)
{
	static const struct bad bad[] = {
		{"[1]", "modelInput: must be a JSON object, got an array"},
		{"{}", "prompt: is missing; it must be a non-empty string"},
		{"{'prompt':''}", "prompt: must be a non-empty string, got ''"},
		{"{'prompt':5}", "prompt: must be a non-empty string, got 5"},
		{"{'prompt':'hi','max_gen_len':0}",
		 "max_gen_len: must be an integer between 1 and 8192, got 0"},
		{"{'prompt':'hi','max_gen_len':9000}",
		 "max_gen_len: must be an integer between 1 and 8192, got 9000"},
		{"{'prompt':'hi','max_gen_len':12.5}",
		 "max_gen_len: must be an integer between 1 and 8192, got 12.5"},
		{"{'prompt':'hi','temperature':2}",
		 "temperature: must be a number between 0 and 1, got 2"},
		{"{'prompt':'hi','top_p':'0.9'}", "top_p: must be a number between 0 and 1, got '0.9'"},
	};

	(void)state;
	expect_valid("llama", "{'prompt':'<|begin_of_text|>Hi','max_gen_len':512,"
			      "'temperature':0.5,'top_p':0.9}");
	expect_valid("llama", "{'prompt':'Hi','max_gen_len':8192,'extra':true}");
	expect_valid("llama", "{'prompt':'Hi','max_gen_len':1e3}");
	expect_bad("llama", bad, NCASES(bad));
}

static void test_validate_mistral(void **state)
{
	static const struct bad bad[] = {
		{"true", "modelInput: must be a JSON object, got true"},
		{"{'max_tokens':5}", "prompt: is missing"},
		{"{'prompt':'x','max_tokens':0}", "max_tokens: must be an integer between 1 and 1000000, got 0"},
		{"{'prompt':'x','stop':['1','2','3','4','5','6','7','8','9','10','11']}",
		 "stop: must hold at most 10 strings, got 11"},
		{"{'prompt':'x','stop':'###'}", "stop: must be an array, got '###'"},
		{"{'prompt':'x','stop':[1]}", "stop[0]: must be a string, got 1"},
		{"{'prompt':'x','temperature':1.01}",
		 "temperature: must be a number between 0 and 1, got 1.01"},
		{"{'prompt':'x','top_p':2}", "top_p: must be a number between 0 and 1, got 2"},
		{"{'prompt':'x','top_k':-1}", "top_k: must be an integer of at least 0, got -1"},
		{"{'prompt':'x','top_k':1.5}", "top_k: must be an integer of at least 0, got 1.5"},
	};

	(void)state;
	expect_valid("mistral", "{'prompt':'<s>[INST] Hi [/INST]','max_tokens':512,"
				"'stop':['</s>'],'temperature':0.5,'top_p':0.9,'top_k':50}");
	expect_valid("mistral", "{'prompt':'x','stop':['1','2','3','4','5','6','7','8','9','10']}");
	expect_bad("mistral", bad, NCASES(bad));
}

static void test_validate_titan_text(void **state)
{
	static const struct bad bad[] = {
		{"null", "modelInput: must be a JSON object, got null"},
		{"{'textGenerationConfig':{}}", "inputText: is missing; it must be a non-empty string"},
		{"{'inputText':['a']}", "inputText: must be a non-empty string, got an array"},
		{"{'inputText':'a','textGenerationConfig':'x'}",
		 "textGenerationConfig: must be an object, got 'x'"},
		{"{'inputText':'a','textGenerationConfig':{'maxTokenCount':0}}",
		 "textGenerationConfig.maxTokenCount: must be an integer between 1 and 8192, got 0"},
		{"{'inputText':'a','textGenerationConfig':{'maxTokenCount':8193}}",
		 "textGenerationConfig.maxTokenCount: must be an integer between 1 and 8192, got 8193"},
		{"{'inputText':'a','textGenerationConfig':{'temperature':1.5}}",
		 "textGenerationConfig.temperature: must be a number between 0 and 1, got 1.5"},
		{"{'inputText':'a','textGenerationConfig':{'topP':-1}}",
		 "textGenerationConfig.topP: must be a number between 0 and 1, got -1"},
		{"{'inputText':'a','textGenerationConfig':{'stopSequences':[1]}}",
		 "textGenerationConfig.stopSequences[0]: must be a string, got 1"},
	};

	(void)state;
	expect_valid("titan-text", "{'inputText':'Write a haiku.','textGenerationConfig':"
				   "{'maxTokenCount':512,'temperature':0.7,'topP':0.9,'stopSequences':[]}}");
	expect_valid("titan-text", "{'inputText':'Hi'}");
	expect_bad("titan-text", bad, NCASES(bad));
}

static void test_validate_titan_embed(void **state)
{
	static const struct bad bad[] = {
		{"'text'", "modelInput: must be a JSON object, got 'text'"},
		{"{'dimensions':256}", "inputText: is missing; it must be a non-empty string"},
		{"{'inputText':''}", "inputText: must be a non-empty string, got ''"},
		{"{'inputText':'a','dimensions':300}", "dimensions: must be 256, 512 or 1024, got 300"},
		{"{'inputText':'a','dimensions':'512'}",
		 "dimensions: must be 256, 512 or 1024, got '512'"},
		{"{'inputText':'a','normalize':'yes'}", "normalize: must be true or false, got 'yes'"},
	};

	(void)state;
	expect_valid("titan-embed", "{'inputText':'Hello','dimensions':1024,'normalize':true}");
	expect_valid("titan-embed", "{'inputText':'Hello','dimensions':256}");
	expect_valid("titan-embed", "{'inputText':'Hello'}");
	expect_bad("titan-embed", bad, NCASES(bad));
}

static void test_validate_nova(void **state)
{
	static const struct bad bad[] = {
		{"[]", "modelInput: must be a JSON object"},
		{"{'schemaVersion':'messages-v1'}", "messages: is missing; it must be a non-empty array"},
		{"{'messages':[{'role':'user','content':'hi'}]}",
		 "messages[0].content: must be a non-empty array, got 'hi'"},
		{"{'messages':[{'role':'user','content':[]}]}",
		 "messages[0].content: must be a non-empty array, got an empty array"},
		{"{'messages':[{'role':'user'}]}",
		 "messages[0].content: is missing; it must be a non-empty array"},
		{"{'messages':[{'role':'user','content':[{}]}]}",
		 "messages[0].content[0]: must be a content block such as {'text': '...'}, got an empty object"},
		{"{'messages':[{'role':'user','content':[{'text':5}]}]}",
		 "messages[0].content[0].text: must be a string, got 5"},
		{"{'messages':[{'role':'user','content':[{'image':{'format':'bmp','source':{'bytes':'AA=='}}}]}]}",
		 "messages[0].content[0].image.format: must be one of 'png', 'jpeg', 'gif', 'webp', got 'bmp'"},
		{"{'messages':[{'role':'assistant','content':[{'text':'a'}]}]}",
		 "messages[0].role: must be 'user' in the first turn, got 'assistant'"},
		{"{'messages':[{'role':'user','content':[{'text':'a'}]},{'role':'user','content':[{'text':'b'}]}]}",
		 "messages[1].role: must be 'assistant' after a 'user' turn"},
		{"{'system':'x','messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "system: must be an array, got 'x'"},
		{"{'system':[{'text':1}],'messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "system[0].text: must be a string, got 1"},
		{"{'inferenceConfig':[],'messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "inferenceConfig: must be an object, got an empty array"},
		{"{'inferenceConfig':{'maxTokens':0},'messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "inferenceConfig.maxTokens: must be an integer between 1 and 1000000, got 0"},
		{"{'inferenceConfig':{'temperature':1.2},'messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "inferenceConfig.temperature: must be a number between 0 and 1, got 1.2"},
		{"{'inferenceConfig':{'topP':5},'messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "inferenceConfig.topP: must be a number between 0 and 1, got 5"},
		{"{'inferenceConfig':{'topK':-1},'messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "inferenceConfig.topK: must be an integer of at least 0, got -1"},
		{"{'inferenceConfig':{'stopSequences':'x'},'messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "inferenceConfig.stopSequences: must be an array, got 'x'"},
		{"{'schemaVersion':1,'messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "schemaVersion: must be a string, got 1"},
	};

	(void)state;
	expect_valid("nova", "{'schemaVersion':'messages-v1','system':[{'text':'Be terse.'}],"
			     "'messages':[{'role':'user','content':[{'text':'Hi'}]},"
			     "{'role':'assistant','content':[{'text':'Hello'}]},"
			     "{'role':'user','content':[{'text':'Describe'},{'image':{'format':'png','source':{'bytes':'iVBORw0KGgo='}}}]}],"
			     "'inferenceConfig':{'maxTokens':512,'temperature':0.7,'topP':0.9,'topK':50,'stopSequences':[]}}");
	expect_bad("nova", bad, NCASES(bad));
}

static void test_validate_converse(void **state)
{
	static const struct bad bad[] = {
		{"5", "modelInput: must be a JSON object, got 5"},
		{"{'messages':[]}", "messages: must be a non-empty array, got an empty array"},
		{"{'messages':[{'role':'user','content':[{'text':'a'}]},{'role':'user','content':[{'text':'b'}]}]}",
		 "messages[1].role: must be 'assistant' after a 'user' turn"},
		{"{'inferenceConfig':{'maxTokens':'9'},'messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "inferenceConfig.maxTokens: must be an integer between 1 and 1000000, got '9'"},
	};

	(void)state;
	expect_valid("converse", "{'messages':[{'role':'user','content':[{'text':'Hi'}]}],"
				 "'system':[{'text':'Be terse.'}],'inferenceConfig':{'maxTokens':512,"
				 "'temperature':0.7,'topP':0.9,'stopSequences':[]},"
				 "'additionalModelRequestFields':{'top_k':40}}");
	/* topK is not a Converse setting, so converse does not judge it. */
	expect_valid("converse", "{'messages':[{'role':'user','content':[{'text':'Hi'}]}],"
				 "'inferenceConfig':{'topK':-5}}");
	expect_bad("converse", bad, NCASES(bad));
}

static void test_validate_openai_chat(void **state)
{
	static const struct bad bad[] = {
		{"[]", "modelInput: must be a JSON object"},
		{"{'model':'gpt-4o'}", "messages: is missing; it must be a non-empty array"},
		{"{'messages':[]}", "messages: must be a non-empty array, got an empty array"},
		{"{'messages':[{'role':'robot','content':'a'}]}",
		 "messages[0].role: must be one of 'system', 'developer', 'user', 'assistant', 'tool', got 'robot'"},
		{"{'messages':[{'role':'user'}]}",
		 "messages[0].content: is missing; it must be a string or a non-empty array of content parts"},
		{"{'messages':[{'role':'user','content':5}]}",
		 "messages[0].content: must be a string or a non-empty array of content parts, got 5"},
		{"{'messages':[{'role':'user','content':[]}]}",
		 "messages[0].content: must be a string or a non-empty array of content parts, got an empty array"},
		{"{'messages':[{'role':'user','content':[{'type':'text'}]}]}",
		 "messages[0].content[0].text: is missing; it must be a string"},
		{"{'messages':[{'role':'user','content':[{'type':'image_url','image_url':{}}]}]}",
		 "messages[0].content[0].image_url.url: is missing"},
		{"{'messages':[{'role':'user','content':[{'text':'a'}]}]}",
		 "messages[0].content[0].type: is missing"},
		{"{'messages':[{'role':'tool','content':'42'}]}",
		 "messages[0].tool_call_id: is missing; it must be a non-empty string"},
		{"{'messages':[{'role':'user','content':'a'}],'max_tokens':0}",
		 "max_tokens: must be an integer between 1 and 1000000, got 0"},
		{"{'messages':[{'role':'user','content':'a'}],'max_completion_tokens':-5}",
		 "max_completion_tokens: must be an integer between 1 and 1000000, got -5"},
		{"{'messages':[{'role':'user','content':'a'}],'temperature':2.5}",
		 "temperature: must be a number between 0 and 2, got 2.5"},
		{"{'messages':[{'role':'user','content':'a'}],'top_p':1.1}",
		 "top_p: must be a number between 0 and 1, got 1.1"},
		{"{'messages':[{'role':'user','content':'a'}],'n':2}",
		 "n: must be 1 (a batch result holds one answer), got 2"},
		{"{'messages':[{'role':'user','content':'a'}],'stream':true}",
		 "stream: must be false or absent (a batch cannot stream), got true"},
		{"{'messages':[{'role':'user','content':'a'}],'stop':['a','b','c','d','e']}",
		 "stop: must hold at most 4 strings, got 5"},
		{"{'messages':[{'role':'user','content':'a'}],'stop':5}",
		 "stop: must be a string or an array of up to 4 strings, got 5"},
		{"{'messages':[{'role':'user','content':'a'}],'model':5}",
		 "model: must be a string, got 5"},
		{"{'messages':[{'role':'user','content':'a'}],'presence_penalty':3}",
		 "presence_penalty: must be a number between -2 and 2, got 3"},
	};

	(void)state;
	expect_valid("openai-chat", "{'model':'gpt-4o-mini','messages':[{'role':'developer','content':'Be brief.'},"
				    "{'role':'user','content':'Hello'}],'max_tokens':100,'temperature':1.5,"
				    "'n':1,'stream':false,'stop':'###','seed':7}");
	expect_valid("openai-chat", "{'messages':[{'role':'user','content':[{'type':'text','text':'Hi'},"
				    "{'type':'image_url','image_url':{'url':'https://example.com/cat.png'}}]},"
				    "{'role':'assistant','content':null,'tool_calls':[{'id':'call_1','type':'function',"
				    "'function':{'name':'f','arguments':'{}'}}]},"
				    "{'role':'tool','tool_call_id':'call_1','content':'42'}],"
				    "'max_completion_tokens':50,'stop':null,'temperature':null}");
	expect_bad("openai-chat", bad, NCASES(bad));
}

static void test_validate_openai_completions(void **state)
{
	static const struct bad bad[] = {
		{"'x'", "modelInput: must be a JSON object"},
		{"{'max_tokens':5}", "prompt: is missing; it must be a string or an array of strings"},
		{"{'prompt':5}", "prompt: must be a string or an array of strings, got 5"},
		{"{'prompt':[]}", "prompt: must be a string or an array of strings, got an empty array"},
		{"{'prompt':['a',1]}", "prompt[1]: must be a string, got 1"},
		{"{'prompt':'a','stream':true}", "stream: must be false or absent (a batch cannot stream), got true"},
		{"{'prompt':'a','n':3}", "n: must be 1 (a batch result holds one answer), got 3"},
		{"{'prompt':'a','max_tokens':0}", "max_tokens: must be an integer between 1 and 1000000, got 0"},
		{"{'prompt':'a','temperature':-1}", "temperature: must be a number between 0 and 2, got -1"},
	};

	(void)state;
	expect_valid("openai-completions", "{'model':'m','prompt':'Once upon a time','max_tokens':64,"
					   "'temperature':0.2,'stop':['\\n\\n'],'echo':false}");
	expect_valid("openai-completions", "{'prompt':['a','b']}");
	expect_bad("openai-completions", bad, NCASES(bad));
}

static void test_validate_openai_embeddings(void **state)
{
	static const struct bad bad[] = {
		{"[]", "modelInput: must be a JSON object"},
		{"{'model':'e'}", "input: is missing; it must be a non-empty string or an array of non-empty strings"},
		{"{'input':''}", "input: must be a non-empty string or an array of non-empty strings, got ''"},
		{"{'input':[]}", "input: must be a non-empty string or an array of non-empty strings, got an empty array"},
		{"{'input':['a','']}", "input[1]: must be a non-empty string, got ''"},
		{"{'input':'a','dimensions':0}", "dimensions: must be an integer of at least 1, got 0"},
		{"{'input':'a','encoding_format':'int8'}",
		 "encoding_format: must be 'float' or 'base64', got 'int8'"},
	};

	(void)state;
	expect_valid("openai-embeddings", "{'model':'text-embedding-3-small','input':'The food was delicious',"
					  "'dimensions':256,'encoding_format':'float'}");
	expect_valid("openai-embeddings", "{'input':['a','b'],'user':'u'}");
	expect_bad("openai-embeddings", bad, NCASES(bad));
}

/* ---- estimates ---- */

static void estimate(const char *family, const char *mi, int64_t want_in, int64_t want_out)
{
	json_object *o = pj(mi);
	int64_t in = -7, out = -7;

	fam(family)->estimate(o, &in, &out);
	if (in != want_in || out != want_out)
		fail_msg("%s %s: expected %lld/%lld, got %lld/%lld", family, mi,
			 (long long)want_in, (long long)want_out, (long long)in, (long long)out);
	json_object_put(o);
}

static void test_estimate_families(void **state)
{
	(void)state;
	/* 5 + 8 + 3 + 4 = 20 bytes of text: 5 tokens. */
	estimate("anthropic-messages",
		 "{'max_tokens':300,'system':'12345','messages':[{'role':'user','content':'abcdefgh'},"
		 "{'role':'assistant','content':[{'type':'text','text':'xyz'}]},{'role':'user','content':'1234'}]}",
		 5, 300);
	estimate("llama", "{'prompt':'abcdefghi','max_gen_len':77}", 3, 77);
	estimate("llama", "{'prompt':'abcd'}", 1, 512);
	estimate("mistral", "{'prompt':'abcde','max_tokens':9}", 2, 9);
	estimate("mistral", "{'prompt':'abcde'}", 2, 512);
	estimate("titan-text", "{'inputText':'abcdefgh','textGenerationConfig':{'maxTokenCount':42}}", 2, 42);
	estimate("titan-text", "{'inputText':'abcdefgh'}", 2, 512);
	estimate("nova", "{'system':[{'text':'abc'}],'messages':[{'role':'user','content':[{'text':'defgh'},"
			 "{'image':{'format':'png','source':{'bytes':'AAAAAAAAAAAAAAAA'}}}]}],"
			 "'inferenceConfig':{'maxTokens':64}}",
		 2, 64);
	estimate("converse", "{'messages':[{'role':'user','content':[{'text':'abcdefghijkl'}]}]}", 3, 512);
	estimate("titan-embed", "{'inputText':'abcdefgh','dimensions':256}", 2, 0);
	estimate("openai-chat", "{'messages':[{'role':'system','content':'abcd'},{'role':'user','content':"
				"[{'type':'text','text':'efgh'},{'type':'image_url','image_url':{'url':'https://x/y.png'}}]}],"
				"'max_tokens':10,'max_completion_tokens':20}",
		 2, 20);
	estimate("openai-chat", "{'messages':[{'role':'user','content':'abcd'}],'max_tokens':10}", 1, 10);
	estimate("openai-chat", "{'messages':[{'role':'user','content':'abcd'}]}", 1, 512);
	estimate("openai-completions", "{'prompt':['abcd','efgh','i'],'max_tokens':5}", 3, 5);
	estimate("openai-completions", "{'prompt':'abcd'}", 1, 512);
	estimate("openai-embeddings", "{'input':['abcd','efghi']}", 3, 0);
}

/* join_text appends each walked text and a '|' to the buffer at ud. */
static int join_text(json_object *str, void *ud)
{
	char *out = ud;

	strncat(out, json_object_get_string(str), 255 - strlen(out));
	strncat(out, "|", 255 - strlen(out));
	return 0;
}

/* walked checks that the family's walk (NULL: any family) visits exactly want, in order. */
static void walked(const char *family, const char *mi, const char *want)
{
	json_object *o = pj(mi);
	char got[256] = "";

	assert_int_equal(family_walk_texts(family ? fam(family) : NULL, o, join_text, got), 0);
	if (strcmp(got, want))
		fail_msg("%s %s: walked \"%s\", expected \"%s\"", family ? family : "(any)", mi,
			 got, want);
	json_object_put(o);
}

static int stop_at_first(json_object *str, void *ud)
{
	(void)str;
	++*(int *)ud;
	return 7;
}

/* The walk visits the texts the estimate counts, and nothing else. */
static void test_walk_texts(void **state)
{
	json_object *o;
	int calls = 0;

	(void)state;
	walked("anthropic-messages",
	       "{'system':'S','messages':[{'role':'user','content':'a'},{'role':'assistant',"
	       "'content':[{'type':'text','text':'b'},{'type':'image','source':{'data':'zz'}}]}],"
	       "'max_tokens':5}",
	       "S|a|b|");
	walked("llama", "{'prompt':'p','max_gen_len':3}", "p|");
	walked("titan-text", "{'inputText':'t','textGenerationConfig':{'stopSequences':['x']}}", "t|");
	walked("nova", "{'system':[{'text':'s'}],'messages':[{'role':'user','content':[{'text':'u'}]}]}",
	       "s|u|");
	walked("openai-chat", "{'messages':[{'role':'system','content':'s'},{'role':'user','content':'u'}]}",
	       "s|u|");
	walked("openai-completions", "{'prompt':['a','b'],'suffix':'no'}", "a|b|");
	walked("openai-embeddings", "{'input':['a','b']}", "a|b|");
	/* A family reads only its own members; without one, every family's. */
	walked("llama", "{'prompt':'p','inputText':'no','system':'no'}", "p|");
	walked(NULL, "{'system':'s','prompt':'p','inputText':'t','input':'i','messages':"
		     "[{'role':'user','content':'m'}]}",
	       "s|p|t|i|m|");
	/* A value of another shape holds no text. */
	walked("anthropic-messages", "{'system':7,'messages':{'content':'x'}}", "");
	/* The first nonzero return stops the walk and is returned. */
	o = pj("{'messages':[{'role':'user','content':'a'},{'role':'user','content':'b'}]}");
	assert_int_equal(family_walk_texts(fam("openai-chat"), o, stop_at_first, &calls), 7);
	assert_int_equal(calls, 1);
	json_object_put(o);
}

/* mi_with_text builds a modelInput around n bytes of text at the %s of fmt. */
static char *mi_with_text(const char *fmt, size_t n)
{
	char *text = malloc(n + 1), *mi;
	size_t len;

	assert_non_null(text);
	memset(text, 'a', n);
	text[n] = '\0';
	len = strlen(fmt) + n + 1;
	mi = malloc(len);
	assert_non_null(mi);
	snprintf(mi, len, fmt, text);
	free(text);
	return mi;
}

static void test_estimate_exact_8000(void **state)
{
	static const struct {
		const char *family;
		const char *fmt;
	} cases[] = {
		{"llama", "{'prompt':'%s'}"},
		{"mistral", "{'prompt':'%s'}"},
		{"titan-text", "{'inputText':'%s'}"},
		{"titan-embed", "{'inputText':'%s'}"},
		{"anthropic-messages", "{'max_tokens':5,'messages':[{'role':'user','content':'%s'}]}"},
		{"nova", "{'messages':[{'role':'user','content':[{'text':'%s'}]}]}"},
		{"converse", "{'messages':[{'role':'user','content':[{'text':'%s'}]}]}"},
		{"openai-chat", "{'messages':[{'role':'user','content':'%s'}]}"},
		{"openai-completions", "{'prompt':'%s'}"},
		{"openai-embeddings", "{'input':'%s'}"},
	};

	(void)state;
	for (size_t i = 0; i < NCASES(cases); i++) {
		char *mi = mi_with_text(cases[i].fmt, 8000);
		json_object *o = pj(mi);
		int64_t in = 0, out = 0;

		fam(cases[i].family)->estimate(o, &in, &out);
		if (in != 2000)
			fail_msg("%s: 8000 bytes gave %lld tokens", cases[i].family, (long long)in);
		json_object_put(o);
		free(mi);
	}
	/* The rounding is over the total, not per text: 3 x 2 bytes is 2 tokens. */
	estimate("anthropic-messages", "{'max_tokens':5,'system':'ab','messages':[{'role':'user','content':'cd'},"
				       "{'role':'assistant','content':'ef'}]}",
		 2, 5);
}

/* ---- to_wire ---- */

/* wire_body runs to_wire, checks the path, and returns the parsed body. */
static json_object *wire_body(const char *family, enum wire w, const char *mi,
			      const char *want_path)
{
	json_object *o = pj(mi), *body = NULL;
	struct wire_req req = {0};
	struct err e;
	int rc;

	err_init(&e);
	rc = fam(family)->to_wire(w, o, NULL, 0, "up-model", &req, &e);
	if (rc)
		fail_msg("%s to %s: %s", family, fmt_wire_name(w), e.msg);
	assert_non_null(req.body);
	assert_string_equal(req.path, want_path);
	assert_int_equal(strlen(req.body), req.body_len);
	err_init(&e);
	if (json_parse(req.body, req.body_len, &body, &e))
		fail_msg("%s to %s gave bad JSON (%s): %s", family, fmt_wire_name(w), e.msg,
			 req.body);
	free(req.body);
	json_object_put(o);
	return body;
}

/* wire_fail runs to_wire expecting failure code and message fragment. */
static void wire_fail(const char *family, enum wire w, const char *mi, int code,
		      const char *frag)
{
	json_object *o = pj(mi);
	struct wire_req req = {0};
	struct err e;
	int rc;

	err_init(&e);
	rc = fam(family)->to_wire(w, o, NULL, 0, "up-model", &req, &e);
	assert_int_equal(rc, code);
	assert_null(req.body);
	assert_contains(e.msg, frag);
	json_object_put(o);
}

static const char anthropic_mi[] =
	"{'anthropic_version':'bedrock-2023-05-31','anthropic_beta':['token-efficient-tools-2025-02-19'],"
	"'max_tokens':300,'system':'You are terse.',"
	"'messages':[{'role':'user','content':'What is 2+2?'},"
	"{'role':'assistant','content':[{'type':'text','text':'Four.'},{'type':'text','text':'Sure.'}]},"
	"{'role':'user','content':[{'type':'text','text':'And 3+3?'}]}],"
	"'temperature':0.5,'top_p':0.9,'top_k':50,'stop_sequences':['END'],'metadata':{'user_id':'u'}}";

/* expect_json fails unless got equals the single-quoted JSON want, member for member. */
static void expect_json(json_object *got, const char *want)
{
	json_object *w = pj(want);

	if (!json_object_equal(got, w))
		fail_msg("expected %s\n       got %s", json_object_to_json_string(w),
			 json_object_to_json_string(got));
	json_object_put(w);
}

/* wire_is runs to_wire and compares the path and the whole body. */
static void wire_is(const char *family, enum wire w, const char *mi, const char *path,
		    const char *want)
{
	json_object *b = wire_body(family, w, mi, path);

	expect_json(b, want);
	json_object_put(b);
}

static void test_to_wire_anthropic(void **state)
{
	(void)state;
	wire_is("anthropic-messages", WIRE_BEDROCK, anthropic_mi, "/invoke", anthropic_mi);
	wire_is("anthropic-messages", WIRE_ANTHROPIC, anthropic_mi, "/messages",
		"{'model':'up-model','max_tokens':300,'system':'You are terse.',"
		"'messages':[{'role':'user','content':'What is 2+2?'},"
		"{'role':'assistant','content':[{'type':'text','text':'Four.'},{'type':'text','text':'Sure.'}]},"
		"{'role':'user','content':[{'type':'text','text':'And 3+3?'}]}],"
		"'temperature':0.5,'top_p':0.9,'top_k':50,'stop_sequences':['END'],'metadata':{'user_id':'u'}}");
	wire_is("anthropic-messages", WIRE_OPENAI, anthropic_mi, "/chat/completions",
		"{'model':'up-model','messages':[{'role':'system','content':'You are terse.'},"
		"{'role':'user','content':'What is 2+2?'},{'role':'assistant','content':'Four.\\nSure.'},"
		"{'role':'user','content':'And 3+3?'}],'max_tokens':300,'temperature':0.5,'top_p':0.9,"
		"'top_k':50,'stop':['END']}");
	/* Without top_k, sampling or stop sequences, none is sent. */
	wire_is("anthropic-messages", WIRE_OPENAI,
		"{'max_tokens':5,'messages':[{'role':'user','content':'hi'}]}", "/chat/completions",
		"{'model':'up-model','messages':[{'role':'user','content':'hi'}],'max_tokens':5}");
}

static void test_to_wire_anthropic_blocks(void **state)
{
	(void)state;
	wire_is("anthropic-messages", WIRE_OPENAI,
		"{'max_tokens':5,'system':[{'type':'text','text':'A'},{'type':'text','text':'B'}],"
		"'messages':[{'role':'user','content':[{'type':'text','text':'What is it?'},"
		"{'type':'image','source':{'type':'base64','media_type':'image/jpeg','data':'/9j/4AAQ'}},"
		"{'type':'image','source':{'type':'url','url':'https://example.com/a.png'}}]}]}",
		"/chat/completions",
		"{'model':'up-model','max_tokens':5,'messages':[{'role':'system','content':'A\\nB'},"
		"{'role':'user','content':[{'type':'text','text':'What is it?'},"
		"{'type':'image_url','image_url':{'url':'data:image/jpeg;base64,/9j/4AAQ'}},"
		"{'type':'image_url','image_url':{'url':'https://example.com/a.png'}}]}]}");
	wire_fail("anthropic-messages", WIRE_OPENAI,
		  "{'max_tokens':5,'messages':[{'role':'user','content':'w'},{'role':'assistant','content':"
		  "[{'type':'tool_use','id':'t1','name':'f','input':{}}]}]}",
		  ERR_INVAL, "messages[1].content[0]: a \"tool_use\" block cannot be sent to an openai backend");
	/* Conversion validates first, since it relies on the shape. */
	wire_fail("anthropic-messages", WIRE_OPENAI, "{'max_tokens':5,'messages':[]}", ERR_INVAL,
		  "messages: must be a non-empty array");
	wire_fail("anthropic-messages", WIRE_ANTHROPIC, "{'messages':[{'role':'user','content':'a'}]}",
		  ERR_INVAL, "max_tokens: is missing");
}

static void test_to_wire_llama(void **state)
{
	static const char mi[] = "{'prompt':'<|begin_of_text|>Hi','max_gen_len':128,'temperature':0.2,'top_p':0.8}";

	(void)state;
	wire_is("llama", WIRE_BEDROCK, mi, "/invoke", mi);
	wire_is("llama", WIRE_OPENAI, mi, "/completions",
		"{'model':'up-model','prompt':'<|begin_of_text|>Hi','max_tokens':128,'temperature':0.2,'top_p':0.8}");
	/* Without max_gen_len the family default is sent, not OpenAI's 16. */
	wire_is("llama", WIRE_OPENAI, "{'prompt':'Hi'}", "/completions",
		"{'model':'up-model','prompt':'Hi','max_tokens':512}");
	wire_is("llama", WIRE_ANTHROPIC, mi, "/messages",
		"{'model':'up-model','max_tokens':128,'messages':[{'role':'user','content':"
		"[{'type':'text','text':'<|begin_of_text|>Hi'}]}],'temperature':0.2,'top_p':0.8}");
	wire_fail("llama", WIRE_OPENAI, "{'max_gen_len':5}", ERR_INVAL, "prompt: is missing");
}

static void test_to_wire_mistral(void **state)
{
	static const char mi[] = "{'prompt':'<s>[INST] Hi [/INST]','max_tokens':64,'stop':['</s>','###'],"
				 "'temperature':0.3,'top_p':0.7,'top_k':40}";

	(void)state;
	wire_is("mistral", WIRE_BEDROCK, mi, "/invoke", mi);
	wire_is("mistral", WIRE_OPENAI, mi, "/completions",
		"{'model':'up-model','prompt':'<s>[INST] Hi [/INST]','max_tokens':64,'stop':['</s>','###'],"
		"'temperature':0.3,'top_p':0.7,'top_k':40}");
	wire_is("mistral", WIRE_ANTHROPIC, mi, "/messages",
		"{'model':'up-model','max_tokens':64,'messages':[{'role':'user','content':[{'type':'text',"
		"'text':'<s>[INST] Hi [/INST]'}]}],'temperature':0.3,'top_p':0.7,'top_k':40,"
		"'stop_sequences':['</s>','###']}");
}

static void test_to_wire_titan_text(void **state)
{
	static const char mi[] = "{'inputText':'Write a haiku.','textGenerationConfig':{'maxTokenCount':200,"
				 "'temperature':0.7,'topP':0.9,'stopSequences':['User:']}}";

	(void)state;
	wire_is("titan-text", WIRE_BEDROCK, mi, "/invoke", mi);
	wire_is("titan-text", WIRE_OPENAI, mi, "/completions",
		"{'model':'up-model','prompt':'Write a haiku.','max_tokens':200,'temperature':0.7,"
		"'top_p':0.9,'stop':['User:']}");
	/* An empty stopSequences list means none and is left out. */
	wire_is("titan-text", WIRE_OPENAI, "{'inputText':'Hi','textGenerationConfig':{'stopSequences':[]}}",
		"/completions", "{'model':'up-model','prompt':'Hi','max_tokens':512}");
	wire_is("titan-text", WIRE_ANTHROPIC, mi, "/messages",
		"{'model':'up-model','max_tokens':200,'messages':[{'role':'user','content':[{'type':'text',"
		"'text':'Write a haiku.'}]}],'temperature':0.7,'top_p':0.9,'stop_sequences':['User:']}");
}

static const char nova_mi[] =
	"{'schemaVersion':'messages-v1','system':[{'text':'Be terse.'},{'text':'Use English.'}],"
	"'messages':[{'role':'user','content':[{'text':'Hi'},{'text':'there'}]},"
	"{'role':'assistant','content':[{'text':'Hello'}]},{'role':'user','content':[{'text':'Bye'}]}],"
	"'inferenceConfig':{'maxTokens':256,'temperature':0.4,'topP':0.6,'topK':20,'stopSequences':['STOP']}}";

static void test_to_wire_nova(void **state)
{
	(void)state;
	wire_is("nova", WIRE_BEDROCK, nova_mi, "/invoke", nova_mi);
	wire_is("nova", WIRE_OPENAI, nova_mi, "/chat/completions",
		"{'model':'up-model','messages':[{'role':'system','content':'Be terse.\\nUse English.'},"
		"{'role':'user','content':'Hi\\nthere'},{'role':'assistant','content':'Hello'},"
		"{'role':'user','content':'Bye'}],'max_tokens':256,'temperature':0.4,'top_p':0.6,"
		"'top_k':20,'stop':['STOP']}");
	wire_is("nova", WIRE_ANTHROPIC, nova_mi, "/messages",
		"{'model':'up-model','max_tokens':256,'system':'Be terse.\\nUse English.','messages':["
		"{'role':'user','content':[{'type':'text','text':'Hi'},{'type':'text','text':'there'}]},"
		"{'role':'assistant','content':[{'type':'text','text':'Hello'}]},"
		"{'role':'user','content':[{'type':'text','text':'Bye'}]}],'temperature':0.4,'top_p':0.6,"
		"'top_k':20,'stop_sequences':['STOP']}");
	wire_is("nova", WIRE_OPENAI,
		"{'messages':[{'role':'user','content':[{'text':'See'},{'image':{'format':'png',"
		"'source':{'bytes':'iVBORw0KGgo='}}}]}]}",
		"/chat/completions",
		"{'model':'up-model','max_tokens':512,'messages':[{'role':'user','content':[{'type':'text',"
		"'text':'See'},{'type':'image_url','image_url':{'url':'data:image/png;base64,iVBORw0KGgo='}}]}]}");
	/* A cache point only marks a cache boundary and is dropped. */
	wire_is("nova", WIRE_ANTHROPIC,
		"{'messages':[{'role':'user','content':[{'image':{'format':'webp',"
		"'source':{'bytes':'UklGR'}}},{'cachePoint':{'type':'default'}}]}]}",
		"/messages",
		"{'model':'up-model','max_tokens':512,'messages':[{'role':'user','content':[{'type':'image',"
		"'source':{'type':'base64','media_type':'image/webp','data':'UklGR'}}]}]}");
	wire_fail("nova", WIRE_OPENAI,
		  "{'messages':[{'role':'user','content':[{'image':{'format':'png','source':"
		  "{'s3Location':{'uri':'s3://b/k.png'}}}}]}]}",
		  ERR_INVAL, "messages[0].content[0].image.source: only inline \"bytes\" can be sent to an openai backend");
	wire_fail("nova", WIRE_ANTHROPIC,
		  "{'messages':[{'role':'user','content':[{'document':{'format':'pdf','name':'d','source':{'bytes':'AA'}}}]}]}",
		  ERR_INVAL, "messages[0].content[0]: a \"document\" block cannot be sent to an anthropic backend");
}

static void test_to_wire_converse(void **state)
{
	static const char mi[] = "{'messages':[{'role':'user','content':[{'text':'Hi'}]}],"
				 "'system':[{'text':'Be kind.'}],'inferenceConfig':{'maxTokens':99,"
				 "'temperature':0.1,'topK':7}}";

	(void)state;
	wire_is("converse", WIRE_BEDROCK, mi, "/converse", mi);
	/* topK is no Converse setting, so it is not carried over. */
	wire_is("converse", WIRE_OPENAI, mi, "/chat/completions",
		"{'model':'up-model','messages':[{'role':'system','content':'Be kind.'},"
		"{'role':'user','content':'Hi'}],'max_tokens':99,'temperature':0.1}");
	wire_is("converse", WIRE_ANTHROPIC, mi, "/messages",
		"{'model':'up-model','max_tokens':99,'system':'Be kind.','messages':[{'role':'user',"
		"'content':[{'type':'text','text':'Hi'}]}],'temperature':0.1}");
}

static void test_to_wire_titan_embed(void **state)
{
	static const char mi[] = "{'inputText':'Hello','dimensions':512,'normalize':true}";

	(void)state;
	wire_is("titan-embed", WIRE_BEDROCK, mi, "/invoke", mi);
	wire_is("titan-embed", WIRE_OPENAI, mi, "/embeddings",
		"{'model':'up-model','input':'Hello','dimensions':512,'encoding_format':'float'}");
	wire_is("titan-embed", WIRE_OPENAI, "{'inputText':'Hello'}", "/embeddings",
		"{'model':'up-model','input':'Hello','encoding_format':'float'}");
	wire_fail("titan-embed", WIRE_ANTHROPIC, "{'inputText':'Hello'}", ERR_CONFIG,
		  "family titan-embed cannot run on an anthropic backend (the Messages API has no embeddings)");
}

static void test_to_wire_openai_chat(void **state)
{
	static const char mi[] = "{'model':'gpt-4o','messages':[{'role':'system','content':'Be brief.'},"
				 "{'role':'user','content':'Hi'},{'role':'assistant','content':'Hello'},"
				 "{'role':'developer','content':[{'type':'text','text':'No emoji.'}]},"
				 "{'role':'user','content':[{'type':'text','text':'Look'},{'type':'image_url',"
				 "'image_url':{'url':'data:image/png;base64,iVBORw0KGgo='}}]}],"
				 "'max_tokens':40,'temperature':1.5,'stop':'###','seed':3,'n':1}";
	json_object *b;

	(void)state;
	/* On its own wire the body passes through with the upstream model name. */
	b = wire_body("openai-chat", WIRE_OPENAI, mi, "/chat/completions");
	check_str(b, "/model", "up-model");
	json_object_object_add(b, "model", json_object_new_string("gpt-4o"));
	expect_json(b, mi);
	json_object_put(b);

	/* Anthropic's temperature stops at 1; n and seed have no counterpart. */
	wire_is("openai-chat", WIRE_ANTHROPIC, mi, "/messages",
		"{'model':'up-model','max_tokens':40,'system':'Be brief.\\nNo emoji.','messages':["
		"{'role':'user','content':[{'type':'text','text':'Hi'}]},"
		"{'role':'assistant','content':[{'type':'text','text':'Hello'}]},"
		"{'role':'user','content':[{'type':'text','text':'Look'},{'type':'image','source':"
		"{'type':'base64','media_type':'image/png','data':'iVBORw0KGgo='}}]}],"
		"'temperature':1,'stop_sequences':['###']}");
	/* Consecutive user turns merge; vLLM's top_k -1 (no limit) is left out. */
	wire_is("openai-chat", WIRE_ANTHROPIC,
		"{'messages':[{'role':'user','content':'a'},{'role':'user','content':'b'}],"
		"'max_completion_tokens':77,'max_tokens':5,'top_k':-1}",
		"/messages",
		"{'model':'up-model','max_tokens':77,'messages':[{'role':'user','content':["
		"{'type':'text','text':'a'},{'type':'text','text':'b'}]}]}");
	/* Anthropic requires max_tokens, so the default is sent. */
	wire_is("openai-chat", WIRE_ANTHROPIC, "{'messages':[{'role':'user','content':'a'}]}", "/messages",
		"{'model':'up-model','max_tokens':512,'messages':[{'role':'user','content':[{'type':'text','text':'a'}]}]}");
	wire_fail("openai-chat", WIRE_BEDROCK, "{'messages':[{'role':'user','content':'a'}]}", ERR_CONFIG,
		  "family openai-chat cannot run on a bedrock backend");
	wire_fail("openai-chat", WIRE_ANTHROPIC,
		  "{'messages':[{'role':'user','content':'a'},{'role':'assistant','content':null,'tool_calls':[]},"
		  "{'role':'tool','tool_call_id':'c','content':'1'}]}",
		  ERR_INVAL, "messages[1]: tool calls and results cannot be sent to an anthropic backend");
	wire_fail("openai-chat", WIRE_ANTHROPIC,
		  "{'messages':[{'role':'user','content':[{'type':'input_audio','input_audio':{}}]}]}",
		  ERR_INVAL, "messages[0].content[0]: a \"input_audio\" part cannot be sent to an anthropic backend");
	wire_fail("openai-chat", WIRE_ANTHROPIC,
		  "{'messages':[{'role':'user','content':[{'type':'image_url','image_url':{'url':'ftp://x'}}]}]}",
		  ERR_INVAL, "messages[0].content[0].image_url.url: only base64 data URLs");
	wire_fail("openai-chat", WIRE_ANTHROPIC, "{'messages':[{'role':'user','content':'a'}],'stream':true}",
		  ERR_INVAL, "stream: must be false or absent");
}

static void test_to_wire_openai_completions(void **state)
{
	(void)state;
	wire_is("openai-completions", WIRE_OPENAI,
		"{'model':'davinci','prompt':'Say this is a test','max_tokens':7,'temperature':0}",
		"/completions",
		"{'model':'up-model','prompt':'Say this is a test','max_tokens':7,'temperature':0}");
	wire_is("openai-completions", WIRE_ANTHROPIC,
		"{'prompt':['Say this is a test'],'max_tokens':7,'stop':['\\n']}", "/messages",
		"{'model':'up-model','max_tokens':7,'messages':[{'role':'user','content':[{'type':'text',"
		"'text':'Say this is a test'}]}],'stop_sequences':['\\n']}");
	wire_fail("openai-completions", WIRE_ANTHROPIC, "{'prompt':['a','b']}", ERR_INVAL,
		  "prompt: an array of 2 prompts cannot be sent to an anthropic backend");
	wire_fail("openai-completions", WIRE_BEDROCK, "{'prompt':'a'}", ERR_CONFIG,
		  "cannot run on a bedrock backend");
}

static void test_to_wire_openai_embeddings(void **state)
{
	(void)state;
	wire_is("openai-embeddings", WIRE_OPENAI,
		"{'model':'text-embedding-3-small','input':['a','b'],'dimensions':64}", "/embeddings",
		"{'model':'up-model','input':['a','b'],'dimensions':64}");
	wire_fail("openai-embeddings", WIRE_ANTHROPIC, "{'input':'a'}", ERR_CONFIG,
		  "family openai-embeddings cannot run on an anthropic backend (the Messages API has no embeddings)");
	wire_fail("openai-embeddings", WIRE_BEDROCK, "{'input':'a'}", ERR_CONFIG,
		  "family openai-embeddings cannot run on a bedrock backend");
}

/* ---- from_wire ---- */

/* Answers as the official APIs return them. */
static const char oa_chat[] =
	"{'id':'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG','object':'chat.completion','created':1741569952,"
	"'model':'meta-llama/Llama-3.1-70B-Instruct','choices':[{'index':0,'message':{'role':'assistant',"
	"'content':'Paris is the capital of France.','refusal':null,'annotations':[]},'logprobs':null,"
	"'finish_reason':'stop'}],'usage':{'prompt_tokens':19,'completion_tokens':10,'total_tokens':29,"
	"'prompt_tokens_details':{'cached_tokens':0,'audio_tokens':0},'completion_tokens_details':"
	"{'reasoning_tokens':0,'audio_tokens':0,'accepted_prediction_tokens':0,'rejected_prediction_tokens':0}},"
	"'service_tier':'default','system_fingerprint':'fp_44709d6fcb'}";

static const char oa_chat_length[] =
	"{'id':'chatcmpl-123','object':'chat.completion','created':1741569952,'model':'m',"
	"'choices':[{'index':0,'message':{'role':'assistant','content':'Once upon a'},'logprobs':null,"
	"'finish_reason':'length'}],'usage':{'prompt_tokens':8,'completion_tokens':3,'total_tokens':11}}";

static const char oa_text[] =
	"{'id':'cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7','object':'text_completion','created':1589478378,"
	"'model':'meta-llama/Llama-3.1-70B-Instruct','system_fingerprint':'fp_44709d6fcb',"
	"'choices':[{'text':'\\n\\nThis is indeed a test','index':0,'logprobs':null,'finish_reason':'length'}],"
	"'usage':{'prompt_tokens':5,'completion_tokens':7,'total_tokens':12}}";

static const char oa_text_stop[] =
	"{'id':'cmpl-9','object':'text_completion','created':1589478378,'model':'m',"
	"'choices':[{'text':' Paris.','index':0,'logprobs':null,'finish_reason':'stop','stop_reason':null}],"
	"'usage':{'prompt_tokens':6,'completion_tokens':2,'total_tokens':8}}";

static const char oa_embed[] =
	"{'object':'list','data':[{'object':'embedding','index':0,'embedding':[0.0023064255,-0.009327292,"
	"0.015797347,-1e-05]}],'model':'text-embedding-3-small','usage':{'prompt_tokens':8,'total_tokens':8}}";

static const char an_msg[] =
	"{'id':'msg_01XFDUDYJgAACzvnptvVoYEL','type':'message','role':'assistant',"
	"'model':'claude-3-5-haiku-20241022','content':[{'type':'text','text':'Hello! '},"
	"{'type':'text','text':'How can I help?'}],'stop_reason':'end_turn','stop_sequence':null,"
	"'usage':{'input_tokens':12,'output_tokens':9,'cache_creation_input_tokens':0,"
	"'cache_read_input_tokens':0}}";

static const char an_msg_max[] =
	"{'id':'msg_02','type':'message','role':'assistant','model':'claude-3-5-haiku-20241022',"
	"'content':[{'type':'text','text':'Once upon'}],'stop_reason':'max_tokens','stop_sequence':null,"
	"'usage':{'input_tokens':4,'output_tokens':2}}";

static const char an_msg_seq[] =
	"{'id':'msg_03','type':'message','role':'assistant','model':'claude-3-5-haiku-20241022',"
	"'content':[{'type':'text','text':'1, 2, 3'}],'stop_reason':'stop_sequence','stop_sequence':'4',"
	"'usage':{'input_tokens':7,'output_tokens':6}}";

/*
 * answer runs from_wire on body with the given header counts, after a
 * prefix in the output buffer so that appending is tested too, and
 * returns the parsed modelOutput.
 */
static json_object *answer(const char *family, enum wire w, const char *mi, const char *body,
			   int64_t hin, int64_t hout, struct usage *u)
{
	static const char prefix[] = "{\"modelOutput\":";
	json_object *mio = pj(mi), *resp = pj(body), *all = NULL, *out;
	struct wire_resp r = {.body = resp, .hdr_input_tokens = hin, .hdr_output_tokens = hout};
	struct buf b;
	struct err e;
	int rc;

	buf_init(&b, 0);
	buf_puts(&b, prefix);
	err_init(&e);
	u->input_tokens = u->output_tokens = -99;
	rc = fam(family)->from_wire(w, mio, &r, "my-model", &b, u, &e);
	if (rc)
		fail_msg("%s from %s: %s", family, fmt_wire_name(w), e.msg);
	buf_putc(&b, '}');
	err_init(&e);
	if (json_parse(b.data, b.len, &all, &e))
		fail_msg("%s from %s gave bad JSON (%s): %s", family, fmt_wire_name(w), e.msg, b.data);
	out = json_object_get(json_get(all, "modelOutput"));
	json_object_put(all);
	buf_free(&b);
	json_object_put(mio);
	json_object_put(resp);
	return out;
}

static void answer_fail(const char *family, enum wire w, const char *body, int code,
			const char *frag)
{
	json_object *resp = pj(body), *mio = pj("{}");
	struct wire_resp r = {.body = resp, .hdr_input_tokens = -1, .hdr_output_tokens = -1};
	struct usage u = {0};
	struct buf b;
	struct err e;
	int rc;

	buf_init(&b, 0);
	err_init(&e);
	rc = fam(family)->from_wire(w, mio, &r, "my-model", &b, &u, &e);
	if (rc != code)
		fail_msg("%s from %s: expected %d, got %d (%s)", family, fmt_wire_name(w), code, rc,
			 e.msg);
	assert_contains(e.msg, frag);
	buf_free(&b);
	json_object_put(resp);
	json_object_put(mio);
}

static void check_usage(const struct usage *u, int64_t in, int64_t out)
{
	assert_int_equal(u->input_tokens, in);
	assert_int_equal(u->output_tokens, out);
}

/*
 * answer_is runs from_wire and compares the whole modelOutput with want
 * and the usage with in and out.
 */
static void answer_is(const char *family, enum wire w, const char *body, int64_t hin,
		      int64_t hout, const char *want, int64_t in, int64_t out)
{
	struct usage u;
	json_object *o = answer(family, w, "{}", body, hin, hout, &u);

	expect_json(o, want);
	if (u.input_tokens != in || u.output_tokens != out)
		fail_msg("%s from %s: expected usage %lld/%lld, got %lld/%lld", family,
			 fmt_wire_name(w), (long long)in, (long long)out,
			 (long long)u.input_tokens, (long long)u.output_tokens);
	json_object_put(o);
}

static void test_from_wire_anthropic(void **state)
{
	(void)state;
	answer_is("anthropic-messages", WIRE_OPENAI, oa_chat, -1, -1,
		  "{'id':'msg_B9MHDbslfkBeAs8l4bebGdFOJ6PeG','type':'message','role':'assistant',"
		  "'model':'my-model','content':[{'type':'text','text':'Paris is the capital of France.'}],"
		  "'stop_reason':'end_turn','stop_sequence':null,'usage':{'input_tokens':19,'output_tokens':10}}",
		  19, 10);
	answer_is("anthropic-messages", WIRE_OPENAI, oa_chat_length, -1, -1,
		  "{'id':'msg_123','type':'message','role':'assistant','model':'my-model',"
		  "'content':[{'type':'text','text':'Once upon a'}],'stop_reason':'max_tokens',"
		  "'stop_sequence':null,'usage':{'input_tokens':8,'output_tokens':3}}",
		  8, 3);
	/* A Message passes through as it is, with its usage read. */
	answer_is("anthropic-messages", WIRE_ANTHROPIC, an_msg, -1, -1, an_msg, 12, 9);
	answer_is("anthropic-messages", WIRE_BEDROCK, an_msg_seq, 100, 100, an_msg_seq, 7, 6);
}

static void test_from_wire_llama(void **state)
{
	static const char native[] =
		"{'generation':' Paris.','prompt_token_count':12,'generation_token_count':30,'stop_reason':'stop'}";

	(void)state;
	answer_is("llama", WIRE_OPENAI, oa_text, -1, -1,
		  "{'generation':'\\n\\nThis is indeed a test','prompt_token_count':5,"
		  "'generation_token_count':7,'stop_reason':'length'}",
		  5, 7);
	answer_is("llama", WIRE_OPENAI, oa_text_stop, -1, -1,
		  "{'generation':' Paris.','prompt_token_count':6,'generation_token_count':2,'stop_reason':'stop'}",
		  6, 2);
	answer_is("llama", WIRE_ANTHROPIC, an_msg_max, -1, -1,
		  "{'generation':'Once upon','prompt_token_count':4,'generation_token_count':2,'stop_reason':'length'}",
		  4, 2);
	answer_is("llama", WIRE_ANTHROPIC, an_msg_seq, -1, -1,
		  "{'generation':'1, 2, 3','prompt_token_count':7,'generation_token_count':6,'stop_reason':'stop'}",
		  7, 6);
	answer_is("llama", WIRE_BEDROCK, native, 1, 1, native, 12, 30);
}

static void test_from_wire_mistral(void **state)
{
	static const char native[] = "{'outputs':[{'text':' Paris.','stop_reason':'stop'}]}";

	(void)state;
	answer_is("mistral", WIRE_OPENAI, oa_text, -1, -1,
		  "{'outputs':[{'text':'\\n\\nThis is indeed a test','stop_reason':'length'}]}", 5, 7);
	answer_is("mistral", WIRE_ANTHROPIC, an_msg, -1, -1,
		  "{'outputs':[{'text':'Hello! How can I help?','stop_reason':'stop'}]}", 12, 9);
	/* Bedrock's Mistral body has no counts: they come from the headers, else 0. */
	answer_is("mistral", WIRE_BEDROCK, native, 11, 20, native, 11, 20);
	answer_is("mistral", WIRE_BEDROCK, native, -1, -1, native, 0, 0);
}

static void test_from_wire_titan_text(void **state)
{
	static const char native[] = "{'inputTextTokenCount':12,'results':[{'tokenCount':30,"
				     "'outputText':'Paris','completionReason':'FINISH'}]}";

	(void)state;
	answer_is("titan-text", WIRE_OPENAI, oa_text_stop, -1, -1,
		  "{'inputTextTokenCount':6,'results':[{'tokenCount':2,'outputText':' Paris.',"
		  "'completionReason':'FINISH'}]}",
		  6, 2);
	answer_is("titan-text", WIRE_OPENAI, oa_text, -1, -1,
		  "{'inputTextTokenCount':5,'results':[{'tokenCount':7,'outputText':'\\n\\nThis is indeed a test',"
		  "'completionReason':'LENGTH'}]}",
		  5, 7);
	answer_is("titan-text", WIRE_ANTHROPIC, an_msg_seq, -1, -1,
		  "{'inputTextTokenCount':7,'results':[{'tokenCount':6,'outputText':'1, 2, 3',"
		  "'completionReason':'STOP_CRITERIA_MET'}]}",
		  7, 6);
	answer_is("titan-text", WIRE_BEDROCK, native, -1, -1, native, 12, 30);
}

static void test_from_wire_nova_converse(void **state)
{
	static const char nova[] =
		"{'output':{'message':{'content':[{'text':'Paris'}],'role':'assistant'}},'stopReason':'end_turn',"
		"'usage':{'inputTokens':12,'outputTokens':30,'totalTokens':42,'cacheReadInputTokenCount':0}}";
	static const char converse[] =
		"{'output':{'message':{'role':'assistant','content':[{'text':'Paris'}]}},'stopReason':'end_turn',"
		"'usage':{'inputTokens':3,'outputTokens':4,'totalTokens':7},'metrics':{'latencyMs':120}}";

	(void)state;
	answer_is("nova", WIRE_OPENAI, oa_chat, -1, -1,
		  "{'output':{'message':{'role':'assistant','content':[{'text':'Paris is the capital of France.'}]}},"
		  "'stopReason':'end_turn','usage':{'inputTokens':19,'outputTokens':10,'totalTokens':29}}",
		  19, 10);
	answer_is("converse", WIRE_OPENAI, oa_chat_length, -1, -1,
		  "{'output':{'message':{'role':'assistant','content':[{'text':'Once upon a'}]}},"
		  "'stopReason':'max_tokens','usage':{'inputTokens':8,'outputTokens':3,'totalTokens':11},"
		  "'metrics':{'latencyMs':0}}",
		  8, 3);
	answer_is("converse", WIRE_ANTHROPIC, an_msg_seq, -1, -1,
		  "{'output':{'message':{'role':'assistant','content':[{'text':'1, 2, 3'}]}},"
		  "'stopReason':'stop_sequence','usage':{'inputTokens':7,'outputTokens':6,'totalTokens':13},"
		  "'metrics':{'latencyMs':0}}",
		  7, 6);
	answer_is("nova", WIRE_BEDROCK, nova, -1, -1, nova, 12, 30);
	answer_is("converse", WIRE_BEDROCK, converse, -1, -1, converse, 3, 4);
}

static void test_from_wire_titan_embed(void **state)
{
	static const char native[] =
		"{'embedding':[0.1,-0.2],'embeddingsByType':{'float':[0.1,-0.2]},'inputTextTokenCount':7}";

	(void)state;
	answer_is("titan-embed", WIRE_OPENAI, oa_embed, -1, -1,
		  "{'embedding':[0.0023064255,-0.009327292,0.015797347,-1e-05],'inputTextTokenCount':8}", 8, 0);
	answer_is("titan-embed", WIRE_BEDROCK, native, -1, -1, native, 7, 0);
	answer_fail("titan-embed", WIRE_ANTHROPIC, an_msg, ERR_CONFIG, "has no embeddings");
}

static void test_from_wire_openai(void **state)
{
	struct usage u;
	json_object *o;

	(void)state;
	o = answer("openai-chat", WIRE_OPENAI, "{}", oa_chat, -1, -1, &u);
	check_str(o, "/id", "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG");
	check_str(o, "/system_fingerprint", "fp_44709d6fcb");
	check_int(o, "/usage/completion_tokens_details/reasoning_tokens", 0);
	check_usage(&u, 19, 10);
	json_object_put(o);

	o = answer("openai-chat", WIRE_ANTHROPIC, "{}", an_msg_max, -1, -1, &u);
	check_str(o, "/id", "chatcmpl-02");
	check_str(o, "/object", "chat.completion");
	check_str(o, "/model", "my-model");
	assert_true(json_is_type(at(o, "/created"), json_type_int));
	check_int(o, "/choices/0/index", 0);
	check_str(o, "/choices/0/message/role", "assistant");
	check_str(o, "/choices/0/message/content", "Once upon");
	check_str(o, "/choices/0/finish_reason", "length");
	check_int(o, "/usage/prompt_tokens", 4);
	check_int(o, "/usage/completion_tokens", 2);
	check_int(o, "/usage/total_tokens", 6);
	check_usage(&u, 4, 2);
	json_object_put(o);

	o = answer("openai-completions", WIRE_OPENAI, "{}", oa_text, -1, -1, &u);
	check_str(o, "/choices/0/text", "\n\nThis is indeed a test");
	check_usage(&u, 5, 7);
	json_object_put(o);

	o = answer("openai-completions", WIRE_ANTHROPIC, "{}", an_msg, -1, -1, &u);
	check_str(o, "/object", "text_completion");
	check_str(o, "/id", "cmpl-01XFDUDYJgAACzvnptvVoYEL");
	check_str(o, "/choices/0/text", "Hello! How can I help?");
	check_str(o, "/choices/0/finish_reason", "stop");
	check_null(o, "/choices/0/logprobs");
	check_usage(&u, 12, 9);
	json_object_put(o);

	o = answer("openai-embeddings", WIRE_OPENAI, "{}", oa_embed, -1, -1, &u);
	check_str(o, "/object", "list");
	check_num(o, "/data/0/embedding/1", -0.009327292);
	check_usage(&u, 8, 0);
	json_object_put(o);

	answer_fail("openai-chat", WIRE_BEDROCK, oa_chat, ERR_CONFIG, "cannot run on a bedrock backend");
	answer_fail("openai-embeddings", WIRE_ANTHROPIC, an_msg, ERR_CONFIG, "has no embeddings");
}

static void test_from_wire_stop_sequences(void **state)
{
	/* vLLM names the stop string that matched; OpenAI itself does not. */
	static const char vllm[] =
		"{'id':'cmpl-7','object':'text_completion','created':1,'model':'m','choices':[{'index':0,"
		"'text':'1, 2, 3','logprobs':null,'finish_reason':'stop','stop_reason':'4'}],"
		"'usage':{'prompt_tokens':3,'completion_tokens':5,'total_tokens':8}}";
	static const char vllm_chat[] =
		"{'id':'chatcmpl-7','object':'chat.completion','created':1,'model':'m','choices':[{'index':0,"
		"'message':{'role':'assistant','content':'1, 2, 3'},'logprobs':null,'finish_reason':'stop',"
		"'stop_reason':'4'}],'usage':{'prompt_tokens':3,'completion_tokens':5,'total_tokens':8}}";
	struct usage u;
	json_object *o;

	(void)state;
	o = answer("titan-text", WIRE_OPENAI, "{}", vllm, -1, -1, &u);
	check_str(o, "/results/0/completionReason", "STOP_CRITERIA_MET");
	json_object_put(o);

	o = answer("llama", WIRE_OPENAI, "{}", vllm, -1, -1, &u);
	check_str(o, "/stop_reason", "stop");
	json_object_put(o);

	o = answer("anthropic-messages", WIRE_OPENAI, "{}", vllm_chat, -1, -1, &u);
	check_str(o, "/stop_reason", "stop_sequence");
	check_str(o, "/stop_sequence", "4");
	json_object_put(o);

	o = answer("nova", WIRE_OPENAI, "{}", vllm_chat, -1, -1, &u);
	check_str(o, "/stopReason", "stop_sequence");
	json_object_put(o);
}

static void test_from_wire_usage_fallback(void **state)
{
	static const char no_usage[] =
		"{'id':'chatcmpl-1','object':'chat.completion','created':1,'model':'m','choices':[{'index':0,"
		"'message':{'role':'assistant','content':'ok'},'finish_reason':'stop'}]}";
	struct usage u;
	json_object *o;

	(void)state;
	o = answer("anthropic-messages", WIRE_OPENAI, "{}", no_usage, 5, 6, &u);
	check_usage(&u, 5, 6);
	check_int(o, "/usage/input_tokens", 5);
	check_int(o, "/usage/output_tokens", 6);
	json_object_put(o);

	o = answer("nova", WIRE_OPENAI, "{}", no_usage, -1, -1, &u);
	check_usage(&u, 0, 0);
	check_int(o, "/usage/totalTokens", 0);
	json_object_put(o);

	/* A refusal stands in for a null content. */
	o = answer("anthropic-messages", WIRE_OPENAI, "{}",
		   "{'id':'c','object':'chat.completion','choices':[{'index':0,'message':{'role':'assistant',"
		   "'content':null,'refusal':'I cannot help with that.'},'finish_reason':'stop'}],"
		   "'usage':{'prompt_tokens':1,'completion_tokens':2}}",
		   -1, -1, &u);
	check_str(o, "/content/0/text", "I cannot help with that.");
	check_str(o, "/stop_reason", "refusal");
	json_object_put(o);

	/* An Anthropic answer with no text blocks is an empty answer, not an error. */
	o = answer("llama", WIRE_ANTHROPIC, "{}",
		   "{'id':'msg_4','type':'message','role':'assistant','model':'c','content':[],"
		   "'stop_reason':'end_turn','stop_sequence':null,'usage':{'input_tokens':3,'output_tokens':0}}",
		   -1, -1, &u);
	check_str(o, "/generation", "");
	check_usage(&u, 3, 0);
	json_object_put(o);
}

static void test_from_wire_malformed(void **state)
{
	(void)state;
	answer_fail("anthropic-messages", WIRE_OPENAI, "{'object':'chat.completion','choices':[]}",
		    ERR_REMOTE, "backend answer has no choices");
	answer_fail("nova", WIRE_OPENAI, "{'object':'chat.completion'}", ERR_REMOTE,
		    "backend answer has no choices");
	answer_fail("converse", WIRE_OPENAI, "{'choices':[{'index':0,'finish_reason':'stop'}]}",
		    ERR_REMOTE, "backend answer has no choices[0].message");
	answer_fail("anthropic-messages", WIRE_OPENAI,
		    "{'choices':[{'index':0,'message':{'role':'assistant','content':42}}]}", ERR_REMOTE,
		    "backend answer has no choices[0].message.content");
	answer_fail("llama", WIRE_OPENAI, "{'choices':[{'index':0,'finish_reason':'stop'}]}", ERR_REMOTE,
		    "backend answer has no choices[0].text");
	answer_fail("titan-text", WIRE_OPENAI, "[1,2]", ERR_REMOTE, "backend answer is not a JSON object");
	answer_fail("mistral", WIRE_ANTHROPIC, "{'type':'message','role':'assistant'}", ERR_REMOTE,
		    "backend answer has no content array");
	answer_fail("anthropic-messages", WIRE_ANTHROPIC, "{'type':'error','error':{'type':'overloaded_error'}}",
		    ERR_REMOTE, "backend answer has no content");
	answer_fail("nova", WIRE_ANTHROPIC, "{'content':[{'type':'text','text':5}]}", ERR_REMOTE,
		    "backend answer has no content[0].text");
	answer_fail("titan-embed", WIRE_OPENAI, "{'object':'list','data':[]}", ERR_REMOTE,
		    "backend answer has no data");
	answer_fail("titan-embed", WIRE_OPENAI,
		    "{'object':'list','data':[{'object':'embedding','embedding':'AAAA'}]}", ERR_REMOTE,
		    "backend answer has no data[0].embedding");
	answer_fail("llama", WIRE_BEDROCK, "{'outputs':[]}", ERR_REMOTE, "backend answer has no generation");
	answer_fail("mistral", WIRE_BEDROCK, "{'generation':'x'}", ERR_REMOTE, "backend answer has no outputs");
	answer_fail("titan-text", WIRE_BEDROCK, "{}", ERR_REMOTE, "backend answer has no results");
	answer_fail("nova", WIRE_BEDROCK, "{'output':'x'}", ERR_REMOTE, "backend answer has no output");
	answer_fail("titan-embed", WIRE_BEDROCK, "{'embedding':null}", ERR_REMOTE,
		    "backend answer has no embedding");
	answer_fail("anthropic-messages", WIRE_BEDROCK, "'text'", ERR_REMOTE, "not a JSON object");
	answer_fail("openai-chat", WIRE_OPENAI, "{'object':'chat.completion'}", ERR_REMOTE,
		    "backend answer has no choices");
	answer_fail("openai-embeddings", WIRE_OPENAI, "{'object':'list'}", ERR_REMOTE,
		    "backend answer has no data");
	answer_fail("openai-completions", WIRE_ANTHROPIC, "{'id':'x'}", ERR_REMOTE,
		    "backend answer has no content array");
}

/* to_wire with the raw bytes: passed-through members keep their spelling. */
static void test_to_wire_raw_keeps_bytes(void **state)
{
	const char *raw = "{\"model\":\"x\",\"max_tokens\":16,\"temperature\":0.70,"
			  "\"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9\"}]}";
	const char *dup = "{\"max_tokens\":16,\"max_tokens\":17,"
			  "\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}";
	const char *bed = "{ \"inputText\" : \"hi\", \"dimensions\": 256 }";
	struct wire_req req = {0};
	json_object *o = pj(raw);
	struct err e;

	(void)state;
	assert_ok(fam("openai-chat")->to_wire(WIRE_OPENAI, o, raw, strlen(raw), "up", &req, &e), &e);
	assert_string_equal(req.body, "{\"model\":\"up\",\"max_tokens\":16,\"temperature\":0.70,"
				      "\"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9\"}]}");
	free(req.body);
	json_object_put(o);
	/* A repeated key was collapsed by the parser: the body is rebuilt from it. */
	o = pj(dup);
	assert_ok(fam("openai-chat")->to_wire(WIRE_OPENAI, o, dup, strlen(dup), "up", &req, &e), &e);
	assert_null(strstr(req.body, "\"max_tokens\":16"));
	assert_non_null(strstr(req.body, "\"max_tokens\":17"));
	free(req.body);
	json_object_put(o);
	/* Bedrock takes the body exactly as written. */
	o = pj(bed);
	assert_ok(fam("titan-embed")->to_wire(WIRE_BEDROCK, o, bed, strlen(bed), "up", &req, &e), &e);
	assert_string_equal(req.body, bed);
	assert_string_equal(req.path, "/invoke");
	free(req.body);
	json_object_put(o);
}

/* from_wire of a passed-through answer keeps its bytes unless they span lines. */
static void test_from_wire_raw_one_line(void **state)
{
	const char *one = "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
			  "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":"
			  "\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,"
			  "\"total_tokens\":4},\"x\":1.50}";
	const char *pretty = "{\n  \"id\": \"c\",\n  \"choices\": [{\"index\": 0, \"message\": "
			     "{\"role\": \"assistant\", \"content\": \"hi\"}, \"finish_reason\": "
			     "\"stop\"}],\n  \"usage\": {\"prompt_tokens\": 3, \"completion_tokens\": 1}\n}\n";
	json_object *mi = pj("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}");
	json_object *b1 = pj(one), *b2 = pj(pretty);
	struct wire_resp r1 = {b1, one, strlen(one), -1, -1};
	struct wire_resp r2 = {b2, pretty, strlen(pretty), -1, -1};
	struct usage u;
	struct buf out;
	struct err e;

	(void)state;
	buf_init(&out, 0);
	assert_ok(fam("openai-chat")->from_wire(WIRE_OPENAI, mi, &r1, "m", &out, &u, &e), &e);
	assert_string_equal(out.data, one);
	assert_int_equal(u.input_tokens, 3);
	assert_int_equal(u.output_tokens, 1);
	buf_reset(&out);
	assert_ok(fam("openai-chat")->from_wire(WIRE_OPENAI, mi, &r2, "m", &out, &u, &e), &e);
	assert_null(memchr(out.data, '\n', out.len));
	assert_non_null(strstr(out.data, "\"content\":\"hi\""));
	buf_free(&out);
	json_object_put(mi);
	json_object_put(b1);
	json_object_put(b2);
}

/* Anthropic answers: cached prompt tokens count as input; a named stop sequence is one. */
static void test_from_wire_anthropic_cache_and_stop(void **state)
{
	const char *body = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
			   "\"content\":[{\"type\":\"text\",\"text\":\"a\"}],\"stop_reason\":"
			   "\"end_turn\",\"stop_sequence\":\" a\",\"usage\":{\"input_tokens\":1,"
			   "\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":39,"
			   "\"output_tokens\":2}}";
	json_object *mi = pj("{\"prompt\":\"x\"}");
	json_object *b = pj(body);
	struct wire_resp r = {b, body, strlen(body), -1, -1};
	struct usage u;
	struct buf out;
	struct err e;

	(void)state;
	buf_init(&out, 0);
	assert_ok(fam("llama")->from_wire(WIRE_ANTHROPIC, mi, &r, "m", &out, &u, &e), &e);
	assert_int_equal(u.input_tokens, 45);
	assert_int_equal(u.output_tokens, 2);
	assert_contains(out.data, "\"prompt_token_count\":45");
	assert_contains(out.data, "\"stop_reason\":\"stop\"");
	buf_reset(&out);
	/* The native family passes the answer through and bills the same. */
	assert_ok(fam("anthropic-messages")->from_wire(WIRE_ANTHROPIC, mi, &r, "m", &out, &u, &e),
		  &e);
	assert_int_equal(u.input_tokens, 45);
	buf_free(&out);
	json_object_put(mi);
	json_object_put(b);
}

/* Generated ids are random and well formed when the backend gave none. */
static void test_from_wire_generated_id(void **state)
{
	static const char no_id[] =
		"{'object':'chat.completion','choices':[{'index':0,'message':{'role':'assistant','content':'ok'},"
		"'finish_reason':'stop'}],'usage':{'prompt_tokens':1,'completion_tokens':1}}";
	json_object *a, *b;
	struct usage u;
	const char *ida, *idb;

	(void)state;
	a = answer("anthropic-messages", WIRE_OPENAI, "{}", no_id, -1, -1, &u);
	b = answer("anthropic-messages", WIRE_OPENAI, "{}", no_id, -1, -1, &u);
	ida = json_object_get_string(at(a, "/id"));
	idb = json_object_get_string(at(b, "/id"));
	assert_non_null(ida);
	assert_int_equal(strlen(ida), 4 + 24);
	assert_memory_equal(ida, "msg_", 4);
	assert_string_not_equal(ida, idb);
	json_object_put(a);
	json_object_put(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_lookup),
		cmocka_unit_test(test_registry_wires),
		cmocka_unit_test(test_tokens_text),
		cmocka_unit_test(test_validate_anthropic),
		cmocka_unit_test(test_validate_llama),
		cmocka_unit_test(test_validate_mistral),
		cmocka_unit_test(test_validate_titan_text),
		cmocka_unit_test(test_validate_titan_embed),
		cmocka_unit_test(test_validate_nova),
		cmocka_unit_test(test_validate_converse),
		cmocka_unit_test(test_validate_openai_chat),
		cmocka_unit_test(test_validate_openai_completions),
		cmocka_unit_test(test_validate_openai_embeddings),
		cmocka_unit_test(test_estimate_families),
		cmocka_unit_test(test_walk_texts),
		cmocka_unit_test(test_estimate_exact_8000),
		cmocka_unit_test(test_to_wire_anthropic),
		cmocka_unit_test(test_to_wire_anthropic_blocks),
		cmocka_unit_test(test_to_wire_llama),
		cmocka_unit_test(test_to_wire_mistral),
		cmocka_unit_test(test_to_wire_titan_text),
		cmocka_unit_test(test_to_wire_nova),
		cmocka_unit_test(test_to_wire_converse),
		cmocka_unit_test(test_to_wire_titan_embed),
		cmocka_unit_test(test_to_wire_openai_chat),
		cmocka_unit_test(test_to_wire_openai_completions),
		cmocka_unit_test(test_to_wire_openai_embeddings),
		cmocka_unit_test(test_from_wire_anthropic),
		cmocka_unit_test(test_from_wire_llama),
		cmocka_unit_test(test_from_wire_mistral),
		cmocka_unit_test(test_from_wire_titan_text),
		cmocka_unit_test(test_from_wire_nova_converse),
		cmocka_unit_test(test_from_wire_titan_embed),
		cmocka_unit_test(test_from_wire_openai),
		cmocka_unit_test(test_from_wire_stop_sequences),
		cmocka_unit_test(test_from_wire_usage_fallback),
		cmocka_unit_test(test_from_wire_malformed),
		cmocka_unit_test(test_from_wire_generated_id),
		cmocka_unit_test(test_from_wire_anthropic_cache_and_stop),
		cmocka_unit_test(test_to_wire_raw_keeps_bytes),
		cmocka_unit_test(test_from_wire_raw_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
