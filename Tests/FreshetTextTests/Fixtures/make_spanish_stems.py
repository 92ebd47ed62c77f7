"""Writes spanish-stems.tsv: Spanish words and their Snowball Spanish stems, the oracle
for FreshetText's SpanishStemmer tests.

Words come from text on this machine: the Spanish translations in
/usr/share/locale/es/LC_MESSAGES/*.mo (gettext catalogs of Debian's packages); stems
from PyPI `snowballstemmer` 3.0.1. Run: python3 make_spanish_stems.py (needs
snowballstemmer); it prints how many words it wrote.
"""
import glob
import gettext
import os
import random
import re

import snowballstemmer

words = set()
for path in glob.glob("/usr/share/locale/es/LC_MESSAGES/*.mo"):
    try:
        with open(path, "rb") as handle:
            catalog = gettext.GNUTranslations(handle)
    except Exception:
        continue
    for text in catalog._catalog.values():
        for word in re.findall(r"[a-záéíóúüñ]+", str(text).lower()):
            if 1 <= len(word) <= 24:
                words.add(word)
ordered = sorted(words)
random.Random(11).shuffle(ordered)
chosen = sorted(set(ordered[:8000]) | {w for w in ordered if re.search(r"(mente|idad|idades|ción|ciones|ndo|ndole|ndose|rse|rlo|rla|yendo|uyen|guen|gues)$", w)})
chosen = sorted(set(chosen) | {
    "cantándole", "diciéndole", "comerlo", "haciéndoselo", "huyendo", "arguyendo", "averigüe", "llegue", "sigue",
    "distinguen", "rápidamente", "posibilidad", "creativamente", "activamente", "nacionalidades", "tecnología",
    "solución", "soluciones", "diferencia", "diferencias", "amablemente", "contaminación", "abierta", "aburrida",
    "construyeron", "oyendo", "dámelo", "vámonos", "pingüino", "guerra", "queréis", "comeríamos"})
stemmer = snowballstemmer.stemmer("spanish")
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spanish-stems.tsv")
with open(out, "w", encoding="utf-8") as handle:
    for word in chosen:
        handle.write(f"{word}\t{stemmer.stemWord(word)}\n")
print(len(chosen))
