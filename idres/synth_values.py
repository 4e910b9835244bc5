"""Value pools of the synthetic profile generator (:mod:`idres.synth`).

Hand-written, US-centred (plus a few Canadian cities) and ordered by popularity: the generator weights
names, streets, e-mail domains and placeholders by rank (a Zipf law, :func:`rank_weights`), so common
names are common, and cities by the rough population given here. Nothing here is real personal data:
names are frequent given names and surnames, cities carry their real state, county, ZIP range and area
codes so that an address and a phone number agree with each other.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import polars as pl


def rank_weights(k: int, exponent: float = 1.0, offset: float = 2.0) -> np.ndarray:
    """Probabilities of `k` items ordered by popularity: ``(rank + offset) ** -exponent``, normalized.

    >>> w = rank_weights(3)
    >>> bool(w[0] > w[1] > w[2]), round(float(w.sum()), 6)
    (True, 1.0)
    """
    w = (np.arange(k, dtype=np.float64) + offset) ** -exponent
    return w / w.sum()


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """The items of a whitespace- (or `sep`-) separated block of text, stripped."""
    return tuple(w.strip() for w in text.split(sep) if w.strip())


MALE_FIRST_NAMES: Final = _words(
    """James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel
    Matthew Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian George Timothy Ronald
    Jason Edward Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon
    Benjamin Samuel Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam
    Nathan Henry Zachary Douglas Peter Kyle Noah Ethan Jeremy Christian Walter Keith Austin Roger
    Terry Sean Gerald Carl Dylan Harold Jordan Jesse Bryan Lawrence Arthur Gabriel Bruce Logan Billy
    Joe Alan Juan Elijah Willie Albert Wayne Randy Mason Vincent Liam Roy Bobby Caleb Bradley Russell
    Lucas Philip Eugene Louis Luis Carlos Frederick Oliver Mateo Hiroshi Wei Raj Mohammed Omar
    Dmitri Kwame Andre Marcus Theodore Isaac Hugo Felix Rafael Diego Ahmed Santiago Francisco"""
)
FEMALE_FIRST_NAMES: Final = _words(
    """Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty
    Sandra Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie
    Dorothy Rebecca Sharon Laura Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela Nicole
    Samantha Katherine Christine Helen Debra Rachel Carolyn Janet Maria Catherine Heather Diane
    Olivia Julie Joyce Victoria Ruth Virginia Lauren Kelly Christina Joan Evelyn Judith Andrea
    Hannah Megan Cheryl Jacqueline Martha Madison Teresa Gloria Sara Janice Ann Kathryn Abigail
    Sophia Frances Jean Alice Judy Isabella Julia Grace Amber Denise Danielle Marilyn Beverly
    Charlotte Natalie Theresa Diana Brittany Doris Kayla Alexis Lori Marie Ava Mia Chloe Yuki
    Mei Priya Fatima Aisha Lucia Camila Valentina Ingrid Sofia Elena Ximena Gabrielle Cassandra"""
)

#: Formal first name -> common nicknames (first nickname is the most usual).
NICKNAMES: Final[dict[str, tuple[str, ...]]] = {
    k: _words(v)
    for k, v in {
        "William": "Bill Will Billy Liam",
        "Robert": "Bob Rob Bobby Robbie",
        "James": "Jim Jimmy Jamie",
        "John": "Jack Johnny",
        "Richard": "Rick Dick Rich Ricky",
        "Michael": "Mike Mikey Mick",
        "Thomas": "Tom Tommy",
        "Charles": "Charlie Chuck Chas",
        "Joseph": "Joe Joey",
        "Christopher": "Chris Topher",
        "Daniel": "Dan Danny",
        "Matthew": "Matt Matty",
        "Anthony": "Tony",
        "Donald": "Don Donny",
        "Steven": "Steve",
        "Stephen": "Steve",
        "Andrew": "Andy Drew",
        "Kenneth": "Ken Kenny",
        "Joshua": "Josh",
        "Edward": "Ed Eddie Ted",
        "Ronald": "Ron Ronnie",
        "Timothy": "Tim Timmy",
        "Jeffrey": "Jeff",
        "Nicholas": "Nick Nicky",
        "Benjamin": "Ben Benny",
        "Samuel": "Sam Sammy",
        "Alexander": "Alex Xander",
        "Patrick": "Pat Paddy",
        "Gregory": "Greg",
        "Jonathan": "Jon Johnny",
        "Zachary": "Zach Zack",
        "Frederick": "Fred Freddy",
        "Raymond": "Ray",
        "Lawrence": "Larry",
        "Gerald": "Jerry",
        "Douglas": "Doug",
        "Peter": "Pete",
        "Henry": "Hank Harry",
        "Walter": "Walt Wally",
        "Eugene": "Gene",
        "Vincent": "Vince Vinny",
        "Philip": "Phil",
        "Jacob": "Jake",
        "Nathan": "Nate",
        "Theodore": "Ted Teddy Theo",
        "Gabriel": "Gabe",
        "Elizabeth": "Liz Beth Betty Eliza Lizzie",
        "Margaret": "Maggie Peggy Meg",
        "Jennifer": "Jen Jenny",
        "Patricia": "Pat Patty Trish",
        "Barbara": "Barb Barbie",
        "Susan": "Sue Susie",
        "Jessica": "Jess Jessie",
        "Katherine": "Kate Kathy Katie",
        "Kathryn": "Kate Kathy",
        "Catherine": "Cathy Cat Kate",
        "Deborah": "Deb Debbie",
        "Debra": "Deb Debbie",
        "Rebecca": "Becky Becca",
        "Kimberly": "Kim",
        "Christine": "Chris Chrissy",
        "Christina": "Tina Chris",
        "Stephanie": "Steph",
        "Samantha": "Sam Sammy",
        "Victoria": "Vicky Tori",
        "Abigail": "Abby",
        "Cynthia": "Cindy",
        "Dorothy": "Dot Dottie",
        "Pamela": "Pam",
        "Sandra": "Sandy",
        "Amanda": "Mandy",
        "Melissa": "Mel Missy",
        "Kathleen": "Kathy Kate",
        "Judith": "Judy",
        "Theresa": "Terry Tess",
        "Teresa": "Terry Tess",
        "Frances": "Fran Frannie",
        "Virginia": "Ginny",
        "Cassandra": "Cassie",
        "Jacqueline": "Jackie",
        "Gabrielle": "Gabby Elle",
        "Alexis": "Lexi",
        "Isabella": "Bella Izzy",
        "Natalie": "Nat",
        "Danielle": "Dani",
        "Valentina": "Vale",
    }.items()
}

LAST_NAMES: Final = (
    *_words(
        """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
    Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
    Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
    Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans
    Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez
    Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks
    Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long
    Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes
    Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin
    Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford
    Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen
    Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder
    Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
    Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner
    Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley
    Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado
    Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval
    O'Brien O'Connor O'Neill McCarthy MacDonald Nakamura Tanaka Wang Zhang Singh Kowalski Novak
    Muller Rossi Dubois Jansen Larsen Ivanova Cohen Levy Haddad Okafor Mensah Smith-Jones
    Garcia-Lopez"""
    ),
    "Del Rosario",  # multi-word surnames
    "Van Dyke",
    "St. Clair",
)

STREET_NAMES: Final = _words(
    """Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Walnut Spring Ridge Church Willow
    Mill Sunset Jackson Lincoln Highland Jefferson Madison Franklin Chestnut Center Forest Meadow
    River Lakeview Hickory Birch Dogwood Magnolia Sycamore Cherry Adams Valley Union Market Broad
    Water High Front Prospect Pleasant Railroad Grove Bridge Academy Cottage Orchard School Green
    Liberty College Summit Woodland Hillcrest Fairview Riverside Laurel Poplar Aspen Spruce Juniper
    Holly Ivy Harbor Bay Ocean Shore Beacon Canyon Mesa Prairie Vista Kingston Cambridge Oxford
    Lexington Concord Sherwood Windsor Hamilton Monroe Grant Wilson Kennedy Roosevelt 1st 2nd 3rd 4th
    5th 6th 7th 8th 9th 10th 12th 15th 21st 42nd"""
)

#: (full form, USPS abbreviation); first entries are the most common.
STREET_SUFFIXES: Final = (
    ("Street", "St"),
    ("Avenue", "Ave"),
    ("Road", "Rd"),
    ("Drive", "Dr"),
    ("Lane", "Ln"),
    ("Boulevard", "Blvd"),
    ("Court", "Ct"),
    ("Place", "Pl"),
    ("Circle", "Cir"),
    ("Terrace", "Ter"),
    ("Parkway", "Pkwy"),
    ("Highway", "Hwy"),
    ("Trail", "Trl"),
    ("Square", "Sq"),
)
DIRECTIONS: Final = (
    ("North", "N"),
    ("South", "S"),
    ("East", "E"),
    ("West", "W"),
    ("Northeast", "NE"),
    ("Northwest", "NW"),
    ("Southeast", "SE"),
    ("Southwest", "SW"),
)
#: Ways to write the unit of an address line 2 ("Apt 4B"); the first is the usual one.
UNIT_PREFIXES: Final = ("Apt", "Apt.", "#", "Unit", "Suite")

#: city | county | state or province code | country | first ZIP (or FSA prefixes) | ZIPs | area codes | weight
_CITIES = """\
New York|New York County|NY|US|10001|90|212 646 917|840
Los Angeles|Los Angeles County|CA|US|90001|90|213 310 323 818|390
Chicago|Cook County|IL|US|60601|60|312 773 872|270
Houston|Harris County|TX|US|77001|90|713 281 832|230
Phoenix|Maricopa County|AZ|US|85001|50|602 480|160
Philadelphia|Philadelphia County|PA|US|19102|50|215 267|158
San Antonio|Bexar County|TX|US|78201|60|210|145
San Diego|San Diego County|CA|US|92101|60|619 858|138
Dallas|Dallas County|TX|US|75201|50|214 469 972|130
San Jose|Santa Clara County|CA|US|95110|30|408 669|100
Austin|Travis County|TX|US|78701|50|512 737|96
Jacksonville|Duval County|FL|US|32202|50|904|95
Fort Worth|Tarrant County|TX|US|76102|40|817 682|92
Columbus|Franklin County|OH|US|43201|40|614 380|90
Charlotte|Mecklenburg County|NC|US|28202|40|704 980|87
Indianapolis|Marion County|IN|US|46201|40|317 463|88
San Francisco|San Francisco County|CA|US|94102|30|415 628|87
Seattle|King County|WA|US|98101|40|206|74
Denver|Denver County|CO|US|80202|40|303 720|72
Washington|District of Columbia|DC|US|20001|40|202|69
Boston|Suffolk County|MA|US|02108|30|617 857|67
El Paso|El Paso County|TX|US|79901|30|915|68
Nashville|Davidson County|TN|US|37201|40|615 629|69
Detroit|Wayne County|MI|US|48201|40|313|63
Oklahoma City|Oklahoma County|OK|US|73102|40|405 572|68
Portland|Multnomah County|OR|US|97201|30|503 971|65
Las Vegas|Clark County|NV|US|89101|50|702 725|64
Memphis|Shelby County|TN|US|38103|40|901|63
Louisville|Jefferson County|KY|US|40202|30|502|62
Baltimore|Baltimore City|MD|US|21201|30|410 443|58
Milwaukee|Milwaukee County|WI|US|53202|30|414|57
Albuquerque|Bernalillo County|NM|US|87102|20|505|56
Tucson|Pima County|AZ|US|85701|40|520|54
Fresno|Fresno County|CA|US|93701|30|559|54
Sacramento|Sacramento County|CA|US|95814|30|916 279|52
Kansas City|Jackson County|MO|US|64101|40|816|51
Atlanta|Fulton County|GA|US|30303|40|404 470 678|50
Omaha|Douglas County|NE|US|68102|30|402 531|48
Raleigh|Wake County|NC|US|27601|20|919 984|47
Miami|Miami-Dade County|FL|US|33125|40|305 786|44
Minneapolis|Hennepin County|MN|US|55401|30|612|43
Tulsa|Tulsa County|OK|US|74103|30|918 539|41
Tampa|Hillsborough County|FL|US|33602|30|813 656|40
New Orleans|Orleans Parish|LA|US|70112|30|504|38
Cleveland|Cuyahoga County|OH|US|44101|30|216|37
Honolulu|Honolulu County|HI|US|96813|20|808|35
Cincinnati|Hamilton County|OH|US|45202|30|513|31
Orlando|Orange County|FL|US|32801|30|407 689|31
Pittsburgh|Allegheny County|PA|US|15201|30|412 878|30
St. Louis|St. Louis City|MO|US|63101|30|314|30
Anchorage|Anchorage Municipality|AK|US|99501|20|907|29
Buffalo|Erie County|NY|US|14201|20|716|28
Madison|Dane County|WI|US|53703|20|608|27
Richmond|Richmond City|VA|US|23219|20|804|23
Boise|Ada County|ID|US|83702|20|208 986|23
Des Moines|Polk County|IA|US|50309|20|515|21
Salt Lake City|Salt Lake County|UT|US|84101|20|801 385|20
Providence|Providence County|RI|US|02903|10|401|19
Springfield|Greene County|MO|US|65802|10|417|17
Springfield|Hampden County|MA|US|01103|10|413|15
Hartford|Hartford County|CT|US|06103|10|860 959|12
Springfield|Sangamon County|IL|US|62701|10|217|11
Portland|Cumberland County|ME|US|04101|5|207|7
Burlington|Chittenden County|VT|US|05401|5|802|4
Toronto||ON|CA|M5V M4C M6G M5A M4Y|0|416 647 437|280
Montreal||QC|CA|H2X H3A H2L H4A|0|514 438|170
Calgary||AB|CA|T2P T3A T2E|0|403 587|130
Ottawa||ON|CA|K1P K2P K1N|0|613 343|100
Vancouver||BC|CA|V6B V5K V6K|0|604 778|67
"""
CITIES: Final = tuple(tuple(line.split("|")) for line in _CITIES.splitlines())

#: State / province code -> full name (the codes used in CITIES).
REGION_NAMES: Final[dict[str, str]] = {
    "NY": "New York", "CA": "California", "IL": "Illinois", "TX": "Texas", "AZ": "Arizona",
    "PA": "Pennsylvania", "FL": "Florida", "OH": "Ohio", "NC": "North Carolina", "IN": "Indiana",
    "WA": "Washington", "CO": "Colorado", "DC": "District of Columbia", "MA": "Massachusetts",
    "TN": "Tennessee", "MI": "Michigan", "OK": "Oklahoma", "OR": "Oregon", "NV": "Nevada",
    "KY": "Kentucky", "MD": "Maryland", "WI": "Wisconsin", "NM": "New Mexico", "MO": "Missouri",
    "GA": "Georgia", "NE": "Nebraska", "MN": "Minnesota", "LA": "Louisiana", "HI": "Hawaii",
    "AK": "Alaska", "VA": "Virginia", "ID": "Idaho", "IA": "Iowa", "UT": "Utah",
    "RI": "Rhode Island", "CT": "Connecticut", "ME": "Maine", "VT": "Vermont",
    "ON": "Ontario", "QC": "Quebec", "AB": "Alberta", "BC": "British Columbia",
}  # fmt: skip
#: Country code -> other ways people write it.
COUNTRY_VARIANTS: Final[dict[str, tuple[str, ...]]] = {
    "US": ("USA", "United States", "U.S.A."),
    "CA": ("CAN", "Canada"),
}

EMAIL_DOMAINS: Final = _words(
    """gmail.com yahoo.com hotmail.com outlook.com aol.com icloud.com comcast.net msn.com live.com
    att.net verizon.net protonmail.com me.com sbcglobal.net ymail.com mail.com"""
)

#: Business names: "<prefix or surname> <trade> <legal form>".
BUSINESS_PREFIXES: Final = _words(
    """Summit|Pioneer|Evergreen|Riverside|Northstar|Silver Creek|Redwood|Harbor|Oakwood|Prairie|
    Lakeside|Granite|Cedar Point|Bright Path|Apex|Keystone|Liberty|Heritage|Blue Ridge|Golden Gate|
    Ironwood|Blackstone|Clearwater|Sunrise|Westfield|Eastgate|Maple Leaf|Coastal|Metro|Union""",
    "|",
)
BUSINESS_TRADES: Final = _words(
    """Plumbing|Consulting|Logistics|Bakery|Dental|Auto Repair|Landscaping|Software|Construction|
    Realty|Insurance|Marketing|Design|Catering|Electric|Roofing|Fitness|Veterinary|Legal Services|
    Accounting|Cleaning|Florist|Hardware|Printing|Photography""",
    "|",
)
#: Legal forms and their spellings; the first spelling is the usual one ("" = no legal form).
BUSINESS_FORMS: Final = (
    ("LLC", "L.L.C.", "Llc"),
    ("Inc", "Inc.", "Incorporated"),
    ("", "", ""),
    ("Co", "Co.", "Company"),
    ("Corp", "Corp.", "Corporation"),
    ("Ltd", "Ltd.", "Limited"),
)
#: Local parts of shared business mailboxes.
ROLE_MAILBOXES: Final = ("info", "sales", "contact", "office", "billing", "hello")

SEGMENTS: Final = ("Standard", "Silver", "Gold", "Platinum", "VIP")
SEGMENT_WEIGHTS: Final = (0.5, 0.25, 0.15, 0.07, 0.03)

#: ObjectType -> that source's usual phone format (an index into the generator's phone formats).
SOURCE_PHONE_STYLE: Final[dict[str, int]] = {"CRM": 2, "Ecommerce": 6, "Support": 1, "Marketing": 0}

#: Values people type when they do not want to give the real one (most common first).
PLACEHOLDER_EMAILS: Final = (
    "test@test.com",
    "noemail@example.com",
    "none@none.com",
    "no@email.com",
    "na@na.com",
)
PLACEHOLDER_PHONES: Final = ("555-555-5555", "0000000000", "999-999-9999", "123-456-7890")
PLACEHOLDER_TEXTS: Final = ("N/A", "unknown", "NONE", "test", "n/a")
#: Fields a text placeholder may land in.
PLACEHOLDER_TEXT_FIELDS: Final = ("FirstName", "LastName", "Address.Address1")

GENDER_STRINGS: Final[dict[str, tuple[str, ...]]] = {
    "MALE": ("male", "Male", "M"),
    "FEMALE": ("female", "Female", "F"),
}


def first_name_table() -> pl.DataFrame:
    """First names with gender, sampling weight within the gender, and nicknames.

    >>> first_name_table().drop("weight").row(0)
    ('James', 'MALE', ['Jim', 'Jimmy', 'Jamie'])
    """
    names = [*MALE_FIRST_NAMES, *FEMALE_FIRST_NAMES]
    return pl.DataFrame(
        {
            "name": names,
            "gender": ["MALE"] * len(MALE_FIRST_NAMES) + ["FEMALE"] * len(FEMALE_FIRST_NAMES),
            "weight": np.concatenate(
                [
                    rank_weights(len(MALE_FIRST_NAMES), 0.8, 3),
                    rank_weights(len(FEMALE_FIRST_NAMES), 0.8, 3),
                ]
            ),
            "nicks": [list(NICKNAMES.get(name, ())) for name in names],
        },
        schema_overrides={"nicks": pl.List(pl.String)},
    )


def city_table() -> pl.DataFrame:
    """The cities with typed columns: ZIP range (US) or FSA prefixes (Canada), area codes, weight.

    >>> city_table().filter(pl.col("city") == "Boston").select("region", "zip_first").row(0)
    ('MA', 2108)
    """
    rows = list(zip(*CITIES, strict=True))
    us = [c == "US" for c in rows[3]]
    return pl.DataFrame(
        {
            "city": rows[0],
            "county": [c or None for c in rows[1]],
            "region": rows[2],
            "country": rows[3],
            "zip_first": [int(z) if u else 0 for z, u in zip(rows[4], us, strict=True)],
            "zip_count": [int(z) for z in rows[5]],
            "fsa": [[] if u else z.split() for z, u in zip(rows[4], us, strict=True)],
            "areas": [a.split() for a in rows[6]],
            "weight": np.asarray([float(w) for w in rows[7]]) / sum(float(w) for w in rows[7]),
        },
        schema_overrides={"fsa": pl.List(pl.String)},
    )
