/* pricing.h - on-demand and batch cost of tokens, and how to print dollars. */
#ifndef BARGE_PRICING_H
#define BARGE_PRICING_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct prices {
	double input_per_1k;  /* USD per 1,000 input tokens, on demand */
	double output_per_1k;
	double batch_discount; /* 0.5: batch costs half */
};

struct costs {
	double od_input, od_output, od_total;
	double batch_input, batch_output, batch_total;
	double savings;
};

/* pricing_compute prices input and output token counts. */
void pricing_compute(const struct prices *p, double input_tokens, double output_tokens,
		     struct costs *c);
/*
 * pricing_fmt_usd writes v as dollars: cents from $1 up ("$337.50"), and
 * enough digits below that to show a small job's cost ("$0.000123").
 */
void pricing_fmt_usd(double v, char *out, size_t n);
/* pricing_put_json appends the manifest's "cost" object to b. */
void pricing_put_json(struct buf *b, const struct prices *p, const struct costs *c);
/* pricing_put_table appends the human cost table (on-demand, batch, savings). */
void pricing_put_table(struct buf *b, const struct costs *c);

#endif
