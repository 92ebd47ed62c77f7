"""Writes english-stems.tsv: words and their Snowball English stems, the oracle for
FreshetText's EnglishStemmer tests.

Words come from text on this machine (the Python standard library's sources: comments
and docstrings are English prose); stems from PyPI `snowballstemmer` (the Snowball
project's own generated Python). Run: python3 make_english_stems.py (needs
snowballstemmer installed); it prints how many words it wrote.
"""
import importlib.metadata
import os
import random
import re
import sys
import sysconfig

import snowballstemmer

root = sysconfig.get_paths()["stdlib"]
words = set()
for folder, _, files in os.walk(root):
    if "site-packages" in folder or "test" in folder:
        continue
    for name in files:
        if name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8", errors="ignore") as handle:
                for word in re.findall(r"[a-z][a-z']*[a-z]|[a-z]", handle.read()):
                    if len(word) <= 24:
                        words.add(word)
# A fixed sample, plus every word ending in a suffix the algorithm treats specially.
ordered = sorted(words)
random.Random(7).shuffle(ordered)
suffixes = ("ies", "ied", "eed", "ing", "ingly", "edly", "li", "ogi", "ation", "ization", "ness", "ful",
            "ative", "ion", "ement", "able", "ible", "'s", "y", "e", "l")
chosen = set(ordered[:6000]) | {w for w in ordered if w.endswith(suffixes)}
chosen |= {"skis", "skies", "dying", "lying", "tying", "idly", "gently", "ugly", "early", "only", "singly",
           "sky", "news", "howe", "atlas", "cosmos", "bias", "andes", "inning", "innings", "outing", "canning",
           "herring", "earring", "proceed", "exceed", "succeed", "generously", "communism", "arsenal", "past",
           "university", "emergency", "organization", "later", "'tis", "cats'", "cat's'"}
stemmer = snowballstemmer.stemmer("english")
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "english-stems.tsv")
with open(out, "w", encoding="utf-8") as handle:
    handle.write(f"# snowballstemmer {importlib.metadata.version('snowballstemmer')} english; made by make_english_stems.py\n")
    for word in sorted(chosen):
        handle.write(f"{word}\t{stemmer.stemWord(word)}\n")
print(f"wrote {len(chosen)} words to {out}", file=sys.stderr)
