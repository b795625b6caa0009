"""Net frames (a tare keyed on the indicator) into the weighing detector, never read as gross.

An indicator in net mode shows gross - tare. Read as gross, a container tared on the indicator reads ~0
("empty"), fills to its net, and reads -tare once removed: the detector took the full value as the tare
and produced a 0 kg weighing. Here each net frame becomes gross = net + tare when the tare is known:

* the frame gives it (Toledo tare digits, MT-SICS tare replies): ``tare_kg``;
* the agent saw the key pressed: two consecutive stable frames less than ``KEY_WINDOW_S`` apart with the
  load unchanged but the display changed — gross g then net n (tare = g - n), or a net frame jumping to
  ~0 from a stable net p (re-tared: tare += p). A load change shows motion between frames, a key does not.

When the tare is not known (the agent started or came back with the indicator already in net mode) the
frames are weighed in the net domain by a detector of their own: a container counts ``ok`` only when its
removal reveals the tare (the display drops below the tared reference by more than the zero band: that
drop is the container's tare, and net = the displayed net at full); otherwise the weighing is ``degraded``
with ``tare_unknown`` — never a 0 kg or gross-as-net ``ok``. Once revealed, the tare is known again.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge_agent.lots.weighing import WeighingDetector, WeighingEvent

KEY_WINDOW_S = 2.0


@dataclasses.dataclass
class NetMode:
    """Per scale: the indicator's tare as far as the frames tell, and the net-domain detector."""

    keyed_tare: float | None = None
    prev: tuple[datetime, float, float | None, bool, bool] | None = None  # ts, shown, gross-eq, stable, net
    net_domain: Any = None  # a WeighingDetector over net values while the tare is unknown

    def frame(self, det: WeighingDetector, ts: datetime, value: float, stable_ok: bool, mode: str | None,
              tare_kg: float | None) -> tuple[float | None, WeighingEvent | None]:
        """(gross-equivalent value, None), or (None, event of the net-domain detector) when the tare is unknown."""
        net = mode == "net"
        event = None
        if not net:
            event = self._leave_net_domain(det, ts)
            self.keyed_tare = None
            gross: float | None = value
        else:
            gross = self._gross(det, ts, value, stable_ok, tare_kg)
        self.prev = (ts, value, gross, stable_ok, net)
        if gross is not None:
            if self.net_domain is not None:  # the tare became known (given, or keyed in view)
                event = self._leave_net_domain(det, ts)
            return gross, event
        return None, self._net_domain(det, ts, value, stable_ok)

    def _gross(self, det: WeighingDetector, ts: datetime, value: float, stable_ok: bool,
               tare_kg: float | None) -> float | None:
        if tare_kg is not None:
            self.keyed_tare = tare_kg
            return value + tare_kg
        prev = self.prev
        if (stable_ok and prev is not None and prev[3] and (ts - prev[0]).total_seconds() <= KEY_WINDOW_S
                and (not prev[4] or (abs(value) <= det.division_kg + 1e-9
                                     and abs(prev[1] - value) > 2 * det.division_kg))):
            if prev[2] is not None:  # the tare key, seen: the load did not move, the display did
                self.keyed_tare = prev[2] - value
            else:  # re-tared while the tare is unknown: a fresh net reference
                self.net_domain = None
        return value + self.keyed_tare if self.keyed_tare is not None else None

    def _net_domain(self, det: WeighingDetector, ts: datetime, value: float, stable_ok: bool) -> WeighingEvent | None:
        if self.net_domain is None:
            det.gap()  # the gross machine does not see these frames
            self.net_domain = type(det)(det.device, det.division_kg, det.stable_frames, det.zero_band_kg)
        ev = self.net_domain.feed(ts, value, stable_ok, "ok" if stable_ok else "unstable")
        if ev is None:
            return None
        revealed = ev.zero_kg - ev.zero_after_kg  # the display fell by the container's tare when it left
        net = ev.gross_kg - ev.zero_kg
        if ev.reason not in ("tare_unknown", "gross_unknown") and revealed > det.zero_band_kg:
            self.keyed_tare, self.net_domain = revealed, None  # known from here on
            if net >= 2 * det.division_kg:
                return dataclasses.replace(ev, tare_kg=round(revealed, 6), gross_kg=round(net + revealed, 6),
                                           net_kg=round(net, 6), zero_kg=0.0, zero_after_kg=0.0, drift_kg=0.0,
                                           status="ok", reason=None, net_upper_kg=None, mode="net")
        if ev.status == "ok" and revealed <= det.zero_band_kg:
            return dataclasses.replace(ev, mode="net")  # tare keyed on the empty platform: net acts as gross
        return dataclasses.replace(ev, status="degraded", reason=ev.reason or "tare_unknown", net_kg=0.0,
                                   net_upper_kg=round(max(net, 0.0), 6), mode="net")

    def _leave_net_domain(self, det: WeighingDetector, ts: datetime) -> WeighingEvent | None:
        """Back to known-tare frames: a container the net-domain detector held is not weighed (degraded)."""
        nd, self.net_domain = self.net_domain, None
        if nd is None or not nd.holding or nd._started is None:
            return None
        from edge_agent.lots.weighing import WeighingEvent

        det.gap()
        upper = (nd._gross or 0.0) - nd._zero
        return WeighingEvent(det.device, 0.0, round(nd._gross or 0.0, 6), 0.0, nd._started, ts,
                             status="degraded", reason="tare_unknown", net_upper_kg=round(max(upper, 0.0), 6),
                             mode="net")
