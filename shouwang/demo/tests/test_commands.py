import json

import pytest
from django.core.management import CommandError, call_command


def test_synth_writes_a_county_and_reports_it_as_json(tmp_path, capsys):
    call_command("synth", county="522630", households=40, seed=3, out=str(tmp_path), json=True)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["households"] == 40
    assert (tmp_path / "registry_members.csv").exists()
    assert (tmp_path / "truth" / "manifest.json").exists()


@pytest.mark.parametrize(("county", "households"), [("999999", 10), ("522630", 0), ("52", 10)])
def test_synth_refuses_bad_arguments_in_chinese(tmp_path, county, households):
    with pytest.raises(CommandError) as err:
        call_command("synth", county=county, households=households, seed=1, out=str(tmp_path))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value))
