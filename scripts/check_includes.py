#!/usr/bin/python3
"""Fails when a library file includes a header from a room its room may not depend on.

    /usr/bin/python3 scripts/check_includes.py [repo root]     (ctest runs it as check_includes)

Only the library rooms are checked; examples/, tests/, bench/ and fuzz/ may include anything.
"""
import pathlib
import re
import sys

# Which rooms each room's files may include (besides its own), drawn in docs/design.md:
#   core <- autograd <- layers <- {optim, io} <- train <- check <- cli,   viz <- {train, cli}
# optim needs only core (an optimizer updates tensors in place, it records nothing); io reads and
# writes files: safetensors and JSON need only core, checkpoints and pretrained models name layers
# and optimizers. viz draws plots and writes them with io's atomic files. check (the gradcheck
# suite and the whole-model table) sits above train because it checks whole saved models.
MAY_INCLUDE = {
    "core": set(),
    "autograd": {"core"},
    "layers": {"core", "autograd"},
    "optim": {"core"},
    "io": {"core", "autograd", "layers", "optim"},
    "viz": {"core", "io"},
    "train": {"core", "autograd", "layers", "optim", "io", "viz"},
    "check": {"core", "autograd", "layers", "optim", "io", "train"},
    "cli": {"core", "autograd", "layers", "optim", "io", "viz", "train", "check"},
}

# Known exceptions, each with the change that removes it. None today.
ALLOWED = set()

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def violations(root):
    used = set()
    for room, allowed in MAY_INCLUDE.items():
        for path in sorted((root / room).rglob("*")):
            if path.suffix not in (".hpp", ".cpp", ".h"):
                continue
            source = path.relative_to(root).as_posix()
            for header in INCLUDE.findall(path.read_text(encoding="utf-8")):
                target = header.split("/", 1)[0] if "/" in header else room
                if target == room or target in allowed:
                    continue
                if (source, header) in ALLOWED:
                    used.add((source, header))
                    continue
                why = "unknown room" if target not in MAY_INCLUDE else f"{room} may not include it"
                yield f'{source}: #include "{header}": {why}'
    for source, header in sorted(ALLOWED - used):  # a fixed exception leaves the list too
        yield f'{source}: #include "{header}": listed in ALLOWED but gone; remove the entry'


def main():
    here = pathlib.Path(__file__).parent.parent
    root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else here
    found = list(violations(root.resolve()))
    for line in found:
        print(line)
    if found:
        print(f"check_includes: {len(found)} include(s) against the dependency arrows "
              "(table in scripts/check_includes.py)")
        return 1
    print("check_includes: every library include follows the dependency arrows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
