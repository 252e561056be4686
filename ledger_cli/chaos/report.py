"""The report: one table of figures (the ones that must be zero are marked), or the same as JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger_cli.chaos.checks import Verdict
from ledger_cli.chaos.load import Tally


@dataclass
class Report:
    seed: int
    argv: str
    tally: Tally
    verdict: Verdict
    faults: Mapping[str, int]
    fault_log: list[str]
    seconds: float
    completed: bool  # False when --duration-cap stopped the load early
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.verdict.violations

    def as_dict(self) -> dict[str, Any]:
        t = self.tally
        return {
            "ok": self.ok,
            "seed": self.seed,
            "replay": self.argv,
            "seconds": round(self.seconds, 1),
            "completed": self.completed,
            "sent": {
                "amqp": t.sent["amqp"],
                "http": t.sent["http"],
                "distinct_commands": len(t.attempted),
                "duplicates": t.kinds["duplicate"] + t.kinds["concurrent_duplicate"],
                "duplicates_concurrent": t.kinds["concurrent_duplicate"],
                "malformed_amqp": t.kinds["malformed_amqp"],
                "malformed_http": t.kinds["malformed_http"],
                "amqp_republished": t.republished,
                "http_retries": t.http_retries,
                "http_statuses": dict(sorted(t.http_statuses.items())),
            },
            "faults": dict(self.faults),
            "fault_log": self.fault_log,
            "figures": self.verdict.figures,
            "violations": self.verdict.violations,
            **self.extra,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=False)

    def to_text(self) -> str:
        d = self.as_dict()
        s, f = d["sent"], d["figures"]
        faults = ", ".join(f"{k} {n}" for k, n in sorted(self.faults.items())) or "none"
        rows: list[tuple[str, object, object]] = [
            ("commands sent (AMQP / HTTP)", f"{s['amqp']} / {s['http']}", None),
            ("distinct commands", s["distinct_commands"], None),
            ("duplicates sent (of which concurrent)", f"{s['duplicates']} ({s['duplicates_concurrent']})", None),
            ("malformed sent (AMQP / HTTP)", f"{s['malformed_amqp']} / {s['malformed_http']}", None),
            ("AMQP re-publishes / HTTP retries", f"{s['amqp_republished']} / {s['http_retries']}", None),
            ("HTTP responses seen (incl. retries)", _statuses(s["http_statuses"]), None),
            ("faults injected", f"{sum(self.faults.values())}: {faults}", None),
            ("applied", f["applied"], None),
            ("refused", f"{f['refused']} {f['refusals']}", None),
            ("lost (acknowledged, no record)", f["lost"], 0),
            ("duplicated effects", f["duplicated_effects"], 0),
            ("wrong effects / wrong outcomes", f"{f['wrong_effects']} / {f['wrong_outcomes']}", "0 / 0"),
            ("unexpected commands recorded", f["unexpected_commands"], 0),
            ("HTTP answers wrong / unanswered", f"{f['http_answers_disagree']} / {f['http_unanswered']}", "0 / 0"),
            ("HTTP 5xx other than 503", f["http_server_errors"], 0),
            ("balance mismatches", f["balance_mismatches"], 0),
            ("events expected / received", f"{f['events_expected']} / {f['events_received']}", None),
            ("event duplicates (deliveries - unique)", f["event_duplicates"], None),
            ("events lost / unexpected", f"{f['events_lost']} / {f['events_unexpected']}", "0 / 0"),
            ("event ids redelivered with other content", f["event_id_conflicts"], 0),
            ("order violations", f["order_violations"], 0),
            ("audit findings", f["audit_findings"], 0),
            (
                "dead-lettered (msgs / distinct) vs malformed",
                f"{f['dead_lettered']} / {f['dead_lettered_distinct']} vs {f['malformed_injected']}",
                None,
            ),
            ("valid commands dead-lettered", f["dead_letters_not_malformed"], 0),
            ("unexpected process exits", f["unexpected_exits"], 0),
            ("duration", f"{d['seconds']} s{'' if self.completed else ' (capped)'}", None),
            ("seed", self.seed, None),
        ]
        width = max(len(r[0]) for r in rows)
        lines = [f"ledger chaos: {'OK' if self.ok else 'VIOLATIONS'}"]
        for label, value, must in rows:
            mark = "" if must is None else ("  ok" if str(value) == str(must) else "  VIOLATION")
            lines.append(f"  {label:<{width}}  {value}{mark}")
        lines += [f"  fault {line}" for line in self.fault_log]
        lines += [f"  {line}" for line in self.extra.get("recovery_summary", [])]
        lines += [f"  ! {line}" for line in self.verdict.violations]
        lines.append(f"replay: {self.argv}")
        return "\n".join(lines)


def _statuses(statuses: dict[str, int]) -> str:
    return " ".join(f"{k}:{n}" for k, n in statuses.items()) or "none"
