#!/usr/bin/python3
"""Parses deploy recipes for tst_recipes and prints what it found as JSON on stdout.

  recipe.py yaml FILE   every YAML document in FILE (- for stdin), as a JSON list
  recipe.py words       stdin split into words as a POSIX shell does (quotes, escapes and
                        backslash-newline continuations), as a JSON list

YAML is read with PyYAML's BaseLoader: every scalar stays a string, so `on:` of a GitHub
workflow stays "on" and nothing is reinterpreted (YAML 1.1 booleans, octal numbers).
"""
import json
import shlex
import sys

import yaml


def main(argv):
    if len(argv) == 3 and argv[1] == "yaml":
        if argv[2] == "-":
            documents = list(yaml.load_all(sys.stdin, Loader=yaml.BaseLoader))
        else:
            with open(argv[2], encoding="utf-8") as stream:
                documents = list(yaml.load_all(stream, Loader=yaml.BaseLoader))
        json.dump(documents, sys.stdout)
        return 0
    if len(argv) == 2 and argv[1] == "words":
        text = sys.stdin.read().replace("\\\n", "")
        json.dump(shlex.split(text, comments=True, posix=True), sys.stdout)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, yaml.YAMLError, ValueError) as error:
        sys.stderr.write(f"recipe.py: {error}\n")
        sys.exit(1)
