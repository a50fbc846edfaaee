"""core/words: sentences that carry their id, template and fields, and the words a JSON
document keeps beside it so that a later reader can say it in another language."""

from __future__ import annotations

import json
import pickle
from decimal import Decimal

from epaycli.core.words import Bilingual, Joined, Text, Texts, fill, with_words, words_of
from epaycli.messages import Messages


def test_a_text_is_its_english_and_keeps_what_made_it():
    text = Text("x.paid", "paid {money} for {order!r}", money=Decimal("1.00"), order="A1")
    assert text == "paid 1.00 for 'A1'" and text.id == "x.paid"
    assert text.fields == {"money": Decimal("1.00"), "order": "A1"}
    copied = pickle.loads(pickle.dumps(text))
    assert (copied, copied.id, copied.template) == (text, text.id, text.template)


def test_plural_templates_are_chosen_by_the_count():
    plural = {"one": "{count} order", "other": "{count} orders"}
    assert [fill(plural, {"count": n}) for n in (0, 1, 2)] == ["0 orders", "1 order", "2 orders"]
    assert Texts("x", {"orders": plural})("orders", count=1) == "1 order"


def test_words_kept_beside_json_say_the_document_again_in_chinese():
    reason = Text("t.reason", "the sign {sign!r} is wrong by {ms:.1f} ms", sign="ab", ms=2.25)
    listed = Joined("t.list", "; ", [reason, "plain"])
    meaning = Bilingual("Signature mismatch", "签名错误")
    document = {"reason": reason, "problems": [{"message": listed, "code": "x"}],
                "meaning": meaning, "count": 3, "other": "plain"}
    words = json.loads(json.dumps(words_of(document), ensure_ascii=False))
    assert set(words) == {str(reason), str(listed), str(meaning)}
    stored = json.loads(json.dumps(document, ensure_ascii=False))
    back = with_words(stored, words)
    assert back == stored  # the same English …
    zh = Messages("zh", {"t.reason": "签名 {sign!r} 错了 {ms:.1f} 毫秒", "t.list": "；"})
    assert zh.say_all(back) == {"reason": "签名 'ab' 错了 2.2 毫秒",  # … said again
                                "problems": [{"message": "签名 'ab' 错了 2.2 毫秒；plain",
                                              "code": "x"}],
                                "meaning": "签名错误", "count": 3, "other": "plain"}


def test_words_that_no_longer_make_their_english_are_not_used():
    text = Text("t.paid", "paid {money}", money=Decimal("1.00"))
    words = json.loads(json.dumps(words_of({"a": text})))
    assert words["paid 1.00"]["fields"] == {"money": {"text": "1.00"}}  # a Decimal as its text
    assert isinstance(with_words("paid 1.00", words), Text)
    changed = {"paid 1.00": {"id": "t.paid", "template": "paid {money} now", "fields":
                             {"money": {"text": "1.00"}}}}
    assert type(with_words("paid 1.00", changed)) is str  # a newer template: plain English
    broken = {"paid 1.00": {"id": "t.paid", "template": "paid {nothing}", "fields": {}}}
    assert type(with_words("paid 1.00", broken)) is str
    assert with_words({"x": ["paid 1.00", 5]}, {}) == {"x": ["paid 1.00", 5]}
