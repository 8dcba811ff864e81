"""The language check of the browser tests: a page served in Chinese shows no English UI text.

What a person reads or hears is checked: visible text plus the accessible names and hints
(``aria-label``, ``placeholder``, ``alt``, ``title``).  Left out are parts marked as another
language (``lang="en"``: the language switch) or as not for translation (``translate="no"``:
usernames, browser names, addresses), and the few Latin abbreviations Chinese UI text uses.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page

#: Latin words that belong in Chinese UI text: abbreviations (APP, PIN, ICP备案, JSON文件), an example code.
ABBREVIATIONS = frozenset({"APP", "PIN", "ICP", "UKey", "USA", "JSON"})
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
_URL = re.compile(r"\b(?:https?://|www\.)\S+")

_READ_TEXTS = """() => {
  const skip = '[lang]:not([lang^="zh"]), [translate="no"], script, style, noscript';
  const shown = el => el.checkVisibility ? el.checkVisibility() : el.offsetParent !== null;
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent && !parent.closest(skip) && shown(parent) && node.nodeValue.trim()) texts.push(node.nodeValue.trim());
  }
  for (const el of document.body.querySelectorAll('[aria-label], [placeholder], [alt], [title]')) {
    if (el.closest(skip) || !shown(el)) continue;
    for (const name of ['aria-label', 'placeholder', 'alt', 'title']) {
      if (el.getAttribute(name)) texts.push(el.getAttribute(name));
    }
  }
  texts.push(document.title);
  return texts;
}"""


def english_words(page: Page) -> list[str]:
    """The Latin words a person would meet on the page, beyond the allowed abbreviations."""
    words = []
    for text in page.evaluate(_READ_TEXTS):
        words += [w for w in _WORD.findall(_URL.sub(" ", text)) if w not in ABBREVIATIONS]
    return words


def assert_chinese_only(page: Page) -> None:
    """The page is in Chinese throughout: no English UI text left untranslated."""
    assert page.evaluate("document.documentElement.lang") == "zh-CN", page.url
    words = english_words(page)
    assert not words, f"English on the Chinese page {page.url}: {sorted(set(words))}"
