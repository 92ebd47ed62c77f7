"""Writes <language>-stems.tsv for spanish, portuguese and italian: words and their
Snowball stems, the oracle for FreshetText's stemmer tests.

Words come from text on this machine: the translations in
/usr/share/locale/<es|pt|pt_BR|it>/LC_MESSAGES/*.mo (gettext catalogs of Debian's
packages), a fixed random sample plus every word with a suffix the algorithm treats
specially, plus a few hand-picked words; stems from PyPI `snowballstemmer` 3.0.1.
Run: python3 make_romance_stems.py [language ...] (needs snowballstemmer); it prints
how many words it wrote for each.
"""
import glob
import gettext
import os
import random
import re
import sys

import snowballstemmer

LANGUAGES = {
    "spanish": dict(
        locales="es", letters="a-záéíóúüñ", seed=11,
        suffixes=r"mente|idad|idades|ción|ciones|ndo|ndole|ndose|rse|rlo|rla|yendo|uyen|guen|gues",
        extra={
            "cantándole", "diciéndole", "comerlo", "haciéndoselo", "huyendo", "arguyendo", "averigüe", "llegue", "sigue",
    "distinguen", "rápidamente", "posibilidad", "creativamente", "activamente", "nacionalidades", "tecnología",
    "solución", "soluciones", "diferencia", "diferencias", "amablemente", "contaminación", "abierta", "aburrida",
    "construyeron", "oyendo", "dámelo", "vámonos", "pingüino", "guerra", "queréis", "comeríamos"},
    ),
    "portuguese": dict(
        locales="pt*", letters="a-záéíóúâêôãõçàü", seed=13,
        suffixes=r"mente|idade|idades|ção|ções|ência|ências|ira|iras|eira|ndo|ção|gue|cie|ês|ç",
        extra={
            "rapidamente", "possibilidade", "criativamente", "ativamente", "nacionalidades", "tecnologia", "solução", "soluções",
    "diferença", "diferenças", "abertura", "brasileira", "brasileiras", "carteira", "canções", "pães", "mãe", "irmão",
    "averigúe", "sigue", "francês", "começo", "faça", "pinguim", "guerra", "quisesse", "fizéssemos", "falaríamos"},
    ),
    "italian": dict(
        locales="it", letters="a-zàèéìíòóùú", seed=17,
        suffixes=r"mente|ità|zione|zioni|ndo|ndole|ndosi|rlo|rla|rsi|tore|tori|enza|enze|che|ghe|ivo|iva",
        extra={
            "rapidamente", "possibilità", "creativamente", "attivamente", "nazionalità", "tecnologia", "soluzione", "soluzioni",
    "differenza", "differenze", "divano", "divanetto", "aiuola", "quattro", "questo", "guardandolo", "mangiarlo",
    "dicendoglielo", "parlarne", "amiche", "lunghe", "perché", "città", "virtù", "andiamo", "finirono"},
    ),
}


def words_of(locales, letters):
    words = set()
    for path in glob.glob(f"/usr/share/locale/{locales}/LC_MESSAGES/*.mo"):
        try:
            with open(path, "rb") as handle:
                catalog = gettext.GNUTranslations(handle)
        except Exception:
            continue
        for text in catalog._catalog.values():
            for word in re.findall(f"[{letters}]+", str(text).lower()):
                if 1 <= len(word) <= 24:
                    words.add(word)
    return words


for language in sys.argv[1:] or LANGUAGES:
    spec = LANGUAGES[language]
    ordered = sorted(words_of(spec["locales"], spec["letters"]))
    random.Random(spec["seed"]).shuffle(ordered)
    chosen = set(ordered[:8000]) | {w for w in ordered if re.search(f"({spec['suffixes']})$", w)} | spec["extra"]
    stemmer = snowballstemmer.stemmer(language)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{language}-stems.tsv")
    with open(out, "w", encoding="utf-8") as handle:
        for word in sorted(chosen):
            handle.write(f"{word}\t{stemmer.stemWord(word)}\n")
    print(language, len(chosen))
