"""Figures fit for a slide and a `metrics.json` that describes itself: each preset's `--quick` demo, drawn and written.

One preset per zoo system (`episodic` runs the `multiwell` system, whose figures `multiwell` already draws). Per preset:
every key of `metrics.json` has a unit and meaning in its `schema`; each PNG is 150 dpi and of a size that reads at 100% on a
laptop; no text is under 8 pt or leaves the figure, and no note leaves its panel (`check_figure`: matplotlib's text extents
against the figure's and the panel's boxes); a panel without data says why, inside it."""
import json
import pytest
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
from PIL import Image
import ddm_nb.pipeline as pipeline
from ddm_nb.presets import list_presets, get_preset
from ddm_nb.plots import check_figure, FIG_DPI

def _one_per_system():
    seen, out = set(), []
    for n in list_presets():
        s = get_preset(n).system
        if s not in seen: seen.add(s); out.append(n)
    return out

PRESETS = _one_per_system()
DRAW = pipeline.demo_figures

def test_an_undescribed_key_is_caught():
    "`report_schema` leaves out a key that no table describes, so the check below names it."
    rep = {'metrics': {'d_stsp': 0.1, 'a_new_metric': 1.}, 'N': 64, 'fit': {'sampler': {'rhat': 1.}}}
    sch = pipeline.report_schema(rep)
    assert set(sch) == {'metrics.d_stsp', 'N', 'fit.sampler.rhat'} and sch['metrics.d_stsp']['unit'] == 'nats'
    assert set(pipeline.leaf_keys(rep)) - set(sch) == {'metrics.a_new_metric'}

def _empty(ax):
    "A panel with axes but nothing plotted in it."
    return ax.axison and not (ax.lines or ax.collections or ax.images or ax.patches)

@pytest.mark.parametrize('preset', PRESETS)
def test_quick_demo_figures_and_schema(preset, tmp_path, monkeypatch):
    res = pipeline.run_demo(preset, quick=True, quiet=True, device='cpu')
    drawn, problems = {}, {}
    def figures(r):   # the figures write_demo saves, checked before it closes them
        figs = DRAW(r)
        for nm, fg in figs.items():
            problems[nm] = check_figure(fg)
            drawn[nm] = [(ax.get_title(), [t.get_text() for t in ax.texts]) for ax in fg.axes if _empty(ax)]
        return figs
    monkeypatch.setattr(pipeline, 'demo_figures', figures)
    rep = pipeline.write_demo(res, tmp_path/'o')
    # metrics.json: every key described, with a unit and a meaning
    on_disk = json.loads((tmp_path/'o'/'metrics.json').read_text())
    assert on_disk == rep
    keys = pipeline.leaf_keys({k: v for k, v in rep.items() if k != 'schema'})
    missing = [k for k in keys if k not in rep['schema']]
    assert not missing, f"keys of metrics.json without a description: {missing}: add a line to METRIC_KEYS (nbs/08_metrics) or REPORT_KEYS (nbs/16_pipeline)"
    assert set(rep['schema']) == set(keys) and all(e['unit'] and len(e['meaning']) >= 8 for e in rep['schema'].values())
    # the PNGs: 150 dpi, readable at 100% on a laptop
    assert set(problems) == {'compare', 'trajectories', 'attractor', 'vector_field'}
    for nm in problems:
        im = Image.open(tmp_path/'o'/f'{nm}.png')
        assert abs(im.info['dpi'][0] - FIG_DPI) < 0.5, (nm, im.info.get('dpi'))
        w, h = im.size
        assert 850 <= w <= 1700 and 300 <= h <= 1250, (nm, im.size)
    # no text too small or outside its figure or panel
    assert not any(problems.values()), problems
    # an empty panel says why, inside it (check_figure: its note stays in the panel)
    for nm, panels in drawn.items():
        for title, texts in panels: assert any(len(t) > 30 for t in texts), (nm, title, texts)
    if 'km_note' in rep['metrics']:
        km = [texts for title, texts in drawn['compare'] if title.startswith('Kramers')]
        assert km and any('--set t1=' in t for t in km[0]), drawn['compare']
    plt.close('all')
