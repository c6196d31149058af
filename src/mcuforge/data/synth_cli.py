"""`mcuforge synth-keywords WORDS -o DIR`: a keyword-spotting set spoken by espeak-ng
(see mcuforge/data/synth_keywords.py), ready for audio:DIR."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mcuforge.errors import InputError


def cmd_synth_keywords(args: argparse.Namespace) -> int:
    from mcuforge.data.synth_keywords import Settings, parse_voices, parse_words, synthesise

    if args.per_word < 1:
        raise InputError(f"--per-word must be at least 1 clip, not {args.per_word}")
    if args.seed < 0:
        raise InputError(f"--seed must be a non-negative integer, not {args.seed}")
    settings = Settings(parse_words(args.words), parse_voices(args.voices), args.per_word, args.seed)
    info = synthesise(Path(args.output), settings, force=args.force)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    how = f"resumed: {info['skipped']} already there, " if info["resumed"] else ""
    v = info["voices"]
    print(
        f"wrote {info['output']}/: {len(info['words'])} words, {info['clips']} clips ({how}{info['written']} files "
        f"written); voices train {len(v['train'])}, val {', '.join(v['val'])}, test {', '.join(v['test'])}"
    )
    print(f"load it with audio:{info['output']} (splits.json keeps the test voices unseen)")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("synth-keywords", help="synthesise a keyword-spotting set with espeak-ng (split by voice)")
    p.add_argument("words", metavar="WORDS", help="comma-separated keywords, e.g. yes,no,up,down")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the set (reruns resume it)")
    p.add_argument(
        "--voices", metavar="V1,V2,...", help="espeak-ng voices, at least 3 (default: 12 English voices and variants)"
    )
    p.add_argument("--per-word", type=int, default=10, metavar="N", help="clips of each word per voice (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of every variation and of the voice split (default 0)")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder, or replace another set")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_synth_keywords)
