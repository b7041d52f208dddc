"""Writes core/src/quality/words_tables.rs: the English tokenizer tables of spaCy and the character sets of
datatrove that tamis's `quality::words` module needs to split text exactly as datatrove 0.10.1 does.

Run with the versions the fixture was made with (see tests/fixtures/datatrove/README.md):

    pip install datatrove==0.10.1 spacy==3.8.18
    python core/scripts/gen_words_tables.py > core/src/quality/words_tables.rs

What it extracts, and from where:
- spaCy (MIT licence, Copyright (C) 2016-2024 ExplosionAI GmbH, 2016 spaCy GmbH, 2015 Matthew Honnibal):
  the prefix, suffix and infix rules and the URL pattern of `spacy.blank("en")`, translated from Python `re`
  syntax into the syntax of Rust's `regex` crate (lookarounds are split off, since that crate has none), the
  tokenizer exceptions (special cases) with the token patterns its special-case matcher looks for, and the
  punctuation characters of the `sentencizer` pipe.
- datatrove (Apache-2.0): the PUNCTUATION and TERMINAL_PUNCTUATION character sets of `datatrove.utils.text`.
- Python's own `unicodedata` (the Unicode version of the interpreter): which characters `str.isalpha()` accepts
  and which are in a `P*` general category (spaCy's `is_punct`).
"""

import re
import sys
import unicodedata

try:
    import re._parser as sre_parse
    from re._constants import (
        ANY, ASSERT, ASSERT_NOT, AT, AT_BEGINNING, AT_END, BRANCH, CATEGORY, IN, LITERAL, MAX_REPEAT, MAXREPEAT,
        MIN_REPEAT, NEGATE, NOT_LITERAL, RANGE, SUBPATTERN,
    )
except ImportError:  # Python < 3.11
    import sre_parse
    from sre_constants import (
        ANY, ASSERT, ASSERT_NOT, AT, AT_BEGINNING, AT_END, BRANCH, CATEGORY, IN, LITERAL, MAX_REPEAT, MAXREPEAT,
        MIN_REPEAT, NEGATE, NOT_LITERAL, RANGE, SUBPATTERN,
    )

import datatrove
import spacy
from datatrove.utils.text import PUNCTUATION, TERMINAL_PUNCTUATION
from spacy.pipeline.sentencizer import Sentencizer
from spacy.tokenizer import Tokenizer

ALL_CHARS = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def ranges(chars):
    """Sorted code points -> list of inclusive (lo, hi) ranges."""
    out = []
    for c in sorted(ord(ch) for ch in chars):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def esc(cp):
    return "\\u{%X}" % cp


def class_of(chars, negate=False):
    body = "".join(esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}" for lo, hi in ranges(chars))
    return "[" + ("^" if negate else "") + body + "]"


_CATEGORY_CACHE = {}


def category_chars(cat):
    """Expands a Python `re` category (\\d, \\w, \\s ...) to the characters Python matches with it."""
    if cat not in _CATEGORY_CACHE:
        probe = {
            "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_WORD": r"\w",
            "CATEGORY_NOT_WORD": r"\W", "CATEGORY_SPACE": r"\s", "CATEGORY_NOT_SPACE": r"\S",
        }[str(cat)]
        rx = re.compile(probe)
        _CATEGORY_CACHE[cat] = [c for c in ALL_CHARS if rx.match(c)]
    return _CATEGORY_CACHE[cat]


def in_class(items):
    negate = False
    chars = set()
    for op, av in items:
        if op is NEGATE:
            negate = True
        elif op is LITERAL:
            chars.add(chr(av))
        elif op is RANGE:
            chars.update(chr(c) for c in range(av[0], av[1] + 1) if not 0xD800 <= c <= 0xDFFF)
        elif op is CATEGORY:
            chars.update(category_chars(av))
        else:
            raise ValueError(f"unsupported class item {op}")
    return class_of(chars, negate)


def rust(tree, ip_group=False):
    """Translates a parsed Python pattern (without lookarounds) into Rust `regex` syntax."""
    out = []
    for op, av in tree:
        if op is LITERAL:
            out.append(esc(av))
        elif op is NOT_LITERAL:
            out.append("[^" + esc(av) + "]")
        elif op is ANY:
            out.append("[^\\n]")
        elif op is IN:
            out.append(in_class(av))
        elif op is CATEGORY:
            out.append(class_of(category_chars(av)))
        elif op is BRANCH:
            alts = av[1]
            if ip_group and alts and alts[0].data and alts[0].data[0][0] is ASSERT_NOT:
                raise IpBranch(alts)
            out.append("(?:" + "|".join(rust(a, ip_group) for a in alts) + ")")
        elif op is SUBPATTERN:
            out.append("(?:" + rust(av[3], ip_group) + ")")
        elif op in (MAX_REPEAT, MIN_REPEAT):
            lo, hi, sub = av
            inner = "(?:" + rust(sub, ip_group) + ")"
            if (lo, hi) == (0, MAXREPEAT):
                q = "*"
            elif (lo, hi) == (1, MAXREPEAT):
                q = "+"
            elif (lo, hi) == (0, 1):
                q = "?"
            elif hi == MAXREPEAT:
                q = "{%d,}" % lo
            else:
                q = "{%d,%d}" % (lo, hi)
            out.append(inner + q + ("?" if op is MIN_REPEAT else ""))
        elif op is AT:
            out.append("^" if av is AT_BEGINNING else "$" if av is AT_END else _fail(av))
        else:
            raise ValueError(f"unsupported node {op} {av}")
    return "".join(out)


class IpBranch(Exception):
    pass


def _fail(x):
    raise ValueError(f"unsupported anchor {x}")


def piece(pattern):
    """One affix rule -> (lookbehind, body, lookahead) in Rust syntax; empty strings when absent.
    A lookahead is returned as `+CLASS` (must follow) or `-CLASS` (must not follow)."""
    tree = list(sre_parse.parse(pattern))
    behind = ahead = ""
    if tree and tree[0][0] is ASSERT and tree[0][1][0] == -1:
        behind = rust(tree[0][1][1])
        tree = tree[1:]
    if tree and tree[-1][0] in (ASSERT, ASSERT_NOT) and tree[-1][1][0] == 1:
        sign = "+" if tree[-1][0] is ASSERT else "-"
        ahead = sign + rust(tree[-1][1][1])
        tree = tree[:-1]
    for op, av in tree:
        if op in (ASSERT, ASSERT_NOT):
            raise ValueError(f"lookaround in the middle of {pattern!r}")
    return behind, rust(tree), ahead


def max_width(pattern):
    return sre_parse.parse(pattern).getwidth()[1]


def rs_str(s):
    """A Rust string literal: readable where it can be, escaped where it must be."""
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c.isprintable() and not unicodedata.category(c).startswith(("M", "Z")) or c == " ":
            out.append(c)
        else:
            out.append("\\u{%X}" % ord(c))
    return '"' + "".join(out) + '"'


def rs_re(s):
    """A regex as a raw Rust string (the translated regexes are pure ASCII)."""
    assert s.isascii() and '"#' not in s
    return 'r#"' + s + '"#'


def main():
    nlp = spacy.blank("en")
    tok = nlp.tokenizer
    defaults = nlp.Defaults
    w = sys.stdout.write
    w("// @generated by core/scripts/gen_words_tables.py; do not edit by hand.\n")
    w(f"// From spaCy {spacy.__version__} (MIT licence, (C) ExplosionAI GmbH and Matthew Honnibal), English\n")
    w(f"// tokenizer rules, and datatrove {datatrove.__version__ if hasattr(datatrove, '__version__') else '0.10.1'}"
      f" (Apache-2.0) punctuation sets; character\n")
    w(f"// properties from Python {sys.version.split()[0]} (Unicode {unicodedata.unidata_version}).\n\n")

    def pieces(name, entries):
        w(f"/// (lookbehind, body, lookahead, max body width in chars; 0 = unbounded)\n")
        w(f"pub(super) const {name}: &[(&str, &str, &str, usize)] = &[\n")
        for p in entries:
            if not p.strip():
                continue
            b, body, a = piece(p)
            width = max_width(p)
            width = 0 if width >= MAXREPEAT else width
            w(f"    ({rs_re(b)}, {rs_re(body)}, {rs_re(a)}, {width}),\n")
        w("];\n\n")

    pieces("PREFIXES", defaults.prefixes)
    pieces("SUFFIXES", defaults.suffixes)
    pieces("INFIXES", defaults.infixes)

    # The URL pattern: its private-network lookaheads only guard the IP-address branch, so that branch is
    # written as its own pattern and the lookaheads as patterns to test where the address starts.
    url = tok.url_match.__self__.pattern
    tree = sre_parse.parse(url)
    host_tree, ip_tree, guards = [], [], []
    for op, av in tree:
        node = (op, av)
        if op is SUBPATTERN and len(av[3]) == 1:
            node = av[3][0]
        if node[0] is BRANCH and node[1][1][0].data and node[1][1][0].data[0][0] is ASSERT_NOT:
            ip_alt, host_alt = node[1][1]
            guards = [n[1][1] for n in ip_alt.data if n[0] is ASSERT_NOT]
            host_tree.append(("HOST", host_alt))
            ip_tree.append(("IP", [n for n in ip_alt.data if n[0] is not ASSERT_NOT]))
            continue
        host_tree.append((op, av))
        ip_tree.append((op, av))
    assert guards, "the URL pattern changed shape"

    def render(t, which):
        out = []
        for op, av in t:
            if op == "HOST":
                out.append("(?:" + rust(av) + ")")
            elif op == "IP":
                out.append("(?P<ip>" + rust(av) + ")")
            else:
                out.append(rust([(op, av)]))
        return "".join(out)

    w(f"pub(super) const URL_HOST: &str = {rs_re(render(host_tree, 'host'))};\n")
    w(f"pub(super) const URL_IP: &str = {rs_re(render(ip_tree, 'ip'))};\n")
    w("pub(super) const URL_IP_PRIVATE: &[&str] = &[\n")
    for g in guards:
        w(f"    {rs_re('^' + rust(g))},\n")
    w("];\n\n")

    # Special cases, and for those spaCy's matcher also looks for, the tokens it looks for: the special
    # string tokenized by the affix rules alone.
    bare = Tokenizer(nlp.vocab, rules={}, prefix_search=tok.prefix_search, suffix_search=tok.suffix_search,
                     infix_finditer=tok.infix_finditer, token_match=tok.token_match, url_match=tok.url_match)
    w("/// (string, its tokens, the tokens the affix rules alone make of it when spaCy's matcher looks for it)\n")
    w("pub(super) const SPECIALS: &[(&str, &[&str], &[&str])] = &[\n")
    for key in sorted(tok.rules):
        orths = [t[65] for t in tok.rules[key]]  # 65 = ORTH
        assert "".join(orths) == key
        matched = (not tok.faster_heuristics or tok.find_prefix(key) or tok.find_infix(key)
                   or tok.find_suffix(key) or " " in key)
        pattern = [t.text for t in bare(key)] if matched else []
        w(f"    ({rs_str(key)}, &[{', '.join(rs_str(o) for o in orths)}], "
          f"&[{', '.join(rs_str(o) for o in pattern)}]),\n")
    w("];\n\n")

    w("pub(super) const SENTENCE_PUNCT: &[char] = &[\n")
    for c in Sentencizer.default_punct_chars:
        w(f"    '\\u{{{ord(c):X}}}',\n")
    w("];\n\n")

    def table(name, doc, chars):
        w(f"/// {doc}\n")
        w(f"pub(super) const {name}: &[(u32, u32)] = &[\n")
        for lo, hi in ranges(chars):
            w(f"    (0x{lo:X}, 0x{hi:X}),\n")
        w("];\n\n")

    table("PY_ALPHA", "Characters for which Python's `str.isalpha()` is true.", [c for c in ALL_CHARS if c.isalpha()])
    table("PUNCT_CATEGORY", "Characters of a `P*` general category (spaCy's `is_punct`).",
          [c for c in ALL_CHARS if unicodedata.category(c).startswith("P")])
    table("DATATROVE_PUNCTUATION", "datatrove `PUNCTUATION_SET` (PUNCTUATION and TERMINAL_PUNCTUATION).",
          set(PUNCTUATION) | set(TERMINAL_PUNCTUATION))
    table("DATATROVE_TERMINAL_PUNCTUATION", "datatrove `TERMINAL_PUNCTUATION`.", set(TERMINAL_PUNCTUATION))
    table("PY_SPACE", "Characters for which Python's `str.isspace()` is true.", [c for c in ALL_CHARS if c.isspace()])


if __name__ == "__main__":
    main()
