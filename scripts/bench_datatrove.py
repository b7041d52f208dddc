"""datatrove's side of scripts/bench-datatrove.sh: its filters as a cascade, timed on one core.

    python scripts/bench_datatrove.py INPUT.jsonl.gz LID_MODEL.ftz REPEAT

Runs datatrove 0.10.1's own steps, with their default settings, over the `text` of every record, in the
order tamis's cascade config uses (scripts/bench-datatrove.sh writes that config): LanguageFilter (en,
lid.176), GopherRepetitionFilter, GopherQualityFilter, C4QualityFilter, FineWebQualityFilter; the kept
documents then go through PIIFormatter and MinhashDedupSignature's shingling and signature. A document stops
at the first filter that drops it, as in a datatrove pipeline. The model is loaded, and one untimed pass
made, before the clock starts. Prints one JSON object: the cascade's MB/s and docs/s, and the MinHash
signature's alone over every document.
"""

import gzip
import json
import sys
import tempfile
import time

from datatrove.data import Document
from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    LanguageFilter,
)
from datatrove.pipeline.formatters import PIIFormatter
from fasttext.FastText import _FastText


def load_texts(path):
    texts = []
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as src:
        for line in src.read().split("\n"):
            if line.strip():
                record = json.loads(line)
                texts.append((str(record.get("id", len(texts))), record.get("text") or ""))
    return texts


def passed(result):
    return result[0] if isinstance(result, tuple) else bool(result)


def main():
    input_path, model_path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
    texts = load_texts(input_path)
    language = LanguageFilter(languages=["en"])
    # datatrove downloads lid.176.bin on first use; the same model's compressed form is handed over instead.
    language.model._model = _FastText(model_path)
    filters = [
        language,
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(),
        FineWebQualityFilter(),
    ]
    pii = PIIFormatter()
    # Only its signature functions are called; nothing is written to the folder.
    minhash = MinhashDedupSignature(output_folder=tempfile.mkdtemp())

    def signature(text):
        # As MinhashDedupSignature.run does: a text too short for one shingle gets no signature.
        shingles = minhash.get_shingles(text)
        if shingles.size != 0:
            minhash.get_signature(shingles)

    def cascade():
        kept = 0
        for doc_id, text in texts:
            doc = Document(text=text, id=doc_id)
            if all(passed(f.filter(doc)) for f in filters):
                doc.text = pii.format(doc.text)
                signature(doc.text)
                kept += 1
        return kept

    def signatures():
        for _, text in texts:
            signature(text)

    kept = cascade()
    mb = sum(len(t.encode("utf-8")) for _, t in texts) / 1e6
    started = time.perf_counter()
    for _ in range(repeat):
        cascade()
    cascade_seconds = time.perf_counter() - started
    signatures()
    started = time.perf_counter()
    for _ in range(repeat):
        signatures()
    minhash_seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "documents": len(texts),
                "kept": kept,
                "mb": mb,
                "repeat": repeat,
                "cascade_mb_per_s": mb * repeat / cascade_seconds,
                "cascade_docs_per_s": len(texts) * repeat / cascade_seconds,
                "minhash_mb_per_s": mb * repeat / minhash_seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
