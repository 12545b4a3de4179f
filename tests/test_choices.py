"""Buttons on text-only networks: the console shows the word that presses each button, and
a typed word, number, label or button data presses it once."""

from __future__ import annotations

from bot.adapters.console import render
from bot.assistant.choices import ChoiceMemory
from bot.assistant.replies import Button, Reply, Sender

ANN = Sender("console", "ann")
OFFER = Reply(
    "Subscribe to Business for 20 ETT a month?",
    (Button("Subscribe", "plansub:1:c333ec0e"), Button("Cancel", "cancel:plans:subscribe")),
)
VOTE = Reply(
    "Vote #3: open an office in Lyon?",
    (Button("Yes", "pollvote:3:0", word="vote 3 1"), Button("No", "pollvote:3:1", word="2")),
)


def test_the_console_shows_the_word_or_number_of_each_button_not_its_data():
    assert render(OFFER).splitlines()[1:] == ["  [1] Subscribe", "  [2] Cancel"]
    assert render(VOTE).splitlines()[1:] == ["  [vote 3 1] Yes", "  [2] No"]


def test_a_label_a_number_a_word_or_the_data_presses_the_button_once():
    memory = ChoiceMemory()
    for typed, data in [
        ("Subscribe", "plansub:1:c333ec0e"),
        ("cancel.", "cancel:plans:subscribe"),
        ("2", "cancel:plans:subscribe"),
        ("plansub:1:c333ec0e", "plansub:1:c333ec0e"),
    ]:
        memory.offer(ANN, [OFFER])
        assert memory.take(ANN, typed) == data
        assert memory.take(ANN, typed) is None  # the offer is used up
    memory.offer(ANN, [OFFER])
    assert memory.take(ANN, "subscribe to Enterprise") is None  # other text is a message


def test_a_buttons_word_wins_over_another_buttons_label():
    memory = ChoiceMemory()
    clash = Reply("?", (Button("2", "first"), Button("Other", "second")))
    memory.offer(ANN, [clash])
    assert memory.take(ANN, "2") == "second"
    memory.offer(ANN, [VOTE])
    assert (memory.take(ANN, "vote 3 1"), memory.pending(ANN)) == ("pollvote:3:0", False)
