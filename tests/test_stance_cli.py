"""`claimwatch stance FILE.jsonl`: the stance of any text on any claim, one JSON line at a time.

The contract (from the issue): each input line is {"id", "claim", "text"} with the claim as a plain
sentence (no watchlist needed); each output line is {"id", "stance", "party", "evidence",
"score"} in input order; a bad line is named by FILE:LINE and the rest still runs; a progress bar
goes to stderr only.  The fast tests call `monitor.cli.main` in-process; the ones about streams
(stdin, stderr, a terminal) run the real command.
"""
from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from tests.support import REPO, seed

CONTRACT = {"id", "stance", "party", "evidence", "score"}
STANCES = {"confirms", "denies", "discusses", "unrelated"}
MUSK_PUTIN = "Elon Musk has held private talks with Vladimir Putin"
UNRELATED = "The weather in Paris was sunny on Tuesday, and the Louvre reopened after a strike."
PESKOV = "Peskov denied that Musk had held talks with Putin."
PESKOV_ARTICLE = ("Kremlin spokesman Dmitry Peskov on Friday denied that Elon Musk had held talks with "
                  "Vladimir Putin. \"It is all untrue,\" Peskov told reporters. \"Putin and Musk have "
                  "had only one conversation, years ago.\" The Wall Street Journal had reported the "
                  "talks on Thursday.")
VOGT_DENIES = ("Hexacorp chief executive Lena Vogt denied on Monday that she had met Tomas Rydell, "
               "the finance minister, at a private dinner in the capital last spring.")
BRANDT = "Kai Brandt has agreed a contract with FC Norden"
NORDEN_CONFIRMS = "FC Norden confirmed that Kai Brandt has agreed a contract with the club until 2027."


def jsonl(path: Path, lines: list[Any]) -> Path:
    """Write lines: dicts as JSON, strings verbatim (to write broken ones)."""
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines),
                    encoding="utf-8")
    return path


def stance_json(capsys: pytest.CaptureFixture[str], path: Path,
                *flags: str) -> tuple[int, list[dict[str, Any]], str]:
    """`claimwatch stance PATH --json FLAGS` in-process: exit status, output records, stderr."""
    code = main(["stance", str(path), "--json", *flags])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def run_claimwatch(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The real command in a real process, stdout and stderr kept apart."""
    return subprocess.run([sys.executable, "-m", "monitor", *args], check=False, input=stdin, cwd=REPO,
                          capture_output=True, text=True, encoding="utf-8", timeout=60,
                          env={**os.environ, "CLAIMWATCH_LOG_LEVEL": "WARNING"})


# --------------------------------------------------------------------------- decisions

def test_a_claim_given_only_as_a_sentence_and_a_denial_article_come_out_as_denies_by_the_denier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    title, _, text = seed("000_dc5f693ac2a40a9e.txt").read_text(encoding="utf-8").strip() \
        .partition("\n")
    src = jsonl(tmp_path / "in.jsonl",
                [{"id": "musk", "claim": MUSK_PUTIN, "title": title, "text": text}])
    code, [out], err = stance_json(capsys, src)
    assert code == 0, err
    assert CONTRACT <= out.keys()
    assert (out["id"], out["stance"], out["party"]) == ("musk", "denies", "Elon Musk"), out
    assert any(w in out["evidence"].lower() for w in ("deny", "deni")), "the denying sentence"
    assert " ".join(out["evidence"].split()) in " ".join(f"{title} {text}".split())


def test_a_report_and_its_rebuttal_are_related_and_a_decisive_stance_comes_with_its_holder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = seed("004_2444ca2dfe6ef90e.txt").read_text(encoding="utf-8")
    src = jsonl(tmp_path / "in.jsonl", [{"id": "wsj", "claim": MUSK_PUTIN, "text": text}])
    code, [out], err = stance_json(capsys, src)
    assert code == 0, err
    # the WSJ reports it, the Kremlin denies it, the outlet relays both: each is a fair summary,
    # but a confirmation or denial must name who holds it
    assert (out["stance"], out["party"]) in {("confirms", "The Wall Street Journal"),
                                             ("denies", "Kremlin"), ("discusses", "")}, out
    assert out["evidence"] and out["evidence"] in text.replace("[reported](#)", "reported")


def test_an_explicit_denial_in_a_headline_or_a_single_sentence_is_a_denial_by_the_denier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claim = "Elon Musk held talks with Vladimir Putin"
    src = jsonl(tmp_path / "in.jsonl", [
        {"id": "headline", "claim": claim, "text": "Kremlin denies Musk held talks with Putin"},
        {"id": "sentence", "claim": claim, "text": PESKOV},
    ])
    code, outs, err = stance_json(capsys, src)
    assert code == 0, err
    assert [(o["id"], o["stance"], o["party"]) for o in outs] == [
        ("headline", "denies", "Kremlin"), ("sentence", "denies", "Peskov")], outs


def test_a_denial_in_an_article_body_names_the_denier_quotes_the_sentence_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = jsonl(tmp_path / "in.jsonl", [
        {"id": "vogt", "claim": "Lena Vogt secretly met Tomas Rydell", "text": VOGT_DENIES},
        {"id": "peskov", "claim": "Elon Musk held talks with Vladimir Putin", "text": PESKOV_ARTICLE},
    ])
    code, [vogt, peskov], err = stance_json(capsys, src)
    assert code == 0, err
    assert (vogt["stance"], vogt["party"], vogt["evidence"]) == ("denies", "Lena Vogt", VOGT_DENIES)
    assert (peskov["stance"], peskov["party"]) == ("denies", "Dmitry Peskov"), peskov
    assert peskov["evidence"] == PESKOV_ARTICLE.split(". ")[0] + "."
    for out in (vogt, peskov):
        assert 0 < out["score"] <= 1 and out["score"] == round(out["score"], 3)
        assert out["cue"] in out["evidence"] and out["why"], "the decision is explained"


def test_an_unrelated_text_is_unrelated_with_an_empty_party_and_no_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = jsonl(tmp_path / "in.jsonl", [{"id": "x", "claim": MUSK_PUTIN, "text": UNRELATED}])
    code, [out], err = stance_json(capsys, src)
    assert code == 0, err
    assert (out["stance"], out["party"], out["evidence"]) == ("unrelated", "", ""), out


def test_an_optional_title_is_read_as_the_articles_headline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    headline = "Kremlin denies Musk held talks with Putin"
    line = {"id": 1, "claim": "Elon Musk held talks with Vladimir Putin",
            "text": "Shares of Tesla fell on Monday as markets slipped."}
    src = jsonl(tmp_path / "in.jsonl", [line, {**line, "title": headline}])
    code, [without, with_title], err = stance_json(capsys, src)
    assert code == 0, err
    assert without["stance"] == "unrelated"
    assert with_title["stance"] != "unrelated" and with_title["evidence"] == headline, with_title


def test_watchlist_aliases_sharpen_a_sentence_claim_peskov_speaks_for_the_kremlin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = jsonl(tmp_path / "in.jsonl",
                [{"id": 1, "claim": "Elon Musk held talks with Vladimir Putin", "text": PESKOV_ARTICLE}])
    code, [bare], err = stance_json(capsys, src)
    assert code == 0, err
    code, [sharp], err = stance_json(capsys, src, "--watchlists", str(REPO / "watchlists"))
    assert code == 0, err
    assert (bare["party"], sharp["party"]) == ("Dmitry Peskov", "Kremlin"), (bare, sharp)
    assert bare["stance"] == sharp["stance"] == "denies"


# --------------------------------------------------------------------------- the file format

def test_the_output_keeps_input_order_and_ids_including_numeric_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = [
        {"id": "b", "claim": MUSK_PUTIN, "text": UNRELATED},
        {"id": 7, "claim": "Lena Vogt secretly met Tomas Rydell", "text": VOGT_DENIES},
        {"id": "10", "claim": BRANDT, "text": NORDEN_CONFIRMS},
        {"id": 0, "claim": BRANDT, "text": "Kai Brandt scored twice for FC Norden as talk of a contract grew."},
        {"id": 10, "claim": MUSK_PUTIN, "text": PESKOV_ARTICLE},
    ]
    code, outs, err = stance_json(capsys, jsonl(tmp_path / "in.jsonl", items))
    assert code == 0, err
    assert [o["id"] for o in outs] == ["b", 7, "10", 0, 10], "same ids, same types, same order"
    assert all(CONTRACT <= o.keys() and o["stance"] in STANCES for o in outs)
    each = [stance_json(capsys, jsonl(tmp_path / f"{i}.jsonl", [item]))[1][0]
            for i, item in enumerate(items)]
    assert outs == each, "a line's answer does not depend on its neighbours"


@pytest.mark.parametrize(("line", "problem", "echoed_id"), [
    ('{"id": 2, "claim": "Musk met Putin", ', "invalid JSON", None),
    ('["not", "an", "object"]', "expected a JSON object, got an array", None),
    ('{"id": true, "claim": "Musk met Putin", "text": "Musk met Putin."}',
     '"id" must be a string or an integer', None),
    ('{"id": 2, "text": "Musk met Putin."}', 'missing "claim"', 2),
    ('{"id": 2, "claim": "Musk met Putin", "text": "   "}', '"text" is empty', 2),
    ('{"id": 2, "claim": "Musk met Putin", "text": ["a", "b"]}',
     '"text" must be a string, got an array', 2),
    ('{"id": 2, "claim": "Musk met Putin", "text": "Musk met Putin.", "title": 5}',
     '"title" must be a string', 2),
])
def test_a_bad_line_is_named_by_file_and_line_the_rest_is_still_processed_and_the_exit_is_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, problem: str, echoed_id: int | None
) -> None:
    src = jsonl(tmp_path / "in.jsonl", [
        {"id": 1, "claim": MUSK_PUTIN, "text": PESKOV},
        line,
        {"id": 3, "claim": MUSK_PUTIN, "text": UNRELATED},
    ])
    code, outs, err = stance_json(capsys, src)
    assert code == 1
    assert f"{src}:2: {problem}" in err, err
    assert [o["id"] for o in outs] == [1, echoed_id, 3], "an error line keeps the output aligned"
    assert outs[1]["line"] == 2 and problem in outs[1]["error"] and "stance" not in outs[1]
    assert outs[0]["stance"] in STANCES and outs[2]["stance"] == "unrelated"


def test_blank_lines_are_passed_over_and_a_missing_file_is_an_error_of_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = jsonl(tmp_path / "in.jsonl", ["", {"id": 1, "claim": MUSK_PUTIN, "text": PESKOV}, "  "])
    code, outs, err = stance_json(capsys, src)
    assert (code, [o["id"] for o in outs]) == (0, [1]), err
    code, outs, err = stance_json(capsys, tmp_path / "nope.jsonl")
    assert (code, outs) == (2, []) and "nope.jsonl" in err


def test_without_json_each_item_is_one_readable_line_with_the_evidence_shortened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = jsonl(tmp_path / "in.jsonl", [
        {"id": "v1", "claim": "Lena Vogt secretly met Tomas Rydell", "text": VOGT_DENIES},
        {"id": 2, "claim": MUSK_PUTIN, "text": UNRELATED},
    ])
    code, [record, _], _ = stance_json(capsys, src)
    assert code == 0 and len(record["evidence"]) > 100
    assert main(["stance", str(src)]) == 0
    first, second = capsys.readouterr().out.splitlines()
    ident, stance, party, evidence = first.split("  ", 3)
    assert (ident, stance, party) == ("v1", record["stance"], record["party"] or "-")
    assert evidence.startswith('"' + record["evidence"][:40]) and evidence.endswith('…"')
    assert len(evidence) <= 102
    assert second == '2  unrelated  -  ""'


# --------------------------------------------------------------------------- streams, for real

def test_dash_reads_the_lines_from_stdin() -> None:
    lines = [{"id": 1, "claim": MUSK_PUTIN, "text": PESKOV}, {"id": 2, "claim": MUSK_PUTIN, "text": UNRELATED}]
    done = run_claimwatch("stance", "-", "--json", stdin="".join(json.dumps(ln) + "\n" for ln in lines))
    assert done.returncode == 0, done.stderr
    outs = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["id"] for o in outs] == [1, 2] and all(CONTRACT <= o.keys() for o in outs)
    assert outs[1]["stance"] == "unrelated"
    bad = run_claimwatch("stance", "-", stdin='{"id": 1}\n')
    assert bad.returncode == 1 and '<stdin>:1: missing "claim"' in bad.stderr and bad.stdout == ""


def test_the_progress_bar_goes_to_stderr_only_and_stdout_stays_one_json_object_per_line(
    tmp_path: Path,
) -> None:
    items = [{"id": i, "claim": MUSK_PUTIN, "text": PESKOV if i % 2 else UNRELATED} for i in range(12)]
    src = jsonl(tmp_path / "in.jsonl", items)
    done = run_claimwatch("stance", str(src), "--json", "--progress")
    assert done.returncode == 0, done.stderr
    outs = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["id"] for o in outs] == list(range(12))
    assert "12/12" in done.stderr and "pairs/s" in done.stderr and "ETA" in done.stderr
    quiet = run_claimwatch("stance", str(src), "--json")
    assert quiet.stdout == done.stdout
    assert "pairs/s" not in quiet.stderr, "no bar when stderr is not a terminal and none was asked for"


def test_the_progress_bar_appears_by_itself_when_stderr_is_a_terminal(tmp_path: Path) -> None:
    src = jsonl(tmp_path / "in.jsonl", [{"id": i, "claim": MUSK_PUTIN, "text": PESKOV} for i in range(3)])
    leader, follower = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "monitor", "stance", str(src), "--json"], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=follower) as proc:
        os.close(follower)
        screen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the command has closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        out = proc.stdout.read() if proc.stdout else b""
    os.close(leader)
    assert proc.returncode == 0, screen
    assert b"3/3" in screen and b"pairs/s" in screen
    assert [json.loads(line)["id"] for line in out.splitlines()] == [0, 1, 2]


# --------------------------------------------------------------------------- claimwatch match

def test_match_json_explains_each_claim_with_the_article_level_stance_next_to_the_findings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    article = seed("004_2444ca2dfe6ef90e.txt")
    assert main(["match", "--json", "--watchlists", str(REPO / "watchlists"), str(article)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["findings"] and all({"quote", "cue", "sentence", "score"} <= f.keys() for f in out["findings"])
    [summary] = out["assessments"]
    assert summary["claim_id"] == "musk-putin-talks"
    assert {"stance", "party", "evidence", "cue", "score", "why"} <= summary.keys()
    assert summary["stance"] in STANCES - {"unrelated"} and summary["evidence"] and summary["why"]
    if summary["party"]:  # a party-held summary is one of the parties' findings
        assert any((f["party"], f["stance"]) == (summary["party"], summary["stance"])
                   for f in out["findings"]), summary

    assert main(["match", "--watchlists", str(REPO / "watchlists"), str(article)]) == 0
    human = capsys.readouterr().out
    who = f"{summary['party']} " if summary["party"] else ""
    assert f"[musk-putin-talks] overall: {who}{summary['stance']} (score" in human, human
