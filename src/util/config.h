/* config.h - the INI configuration, merged over the built-in catalog. */
#ifndef BARGE_CONFIG_H
#define BARGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CONFIG_MAX_ENTRIES 256
#define CONFIG_NAME_MAX 128

enum backend_kind { BK_SIM, BK_OPENAI, BK_ANTHROPIC, BK_BEDROCK };

/* Fault kinds the simulator can inject, as bits of fail_types. */
enum sim_fault_bit {
	SIMF_429 = 1 << 0,
	SIMF_500 = 1 << 1,
	SIMF_503 = 1 << 2,
	SIMF_TIMEOUT = 1 << 3,
	SIMF_RESET = 1 << 4,
	SIMF_MALFORMED = 1 << 5,
	SIMF_TRUNCATED = 1 << 6,
	SIMF_ALL = (1 << 7) - 1
};

struct backend_cfg {
	char name[CONFIG_NAME_MAX];
	enum backend_kind kind;
	char *base_url;
	char *api_key;
	char *anthropic_version;
	char *region;
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	int max_concurrency;
	int requests_per_minute; /* 0: unlimited */
	int tokens_per_minute;   /* 0: unlimited */
	double timeout_s;
	int max_attempts;
	int retry_base_ms;
	int retry_max_ms;
	int max_down_s;     /* how long records wait for a backend that is down */
	int64_t max_response_bytes;
	/* kind = sim */
	int ttft_ms;
	int itl_ms;
	int max_seqs; /* 0: unlimited */
	double fail_rate;
	unsigned fail_types;
	uint64_t seed;
	int retry_after_s;
	int output_tokens;  /* > 0: every answer has this many tokens (up to max_tokens) */
};

struct model_cfg {
	char id[CONFIG_NAME_MAX];
	char family[48];
	char backend[CONFIG_NAME_MAX];
	char upstream[CONFIG_NAME_MAX];
	double input_price_per_1k;
	double output_price_per_1k;
	double batch_discount;
	bool builtin;
};

struct account_cfg {
	char name[CONFIG_NAME_MAX];
	char account_id[16];
	char *access_key_id;
	char *secret_access_key;
	char *api_key;
	char **allowed_uris;
	size_t n_allowed_uris;
	int max_running_jobs_per_model;
	int max_queued_jobs_per_model;
	char webhook[CONFIG_NAME_MAX]; /* the [webhook.*] told of this account's jobs, or "" */
};

/* An endpoint told when jobs end: POSTed a signed JSON event. */
struct webhook_cfg {
	char name[CONFIG_NAME_MAX];
	char *url;
	char *secret; /* signs the events (HMAC-SHA256) */
	int max_attempts;
};

struct limits_cfg {
	uint64_t max_file_bytes;
	uint64_t max_records_per_job;
	uint64_t min_records_per_job;
	unsigned chunk_records;
	size_t max_line_bytes;
};

struct server_cfg {
	char *listen;
	char *data;
	char *store;
	char *batches;     /* where the OpenAI and Anthropic dialects keep batches (URI) */
	char *region;
	int runners;       /* runner threads; 0 leaves the work to `barge worker`s */
	int lease_seconds; /* how long a chunk stays leased to a runner that went silent */
	int hour_seconds; /* for tests: how long timeoutDurationInHours' hours are */
};

struct s3_cfg {
	char *endpoint;
	char *region;
	bool path_style;
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	char *profile;
};

struct config {
	char *path; /* the file read, or NULL */
	struct server_cfg server;
	struct limits_cfg limits;
	struct s3_cfg s3;
	struct backend_cfg *backends;
	size_t n_backends;
	struct model_cfg *models;
	size_t n_models;
	struct account_cfg *accounts;
	size_t n_accounts;
	struct webhook_cfg *webhooks;
	size_t n_webhooks;
};

/*
 * config_load fills c with the built-in defaults and catalog, then merges
 * path over them when path is not NULL. Secrets given as *_env are read from
 * the environment here. On failure e names the file, line and key; c is left
 * initialised and must still be freed with config_free.
 */
int config_load(struct config *c, const char *path, struct err *e);
void config_free(struct config *c);

const struct model_cfg *config_find_model(const struct config *c, const char *id);
const struct backend_cfg *config_find_backend(const struct config *c, const char *name);
const struct webhook_cfg *config_find_webhook(const struct config *c, const char *name);
const char *config_kind_name(enum backend_kind k);
/* config_parse_fail_types reads "429,500,timeout" into bits of enum sim_fault_bit. */
int config_parse_fail_types(const char *s, unsigned *bits, struct err *e);
/* config_backend_defaults fills b with the defaults of a backend of kind k. */
void config_backend_defaults(struct backend_cfg *b, enum backend_kind k);

#endif
