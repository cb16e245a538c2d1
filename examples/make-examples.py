#!/usr/bin/env python3
"""make-examples.py - writes the example inputs in this directory: realistic
batch jobs of four model families (1,100 records in all). Deterministic: the
same files every time. Run it again only to change the examples."""
import json
import random

r = random.Random(2026)

PRODUCTS = ["Aurora X2 laptop", "Nimbus wireless earbuds", "Vega smart thermostat",
            "Orion 4K monitor", "Atlas standing desk", "Lyra espresso machine",
            "Pulse fitness tracker", "Cobalt mechanical keyboard", "Terra air purifier",
            "Zephyr electric kettle", "Halo video doorbell", "Quill e-reader"]
ISSUES = ["arrived with a cracked screen", "stopped charging after two weeks",
          "was charged twice on my card", "never arrived although tracking says delivered",
          "loses its Wi-Fi connection every evening", "makes a grinding noise",
          "was missing the power adapter", "shows error code E42 on startup",
          "firmware update failed halfway", "has a battery that drains overnight"]
TONES = ["I am really disappointed.", "Please help as soon as possible.",
         "This is the second time this happens.", "Otherwise I like the product.",
         "I would like a refund or a replacement.", "Can you tell me what to do next?"]
NAMES = ["Maria", "Kenji", "Aisha", "Lukas", "Priya", "Tom", "Sofia", "Omar", "Elena", "Wei"]
CITIES = ["Lisbon", "Osaka", "Nairobi", "Berlin", "Pune", "Austin", "Madrid", "Cairo",
          "Athens", "Chengdu"]


def ticket(i):
    p, iss = r.choice(PRODUCTS), r.choice(ISSUES)
    body = ("Ticket #%d from %s (%s). Hello, my %s %s. I ordered it on %d %s and used it "
            "as described in the manual. %s %s Order number %07d." % (
                40000 + i, r.choice(NAMES), r.choice(CITIES), p, iss, r.randint(1, 28),
                r.choice(["March", "April", "May", "June", "July"]), r.choice(TONES),
                r.choice(TONES), r.randint(0, 9999999)))
    return body


def claude(i):
    mi = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": r.choice([150, 200, 256]),
          "temperature": 0.2,
          "system": "You summarize customer support tickets for the on-call team.",
          "messages": [{"role": "user", "content":
                        "Summarize this ticket in two sentences and name the product, the "
                        "problem and what the customer asks for.\n\n" + ticket(i)}]}
    if i % 10 == 0:
        mi["messages"] = [
            {"role": "user", "content": [{"type": "text", "text": ticket(i)}]},
            {"role": "assistant", "content": "Understood. What should I extract?"},
            {"role": "user", "content": "The product name and the problem, as JSON."}]
    return {"recordId": "TICKET%05d" % i, "modelInput": mi}


def llama(i):
    p = r.choice(PRODUCTS)
    stars = r.randint(1, 5)
    text = "%s review (%d stars): %s %s" % (p, stars, r.choice(
        ["Works great out of the box.", "Setup took forever.", "Build quality is superb.",
         "Support never answered.", "Exactly what I needed.", "Stopped working in a week."]),
        r.choice(TONES))
    prompt = ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nClassify the "
              "sentiment of this review as positive, neutral or negative. Answer with one "
              "word.\n\n%s<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" % text)
    return {"recordId": "REVIEW%05d" % i,
            "modelInput": {"prompt": prompt, "max_gen_len": 8, "temperature": 0.0, "top_p": 0.9}}


def mistral(i):
    lang = r.choice(["French", "German", "Spanish", "Portuguese", "Italian"])
    text = "Your %s has shipped and will arrive within %d business days." % (
        r.choice(PRODUCTS), r.randint(2, 7))
    return {"recordId": "MSG%05d" % i,
            "modelInput": {"prompt": "<s>[INST] Translate into %s: %s [/INST]" % (lang, text),
                           "max_tokens": 120, "temperature": 0.3, "top_p": 0.9,
                           "stop": ["</s>"]}}


def embed(i):
    q = r.choice(["How do I reset my %s?", "Where is the serial number of the %s?",
                  "Does the %s work with a 110 V outlet?", "What warranty covers the %s?",
                  "How do I update the firmware of the %s?"]) % r.choice(PRODUCTS)
    return {"recordId": "FAQ%05d" % i,
            "modelInput": {"inputText": q, "dimensions": 256, "normalize": True}}


def write(name, recs):
    with open(name, "w") as f:
        for x in recs:
            f.write(json.dumps(x, ensure_ascii=False) + "\n")


write("support-tickets.jsonl", [claude(i) for i in range(600)])
write("review-sentiment.jsonl", [llama(i) for i in range(250)])
write("shipping-translations.jsonl", [mistral(i) for i in range(150)])
write("faq-embeddings.jsonl", [embed(i) for i in range(100)])
