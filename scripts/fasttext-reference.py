#!/usr/bin/env python3
"""fastText's own answers, for the tests and benchmark that compare tamis's fastText inference with them.

Run with the Python of a venv that scripts/setup-fasttext.sh made:

  predict MODEL TEXTS OUT [--k K]      every label and probability (k = -1: all labels) of each text of
                                       TEXTS (JSONL with "text"), one JSON line per text in OUT; newlines
                                       in a text are read as spaces, as datatrove's language filter and
                                       DCLM's classifier do (fastText's predict reads one line)
  bench MODEL TEXTS [--rounds N]       top-1 predictions of every text, N rounds, one thread; prints
                                       {"docs": ..., "seconds": ...}
  train TRAIN OUT [--quantize [--qout]] [fastText options]
                                       trains a supervised model on TRAIN (fastText's format: labels then
                                       text, one example a line) and saves it to OUT (.bin, or .ftz when
                                       quantized: product-quantized input with quantized norms, and with
                                       --qout the output matrix too, which fastText allows from 256 labels)
"""

import argparse
import json
import sys
import time


def read_texts(path):
    texts = []
    with open(path, "rb") as f:
        for line in f.read().split(b"\n"):
            if line.strip():
                texts.append(json.loads(line)["text"].replace("\n", " "))
    return texts


def predict(args):
    import fasttext

    model = fasttext.load_model(args.model)
    with open(args.out, "w", encoding="utf-8") as out:
        for text in read_texts(args.texts):
            labels, probs = model.predict(text, k=args.k)
            out.write(json.dumps({"labels": list(labels), "probs": [float(p) for p in probs]}) + "\n")


def bench(args):
    import fasttext

    model = fasttext.load_model(args.model)
    texts = read_texts(args.texts)
    start = time.perf_counter()
    for _ in range(args.rounds):
        for text in texts:
            model.predict(text, k=1)
    seconds = time.perf_counter() - start
    print(json.dumps({"docs": len(texts) * args.rounds, "seconds": seconds}))


def train(args):
    import fasttext

    model = fasttext.train_supervised(
        input=args.train,
        loss=args.loss,
        dim=args.dim,
        epoch=args.epoch,
        lr=args.lr,
        wordNgrams=args.wordNgrams,
        minn=args.minn,
        maxn=args.maxn,
        bucket=args.bucket,
        minCount=args.minCount,
        thread=1,
        seed=1,
        verbose=0,
    )
    if args.quantize:
        model.quantize(qnorm=True, qout=args.qout, dsub=2, retrain=False)
    model.save_model(args.out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict")
    p.add_argument("model")
    p.add_argument("texts")
    p.add_argument("out")
    p.add_argument("--k", type=int, default=-1)
    p.set_defaults(run=predict)
    b = sub.add_parser("bench")
    b.add_argument("model")
    b.add_argument("texts")
    b.add_argument("--rounds", type=int, default=1)
    b.set_defaults(run=bench)
    t = sub.add_parser("train")
    t.add_argument("train")
    t.add_argument("out")
    t.add_argument("--quantize", action="store_true")
    t.add_argument("--qout", action="store_true", help="quantize the output matrix too (needs 256 labels)")
    t.add_argument("--loss", default="softmax")
    t.add_argument("--dim", type=int, default=16)
    t.add_argument("--epoch", type=int, default=5)
    t.add_argument("--lr", type=float, default=0.1)
    t.add_argument("--wordNgrams", type=int, default=2)
    t.add_argument("--minn", type=int, default=0)
    t.add_argument("--maxn", type=int, default=0)
    t.add_argument("--bucket", type=int, default=100000)
    t.add_argument("--minCount", type=int, default=1)
    t.set_defaults(run=train)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
