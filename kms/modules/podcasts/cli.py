"""python -m kms podcast list | check SLUG."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kms.db import session_scope


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_list(args: argparse.Namespace) -> int:
    from kms.modules.podcasts import service, urls

    with session_scope(write=False) as session:
        _print("\t".join(["Kürzel", "Status", "Episoden", "Feed"]))
        for channel in service.list_channels(session):
            state = "veröffentlicht" if channel.published_at else "nicht veröffentlicht"
            episodes = len(service.list_episodes(session, channel.id))
            _print(
                "\t".join(
                    [channel.slug, state, str(episodes), urls.feed_url(session, channel.slug)]
                )
            )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from kms.modules.podcasts.check import check_channel

    with session_scope(write=False) as session:
        problems = check_channel(session, args.slug)
    if not problems:
        _print(f"Feed „{args.slug}“: keine Probleme gefunden.")
        return 0
    for problem in problems:
        _print(f"- {problem}")
    _print(f"{len(problems)} Problem(e) gefunden.")
    return 1


def register(sub: Any, add: Any, groups: Any) -> None:
    """The `podcast` command group."""
    podcast = groups(sub, "podcast", "Podcasts (Zusatzmodul)", "p_cmd")
    add(podcast, "list", cmd_list, "Kanäle mit Status und Feed-Adresse auflisten")
    p = add(podcast, "check", cmd_check, "Feed eines Kanals prüfen (Exit-Code 1 bei Problemen)")
    p.add_argument("slug", metavar="KÜRZEL", help="Kürzel des Kanals")
