"""The lexicon matcher: find lexicon terms in free text and decide, from the words around them, whether
each one describes a person.

Pure Python, no Django: `Lexicon.compile(entries, vocabulary)` builds the lookup tables once (per
lexicon version, see guardrails.checker) and `Lexicon.scan(text)` answers the hits.

Before reading, the text is folded (guardrails.folding): NFKC, invisible characters and accents dropped,
look-alike letters of other scripts read as Latin, digits and symbols for letters ("4sian") and spaced
letters ("a s i a n") read as the lexicon word they spell; a hit's offsets are those of the text as typed.

How a text is read:
- Tokens are words (letters and digits, with inner apostrophes: "men's", "he's") and single punctuation
  marks; a hyphen inside a word ("light-skinned") joins, so "light-skinned", "light skinned" and
  "lightskinned" read alike. Case and accents are folded ("Māori" = "maori").
- A term matches its inflections ("asians", "asian's", "darker", "whitish") and multi-word terms
  match across spaces and hyphens; the longest match at a position wins. Long terms also match a
  misspelling one edit away ("caucasion", "carribean"), unless that is a real word.
- Each entry has a context kind (LexiconEntry.Context) that says when a match is a refusal:

  always       wherever it appears (but "Christian Dior"-style capitalised names pass);
  descriptor   unless it describes a thing: "Indian takeaway", "Swiss chocolate", "spoke Samoan" pass;
               "Indian guy", "looked Indian", "of Indian appearance", "two Indians", "Indian accent" refuse;
  person       before a person word or skin ("black guy", "white-skinned"), or said of a person ("he was
               black", "male, white, 20s"); "black hoodie", "white Hilux", "black men's jacket" pass;
  skin         only with skin/complexion ("olive skin", "fair-skinned"); "fair hair", "light build" pass;
  affiliation  only before supporter/voter/member/party... or after votes/supports ("votes Green");
  label        as a form label with a value: "race: Asian", "religion - Sikh", "ethnicity = unknown";
  exception    an allowed phrase: any hit inside it is dropped ("Christian Dior", "nail polish").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field

from guardrails import folding

ALWAYS, DESCRIPTOR, PERSON, SKIN, AFFILIATION, LABEL, EXCEPTION = (
    "always", "descriptor", "person", "skin", "affiliation", "label", "exception")
CONTEXTS = (ALWAYS, DESCRIPTOR, PERSON, SKIN, AFFILIATION, LABEL, EXCEPTION)

_SPACES_FOR_PUNCTUATION = str.maketrans({c: " " for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~’‘“”—–…"})
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*['’]?|\n|[^\w\s]")
_AGE = re.compile(r"^(?:\d+(?:s|yo|yrs?|y|cm|ft|kg|m)?|mid|early|late|\d+ish)$")
_SENTENCE_END = frozenset({".", "!", "?", ";", ":", "\n"})
_COORDINATORS = frozenset({"and", "or", "/", "&", ",", "+", "n"})
# two-letter words a run-together word may end in ("gayto", "indiosen", "Hāmoaia"); not "an" ("Japan")
_SHORT_TAILS = frozenset({"to", "in", "on", "at", "of", "is", "or", "en", "se", "te", "ia", "ma"})
_FUZZY_MIN = 7  # terms and words shorter than this are not matched one edit away (too many real words)


def fold(s: str) -> str:
    """Case- and accent-folded form of a word or phrase."""
    if not s.isascii():
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
        s = s.replace("’", "'")
    return s.lower()


@dataclass(slots=True)
class Token:
    start: int
    end: int
    norm: str  # folded, without a possessive ending
    word: bool
    cap: bool = False
    poss: str = ""  # "s" for 's (or a contraction such as he's), "p" for a plural possessive (kids')
    whole: tuple[int, int] | None = None  # the typed word this one was split from ("Indianman")


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    append = out.append
    n = len(text)
    low = text.lower() if text.isascii() else None  # one fold for the whole text in the common case
    for m in _TOKEN.finditer(text):
        a, b = m.span()
        first = text[a]
        if first.isalnum():
            norm = low[a:b] if low is not None else fold(text[a:b])
            poss = ""
            if norm[-1] in "'’":
                norm, poss = norm[:-1], "p"
            elif norm.endswith("'s"):
                norm, poss = norm[:-2], "s"
            append(Token(a, b, norm, True, first.isupper(), poss))
        elif first == "-" and out and out[-1].end == a and b < n and text[b].isalnum() and out[-1].word:
            continue  # a hyphen inside a word joins: "light-skinned" reads as "light skinned"
        else:
            append(Token(a, b, first, False))
    return out


def _forms(word: str, kind: str) -> dict[str, bool]:
    """Inflected forms of a single word → whether the form is a plural (used as a noun for people)."""
    forms = {word: False}
    if kind in (PERSON, SKIN):
        # colour words: comparatives and -ish, never plurals ("blacks" is a team, "whites" a cricket kit)
        stem = word[:-1] if word.endswith("e") else word
        for suffix in ("ish", "er", "est"):
            forms.setdefault(stem + suffix, False)
        return forms
    if kind == EXCEPTION:
        forms.setdefault(word + "s", False)
        return forms
    if word.endswith("y") and len(word) > 3 and word[-2] not in "aeiou":
        forms.setdefault(word[:-1] + "ies", True)
    if word.endswith(("s", "sh", "ch", "x", "z")):
        forms.setdefault(word + "es", True)
    else:
        forms.setdefault(word + "s", True)
    return forms


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _one_edit_apart(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance exactly 1 (substitution, insertion, deletion or transposition)."""
    if a == b:
        return False
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]


@dataclass(frozen=True, slots=True)
class EntryRef:
    """What the matcher needs of a lexicon entry."""

    id: int | None
    term: str
    category: str
    context: str


@dataclass(frozen=True, slots=True)
class Hit:
    entry: EntryRef
    start: int  # character offsets of the phrase in the text
    end: int
    rule: str  # which context made it a refusal (for tests and the admin's "try it")


@dataclass(slots=True)
class _Match:
    i: int  # first token
    j: int  # last token
    entries: list[EntryRef]
    plural: bool


@dataclass
class Vocabulary:
    person: frozenset[str]
    product_person: frozenset[str]
    clothing: frozenset[str]
    things: frozenset[str]
    body: frozenset[str]
    appearance: frozenset[str]
    copulas: frozenset[str]
    subjects: frozenset[str]
    adverbs: frozenset[str]
    modifiers: frozenset[str]
    colours: frozenset[str]
    function: frozenset[str]
    verbs: frozenset[str]
    speech: frozenset[str]
    language_modifiers: frozenset[str]
    vote: frozenset[str]
    affiliation_heads: frozenset[str]
    ing_nouns: frozenset[str]
    ed_words: frozenset[str]
    not_misspellings: frozenset[str]
    also_names: frozenset[str]
    follows_person: frozenset[str] = field(default=frozenset())  # "hombre", "femme", "tangata": adjective after
    follows_skin: frozenset[str] = field(default=frozenset())  # "piel", "peau", "kiri"
    after_noun_colours: frozenset[str] = field(default=frozenset())  # "negra" in "chaqueta negra"
    depictions: frozenset[str] = field(default=frozenset())  # "tattoo of a kiwi": a design, not a person
    institutions: frozenset[str] = field(default=frozenset())  # "Catholic school": a place, not a person
    language_adjectives: frozenset[str] = field(default=frozenset())  # "broken English": a language
    team_words: frozenset[str] = field(default=frozenset())  # "Kiwis league jersey": a team
    known: frozenset[str] = field(default=frozenset())

    @classmethod
    def from_mapping(cls, v: Mapping[str, Iterable[str]]) -> Vocabulary:
        def s(key: str, plurals: bool = False) -> frozenset[str]:
            words = {fold(w) for w in v.get(key, ())}
            if plurals:
                words |= {w + "s" for w in words if not w.endswith("s")}
            return frozenset(words)

        clothing = s("clothing_nouns", True)
        voc = cls(
            person=s("person_nouns"), product_person=s("product_person_nouns"), clothing=clothing,
            things=clothing | s("product_nouns", True), body=s("body_nouns"), appearance=s("appearance_nouns"),
            copulas=s("copulas"), subjects=s("subjects"), adverbs=s("adverbs"), modifiers=s("modifiers"),
            colours=s("colours"), function=s("function_words"), verbs=s("verbs"), speech=s("speech_verbs"),
            language_modifiers=s("language_modifiers"), vote=s("vote_verbs"), affiliation_heads=s("affiliation_heads"),
            ing_nouns=s("ing_nouns"), ed_words=s("ed_words"), not_misspellings=s("not_misspellings"),
            also_names=s("also_names"), follows_person=s("follows_person_nouns"),
            follows_skin=s("follows_skin_nouns"), after_noun_colours=s("after_noun_colours"),
            depictions=s("depiction_nouns"), institutions=s("institution_nouns"),
            language_adjectives=s("language_adjectives"), team_words=s("team_words"),
        )
        voc.known = frozenset().union(
            voc.person, voc.things, voc.body, voc.appearance, voc.copulas, voc.subjects, voc.adverbs, voc.modifiers,
            voc.colours, voc.function, voc.verbs, voc.speech, voc.vote, voc.affiliation_heads, voc.ing_nouns,
            voc.ed_words, voc.not_misspellings)
        return voc


class Lexicon:
    """Compiled lookup tables of one lexicon version. Immutable once built; safe to share between threads."""

    def __init__(self, vocabulary: Vocabulary):
        self.v = vocabulary
        self._subject_skip = vocabulary.adverbs | vocabulary.colours
        self.single: dict[str, list[tuple[EntryRef, bool]]] = {}
        self.multi: dict[str, list[tuple[tuple[str, ...], dict[str, bool], EntryRef]]] = {}
        self.prefixes: list[tuple[str, EntryRef]] = []
        self.exc_multi: dict[str, list[tuple[tuple[str, ...], frozenset[str]]]] = {}
        self.fuzzy: dict[str, list[tuple[str, EntryRef]]] = {}
        self.size = 0
        self.triggers: frozenset[str] = frozenset()  # words that can start a match (the fast path's filter)
        self._fuzzy_seen: dict[str, tuple[str, EntryRef] | None] = {}  # word → its fuzzy match, bounded
        self._split_seen: dict[str, int] = {}  # run-together word → where it splits (0: it does not)
        self.term_words: set[str] = set()  # every word of every term ("skinned" of "dark skinned")

    # --- building ---------------------------------------------------------------------------------

    @classmethod
    def compile(cls, entries: Iterable[EntryRef], vocabulary: Vocabulary) -> Lexicon:
        lex = cls(vocabulary)
        for e in entries:
            lex._add(e)
        for k in lex.multi:
            lex.multi[k].sort(key=lambda m: -len(m[0]))
        for k in lex.exc_multi:
            lex.exc_multi[k].sort(key=lambda m: -len(m[0]))
        lex.triggers = frozenset(lex.single) | frozenset(lex.multi)
        # the fast path reads an apostrophe as a space: "fa'afafine" must still get past it
        lex.triggers |= {k.split("'")[0] for k in lex.triggers if "'" in k}
        return lex

    def _add(self, e: EntryRef) -> None:
        words = [t.norm for t in tokenize(e.term) if t.word or t.norm in "&+"]
        if not words:
            return
        self.size += 1
        if e.context == EXCEPTION:
            if len(words) >= 2:
                *head, last = words
                self.exc_multi.setdefault(head[0], []).append((tuple(head[1:]), frozenset(_forms(last, EXCEPTION))))
                self.exc_multi.setdefault("".join(words), []).append(((), frozenset({"".join(words)})))
            return
        if len(words) == 1 and e.term.endswith("*") and len(words[0]) >= 3:
            self.prefixes.append((words[0], e))
            return
        if len(words) == 1:
            for form, plural in _forms(words[0], e.context).items():
                self.single.setdefault(form, []).append((e, plural))
            if e.context in (ALWAYS, DESCRIPTOR) and len(words[0]) >= _FUZZY_MIN and words[0].isalpha():
                for d in _deletes(words[0]) | {words[0]}:
                    self.fuzzy.setdefault(d, []).append((words[0], e))
            return
        *head, last = words
        self.term_words.update(words)
        self.multi.setdefault(head[0], []).append((tuple(head[1:]), _forms(last, e.context), e))
        joined = "".join(words)  # "lightskinned", "middleeastern"
        for form, plural in _forms(joined, e.context).items():
            self.single.setdefault(form, []).append((e, plural))

    # --- matching ---------------------------------------------------------------------------------

    def _may_match(self, text: str) -> bool:
        """Cheap filter: does any word of the text start a match? Most descriptions have none."""
        words = set(fold(text).translate(_SPACES_FOR_PUNCTUATION).split())
        if not self.triggers.isdisjoint(words):
            return True
        for w in words:
            if len(w) >= _FUZZY_MIN and self._fuzzy_word(w) is not None:
                return True
            if self.prefixes and any(w.startswith(p) for p, _ in self.prefixes):
                return True
            if len(w) >= 5 and self._split_at(w):
                return True
        return False

    def is_term(self, w: str) -> bool:
        """Whether `w` (folded) is a lexicon term: what a symbol or spaced-out spelling may stand for first."""
        return (w in self.single or any(w.startswith(p) for p, _ in self.prefixes)
                or (len(w) >= 5 and self._split_at(w) > 0))

    def is_term_word(self, w: str) -> bool:
        """A term, or a word of a multi-word term ("hamoa" of "he hamoa ia")."""
        return self.is_term(w) or w in self.term_words

    def is_word(self, w: str) -> bool:
        """A lexicon word, or a word the grammar knows ("r3n" in "he! r3n" is "ren")."""
        return self.is_term_word(w) or w in self.v.known

    def _split_at(self, w: str) -> int:
        """Where a run-together word splits into a term and the person or appearance word it describes
        ("indianman", "asianlooking", "blackguy"); 0 when it does not."""
        seen = self._split_seen
        if w in seen:
            return seen[w]
        found = 0
        v = self.v
        if w not in self.single and w not in v.known and w.isalpha():
            for k in range(len(w) - 2, 2, -1):
                head, tail = w[:k], w[k:]
                if not (tail in v.known or tail in self.term_words or self._is_verbish(tail)):  # not "pompom"
                    continue
                if len(tail) < 3 and tail not in _SHORT_TAILS:
                    continue
                if head in self.term_words or any(e.context != EXCEPTION for e, _ in self.single.get(head, ())):
                    found = k
                    break
        if len(seen) > 50_000:
            seen.clear()
        seen[w] = found
        return found

    def _split_run_together(self, toks: list[Token]) -> list[Token]:
        out = None
        for n, t in enumerate(toks):
            if t.word and len(t.norm) >= 5 and t.norm not in self.single and t.norm not in self.multi:
                k = self._split_at(t.norm)
                if k:
                    out = out if out is not None else toks[:n]
                    out += [Token(t.start, t.start + k, t.norm[:k], True, t.cap, "", (t.start, t.end)),
                            Token(t.start + k, t.end, t.norm[k:], True, False, t.poss, (t.start, t.end))]
                    continue
            if out is not None:
                out.append(t)
        return out if out is not None else toks

    def scan(self, text: str) -> list[Hit]:
        typed = text
        text, src = folding.fold_unicode(text)
        text = folding.read_symbols_as_letters(text, (self.is_term, self.is_term_word, self.is_word))
        text, src = folding.join_spaced_letters(text, src, (self.is_term, self.is_term_word))
        if not self._may_match(text):
            return []
        toks = self._split_run_together(tokenize(text))
        if not toks:
            return []
        excepted = self._exception_spans(toks)
        hits: list[Hit] = []
        i, n = 0, len(toks)
        while i < n:
            m = self._match_at(toks, i)
            if m is None:
                i += 1
                continue
            judged = self._judge(toks, m)
            if judged is not None:
                a, b, rule, e = judged
                if not any(a <= y and x <= b for x, y in excepted):  # inside an allowed phrase: "Christian Dior"
                    start, end = toks[a].start, toks[b].end
                    if toks[a].whole:  # name the word as typed: "Indianman", not "Indian"
                        start = toks[a].whole[0]
                    if toks[b].whole:
                        end = toks[b].whole[1]
                    if src is not None:  # back to the text as typed, with any invisible characters inside
                        start, end = src[start], (src[end] if end < len(src) else len(typed))
                    hits.append(Hit(e, start, end, rule))
                if e.context == LABEL:
                    i = b + 1  # "race: Asian" is one finding
                    continue
            i = m.j + 1
        return hits

    def _exception_spans(self, toks: list[Token]) -> list[tuple[int, int]]:
        if not self.exc_multi:
            return []
        spans = []
        for i, t in enumerate(toks):
            for rest, last in self.exc_multi.get(t.norm, ()):
                end = self._seq(toks, i + 1, rest, last) if (rest or t.norm not in last) else i
                if end is not None:
                    spans.append((i, end))
                    break
        return spans

    @staticmethod
    def _seq(toks: list[Token], k: int, rest: tuple[str, ...], last: Container[str]) -> int | None:
        """Index of the last token if toks[k:] continues with `rest` then one of `last`."""
        n = len(toks)
        for w in rest:
            if k >= n or toks[k].norm != w:
                return None
            k += 1
        if k < n and toks[k].norm in last:
            return k
        return None

    def _match_at(self, toks: list[Token], i: int) -> _Match | None:
        t = toks[i]
        if not t.word:
            return None
        for rest, last, e in self.multi.get(t.norm, ()):
            end = self._seq(toks, i + 1, rest, last)
            if end is not None:
                found = [e]
                # other entries with the same words (a retailer's entry may repeat a platform one)
                for rest2, last2, e2 in self.multi.get(t.norm, ()):
                    if e2 is not e and rest2 == rest and self._seq(toks, i + 1, rest2, last2) == end:
                        found.append(e2)
                return _Match(i, end, found, last[toks[end].norm])
        single = self.single.get(t.norm)
        if single:
            return _Match(i, i, [e for e, _ in single], any(p for _, p in single))
        for prefix, e in self.prefixes:
            if t.norm.startswith(prefix):
                return _Match(i, i, [e], False)
        return self._fuzzy(toks, i)

    def _fuzzy(self, toks: list[Token], i: int) -> _Match | None:
        found = self._fuzzy_word(toks[i].norm)
        return _Match(i, i, [found[1]], False) if found is not None else None

    def _fuzzy_word(self, w: str) -> tuple[str, EntryRef] | None:
        """The term that `w` misspells, if any (remembered: descriptions repeat the same words)."""
        if len(w) < _FUZZY_MIN or w in self.v.known or not w.isalpha():
            return None
        seen = self._fuzzy_seen
        if w in seen:
            return seen[w]
        found = None
        cands: dict[str, EntryRef] = {}
        for key in _deletes(w) | {w}:
            for term, e in self.fuzzy.get(key, ()):
                cands.setdefault(term, e)
        for term, e in cands.items():
            # a shared one-letter deletion: one edit apart, or (for long words) a letter moved or doubled
            # elsewhere ("carribean" for "caribbean")
            if term[0] == w[0] and (_one_edit_apart(term, w) or (len(term) >= 9 and abs(len(term) - len(w)) <= 1)):
                found = (term, e)
                break
        if len(seen) > 50_000:
            seen.clear()
        seen[w] = found
        return found

    # --- context ----------------------------------------------------------------------------------

    def _judge(self, toks: list[Token], m: _Match) -> tuple[int, int, str, EntryRef] | None:
        order = {ALWAYS: 0, DESCRIPTOR: 1, PERSON: 2, SKIN: 3, AFFILIATION: 4, LABEL: 5}
        v = self.v
        prev = toks[m.i - 1] if m.i > 0 and toks[m.i - 1].word else None
        # Kiri, Tane and Tama are given names as well as te reo's skin, man and boy: capitalised
        # before a capitalised word they are a name ("Kiri Brown", "Tane Tonga"), not a description.
        first = toks[m.i] if m.j > m.i else prev
        if (first is not None and first.cap and toks[m.j].cap
                and (first.norm in v.follows_person or first.norm in v.follows_skin)):
            return None
        if prev is not None and m.i == m.j:
            # languages whose adjectives follow the noun: "chaqueta negra" is a jacket, "hombre negro",
            # "femme noire", "tangata Māori" a person, "piel oscura", "kiri mangu" skin
            if toks[m.i].norm in v.after_noun_colours and prev.norm in v.things:
                return None
            for e in m.entries:
                if e.context in (DESCRIPTOR, PERSON, SKIN, ALWAYS):
                    if prev.norm in v.follows_person and e.context != SKIN:
                        return m.i - 1, m.j, "describes a person", e
                    if prev.norm in v.follows_skin:
                        return m.i - 1, m.j, "describes skin", e
        for e in sorted(m.entries, key=lambda e: order.get(e.context, 9)):
            judge = getattr(self, f"_judge_{e.context}", None)
            if judge is None:
                continue
            span = judge(toks, m)
            if span is not None:
                a, b, rule = span
                return a, b, rule, e
        return None

    def _is_verbish(self, w: str) -> bool:
        v = self.v
        if w in v.verbs:
            return True
        if len(w) > 4 and w.endswith("ed") and w not in v.ed_words and w not in v.body and w not in v.appearance:
            return True
        return len(w) > 4 and w.endswith("ing") and w not in v.ing_nouns and w not in v.appearance

    def _is_boundary(self, t: Token | None) -> bool:
        if t is None or not t.word:
            return True
        w = t.norm
        v = self.v
        return w in v.function or w in v.copulas or w in v.subjects or self._is_verbish(w)

    def _term_end_at(self, toks: list[Token], k: int, kinds: tuple[str, ...]) -> int | None:
        if k >= len(toks):
            return None
        m = self._match_at(toks, k)
        if m is not None and any(e.context in kinds for e in m.entries):
            return m.j
        return None

    def _head(self, toks: list[Token], j: int, *, colours: bool, kinds: tuple[str, ...]) -> tuple[int | None, bool]:
        """The word that the term at ..j modifies: skip adjectives, ages and coordinated terms ("Asian or
        Pacific male"). Returns (index or None at the end, whether a colour word was skipped)."""
        v = self.v
        k, n, skipped_colour = j + 1, len(toks), False
        for _ in range(8):
            if k >= n:
                return None, skipped_colour
            t = toks[k]
            if t.word and (t.norm in v.modifiers or _AGE.match(t.norm)):
                k += 1
                continue
            if colours and t.word and t.norm in v.colours:
                skipped_colour = True
                k += 1
                continue
            if t.norm in _COORDINATORS and k + 1 < n:
                end = self._term_end_at(toks, k + 1, kinds)
                if end is not None:
                    k = end + 1
                    continue
            break
        return k, skipped_colour

    def _person_at(self, toks: list[Token], h: int) -> bool:
        """toks[h] names a person (not a product category as in "men's jacket", "ladies handbag")."""
        t = toks[h]
        v = self.v
        if not t.word or t.norm not in v.person:
            return False
        if t.norm in v.product_person:
            if t.poss == "p" or (t.poss == "s" and t.norm in ("men", "women", "children", "kids", "ladies")):
                return False
            nxt = toks[h + 1] if h + 1 < len(toks) else None
            if nxt is not None and nxt.word and not t.poss:
                w = nxt.norm
                if w in v.things or not (self._is_boundary(nxt) or w in v.person or _AGE.match(w) or w in v.modifiers):
                    return False
        return True

    def _skip_back(self, toks: list[Token], k: int, words: frozenset[str]) -> int:
        while k >= 0 and toks[k].word and toks[k].norm in words:
            k -= 1
        return k

    def _subject(self, toks: list[Token], i: int) -> int | None:
        """If the term at i.. is said of someone ("he was black", "the offender is white", "skin: olive"),
        the index of that someone."""
        v = self.v
        k = self._skip_back(toks, i - 1, self._subject_skip)  # "skin: light brown", "he was very dark"
        if k < 0:
            return None
        t = toks[k]
        if t.word and t.norm in v.subjects and t.poss == "s":
            return k  # he's black
        if t.word and t.norm in v.copulas:
            s = self._skip_back(toks, k - 1, frozenset({"also", "all", "both", "definitely", "probably", "possibly"}))
            if s >= 0 and toks[s].word and (toks[s].norm in v.subjects or toks[s].norm in v.person or toks[s].norm in v.body):
                return s
            return None
        if not t.word and t.norm in (":", "=", "-") and k >= 1 and toks[k - 1].norm in v.body:
            return k - 1
        if t.word and t.norm in v.body and k == i - 1:
            return k  # "skin tanned", "complexion fair"
        return None

    def _ends_clause(self, toks: list[Token], j: int) -> bool:
        """Nothing but the end of a clause follows the term at ..j ("he was black." / "he was black, tall")."""
        v = self.v
        k = j + 1
        while k < len(toks) and toks[k].word and toks[k].norm in ("ish",):
            k += 1
        if k >= len(toks):
            return True
        t = toks[k]
        if not t.word:
            return t.norm in _SENTENCE_END or t.norm in (",", ")", "(", "-", "—", "–")
        if t.norm in ("and", "but", "or", "with"):
            nxt = toks[k + 1] if k + 1 < len(toks) else None
            return nxt is None or not (nxt.word and (nxt.norm in v.colours or nxt.norm in v.things))
        return False

    def _listed_person(self, toks: list[Token], i: int) -> int | None:
        """"male, 20s, white": the term ends a comma list about a person."""
        v = self.v
        k = i - 1
        if k < 0 or toks[k].norm != ",":
            return None
        for _ in range(10):
            if k < 0:
                return None
            t = toks[k]
            if not t.word:
                if t.norm in (",", "/"):
                    k -= 1
                    continue
                return None
            if t.norm in v.person and self._person_at(toks, k):
                return k
            if t.norm in v.modifiers or _AGE.match(t.norm) or t.norm in (
                    "build", "approx", "aged", "years", "yrs", "old", "about", "around", "height", "cm", "ft"):
                k -= 1
                continue
            return None
        return None

    def _sentence_start(self, toks: list[Token], i: int) -> bool:
        return i == 0 or toks[i - 1].norm in _SENTENCE_END

    def _appearance_verb_before(self, toks: list[Token], i: int) -> int:
        k = self._skip_back(toks, i - 1, self.v.adverbs)
        if k >= 0 and toks[k].word and toks[k].norm in self.v.copulas and toks[k].norm not in (
                "is", "was", "were", "are", "be", "been", "being", "am"):
            return k
        return i

    # one judge per context kind: answer (first token, last token, rule) of the phrase, or None

    def _depicted(self, toks: list[Token], i: int) -> bool:
        """The word at i names what a tattoo, print or logo shows: "tattoo of a kiwi", "flag with a Maori"."""
        k = self._skip_back(toks, i - 1, frozenset({"a", "an", "the", "of", "with", "small", "little", "big"}))
        return k < i - 1 and k >= 0 and toks[k].word and toks[k].norm in self.v.depictions

    def _judge_label(self, toks: list[Token], m: _Match):
        """"race: Asian", "Religion - Sikh", "race/ethnicity: African": a form label with its value."""
        n, k = len(toks), m.j + 1
        if k + 1 < n and toks[k].norm == "/":
            end = self._term_end_at(toks, k + 1, (LABEL,))
            if end is not None:
                k = end + 1
        end = self._label_value(toks, k)
        return (m.i, end, "labels a characteristic") if end is not None else None

    def _label_value(self, toks: list[Token], k: int) -> int | None:
        """After a label at ..k-1: the last token of its value ("race: Pacific Island" → "Island")."""
        n = len(toks)
        if k >= n or toks[k].word or toks[k].norm not in (":", "=", "-", "–", "—"):
            return None
        k += 1
        if k >= n or not toks[k].word:
            return None
        end = k
        while end + 1 < n and toks[end + 1].word and end - k < 2 and not self._is_boundary(toks[end + 1]):
            end += 1
        return end

    def _judge_always(self, toks: list[Token], m: _Match):
        t = toks[m.i]
        nxt = toks[m.j + 1] if m.j + 1 < len(toks) else None
        if nxt is not None and nxt.word and nxt.norm in self.v.institutions:
            after = toks[m.j + 2] if m.j + 2 < len(toks) else None
            if after is None or not after.word or not (after.norm in self.v.person or after.norm in self.v.affiliation_heads):
                return None  # a school, church or hospital: "Catholic school uniform" (but "Ratana church member")
        if (t.cap and t.norm in self.v.also_names and nxt is not None and nxt.word and nxt.cap and nxt.norm not in self.v.known
                and self._match_at(toks, m.j + 1) is None):
            return None  # a given name: "Christian Taylor"
        prev = toks[m.i - 1] if m.i > 0 else None
        if (t.cap and t.norm in self.v.also_names and prev is not None and prev.word and prev.cap
                and prev.norm not in self.v.known and self._match_at(toks, m.i - 1) is None):
            return None  # a family name: "Jordan Christian"
        end = self._label_value(toks, m.j + 1)  # "skin colour: brown" names the value typed too
        return m.i, end if end is not None else m.j, "always"

    def _judge_descriptor(self, toks: list[Token], m: _Match):
        v = self.v
        if self._depicted(toks, m.i):
            return None  # "tattoo of a kiwi on left wrist"
        nxt = toks[m.j + 1] if m.j + 1 < len(toks) else None
        if m.plural and nxt is not None and nxt.word and (nxt.norm in v.things or nxt.norm in v.team_words):
            return None  # a team: "Cleveland Indians cap", "Kiwis league jersey"
        if m.plural:
            return m.i, m.j, "noun for people"
        h, skipped_colour = self._head(toks, m.j, colours=True, kinds=(DESCRIPTOR, ALWAYS))
        head = toks[h] if h is not None else None
        if head is not None and head.word:
            if self._person_at(toks, h):
                return self._appearance_verb_before(toks, m.i), h, "describes a person"
            if head.norm in v.appearance or head.norm in v.body:
                return self._appearance_verb_before(toks, m.i), h, "describes appearance or origin"
            if head.norm in v.person:  # a product category: "Asian kids clothing"
                return None
        if self._is_boundary(head):
            # used as a noun or a predicate ("looked Indian", "an Asian", "Maori, big build") — unless it names
            # the language spoken ("spoke Samoan", "yelled in Mandarin")
            k = self._skip_back(toks, m.i - 1, v.language_modifiers)
            if k >= 0 and toks[k].word and toks[k].norm in v.speech:
                return None
            if m.i > 0 and toks[m.i - 1].word and toks[m.i - 1].norm in v.language_adjectives:
                return None  # "broken English", "te reo Maori"
            return self._appearance_verb_before(toks, m.i), m.j, "describes a person"
        if skipped_colour and head is not None and head.norm in v.clothing:
            return m.i, m.j, "describes a person"  # "Asian black hoodie": a comma left out
        # a compound noun whose head is a person: "Indian shop owner", "Chinese taxi driver"
        k = h + 1 if h is not None else len(toks)
        for _ in range(2):
            if k >= len(toks) or not toks[k].word or self._is_boundary(toks[k]):
                break
            if self._person_at(toks, k):
                return self._appearance_verb_before(toks, m.i), k, "describes a person"
            if toks[k].norm in v.appearance and k > (h if h is not None else k):
                return self._appearance_verb_before(toks, m.i), k, "describes appearance or origin"  # "Inuit style face"
            k += 1
        return None

    def _skin_in_brackets(self, toks: list[Token], j: int) -> int | None:
        """"black (skin)": the index of the closing bracket after a colour that is said to be of the skin."""
        if (j + 3 < len(toks) and toks[j + 1].norm == "(" and toks[j + 2].word and toks[j + 2].norm in self.v.body
                and toks[j + 3].norm == ")"):
            return j + 3
        return None

    def _judge_person(self, toks: list[Token], m: _Match):
        v = self.v
        b = self._skin_in_brackets(toks, m.j)
        if b is not None:
            k = self._skip_back(toks, m.i - 1, frozenset())
            return (k - 1 if k >= 1 and toks[k].norm in (":", "=", "-") else m.i), b, "describes skin"
        h, _ = self._head(toks, m.j, colours=True, kinds=(PERSON, SKIN, DESCRIPTOR))
        if h is not None and toks[h].word and (self._person_at(toks, h) or toks[h].norm in v.body):
            return m.i, h, "before a person word"
        if self._ends_clause(toks, m.j):
            s = self._subject(toks, m.i)
            if s is not None:
                return s, m.j, "said of a person"
            s = self._listed_person(toks, m.i)
            if s is not None:
                return s, m.j, "in a description of a person"
            if (self._sentence_start(toks, m.i) and m.j + 2 < len(toks) and toks[m.j + 1].norm == ","
                    and self._person_at(toks, m.j + 2)):
                return m.i, m.j + 2, "in a description of a person"
        return None

    def _judge_skin(self, toks: list[Token], m: _Match):
        v = self.v
        h, _ = self._head(toks, m.j, colours=True, kinds=(PERSON, SKIN))
        if h is not None and toks[h].word and toks[h].norm in v.body:
            return m.i, h, "describes skin"
        s = self._subject(toks, m.i)
        if s is not None and toks[s].norm in v.body and self._ends_clause(toks, m.j):
            return s, m.j, "describes skin"
        return None

    def _judge_affiliation(self, toks: list[Token], m: _Match):
        v = self.v
        h, _ = self._head(toks, m.j, colours=False, kinds=(AFFILIATION,))
        if h is not None and toks[h].word and toks[h].norm in v.affiliation_heads:
            return m.i, h, "political affiliation"
        t = toks[m.i]
        ordinary = m.i == m.j and (t.norm in v.colours or t.norm in v.known)  # "Green", "National" start sentences
        if (h is not None and t.cap and not (ordinary and self._sentence_start(toks, m.i)) and self._person_at(toks, h)):
            return m.i, h, "political affiliation"  # "a Labour man", "some National bloke", "Democrat guy"
        k = self._skip_back(toks, m.i - 1, frozenset({"the", "for", "a", "an"}))
        if k >= 0 and toks[k].word and toks[k].norm in v.vote:
            return k, m.j, "political affiliation"
        if (k >= 1 and not toks[k].word and toks[k].norm in (":", "=", "-") and toks[k - 1].word
                and toks[k - 1].norm in v.affiliation_heads):
            return k - 1, m.j, "political affiliation"  # "party: ACT"
        return None
