"""The word policy in Python.

Quarantines a message whose Subject contains the setting `word`, with the reason
`subject matched`; otherwise accepts it and adds `X-Word-Checked: yes`. The match is
case-sensitive; without the setting, or with an empty one, nothing matches.

`wit_world` is the package componentize-py generates for the policy world (see build.sh).
"""

import wit_world
from wit_world.imports import host, mail
from wit_world.imports.types import Action, Header, HeaderEdit, HeaderEdit_Add, Verdict


def verdict(action: Action, reason: str | None = None,
            header_edits: list[HeaderEdit] | None = None) -> Verdict:
    """A verdict with `action`, and nothing else unless given."""
    return Verdict(action=action, encrypt=None, reason=reason, reply=None,
                   header_edits=header_edits or [], envelope_edits=[], findings=[], tags=[],
                   final=False)


class WitWorld(wit_world.WitWorld):
    def evaluate(self, message: mail.Message) -> Verdict:
        # An empty word would be found in every Subject: treat it as no word at all.
        word = host.setting("word")
        subject = message.subject() or ""

        if word and word in subject:
            return verdict(Action.QUARANTINE, reason="subject matched")
        return verdict(Action.ACCEPT,
                       header_edits=[HeaderEdit_Add(Header("X-Word-Checked", "yes"))])
