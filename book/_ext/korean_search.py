"""Search in the Korean edition: a word is found whatever particle follows it.

Korean writes a particle (조사) onto the word before it: 어텐션은, 어텐션을, 어텐션의 are all "attention".
Sphinx has no search language for Korean and falls back to English, which indexes each of those as a word
of its own, so a search for 어텐션 missed every page that only says 어텐션은. This search language indexes
each Hangul word both as written and without the particle at its end; the search box's query is looked up
as typed, so 어텐션 finds all three forms and 어텐션은 still finds itself. Everything else is as in the
English search (English words and code names in the Korean text are stemmed as on the English pages).
"""

from sphinx.application import Sphinx
from sphinx.search.en import SearchEnglish

# Longest first: 에서 is taken off whole, never as a bare 서 left on the stem.
PARTICLES = sorted(
    """은 는 이 가 을 를 의 에 로 와 과 도 만 으로 에서 에게 부터 까지 보다 처럼 이나 이라는 라는 이란 란
    에서는 에서도 에서의 으로는 으로도 으로의 에게는 까지는 부터는 보다는 이라고 라고 이며 이고""".split(),
    key=len,
    reverse=True,
)


def is_hangul(character: str) -> bool:
    return "\uac00" <= character <= "\ud7a3"  # the 11,172 precomposed syllables


def without_particle(word: str) -> str:
    """The word with one particle taken off its end; the word itself if it has none, or is all particle."""
    if not word or not is_hangul(word[-1]):
        return word
    for particle in PARTICLES:
        if word.endswith(particle) and len(word) > len(particle):  # GPT의 too: the index gets GPT
            return word[: -len(particle)]
    return word


class SearchKorean(SearchEnglish):
    lang = "ko"
    language_name = "Korean"

    def split(self, input: str) -> list[str]:
        words = super().split(input)
        return words + [stem for word in words if (stem := without_particle(word)) != word]


def setup(app: Sphinx) -> dict:
    app.add_search_language(SearchKorean)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
