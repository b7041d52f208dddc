"""Token ids of every record of a JSONL(.gz) file with Hugging Face's Python `tokenizers`.

The reference that host/tests/all/tokenize.rs compares `tamis tokenize` with, and the baseline of
scripts/bench-tokenize.sh. It encodes the way tamis does: `Tokenizer.encode_batch(texts,
add_special_tokens=False)`, no special tokens around the text (tamis frames each document with BOS/EOS
itself). GPT-2's `vocab.json` + `merges.txt` are loaded as Hugging Face's GPT-2 fast tokenizer does:
byte-level BPE, no prefix space, `<|endoftext|>` a special token.

    python tokenize_reference.py (--tokenizer tokenizer.json | --vocab vocab.json --merges merges.txt)
        --input web.jsonl.gz [--text-key text] [--eos <|endoftext|>]       -> JSON on stdout
    ... --bench --repeat 20                                                -> throughput on stdout

The JSON: {"eos": <id of --eos>, "docs": [<ids of each record's text>, or null when it has no text]}.
"""

import argparse
import gzip
import json
import time

from tokenizers import Tokenizer, decoders, models, pre_tokenizers


def load(args):
    if args.tokenizer:
        return Tokenizer.from_file(args.tokenizer)
    tok = Tokenizer(models.BPE.from_file(args.vocab, args.merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    if tok.token_to_id("<|endoftext|>") is not None:
        tok.add_special_tokens(["<|endoftext|>"])
    return tok


def records(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    # Split on \n only: texts may hold U+2028/U+2029, which JSON allows unescaped.
    for line in data.split(b"\n"):
        if line.strip():
            yield json.loads(line)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokenizer")
    parser.add_argument("--vocab")
    parser.add_argument("--merges")
    parser.add_argument("--input", required=True)
    parser.add_argument("--text-key", default="text")
    parser.add_argument("--eos", default="<|endoftext|>")
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    tok = load(args)
    rows = list(records(args.input))
    texts = [r.get(args.text_key) if isinstance(r.get(args.text_key), str) else None for r in rows]
    if args.bench:
        batch = [t for t in texts if t is not None] * args.repeat
        started = time.perf_counter()
        encoded = tok.encode_batch(batch, add_special_tokens=False)
        seconds = time.perf_counter() - started
        tokens = sum(len(e.ids) for e in encoded)
        mb = sum(len(t.encode("utf-8")) for t in batch) / 1e6
        print(
            json.dumps(
                {
                    "docs": len(batch),
                    "mb": mb,
                    "tokens": tokens,
                    "seconds": seconds,
                    "docs_per_s": len(batch) / seconds,
                    "mb_per_s": mb / seconds,
                    "tokens_per_s": tokens / seconds,
                }
            )
        )
        return
    present = [t for t in texts if t is not None]
    encoded = iter(tok.encode_batch(present, add_special_tokens=False))
    docs = [None if t is None else next(encoded).ids for t in texts]
    print(json.dumps({"eos": tok.token_to_id(args.eos), "docs": docs}))


if __name__ == "__main__":
    main()
