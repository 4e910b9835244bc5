"""Lookup tables of the ``entity-resolution`` normalization profile (see :mod:`idres.normalize`).

Keys are written in normalized form, the form a value has after the address rule of SPEC §3
(NFKC, ``, . # / -`` as spaces, single spaces, lower case): ``"U.S.A."`` is looked up as ``"u s a"``.
Values are lower case too and are never themselves keys of another entry, so applying a table twice
changes nothing (tests check both).

- :data:`STREET_WORDS`: USPS Publication 28 street suffixes (Appendix C1, the common ones and their
  frequent misspellings), secondary unit designators (C2) and directionals, applied word by word to
  address lines.
- :data:`STATES`: US states, DC and territories by USPS code, plus Canadian provinces and territories,
  applied to whole ``State`` and ``Province`` values (codes written with dots, ``N.Y.``, too).
- :data:`COUNTRIES`: about sixty countries, by ISO 3166-1 alpha-2 code, from their English names,
  common local names, alpha-3 codes and aliases, applied to whole ``Country`` values (codes written
  with dots, ``U.K.``, too).
"""

from __future__ import annotations

from typing import Final


def _invert(groups: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """``{code: (name, ...)}`` -> ``{name: code}``; a name listed twice is a bug.

    >>> _invert({"st": ("street", "strt")})
    {'street': 'st', 'strt': 'st'}
    """
    table = {name: code for code, names in groups.items() for name in names}
    if len(table) != sum(len(names) for names in groups.values()):
        raise ValueError("a name is listed under two codes")
    return table


def _spelled_codes(table: dict[str, str]) -> dict[str, str]:
    """`table` plus every code spelled with a space, as dotted codes normalize (``N.Y.`` -> ``n y``).

    >>> _spelled_codes({"new york": "ny"})
    {'new york': 'ny', 'n y': 'ny'}
    """
    spelled = {" ".join(code): code for code in table.values() if len(code) == 2}
    return table | {k: v for k, v in spelled.items() if k not in table}


#: word -> abbreviation, applied word-wise to Address1..Address4.
STREET_WORDS: Final[dict[str, str]] = _invert(
    {
        # street suffixes (USPS C1)
        "aly": ("alley", "allee", "ally"),
        "anx": ("annex", "anex", "annx"),
        "arc": ("arcade",),
        "ave": ("avenue", "av", "aven", "avenu", "avn", "avnue"),
        "bch": ("beach",),
        "bnd": ("bend",),
        "blf": ("bluff",),
        "blvd": ("boulevard", "boul", "boulv"),
        "br": ("branch", "brnch"),
        "brg": ("bridge", "brdge"),
        "brk": ("brook",),
        "byp": ("bypass", "bypa", "bypas", "byps"),
        "cswy": ("causeway", "causwa"),
        "ctr": ("center", "centre", "cent", "centr", "cnter", "cntr", "cen"),
        "cir": ("circle", "circ", "circl", "crcl", "crcle"),
        "clf": ("cliff",),
        "cmn": ("common",),
        "cor": ("corner",),
        "ct": ("court", "crt"),
        "cv": ("cove",),
        "crk": ("creek",),
        "cres": ("crescent", "crsent", "crsnt"),
        "xing": ("crossing", "crssng"),
        "dr": ("drive", "driv", "drv"),
        "est": ("estate",),
        "expy": ("expressway", "exp", "expr", "express", "expw"),
        "ext": ("extension", "extn", "extnsn"),
        "fry": ("ferry", "frry"),
        "fld": ("field",),
        "flds": ("fields",),
        "ft": ("fort", "frt"),
        "fwy": ("freeway", "freewy", "frway", "frwy"),
        "gdn": ("garden", "gardn", "grden", "grdn"),
        "gdns": ("gardens", "grdns"),
        "gtwy": ("gateway", "gatewy", "gatway", "gtway"),
        "gln": ("glen",),
        "grn": ("green",),
        "grv": ("grove", "grov"),
        "hbr": ("harbor", "harb", "harbr", "hrbor"),
        "hts": ("heights", "ht"),
        "hwy": ("highway", "highwy", "hiway", "hiwy", "hway"),
        "hl": ("hill",),
        "hls": ("hills",),
        "holw": ("hollow", "hllw", "hollows", "holws"),
        "is": ("island", "islnd"),
        "jct": ("junction", "jction", "jctn", "junctn", "juncton"),
        "lk": ("lake",),
        "lks": ("lakes",),
        "lndg": ("landing", "lndng"),
        "ln": ("lane",),
        "mnr": ("manor",),
        "mdw": ("meadow",),
        "mdws": ("meadows", "medows"),
        "mt": ("mount", "mnt"),
        "mtn": ("mountain", "mntain", "mntn", "mountin", "mtin"),
        "orch": ("orchard", "orchrd"),
        "pkwy": ("parkway", "parkwy", "pkway", "pky", "parkways", "pkwys"),
        "pl": ("place",),
        "pln": ("plain",),
        "plz": ("plaza", "plza"),
        "pt": ("point",),
        "prt": ("port",),
        "pr": ("prairie", "prr"),
        "rnch": ("ranch", "ranches", "rnchs"),
        "rdg": ("ridge", "rdge"),
        "riv": ("river", "rvr", "rivr"),
        "rd": ("road",),
        "rds": ("roads",),
        "rte": ("route",),
        "shr": ("shore",),
        "spg": ("spring", "spng", "sprng"),
        "spgs": ("springs", "spngs", "sprngs"),
        "sq": ("square", "sqr", "sqre", "squ"),
        "sta": ("station", "statn", "stn"),
        "st": ("street", "strt", "str"),
        "sts": ("streets",),
        "smt": ("summit", "sumit", "sumitt"),
        "ter": ("terrace", "terr"),
        "trce": ("trace", "traces"),
        "trl": ("trail", "trails", "trls"),
        "tpke": ("turnpike", "trnpk", "turnpk"),
        "vly": ("valley", "vally", "vlly"),
        "vw": ("view",),
        "vlg": ("village", "vill", "villag", "villg", "villiage"),
        "vis": ("vista", "vist", "vst", "vsta"),
        # secondary unit designators (USPS C2)
        "apt": ("apartment",),
        "bldg": ("building",),
        "dept": ("department",),
        "fl": ("floor",),
        "ofc": ("office",),
        "ph": ("penthouse",),
        "rm": ("room",),
        "ste": ("suite",),
        "trlr": ("trailer",),
        # directionals
        "n": ("north",),
        "s": ("south",),
        "e": ("east",),
        "w": ("west",),
        "ne": ("northeast",),
        "nw": ("northwest",),
        "se": ("southeast",),
        "sw": ("southwest",),
    }
)

#: whole State / Province value -> code.
STATES: Final[dict[str, str]] = _spelled_codes(
    _invert(
        {
            "al": ("alabama",),
            "ak": ("alaska",),
            "az": ("arizona",),
            "ar": ("arkansas",),
            "ca": ("california",),
            "co": ("colorado",),
            "ct": ("connecticut",),
            "de": ("delaware",),
            "dc": ("district of columbia", "d c", "washington d c", "washington dc"),
            "fl": ("florida",),
            "ga": ("georgia",),
            "hi": ("hawaii",),
            "id": ("idaho",),
            "il": ("illinois",),
            "in": ("indiana",),
            "ia": ("iowa",),
            "ks": ("kansas",),
            "ky": ("kentucky",),
            "la": ("louisiana",),
            "me": ("maine",),
            "md": ("maryland",),
            "ma": ("massachusetts",),
            "mi": ("michigan",),
            "mn": ("minnesota",),
            "ms": ("mississippi",),
            "mo": ("missouri",),
            "mt": ("montana",),
            "ne": ("nebraska",),
            "nv": ("nevada",),
            "nh": ("new hampshire",),
            "nj": ("new jersey",),
            "nm": ("new mexico",),
            "ny": ("new york",),
            "nc": ("north carolina",),
            "nd": ("north dakota",),
            "oh": ("ohio",),
            "ok": ("oklahoma",),
            "or": ("oregon",),
            "pa": ("pennsylvania",),
            "ri": ("rhode island",),
            "sc": ("south carolina",),
            "sd": ("south dakota",),
            "tn": ("tennessee",),
            "tx": ("texas",),
            "ut": ("utah",),
            "vt": ("vermont",),
            "va": ("virginia",),
            "wa": ("washington",),
            "wv": ("west virginia",),
            "wi": ("wisconsin",),
            "wy": ("wyoming",),
            "as": ("american samoa",),
            "gu": ("guam",),
            "mp": ("northern mariana islands",),
            "pr": ("puerto rico",),
            "vi": ("virgin islands", "u s virgin islands", "us virgin islands"),
            # Canada
            "ab": ("alberta",),
            "bc": ("british columbia",),
            "mb": ("manitoba",),
            "nb": ("new brunswick",),
            "nl": ("newfoundland and labrador", "newfoundland"),
            "ns": ("nova scotia",),
            "nt": ("northwest territories",),
            "nu": ("nunavut",),
            "on": ("ontario",),
            "pe": ("prince edward island",),
            "qc": ("quebec", "québec"),
            "sk": ("saskatchewan",),
            "yt": ("yukon",),
        }
    )
)

#: whole Country value -> ISO 3166-1 alpha-2 code.
COUNTRIES: Final[dict[str, str]] = _spelled_codes(
    _invert(
        {
            "us": (
                "united states",
                "united states of america",
                "usa",
                "u s",
                "u s a",
                "america",
                "the united states",
                "the united states of america",
            ),
            "gb": (
                "united kingdom",
                "uk",
                "u k",
                "gbr",
                "great britain",
                "britain",
                "england",
                "scotland",
                "wales",
                "northern ireland",
                "the united kingdom",
                "united kingdom of great britain and northern ireland",
            ),
            "ca": ("canada", "can"),
            "mx": ("mexico", "méxico", "mex"),
            "br": ("brazil", "brasil", "bra"),
            "ar": ("argentina", "arg"),
            "cl": ("chile", "chl"),
            "co": ("colombia", "col"),
            "pe": ("peru", "perú", "per"),
            "ve": ("venezuela", "ven"),
            "ec": ("ecuador", "ecu"),
            "uy": ("uruguay", "ury"),
            "cr": ("costa rica", "cri"),
            "pa": ("panama", "panamá", "pan"),
            "do": ("dominican republic", "dom"),
            "pr": ("puerto rico", "pri"),
            "jm": ("jamaica", "jam"),
            "ie": ("ireland", "irl", "republic of ireland", "éire", "eire"),
            "fr": ("france", "fra"),
            "de": ("germany", "deutschland", "deu"),
            "es": ("spain", "españa", "espana", "esp"),
            "pt": ("portugal", "prt"),
            "it": ("italy", "italia", "ita"),
            "nl": ("netherlands", "the netherlands", "holland", "nederland", "nld"),
            "be": ("belgium", "belgique", "belgië", "bel"),
            "lu": ("luxembourg", "lux"),
            "ch": ("switzerland", "schweiz", "suisse", "svizzera", "che"),
            "at": ("austria", "österreich", "aut"),
            "dk": ("denmark", "danmark", "dnk"),
            "se": ("sweden", "sverige", "swe"),
            "no": ("norway", "norge", "nor"),
            "fi": ("finland", "suomi", "fin"),
            "is": ("iceland", "ísland", "isl"),
            "pl": ("poland", "polska", "pol"),
            "cz": ("czech republic", "czechia", "česko", "cze"),
            "sk": ("slovakia", "svk"),
            "hu": ("hungary", "magyarország", "hun"),
            "ro": ("romania", "românia", "rou"),
            "bg": ("bulgaria", "bgr"),
            "gr": ("greece", "grc"),
            "hr": ("croatia", "hrvatska", "hrv"),
            "rs": ("serbia", "srb"),
            "ua": ("ukraine", "ukr"),
            "ru": ("russia", "russian federation", "rus"),
            "tr": ("turkey", "türkiye", "turkiye", "tur"),
            "il": ("israel", "isr"),
            "ae": ("united arab emirates", "uae", "u a e", "are"),
            "sa": ("saudi arabia", "sau"),
            "qa": ("qatar", "qat"),
            "eg": ("egypt", "egy"),
            "ma": ("morocco", "mar"),
            "ng": ("nigeria", "nga"),
            "ke": ("kenya", "ken"),
            "za": ("south africa", "zaf"),
            "in": ("india", "ind"),
            "pk": ("pakistan", "pak"),
            "bd": ("bangladesh", "bgd"),
            "lk": ("sri lanka", "lka"),
            "cn": ("china", "people's republic of china", "prc", "chn"),
            "hk": ("hong kong", "hkg"),
            "tw": ("taiwan", "twn"),
            "jp": ("japan", "jpn"),
            "kr": ("south korea", "korea", "republic of korea", "korea republic of", "kor"),
            "sg": ("singapore", "sgp"),
            "my": ("malaysia", "mys"),
            "th": ("thailand", "tha"),
            "vn": ("vietnam", "viet nam", "vnm"),
            "ph": ("philippines", "the philippines", "phl"),
            "id": ("indonesia", "idn"),
            "au": ("australia", "aus"),
            "nz": ("new zealand", "nzl"),
        }
    )
)
