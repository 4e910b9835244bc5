"""Tests for idres.report (HTML report) and `idres report`, rendered in headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from idres.cli import main
from idres.errors import InputError
from idres.findings import rule_based_summary
from idres.ids import match_id
from idres.report import build_report, write_report
from idres.results import profile_ids_digest

CHROMIUM = "/usr/bin/chromium"
IDS = [f"p{i:02d}" for i in range(12)]
ENTITIES = ["a", "a", "a", "b", "b", "c", "c", "d", "e", "f", "g", "h"]
EVIL = "<script>alert('x')</script>"  # a key value that must come out escaped
# Rule-based: {p00..p04} via a shared e-mail (L1) and a hub phone (L2); {p05,p06} at L1.
RB_GROUPS = [(IDS[:5], 2, IDS[:3]), (IDS[5:7], 1, IDS[5:7])]
RB_LINKS = [
    ("p00", "p01", 1, 0),
    ("p00", "p02", 1, 0),
    ("p02", "p03", 2, 1),
    ("p02", "p04", 2, 1),
    ("p05", "p06", 1, 2),
]
RB_KEYS = [(1, 0, "ann@example.com", 3), (2, 1, EVIL, 3), (1, 2, "bo@example.com", 2)]
ML_PAIRS = [
    ("p00", "p01", 0.98),
    ("p01", "p02", 0.91),
    ("p02", "p03", 0.72),
    ("p05", "p06", 0.88),
    ("p07", "p08", 0.35),
    ("p09", "p10", 0.15),
]


def _manifest(folder: Path, jobs: list[str]) -> None:
    folder.mkdir(parents=True)
    config = {
        "DomainName": "report-test",
        "Matching": {
            "Enabled": True,
            "AutoMerging": {
                "Enabled": True,
                "Consolidation": {"MatchingAttributesList": [["EmailAddress"]]},
                "MinAllowedConfidenceScoreForMerging": 0.8,
            },
        },
    }
    manifest = {
        "idres_version": "test",
        "DomainName": "report-test",
        "profile_count": len(IDS),
        "profile_ids_sha256": profile_ids_digest(pl.Series(IDS)),
        "jobs": jobs,
        "config": config,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def make_results(root: Path, name: str = "results", *, merge_level: int = 1) -> Path:
    """A results folder with both jobs, written by hand in the documented layout."""
    folder = root / name
    _manifest(folder, ["rule-based", "ml"])
    rb = folder / "rule-based"
    rb.mkdir()
    merge = {1: [g for g in RB_GROUPS], 2: [(m, lv, m) for m, lv, _ in RB_GROUPS]}[merge_level]
    rows = [
        (p, match_id(m), lv, match_id(sub) if p in sub else None) for m, lv, sub in merge for p in m
    ]
    groups = pl.DataFrame(
        rows,
        schema={
            "ProfileId": pl.String,
            "MatchId": pl.String,
            "RuleLevel": pl.Int32,
            "MergeGroupId": pl.String,
        },
        orient="row",
    )
    links = pl.DataFrame(
        RB_LINKS,
        schema={
            "ProfileIdA": pl.String,
            "ProfileIdB": pl.String,
            "RuleLevel": pl.Int32,
            "KeyId": pl.UInt32,
        },
        orient="row",
    )
    keys = pl.DataFrame(
        RB_KEYS,
        schema={"RuleLevel": pl.Int32, "KeyId": pl.UInt32, "Key": pl.String, "Profiles": pl.Int64},
        orient="row",
    )
    dead = pl.DataFrame(
        schema={"ProfileId": pl.String, "RuleLevel": pl.Int32, "Message": pl.String}
    )
    groups.write_parquet(rb / "groups.parquet")
    links.write_parquet(rb / "links.parquet")
    keys.write_parquet(rb / "keys.parquet")
    summary = rule_based_summary(
        profiles_reviewed=len(IDS),
        groups=groups,
        keys=keys,
        links=links,
        dead_letters=dead,
        plans=(),
        max_merging_level=merge_level,
        max_group_size=4,
        hub_limit=3,
    )
    ml = folder / "ml"
    ml.mkdir()
    pairs = pl.DataFrame(
        ML_PAIRS,
        schema={"ProfileIdA": pl.String, "ProfileIdB": pl.String, "ConfidenceScore": pl.Float64},
        orient="row",
    )
    pairs.write_parquet(ml / "pairs.parquet")
    ml_groups = [(IDS[:4], 0.72, None), (IDS[5:7], 0.88, IDS[5:7])]
    pl.DataFrame(
        [
            (p, match_id(m), s, match_id(sub) if sub and p in sub else None)
            for m, s, sub in ml_groups
            for p in m
        ],
        schema={
            "ProfileId": pl.String,
            "MatchId": pl.String,
            "ConfidenceScore": pl.Float64,
            "MergeGroupId": pl.String,
        },
        orient="row",
    ).write_parquet(ml / "groups.parquet")
    ml_summary = {"ProfilesReviewed": len(IDS), "MatchGroups": 2, "NumberOfMergesDone": 1}
    (folder / "summary.json").write_text(
        json.dumps({"rule-based": summary, "ml": ml_summary}, default=str)
    )
    return folder


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return make_results(tmp_path)


@pytest.fixture
def truth_file(tmp_path: Path) -> Path:
    path = tmp_path / "truth.csv"
    pl.DataFrame({"ProfileId": IDS, "EntityId": ENTITIES}).write_csv(path)
    return path


SECTIONS = ["rule-based", "risks", "rb-groups", "ml", "thresholds", "ml-groups"]
TRUTH_SECTIONS = ["scores", "evaluation"]


def images(page: str) -> list[bytes]:
    """The decoded PNGs of every <img> (each must be a data: URI)."""
    srcs = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", page)
    assert len(srcs) == page.count("<img"), "an <img> without a src"
    out = []
    for src in srcs:
        assert src.startswith("data:image/png;base64,"), src[:40]
        out.append(base64.b64decode(src.split(",", 1)[1], validate=True))
    return out


def assert_png(data: bytes) -> None:
    import matplotlib.image

    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100


def assert_offline(page: str) -> None:
    """Nothing the page could fetch: no scripts, stylesheets links, remote src/href or url()."""
    lowered = page.lower()
    assert "<script" not in lowered and "<link" not in lowered and "<iframe" not in lowered
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", lowered)
    assert "url(" not in lowered and "@import" not in lowered


def test_report_sections_and_charts(results: Path, truth_file: Path) -> None:
    page = build_report(results, truth=truth_file, compare=results)
    for sid in [*SECTIONS, *TRUTH_SECTIONS, "diff"]:
        assert f'id="{sid}"' in page, sid
    pngs = images(page)
    # sizes ×2, levels, thresholds, scores, per-level metrics
    assert len(pngs) >= 6
    for data in pngs:
        assert_png(data)
    assert_offline(page)
    assert page.count("<html") == 1 and page.rstrip().endswith("</html>")


def test_report_without_truth_has_no_truth_sections(results: Path) -> None:
    page = build_report(results)
    for sid in SECTIONS:
        assert f'id="{sid}"' in page
    for sid in [*TRUTH_SECTIONS, "diff"]:
        assert f'id="{sid}"' not in page
    assert "groups and merges against threshold" in page


def test_report_escapes_data(results: Path) -> None:
    page = build_report(results)
    assert EVIL not in page
    assert html_escaped(EVIL) in page  # the hub value, in the risk findings and explanations
    assert "<script" not in page


def html_escaped(text: str) -> str:
    import html

    return html.escape(text)


def test_report_shows_risks_and_explanations(results: Path) -> None:
    page = build_report(results)
    assert "1 match groups over 4 profiles." in page  # the 5-profile group
    assert "ann@example.com" in page  # its binding key
    assert "single links whose removal would split the group" not in page or "p02" in page
    assert "scored pairs inside the group" in page


def test_report_diff_view_leads_with_new_merges(tmp_path: Path, results: Path) -> None:
    other = make_results(tmp_path, "other", merge_level=2)
    page = build_report(results, compare=other)
    diff = page[page.index('id="diff"') :]
    assert "B would put 5 profiles in 1 merge groups that A keeps apart (7 new pairs)" in diff
    assert diff.index("merge groups") < diff.index("match groups")


def test_report_is_deterministic(results: Path, truth_file: Path) -> None:
    assert build_report(results, truth=truth_file) == build_report(results, truth=truth_file)


def test_report_refuses_truth_of_other_profiles(results: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pl.DataFrame({"ProfileId": IDS[:-1], "EntityId": ENTITIES[:-1]}).write_csv(bad)
    with pytest.raises(InputError, match="11 profiles"):
        build_report(results, truth=bad)


def test_write_report_is_atomic_and_replaces(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.html"
    write_report(results, out)
    first = out.read_text()
    write_report(results, out, top_groups=1)
    assert out.read_text() != first and not list(out.parent.glob(".report.html.*"))


def test_cli_report(results: Path, truth_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report.html"
    argv = ["report", str(results), "--truth", str(truth_file), "--out", str(out)]
    assert main(argv) == 0
    assert "report written" in capsys.readouterr().out and out.is_file()
    assert main(["report", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "not an idres results folder" in capsys.readouterr().err


# --- rendered in headless Chromium --------------------------------------------------------------


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with networking features off and a throwaway profile."""
    base = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
    ]
    return subprocess.run([*base, *args], capture_output=True, text=True, timeout=120, check=False)


# Appended to a copy of the report (the report itself has no script): after load, write into the
# DOM whether every image decoded with a size, so --dump-dom shows it.
PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0).length;
  const net = performance.getEntriesByType('resource').length;
  const p = document.createElement('pre'); p.id = 'probe';
  p.textContent = JSON.stringify({images: imgs.length, decoded: ok, resources: net});
  document.body.appendChild(p);
});
</script>"""


@pytest.mark.chromium
def test_report_renders_in_headless_chromium(
    results: Path, truth_file: Path, tmp_path: Path
) -> None:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed: apt-get install chromium")
    report = write_report(results, tmp_path / "report.html", truth=truth_file, compare=results)
    page = report.read_text()
    assert_offline(page)
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"))

    dom = chromium(["--dump-dom", probe.as_uri()], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for sid in [*SECTIONS, *TRUTH_SECTIONS, "diff"]:
        assert f'id="{sid}"' in dom.stdout, sid
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout)
    assert found, "the page did not finish loading"
    state = json.loads(found.group(1).replace("&quot;", '"'))
    assert state["images"] == len(images(page)) and state["images"] >= 6
    assert state["decoded"] == state["images"], state  # every chart displays
    assert state["resources"] == 0, state  # no network or file request at all

    shot = tmp_path / "shot.png"
    run = chromium(
        [f"--screenshot={shot}", "--window-size=1200,3000", report.as_uri()],
        tmp_path / "profile-shot",
    )
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1200, 3000)
        colors = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is None or len(colors) > 50  # not blank: text, tables and charts drawn


# --- a real preview -----------------------------------------------------------------------------


def test_report_of_a_real_preview(tmp_path: Path) -> None:
    from idres.config import parse_domain
    from idres.pipeline import preview
    from idres.results import write_results
    from idres.synth import generate

    profiles, truth = generate(300, seed=1)
    config = parse_domain(
        {
            "RuleBasedMatching": {
                "Enabled": True,
                "MatchingRules": [
                    {"Rule": ["EmailAddress", "LastName"]},
                    {"Rule": ["PhoneNumber", "LastName"]},
                    {"Rule": ["FirstName", "LastName", "BirthDate"]},
                ],
                "MaxAllowedRuleLevelForMerging": 1,
            }
        }
    )
    folder = write_results(preview(config, profiles), tmp_path / "run")
    page = build_report(folder, truth=truth)
    for sid in ["rule-based", "risks", "rb-groups", "evaluation"]:
        assert f'id="{sid}"' in page
    for data in images(page):
        assert_png(data)
    assert_offline(page)
