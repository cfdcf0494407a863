"""`make screenshots` (python -m scripts.screenshots) says plainly when it has no browser."""

from __future__ import annotations

from scripts.screenshots import main


def test_without_a_browser_it_exits_2_and_says_how_to_get_one(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MAOO_CHROMIUM", str(tmp_path / "no-such-chromium"))

    code = main([str(tmp_path / "shots")])

    assert code == 2
    assert "apt-get install chromium" in capsys.readouterr().err
    assert not (tmp_path / "shots").exists()
