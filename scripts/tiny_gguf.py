#!/usr/bin/env python3
"""tiny_gguf.py - writes a tiny llama-architecture GGUF model with random
weights, for testing barge against a real llama.cpp server (no weights can
be downloaded). Needs numpy and llama.cpp's gguf-py on PYTHONPATH:

    PYTHONPATH=llama.cpp/gguf-py python3 scripts/tiny_gguf.py OUT.gguf

The model: 2 layers, 64-wide embeddings, 4 attention heads of 16 (2 KV
heads), feed-forward 192, a context of 4096, all F32. The tokenizer is a
SentencePiece-style ("llama") vocabulary: <unk> <s> </s>, the ChatML markers
<|im_start|> <|im_end|> (and a ChatML chat template), the 256 byte-fallback
tokens, every printable ASCII character, and the prefixes of some common
English words, so any text tokenizes.

Random weights would sample any token, including the end-of-sequence marker
(an answer that ends at once) and lone bytes (invalid UTF-8). So the output
rows of every token that is not a normal text piece are zero: their logit is
always 0, while about half of the text pieces have a positive logit, and
llama.cpp's default top-k (40) never keeps a zero. Generation therefore
always runs to max_tokens and yields printable ASCII words. The weights come
from a fixed seed: the same file every time.
"""
import sys

import numpy as np
import gguf

N_EMBD, N_LAYER, N_HEAD, N_HEAD_KV, N_FF, N_CTX = 64, 2, 4, 2, 192, 4096
HEAD_DIM = N_EMBD // N_HEAD
SEED = 20240611

WORDS = """the of and to in is that for it as was with be by on not he this are or
his from at which but have an they you were her she there been one all we
their has would when if will more no out so said what up its about than into
them can only other new some could time these two may then do first any my now
such like our over man me even most made after also did many before must
through back years where much your way well down should because each just
those people how too little state good very make world still own see men work
long get here between both life being under never day same another know while
last might us great old year off come since against go came right used take
three batch model token reply answer record job""".split()


def vocab():
    """Tokens, scores and types of the SentencePiece vocabulary."""
    toks, scores, types = [], [], []

    def add(t, score, typ):
        toks.append(t)
        scores.append(score)
        types.append(typ)

    add("<unk>", 0.0, gguf.TokenType.UNKNOWN)
    add("<s>", 0.0, gguf.TokenType.CONTROL)
    add("</s>", 0.0, gguf.TokenType.CONTROL)
    add("<|im_start|>", 0.0, gguf.TokenType.CONTROL)
    add("<|im_end|>", 0.0, gguf.TokenType.CONTROL)
    for b in range(256):
        add("<0x%02X>" % b, 0.0, gguf.TokenType.BYTE)
    seen = set()
    pieces = ["\u2581"] + [chr(c) for c in range(33, 127)]
    for w in WORDS:
        for k in range(1, len(w) + 1):
            pieces.append("\u2581" + w[:k])
    for p in pieces:
        if p in seen:
            continue
        seen.add(p)
        # SentencePiece merges the best-scoring pair first: longer pieces win.
        add(p, float(len(p)) - 100.0, gguf.TokenType.NORMAL)
    return toks, scores, types


CHATML = ("{% for message in messages %}"
          "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
          "{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(SEED)
    toks, scores, types = vocab()
    n_vocab = len(toks)

    def rand(*shape, fan_in):
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)

    w = gguf.GGUFWriter(out, "llama")
    w.add_name("barge-tiny-random-llama")
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)

    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_eot_token_id(toks.index("<|im_end|>"))
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_chat_template(CHATML)

    # numpy shapes are GGUF's dimensions reversed: token_embd is
    # {n_embd, n_vocab} in llama.cpp, (n_vocab, n_embd) here.
    w.add_tensor("token_embd.weight", rng.standard_normal((n_vocab, N_EMBD)).astype(np.float32))
    for i in range(N_LAYER):
        p = "blk.%d." % i
        w.add_tensor(p + "attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        w.add_tensor(p + "attn_q.weight", rand(N_HEAD * HEAD_DIM, N_EMBD, fan_in=N_EMBD))
        w.add_tensor(p + "attn_k.weight", rand(N_HEAD_KV * HEAD_DIM, N_EMBD, fan_in=N_EMBD))
        w.add_tensor(p + "attn_v.weight", rand(N_HEAD_KV * HEAD_DIM, N_EMBD, fan_in=N_EMBD))
        w.add_tensor(p + "attn_output.weight", rand(N_EMBD, N_HEAD * HEAD_DIM, fan_in=N_EMBD))
        w.add_tensor(p + "ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", rand(N_FF, N_EMBD, fan_in=N_EMBD))
        w.add_tensor(p + "ffn_up.weight", rand(N_FF, N_EMBD, fan_in=N_EMBD))
        w.add_tensor(p + "ffn_down.weight", rand(N_EMBD, N_FF, fan_in=N_FF))
    w.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    # The final norm leaves a vector of length about 8 (sqrt(64)); rows of
    # standard deviation 0.5 give logits of about +-4: sampling is peaked but
    # not constant. Non-text tokens get zero rows (see the docstring).
    output = (0.5 * rng.standard_normal((n_vocab, N_EMBD))).astype(np.float32)
    for t, typ in enumerate(types):
        if typ != gguf.TokenType.NORMAL:
            output[t, :] = 0.0
    w.add_tensor("output.weight", output)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    n_params = n_vocab * N_EMBD * 2 + N_EMBD + N_LAYER * (
        2 * N_EMBD + 2 * N_EMBD * N_HEAD * HEAD_DIM + 2 * N_EMBD * N_HEAD_KV * HEAD_DIM
        + 3 * N_EMBD * N_FF)
    print("tiny_gguf.py: llama, %d layers, n_embd %d, %d heads (%d KV), n_ff %d, "
          "vocab %d (%d text pieces), %d parameters" % (
              N_LAYER, N_EMBD, N_HEAD, N_HEAD_KV, N_FF, n_vocab,
              sum(1 for t in types if t == gguf.TokenType.NORMAL), n_params))


if __name__ == "__main__":
    main()
