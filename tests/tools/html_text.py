#!/usr/bin/env python3
"""html_text: read an HTML file (a DOM chromium dumped) by CSS selector.

    html_text.py FILE SELECTOR          the text of the first match (exit 1 if none)
    html_text.py FILE SELECTOR all      the text of every match, one a line
    html_text.py FILE SELECTOR count    how many elements match

Text is the element's text with runs of white space made one space, as a
person reads it; entities are decoded (a name shown as "&lt;script&gt;"
reads back as "<script>"). Selectors are soupsieve's (python3-bs4), which
has :-soup-contains("text") to pick a row by what it says."""
import sys

from bs4 import BeautifulSoup


def text(el):
    return " ".join(el.get_text().split())


def main():
    path, selector = sys.argv[1], sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "first"
    with open(path, encoding="utf-8") as f:
        soup = BeautifulSoup(f.read(), "html.parser")
    found = soup.select(selector)
    if mode == "count":
        print(len(found))
        return 0
    if not found:
        print(f"html_text: nothing matches {selector!r} in {path}", file=sys.stderr)
        return 1
    for el in found if mode == "all" else found[:1]:
        print(text(el))
    return 0


if __name__ == "__main__":
    sys.exit(main())
