"""``makemessages`` without msgmerge's fuzzy matching.

msgmerge guesses a translation for a new string from a similar old one and marks it fuzzy;
compilemessages skips fuzzy entries, so the guess never shows, but it hides that the string
needs a translator (it had filled "Operations" with "behandlere"). New strings stay empty.
"""

from __future__ import annotations

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
