"""Container names: Docker's rule for user-given names and Docker-style random ones."""
import random
import re

from .errors import InvalidArgument

VALID = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
ADJECTIVES = ("admiring", "brave", "clever", "dazzling", "eager", "focused", "gallant", "happy",
              "jolly", "keen", "loving", "modest", "nifty", "quirky", "serene", "tender", "vibrant",
              "wizardly", "youthful", "zealous", "bold", "calm", "crisp", "elated", "fervent")
SCIENTISTS = ("curie", "darwin", "euler", "feynman", "galileo", "hopper", "hypatia", "kepler",
              "lovelace", "meitner", "newton", "noether", "pascal", "ramanujan", "shannon", "tesla",
              "turing", "wu", "yonath", "bohr", "dirac", "faraday", "gauss", "lamarr", "mirzakhani")


def check(name: str) -> str:
    """The name without a leading slash; InvalidArgument if Docker would refuse it."""
    if not VALID.match(name):
        raise InvalidArgument(f"invalid container name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] "
                              "are allowed")
    return name.lstrip("/")


def random_name(taken) -> str:
    """adjective_scientist, with a number appended when that name is taken."""
    name = f"{random.choice(ADJECTIVES)}_{random.choice(SCIENTISTS)}"
    while name in taken:
        name = f"{random.choice(ADJECTIVES)}_{random.choice(SCIENTISTS)}{random.randint(0, 9)}"
    return name
