"""The synthetic world's vocabulary: names and the nicknames people use, marks and how staff word
them, plates and how they are misread (matching.synthetic draws from these).

Written for the generator alone, independently of the matcher's tables (matching/normalise.py,
matching/data/, the `nicknames` package): a matcher does not get to know the noise. The WIDE_*
habits come in only when a noise knob is turned above its default (matching.synthetic.WorldConfig),
so a seed's world at the defaults is the world it always was.
"""

from __future__ import annotations

import random

# Given names with the nicknames and short forms people use for them. Not every nickname below
# is in the matcher's table, and not every one there is here.
MALE_GIVEN = {
    "john": ["johnny", "jon", "jonno", "jack"], "michael": ["mike", "mick", "mikey"], "james": ["jim", "jimmy", "jamie"],
    "david": ["dave", "davo"], "daniel": ["dan", "danny"], "thomas": ["tom", "tommy", "tommo"],
    "william": ["will", "bill", "billy", "liam"], "robert": ["rob", "robbie", "bob", "robbo"],
    "christopher": ["chris", "chrissy"], "matthew": ["matt", "matty"], "joshua": ["josh"],
    "benjamin": ["ben", "benny"], "samuel": ["sam", "sammy"], "anthony": ["tony", "ant"],
    "andrew": ["andy", "drew"], "nicholas": ["nick", "nicko"], "richard": ["rick", "richie", "dick"],
    "stephen": ["steve", "stevo"], "jonathan": ["jon", "jono"], "joseph": ["joe", "joey"],
    "darren": ["dazza", "daz"], "kevin": ["kev"], "bradley": ["brad"], "shane": [], "craig": [], "wayne": [],
    "dean": [], "brent": [], "liam": [], "noah": [], "oliver": ["ollie"], "jack": ["jacko"], "ryan": [],
    "tyler": ["ty"], "nathan": ["nate", "nath"], "aaron": ["azza"], "ethan": [], "mason": [], "logan": [],
    "lucas": ["luke"], "jayden": ["jay"], "cameron": ["cam"], "hayden": [], "blake": [], "jordan": [],
    "tane": [], "wiremu": ["wi", "bill"], "hemi": [], "rangi": [], "manaia": [], "nikau": [], "tama": [],
    "sione": [], "tevita": ["vita"], "viliami": ["villi", "liam"], "semisi": ["semi"], "filipo": ["filo"],
    "raj": [], "arjun": [], "wei": [], "jun": [], "hamish": [], "angus": ["gus"], "callum": ["cal"],
}
FEMALE_GIVEN = {
    "sarah": ["sarah-jane", "sal"], "jessica": ["jess", "jessie"], "emma": ["em"], "olivia": ["liv", "livvy"],
    "charlotte": ["charlie", "lottie"], "sophie": ["soph"], "hannah": [], "chloe": [], "kayla": [],
    "brooke": [], "kelly": [], "rebecca": ["becky", "bec"], "katherine": ["kate", "katie", "kath"],
    "elizabeth": ["liz", "beth", "lizzie"], "jennifer": ["jen", "jenny"], "amanda": ["mandy"],
    "melissa": ["mel", "missy"], "nicole": ["nic", "nikki"], "stephanie": ["steph"], "samantha": ["sam", "sammy"],
    "aroha": [], "mere": [], "kiri": [], "anahera": ["ana"], "moana": [], "ngaire": [], "hine": [],
    "mele": [], "losa": [], "sina": [], "priya": [], "mei": [], "ashley": ["ash"], "tania": [], "leanne": [],
    "michelle": ["shell", "chelle"], "natasha": ["tash", "tasha"], "alexandra": ["alex", "lexi"],
}
SURNAMES = [
    "smith", "wilson", "williams", "brown", "taylor", "anderson", "thompson", "walker", "white", "harris",
    "martin", "clarke", "king", "young", "wright", "scott", "green", "baker", "hall", "campbell", "stewart",
    "morris", "robinson", "cooper", "mitchell", "reid", "ngata", "parata", "tipene", "henare", "rewi", "tuilagi",
    "fifita", "tonga", "patel", "singh", "chen", "li", "wang", "kumar", "jones", "davies", "evans", "thomas",
    "johnson", "roberts", "lewis", "hughes", "edwards", "wood", "turner", "jackson", "hill", "moore", "clark",
    "harrison", "ward", "watson", "morgan", "phillips", "bell", "murray", "kennedy", "fraser", "graham",
    "mcdonald", "macdonald", "ross", "hunter", "paterson", "johnston", "duncan", "ferguson", "grant", "hamilton",
    "kerr", "marshall", "sutherland", "tamihana", "waaka", "te huia", "pomare", "hohaia", "kereama", "tawhiri",
    "faleolo", "leota", "tupou", "vaifale", "sapolu", "mahe", "fonoti", "nguyen", "tran", "zhang", "liu", "huang",
    "sharma", "gill", "sandhu", "dixon", "fletcher", "hudson", "bishop", "barnes", "webb", "gibson", "mason",
    "palmer", "russell", "holmes", "pearce", "lloyd", "matthews", "chapman", "rose", "ellis", "burke", "gordon",
    "shaw", "stevens", "harvey", "dunn", "burns", "knight", "fox", "walsh", "simpson", "carter", "kelly", "ryan",
    "obrien", "murphy", "sullivan", "byrne", "doyle", "quinn", "nolan", "brennan", "dalton", "hawkins", "weaver",
]
STREET_ALIASES = [
    "smithy", "tiny", "red", "mack", "shorty", "big mike", "sparky", "ace", "kez", "bugsy", "chopper", "ghost",
    "snake", "junior", "bubba", "moose", "skux", "bro", "cuz", "stretch", "lefty", "ziggy", "rocket", "dutch",
    "mouse", "spud", "knuckles", "fingers", "boots", "flash", "taz", "scooter", "diesel", "chief", "cheeky",
]
MARK_OBJECTS = [
    "star", "rose", "skull", "dragon", "cross", "snake", "spider web", "anchor", "heart", "koru", "eagle",
    "butterfly", "barcode", "clock", "dagger", "crown", "lion", "wolf", "tiger", "swallow", "scorpion",
    "rosary", "feather", "compass", "hibiscus", "shark", "manaia", "teardrop", "number 13", "letters LOVE",
]
MARK_PLACES = {
    "tattoo": ["hand", "forearm", "neck", "wrist", "finger", "calf", "arm", "shoulder", "knuckles", "face", "chest"],
    "scar": ["eyebrow", "cheek", "chin", "lip", "forehead", "hand", "nose", "jaw"],
    "piercing": ["nose", "eyebrow", "lip", "ear"],
}
SIDES = ["left", "right"]
HAIR_STYLES = ["short brown", "shaved", "long blonde", "black tied back", "curly red", "grey balding", "brown mullet",
               "dyed pink", "short black", "long brown ponytail", "blonde buzz cut", "dreadlocks", "bald",
               "black braids", "mohawk", "short grey", "blue tips", "curly black", "long black", "undercut"]
AGE_BANDS = ["14-17", "18-24", "25-34", "35-44", "45-54", "55-64"]
BUILDS = ["slim", "medium", "heavy", "muscular"]
# OCR twins (folded by the matcher) and near-misses (not folded: a person misreading a plate).
OCR_TWINS = {"O": "0", "0": "O", "I": "1", "1": "I", "B": "8", "8": "B", "S": "5", "5": "S", "Z": "2", "2": "Z"}
NEAR_MISS = {"D": "0", "E": "F", "F": "E", "M": "N", "N": "M", "6": "G", "G": "6", "3": "8", "C": "G", "U": "V",
             "V": "U", "K": "X", "7": "1", "H": "M", "P": "R", "R": "P", "Q": "O", "4": "A", "A": "4", "T": "7"}
KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"

COMMON_NAMES = [("john", "smith"), ("michael", "brown"), ("david", "wilson"), ("sarah", "taylor"),
                ("james", "williams"), ("jessica", "smith")]

# --- Wider habits, above a knob's default ------------------------------------------------------------

# More of the short forms people go by, some spelled as they are said ("Shelly" for Michelle).
WIDE_NICKNAMES = {
    "michelle": ["shelly", "shelley", "mish", "chell"], "jessica": ["jessy", "jessie", "jezza", "jess"],
    "elizabeth": ["eliza", "betty", "bess", "libby"], "katherine": ["kathy", "kat", "kit", "katy"],
    "rebecca": ["becca", "becks", "reba"], "natasha": ["nat", "tashy", "natty"], "alexandra": ["sandra", "sasha", "lex"],
    "samantha": ["sammie", "mantha"], "stephanie": ["stef", "stevie", "steff"], "jennifer": ["jenna", "jenni", "jenn"],
    "melissa": ["lissa", "mellie", "liss"], "nicole": ["nicky", "nicci", "nikki"], "amanda": ["manda", "mands"],
    "charlotte": ["lotte", "char", "lotty"], "olivia": ["olly", "livi"], "sophie": ["sophs", "soso"],
    "william": ["willy", "wills", "billie"], "robert": ["bobby", "bert", "robby"], "richard": ["rich", "ricky", "richo"],
    "michael": ["micky", "mikie", "mickey"], "anthony": ["tone", "ants", "tonka"], "christopher": ["kit", "topher", "chrisso"],
    "jonathan": ["johnno", "jonny"], "thomas": ["thom", "tomo", "tommie"], "james": ["jimbo", "jas", "jimi"],
    "joseph": ["joss", "jojo", "joe-boy"], "matthew": ["matto", "mattie", "matty-boy"], "nicholas": ["nicky", "nico", "nik"],
    "daniel": ["dano", "dannie", "danno"], "andrew": ["andie", "ando", "drewy"], "samuel": ["sammo", "sambo"],
    "benjamin": ["benji", "benno", "benj"], "david": ["davy", "dai", "davey"], "stephen": ["steph", "stevie"],
    "joshua": ["joshy", "jos"], "cameron": ["cammo", "cammy"], "nathan": ["natho", "nath"], "kevin": ["kevvy"],
    "bradley": ["braddo", "bradders"], "callum": ["cally"], "angus": ["angie", "gussy"], "tevita": ["tev"],
    "viliami": ["vili", "bill"], "anahera": ["hera"], "lucas": ["luca", "lukey"], "jayden": ["jayd"],
}
_VOWELS = "aeiouy"


def nickname_habits(given: str, rng: random.Random) -> list[str]:
    """Nicknames made the way people make them, for any given name: the first syllable ("Jess"), the
    first syllable and -y or -ie ("Danny"), the Kiwi -o or -za ("Robbo", "Dazza")."""
    i = 0
    while i < len(given) and given[i] not in _VOWELS:
        i += 1
    while i < len(given) and given[i] in _VOWELS:
        i += 1
    j = i
    while j < len(given) and given[j] not in _VOWELS and j - i < 2:
        j += 1
    clip = given[:max(j, 2)]
    if len(clip) >= len(given) or len(clip) < 2:
        return []
    last = clip[-1]
    double = clip + last if last not in _VOWELS and not clip.endswith(last * 2) else clip
    return [clip, double + rng.choice(["y", "ie"]), double + rng.choice(["o", "a"]), clip[:3] + "za"]


# Marks in the other words and orders staff use: "neck tattoo (snake)", "star tattoo left hand".
WIDE_TATTOO = [
    "{place} tattoo ({obj})", "{obj} tattoo on {place}", "{obj} tattoo {side} {place}", "{obj} on {side} {place} (tattoo)",
    "{side} {place}: {obj} tattoo", "tatt of a {obj}, {place}", "{obj} inked on {side} {place}",
    "has a {obj} tattooed on the {place}", "{s} {place} {obj} tattoo", "tattoo - {obj} - {side} {place}",
    "{place} tat of a {obj}", "{obj} tattoo on the {place}, {side} side", "tattoo of {obj} ({side} {place})",
    "{side}-{place} tattoo, a {obj}", "tattoo ({obj}) {place}",
]
WIDE_SCAR = ["{side} {place} scar", "scar, {place} ({side})", "scar across {place}", "{place}: scar",
             "visible scar on the {side} side of the {place}", "old scar {side} {place}", "scar {s} {place}"]
WIDE_PIERCING = ["{side} {place} piercing", "{place} stud", "ring in {place}", "{place} pierced ({side})",
                 "{place} bar", "stud in {side} {place}"]


def wide_mark_text(kind: str, obj: str, side: str, place: str, rng: random.Random) -> str:
    forms = WIDE_TATTOO if kind == "tattoo" else WIDE_SCAR if kind == "scar" else WIDE_PIERCING
    return rng.choice(forms).format(obj=obj, side=side, place=place, s=side[0].upper())


def wide_plate_format(plate: str, rng: random.Random) -> str:
    """Plates as people type them besides the usual forms: "rux 246", "Rux-246", "RUX. 246", spaced out."""
    head, tail = plate[:3], plate[3:]
    return rng.choice([f"{head} {tail}".lower(), f"{head}-{tail}".lower(), f"{head.title()}{tail}",
                       f"{head.title()}-{tail}", f"{head}. {tail}", " ".join(plate), f" {plate} ", f"{head}  {tail}"])
