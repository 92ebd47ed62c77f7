"""Writes italian-stems.tsv: Italian words and their Snowball Italian stems, the oracle
for FreshetText's ItalianStemmer tests.

Words come from text on this machine: the Italian translations in
/usr/share/locale/it/LC_MESSAGES/*.mo (gettext catalogs of Debian's packages); stems
from PyPI `snowballstemmer` 3.0.1. Run: python3 make_italian_stems.py (needs
snowballstemmer); it prints how many words it wrote.
"""
import glob
import gettext
import os
import random
import re

import snowballstemmer

words = set()
for path in glob.glob("/usr/share/locale/it/LC_MESSAGES/*.mo"):
    try:
        with open(path, "rb") as handle:
            catalog = gettext.GNUTranslations(handle)
    except Exception:
        continue
    for text in catalog._catalog.values():
        for word in re.findall(r"[a-zàèéìíòóùú]+", str(text).lower()):
            if 1 <= len(word) <= 24:
                words.add(word)
ordered = sorted(words)
random.Random(17).shuffle(ordered)
chosen = sorted(set(ordered[:8000]) | {w for w in ordered if re.search(r"(mente|ità|zione|zioni|ndo|ndole|ndosi|rlo|rla|rsi|tore|tori|enza|enze|che|ghe|ivo|iva)$", w)} | {
    "rapidamente", "possibilità", "creativamente", "attivamente", "nazionalità", "tecnologia", "soluzione", "soluzioni",
    "differenza", "differenze", "divano", "divanetto", "aiuola", "quattro", "questo", "guardandolo", "mangiarlo",
    "dicendoglielo", "parlarne", "amiche", "lunghe", "perché", "città", "virtù", "andiamo", "finirono"})
stemmer = snowballstemmer.stemmer("italian")
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "italian-stems.tsv")
with open(out, "w", encoding="utf-8") as handle:
    for word in chosen:
        handle.write(f"{word}\t{stemmer.stemWord(word)}\n")
print(len(chosen))
