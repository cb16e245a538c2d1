/* check.c - checks of a modelInput's members, with messages that name the path at fault. */
#include "formats/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

bool fmt_member(json_object *o, const char *key, json_object **v)
{
	json_object *x = NULL;

	*v = NULL;
	if (!json_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &x))
		return false;
	if (!x || json_object_is_type(x, json_type_null))
		return false;
	*v = x;
	return true;
}

void fmt_path(char *dst, size_t n, const char *parent, const char *key)
{
	if (!key)
		snprintf(dst, n, "%s", parent);
	else if (parent && parent[0])
		snprintf(dst, n, "%s.%s", parent, key);
	else
		snprintf(dst, n, "%s", key);
}

/*
 * describe says what a value is for "got ..." in messages: numbers and
 * booleans by value, strings quoted (cut short on a character boundary so
 * that a long prompt does not flood the message), containers by type.
 */
static void describe(json_object *v, char *out, size_t n)
{
	const char *s;
	size_t len, cut;

	if (!v || json_object_is_type(v, json_type_null)) {
		snprintf(out, n, "null");
		return;
	}
	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
	case json_type_boolean:
		snprintf(out, n, "%s",
			 json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		return;
	case json_type_string:
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		cut = len > 40 ? 40 : len;
		while (cut < len && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
		snprintf(out, n, "\"%.*s%s\"", (int)cut, s, cut < len ? "..." : "");
		return;
	case json_type_array:
		snprintf(out, n, "%s", json_object_array_length(v) ? "an array" : "an empty array");
		return;
	case json_type_object:
		snprintf(out, n, "%s",
			 json_object_object_length(v) ? "an object" : "an empty object");
		return;
	default:
		snprintf(out, n, "%s", json_type_word(v));
		return;
	}
}

int fmt_fail(struct err *e, const char *parent, const char *key, const char *expect,
	     json_object *v)
{
	char path[256], got[96];

	fmt_path(path, sizeof(path), parent, key);
	describe(v, got, sizeof(got));
	return err_set(e, ERR_INVAL, "%s: must be %s, got %s", path, expect, got);
}

/* missing reports a required member that is absent or null. */
static int missing(struct err *e, const char *parent, const char *key, const char *expect)
{
	char path[256];

	fmt_path(path, sizeof(path), parent, key);
	return err_set(e, ERR_INVAL, "%s: is missing; it must be %s", path, expect);
}

/* reject reports a member that failed its check: missing when v is NULL, else wrong. */
static int reject(struct err *e, const char *parent, const char *key, const char *expect,
		  json_object *v)
{
	return v ? fmt_fail(e, parent, key, expect, v) : missing(e, parent, key, expect);
}

int fmt_check_object(json_object *mi, struct err *e)
{
	if (!json_is_type(mi, json_type_object))
		return fmt_fail(e, "modelInput", NULL, "a JSON object", mi);
	return 0;
}

/*
 * present finds a member for a check: 1 when there is one to check, 0 when
 * an optional member is absent, or an error for an absent required one.
 */
static int present(json_object *o, const char *parent, const char *key, int req,
		   const char *expect, json_object **v, struct err *e)
{
	if (fmt_member(o, key, v))
		return 1;
	if (req == FMT_REQUIRED)
		return missing(e, parent, key, expect);
	return 0;
}

int fmt_check_string(json_object *o, const char *parent, const char *key, int req,
		     bool nonempty, struct err *e)
{
	const char *expect = nonempty ? "a non-empty string" : "a string";
	json_object *v;
	int rc = present(o, parent, key, req, expect, &v, e);

	if (rc <= 0)
		return rc;
	if (!json_is_type(v, json_type_string) ||
	    (nonempty && json_object_get_string_len(v) == 0))
		return fmt_fail(e, parent, key, expect, v);
	return 0;
}

int fmt_check_int(json_object *o, const char *parent, const char *key, int req,
		  int64_t lo, int64_t hi, struct err *e)
{
	char expect[96];
	json_object *v = NULL;
	int64_t x;

	if (fmt_member(o, key, &v) && json_get_int64(o, key, &x) && x >= lo && x <= hi)
		return 0;
	if (!v && req != FMT_REQUIRED)
		return 0;
	if (hi == FMT_NO_MAX)
		snprintf(expect, sizeof(expect), "an integer of at least %lld", (long long)lo);
	else
		snprintf(expect, sizeof(expect), "an integer between %lld and %lld",
			 (long long)lo, (long long)hi);
	return reject(e, parent, key, expect, v);
}

int fmt_check_number(json_object *o, const char *parent, const char *key, int req,
		     double lo, double hi, struct err *e)
{
	char expect[96];
	json_object *v = NULL;
	double x;

	/* The expectation is worded only on failure: validation is a hot path. */
	if (fmt_member(o, key, &v) && json_get_double(o, key, &x) && x >= lo && x <= hi)
		return 0;
	if (!v && req != FMT_REQUIRED)
		return 0;
	snprintf(expect, sizeof(expect), "a number between %g and %g", lo, hi);
	return reject(e, parent, key, expect, v);
}

int fmt_check_bool(json_object *o, const char *parent, const char *key, struct err *e)
{
	json_object *v;

	if (!fmt_member(o, key, &v))
		return 0;
	if (!json_is_type(v, json_type_boolean))
		return fmt_fail(e, parent, key, "true or false", v);
	return 0;
}

int fmt_check_object_member(json_object *o, const char *parent, const char *key, int req,
			    json_object **obj, struct err *e)
{
	json_object *v;
	int rc = present(o, parent, key, req, "an object", &v, e);

	if (obj)
		*obj = NULL;
	if (rc <= 0)
		return rc;
	if (!json_is_type(v, json_type_object))
		return fmt_fail(e, parent, key, "an object", v);
	if (obj)
		*obj = v;
	return 0;
}

int fmt_check_array_member(json_object *o, const char *parent, const char *key, int req,
			   bool nonempty, json_object **arr, struct err *e)
{
	const char *expect = nonempty ? "a non-empty array" : "an array";
	json_object *v;
	int rc = present(o, parent, key, req, expect, &v, e);

	*arr = NULL;
	if (rc <= 0)
		return rc;
	if (!json_is_type(v, json_type_array) ||
	    (nonempty && json_object_array_length(v) == 0))
		return fmt_fail(e, parent, key, expect, v);
	*arr = v;
	return 0;
}

int fmt_check_items(json_object *arr, const char *path, fmt_check_item_fn *check,
		    struct err *e)
{
	char item[288];
	size_t n = json_object_array_length(arr);
	int rc;

	for (size_t i = 0; i < n; i++) {
		snprintf(item, sizeof(item), "%s[%zu]", path, i);
		rc = check(json_object_array_get_idx(arr, i), item, e);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * check_strings checks that every item of arr (named path) is a string,
 * non-empty when nonempty. Unlike fmt_check_items it words an item's path
 * only on failure, since stop lists are checked in every record.
 */
static int check_strings(json_object *arr, const char *path, bool nonempty, struct err *e)
{
	char item[288];
	size_t n = json_object_array_length(arr);

	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		if (json_is_type(s, json_type_string) &&
		    !(nonempty && json_object_get_string_len(s) == 0))
			continue;
		snprintf(item, sizeof(item), "%s[%zu]", path, i);
		return fmt_fail(e, item, NULL, nonempty ? "a non-empty string" : "a string", s);
	}
	return 0;
}

int fmt_check_string_array(json_object *o, const char *parent, const char *key,
			   size_t max_items, struct err *e)
{
	char path[256];
	json_object *arr;
	size_t n;
	int rc;

	rc = fmt_check_array_member(o, parent, key, FMT_OPTIONAL, false, &arr, e);
	if (rc || !arr)
		return rc;
	fmt_path(path, sizeof(path), parent, key);
	n = json_object_array_length(arr);
	if (max_items && n > max_items)
		return err_set(e, ERR_INVAL, "%s: must hold at most %zu strings, got %zu",
			       path, max_items, n);
	return check_strings(arr, path, false, e);
}

int fmt_check_enum(json_object *o, const char *parent, const char *key, int req,
		   const char *const *allowed, struct err *e)
{
	char expect[256];
	size_t len = 0, count = 0;
	json_object *v;
	const char *s;
	int rc;

	while (allowed[count])
		count++;
	expect[0] = '\0';
	if (count > 2)
		len += (size_t)snprintf(expect, sizeof(expect), "one of ");
	for (size_t i = 0; i < count && len < sizeof(expect); i++) {
		const char *sep = i == 0 ? "" : count == 2 ? " or " : ", ";

		len += (size_t)snprintf(expect + len, sizeof(expect) - len, "%s\"%s\"", sep,
					allowed[i]);
	}
	rc = present(o, parent, key, req, expect, &v, e);
	if (rc <= 0)
		return rc;
	s = json_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	for (size_t i = 0; s && i < count; i++)
		if (!strcmp(s, allowed[i]))
			return 0;
	return fmt_fail(e, parent, key, expect, v);
}

int fmt_check_kind(json_object *o, const char *path, const char *what, const char *key,
		   const char *const *allowed, const char **kind, struct err *e)
{
	int rc;

	if (!json_is_type(o, json_type_object))
		return fmt_fail(e, path, NULL, what, o);
	if (allowed)
		rc = fmt_check_enum(o, path, key, FMT_REQUIRED, allowed, e);
	else
		rc = fmt_check_string(o, path, key, FMT_REQUIRED, true, e);
	if (!rc && kind)
		*kind = json_get_str(o, key);
	return rc;
}

int fmt_check_list(json_object *o, const char *parent, const char *key, const char *expect,
		   bool nonempty, fmt_check_item_fn *check, struct err *e)
{
	char path[256];
	json_object *v;
	int rc = present(o, parent, key, FMT_REQUIRED, expect, &v, e);

	if (rc <= 0)
		return rc;
	if (json_is_type(v, json_type_string)) {
		if (nonempty && json_object_get_string_len(v) == 0)
			return fmt_fail(e, parent, key, expect, v);
		return 0;
	}
	if (!json_is_type(v, json_type_array) || json_object_array_length(v) == 0)
		return fmt_fail(e, parent, key, expect, v);
	fmt_path(path, sizeof(path), parent, key);
	if (!check)
		return check_strings(v, path, nonempty, e);
	return fmt_check_items(v, path, check, e);
}

/*
 * check_turn checks the role of turn idx (path names the message, e.g.
 * "messages[1]") for the user/assistant alternation of the Anthropic and
 * Bedrock message APIs; prev is the previous turn's role or NULL.
 */
static int check_turn(const char *path, size_t idx, json_object *msg, const char *prev,
		      struct err *e)
{
	static const char *const roles[] = {"user", "assistant", NULL};
	const char *role;
	int rc;

	rc = fmt_check_kind(msg, path, "an object with \"role\" and \"content\"", "role", roles,
			    &role, e);
	if (rc)
		return rc;
	if (idx == 0 && strcmp(role, "user"))
		return err_set(e, ERR_INVAL,
			       "%s.role: must be \"user\" in the first turn, got \"%s\"", path,
			       role);
	if (prev && !strcmp(prev, role))
		return err_set(e, ERR_INVAL, "%s.role: must be \"%s\" after %s \"%s\" turn", path,
			       strcmp(role, "user") ? "user" : "assistant",
			       strcmp(role, "user") ? "an" : "a", prev);
	return 0;
}

int fmt_check_messages(json_object *mi, bool turns, fmt_check_item_fn *check, struct err *e)
{
	json_object *msgs;
	const char *prev = NULL;
	char path[48];
	size_t n;
	int rc;

	rc = fmt_check_array_member(mi, "", "messages", FMT_REQUIRED, true, &msgs, e);
	if (rc)
		return rc;
	n = json_object_array_length(msgs);
	for (size_t i = 0; i < n; i++) {
		json_object *msg = json_object_array_get_idx(msgs, i);

		snprintf(path, sizeof(path), "messages[%zu]", i);
		rc = turns ? check_turn(path, i, msg, prev, e) : 0;
		if (!rc)
			rc = check(msg, path, e);
		if (rc)
			return rc;
		prev = json_get_str(msg, "role");
	}
	return 0;
}

int fmt_check_prompt(const struct fmt_spec *s, json_object *mi, struct err *e)
{
	int rc = fmt_check_object(mi, e);

	return rc ? rc : fmt_check_string(mi, "", s->text, FMT_REQUIRED, true, e);
}

int fmt_check_settings(const struct fmt_spec *s, json_object *mi, struct err *e)
{
	const struct fmt_sampling_keys *k = s->keys;
	const char *parent = s->settings ? s->settings : "";
	int64_t hi = s->max_tokens_limit ? s->max_tokens_limit : FMT_MAX_TOKENS_CAP;
	json_object *o = mi;
	int rc = 0;

	if (s->settings) {
		rc = fmt_check_object_member(mi, "", s->settings, FMT_OPTIONAL, &o, e);
		if (rc || !o)
			return rc;
	}
	if (k->max_tokens)
		rc = fmt_check_int(o, parent, k->max_tokens, FMT_OPTIONAL, 1, hi, e);
	if (!rc && k->temperature)
		rc = fmt_check_number(o, parent, k->temperature, FMT_OPTIONAL, 0, 1, e);
	if (!rc && k->top_p)
		rc = fmt_check_number(o, parent, k->top_p, FMT_OPTIONAL, 0, 1, e);
	if (!rc && k->top_k)
		rc = fmt_check_int(o, parent, k->top_k, FMT_OPTIONAL, 0, FMT_NO_MAX, e);
	if (!rc && k->stop)
		rc = fmt_check_string_array(o, parent, k->stop, s->max_stop, e);
	return rc;
}

int fmt_validate_prompt(const struct fmt_spec *s, json_object *mi, struct err *e)
{
	int rc = fmt_check_prompt(s, mi, e);

	return rc ? rc : fmt_check_settings(s, mi, e);
}
