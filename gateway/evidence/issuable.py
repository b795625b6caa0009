"""No evidence for a lot that is not finished: an open lot's mass and composition still change, and a closed
lot with no mass and no weighing has nothing to attest. Refused with a reason (API 409, CLI exit 1), in the
reader's language.
"""

from __future__ import annotations

from junkan.core.evidence import Evidence

MESSAGES: dict[str, dict[str, str]] = {
    "open": {"en": "lot {lot} is still open: evidence is issued only for a closed lot (close it first)",
             "ja": "ロット {lot} は処理中です。証明書はクローズ済みのロットにのみ発行されます"
                   "（先にクローズしてください）"},
    "empty": {"en": "lot {lot} has no mass (0 kg) and no weighing: there is nothing to issue evidence about",
              "ja": "ロット {lot} には質量（0 kg）も計量記録もありません。証明する対象がありません"},
}


class NotIssuable(Exception):
    """The lot may not get evidence; ``reason`` is a key of MESSAGES."""

    def __init__(self, reason: str, lot_id: str) -> None:
        super().__init__(MESSAGES[reason]["en"].format(lot=lot_id))
        self.reason, self.lot_id = reason, lot_id

    def message(self, lang: str) -> str:
        texts = MESSAGES[self.reason]
        return (texts.get(lang) or texts["en"]).format(lot=self.lot_id)


def check_issuable(ev: Evidence) -> None:
    lot = ev.lot
    if lot.status == "open":
        raise NotIssuable("open", lot.lot_id)
    if lot.net_mass_kg <= 0 and not lot.n_weighings:
        raise NotIssuable("empty", lot.lot_id)
