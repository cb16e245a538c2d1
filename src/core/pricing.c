/* pricing.c - on-demand and batch cost of tokens, and how to print dollars. */
#include "core/pricing.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void pricing_compute(const struct prices *p, double input_tokens, double output_tokens,
		     struct costs *c)
{
	double keep = 1.0 - p->batch_discount;

	c->od_input = input_tokens / 1000.0 * p->input_per_1k;
	c->od_output = output_tokens / 1000.0 * p->output_per_1k;
	c->od_total = c->od_input + c->od_output;
	c->batch_input = c->od_input * keep;
	c->batch_output = c->od_output * keep;
	c->batch_total = c->batch_input + c->batch_output;
	c->savings = c->od_total - c->batch_total;
}

void pricing_fmt_usd(double v, char *out, size_t n)
{
	double a = fabs(v);

	/* Choose the form by the value as it will print, not as it is. */
	if (a >= 0.995 || a == 0.0)
		snprintf(out, n, "$%.2f", v);
	else if (a >= 0.0099995)
		snprintf(out, n, "$%.4f", v);
	else
		snprintf(out, n, "$%.6f", v);
}

/* put_num appends v rounded to micro-dollars, without trailing zeros. */
static void put_num(struct buf *b, double v)
{
	char tmp[64];
	size_t len;

	snprintf(tmp, sizeof(tmp), "%.6f", v);
	len = strlen(tmp);
	while (len > 1 && tmp[len - 1] == '0')
		len--;
	if (tmp[len - 1] == '.')
		len--;
	buf_append(b, tmp, len);
}

void pricing_put_json(struct buf *b, const struct prices *p, const struct costs *c)
{
	buf_puts(b, "{\"currency\":\"USD\",\"inputPricePer1kTokens\":");
	put_num(b, p->input_per_1k);
	buf_puts(b, ",\"outputPricePer1kTokens\":");
	put_num(b, p->output_per_1k);
	buf_puts(b, ",\"batchDiscount\":");
	put_num(b, p->batch_discount);
	buf_puts(b, ",\"onDemandCost\":");
	put_num(b, c->od_total);
	buf_puts(b, ",\"batchCost\":");
	put_num(b, c->batch_total);
	buf_puts(b, ",\"savings\":");
	put_num(b, c->savings);
	buf_puts(b, ",\"onDemandInputCost\":");
	put_num(b, c->od_input);
	buf_puts(b, ",\"onDemandOutputCost\":");
	put_num(b, c->od_output);
	buf_puts(b, ",\"batchInputCost\":");
	put_num(b, c->batch_input);
	buf_puts(b, ",\"batchOutputCost\":");
	put_num(b, c->batch_output);
	buf_putc(b, '}');
}

void pricing_put_table(struct buf *b, const struct costs *c)
{
	char a[32], d[32], s[32];

	buf_printf(b, "  %-8s %14s %14s %14s\n", "cost", "on-demand", "batch", "savings");
	pricing_fmt_usd(c->od_input, a, sizeof(a));
	pricing_fmt_usd(c->batch_input, d, sizeof(d));
	pricing_fmt_usd(c->od_input - c->batch_input, s, sizeof(s));
	buf_printf(b, "  %-8s %14s %14s %14s\n", "input", a, d, s);
	pricing_fmt_usd(c->od_output, a, sizeof(a));
	pricing_fmt_usd(c->batch_output, d, sizeof(d));
	pricing_fmt_usd(c->od_output - c->batch_output, s, sizeof(s));
	buf_printf(b, "  %-8s %14s %14s %14s\n", "output", a, d, s);
	pricing_fmt_usd(c->od_total, a, sizeof(a));
	pricing_fmt_usd(c->batch_total, d, sizeof(d));
	pricing_fmt_usd(c->savings, s, sizeof(s));
	buf_printf(b, "  %-8s %14s %14s %14s", "total", a, d, s);
	if (c->od_total > 0)
		buf_printf(b, " (%.0f%%)", c->savings / c->od_total * 100.0);
	buf_putc(b, '\n');
}
