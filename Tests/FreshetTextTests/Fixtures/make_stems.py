"""Writes <language>-stems.tsv: words and their Snowball stems, the oracle for
FreshetText's stemmer tests (every language but English, which make_english_stems.py
covers).

Words come from text on this machine (runs of letters and combining marks): the translations in
/usr/share/locale/<locale>/LC_MESSAGES/*.mo (gettext catalogs of Debian's packages).
A fixed random sample, plus every word with a suffix the algorithm treats specially
(the hand-written `suffixes` of the first languages), or else up to 25 words for
every distinct ending the stemmer removes or rewrites (so rare rules are covered),
plus a few hand-picked words; stems from PyPI `snowballstemmer` 3.0.1.
Run: python3 make_stems.py [language ...] (needs snowballstemmer); it prints how
many words it wrote for each.
"""
import glob
import gettext
import os
import random
import re
import sys
import unicodedata

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
    "danish": dict(locales="da", seed=19),
    "norwegian": dict(locales="n[bno]*", seed=23),
    "swedish": dict(locales="sv", seed=29),
    "german": dict(locales="de*", seed=31),
    "dutch": dict(locales="nl", seed=37),
    "french": dict(locales="fr", seed=41),
    "romanian": dict(locales="ro*", seed=43),
    "russian": dict(locales="ru", seed=47),
    "finnish": dict(locales="fi", seed=53),
    "hungarian": dict(locales="hu", seed=59),
    "turkish": dict(locales="tr", seed=61),
    "greek": dict(locales="el", seed=67),
    "arabic": dict(locales="ar", seed=71),
    "tamil": dict(locales="ta", seed=73),
}


def letter_runs(text):
    """Runs of letters and combining marks (vowel signs, diacritics), which Python's
    regular expressions do not count as word characters."""
    run = []
    for character in text + " ":
        if unicodedata.category(character)[0] in "LM":
            run.append(character)
        elif run:
            if unicodedata.category(run[0])[0] == "L":
                yield "".join(run)
            run = []


def catalog_words(locales, letters=None):
    """Lowercased words of the gettext catalogs of `locales` (a glob)."""
    words = set()
    for path in glob.glob(f"/usr/share/locale/{locales}/LC_MESSAGES/*.mo"):
        try:
            with open(path, "rb") as handle:
                catalog = gettext.GNUTranslations(handle)
        except Exception:
            continue
        for text in catalog._catalog.values():
            words.update(re.findall(f"[{letters}]+", str(text).lower()) if letters else letter_runs(str(text).lower()))
    return words


def main():
    for language in sys.argv[1:] or LANGUAGES:
        spec = LANGUAGES[language]
        ordered = sorted(w for w in catalog_words(spec["locales"], spec.get("letters")) if len(w) <= 24)
        random.Random(spec["seed"]).shuffle(ordered)
        stemmer = snowballstemmer.stemmer(language)
        chosen = set(ordered[:8000]) | spec.get("extra", set())
        if "suffixes" in spec:
            chosen |= {w for w in ordered if re.search(f"({spec['suffixes']})$", w)}
        else:
            by_ending = {}
            for word in ordered:
                stem = stemmer.stemWord(word)
                common = len(os.path.commonprefix([word, stem]))
                by_ending.setdefault((word[common:], stem[common:]), []).append(word)
            for examples in by_ending.values():
                chosen |= set(examples[:25])
        out = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{language}-stems.tsv")
        with open(out, "w", encoding="utf-8") as handle:
            for word in sorted(chosen):
                handle.write(f"{word}\t{stemmer.stemWord(word)}\n")
        print(language, len(chosen))


if __name__ == "__main__":
    main()
