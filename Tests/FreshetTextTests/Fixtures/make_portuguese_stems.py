"""Writes portuguese-stems.tsv: Portuguese words and their Snowball Portuguese stems, the oracle
for FreshetText's PortugueseStemmer tests.

Words come from text on this machine: the Portuguese translations in
/usr/share/locale/pt*/LC_MESSAGES/*.mo (gettext catalogs of Debian's packages); stems
from PyPI `snowballstemmer` 3.0.1. Run: python3 make_portuguese_stems.py (needs
snowballstemmer); it prints how many words it wrote.
"""
import glob
import gettext
import os
import random
import re

import snowballstemmer

words = set()
for path in glob.glob("/usr/share/locale/pt*/LC_MESSAGES/*.mo"):
    try:
        with open(path, "rb") as handle:
            catalog = gettext.GNUTranslations(handle)
    except Exception:
        continue
    for text in catalog._catalog.values():
        for word in re.findall(r"[a-záéíóúâêôãõçàü]+", str(text).lower()):
            if 1 <= len(word) <= 24:
                words.add(word)
ordered = sorted(words)
random.Random(13).shuffle(ordered)
chosen = sorted(set(ordered[:8000]) | {w for w in ordered if re.search(r"(mente|idade|idades|ção|ções|ência|ências|ira|iras|eira|ndo|ção|gue|cie|ês|ç)$", w)} | {
    "rapidamente", "possibilidade", "criativamente", "ativamente", "nacionalidades", "tecnologia", "solução", "soluções",
    "diferença", "diferenças", "abertura", "brasileira", "brasileiras", "carteira", "canções", "pães", "mãe", "irmão",
    "averigúe", "sigue", "francês", "começo", "faça", "pinguim", "guerra", "quisesse", "fizéssemos", "falaríamos"})
stemmer = snowballstemmer.stemmer("portuguese")
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "portuguese-stems.tsv")
with open(out, "w", encoding="utf-8") as handle:
    for word in chosen:
        handle.write(f"{word}\t{stemmer.stemWord(word)}\n")
print(len(chosen))
